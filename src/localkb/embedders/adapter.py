"""A tuned linear adapter on a frozen embedder: ``normalise(base(x) @ W.T + b)``, behind the same Protocol.

For models that cannot be trained in-process (the packaged multilingual USE is numpy inference only),
``localkb tune`` trains ``W`` (``dim × dim``, starting at the identity) and ``b`` on the frozen
embeddings instead. A folder holds ``localkb-adapter.json`` (base model, id, recipe) and
``adapter.safetensors`` (no pickle).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..disk import write_json
from ..errors import ModelError
from .resolve import ModelRef
from .runtime import normalise

ADAPTER_INFO = "localkb-adapter.json"
ADAPTER_WEIGHTS = "adapter.safetensors"


def read_info(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / ADAPTER_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder} is not a readable adapter folder ({ADAPTER_INFO}): {exc}") from exc


def save_adapter(folder: Path, weight: np.ndarray, bias: np.ndarray, info: dict[str, Any]) -> None:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({"weight": np.ascontiguousarray(weight, dtype=np.float32),
               "bias": np.ascontiguousarray(bias, dtype=np.float32)}, str(folder / ADAPTER_WEIGHTS))
    write_json(folder / ADAPTER_INFO, info, indent=2)


class AdapterEmbedder:
    backend = "adapter"
    normalize = True

    def __init__(self, ref: ModelRef, base: Any) -> None:
        """``base``: the frozen embedder the adapter was trained on (its folder's ``base_spec``)."""
        from safetensors.numpy import load_file

        assert ref.path is not None
        self._base = base
        try:
            tensors = load_file(str(ref.path / ADAPTER_WEIGHTS))
        except (OSError, ValueError) as exc:
            raise ModelError(f"Cannot read the adapter weights in {ref.path}: {exc}") from exc
        self._weight, self._bias = tensors["weight"], tensors["bias"]
        if self._weight.shape != (self._base.dim, self._base.dim):
            raise ModelError(f"The adapter in {ref.path} is {self._weight.shape}, its base model is {self._base.dim}-d.")
        self.id = ref.id
        self.path = ref.path
        self.dim = self._base.dim
        self.max_tokens = self._base.max_tokens

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        base = self._base.embed(texts, batch_size=batch_size)
        return normalise(base @ self._weight.T + self._bias)

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Questions through the base model's own query path (e5: ``query: …``), then the adapter."""
        from .runtime import embed_queries

        return normalise(embed_queries(self._base, texts) @ self._weight.T + self._bias)

    def count_tokens(self, text: str) -> int:
        return self._base.count_tokens(text)
