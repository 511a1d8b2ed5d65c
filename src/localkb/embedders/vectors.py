"""What every embedder backend does to its output: unit-length float32 rows."""
from __future__ import annotations

import numpy as np


def normalise(arr: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero), as a contiguous float32 array."""
    arr = np.asarray(arr, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(arr / norms)
