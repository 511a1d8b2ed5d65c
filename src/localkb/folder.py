"""A KB folder: creating one (under the write lock, so two processes never both make it) and reading
what an existing one was built with, checked against what the caller asks for.

The facade (``kb.KnowledgeBase.open``) calls these; they know the folder, the manifest and the settings,
never the facade itself.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import ConfigError
from .lock import WriteLock
from .manifest import MANIFEST, Manifest
from .version import __version__

if TYPE_CHECKING:
    from .embedders import Embedder
    from .settings import Settings

DEFAULT_STORE = "faiss"
K = TypeVar("K")


def store_uri(store: str | None, settings: Settings | None = None) -> str:
    """The store URI for a new KB: ``faiss`` → ``faiss://index``; full URIs pass through."""
    from .settings import current
    from .stores.base import store_uri as uri_for

    return uri_for(str(store if store is not None else current(settings).store or DEFAULT_STORE))


def check_enrich(enrich: Sequence[str] | None) -> list[str]:
    """The ``enrich`` fields of a new KB: ``tags``, ``title``, ``source`` or ``meta.NAME``; ``ConfigError``
    for anything else. ``meta.NAME`` may name any metadata a loader records — ``author``, ``pages``,
    ``subject`` (``ingest.loaders.META_FIELDS``), a CSV column or a JSON key path, which exist per file —
    so it is checked against what was ingested: a name no document has is said in the ingest report's
    notes (``ingest.pipeline.enrich_notes``)."""
    from .ingest.loaders import META_FIELDS

    fields = list(enrich or [])
    bad = [f for f in fields if f not in ("tags", "title", "source")
           and not (f.startswith("meta.") and f[5:].strip())]
    if bad:
        made = ", ".join(f"meta.{name}" for name in META_FIELDS)
        raise ConfigError(f"Unknown enrich field(s): {', '.join(bad)} (use tags, title, source or meta.NAME: "
                          f"{made}, a CSV column or a JSON key)", fields=bad)
    return fields


def create(folder: Path, *, model: str | None, store: str | None, chunk_size: int | None,
           chunk_overlap: int | None, enrich: Sequence[str] | None, settings: Settings,
           open_new: Callable[[Manifest, Embedder, Settings], K]) -> K | None:
    """Create a KB in ``folder`` under the write lock; None if another process created it first.

    Everything that can be refused (the model, the store's name, chunking, ``enrich``) is checked before
    the folder is made. ``open_new(manifest, embedder, settings)`` opens the new KB and creates its store's
    files; only then is the manifest saved, which marks the folder as a KB.
    """
    from .embedders import load_embedder
    from .ingest.chunking import DEFAULT_OVERLAP, DEFAULT_SIZE, ChunkSettings
    from .registry import resolve, split_uri
    from .stores.base import STORES

    settings = settings.merged(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    embedder = load_embedder(model, settings=settings)
    chunking = ChunkSettings(
        settings.chunk_size or DEFAULT_SIZE,
        settings.chunk_overlap if settings.chunk_overlap is not None else DEFAULT_OVERLAP,
    )
    uri = store_uri(store, settings)
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
        kb = open_new(manifest, embedder, settings)  # creates the store's files first
        manifest.save(folder)
        return kb
    finally:
        lock.release()


def load(folder: Path, *, model: str | None, store: str | None,
         settings: Settings) -> tuple[Manifest, Embedder | None]:
    """The manifest of the KB in ``folder``, and the embedder when ``model`` names the KB's model another
    way (None: built from the manifest on first use).

    Raises:
        ModelMismatch: ``model`` is another model than the KB's (found before loading anything).
        ConfigError: ``store`` is another store than the KB's (with the ``localkb migrate`` to run).
    """
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
    return manifest, embedder
