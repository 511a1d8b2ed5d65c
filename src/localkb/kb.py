"""``KnowledgeBase``: the facade every interface (CLI, HTTP, Python) calls.

A KB is one folder::

    manifest.json    how it was built (model, dimension, store, chunking, enrichment)
    chunks.sqlite    documents, chunks, sources and tags: the source of truth
    index/           the vector store's files (faiss://index or chroma://index), derived and rebuildable
    lexical/         the BM25 index, derived and rebuildable
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .config import kb_dir, setting
from .db import Database
from .errors import ConfigError, KBNotFound
from .lock import WriteLock
from .manifest import MANIFEST, Manifest
from .results import IngestReport, SearchResult

if TYPE_CHECKING:
    from .embedders import Embedder
    from .stores.base import VectorStore

DEFAULT_STORE = "faiss"
DIRTY = ".ingest-in-progress"
#: callbacks run after chunks are added/removed (the lexical index subscribes here)
ChunkListener = Callable[["KnowledgeBase", list[str], list[str]], None]


def store_uri(store: str | None) -> str:
    """The store URI for a new KB: ``faiss`` → ``faiss://index``; full URIs pass through."""
    from .stores.base import store_uri as uri_for

    return uri_for(str(setting("store", store, DEFAULT_STORE)))


class KnowledgeBase:
    """Open with :meth:`open`; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path, manifest: Manifest, embedder: Embedder | None = None) -> None:
        self.path = path
        self.manifest = manifest
        self.db = Database(path / "chunks.sqlite")
        self._embedder = embedder
        self._store: VectorStore | None = None
        self._lock = threading.RLock()
        self._listeners: list[ChunkListener] = []
        self._extensions: dict[str, Any] = {}
        from .search.lexical import attach  # the BM25 index follows every chunk change (issue 3)

        attach(self)

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, create: bool = True, model: str | None = None,
             store: str | None = None, chunk_size: int | None = None, chunk_overlap: int | None = None,
             enrich: Sequence[str] | None = None) -> KnowledgeBase:
        """Open the KB at ``path`` (default ``$LOCALKB_KB`` or ``./.localkb``), creating it if asked.

        ``model``, ``store``, chunking and ``enrich`` are fixed when the KB is created and recorded in its
        manifest; giving a different model later raises ``ModelMismatch``.
        """
        folder = kb_dir(path)
        if (folder / MANIFEST).exists():
            manifest = Manifest.load(folder)
            embedder = None
            if model is not None:
                from .embedders import load_embedder
                from .embedders.resolve import canonical, resolve_model

                if canonical(model) != manifest.model_id:
                    manifest.check_model(resolve_model(model).id)  # cheap: fails before loading anything
                    embedder = load_embedder(model)  # the same model, found another way: use it
            if store is not None and store_uri(store).split("://")[0] != manifest.store.split("://")[0]:
                raise ConfigError(
                    f"This KB stores its vectors in '{manifest.store}'; it was created that way. "
                    f"To move it, use: localkb migrate --kb {folder} --to {store_uri(store)}")
            kb = cls(folder, manifest, embedder)
            kb._recover_if_interrupted()
            return kb
        if not create:
            raise KBNotFound(f"No knowledge base at {folder} (create one with: localkb ingest PATH --kb {folder})")
        from .embedders import load_embedder
        from .ingest.chunking import ChunkSettings

        embedder = load_embedder(model)
        settings = ChunkSettings(
            int(chunk_size or setting("chunk_size", None, 180)),
            int(chunk_overlap if chunk_overlap is not None else setting("chunk_overlap", None, 30)),
        )
        uri = store_uri(store)
        from .registry import resolve, split_uri
        from .stores.base import STORES

        resolve("store", split_uri(uri)[0], STORES)  # fail on a misspelt store before creating anything
        enrich_fields = list(enrich or [])
        bad = [f for f in enrich_fields if f not in ("tags", "title", "source") and not f.startswith("meta.")]
        if bad:
            raise ConfigError(f"Unknown enrich field(s): {', '.join(bad)} (use tags, title, source or meta.NAME)")
        folder.mkdir(parents=True, exist_ok=True)
        spec = str(model or "")
        if spec and Path(spec).expanduser().exists():
            spec = str(Path(spec).expanduser().resolve())
        manifest = Manifest(
            model_id=embedder.id, model_backend=embedder.backend, dim=embedder.dim, normalize=embedder.normalize,
            model_spec=spec,
            store=uri, chunk_size=settings.size, chunk_overlap=settings.overlap, enrich=enrich_fields,
            localkb_version=__version__,
        )
        kb = cls(folder, manifest, embedder)
        _ = kb.store  # create the store's files before the manifest marks the KB as existing
        manifest.save(folder)
        return kb

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lazily built parts -------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from .embedders import load_embedder

                self._embedder = load_embedder(self.manifest.model_spec or self.manifest.model_id)
                self.manifest.check_model(self._embedder.id)
            return self._embedder

    @property
    def store(self) -> VectorStore:
        with self._lock:
            if self._store is None:
                from .stores.base import open_store

                self._store = open_store(self.manifest.store, self.manifest.dim, base_dir=str(self.path))
            return self._store

    def extension(self, name: str, factory: Callable[[KnowledgeBase], Any]) -> Any:
        """A per-KB singleton built on first use (the lexical index, calibration, …)."""
        with self._lock:
            if name not in self._extensions:
                self._extensions[name] = factory(self)
            return self._extensions[name]

    def add_listener(self, listener: ChunkListener) -> None:
        self._listeners.append(listener)

    def on_chunks_changed(self, added: list[str], removed: list[str]) -> None:
        for listener in self._listeners:
            listener(self, added, removed)

    # -- writing ------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[str | os.PathLike[str]], *, tags: Sequence[str] = (), prune: bool = True,
               max_file_mb: float | None = None,
               progress: Callable[[str, int, int], None] | None = None) -> IngestReport:
        """Ingest files and folders idempotently. See ``ingest.pipeline`` for the crash-safety order.

        Files that cannot be read are listed in ``report.skipped``; every other file is still ingested.
        With ``prune`` (the default), documents under an ingested folder whose file is gone are removed.
        """
        from .ingest.pipeline import run_ingest

        limit = float(max_file_mb or setting("max_file_mb", None, 100))
        with self._writing():
            report = run_ingest(self, paths, tags=tags, prune=prune, max_file_mb=limit, progress=progress)
            if report.added or report.updated or report.removed:
                self._refresh_derived()
        if report.added or report.updated:
            from .embedders.resolve import language_note
            from .search.thresholds import corpus_language

            note = language_note(self.manifest.model_id, corpus_language(self))
            if note:
                report.notes.append(note)
        return report

    def _refresh_derived(self) -> None:
        """Bring derived indexes up to date while the writer still holds the lock, so the first search
        after an ingest (often in another process) finds them built."""
        from .search.lexical import lexical_index

        lexical_index(self).ensure_fresh()

    def delete_document(self, doc_id: int) -> bool:
        from .ingest.pipeline import remove_document

        with self._writing():
            if self.db.scalar("SELECT 1 FROM documents WHERE id=?", (doc_id,)) is None:
                return False
            remove_document(self, doc_id)
            self.store.flush()
            self._refresh_derived()
            return True

    def _writing(self) -> _Writing:
        return _Writing(self)

    def _recover_if_interrupted(self) -> None:
        """After a killed ingest, make SQLite and the store agree again (cheap; needs no model)."""
        if not (self.path / DIRTY).exists():
            return
        lock = WriteLock(self.path)
        if not lock.try_acquire():
            return  # a live ingest holds the lock: its marker is legitimate
        try:
            self.repair()
            (self.path / DIRTY).unlink(missing_ok=True)
        finally:
            lock.release()

    def repair(self) -> dict[str, int]:
        """Delete vectors that have no chunk; forget chunks that have no vector (their documents are marked
        stale so the next ingest re-embeds them). Returns what was fixed."""
        store_ids = self.store.ids()
        db_ids = self.db.chunk_ids()
        orphans = sorted(store_ids - db_ids)
        missing = sorted(db_ids - store_ids)
        if orphans:
            self.store.delete(orphans)
        if missing:
            with self.db.transaction() as conn:
                for i in range(0, len(missing), 500):
                    batch = missing[i:i + 500]
                    marks = ",".join("?" * len(batch))
                    conn.execute(f"UPDATE documents SET content_hash='' WHERE id IN "
                                 f"(SELECT doc_id FROM doc_chunks WHERE chunk_id IN ({marks}))", batch)
                    conn.execute(f"DELETE FROM doc_chunks WHERE chunk_id IN ({marks})", batch)
                    conn.execute(f"DELETE FROM chunks WHERE id IN ({marks})", batch)
        if orphans or missing:
            self.store.flush()
            self.on_chunks_changed(added=[], removed=orphans + missing)
        return {"orphan_vectors": len(orphans), "chunks_without_vectors": len(missing)}

    # -- reading ------------------------------------------------------------------------------
    def search(self, query: str, *, k: int = 10, tags: Sequence[str] | None = None,
               min_score: float | str | None = None, mode: str | None = None) -> SearchResult:
        """Search the KB. ``score``: higher is better (cosine similarity in dense mode)."""
        from .search.engine import search

        return search(self, query, k=k, tags=tags, min_score=min_score, mode=mode)

    def ask(self, question: str, **kwargs: Any) -> Any:
        """Answer ``question`` from the KB with a local LLM (see ``localkb.rag.answer``)."""
        from .rag import answer

        return answer(self, question, **kwargs)

    def stats(self) -> dict[str, Any]:
        from .inspect import stats

        return stats(self)

    def documents(self, *, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        from .inspect import documents

        return documents(self, offset=offset, limit=limit)

    def document(self, doc_id: int) -> dict[str, Any] | None:
        """One document (source, format, title, size, tags, chunk count), or None."""
        from .inspect import document

        return document(self, doc_id)

    def get_chunk(self, chunk_id: str) -> dict[str, Any] | None:
        from .inspect import get_chunk

        return get_chunk(self, chunk_id)

    def document_chunks(self, doc_id: int) -> list[dict[str, Any]]:
        from .inspect import document_chunks

        return document_chunks(self, doc_id)

    def close(self) -> None:
        with self._lock:
            for ext in self._extensions.values():
                closer = getattr(ext, "close", None)
                if callable(closer):
                    closer()
            self._extensions.clear()
            if self._store is not None:
                self._store.close()
                self._store = None
            self.db.close()


class _Writing:
    """Hold the write lock and the "ingest in progress" marker for the duration of a write."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.lock = WriteLock(kb.path)

    def __enter__(self) -> None:
        self.lock.acquire(timeout=float(setting("lock_timeout", None, 30)))
        marker = self.kb.path / DIRTY
        if marker.exists():
            self.kb.repair()
        marker.touch()

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            # SQLite commits batch by batch, so even after an error what it holds matches the store in
            # memory: persist the store and the KB is consistent again.
            self.kb.store.flush()
            (self.kb.path / DIRTY).unlink(missing_ok=True)
        finally:
            self.lock.release()
