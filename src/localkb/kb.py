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

from .config import kb_dir
from .db import Database
from .errors import ConfigError, KBNotFound, LocalKBError
from .lock import WriteLock
from .manifest import MANIFEST, Manifest
from .results import IngestReport, SearchResult
from .version import __version__

if TYPE_CHECKING:
    from .embedders import Embedder
    from .llm.base import LLM
    from .lookup import DeleteReport
    from .mapping.cluster import ClusterResult
    from .mapping.dedup import DedupResult
    from .mapping.projection import MapPoints
    from .mapping.similar import SimilarResult
    from .rag.result import Answer
    from .search.filters import WhereSpec
    from .settings import Settings
    from .stores.base import VectorStore
    from .tuning.audit import AuditReport
    from .tuning.tune import TuneReport

DEFAULT_STORE = "faiss"
DIRTY = ".ingest-in-progress"
#: callbacks run after chunks are added/removed (the lexical index subscribes here)
ChunkListener = Callable[["KnowledgeBase", list[str], list[str]], None]


def store_uri(store: str | None, settings: Settings | None = None) -> str:
    """The store URI for a new KB: ``faiss`` → ``faiss://index``; full URIs pass through."""
    from .settings import current
    from .stores.base import store_uri as uri_for

    return uri_for(str(store or current(settings).store or DEFAULT_STORE))


def check_enrich(enrich: Sequence[str] | None) -> list[str]:
    """The ``enrich`` fields of a new KB; ``ConfigError`` for a field no loader produces."""
    from .ingest.loaders import META_FIELDS

    fields = list(enrich or [])
    bad = [f for f in fields if f not in ("tags", "title", "source") and not f.startswith("meta.")]
    if bad:
        raise ConfigError(f"Unknown enrich field(s): {', '.join(bad)} (use tags, title, source or meta.NAME)")
    unknown = [f for f in fields if f.startswith("meta.") and f[5:] not in META_FIELDS]
    if unknown:
        made = "; ".join(f"meta.{name} ({', '.join(formats)})" for name, formats in META_FIELDS.items())
        raise ConfigError(f"No loader produces {', '.join(unknown)}: enrich with one of {made}. "
                          "(CSV columns and JSON keys differ per file: filter on them with --where meta.NAME.)")
    return fields


class KnowledgeBase:
    """Open with :meth:`open`; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path, manifest: Manifest, embedder: Embedder | None = None,
                 settings: Settings | None = None) -> None:
        from .settings import current

        self.path = path
        #: the settings resolved when the KB was opened; every part of it reads these
        self.settings = current(settings)
        self.manifest = manifest
        self.db = Database(path / "chunks.sqlite")
        self._embedder = embedder
        self._store: VectorStore | None = None
        #: the write generation (``chunks.sqlite``) the store in memory reflects; see :meth:`sync`
        self._generation = -1
        #: what opening or writing had to repair, for people (the CLI prints them, JSON carries them)
        self.notes: list[str] = []
        self._lock = threading.RLock()
        #: True while this process holds the write lock (inside :meth:`_writing`)
        self._writer_active = False
        self._listeners: list[ChunkListener] = []
        self._extensions: dict[str, Any] = {}
        #: what :meth:`wrap` installed: applied again whenever the embedder or store is rebuilt
        self._wrap_embedder: Callable[[Embedder], Embedder] | None = None
        self._wrap_store: Callable[[VectorStore], VectorStore] | None = None
        from .search.lexical import attach  # the BM25 index follows every chunk change (issue 3)

        attach(self)

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, create: bool = False, model: str | None = None,
             store: str | None = None, chunk_size: int | None = None, chunk_overlap: int | None = None,
             enrich: Sequence[str] | None = None, settings: Settings | None = None) -> KnowledgeBase:
        """Open the KB at ``path`` (default ``$LOCALKB_KB`` or ``./.localkb``); with ``create=True``, create
        it when there is none (a mistyped path with the default ``create=False`` raises ``KBNotFound`` and
        creates nothing).

        ``model``, ``store``, chunking and ``enrich`` are fixed when the KB is created and recorded in its
        manifest; giving a different model later raises ``ModelMismatch``. ``settings``: the resolved
        settings (default: the environment's and ``localkb.toml``'s now), kept as :attr:`settings`.

        Raises:
            ConfigError: a bad setting (named), a store other than the KB's.
        """
        from .settings import current

        settings = current(settings)
        folder = kb_dir(path, settings)
        if not (folder / MANIFEST).exists():
            if not create:
                raise KBNotFound(f"No knowledge base at {folder} (create one with: localkb ingest PATH --kb {folder})")
            created = cls._create(folder, model=model, store=store, chunk_size=chunk_size,
                                  chunk_overlap=chunk_overlap, enrich=enrich, settings=settings)
            if created is not None:
                return created
            # another process created it while this one waited for the lock: open theirs
        manifest = Manifest.load(folder)
        embedder = None
        if model is not None:
            from .embedders import load_embedder
            from .embedders.resolve import canonical, resolve_model

            if canonical(model) != manifest.model_id:
                manifest.check_model(resolve_model(model, settings=settings).id)  # fails before loading
                embedder = load_embedder(model, settings=settings)  # the same model, found another way: use it
        if store is not None and store_uri(store).split("://")[0] != manifest.store.split("://")[0]:
            raise ConfigError(
                f"This KB stores its vectors in '{manifest.store}'; it was created that way. "
                f"To move it, use: localkb migrate --kb {folder} --to {store_uri(store)}")
        kb = cls(folder, manifest, embedder, settings)
        kb._check_on_open()
        return kb

    @classmethod
    def _create(cls, folder: Path, *, model: str | None, store: str | None, chunk_size: int | None,
                chunk_overlap: int | None, enrich: Sequence[str] | None,
                settings: Settings) -> KnowledgeBase | None:
        """Create a KB under the write lock; None if another process created it first."""
        from .embedders import load_embedder
        from .ingest.chunking import DEFAULT_OVERLAP, DEFAULT_SIZE, ChunkSettings

        settings = settings.merged(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        embedder = load_embedder(model, settings=settings)
        chunking = ChunkSettings(
            settings.chunk_size or DEFAULT_SIZE,
            settings.chunk_overlap if settings.chunk_overlap is not None else DEFAULT_OVERLAP,
        )
        uri = store_uri(store, settings)
        from .registry import resolve, split_uri
        from .stores.base import STORES

        resolve("store", split_uri(uri)[0], STORES)  # fail on a misspelt store before creating anything
        enrich_fields = check_enrich(enrich)
        folder.mkdir(parents=True, exist_ok=True)
        lock = WriteLock(folder)
        lock.acquire(timeout=settings.lock_timeout)
        try:
            if (folder / MANIFEST).exists():
                return None
            spec = str(model or "")
            if spec and Path(spec).expanduser().exists():
                spec = str(Path(spec).expanduser().resolve())
            manifest = Manifest(
                model_id=embedder.id, model_backend=embedder.backend, dim=embedder.dim,
                normalize=embedder.normalize, model_spec=spec, store=uri, chunk_size=chunking.size,
                chunk_overlap=chunking.overlap, enrich=enrich_fields, localkb_version=__version__,
                extra={"model_graph": embedder.graph} if hasattr(embedder, "graph") else {},  # ONNX: fused/plain
            )
            kb = cls(folder, manifest, embedder, settings)
            _ = kb.store  # create the store's files before the manifest marks the KB as existing
            manifest.save(folder)
            return kb
        finally:
            lock.release()

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

                raw = load_embedder(self.manifest.model_spec or self.manifest.model_id)
                self.manifest.check_model(raw.id)
                self._embedder = self._wrap_embedder(raw) if self._wrap_embedder else raw
            return self._embedder

    @property
    def store(self) -> VectorStore:
        with self._lock:
            if self._store is None:
                from .stores.base import open_store

                generation = self.db.generation()  # read first: a write after it makes the next sync reload
                opened = open_store(self.manifest.store, self.manifest.dim, base_dir=str(self.path))
                self._store = self._wrap_store(opened) if self._wrap_store else opened
                self._generation = generation
            return self._store

    def sync(self, *, force: bool = False) -> bool:
        """Reload the vector store from disk if another process wrote since this one loaded it.

        Every write bumps a generation counter in ``chunks.sqlite`` when it starts and again once its
        vectors are durable; a long-running process (the server) calls this before each search and a
        writer calls it right after taking the write lock, so nobody searches or rewrites a stale index.
        A write that swapped the KB's model or index (``localkb tune --apply``) is followed: the manifest is
        read again and the store and embedder are rebuilt from it on next use. Returns True if anything
        was reloaded.
        """
        with self._lock:
            generation = self.db.generation()
            if generation == self._generation and not force:
                return False
            if self._follow_swap():
                return True
            if self._store is None:
                return False
            reload = getattr(self._store, "reload", None)
            if callable(reload):
                reload()
            else:  # a store without reload: open it again
                from .stores.base import open_store

                self._store.close()
                self._store = open_store(self.manifest.store, self.manifest.dim, base_dir=str(self.path))
            self._generation = generation
            return True

    def _follow_swap(self) -> bool:
        """If the manifest on disk names another model or index than this object holds, take it."""
        try:
            fresh = Manifest.load(self.path)
        except (LocalKBError, OSError):  # gone or unreadable: keep what is open; the next sync tries again
            return False
        held = self.manifest
        if (fresh.model_id, fresh.model_spec, fresh.store, fresh.dim) == \
                (held.model_id, held.model_spec, held.store, held.dim):
            return False
        if self._store is not None:
            self._store.close()
        self._store = None  # both rebuilt lazily from the new manifest
        self._embedder = None
        self.manifest = fresh
        self._generation = -1
        return True

    def _bump_generation(self) -> None:
        with self._lock:
            self._generation = self.db.bump_generation()

    def update_manifest(self, change: Callable[[Manifest], None]) -> bool:
        """Apply ``change`` to the manifest and save it under the write lock (a write made while reading,
        such as the calibration a first search measures). Under the lock the manifest is read again from
        disk, so another process's changes are kept. Returns False when it could not be saved now (another
        process is writing, or the KB is read-only): the change then holds in memory for this process.
        """
        with self._lock:
            change(self.manifest)
            if self._writer_active:  # this process is the writer: the lock is already ours
                self.manifest.save(self.path)
                return True
            lock = WriteLock(self.path)
            if not lock.try_acquire():
                return False
            try:
                fresh = Manifest.load(self.path)
                change(fresh)
                fresh.save(self.path)
                self.manifest = fresh
                return True
            except OSError:
                return False
            finally:
                lock.release()

    def wrap(self, *, embedder: Callable[[Embedder], Embedder] | None = None,
             store: Callable[[VectorStore], VectorStore] | None = None) -> None:
        """Replace the embedder and/or store by a wrapper of the current one (the server wraps both for
        thread safety), atomically with respect to every other use of them. The wrapper is applied again
        to whatever replaces them later (a model or index swapped by another process, see :meth:`sync`)."""
        with self._lock:
            if embedder is not None:
                current = self.embedder
                self._wrap_embedder = embedder
                self._embedder = embedder(current)
            if store is not None:
                opened = self.store
                self._wrap_store = store
                self._store = store(opened)

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
               progress: Callable[[str, int, int], None] | None = None, retag: bool = False) -> IngestReport:
        """Ingest files and folders idempotently. See ``ingest.pipeline`` for the crash-safety order.

        Files that cannot be read are listed in ``report.skipped``; every other file is still ingested.
        With ``prune`` (the default), documents under an ingested folder whose file is gone are removed.
        A document ingested again keeps its tags and gains ``tags``; ``retag`` sets exactly ``tags``.

        Raises:
            IngestError: no paths, or none of them exists (nothing is written).
        """
        from .ingest.pipeline import run_ingest

        limit = float(max_file_mb or self.settings.max_file_mb)
        with self._writing():
            report = run_ingest(self, paths, tags=tags, prune=prune, max_file_mb=limit, progress=progress,
                                retag=retag)
            if report.added or report.updated or report.removed:
                self._refresh_derived()
        report.notes[:0] = self.take_notes()
        if report.added or report.updated:
            from .embedders.resolve import language_note
            from .search.thresholds import corpus_language

            note = language_note(self.manifest.model_id, corpus_language(self))
            if note:
                report.notes.append(note)
            from .mapping.records import stale_map_notes

            report.notes += stale_map_notes(self.db)
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

    def take_notes(self) -> list[str]:
        """The repair notes gathered so far (and forget them)."""
        notes, self.notes = self.notes, []
        return notes

    def _check_on_open(self) -> None:
        """Make SQLite, the vector store and the lexical index agree, if no writer is busy (cheap when they do).

        A writer that was killed leaves its marker; a KB damaged by an older localkb (two writers at
        once) has fewer vectors than chunks. Either is repaired from ``chunks.sqlite`` and said in
        :attr:`notes`. While another process holds the write lock, differences are legitimate (it is
        half-way through a batch) and that writer checks them itself.
        """
        lock = WriteLock(self.path)
        if not lock.try_acquire():
            return
        try:
            interrupted = (self.path / DIRTY).exists()
            self.sync(force=interrupted)
            if interrupted or not self._counts_agree():
                self._repair_and_note(interrupted)
                self._bump_generation()
            self._refresh_lexical()
            (self.path / DIRTY).unlink(missing_ok=True)
        finally:
            lock.release()

    def _counts_agree(self) -> bool:
        return self.store.count() == self.db.chunk_count()

    def _refresh_lexical(self) -> None:
        from .search.lexical import lexical_index

        index = lexical_index(self)
        before = index.count()
        index.ensure_fresh()
        if index.count() != before:
            self.notes.append(f"Rebuilt the lexical index from chunks.sqlite: it held {before} chunks, "
                              f"the KB has {index.count()}.")

    def _repair_and_note(self, interrupted: bool) -> dict[str, int]:
        fixed = self.repair()
        self.notes.extend(getattr(self.store, "notes", []))  # e.g. an unreadable FAISS index set aside (issue 18)
        if any(fixed.values()):
            why = "an earlier write was interrupted" if interrupted else "the vector store and chunks.sqlite disagreed"
            self.notes.append(
                f"Repaired the KB ({why}): {fixed['reembedded']} missing vectors re-embedded from chunks.sqlite, "
                f"{fixed['orphan_vectors']} vectors without a chunk deleted"
                + (f", {fixed['chunks_without_vectors']} chunks forgotten (their documents will be re-ingested)"
                   if fixed["chunks_without_vectors"] else "") + ".")
        return fixed

    def repair(self) -> dict[str, int]:
        """Make the vector store match ``chunks.sqlite`` (see ``localkb.repair``); returns what was fixed."""
        from .repair import reconcile

        fixed = reconcile(self.db, self.store, lambda: self.embedder.embed)
        if fixed.added or fixed.removed:
            self.on_chunks_changed(added=fixed.added, removed=fixed.removed)
        return fixed.counts()

    # -- reading ------------------------------------------------------------------------------
    def search(self, query: str, *, k: int = 10, tags: Sequence[str] | None = None,
               min_score: float | str | None = None, mode: str | None = None,
               collapse_duplicates: bool | None = None, cluster: int | None = None,
               where: WhereSpec = None) -> SearchResult:
        """Search the KB. ``score``: higher is better (cosine similarity in dense mode).

        ``collapse_duplicates`` (default: on once ``dedup(apply=True)`` recorded groups) shows one chunk
        per near-duplicate group; ``cluster`` keeps only chunks of that cluster (see :meth:`cluster`);
        ``where`` filters on metadata (``"format=pdf"``, ``["pages>3"]``, ``{"author": "Ada"}``; see
        ``localkb.search.filters``), an unknown field raising ``FilterError``.
        """
        from .search.engine import search

        self.sync()
        return search(self, query, k=k, tags=tags, min_score=min_score, mode=mode,
                      collapse_duplicates=collapse_duplicates, cluster=cluster, where=where)

    # -- the KB as a map (localkb.mapping; docs/map.md) -----------------------------------------
    def similar(self, target: str | None = None, *, k: int = 5, text: str | None = None,
                mode: str = "dense") -> SimilarResult:
        """The ``k`` documents most like ``target`` (a document as ingested or a chunk id) or ``text``."""
        from .mapping.similar import similar
        from .search.lexical import lexical_index

        self.sync()  # read another process's writes, as search does
        return similar(self.db, self.store, target, k=k, text=text,
                       embedder=self.embedder if text is not None else None,
                       lexical=lexical_index(self) if mode == "hybrid" else None, mode=mode)

    def dedup(self, *, threshold: float | str = "auto", apply: bool = False,
              progress: Callable[[str, int, int], None] | None = None) -> DedupResult:
        """Near-duplicate chunk and document groups; ``apply`` records them so search collapses them."""
        from .mapping import records
        from .mapping.dedup import dedup

        if not apply:
            self.sync()
            return dedup(self.db, self.store, threshold=threshold, progress=progress)
        with self._writing():
            result = dedup(self.db, self.store, threshold=threshold, progress=progress)
            records.apply_groups(self.db, result.groups)
        result.action = "applied"
        return result

    def undo_dedup(self) -> dict[str, int]:
        """Forget every applied duplicate group (search shows every member again)."""
        from .mapping import records

        with self._writing():
            return records.undo_groups(self.db)

    def cluster(self, *, k: int | str = "auto", fresh: bool = False,
                progress: Callable[[str, int, int], None] | None = None) -> ClusterResult:
        """Topics over the stored vectors, labelled; each chunk's cluster id is stored."""
        from .mapping.cluster import check_k, cluster

        chunks = int(self.db.scalar("SELECT COUNT(DISTINCT chunk_id) FROM doc_chunks") or 0)
        if chunks:  # refused before the write lock, so a refused run changes nothing; an empty KB is refused
            check_k(k, chunks)  # inside, with its own message
        with self._writing():
            return cluster(self.db, self.store, k=k, fresh=fresh, progress=progress)

    def map_points(self, *, limit: int | None = None) -> MapPoints:
        """A 2-D projection (PCA) of the chunks, for the web page and ``cluster --plot``."""
        from .mapping.projection import MAX_POINTS, map_points

        self.sync()
        return map_points(self.db, self.store, limit=limit or MAX_POINTS)

    # -- separating what the model confuses (localkb.tuning; docs/tuning.md) ----------------------
    def audit(self, *, duplicates: bool = True) -> AuditReport:
        """Colliding near-miss terms (IBE/OBE) and near-duplicate chunks from different sources."""
        from .tuning.audit import audit

        return audit(self, duplicates=duplicates)

    def tune(self, **kwargs: Any) -> TuneReport:
        """Fine-tune this KB's embedder on its own chunks (see ``localkb.tuning.tune.tune``)."""
        from .tuning.tune import tune

        return tune(self, **kwargs)

    def ask(self, question: str, *, llm: LLM | str | None = None, k: int = 5,
            min_score: float | str | None = None, tags: list[str] | None = None, max_answer_tokens: int = 256,
            stream_cb: Callable[[str], None] | None = None, timeout: float = 120.0, threads: int | None = None,
            verify: bool = True, quote: bool = False) -> Answer:
        """Answer ``question`` from the KB with a local LLM, each sentence checked against its citations.

        ``llm``: an LLM, a URI, or None for the best provisioned model (asked again at every call, so a
        model provisioned meanwhile is used). The other arguments are those of ``localkb.rag.answer``;
        the KB's own embedder does the embedding half of the support check.
        """
        from .rag import answer

        return answer(self, question, llm=llm, k=k, min_score=min_score, tags=tags,
                      max_answer_tokens=max_answer_tokens, stream_cb=stream_cb, timeout=timeout,
                      threads=threads, embedder=self.embedder, verify=verify, quote=quote, settings=self.settings)

    def stats(self) -> dict[str, Any]:
        from .catalog import stats

        return stats(self)

    def documents(self, *, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        from .catalog import documents

        return documents(self, offset=offset, limit=limit)

    def document(self, doc_id: int) -> dict[str, Any] | None:
        """One document (source, format, title, size, tags, chunk count), or None."""
        from .catalog import document

        return document(self, doc_id)

    def show(self, ref: str | int) -> dict[str, Any]:
        """One stored document (by id, source or path: tags, format, title, metadata, chunk count) or one
        chunk (by id or an 8+ hex-digit prefix: text and every source). ``{"kind": "document" | "chunk", ...}``.

        Raises:
            DocumentNotFound: nothing is stored under ``ref`` (with close matches).
        """
        from .lookup import document_meta, find_chunk, find_documents, is_chunk_id

        value = str(ref).strip()
        if is_chunk_id(value) and not value.isdigit():
            record = self.get_chunk(find_chunk(self.db, value))
            assert record is not None
            return {"kind": "chunk", **record}
        doc = self.document(int(find_documents(self.db, value)[0]["id"]))
        assert doc is not None
        return {"kind": "document", **doc, "meta": document_meta(self.db, int(doc["id"]))}

    def chunks(self, ref: str | int) -> list[dict[str, Any]]:
        """The chunks of the document ``ref`` (id, source or path), in order: text, what was embedded, sources.

        Raises:
            DocumentNotFound: no such document (with close matches).
        """
        from .lookup import find_documents

        return self.document_chunks(int(find_documents(self.db, ref)[0]["id"]))

    def delete(self, refs: Sequence[str | int], *, dry_run: bool = False) -> DeleteReport:
        """Remove documents (by id, source, path, or every document under a folder) with their chunks,
        vectors and index entries, under the write lock. ``dry_run`` only says what would go.

        Raises:
            DocumentNotFound: one of ``refs`` names nothing (then nothing is removed).
        """
        from .ingest.pipeline import remove_document
        from .lookup import DeleteReport, chunks_only_in, find_documents

        found: dict[int, dict[str, Any]] = {}
        for ref in refs:  # every name is resolved before anything is removed
            found.update({int(d["id"]): d for d in find_documents(self.db, ref, folders=True)})
        report = DeleteReport(list(found.values()), chunks_only_in(self.db, list(found)), dry_run)
        if dry_run or not found:
            return report
        with self._writing():
            for doc_id in found:
                remove_document(self, doc_id)
            self.store.flush()
            self._refresh_derived()
        return report

    def document_count(self) -> int:
        """How many documents the KB holds."""
        return int(self.db.scalar("SELECT COUNT(*) FROM documents") or 0)

    def has_document(self, path: str | os.PathLike[str]) -> bool:
        """Is the file at ``path`` (resolved) stored as a document?"""
        return self.db.scalar("SELECT 1 FROM documents WHERE path=?",
                              (str(Path(path).expanduser().resolve()),)) is not None

    def last_cluster_run(self) -> dict[str, Any] | None:
        """The last ``cluster`` run (k, criterion, labelled clusters), or None."""
        from .mapping.records import last_cluster_run

        return last_cluster_run(self.db)

    def get_chunk(self, chunk_id: str) -> dict[str, Any] | None:
        from .catalog import get_chunk

        return get_chunk(self, chunk_id)

    def document_chunks(self, doc_id: int) -> list[dict[str, Any]]:
        from .catalog import document_chunks

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
    """Hold the write lock and the "write in progress" marker for the duration of a write.

    On entry, after the lock: reload the store if another process wrote (or died writing), bump the
    generation (readers elsewhere will reload), and repair if the store and SQLite disagree. On exit:
    flush the store, bump the generation again, remove the marker, release the lock.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.lock = WriteLock(kb.path)

    def __enter__(self) -> None:
        kb = self.kb
        self.lock.acquire(timeout=kb.settings.lock_timeout)
        kb._writer_active = True
        try:
            marker = kb.path / DIRTY
            interrupted = marker.exists()
            _ = kb.store
            kb.sync(force=interrupted)
            marker.touch()
            kb._bump_generation()
            if interrupted or not kb._counts_agree():
                kb._repair_and_note(interrupted)
        except BaseException:
            kb._writer_active = False
            self.lock.release()
            raise

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            # SQLite commits batch by batch, so even after an error what it holds matches the store in
            # memory: persist the store and the KB is consistent again.
            self.kb.store.flush()
            self.kb._bump_generation()
            (self.kb.path / DIRTY).unlink(missing_ok=True)
        finally:
            self.kb._writer_active = False
            self.lock.release()
