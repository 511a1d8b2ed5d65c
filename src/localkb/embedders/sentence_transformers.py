"""sentence-transformers models loaded from a local folder only (``local_files_only=True``)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ModelError
from .batching import Coalescer
from .resolve import ModelRef
from .runtime import embed_threads


class STEmbedder:
    backend = "sentence-transformers"
    normalize = True

    def __init__(self, ref: ModelRef) -> None:
        import torch  # lazy: seconds to import
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would pollute --json output on stderr

        # 2 cores oversubscribe easily: an explicit thread count is faster than torch's default.
        torch.set_num_threads(embed_threads())
        try:
            self._model = SentenceTransformer(str(ref.path), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - translate whatever the loader raised
            raise ModelError(f"Cannot load model {ref.id} from {ref.path}: {exc}") from exc
        self.id = ref.id
        self.path = ref.path
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ModelError(f"Model {ref.id} at {ref.path} does not say its embedding dimension.")
        self.dim = int(dim)
        # the window holds [CLS] … [SEP]: what a chunk may use is the rest (254 of MiniLM's 256)
        tokenizer = self._model.tokenizer
        specials = int(tokenizer.num_special_tokens_to_add()) if hasattr(tokenizer, "num_special_tokens_to_add") else 2
        self.max_tokens = int(self._model.max_seq_length or 256) - specials
        # one encode at a time (the server calls from several threads); concurrent calls share one encode
        self._combine = Coalescer(self._encode)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._combine(texts, batch_size)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(out, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` (no [CLS]/[SEP]), as the model's tokenizer splits it."""
        return len(self._model.tokenizer.tokenize(text))
