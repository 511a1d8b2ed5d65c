"""Running one step of a search on another core while the caller does the next (plumbing).

A hybrid search embeds the query and searches the vector store with it (the encoder: ~1.5 ms with int8
ONNX, more with torch; FAISS: ~1 ms at 100k chunks) and scores it with BM25 (~1 ms at 100k chunks); neither
needs the other's result, and the encoders and FAISS release the GIL. So the engine hands the first to
:func:`beside`, which starts it on a worker thread and returns a callable that waits for it: on two cores
the two steps overlap.

Only one call at a time is handed to the worker: while it runs, another search (a server's other request)
embeds in its own thread as before, where the encoder's coalescing (``embedders.batching``) lets the two
share one encoder call — under load there is no idle core to overlap with, and queueing every search's
embedding behind one worker would undo that sharing. With one core, or the ``search_overlap`` setting off
(``LOCALKB_SEARCH_OVERLAP=off``), the call runs at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_POOL: ThreadPoolExecutor | None = None
_LOCK = threading.Lock()
_busy = False  # a call is on the worker


def _on_worker(fn: Callable[..., T], args: tuple[object, ...]) -> T:
    global _busy
    try:
        return fn(*args)
    finally:  # free before the result is set, so a caller that has it may hand off again at once
        with _LOCK:
            _busy = False


def beside(fn: Callable[..., T], *args: object, enabled: bool = True) -> Callable[[], T]:
    """Start ``fn(*args)`` on the worker thread; the returned callable waits for its result (and re-raises its
    exception). Runs ``fn`` at once when not ``enabled``, on a single core, or while the worker is busy."""
    global _POOL, _busy
    with _LOCK:
        hand_off = enabled and not _busy and (os.cpu_count() or 1) > 1
        if hand_off:
            _busy = True
            if _POOL is None:
                _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localkb-search")
    if hand_off:
        try:
            return _POOL.submit(_on_worker, fn, args).result  # type: ignore[union-attr]
        except RuntimeError:  # the interpreter is shutting down: no new threads
            with _LOCK:
                _busy = False
    result = fn(*args)
    return lambda: result
