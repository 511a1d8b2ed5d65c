"""What the subsystems (ingest, search, lexical index, thresholds, inspect) use of a knowledge base.

They are given the facade, but know it only as this Protocol: none of them imports ``kb.py``, so the
facade can import them without an import circle (tests/architecture). ``KnowledgeBase`` satisfies it.
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


class KBParts(Protocol):
    """The collaborators of one KB: its folder, manifest, SQLite file, vector store and embedder, the
    per-KB extensions (the lexical index, calibration) and the chunk-change notifications."""

    path: Path
    manifest: Manifest
    db: Database
    notes: list[str]
    settings: Settings

    @property
    def store(self) -> VectorStore: ...

    @property
    def embedder(self) -> Embedder: ...

    def extension(self, name: str, factory: Callable[[Any], Any]) -> Any: ...

    def add_listener(self, listener: Callable[[Any, list[str], list[str]], None]) -> None: ...

    def on_chunks_changed(self, added: list[str], removed: list[str]) -> None: ...

    def update_manifest(self, change: Callable[[Manifest], None]) -> bool: ...


class KBReader(KBParts, Protocol):
    """A KB as its applications (audit, tune) use it: the parts plus the facade's own read operations.

    They are handed the facade and call back into it, but know it only as this Protocol, so the facade
    imports them lazily without an import circle (type-only imports included).
    """

    def sync(self, *, force: bool = False) -> bool: ...

    def search(self, query: str, *, k: int = 10, min_score: float | str | None = None) -> SearchResult: ...

    def dedup(self) -> DedupResult: ...
