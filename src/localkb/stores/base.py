"""The VectorStore Protocol and the registry that picks a backend by URI.

A store holds vectors keyed by chunk id (a content hash, a str) and nothing else: chunk text, sources
and tags live in the KB's SQLite file, the source of truth, so every store can be rebuilt from it.

Score convention, for every store: ``VectorHit.score`` is cosine similarity (vectors are L2-normalised
by the embedder), higher is better, in [-1, 1]; ``distance`` is ``1 - score``.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..registry import resolve, split_uri

#: scheme → "module:Class". Heavy libraries are imported only when a backend is built.
STORES: dict[str, str] = {
    "faiss": "localkb.stores.faiss_store:FaissStore",
    "chroma": "localkb.stores.chroma_store:ChromaStore",
    "exact": "localkb.stores.exact:ExactStore",
    "milvus": "localkb.stores.milvus_store:MilvusStore",
    "milvus+http": "localkb.stores.milvus_store:MilvusStore",
    "milvus+https": "localkb.stores.milvus_store:MilvusStore",
}


#: what a bare store name means inside a KB folder (``--store milvus`` is Milvus Lite, embedded)
DEFAULT_URIS: dict[str, str] = {"milvus": "milvus://./kb.db"}


def store_uri(name: str) -> str:
    """``faiss`` → ``faiss://index``, ``milvus`` → ``milvus://./kb.db``; full URIs pass through."""
    if "://" in name:
        return name
    return DEFAULT_URIS.get(name.lower(), f"{name.lower()}://index")


@dataclass(frozen=True)
class VectorHit:
    id: str
    score: float

    @property
    def distance(self) -> float:
        return 1.0 - self.score


@runtime_checkable
class VectorStore(Protocol):
    """What every backend implements. ``add`` is an upsert: adding an existing id replaces it."""

    uri: str
    dim: int
    #: True when ``search(..., allowed=...)`` filters inside the engine (all built-in stores do).
    supports_filters: bool

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None: ...

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None = None) -> list[VectorHit]: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def count(self) -> int: ...

    def ids(self) -> set[str]: ...

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``ids``, in that order; ``StoreError`` when one is missing."""
        ...

    def flush(self) -> None:
        """Make everything added so far durable, atomically."""
        ...

    def describe(self) -> dict[str, Any]:
        """The vector index as ``localkb stats`` shows it: at least ``kind`` (exact or which ANN); an
        ANN also says its parameters and its recall@10 against exact where it can measure it."""
        ...

    def reload(self) -> None:
        """Drop what this process holds in memory and read the store's state on disk again (another
        process wrote it). Only called between writes, under the KB's write lock or by a reader."""
        ...

    def close(self) -> None: ...


def open_store(uri: str, dim: int, *, base_dir: str | None = None) -> VectorStore:
    """Build the store for ``uri`` (``faiss://DIR``, ``chroma://DIR``, ``milvus://…``, ``exact://DIR``).

    Relative paths are taken against ``base_dir`` (the KB folder) when given.
    """
    scheme, rest = split_uri(uri)
    cls = resolve("store", scheme, STORES)
    return cls(uri, dim=dim, base_dir=base_dir)


def store_path(rest: str, base_dir: str | None) -> str:
    import os

    path = rest or "."
    if base_dir and not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    return os.path.normpath(path)


def as_matrix(vectors: np.ndarray, dim: int, rows: int | None = None) -> np.ndarray:
    """Validate shape and dtype once for every store (``rows``: how many ids the vectors go with)."""
    from ..errors import StoreError

    arr = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.shape[1] != dim:
        raise StoreError(f"Vector dimension {arr.shape[1]} does not match the store's dimension {dim}.")
    if rows is not None and rows != arr.shape[0]:
        raise StoreError(f"{rows} ids for {arr.shape[0]} vectors.")
    return arr


def gather_vectors(ids: Sequence[str], dim: int, found: Iterable[tuple[str, Sequence[float]]],
                   where: str) -> np.ndarray:
    """Place the ``(id, vector)`` pairs an engine returned in the order of ``ids``; every id must be there."""
    from ..errors import StoreError

    out = np.zeros((len(ids), dim), dtype=np.float32)
    pos = {cid: i for i, cid in enumerate(ids)}
    seen = 0
    for cid, vec in found:
        out[pos[str(cid)]] = np.asarray(vec, dtype=np.float32)
        seen += 1
    if seen != len(ids):
        raise StoreError(f"{len(ids) - seen} of {len(ids)} ids are not in {where}.")
    return out


def vid(chunk_id: str) -> int:
    """A stable non-negative int64 for engines that key by integer (FAISS): the hash's first 63 bits."""
    return int(chunk_id[:16], 16) & 0x7FFF_FFFF_FFFF_FFFF
