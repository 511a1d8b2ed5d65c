"""Question files as JSON lines (``eval rag``, ``eval sql``): one object per line, keys checked.

One reader so every command reports a bad file the same way: the file and line, what is wrong, and for an
unknown key the keys that are known.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Set
from pathlib import Path

from .errors import LocalKBError


def json_objects(path: str | Path, keys: Set[str], error: type[LocalKBError],
                 what: str = "question file") -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of ``path``.

    Raises:
        error: the file cannot be read, a line is not JSON or not an object, or it has a key not in ``keys``.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise error(f"Cannot read the {what} {p}: {reason}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{p}:{n}: not JSON ({exc.msg}).") from exc
        if not isinstance(row, dict):
            raise error(f"{p}:{n}: each line must be a JSON object, not {type(row).__name__}.")
        unknown = sorted(set(row) - set(keys))
        if unknown:
            raise error(f"{p}:{n}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(keys))}.")
        yield n, row
