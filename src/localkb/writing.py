"""The write path of a KB: one writer at a time, crash-safe, and what each write does around the pipeline.

A write holds the KB's write lock and leaves a marker (``.ingest-in-progress``) while it runs; it bumps the
generation counter in ``chunks.sqlite`` when it starts and once its vectors are durable, so every other
process reloads (``KnowledgeBase.sync``). A writer that was killed leaves its marker, and a KB damaged by
an older localkb has fewer vectors than chunks: either is repaired from ``chunks.sqlite`` when the next
writer (or the next open) takes the lock, and said in the KB's notes.

The facade (``kb.KnowledgeBase``) calls these with its open parts (``opened.OpenedKB``); each write wires
the collaborators it changes into an ``ingest.pipeline.IngestTarget``.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .lock import WriteLock

if TYPE_CHECKING:
    from .embedders import Embedder
    from .ingest.pipeline import IngestTarget
    from .opened import OpenedKB
    from .results import IngestReport

#: the marker of a write in progress (left behind by a writer that was killed)
DIRTY = ".ingest-in-progress"


class Writing:
    """Hold the write lock and the "write in progress" marker for the duration of a write.

    On entry, after the lock: reload the store if another process wrote (or died writing), bump the
    generation (readers elsewhere will reload), and repair if the store and SQLite disagree. On exit:
    flush the store, bump the generation again, remove the marker, release the lock.
    """

    def __init__(self, kb: OpenedKB) -> None:
        self.kb = kb
        self.lock = WriteLock(kb.path)

    def __enter__(self) -> None:
        kb = self.kb
        self.lock.acquire(timeout=kb.settings.lock_timeout)
        kb.writer_active = True
        try:
            marker = kb.path / DIRTY
            interrupted = marker.exists()
            _ = kb.store
            kb.sync(force=interrupted)
            marker.touch()
            kb.bump_generation()
            if interrupted or not counts_agree(kb):
                repair_and_note(kb, interrupted)
        except BaseException:
            kb.writer_active = False
            self.lock.release()
            raise

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            # SQLite commits batch by batch, so even after an error what it holds matches the store in
            # memory: persist the store and the KB is consistent again.
            self.kb.store.flush()
            self.kb.bump_generation()
            (self.kb.path / DIRTY).unlink(missing_ok=True)
        finally:
            self.kb.writer_active = False
            self.lock.release()


def apply_tuned(kb: OpenedKB, embedder: Embedder, model_dir: Path, record: dict[str, Any], *,
                progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """``tune --apply``: re-embed the KB with a tuned model and swap its index (``tuning.apply``) under the
    write lock. The open parts follow the swap at their next ``sync``."""
    from .tuning.apply import apply_model

    lock = WriteLock(kb.path)
    lock.acquire(timeout=kb.settings.lock_timeout)
    try:
        return apply_model(kb.path, kb.db, embedder, model_dir, record, settings=kb.settings, progress=progress)
    finally:
        lock.release()


def target(kb: OpenedKB) -> IngestTarget:
    """The collaborators a write changes, as the ingest pipeline takes them."""
    from .ingest.pipeline import IngestTarget

    return IngestTarget(db=kb.db, store=kb.store, embedder=lambda: kb.embedder, manifest=kb.manifest,
                        folder=kb.path, settings=kb.settings, on_chunks_changed=kb.on_chunks_changed)


def ingest(kb: OpenedKB, paths: Sequence[str | os.PathLike[str]], *, tags: Sequence[str], prune: bool,
           max_file_mb: float | None, progress: Callable[[str, int, int], None] | None,
           retag: bool) -> IngestReport:
    """``KnowledgeBase.ingest``: the pipeline under the write lock, derived indexes refreshed before the
    lock is released, then the notes (repairs, the model's language, maps made stale)."""
    from .ingest.pipeline import run_ingest

    limit = float(max_file_mb or kb.settings.max_file_mb)
    with Writing(kb):
        report = run_ingest(target(kb), paths, tags=tags, prune=prune, max_file_mb=limit, progress=progress,
                            retag=retag)
        if report.added or report.updated or report.removed:
            refresh_derived(kb)
    report.notes[:0] = kb.take_notes()
    if report.added or report.updated:
        from .embedders.resolve import language_note
        from .search.thresholds import corpus_language

        note = language_note(kb.manifest.model_id, corpus_language(kb))
        if note:
            report.notes.append(note)
        from .mapping.records import stale_map_notes

        report.notes += stale_map_notes(kb.db)
    return report


def delete_documents(kb: OpenedKB, doc_ids: Sequence[int]) -> int:
    """Remove the documents ``doc_ids`` that exist (their chunks, vectors and index entries) under the
    write lock; how many were removed."""
    from .ingest.pipeline import remove_document

    removed = 0
    with Writing(kb):
        into = target(kb)
        for doc_id in doc_ids:
            if kb.db.scalar("SELECT 1 FROM documents WHERE id=?", (doc_id,)) is not None:
                remove_document(into, doc_id)
                removed += 1
        if removed:
            kb.store.flush()
            refresh_derived(kb)
    return removed


def refresh_derived(kb: OpenedKB) -> None:
    """Bring derived indexes up to date while the writer still holds the lock, so the first search
    after an ingest (often in another process) finds them built."""
    from .search.lexical import lexical_index

    lexical_index(kb).ensure_fresh()


def check_on_open(kb: OpenedKB) -> None:
    """Make SQLite, the vector store and the lexical index agree, if no writer is busy (cheap when they do).

    A writer that was killed leaves its marker; a KB damaged by an older localkb (two writers at
    once) has fewer vectors than chunks. Either is repaired from ``chunks.sqlite`` and said in the KB's
    notes. While another process holds the write lock, differences are legitimate (it is half-way
    through a batch) and that writer checks them itself.
    """
    lock = WriteLock(kb.path)
    if not lock.try_acquire():
        return
    try:
        interrupted = (kb.path / DIRTY).exists()
        kb.sync(force=interrupted)
        if interrupted or not counts_agree(kb):
            repair_and_note(kb, interrupted)
            kb.bump_generation()
        _refresh_lexical(kb)
        (kb.path / DIRTY).unlink(missing_ok=True)
    finally:
        lock.release()


def counts_agree(kb: OpenedKB) -> bool:
    return kb.store.count() == kb.db.chunk_count()


def _refresh_lexical(kb: OpenedKB) -> None:
    from .search.lexical import lexical_index

    index = lexical_index(kb)
    before = index.count()
    index.ensure_fresh()
    if index.count() != before:
        kb.notes.append(f"Rebuilt the lexical index from chunks.sqlite: it held {before} chunks, "
                        f"the KB has {index.count()}.")


def repair(kb: OpenedKB) -> dict[str, int]:
    """Make the vector store match ``chunks.sqlite`` (see ``localkb.repair``); returns what was fixed."""
    from .repair import reconcile

    fixed = reconcile(kb.db, kb.store, lambda: kb.embedder.embed)
    if fixed.added or fixed.removed:
        kb.on_chunks_changed(added=fixed.added, removed=fixed.removed)
    return fixed.counts()


def repair_under_lock(kb: OpenedKB) -> dict[str, int]:
    """:func:`repair` with the write lock held (taken here unless this process is writing)."""
    if kb.writer_active:
        return repair(kb)
    lock = WriteLock(kb.path)
    lock.acquire(timeout=kb.settings.lock_timeout)
    try:
        kb.sync()
        fixed = repair(kb)
        kb.store.flush()
        kb.bump_generation()
        return fixed
    finally:
        lock.release()


def compact(kb: OpenedKB) -> dict[str, Any]:
    """Merge the lexical index's segments into one, without tombstones and as this version writes them
    (``LexicalIndex.compact``), under the write lock; what it held before and after, and its bytes on disk.

    Ingests keep the segments bounded on their own; this is maintenance after many deletes, or to rewrite
    segments an older version wrote (found by id through a per-process sort until then)."""
    from .disk import folder_bytes
    from .search.lexical import describe, lexical_index

    folder = kb.path / "lexical"
    with Writing(kb):
        before = {**describe(kb.path), "bytes": folder_bytes(folder)}
        chunks = lexical_index(kb).compact()
        after = {**describe(kb.path), "bytes": folder_bytes(folder)}
    keep = ("segments", "tombstones", "bytes")
    return {"chunks": chunks, "before": {k: before[k] for k in keep}, "after": {k: after[k] for k in keep}}


def repair_and_note(kb: OpenedKB, interrupted: bool) -> dict[str, int]:
    """:func:`repair`, said in the KB's notes (and what the store itself had to set aside)."""
    fixed = repair(kb)
    kb.notes.extend(getattr(kb.store, "notes", []))  # e.g. an unreadable FAISS index set aside (issue 18)
    if any(fixed.values()):
        why = "an earlier write was interrupted" if interrupted else "the vector store and chunks.sqlite disagreed"
        kb.notes.append(
            f"Repaired the KB ({why}): {fixed['reembedded']} missing vectors re-embedded from chunks.sqlite, "
            f"{fixed['orphan_vectors']} vectors without a chunk deleted"
            + (f", {fixed['chunks_without_vectors']} chunks forgotten (their documents will be re-ingested)"
               if fixed["chunks_without_vectors"] else "") + ".")
    return fixed
