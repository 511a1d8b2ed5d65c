"""The exact vectors beside a scalar-quantised FAISS index: ``DIR/vectors*.f32``, read by row.

An ``IndexIVFScalarQuantizer`` keeps one byte per dimension in RAM (a quarter of ``IndexIVFFlat``), so it
cannot give back the vectors that were added, nor exact scores. This file keeps them: float32 rows
appended at each flush (fsynced), the row of each id in ``ids.sqlite`` (table ``rows``, held in memory as
two sorted int64 arrays, 16 bytes an id, so a search looks rows up without SQL); a search reads
the rows it re-scores with ``pread`` (not a memory map, whose fault-around would make the file resident),
so resident memory stays that of the codes. Rows of deleted or replaced ids become garbage until the next rewrite (:meth:`rewrite`, when
the index is rewritten whole). Appending before the ``rows`` commit keeps it crash-safe: a row nobody
points to is harmless, and rows are located by the file's size, not a counter.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable

import numpy as np

FILE = "vectors.f32"


class RawVectors:
    """float32 rows by FAISS int id: append, look up, forget, rewrite."""

    def __init__(self, folder: str, dim: int, conn: sqlite3.Connection) -> None:
        self.folder = folder
        self.dim = dim
        self._conn = conn
        conn.execute("CREATE TABLE IF NOT EXISTS rows (vid INTEGER PRIMARY KEY, row INTEGER NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS raw (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._map: np.ndarray | None = None
        self._mapped: str | None = None
        #: the row map in memory, (keys ascending, their rows): read once, then kept up to date by this
        #: process's writes; :meth:`invalidate` after another process wrote (the store's reload)
        self._table: tuple[np.ndarray, np.ndarray] | None = None
        self._table_path: str | None = None

    def invalidate(self) -> None:
        """Forget the in-memory row map (another process may have changed ``rows``)."""
        self._table = None

    def _lookup(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        """The row map for the file at ``path``: read again when another process rewrote the file (its name
        changed), so rows are never looked up in a file they do not belong to."""
        if self._table is None or self._table_path != path:
            pairs = self.pairs()
            order = np.argsort(pairs[:, 0], kind="stable")
            self._table, self._table_path = (pairs[order, 0].copy(), pairs[order, 1].copy()), path
        return self._table

    def _retable(self, drop: np.ndarray, keys: np.ndarray | None = None, rows: np.ndarray | None = None) -> None:
        """Apply a write to the in-memory map (when it is loaded): ``drop`` keys out, then ``keys`` → ``rows`` in."""
        if self._table is None:
            return
        have, where = self._table  # sorted: found by bisection, spliced (a copy, no sort of the whole map)
        at = np.searchsorted(have, drop)
        hit = at[(at < have.size) & (have[np.minimum(at, max(have.size - 1, 0))] == drop)] if have.size else at[:0]
        have, where = np.delete(have, hit), np.delete(where, hit)
        if keys is not None and rows is not None and keys.size:
            order = np.argsort(keys, kind="stable")
            spot = np.searchsorted(have, keys[order])
            have, where = np.insert(have, spot, keys[order]), np.insert(where, spot, rows[order])
        self._table = (have, where)

    @property
    def path(self) -> str:
        """The current file (its name changes at each rewrite, committed with the row map)."""
        row = self._conn.execute("SELECT value FROM raw WHERE key='file'").fetchone()
        return os.path.join(self.folder, row[0] if row else FILE)

    def _rows(self) -> np.ndarray:
        path = self.path
        size = os.path.getsize(path) if os.path.exists(path) else 0
        n = size // (4 * self.dim)
        if self._map is None or self._mapped != path or self._map.shape[0] != n:
            self._map = (np.memmap(path, dtype=np.float32, mode="r", shape=(n, self.dim)) if n
                         else np.zeros((0, self.dim), np.float32))
            self._mapped = path

        return self._map

    def append(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store ``vectors`` under ``keys`` (replacing what those keys had)."""
        if not keys.size:
            return
        with open(self.path, "ab") as fh:
            first = fh.tell() // (4 * self.dim)
            fh.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        with self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO rows VALUES (?, ?)",
                                   zip(keys.tolist(), range(first, first + keys.size)))
        keys = keys.astype(np.int64)
        self._retable(keys, keys, np.arange(first, first + keys.size, dtype=np.int64))

    def forget(self, keys: Iterable[int]) -> None:
        keys = list(keys)
        with self._conn:
            for i in range(0, len(keys), 500):
                batch = keys[i:i + 500]
                self._conn.execute(f"DELETE FROM rows WHERE vid IN ({','.join('?' * len(batch))})", batch)
        self._retable(np.array(keys, dtype=np.int64))

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, float32 matrix of the found keys' rows, in ``keys`` order)."""
        path = self.path
        have, where = self._lookup(path)
        keys = np.asarray(keys, dtype=np.int64)
        width = 4 * self.dim
        size = os.path.getsize(path) if os.path.exists(path) else 0
        at = np.minimum(np.searchsorted(have, keys), max(have.size - 1, 0))
        found = (have[at] == keys) & ((where[at] + 1) * width <= size) if have.size else np.zeros(keys.size, bool)
        picked = where[at][found].tolist()
        if not picked:
            return found, np.zeros((0, self.dim), np.float32)
        # read, not mapped: the kernel would map the cached pages around every touched row into this
        # process (fault-around), and a few searches would make the whole file count as resident
        fd = os.open(path, os.O_RDONLY)
        try:
            data = b"".join(os.pread(fd, width, row * width) for row in picked)
        finally:
            os.close(fd)
        return found, np.frombuffer(data, dtype=np.float32).reshape(len(picked), self.dim).copy()

    def matrix(self) -> np.ndarray:
        """Every row of the file (memory-mapped; rows nobody points to included)."""
        return self._rows()

    def pairs(self) -> np.ndarray:
        """(id, row) of every stored vector, by row: an (n, 2) int64 array."""
        got = self._conn.execute("SELECT vid, row FROM rows ORDER BY row").fetchall()
        return np.array(got, dtype=np.int64).reshape(-1, 2)

    def all(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, vectors) of every stored row that an id points to (read in blocks from the map)."""
        pairs = self.pairs()
        if not pairs.size:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return pairs[:, 0], np.asarray(self._rows()[pairs[:, 1]], dtype=np.float32)

    def rewrite(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the file with exactly ``vectors`` under ``keys`` (drops garbage rows): a new file, fsynced,
        then its name and the row map in one transaction (a crash before it keeps the old pair), then the
        old file removed."""
        new = os.path.join(self.folder, f"vectors-{os.urandom(4).hex()}.f32")
        with open(new, "wb") as fh:
            fh.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        with self._conn:
            self._conn.execute("DELETE FROM rows")
            self._conn.executemany("INSERT INTO rows VALUES (?, ?)", zip(keys.tolist(), range(keys.size)))
            self._conn.execute("INSERT OR REPLACE INTO raw VALUES ('file', ?)", (os.path.basename(new),))
        self._map = None
        self._table = None
        for name in os.listdir(self.folder):  # the previous file and any a crash left unreferenced
            if name.startswith("vectors") and name.endswith(".f32") and name != os.path.basename(new):
                os.unlink(os.path.join(self.folder, name))
