"""What one server process holds: its settings, the open KB made safe for threads, the LLM, the jobs.

Requests are served from a thread pool while an ingest job runs in its own thread, so the parts of the
KB that are not thread-safe are wrapped here, without changing the KB itself:

* the vector store (a FAISS index reallocates while vectors are added): every call under one lock;
  calls are short (the embedding happens before ``add``), so searches wait milliseconds, not seconds;
* the embedder (a tokenizer must not be used by two threads at once): searches share one instance,
  one call at a time, and queries that arrive together are embedded in one batch; the ingest worker
  embeds with its own instance, so a search never waits for an ingest batch to be embedded;
* the LLM: opened once, on first use, and shared (the llama.cpp backend serialises its own calls).
"""
from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from ..kb import KnowledgeBase
    from ..llm.base import LLM
    from ..settings import Settings

DEFAULT_MAX_UPLOAD_MB = 100.0
DEFAULT_MAX_JSON_MB = 1.0


@dataclass(frozen=True)
class ServerSettings:
    """Resolved once by ``create_app``; nothing in a request can change them."""

    kb_path: Path
    token: str | None = None
    #: server-side folders that ``POST /api/ingest/path`` may read (nothing else)
    upload_roots: tuple[Path, ...] = ()
    #: name → SQLAlchemy URL; the only databases the SQL endpoints can reach
    databases: dict[str, str] = field(default_factory=dict)
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    max_json_mb: float = DEFAULT_MAX_JSON_MB
    llm: str | None = None
    cors_origins: tuple[str, ...] = ()
    sql_audit: str | None = None

    @property
    def uploads_dir(self) -> Path:
        return self.kb_path / "uploads"


class LockedStore:
    """A vector store whose every call holds one lock (FAISS is not safe to search while it grows)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        with self._lock:
            self._inner.add(ids, vectors)

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None = None) -> Any:
        with self._lock:
            return self._inner.search(vector, k, allowed=allowed)

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            self._inner.delete(ids)

    def count(self) -> int:
        with self._lock:
            return int(self._inner.count())

    def ids(self) -> set[str]:
        with self._lock:
            return set(self._inner.ids())

    def flush(self) -> None:
        with self._lock:
            self._inner.flush()

    def reload(self) -> None:
        """Re-read the store from disk (the KB calls it when another process wrote, see ``KnowledgeBase.sync``)."""
        with self._lock:
            self._inner.reload()

    def close(self) -> None:
        with self._lock:
            self._inner.close()


class RoutedEmbedder:
    """Searches share ``shared``; the ingest worker thread uses its own instance.

    Concurrent search requests are embedded together (``embedders.batching.Coalescer``): while one call
    runs, new texts queue up, and the next caller embeds everything queued (up to
    :attr:`MAX_BATCH_TEXTS` texts) in one call — one forward pass for many short queries costs little
    more than for one — in arrival order, so no request starves. ``coalesce_embeds = false`` embeds each
    request alone, one at a time (the "before" of the server benchmark).
    """

    MAX_BATCH_TEXTS = 256

    def __init__(self, shared: Any, loader: Any) -> None:
        from ..embedders.batching import Coalescer

        self._shared = shared
        self._loader = loader
        self._private: Any = None
        self.worker: threading.Thread | None = None
        self._combine = Coalescer(lambda texts, batch_size: shared.embed(texts, batch_size=batch_size),
                                  max_texts=self.MAX_BATCH_TEXTS)
        # questions (search, similar --text, SQL examples) of a model that embeds them apart (e5: 'query: …')
        # are coalesced among themselves; every other model embeds them like any text
        own = getattr(shared, "embed_queries", None)
        self._combine_queries = self._combine if not callable(own) else Coalescer(
            lambda texts, batch_size: own(texts, batch_size=batch_size), max_texts=self.MAX_BATCH_TEXTS)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shared, name)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        if self.worker is not None and threading.current_thread() is self.worker:
            if self._private is None:
                self._private = self._loader()
            return self._private.embed(texts, batch_size=batch_size)
        return self._combine(texts, batch_size)

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Questions, embedded as the shared model wants them (``embedders.base.embed_queries``)."""
        return self._combine_queries(texts, batch_size)


def fresh_embedder(spec: str) -> Any:
    """A new embedder instance of its own (``load_embedder`` returns one shared instance per process)."""
    from ..embedders import load_embedder

    return load_embedder(spec, shared=False)


class ThreadSafeParts:
    """Wraps a KB's embedder and store for threads (see the module docstring), and wraps them again when
    the KB rebuilds them (another process swapped its model or index: ``localkb tune --apply``)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._worker: threading.Thread | None = None
        self.embedder: RoutedEmbedder | None = None
        kb.wrap(embedder=self._wrap_embedder, store=LockedStore)

    def _wrap_embedder(self, shared: Any) -> RoutedEmbedder:
        manifest = self._kb.manifest
        spec = (manifest.model_spec or manifest.model_id).removeprefix("local/")
        routed = RoutedEmbedder(shared, lambda: fresh_embedder(spec))
        routed.worker = self._worker
        self.embedder = routed
        return routed

    def set_worker(self, thread: threading.Thread) -> None:
        """The ingest worker thread: it embeds with a private model instance."""
        self._worker = thread
        if self.embedder is not None:
            self.embedder.worker = thread


def make_thread_safe(kb: KnowledgeBase) -> ThreadSafeParts:
    """Wrap ``kb``'s store and embedder (see the module docstring), now and whenever they are rebuilt."""
    return ThreadSafeParts(kb)


class LLMHolder:
    """The LLM for ask and SQL requests, shared between them.

    A configured model (``--llm`` / ``LOCALKB_LLM`` / ``llm`` in localkb.toml, or an LLM object) is opened
    once, on first use. Otherwise the best provisioned GGUF is looked up again at every request
    (``default_llm_uri``: the 1.5B before the 0.5B), so a model provisioned while the server runs is
    used from the next request on, without a restart; the model it replaces is closed once its running
    call has finished.
    """

    def __init__(self, llm: str | LLM | None, settings: Settings | None = None) -> None:
        from ..settings import current

        self._settings = current(settings)
        self._spec = llm
        self._llm: LLM | None = None if llm is None or isinstance(llm, str) else llm
        self._owned = self._llm is None
        self._opened_uri: str | None = None
        self._lock = threading.Lock()

    def uri(self) -> str:
        """The URI a request would use now; raises ``ModelNotFound`` when none is configured or provisioned."""
        if not self._owned and self._llm is not None:
            return str(getattr(self._llm, "uri", self._llm.model))
        from ..llm.gguf import default_llm_uri

        return default_llm_uri(self._spec if isinstance(self._spec, str) else None, self._settings)

    def label(self) -> str | None:
        """A display name without loading anything (None when no LLM is configured)."""
        try:
            uri = self.uri()
        except Exception:  # noqa: BLE001 - only a label for the overview
            return None
        return uri.rstrip("/").rsplit("/", 1)[-1].removesuffix(".gguf")

    def get(self) -> LLM:
        """The model for this request (re-resolved each time unless an LLM object was given)."""
        with self._lock:
            if not self._owned:
                assert self._llm is not None
                return self._llm
            uri = self.uri()
            if self._llm is not None and uri != self._opened_uri:
                _close_when_idle(self._llm)
                self._llm = None
            if self._llm is None:
                from ..llm.base import open_llm

                self._llm = open_llm(uri, settings=self._settings)
                self._opened_uri = uri
            return self._llm

    def close(self) -> None:
        with self._lock:
            if self._llm is not None and self._owned:
                self._llm.close()
            self._llm = None if self._owned else self._llm


def _close_when_idle(llm: LLM) -> None:
    """Close ``llm`` once a call in flight has finished (backends that serialise calls hold ``_lock``)."""
    lock = getattr(llm, "_lock", None)

    def close() -> None:
        if lock is not None:
            with lock:
                llm.close()
        else:
            llm.close()

    threading.Thread(target=close, name="localkb-llm-close", daemon=True).start()


def parse_databases(items: Sequence[str]) -> dict[str, str]:
    """``["music=sqlite:///m.db", ...]`` → ``{"music": "sqlite:///m.db"}``; a clear error otherwise."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not name or not url:
            raise ConfigError(f"Bad --db '{item}': use NAME=URL, e.g. music=sqlite:///music.db")
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"Bad database name '{name}': use letters, digits, '-' and '_'.")
        if name in out:
            raise ConfigError(f"Database name '{name}' given twice.")
        out[name] = url
    return out
