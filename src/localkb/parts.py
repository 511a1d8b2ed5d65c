"""What the search subsystems (engine, lexical index, thresholds, self-calibration) and the tuning
applications use of a knowledge base, each as the Protocol of exactly what it reads.

They are handed the KB's open parts (``opened.OpenedKB``, the base of ``kb.KnowledgeBase``) but know them
only as these Protocols: none of them imports ``kb.py`` or ``opened.py``, so the facade imports them
without an import circle (tests/architecture). Ingest (``ingest.pipeline.IngestTarget``) and the catalog
(a ``db.Database``) are given their collaborators explicitly instead.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .db import Database
    from .embedders import Embedder
    from .manifest import Manifest
    from .mapping.dedup import DedupResult
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
    the per-KB singletons and the chunk-change notifications."""

    @property
    def path(self) -> Path: ...

    def extension(self, name: str, factory: Callable[[Any], Any]) -> Any: ...

    def add_listener(self, listener: Callable[[Any, list[str], list[str]], None]) -> None: ...


class Calibrated(LexicalHost, Vectors, Protocol):
    """What measuring and keeping the cut-off calibration needs (``search.thresholds``): the chunks, the
    vectors, the lexical index (evidence scale), the manifest it is recorded in, saved under the write lock by ``update_manifest``."""

    @property
    def manifest(self) -> Manifest: ...

    def update_manifest(self, change: Callable[[Manifest], None]) -> bool: ...


class KBParts(Calibrated, Protocol):
    """All of one KB's parts, as a search reads them (``search.engine`` hands them on to the lexical
    index and the calibration): the above, the resolved settings and the KB's notes."""

    @property
    def settings(self) -> Settings: ...

    @property
    def notes(self) -> list[str]: ...

    def on_chunks_changed(self, added: list[str], removed: list[str]) -> None: ...


class KBReader(Calibrated, Protocol):
    """A KB as its applications (audit, tune) use it: the chunks, vectors and calibration, the folder and
    settings, and the facade's own operations they call back (search, dedup, sync, and applying a tuned
    model under the write lock).

    They are handed the facade and call back into it, but know it only as this Protocol, so the facade
    imports them lazily without an import circle (type-only imports included).
    """

    @property
    def path(self) -> Path: ...

    @property
    def settings(self) -> Settings: ...

    def sync(self, *, force: bool = False) -> bool: ...

    def search(self, query: str, *, k: int = 10, min_score: float | str | None = None) -> SearchResult: ...

    def dedup(self) -> DedupResult: ...

    def apply_tuned(self, embedder: Embedder, model_dir: Path, record: dict[str, Any], *,
                    progress: Callable[[int, int], None] | None = None) -> dict[str, Any]: ...
