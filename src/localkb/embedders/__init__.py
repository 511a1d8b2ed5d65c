"""Embedders: a tiny Protocol (``embed(texts) -> float32 (n, d)``) and offline model resolution."""
from __future__ import annotations

from .base import Embedder, load_embedder

__all__ = ["Embedder", "load_embedder"]
