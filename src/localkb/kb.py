"""``KnowledgeBase``: the facade every interface (CLI, HTTP, Python) calls.

A KB is one folder::

    manifest.json    how it was built (model, dimension, store, chunking, enrichment)
    chunks.sqlite    documents, chunks, sources and tags: the source of truth
    index/           the vector store's files (faiss://index or chroma://index), derived and rebuildable
    lexical/         the BM25 index, derived and rebuildable

Creating and opening the folder is ``folder``'s; the open parts (store, embedder, reloading them after
another process's write) are ``opened``'s; the write path (the write lock, the marker, repairs, what ingest
and delete do around the pipeline) is ``writing``'s. This class is the operations every interface calls,
each wiring those parts into a subsystem; none of them imports it.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import folder as kb_folder
from . import writing
from .config import kb_dir
from .errors import KBNotFound
from .manifest import MANIFEST, Manifest
from .opened import OpenedKB
from .results import IngestReport, SearchResult

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
    from .tuning.audit import AuditReport
    from .tuning.tune import TuneReport


class KnowledgeBase(OpenedKB):
    """Open with :meth:`open`; use as a context manager or call :meth:`close`."""

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

            def open_new(manifest: Manifest, embedder: Embedder, resolved: Settings) -> KnowledgeBase:
                kb = cls(folder, manifest, embedder, resolved)
                _ = kb.store  # create the store's files before the manifest marks the KB as existing
                return kb

            created = kb_folder.create(folder, model=model, store=store, chunk_size=chunk_size,
                                       chunk_overlap=chunk_overlap, enrich=enrich, settings=settings,
                                       open_new=open_new)
            if created is not None:
                return created
            # another process created it while this one waited for the lock: open theirs
        manifest, embedder = kb_folder.load(folder, model=model, store=store, settings=settings)
        kb = cls(folder, manifest, embedder, settings)
        writing.check_on_open(kb)
        return kb

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        return writing.ingest(self, paths, tags=tags, prune=prune, max_file_mb=max_file_mb, progress=progress,
                              retag=retag)

    def delete_document(self, doc_id: int) -> bool:
        """Remove the document ``doc_id`` (see :meth:`delete`); False when there is none."""
        return writing.delete_documents(self, [doc_id]) == 1

    def _writing(self) -> writing.Writing:
        return writing.Writing(self)

    def repair(self) -> dict[str, int]:
        """Make the vector store match ``chunks.sqlite`` (see ``localkb.repair``) under the write lock;
        returns what was fixed."""
        return writing.repair_under_lock(self)

    def compact(self) -> dict[str, Any]:
        """Merge the lexical index into one segment without tombstones, under the write lock (see
        ``localkb.writing.compact``); its segments, tombstones and bytes before and after."""
        return writing.compact(self)

    def apply_tuned(self, embedder: Embedder, model_dir: Path, record: dict[str, Any], *,
                    progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Re-embed the KB with a tuned model and swap its index in one step, under the write lock (what
        ``tune(apply=True)`` does; see ``localkb.tuning.apply``); what was done."""
        return writing.apply_tuned(self, embedder, model_dir, record, progress=progress)

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

        return stats(self.db, self.store, self.manifest, self.path)

    def documents(self, *, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        from .catalog import documents

        return documents(self.db, offset=offset, limit=limit)

    def document(self, doc_id: int) -> dict[str, Any] | None:
        """One document (source, format, title, size, tags, chunk count), or None."""
        from .catalog import document

        return document(self.db, doc_id)

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
        from .lookup import DeleteReport, chunks_only_in, find_documents

        found: dict[int, dict[str, Any]] = {}
        for ref in refs:  # every name is resolved before anything is removed
            found.update({int(d["id"]): d for d in find_documents(self.db, ref, folders=True)})
        report = DeleteReport(list(found.values()), chunks_only_in(self.db, list(found)), dry_run)
        if dry_run or not found:
            return report
        writing.delete_documents(self, list(found))
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

        return get_chunk(self.db, chunk_id)

    def document_chunks(self, doc_id: int) -> list[dict[str, Any]]:
        from .catalog import document_chunks

        return document_chunks(self.db, doc_id)
