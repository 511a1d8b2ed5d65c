"""Exact brute-force store: the oracle of the contract tests, and a fine choice for tiny KBs.

Persists as one ``store.npz`` (ids as a unicode array, vectors as float32; no pickle), written to a
temp file and renamed, so a crash leaves either the old or the new state.
"""
from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from ..errors import StoreError
from .base import VectorHit, as_matrix, split_uri, store_path


class ExactStore:
    supports_filters = True

    def __init__(self, uri: str, dim: int, base_dir: str | None = None) -> None:
        self.uri = uri
        self.dim = dim
        self.path = store_path(split_uri(uri)[1], base_dir)
        os.makedirs(self.path, exist_ok=True)
        self._file = os.path.join(self.path, "store.npz")
        self._load()

    def _load(self) -> None:
        self._ids: list[str] = []
        self._vecs = np.zeros((0, self.dim), dtype=np.float32)
        if os.path.exists(self._file):
            with np.load(self._file, allow_pickle=False) as data:
                self._ids = [str(x) for x in data["ids"]]
                self._vecs = data["vectors"].astype(np.float32)
            if self._vecs.shape[1] != self.dim:
                raise StoreError(f"{self._file} holds {self._vecs.shape[1]}-d vectors, expected {self.dim}.")
        self._pos = {cid: i for i, cid in enumerate(self._ids)}

    def reload(self) -> None:
        """Forget the in-memory vectors and read the file (another process wrote it)."""
        self._load()

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        arr = as_matrix(vectors, self.dim, rows=len(ids))
        self.delete([i for i in ids if i in self._pos])
        self._ids.extend(ids)
        self._vecs = np.vstack([self._vecs, arr])
        self._pos = {cid: i for i, cid in enumerate(self._ids)}

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None = None) -> list[VectorHit]:
        if not self._ids or k <= 0:
            return []
        scores = self._vecs @ as_matrix(vector, self.dim)[0]
        if allowed is not None:
            mask = np.array([cid in allowed for cid in self._ids])
            scores = np.where(mask, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")[:k]
        return [VectorHit(self._ids[i], float(scores[i])) for i in order if np.isfinite(scores[i])]

    def delete(self, ids: Sequence[str]) -> None:
        drop = {self._pos[i] for i in ids if i in self._pos}
        if not drop:
            return
        keep = [i for i in range(len(self._ids)) if i not in drop]
        self._ids = [self._ids[i] for i in keep]
        self._vecs = self._vecs[keep]
        self._pos = {cid: i for i, cid in enumerate(self._ids)}

    def describe(self) -> dict[str, Any]:
        return {"kind": "exact (brute force)"}

    def count(self) -> int:
        return len(self._ids)

    def ids(self) -> set[str]:
        return set(self._ids)

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``ids``, in that order (used by ``localkb migrate``).

        Raises:
            StoreError: an id is not in the store.
        """
        missing = [i for i in ids if i not in self._pos]
        if missing:
            raise StoreError(f"{len(missing)} of {len(ids)} ids are not in {self._file}.")
        return self._vecs[[self._pos[i] for i in ids]].reshape(len(ids), self.dim).copy()

    def flush(self) -> None:
        tmp = self._file + ".tmp.npz"
        with open(tmp, "wb") as fh:
            np.savez(fh, ids=np.array(self._ids, dtype=str), vectors=self._vecs)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._file)

    def close(self) -> None:
        self.flush()
