"""FAISS keys → chunk ids without a Python object per chunk.

FAISS keys vectors by int64 (``base.vid``: the chunk id's first 63 bits); the ``ids`` table of
``ids.sqlite`` gives each key its chunk id back. A ``dict`` of them cost ~210 B a chunk (≈ 200 MB at 1M
chunks, ``bench_scale``); here they are two numpy arrays sorted by key (8 B + the id's UTF-8 bytes, ~72 B for
localkb's 64-hex ids) and a small dict of the keys added since the arrays were last rebuilt.
"""
from __future__ import annotations

import sqlite3

import numpy as np

#: keys added beyond this many are folded into the sorted arrays (a copy of them: O(n), so not every add)
FOLD = 4096
_ROWS = 65_536


class Names:
    """``key → chunk id`` of every vector ever added (the table only grows, as ``ids`` does)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        keys: list[np.ndarray] = []
        names: list[np.ndarray] = []
        cursor = conn.execute("SELECT vid, id FROM ids ORDER BY vid")  # the rowid order: no sort
        while rows := cursor.fetchmany(_ROWS):  # in batches: no list of a million tuples at once
            keys.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
            names.append(np.array([r[1].encode() for r in rows], dtype=bytes))
        self._keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        self._names = _join(names)
        self._new: dict[int, str] = {}

    def __setitem__(self, key: int, name: str) -> None:
        self._new[key] = name
        if len(self._new) > FOLD:
            self._fold()

    def __getitem__(self, key: int) -> str:
        return self.names(np.array([key], dtype=np.int64))[0]

    def names(self, keys: np.ndarray) -> list[str]:
        """The chunk ids of ``keys`` (int64), numpy over them all. Raises KeyError for a key never added."""
        keys = np.asarray(keys, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._keys, keys), max(self._keys.size - 1, 0))
        held = (self._keys[at] == keys) if self._keys.size else np.zeros(keys.size, dtype=bool)
        out = [b.decode() for b in self._names[at].tolist()] if self._keys.size else [""] * keys.size
        for n, key in enumerate(keys.tolist()):
            name = self._new.get(key)
            if name is not None:
                out[n] = name
            elif not held[n]:
                raise KeyError(key)
        return out

    def _fold(self) -> None:
        keys = np.fromiter(self._new, dtype=np.int64, count=len(self._new))
        names = np.array([n.encode() for n in self._new.values()], dtype=bytes)
        kept = ~np.isin(self._keys, keys)  # a key added again replaces its old name
        all_keys = np.concatenate([self._keys[kept], keys])
        order = np.argsort(all_keys, kind="stable")
        self._keys = all_keys[order]
        self._names = _join([self._names[kept], names])[order]
        self._new = {}


def _join(parts: list[np.ndarray]) -> np.ndarray:
    """One bytes array of ``parts`` (the widest part's width)."""
    if not parts:
        return np.zeros(0, dtype="S1")
    width = max(p.dtype.itemsize for p in parts)
    return np.concatenate([p.astype(f"S{width}") for p in parts])
