"""Read-only views of a KB: stats, documents, chunks (what FAISS alone can never show you)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .disk import folder_bytes

if TYPE_CHECKING:
    from .parts import KBParts


def stats(kb: KBParts) -> dict[str, Any]:
    from .search.lexical import describe as lexical_describe

    m = kb.manifest
    db = kb.db
    formats = {r["format"]: r["n"] for r in db.query("SELECT format, COUNT(*) AS n FROM documents GROUP BY format")}
    tags = {r["tag"]: r["n"] for r in db.query("SELECT tag, COUNT(*) AS n FROM doc_tags GROUP BY tag ORDER BY tag")}
    return {
        "path": str(kb.path),
        "documents": int(db.scalar("SELECT COUNT(*) FROM documents") or 0),
        "chunks": int(db.scalar("SELECT COUNT(*) FROM chunks") or 0),
        "vectors": kb.store.count(),
        "model": m.model_id,
        "model_backend": m.model_backend,
        "dim": m.dim,
        "metric": m.metric,
        "store": m.store,
        "chunk_size": m.chunk_size,
        "chunk_overlap": m.chunk_overlap,
        "chunking": m.chunking(),
        "lexical": lexical_describe(kb.path),
        # exact or ANN, and the ANN's recall@10 against exact (stores that say; issue 18)
        "vector_index": kb.store.describe() if hasattr(kb.store, "describe") else None,
        "enrich": m.enrich,
        "formats": formats,
        "tags": tags,
        "bytes": folder_bytes(kb.path),
        "created_at": m.created_at,
        "localkb_version": m.localkb_version,
    }


def documents(kb: KBParts, *, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    rows = kb.db.query(f"{_DOCUMENT_ROWS} ORDER BY d.source LIMIT ? OFFSET ?",
                       (-1 if limit is None else int(limit), int(offset)))
    return [_document_row(r) for r in rows]


def document(kb: KBParts, doc_id: int) -> dict[str, Any] | None:
    """One document's row as in :func:`documents`, or None when there is no such id."""
    rows = kb.db.query(f"{_DOCUMENT_ROWS} WHERE d.id = ?", (int(doc_id),))
    return _document_row(rows[0]) if rows else None


_DOCUMENT_ROWS = (
    "SELECT d.id, d.source, d.path, d.format, d.title, d.size, d.ingested_at,"
    " (SELECT COUNT(*) FROM doc_chunks c WHERE c.doc_id = d.id) AS chunks,"
    " (SELECT group_concat(tag, ',') FROM doc_tags t WHERE t.doc_id = d.id) AS tags"
    " FROM documents d")


def _document_row(row: Any) -> dict[str, Any]:
    return {**dict(row), "tags": sorted(row["tags"].split(",")) if row["tags"] else []}


def _sources(kb: KBParts, chunk_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(chunk_ids), 500):
        batch = chunk_ids[i:i + 500]
        marks = ",".join("?" * len(batch))
        for r in kb.db.query(
            f"SELECT dc.chunk_id, dc.position, d.id AS doc_id, d.source,"
            f" (SELECT group_concat(tag, ',') FROM doc_tags t WHERE t.doc_id = d.id) AS tags"
            f" FROM doc_chunks dc JOIN documents d ON d.id = dc.doc_id WHERE dc.chunk_id IN ({marks})"
            f" ORDER BY d.source, dc.position", batch):
            out.setdefault(r["chunk_id"], []).append(
                {"doc_id": r["doc_id"], "source": r["source"], "position": r["position"],
                 "tags": r["tags"].split(",") if r["tags"] else []})
    return out


def chunk_records(kb: KBParts, chunk_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Text, sources and tags of each chunk id that exists (unknown ids are left out)."""
    texts = kb.db.chunks_text(chunk_ids)
    sources = _sources(kb, [c for c in chunk_ids if c in texts])
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
            "tags": sorted({t for s in src for t in s["tags"]}),
        }
    return out


def get_chunk(kb: KBParts, chunk_id: str) -> dict[str, Any] | None:
    return chunk_records(kb, [chunk_id]).get(chunk_id)


def document_chunks(kb: KBParts, doc_id: int) -> list[dict[str, Any]]:
    ids = [r["chunk_id"] for r in kb.db.query(
        "SELECT chunk_id FROM doc_chunks WHERE doc_id=? ORDER BY position", (doc_id,))]
    recs = chunk_records(kb, ids)
    return [recs[i] for i in ids if i in recs]


def chunks_with_tags(kb: KBParts, tags: list[str]) -> set[str]:
    marks = ",".join("?" * len(tags))
    return {r[0] for r in kb.db.query(
        f"SELECT DISTINCT dc.chunk_id FROM doc_chunks dc JOIN doc_tags t ON t.doc_id = dc.doc_id"
        f" WHERE t.tag IN ({marks})", tags)}
