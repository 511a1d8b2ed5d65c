"""The audit log: one JSON line per statement the guard saw, allowed or rejected, with the reason.

Default file: ``<user data dir>/sql-audit.jsonl`` (``~/.local/share/localkb/sql-audit.jsonl``);
``--audit FILE`` / ``LOCALKB_SQL_AUDIT`` choose another. Lines are appended with one ``write`` each
so concurrent writers do not interleave within a line.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import user_data_dir
from ..errors import SQLError

if TYPE_CHECKING:
    from ..settings import Settings


def default_audit_path(settings: Settings | None = None) -> Path:
    from ..settings import current

    settings = current(settings)
    return Path(settings.sql_audit or user_data_dir(settings) / "sql-audit.jsonl").expanduser()


class AuditLog:
    """Append-only JSON-lines log. ``path=None`` uses :func:`default_audit_path`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, settings: Settings | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_audit_path(settings)

    def record(self, *, db: str, sql: str, allowed: bool, violations: list[dict[str, str]] | None = None,
               question: str | None = None, attempt: int | None = None, executed_sql: str | None = None,
               rows: int | None = None, error: str | None = None, elapsed_ms: float | None = None,
               source: str = "agent") -> dict[str, Any]:
        """Append one entry and return it.

        Raises:
            SQLError: the log cannot be written (a statement that cannot be audited is not run).
        """
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source": source, "db": db, "question": question, "attempt": attempt, "sql": sql,
            "allowed": allowed, "violations": violations or [], "executed_sql": executed_sql,
            "rows": rows, "error": error,
            "elapsed_ms": None if elapsed_ms is None else round(elapsed_ms, 1),
        }
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as exc:
            raise SQLError(f"Cannot write the SQL audit log {self.path}: {exc.strerror or exc}") from exc
        return entry

    def ensure_writable(self) -> None:
        """Raise :class:`SQLError` now if the log cannot be appended to (nothing runs unaudited)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
        except OSError as exc:
            raise SQLError(f"Cannot write the SQL audit log {self.path}: {exc.strerror or exc}") from exc

    def entries(self) -> Iterator[dict[str, Any]]:
        """Read the log back (skipping a torn last line, if any)."""
        if not self.path.is_file():
            return
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue
