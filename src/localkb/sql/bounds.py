"""Bounds on what one statement may cost: value size, shape, memory, result size.

The guard cannot see every way to make a big value (``printf('%.*c', 900000000, 'a')``, a recursive
CTE that doubles a string, ``zeroblob`` through an expression), so the engine itself is bounded:

* SQLite: ``Connection.setlimit`` — no string or blob over :data:`MAX_VALUE_BYTES` (the engine refuses
  with "string or blob too big"), shallow expressions, few compound SELECTs, short LIKE patterns — and
  temporary tables and sorts kept in memory, where the memory ceiling sees them;
* every engine: a statement whose rows add up to more than :data:`MAX_RESULT_BYTES` is stopped;
* SQLite: :class:`MemoryCeiling` stops a statement whose SQLite heap grows by more than
  :data:`MAX_STATEMENT_MEMORY_BYTES` (checked from the progress handler, which also enforces the
  timeout, so a recursive CTE that fans out is stopped by whichever bound it reaches first).
"""
from __future__ import annotations

import ctypes
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import SQLError

#: largest string or blob a statement may build or read (SQLITE_LIMIT_LENGTH)
MAX_VALUE_BYTES = 2_000_000
#: most bytes of rows one statement may return (all columns of all fetched rows)
MAX_RESULT_BYTES = 64_000_000
#: most SQLite heap one statement may add (sorts, temp b-trees, recursive CTE queues)
MAX_STATEMENT_MEMORY_BYTES = 256_000_000

#: SQLite limits set on every connection that runs agent SQL
SQLITE_LIMITS = {
    "SQLITE_LIMIT_LENGTH": MAX_VALUE_BYTES,
    "SQLITE_LIMIT_SQL_LENGTH": 100_000,
    "SQLITE_LIMIT_COLUMN": 200,  # with MAX_VALUE_BYTES: the widest row SQLite can build
    "SQLITE_LIMIT_EXPR_DEPTH": 200,
    "SQLITE_LIMIT_COMPOUND_SELECT": 50,
    "SQLITE_LIMIT_FUNCTION_ARG": 100,
    "SQLITE_LIMIT_LIKE_PATTERN_LENGTH": 1000,
    "SQLITE_LIMIT_VARIABLE_NUMBER": 100,
    "SQLITE_LIMIT_TRIGGER_DEPTH": 1,
    "SQLITE_LIMIT_ATTACHED": 0,  # ATTACH works on a mode=ro connection, and creates files
}


def bound_sqlite(conn: sqlite3.Connection) -> None:
    """Apply :data:`SQLITE_LIMITS`, keep temporary storage in memory (no temp files, seen by the ceiling)
    and replace ``printf``/``format`` by :class:`BoundedPrintf`."""
    for name, value in SQLITE_LIMITS.items():
        conn.setlimit(getattr(sqlite3, name), value)
    conn.execute("PRAGMA temp_store = MEMORY")
    bounded = BoundedPrintf()
    for name in ("printf", "format"):
        conn.create_function(name, -1, bounded, deterministic=True)


PRINTF_REFUSED = "printf()/format() width or precision over the value limit"
_SPEC = re.compile(r"%(?:%|[-+ #0!,]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z])")


class BoundedPrintf:
    """SQLite's own ``printf`` (run on a private in-memory connection), after refusing any width or
    precision over :data:`MAX_VALUE_BYTES` — in the format string or passed as ``*``. SQLite would spend
    seconds in one uninterruptible loop on ``printf('%.*c', 900000000, 'a')`` and then return NULL."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        if not args or not isinstance(args[0], str):
            return None if not args else str(args[0])
        rest = iter(args[1:])
        for match in _SPEC.finditer(args[0]):
            if match.group(0) == "%%":
                continue
            for group in match.groups():
                size = next(rest, 0) if group == "*" else group
                try:
                    too_big = group is not None and abs(int(size or 0)) > MAX_VALUE_BYTES
                except (TypeError, ValueError):
                    too_big = False
                if too_big:
                    raise ValueError(PRINTF_REFUSED)
            next(rest, None)  # the value the conversion formats
        with self._lock:
            placeholders = ", ".join("?" * len(args))
            return self._conn.execute(f"SELECT printf({placeholders})", args).fetchone()[0]


def _sqlite_memory_used() -> Callable[[], int] | None:
    """SQLite's own heap counter (``sqlite3_memory_used``), when this Python's SQLite exports it."""
    try:
        import _sqlite3

        fn = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (OSError, AttributeError, ImportError):
        return None
    fn.restype = ctypes.c_int64
    fn.argtypes = []
    return lambda: int(fn())


def _rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * 4096


class MemoryCeiling:
    """Measures heap growth since :meth:`start`; :meth:`exceeded` is cheap enough for a progress handler.

    Reads SQLite's own counter (process-wide SQLite heap, so another thread's SQLite work counts too —
    the ceiling is generous for that reason), or the process's resident size where that counter is missing.
    """

    def __init__(self, limit: int = MAX_STATEMENT_MEMORY_BYTES) -> None:
        self.limit = int(limit)
        self._read: Callable[[], int] = _sqlite_memory_used() or _rss_bytes
        self._base = 0
        self.peak = 0

    def start(self) -> None:
        self._base = self._read()
        self.peak = 0

    def exceeded(self) -> bool:
        grown = self._read() - self._base
        self.peak = max(self.peak, grown)
        return grown > self.limit


def value_bytes(value: Any) -> int:
    """Roughly how many bytes a fetched value holds (text and blobs by length, the rest 8)."""
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return len(value)
    return 8


def fetch_bounded(batches: Iterable[list[Any]], cap: int, budget: int = MAX_RESULT_BYTES) -> list[tuple[Any, ...]]:
    """Up to ``cap + 1`` rows from ``batches`` (lists of rows), stopping with an error past ``budget`` bytes.

    Raises:
        SQLError: the rows add up to more than ``budget`` bytes.
    """
    rows: list[tuple[Any, ...]] = []
    used = 0
    for batch in batches:
        for row in batch:
            used += sum(value_bytes(v) for v in row)
            if used > budget:
                raise SQLError(f"The result is larger than {budget / 1e6:g} MB and was stopped: select fewer "
                               "or shorter columns.", too_large=True)
            rows.append(tuple(row))
            if len(rows) > cap:
                return rows
        if not batch:
            break
    return rows
