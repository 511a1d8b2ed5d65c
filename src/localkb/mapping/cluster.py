"""``cluster``: topics over the vectors the KB already stores, labelled with their distinctive words.

k-means (``mapping.kmeans``: k-means++ seeds, FAISS iterations, the best of ``NREDO`` runs) on each chunk's
dense vector beside a lexical one (``mapping.features``: TF-IDF over the KB's tokenizer, reduced by SVD).
``k="auto"`` tries each k of ``auto_grid(n)`` and keeps the one with the best mean silhouette (cosine)
on a fixed sample of at most ``SILHOUETTE_SAMPLE`` chunks — the criterion is named in the result.
Labels: c-TF-IDF (``mapping.labels``). Each chunk's cluster id is stored (``mapping.records``).

Re-running after an ingest *updates*: k-means starts from the previous clusters (each one's mean over
its surviving chunks) with the same k, so cluster ids keep their meaning; the result says how many chunks are new or gone. ``fresh=True``
(or a different ``k``) starts over, and says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MapError
from . import records
from .data import (
    Progress,
    VectorSource,
    load_chunks,
    load_vectors,
    require_documents,
    snippet,
    texts,
)
from .features import cluster_features
from .kmeans import assign, kmeans, warm_start
from .labels import class_terms, label

if TYPE_CHECKING:
    from ..db import Database

SILHOUETTE_SAMPLE = 2000
#: under auto, each candidate k is fitted (one restart) on at most this many chunks; the chosen k is then
#: fitted on all of them with ``NREDO`` restarts
CHOOSE_SAMPLE = 10_000
MAX_AUTO_K = 40
EXAMPLES = 3
SEED = 1234


@dataclass
class Cluster:
    id: int
    label: str
    terms: list[str]
    size: int
    #: chunks nearest the centroid: {"chunk_id", "source", "text"}
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "terms": self.terms, "size": self.size,
                "examples": self.examples}


@dataclass
class ClusterResult:
    k: int
    criterion: str
    clusters: list[Cluster]
    #: what k-means ran on (dense ⊕ lexical, or dense alone and why)
    features: str
    #: "new" (first run), "updated" (warm start from the last run) or "restarted" (asked or k changed)
    run: str
    note: str
    chunks: int
    #: per k tried under auto: its silhouette
    scores: dict[int, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "criterion": self.criterion, "features": self.features, "run": self.run, "note": self.note,
                "chunks": self.chunks, "scores": {str(k): round(v, 4) for k, v in self.scores.items()},
                "clusters": [c.to_dict() for c in self.clusters]}


def auto_grid(n: int) -> list[int]:
    """The k values ``auto`` tries for ``n`` chunks: 2…10, then every few up to min(40, √n·2, n/3)."""
    top = int(min(MAX_AUTO_K, max(2, 2 * np.sqrt(n)), max(2, n // 3)))
    grid = [k for k in range(2, min(top, 10) + 1)]
    grid += list(range(12, top + 1, 2 if top <= 20 else 4))
    return sorted(set(grid)) or [2]


def choose_k(vectors: np.ndarray, progress: Progress | None = None) -> tuple[int, dict[int, float], np.ndarray]:
    """The k of ``auto_grid`` with the best silhouette (cosine) on a fixed sample, and its centroids."""
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(SEED)
    n = len(vectors)
    sample = rng.choice(n, SILHOUETTE_SAMPLE, replace=False) if n > SILHOUETTE_SAMPLE else np.arange(n)
    fit = vectors[np.sort(rng.choice(n, CHOOSE_SAMPLE, replace=False))] if n > CHOOSE_SAMPLE else vectors
    scores: dict[int, float] = {}
    grid = auto_grid(n)
    for done, k in enumerate(grid, 1):
        labels = assign(vectors[sample], kmeans(fit, k, nredo=1))
        if len(set(labels.tolist())) > 1:
            scores[k] = float(silhouette_score(vectors[sample], labels, metric="cosine"))
        if progress:
            progress("choose k", done, len(grid))
    if not scores:
        raise MapError("These chunks do not separate into clusters (all vectors are alike).")
    best = max(scores, key=lambda k: (scores[k], -k))
    return best, scores, kmeans(vectors, best)


def check_k(k: int | str, chunks: int) -> None:
    """Refuse a ``k`` that cannot work for ``chunks`` chunks (cheap: the KB facade calls it before it takes
    the write lock, so a refused run changes nothing on disk)."""
    if k != "auto" and (not isinstance(k, int) or k < 2):
        raise MapError(f"--k must be 'auto' or a whole number ≥ 2, not {k!r}.")
    if k != "auto" and int(k) > chunks:
        raise MapError(f"--k {k} is more than the {chunks} chunks of this KB.")


def cluster(db: Database, store: VectorSource, *, k: int | str = "auto", fresh: bool = False,
            progress: Progress | None = None) -> ClusterResult:
    """Cluster the KB's chunks, label the clusters and store each chunk's cluster id.

    Raises:
        MapError: k < 2 or more than the chunks, an empty or one-document KB, fewer than 3 chunks.
    """
    table = load_chunks(db)
    require_documents(table, "cluster")
    n = len(table.ids)
    if n < 3:
        raise MapError(f"Clustering needs at least 3 chunks; this KB has {n}.")
    check_k(k, n)
    from ..search.tokenizer import tokenize

    text_of = texts(db, table.ids)
    docs = [text_of.get(i, "") for i in table.ids]
    tokens = [tokenize(d) for d in docs]  # once: the lexical half and the labels both read them
    vectors, described = cluster_features(load_vectors(store, table.ids, progress), docs, tokens)
    previous = records.last_cluster_run(db)
    old = records.cluster_assignment(db)
    old_ids = set(old)
    scores: dict[int, float] = {}
    survivors = old_ids & set(table.ids)
    usable = (previous is not None and not fresh and survivors
              and (k == "auto" or int(k) == int(previous["k"])) and int(previous["k"]) <= n)
    if usable and previous is not None:
        chosen = int(previous["k"])
        before = np.asarray([old.get(i, -1) for i in table.ids], dtype=np.int64)
        centroids = kmeans(vectors, chosen, init=warm_start(vectors, before, chosen))
        new = len(set(table.ids) - old_ids)
        gone = len(old_ids - set(table.ids))
        run, note = "updated", (f"updated the previous run's {chosen} clusters (warm start from them, ids kept): "
                                f"{new} new chunks, {gone} gone; use --fresh to start over")
        criterion = str(previous.get("criterion", "")) + " (k kept from the previous run)"
    else:
        if k == "auto":
            chosen, scores, centroids = choose_k(vectors, progress)
            criterion = (f"auto: k={chosen}, the best mean silhouette (cosine, {min(n, SILHOUETTE_SAMPLE)} sampled "
                         f"chunks) of k in {auto_grid(n)}: {scores[chosen]:.3f}")
        else:
            chosen, criterion = int(k), f"given: k={k}"
            centroids = kmeans(vectors, chosen)
        run = "new" if previous is None else "restarted"
        note = "first run" if previous is None else "started over: " + ("--fresh given" if fresh else "k changed")
    labels = assign(vectors, centroids)
    if run != "updated":  # number clusters by size, largest first
        order = np.argsort(-np.bincount(labels, minlength=chosen), kind="stable")
        remap = np.empty(chosen, dtype=np.int64)
        remap[order] = np.arange(chosen)
        labels, centroids = remap[labels], centroids[order]
    members = [np.flatnonzero(labels == c) for c in range(chosen)]
    terms = class_terms([[docs[i] for i in rows] for rows in members],
                        tokens_by_cluster=[[tokens[i] for i in rows] for rows in members])
    clusters = []
    for c, rows in enumerate(members):
        near: list[int] = rows[np.argsort(-(vectors[rows] @ centroids[c]))[:EXAMPLES]].tolist() if len(rows) else []
        clusters.append(Cluster(c, label(terms[c]), [t for t, _ in terms[c]], int(len(rows)),
                                [{"chunk_id": table.ids[i], "source": table.source_of(i),
                                  "text": snippet(text_of.get(table.ids[i], ""))} for i in near]))
    result = ClusterResult(chosen, criterion, clusters, described, run, note, n, scores)
    records.save_clusters(db, {cid: int(c) for cid, c in zip(table.ids, labels)},
                          {"k": chosen, "criterion": criterion, "features": described,
                           "clusters": [{"id": c.id, "label": c.label, "terms": c.terms, "size": c.size}
                                        for c in clusters]})
    return result
