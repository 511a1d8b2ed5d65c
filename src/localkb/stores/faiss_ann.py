"""The FAISS store's approximate index: an inverted file (``IndexIVFFlat``) switched on by size.

Why IVF and not HNSW: FAISS's HNSW cannot ``remove_ids``, so deletes and upserts would need tombstones
and periodic rebuilds; an IVF index deletes and re-adds natively (``remove_ids`` with a hashtable direct
map), so localkb's upsert/delete semantics hold unchanged, and ``reconstruct`` still returns stored vectors.

Switching (``faiss://index?ann=auto|on|off&ann_threshold=N&nprobe=P``): below ``ann_threshold`` vectors
(default 50,000) the store stays exact (``IndexFlatIP``); at the first flush above it, the vectors are moved
into an IVF index trained on them (``nlist`` ≈ √n lists), and retrained when the store has grown 4× since.
The choice is recorded in ``DIR/ann.json`` (kind, nlist, nprobe, trained size); ``localkb stats`` reports
recall@10 against exact search on a sample of stored vectors (:func:`recall_at_10`).
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

DEFAULT_THRESHOLD = 50_000
#: the IVF index's codes (``codes=`` URI parameter): ``sq8`` keeps a quarter of the bytes in RAM, the exact
#: vectors on disk (``faiss_raw``), and re-scores ``RERANK`` × k candidates exactly; ``flat`` keeps float32
DEFAULT_CODES = "sq8"
RERANK = 3
RETRAIN_GROWTH = 4
#: a filtered search over at most this many allowed ids is exact over their vectors (IVF lists could miss them)
EXACT_FILTER = 20_000
#: ``ann=on`` trains its lists once the store holds this many vectors (exact until then)
MIN_TRAIN = 64


def nlist_for(n: int) -> int:
    """≈ √n lists, with at least 39 training points per list (FAISS's k-means minimum)."""
    return int(max(1, min(4096, math.sqrt(max(n, 1)), n // 39)))


def default_nprobe(nlist: int) -> int:
    """A tenth of the lists (at least 8): recall@10 0.974 against exact on 100k distinct real MiniLM
    vectors with 500 held-out real queries (316 lists, nprobe 32; a quarter of the lists gave 0.995 at
    2× the time; ``bench_ann``)."""
    return int(min(nlist, max(8, nlist // 10)))


def all_vectors(faiss: Any, index: Any) -> tuple[np.ndarray, np.ndarray]:
    """(int64 ids, float32 vectors) of every vector in a flat ``IndexIDMap2`` or an IVF index."""
    if hasattr(index, "id_map"):
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        vecs = faiss.rev_swig_ptr(faiss.downcast_index(index.index).get_xb(), index.ntotal * index.d)
        return ids, np.array(vecs, dtype=np.float32).reshape(index.ntotal, index.d)
    ids = ivf_ids(faiss, index)
    vecs = np.vstack([index.reconstruct(int(i)) for i in ids]) if ids.size else np.zeros((0, index.d), np.float32)
    return ids, vecs.astype(np.float32)


def ivf_ids(faiss: Any, index: Any) -> np.ndarray:
    invlists = index.invlists
    parts = []
    for lst in range(index.nlist):
        size = invlists.list_size(lst)
        if size:
            parts.append(np.array(faiss.rev_swig_ptr(invlists.get_ids(lst), size), dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def build_ivf(faiss: Any, ids: np.ndarray, vecs: np.ndarray, dim: int, codes: str = "flat") -> Any:
    """An IVF index (inner product) trained on ``vecs`` and holding them under ``ids``: ``IndexIVFFlat``
    (``codes="flat"``, 4 bytes a dimension) or ``IndexIVFScalarQuantizer`` 8-bit (``"sq8"``, 1 byte)."""
    nlist = nlist_for(len(ids))
    quantizer = faiss.IndexFlatIP(dim)
    if codes == "sq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10  # k-means iterations: training is the cost of switching on (or retraining)
    rng = np.random.default_rng(18)
    sample = vecs if len(vecs) <= 64 * nlist else vecs[rng.choice(len(vecs), 64 * nlist, replace=False)]
    index.train(np.ascontiguousarray(sample))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # remove_ids + reconstruct by id
    index.add_with_ids(np.ascontiguousarray(vecs), ids)
    index.own_fields = True
    quantizer.this.disown()
    return index


def flat_from(faiss: Any, ids: np.ndarray, vecs: np.ndarray, dim: int) -> Any:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vecs), ids)
    return index


def recall_at_10(faiss: Any, index: Any, nprobe: int, samples: int = 50) -> float | None:
    """recall@10 of the IVF search against exact search, queries = a seeded sample of stored vectors."""
    if not hasattr(index, "nprobe") or index.ntotal == 0:
        return None
    ids, vecs = all_vectors(faiss, index)
    exact = flat_from(faiss, ids, vecs, index.d)
    rng = np.random.default_rng(10)
    queries = vecs[rng.choice(len(vecs), min(samples, len(vecs)), replace=False)]
    k = min(10, len(ids))
    _, truth = exact.search(queries, k)
    _, got = index.search(queries, k, params=faiss.SearchParametersIVF(nprobe=nprobe))
    return float(np.mean([len(set(t) & set(g)) / k for t, g in zip(truth, got)]))


def read_meta(path: str) -> dict[str, Any]:
    try:
        data = json.loads(open(os.path.join(path, "ann.json"), encoding="utf-8").read())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_meta(path: str, data: dict[str, Any]) -> None:
    from ..disk import write_json

    write_json(os.path.join(path, "ann.json"), data)
