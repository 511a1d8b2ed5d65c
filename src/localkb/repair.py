"""Make a KB's vector store match ``chunks.sqlite``, the source of truth (after a kill, or damage left by
an older localkb that let two writers overwrite each other's vectors).

Vectors without a chunk are deleted; chunks without a vector are embedded again from their stored
``embed_text``. If the model cannot be loaded, those chunks are forgotten instead and their documents
marked stale, so the next ingest re-embeds them. The caller holds the KB's write lock.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from .db import Database
    from .stores.base import VectorStore

Embed = Callable[[Sequence[str]], "np.ndarray"]


@dataclass
class Repair:
    orphan_vectors: int = 0
    reembedded: int = 0
    chunks_without_vectors: int = 0  # forgotten because they could not be embedded again
    added: list[str] = field(default_factory=list)  # chunk ids whose vectors were restored
    removed: list[str] = field(default_factory=list)  # chunk ids gone from the store or from SQLite

    def counts(self) -> dict[str, int]:
        return {"orphan_vectors": self.orphan_vectors, "reembedded": self.reembedded,
                "chunks_without_vectors": self.chunks_without_vectors}


def reconcile(db: Database, store: VectorStore, embed: Callable[[], Embed]) -> Repair:
    """Bring ``store`` in line with ``db``; ``embed()`` returns the KB's embedding function (loaded lazily)."""
    from .errors import LocalKBError

    store_ids, db_ids = store.ids(), db.chunk_ids()
    orphans, missing = sorted(store_ids - db_ids), sorted(db_ids - store_ids)
    out = Repair(orphan_vectors=len(orphans), removed=list(orphans))
    if orphans:
        store.delete(orphans)
    if missing:
        try:
            out.reembedded = _reembed(db, store, embed(), missing)
            out.added = missing
        except LocalKBError:
            out.chunks_without_vectors = _forget_chunks(db, missing)
            out.removed += missing
    if orphans or missing:
        store.flush()
    return out


def _reembed(db: Database, store: VectorStore, embed: Embed, ids: list[str]) -> int:
    for i in range(0, len(ids), 256):
        batch = ids[i:i + 256]
        rows = db.chunks_text(batch)
        store.add(batch, embed([rows[c]["embed_text"] for c in batch]))
    return len(ids)


def _forget_chunks(db: Database, missing: list[str]) -> int:
    with db.transaction() as conn:
        for i in range(0, len(missing), 500):
            batch = missing[i:i + 500]
            marks = ",".join("?" * len(batch))
            conn.execute(f"UPDATE documents SET content_hash='' WHERE id IN "
                         f"(SELECT doc_id FROM doc_chunks WHERE chunk_id IN ({marks}))", batch)
            conn.execute(f"DELETE FROM doc_chunks WHERE chunk_id IN ({marks})", batch)
            conn.execute(f"DELETE FROM chunks WHERE id IN ({marks})", batch)
    return len(missing)
