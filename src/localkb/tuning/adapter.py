"""Training the linear adapter (:mod:`localkb.embedders.adapter`) on frozen embeddings, with torch.

The same ranking objective as the fine-tune — each query must score its positive above every other
positive and negative of its batch (cross-entropy over scaled cosines) — plus ``REGULARISE`` × the
squared distance of ``W`` from the identity, so what the corpus does not mention keeps its geometry
(the forgetting check in benchmarks/bench_tune.py measures it).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

SCALE = 20.0
REGULARISE = 0.05


@dataclass
class AdapterResult:
    weight: np.ndarray
    bias: np.ndarray
    steps: int
    seconds: float
    stopped_by_budget: bool
    final_loss: float | None


def train_adapter(queries: np.ndarray, positives: np.ndarray, negatives: np.ndarray | None, *,
                  max_minutes: float, steps: int = 300, batch_size: int = 64, lr: float = 1e-3,
                  seed: int = 15) -> AdapterResult:
    """``W``, ``b`` mapping the frozen embeddings so queries rank their positives first."""
    import torch

    started = time.perf_counter()
    torch.set_num_threads(1)  # a 512 × 512 map: one thread is fastest, and leaves the other core alone
    torch.manual_seed(seed)
    dim = queries.shape[1]
    q, p = torch.from_numpy(queries), torch.from_numpy(positives)
    neg = torch.from_numpy(negatives) if negatives is not None else None
    weight = torch.nn.Parameter(torch.eye(dim))
    bias = torch.nn.Parameter(torch.zeros(dim))
    optimizer = torch.optim.Adam([weight, bias], lr=lr)
    eye = torch.eye(dim)
    generator = torch.Generator().manual_seed(seed)
    last, done, stopped = None, 0, False

    def mapped(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(x @ weight.T + bias, dim=1)

    for done in range(1, steps + 1):
        if time.perf_counter() - started > max_minutes * 60.0:
            stopped, done = True, done - 1
            break
        idx = torch.randperm(len(q), generator=generator)[:batch_size]
        candidates = mapped(p[idx]) if neg is None else torch.cat([mapped(p[idx]), mapped(neg[idx])])
        logits = SCALE * mapped(q[idx]) @ candidates.T
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(idx)))
        loss = loss + REGULARISE * ((weight - eye) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        last = float(loss.detach())
    return AdapterResult(weight.detach().numpy().copy(), bias.detach().numpy().copy(), done,
                         round(time.perf_counter() - started, 2), stopped, last)
