"""Chroma on disk (``PersistentClient``), with our own embeddings.

- ``get_or_create_collection``: the users' "Collection knowledge already exists" cannot happen;
- ``embedding_function=None``: Chroma never loads (or downloads) its default model;
- telemetry off; ``upsert`` by chunk id (Chroma's ``add`` silently ignores existing ids);
- cosine space, so ``score = 1 - distance`` matches every other store.
Chroma persists on every call, so ``flush`` has nothing to do; ``reload`` opens a fresh Chroma system
after another process wrote (Chroma's in-memory HNSW segment would not see its vectors).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import StoreError
from .base import VectorHit, as_matrix, gather_vectors, split_uri, store_path

COLLECTION = "localkb"
#: open ChromaStore instances per folder in this process (they share one Chroma system)
_users: dict[str, int] = {}
_users_lock = threading.Lock()


class ChromaStore:
    supports_filters = True

    def __init__(self, uri: str, dim: int, base_dir: str | None = None) -> None:
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        self.uri = uri
        self.dim = dim
        self.path = store_path(split_uri(uri)[1], base_dir)
        os.makedirs(self.path, exist_ok=True)
        with _users_lock:
            if not _users.get(self.path):  # nobody here uses the cached system: it may be stale, drop it
                _drop_system(self.path, stop=True)
            _users[self.path] = _users.get(self.path, 0) + 1
        self._closed = False
        self._open()

    def _open(self) -> None:
        import chromadb
        from chromadb.config import Settings

        try:
            self._client = chromadb.PersistentClient(
                path=self.path, settings=Settings(anonymized_telemetry=False, allow_reset=False))
            self._col = self._client.get_or_create_collection(
                COLLECTION, embedding_function=None,
                metadata={"hnsw:space": "cosine", "localkb_dim": self.dim})
        except Exception as exc:  # noqa: BLE001 - chromadb raises many types
            raise StoreError(f"Cannot open Chroma at {self.path}: {exc}") from exc
        recorded = (self._col.metadata or {}).get("localkb_dim")
        if recorded is not None and int(recorded) != self.dim:
            raise StoreError(f"Chroma collection at {self.path} holds {recorded}-d vectors, expected {self.dim}.")
        self._batch = max(1, int(self._client.get_max_batch_size()))

    def reload(self) -> None:
        """Drop this process's Chroma system for the folder and open it again.

        Chroma keeps one system per folder and process, and its HNSW segment in memory does not see
        another process's writes (``count`` and ``get`` do, ``query`` does not), so after another writer
        the only way to search what it wrote is a new system.
        """
        with _users_lock:
            _drop_system(self.path, stop=_users.get(self.path, 0) <= 1)  # others keep theirs until they reload
        self._open()

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        arr = as_matrix(vectors, self.dim, rows=len(ids))
        for i in range(0, len(ids), self._batch):
            self._col.upsert(ids=list(ids[i:i + self._batch]), embeddings=arr[i:i + self._batch])

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None = None) -> list[VectorHit]:
        n = self._col.count()
        if n == 0 or k <= 0:
            return []
        query = as_matrix(vector, self.dim)
        only: list[str] | None = None
        if allowed is not None:
            if not allowed:
                return []
            only = list(allowed)
            n = min(n, len(allowed))
        try:
            res = self._col.query(query_embeddings=query, n_results=min(k, n), include=["distances"], ids=only)
        except Exception:  # Chroma fails ("Error finding id") on an allowed id it does not hold
            if allowed is None:
                raise
            present = self._col.get(ids=list(allowed), include=[])["ids"]
            if not present:
                return []
            res = self._col.query(query_embeddings=query, n_results=min(k, len(present)),
                                  include=["distances"], ids=present)
        distances = res["distances"] or [[]]
        return [VectorHit(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], distances[0])]

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), self._batch):
            self._col.delete(ids=list(ids[i:i + self._batch]))

    def describe(self) -> dict[str, Any]:
        """Chroma's own HNSW graph (cosine); its recall is Chroma's to report, not measured here."""
        return {"kind": "ANN (Chroma HNSW, cosine)"}

    def count(self) -> int:
        return int(self._col.count())

    def ids(self) -> set[str]:
        out: set[str] = set()
        total = self._col.count()
        for offset in range(0, total, 10_000):
            out.update(self._col.get(limit=10_000, offset=offset, include=[])["ids"])
        return out

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``ids``, in that order (used by ``localkb migrate``).

        Raises:
            StoreError: an id is not in the collection.
        """
        def pairs() -> Iterator[tuple[str, Sequence[float]]]:
            for i in range(0, len(ids), self._batch):
                res = self._col.get(ids=list(ids[i:i + self._batch]), include=["embeddings"])
                yield from zip(res["ids"], res["embeddings"] if res["embeddings"] is not None else [])

        return gather_vectors(ids, self.dim, pairs(), f"the Chroma store {self.path}")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        with _users_lock:
            if not self._closed:
                self._closed = True
                _users[self.path] = max(0, _users.get(self.path, 0) - 1)


def _drop_system(path: str, *, stop: bool) -> None:
    """Forget this process's cached Chroma system for ``path``, so the next client reads the folder anew."""
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(path, None)
    SharedSystemClient._identifier_to_refcount.pop(path, None)
    if system is not None and stop:
        system.stop()
