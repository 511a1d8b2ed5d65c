"""Helpers every embedder backend shares, kept apart from ``base`` (which imports the backends) so that a
backend importing them makes no import circle."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..settings import Settings


def normalise(arr: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows left as they are), float32, C-contiguous."""
    arr = np.asarray(arr, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(arr / norms)


def embed_threads(settings: Settings | None = None) -> int:
    """Threads an embedder's encoder may use: the ``embed_threads`` setting (``LOCALKB_EMBED_THREADS``,
    validated), else 2 (or fewer CPUs): on two cores oversubscribed threads make encoders slower, not faster."""
    from ..settings import current

    threads = current(settings).embed_threads
    return threads if threads is not None else min(2, os.cpu_count() or 1)


class EmbedsTexts(Protocol):
    """All :func:`embed_queries` needs of an embedder (an ``Embedder``, or a caller's narrower protocol)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def embed_queries(embedder: EmbedsTexts, texts: Sequence[str]) -> np.ndarray:
    """Search queries, embedded as the model wants them. A model trained with asymmetric prefixes (e5:
    ``query:`` / ``passage:``) has an ``embed_queries`` method beside the Protocol's ``embed`` (which embeds
    stored texts); every other model embeds a query like any text."""
    own = getattr(embedder, "embed_queries", None)
    return own(list(texts)) if callable(own) else embedder.embed(list(texts))
