"""Ingestion: diff the files on disk against the KB's SQLite by content hash, embed only what is new.

Order of writes, chosen for crash safety (SQLite is the source of truth):
1. new chunks are embedded and added to the vector store (in memory for FAISS);
2. one SQLite transaction records the documents, chunks, links and tags of the batch;
3. the store is flushed (atomically) every ``FLUSH_EVERY`` chunks and at the end.
A crash between 2 and 3 leaves chunks without vectors; between 1 and 2 (Chroma, Milvus persist on add)
vectors without chunks. ``KnowledgeBase`` reconciles both on the next open for writing (see ``repair``).

The pipeline writes to an :class:`IngestTarget`: the KB's SQLite file, vector store, embedder, manifest and
settings and the callback told of every chunk change, wired by the facade, which holds the write lock
around every call here. Nothing here knows the facade.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LoaderError
from ..results import IngestReport, Skipped
from .chunking import Chunker
from .files import Candidate, check_paths, read_file, walk
from .loaders import Loaded, load

if TYPE_CHECKING:
    import sqlite3

    from ..db import Database, KnownChunks
    from ..embedders import Embedder
    from ..manifest import Manifest
    from ..settings import Settings
    from ..stores.base import VectorStore

BATCH_CHUNKS = 256
#: at most this many values of a many-valued field (a CSV column) go into an ``--enrich meta.X`` label
ENRICH_VALUES = 10
FLUSH_EVERY = 4096
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IngestTarget:
    """What one write changes, as the facade wires it (under its write lock)."""

    #: ``chunks.sqlite``, the source of truth
    db: Database
    #: the vector store the chunks' vectors go to
    store: VectorStore
    #: the KB's embedder, loaded on first need (nothing new to embed: never loaded)
    embedder: Callable[[], Embedder]
    #: the KB's manifest (chunking, enrichment); saved into ``folder`` when re-chunking finished
    manifest: Manifest
    folder: Path
    settings: Settings
    #: told ``(added, removed)`` chunk ids after every batch (the lexical index follows them)
    on_chunks_changed: Callable[[list[str], list[str]], None]


def chunk_id(embed_text: str) -> str:
    return hashlib.sha256(embed_text.encode("utf-8")).hexdigest()


def enrich_prefix(fields: Sequence[str], tags: Sequence[str], loaded: Loaded | None, source: str) -> str:
    """Labels prepended to what is embedded and indexed, so the model sees them (manifest ``enrich``)."""
    parts = []
    for name in fields:
        if name == "tags" and tags:
            parts.append(f"[tags: {', '.join(sorted(tags))}]")
        elif name == "title" and loaded is not None and loaded.title:
            parts.append(f"[title: {loaded.title}]")
        elif name == "source":
            parts.append(f"[source: {Path(source).name}]")
        elif name.startswith("meta.") and loaded is not None and loaded.meta.get(name[5:]):
            value = loaded.meta[name[5:]]
            shown = ", ".join(value[:ENRICH_VALUES]) if isinstance(value, list) else value
            parts.append(f"[{name[5:]}: {shown}]")
    return " ".join(parts) + "\n" if parts else ""


def enrich_notes(db: Database, fields: Sequence[str]) -> list[str]:
    """A note for each ``meta.NAME`` enrich field that no document of the KB has: it added nothing to any
    chunk, and the KB's enrichment is fixed when it is created — said, never silent."""
    from ..search.filters import has_meta_key, meta_keys
    from ..suggest import did_you_mean

    notes = []
    for name in fields:
        key = name[5:] if name.startswith("meta.") else None
        if key is None or has_meta_key(db, key):
            continue
        keys = meta_keys(db)
        hint = " The document's title is --enrich title." if key == "title" else did_you_mean(key, keys, prefix="meta.")
        notes.append(f"--enrich {name}: no document in this KB has the metadata '{key}', so nothing was "
                     f"prepended for it.{hint} Known here: {', '.join(keys) or 'none'}. (Enrichment is fixed "
                     "when a KB is created: to change it, ingest into a new KB.)")
    return notes


@dataclass
class _Doc:
    cand: Candidate
    digest: str
    size: int
    mtime: float
    loaded: Loaded
    chunks: list[tuple[str, str, str]] = field(default_factory=list)  # (id, text, embed_text)
    pages: list[int | None] = field(default_factory=list)  # the page of each chunk (None: no pages)
    existing_id: int | None = None
    tags: list[str] = field(default_factory=list)


def document_tags(given: list[str], old: list[str] | None, retag: bool) -> list[str]:
    """The tags a document gets: re-ingesting keeps its tags and adds ``given``; ``retag`` sets exactly ``given``."""
    if retag or old is None:
        return list(given)
    return sorted({*old, *given})


def meta_rows(meta: Mapping[str, str | list[str]]) -> list[tuple[str, str, float | None]]:
    """``doc_meta`` rows (key, value, value as a number or None) of a loader's metadata."""
    rows = []
    for key, value in meta.items():
        for item in dict.fromkeys(value if isinstance(value, list) else [value]):
            try:
                num: float | None = float(item)
            except ValueError:
                num = None
            rows.append((key, item, num if num is None or num == num else None))
    return rows


def run_ingest(kb: IngestTarget, paths: Sequence[str | os.PathLike[str]], *, tags: Sequence[str] = (),
               prune: bool = True, max_file_mb: float = 100.0, progress: Progress | None = None,
               retag: bool = False) -> IngestReport:
    check_paths(list(paths))
    report = IngestReport()
    db, manifest = kb.db, kb.manifest
    chunker = Chunker(manifest, kb.embedder)  # chunks in the model's tokens (ingest.chunking)
    tagset = sorted({t.strip() for t in tags if t.strip()})
    known = {r["path"]: r for r in db.query("SELECT id, path, content_hash, root FROM documents")}
    doc_tags: dict[int, list[str]] = {}
    for r in db.query("SELECT doc_id, tag FROM doc_tags ORDER BY tag"):
        doc_tags.setdefault(r["doc_id"], []).append(r["tag"])
    have = db.known_chunks()  # looked up per chunk: an ingest costs its own chunks, not the KB's
    rechunk = chunker.begin(known)
    # PDFs chunked before chunks knew their page (db migration 6) are chunked again, page by page
    # (per PDF document, one probe of its own doc_chunks rows by primary key: never a scan of every chunk)
    unpaged = {r["path"] for r in db.query(
        "SELECT path FROM documents d WHERE format = 'pdf' AND EXISTS "
        "(SELECT 1 FROM doc_chunks dc WHERE dc.doc_id = d.id AND dc.page IS NULL)")}
    rechunked: set[str] = set()
    batch_chunks, flush_every = kb.settings.ingest_batch, kb.settings.flush_every

    candidates: list[Candidate] = []
    for item in walk(list(paths)):
        if isinstance(item, tuple):
            report.skipped.append(Skipped(item[0], item[1]))
        else:
            candidates.append(item)
    seen: set[str] = set()
    pending: list[_Doc] = []
    pending_new = 0
    since_flush = 0
    total = len(candidates)

    for n, cand in enumerate(candidates, 1):
        key = str(cand.path)
        if key in seen:
            continue
        seen.add(key)
        if progress:
            progress("read", n, total)
        try:
            data, stat = read_file(cand.path, int(max_file_mb * 1e6))
            digest = hashlib.sha256(data).hexdigest()
            old = known.get(key)
            old_tags = doc_tags.get(old["id"], []) if old is not None else None
            new_tags = document_tags(tagset, old_tags, retag)
            if (old is not None and old["content_hash"] == digest and old_tags == new_tags
                    and key not in rechunk and key not in unpaged):
                report.unchanged += 1
                continue
            loaded = load(cand.path, data)
        except LoaderError as exc:  # one bad file never stops the run (files.py turns OS errors into these)
            report.skipped.append(Skipped(cand.source, exc.message))
            continue
        doc = _Doc(cand, digest, len(data), stat.st_mtime, loaded, existing_id=old["id"] if old else None,
                   tags=new_tags)
        prefix = enrich_prefix(manifest.enrich, new_tags, loaded, cand.source)
        try:
            paged = page_chunks(chunker, loaded, prefix)
        except ValueError as exc:
            report.skipped.append(Skipped(cand.source, f"cannot chunk: {exc}"))
            continue
        for page, text in paged:
            embed_text = prefix + text
            doc.chunks.append((chunk_id(embed_text), text, embed_text))
            doc.pages.append(page)
        if not doc.chunks:
            report.skipped.append(Skipped(cand.source, "no text found in file"))
            continue
        pending.append(doc)
        rechunked.add(key)
        pending_new += sum(1 for c in doc.chunks if c[0] not in have)
        if pending_new >= batch_chunks:
            since_flush += _commit(kb, pending, have, report, progress)
            pending, pending_new = [], 0
            if since_flush >= flush_every:
                kb.store.flush()
                since_flush = 0
    if pending:
        _commit(kb, pending, have, report, progress)
    if paged_again := len(unpaged & rechunked):
        report.notes.append(f"{paged_again} PDF(s) chunked again page by page, so each chunk knows its page "
                            "(--where page=N).")
    if prune:
        report.removed += prune_missing(kb, paths, known)
    kb.store.flush()
    existing = {r["path"] for r in db.query("SELECT path FROM documents")}
    if chunker.finish(rechunked, existing, report.notes):
        manifest.save(kb.folder)
    report.chunks = int(db.scalar("SELECT COUNT(*) FROM chunks") or 0)
    if report.added or report.updated:
        report.notes += enrich_notes(db, manifest.enrich)
    return report


def page_chunks(chunker: Chunker, loaded: Loaded, prefix: str) -> list[tuple[int | None, str]]:
    """(page, chunk) in document order: a paged format (PDF) is chunked page by page, so no chunk spans two
    pages and each knows its page (1-based); other formats are chunked whole, with no page."""
    if loaded.pages is None:
        return [(None, text) for text in chunker.chunks(loaded.text, prefix)]
    return [(number, text) for number, page in enumerate(loaded.pages, 1) if page.strip()
            for text in chunker.chunks(page, prefix)]


def _commit(kb: IngestTarget, docs: list[_Doc], have: KnownChunks, report: IngestReport,
            progress: Progress | None) -> int:
    """Embed the batch's new chunks, add them to the store, then record the batch in one transaction."""
    new: dict[str, str] = {}
    for doc in docs:
        for cid, _text, embed_text in doc.chunks:
            if cid not in have:
                new.setdefault(cid, embed_text)
    if new:
        ids = list(new)
        vectors = kb.embedder().embed([new[i] for i in ids])
        kb.store.add(ids, vectors)
        report.embedded += len(ids)
        if progress:
            progress("embed", len(ids), 0)
    now = time.time()
    orphan_candidates: set[str] = set()
    with kb.db.transaction() as conn:
        for doc in docs:
            for cid, text, embed_text in doc.chunks:
                if cid in new:
                    conn.execute("INSERT OR IGNORE INTO chunks(id, text, embed_text, created_at) VALUES (?,?,?,?)",
                                 (cid, text, embed_text, now))
            values = (str(doc.cand.path), doc.cand.source, str(doc.cand.root), doc.digest, doc.size, doc.mtime,
                      doc.loaded.format, doc.loaded.title, now)
            if doc.existing_id is None:
                cur = conn.execute(
                    "INSERT INTO documents(path, source, root, content_hash, size, mtime, format, title, ingested_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?)", values)
                doc_id = int(cur.lastrowid or 0)
                report.added += 1
            else:
                doc_id = doc.existing_id
                orphan_candidates.update(r[0] for r in conn.execute(
                    "SELECT chunk_id FROM doc_chunks WHERE doc_id=?", (doc_id,)))
                conn.execute(
                    "UPDATE documents SET path=?, source=?, root=?, content_hash=?, size=?, mtime=?, format=?,"
                    " title=?, ingested_at=? WHERE id=?", (*values, doc_id))
                conn.execute("DELETE FROM doc_chunks WHERE doc_id=?", (doc_id,))
                conn.execute("DELETE FROM doc_tags WHERE doc_id=?", (doc_id,))
                conn.execute("DELETE FROM doc_meta WHERE doc_id=?", (doc_id,))
                report.updated += 1
            conn.executemany("INSERT INTO doc_chunks(doc_id, position, chunk_id, page) VALUES (?,?,?,?)",
                             [(doc_id, pos, c[0], page) for pos, (c, page) in enumerate(zip(doc.chunks, doc.pages))])
            conn.executemany("INSERT INTO doc_tags(doc_id, tag) VALUES (?,?)", [(doc_id, t) for t in doc.tags])
            conn.executemany("INSERT INTO doc_meta(doc_id, key, value, num) VALUES (?,?,?,?)",
                             [(doc_id, *row) for row in meta_rows(doc.loaded.meta)])
        dropped = _drop_unreferenced(conn, orphan_candidates)
    have.update(new)
    have.difference_update(dropped)
    if dropped:
        kb.store.delete(sorted(dropped))
    kb.on_chunks_changed(list(new), sorted(dropped))
    return len(new)


def _drop_unreferenced(conn: object, candidates: set[str]) -> set[str]:
    """Delete chunks no document links to any more; return their ids."""
    dropped: set[str] = set()
    for cid in candidates:
        linked = conn.execute("SELECT 1 FROM doc_chunks WHERE chunk_id=? LIMIT 1", (cid,)).fetchone()  # type: ignore[attr-defined]
        if linked is None:
            conn.execute("DELETE FROM chunks WHERE id=?", (cid,))  # type: ignore[attr-defined]
            dropped.add(cid)
    return dropped


def remove_document(kb: IngestTarget, doc_id: int) -> None:
    """Remove one document, its links and tags, and the chunks (and vectors) no other document holds."""
    with kb.db.transaction() as conn:
        chunk_ids = {r[0] for r in conn.execute("SELECT chunk_id FROM doc_chunks WHERE doc_id=?", (doc_id,))}
        conn.execute("DELETE FROM doc_chunks WHERE doc_id=?", (doc_id,))
        conn.execute("DELETE FROM doc_tags WHERE doc_id=?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE id=?", (doc_id,))
        dropped = _drop_unreferenced(conn, chunk_ids)
    if dropped:
        kb.store.delete(sorted(dropped))
    kb.on_chunks_changed([], sorted(dropped))


def prune_missing(kb: IngestTarget, paths: Sequence[str | os.PathLike[str]], known: Mapping[str, sqlite3.Row]) -> int:
    """Remove documents that lived under an ingested folder and whose file is gone. Returns how many."""
    roots = [str(Path(p).expanduser().resolve()) for p in paths if Path(p).expanduser().is_dir()]
    removed = 0
    for path, row in known.items():
        if any(path.startswith(root + os.sep) for root in roots) and not os.path.exists(path):
            remove_document(kb, row["id"])
            removed += 1
    return removed
