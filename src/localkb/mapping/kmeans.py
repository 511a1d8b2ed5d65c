"""k-means for ``cluster``: greedy k-means++ seeding, FAISS's Lloyd iterations, the best of ``NREDO`` runs.

FAISS seeds k-means with random chunks; on SQuAD dev and SQuADShifts new Wikipedia that lost 0.01–0.02 NMI
to scikit-learn's k-means++ (benchmarks/bench_map.py, section map-cluster). Seeding is done here, the way
scikit-learn does it (each new centre is the best of ``2 + ln k`` candidates drawn by squared distance), and
the iterations stay in FAISS, which is faster. Every run keeps its objective; the lowest wins.
"""
from __future__ import annotations

import numpy as np

#: k-means trains on at most this many chunks (then assigns all of them)
TRAIN_SAMPLE = 50_000
#: k-means++ draws its seeds from at most this many chunks
SEED_SAMPLE = 20_000
NITER = 100
NREDO = 10
SEED = 1234


def plus_plus(vectors: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeds (k, d) drawn from ``vectors`` (any norm; squared Euclidean distance)."""
    x = vectors if len(vectors) <= SEED_SAMPLE else vectors[rng.choice(len(vectors), SEED_SAMPLE, replace=False)]
    sq = (x ** 2).sum(axis=1)
    trials = 2 + int(np.log(k))
    centres = [int(rng.integers(len(x)))]
    nearest = np.maximum(sq + sq[centres[0]] - 2 * x @ x[centres[0]], 0)
    for _ in range(1, k):
        total = float(nearest.sum())
        if total <= 0:  # fewer distinct points than k: any unused point will do
            centres.append(int(rng.choice(np.setdiff1d(np.arange(len(x)), centres))))
            continue
        candidates = rng.choice(len(x), trials, p=nearest / total)
        dist = np.maximum(sq[None, :] + sq[candidates, None] - 2 * x[candidates] @ x.T, 0)
        pooled = np.minimum(nearest[None, :], dist)
        best = int(np.argmin(pooled.sum(axis=1)))
        centres.append(int(candidates[best]))
        nearest = pooled[best]
    return np.ascontiguousarray(x[centres], dtype=np.float32)


def kmeans(vectors: np.ndarray, k: int, init: np.ndarray | None = None, seed: int = SEED,
           nredo: int = NREDO) -> np.ndarray:
    """k-means centroids (k, d) of ``vectors``; ``init`` warm-starts one run instead of seeding ``nredo``."""
    import faiss

    rng = np.random.default_rng(seed)
    train = vectors if len(vectors) <= TRAIN_SAMPLE else vectors[rng.choice(len(vectors), TRAIN_SAMPLE, replace=False)]
    train = np.ascontiguousarray(train, dtype=np.float32)
    best: tuple[float, np.ndarray] | None = None
    for run in range(1 if init is not None else nredo):
        start = np.ascontiguousarray(init, dtype=np.float32) if init is not None else plus_plus(train, k, rng)
        km = faiss.Kmeans(train.shape[1], k, niter=NITER, nredo=1, seed=seed + run, verbose=False,
                          min_points_per_centroid=1, max_points_per_centroid=256)
        km.train(train, init_centroids=start)
        history = list(km.obj if km.obj is not None else [])
        objective = float(history[-1]) if history else 0.0
        if best is None or objective < best[0]:
            best = (objective, np.asarray(km.centroids, dtype=np.float32))
    assert best is not None
    return best[1]


def assign(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid (Euclidean, as k-means trained) of each vector."""
    out = np.empty(len(vectors), dtype=np.int64)
    half_norms = 0.5 * (centroids ** 2).sum(axis=1)
    for start in range(0, len(vectors), 8192):
        out[start:start + 8192] = np.argmax(vectors[start:start + 8192] @ centroids.T - half_norms, axis=1)
    return out


def warm_start(features: np.ndarray, previous: np.ndarray, k: int, seed: int = SEED) -> np.ndarray:
    """Initial centroids from a previous assignment (``-1`` = a chunk new since then): each old cluster's
    mean over its surviving chunks, so cluster ids keep their meaning in whatever space ``features`` is;
    an old cluster with no survivors is seeded k-means++-style."""
    init = np.zeros((k, features.shape[1]), dtype=np.float32)
    empty = []
    for c in range(k):
        rows = np.flatnonzero(previous == c)
        if len(rows):
            init[c] = features[rows].mean(axis=0)
        else:
            empty.append(c)
    if empty:
        init[empty] = plus_plus(features, len(empty), np.random.default_rng(seed))
    return init
