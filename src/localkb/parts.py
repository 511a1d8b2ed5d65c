"""What the search subsystems (engine, lexical index, thresholds, self-calibration), the answer path and
the applications built on the facade (audit, tune, the evaluation harnesses) use of a knowledge base, each
as the Protocol of exactly what it reads.

They are handed the KB's open parts (``opened.OpenedKB``, the base of ``kb.KnowledgeBase``) but know them
only as these Protocols: none of them imports ``kb.py`` or ``opened.py``, so the facade imports them
without an import circle (tests/architecture). Ingest (``ingest.pipeline.IngestTarget``) and the catalog
(a ``db.Database``) are given their collaborators explicitly instead.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .db import Database
    from .embedders import Embedder
    from .llm.base import LLM
    from .manifest import Manifest
    from .mapping.dedup import DedupResult
    from .rag.result import Answer
    from .results import SearchResult
    from .settings import Settings
    from .stores.base import VectorStore


class ChunkRows(Protocol):
    """``chunks.sqlite`` alone (the chunk-language samples of ``search.thresholds``)."""

    @property
    def db(self) -> Database: ...


class Vectors(Protocol):
    """The vector store and the embedder that fills it (``search.selfcal``: best dense scores)."""

    @property
    def store(self) -> VectorStore: ...

    @property
    def embedder(self) -> Embedder: ...


class LexicalHost(ChunkRows, Protocol):
    """What the BM25 index is built in and follows (``search.lexical``): the KB folder and its chunks,
    its resolved settings, the per-KB singletons and the chunk-change notifications."""

    @property
    def path(self) -> Path: ...

    @property
    def settings(self) -> Settings: ...

    def extension(self, name: str, factory: Callable[[Any], Any]) -> Any: ...

    def add_listener(self, listener: Callable[[Any, list[str], list[str]], None]) -> None: ...


class Calibrated(LexicalHost, Vectors, Protocol):
    """What measuring and keeping the cut-off calibration needs (``search.thresholds``), and so what a search
    reads (``search.engine``): the chunks, the vectors, the lexical index (evidence scale), the settings, and
    the manifest the calibration is recorded in, saved under the write lock by ``update_manifest``."""

    @property
    def manifest(self) -> Manifest: ...

    def update_manifest(self, change: Callable[[Manifest], None]) -> bool: ...


class Searchable(Protocol):
    """The facade's own search, as what builds on it calls it (``rag.answer``)."""

    def search(self, query: str, *, k: int = 10, tags: Sequence[str] | None = None,
               min_score: float | str | None = None, mode: str | None = None) -> SearchResult: ...


class SearchedKB(Calibrated, Searchable, Protocol):
    """A KB as the harnesses that search it and read its calibration use it (``search.report``, and
    audit/tune through ``KBReader``)."""


class Answers(Protocol):
    """A KB as the answer harness asks it (``rag.evaluate``): its settings and the facade's ``ask``."""

    @property
    def settings(self) -> Settings: ...

    def ask(self, question: str, *, llm: LLM | str | None = None, k: int = 5, max_answer_tokens: int = 256,
            quote: bool = False) -> Answer: ...


class KBReader(SearchedKB, Protocol):
    """A KB as its applications (audit, tune) use it: the chunks, vectors and calibration, the folder and
    settings, and the facade's own operations they call back (search, dedup, sync, and applying a tuned
    model under the write lock).

    They are handed the facade and call back into it, but know it only as this Protocol, so the facade
    imports them lazily without an import circle (type-only imports included).
    """

    def sync(self, *, force: bool = False) -> bool: ...

    def dedup(self) -> DedupResult: ...

    def apply_tuned(self, embedder: Embedder, model_dir: Path, record: dict[str, Any], *,
                    progress: Callable[[int, int], None] | None = None) -> dict[str, Any]: ...
