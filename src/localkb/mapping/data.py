"""What every map operation reads: the KB's chunks, the documents they belong to, their stored vectors.

Nothing is embedded again: vectors come from the store (``get_vectors``), texts and sources from
``chunks.sqlite``. Functions take the collaborators they need (``db``, ``store``), never the whole KB.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..embedders.runtime import normalise
from ..errors import MapError

if TYPE_CHECKING:
    from ..db import Database

#: ``progress(stage, done, total)``, the same shape ingest uses
Progress = Callable[[str, int, int], None]
VECTOR_BATCH = 4096


class VectorSource(Protocol):
    """The part of a store the map needs (every built-in store has it)."""

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray: ...

    def count(self) -> int: ...


@dataclass
class ChunkTable:
    """Every chunk of the KB in a fixed order (by id), with the documents that hold it."""

    ids: list[str]
    #: document ids holding each chunk (an exact duplicate chunk is stored once, held by several)
    docs: list[list[int]]
    #: document id → its source (the path as ingested)
    sources: dict[int, str]
    #: document id → its tags
    tags: dict[int, list[str]] = field(default_factory=dict)

    @property
    def pos(self) -> dict[str, int]:
        return {cid: n for n, cid in enumerate(self.ids)}

    def source_of(self, row: int) -> str:
        return self.sources.get(self.docs[row][0], "") if self.docs[row] else ""


def load_chunks(db: Database) -> ChunkTable:
    """All chunks that belong to a document, ordered by id."""
    sources = {int(r["id"]): str(r["source"]) for r in db.query("SELECT id, source FROM documents")}
    tags: dict[int, list[str]] = {}
    for r in db.query("SELECT doc_id, tag FROM doc_tags ORDER BY tag"):
        tags.setdefault(int(r["doc_id"]), []).append(str(r["tag"]))
    docs: dict[str, list[int]] = {}
    for r in db.query("SELECT chunk_id, doc_id FROM doc_chunks ORDER BY doc_id, position"):
        held = docs.setdefault(str(r["chunk_id"]), [])
        if int(r["doc_id"]) not in held:
            held.append(int(r["doc_id"]))
    ids = sorted(docs)
    return ChunkTable(ids=ids, docs=[docs[c] for c in ids], sources=sources, tags=tags)


def require_documents(table: ChunkTable, what: str, minimum: int = 2) -> None:
    """``MapError`` unless the KB holds at least ``minimum`` documents with chunks."""
    held = {d for ds in table.docs for d in ds}
    if not held:
        raise MapError(f"The knowledge base is empty: nothing to {what}. Ingest documents first.")
    if len(held) < minimum:
        only = table.sources.get(next(iter(held)), "?")
        raise MapError(f"The knowledge base holds only one document ({only}): {what} compares documents. "
                       "Ingest more documents first.", documents=len(held))


def load_vectors(store: VectorSource, ids: Sequence[str], progress: Progress | None = None) -> np.ndarray:
    """The stored vectors of ``ids`` (float32, L2-normalised rows), read in batches with progress."""
    parts = []
    for start in range(0, len(ids), VECTOR_BATCH):
        parts.append(np.asarray(store.get_vectors(list(ids[start:start + VECTOR_BATCH])), dtype=np.float32))
        if progress:
            progress("vectors", min(start + VECTOR_BATCH, len(ids)), len(ids))
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return normalise(np.vstack(parts))


def texts(db: Database, ids: Sequence[str]) -> dict[str, str]:
    return {cid: str(row["text"]) for cid, row in db.chunks_text(list(dict.fromkeys(ids))).items()}


def snippet(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
