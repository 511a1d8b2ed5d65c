"""The parts of one open KB: its folder, settings, manifest and ``chunks.sqlite``, the vector store and the
embedder (built on first use, reloaded after another process's write, rebuilt after a model swap), the
per-KB extensions (the lexical index, calibration) and the chunk-change listeners.

``kb.KnowledgeBase`` is this plus the operations every interface calls; ``writing`` (the write path)
works on this. The subsystems know it only as the narrow Protocols of ``parts`` (``Calibrated`` for a
search); none of them imports it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .db import Database
from .errors import LocalKBError
from .lock import WriteLock
from .manifest import Manifest

if TYPE_CHECKING:
    from .embedders import Embedder
    from .settings import Settings
    from .stores.base import VectorStore

#: callbacks run after chunks are added/removed (the lexical index subscribes here)
ChunkListener = Callable[["OpenedKB", list[str], list[str]], None]


class OpenedKB:
    """One KB's open parts (see the module docstring); open a KB with ``KnowledgeBase.open``."""

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
        #: True while this process holds the write lock (inside ``writing.Writing``)
        self.writer_active = False
        self._listeners: list[ChunkListener] = []
        self._extensions: dict[str, Any] = {}
        #: what :meth:`wrap` installed: applied again whenever the embedder or store is rebuilt
        self._wrap_embedder: Callable[[Embedder], Embedder] | None = None
        self._wrap_store: Callable[[VectorStore], VectorStore] | None = None
        from .search.lexical import attach  # the BM25 index follows every chunk change (issue 3)

        attach(self)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from .embedders import load_embedder

                raw = load_embedder(self.manifest.model_spec or self.manifest.model_id, settings=self.settings)
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

    def bump_generation(self) -> None:
        """Record a write of this process (its store is current): bump the generation others reload by."""
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
            if self.writer_active:  # this process is the writer: the lock is already ours
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

    def extension(self, name: str, factory: Callable[[OpenedKB], Any]) -> Any:
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

    def take_notes(self) -> list[str]:
        """The repair notes gathered so far (and forget them)."""
        notes, self.notes = self.notes, []
        return notes

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
