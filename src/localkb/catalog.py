"""Read-only views of a KB: stats, documents, chunks (what FAISS alone can never show you).

Every function reads ``chunks.sqlite`` (a ``db.Database``) and nothing else; :func:`stats` also counts
the vector store and the folder. The facade passes them; none of these knows the facade.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .disk import folder_bytes

if TYPE_CHECKING:
    from pathlib import Path

    from .db import Database
    from .manifest import Manifest
    from .stores.base import VectorStore


def stats(db: Database, store: VectorStore, manifest: Manifest, path: Path) -> dict[str, Any]:
    """What the KB at ``path`` holds: counts, model, store, chunking, formats, tags, bytes on disk."""
    from .search.lexical import describe as lexical_describe

    m = manifest
    formats = {r["format"]: r["n"] for r in db.query("SELECT format, COUNT(*) AS n FROM documents GROUP BY format")}
    tags = {r["tag"]: r["n"] for r in db.query("SELECT tag, COUNT(*) AS n FROM doc_tags GROUP BY tag ORDER BY tag")}
    return {
        "path": str(path),
        "documents": int(db.scalar("SELECT COUNT(*) FROM documents") or 0),
        "chunks": int(db.scalar("SELECT COUNT(*) FROM chunks") or 0),
        "vectors": store.count(),
        "model": m.model_id,
        "model_backend": m.model_backend,
        "dim": m.dim,
        "metric": m.metric,
        "store": m.store,
        "chunk_size": m.chunk_size,
        "chunk_overlap": m.chunk_overlap,
        "chunking": m.chunking(),
        "lexical": lexical_describe(path),
        # exact or ANN, and the ANN's recall@10 against exact where the store measures it (issue 18)
        "vector_index": store.describe(),
        "enrich": m.enrich,
        "formats": formats,
        "tags": tags,
        "bytes": folder_bytes(path),
        "created_at": m.created_at,
        "localkb_version": m.localkb_version,
    }


def documents(db: Database, *, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    rows = db.query(f"{_DOCUMENT_ROWS} ORDER BY d.source LIMIT ? OFFSET ?",
                       (-1 if limit is None else int(limit), int(offset)))
    return [_document_row(r) for r in rows]


def document(db: Database, doc_id: int) -> dict[str, Any] | None:
    """One document's row as in :func:`documents`, or None when there is no such id."""
    rows = db.query(f"{_DOCUMENT_ROWS} WHERE d.id = ?", (int(doc_id),))
    return _document_row(rows[0]) if rows else None


_DOCUMENT_ROWS = (
    "SELECT d.id, d.source, d.path, d.format, d.title, d.size, d.ingested_at,"
    " (SELECT COUNT(*) FROM doc_chunks c WHERE c.doc_id = d.id) AS chunks,"
    " (SELECT group_concat(tag, ',') FROM doc_tags t WHERE t.doc_id = d.id) AS tags"
    " FROM documents d")


def _document_row(row: Any) -> dict[str, Any]:
    return {**dict(row), "tags": sorted(row["tags"].split(",")) if row["tags"] else []}


def _sources(db: Database, chunk_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(chunk_ids), 500):
        batch = chunk_ids[i:i + 500]
        marks = ",".join("?" * len(batch))
        for r in db.query(
            f"SELECT dc.chunk_id, dc.position, dc.page, d.id AS doc_id, d.source,"
            f" (SELECT group_concat(tag, ',') FROM doc_tags t WHERE t.doc_id = d.id) AS tags"
            f" FROM doc_chunks dc JOIN documents d ON d.id = dc.doc_id WHERE dc.chunk_id IN ({marks})"
            f" ORDER BY d.source, dc.position", batch):
            out.setdefault(r["chunk_id"], []).append(
                {"doc_id": r["doc_id"], "source": r["source"], "position": r["position"], "page": r["page"],
                 "tags": r["tags"].split(",") if r["tags"] else []})
    return out


def chunk_records(db: Database, chunk_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Text, sources and tags of each chunk id that exists (unknown ids are left out)."""
    texts = db.chunks_text(chunk_ids)
    sources = _sources(db, [c for c in chunk_ids if c in texts])
    out = {}
    for cid, row in texts.items():
        src = sources.get(cid, [])
        out[cid] = {
            "id": cid,
            "text": row["text"],
            "embed_text": row["embed_text"],
            "source": src[0]["source"] if src else "",
            "sources": [s["source"] for s in src],
            "doc_id": src[0]["doc_id"] if src else None,
            "position": src[0]["position"] if src else 0,
            "page": src[0]["page"] if src else None,
            "tags": sorted({t for s in src for t in s["tags"]}),
        }
    return out


def get_chunk(db: Database, chunk_id: str) -> dict[str, Any] | None:
    return chunk_records(db, [chunk_id]).get(chunk_id)


def document_chunks(db: Database, doc_id: int) -> list[dict[str, Any]]:
    ids = [r["chunk_id"] for r in db.query(
        "SELECT chunk_id FROM doc_chunks WHERE doc_id=? ORDER BY position", (doc_id,))]
    recs = chunk_records(db, ids)
    return [recs[i] for i in ids if i in recs]


def chunks_with_tags(db: Database, tags: list[str]) -> set[str]:
    marks = ",".join("?" * len(tags))
    return {r[0] for r in db.query(
        f"SELECT DISTINCT dc.chunk_id FROM doc_chunks dc JOIN doc_tags t ON t.doc_id = dc.doc_id"
        f" WHERE t.tag IN ({marks})", tags)}
