"""The KB as a picture: a 2-D PCA projection of (a sample of) its chunk vectors.

PCA (numpy: the top two eigenvectors of the covariance) is exact, deterministic and fast (100k × 384
in well under a second once the vectors are read). UMAP is not used: it is not installed here, and its
layouts change from run to run. At most ``MAX_POINTS`` chunks are drawn (a fixed random sample); the
result says how many of how many.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import records
from .data import Progress, VectorSource, load_chunks, load_vectors, snippet, texts

if TYPE_CHECKING:
    from ..db import Database

MAX_POINTS = 5000
SEED = 7


@dataclass
class MapPoints:
    #: {"id", "x", "y", "cluster", "source", "doc_id", "tags", "text"}
    points: list[dict[str, Any]]
    total: int
    clusters: list[dict[str, Any]] = field(default_factory=list)
    method: str = "pca"

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "total": self.total, "shown": len(self.points),
                "clusters": self.clusters, "points": self.points}


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates: the projection on the two main axes, each scaled to [-1, 1]."""
    if len(vectors) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    centred = vectors - vectors.mean(axis=0)
    _vals, vecs = np.linalg.eigh(centred.T @ centred)
    axes = vecs[:, ::-1][:, :2]
    xy = centred @ axes
    # a fixed sign per axis (eigenvectors' signs are arbitrary), so maps of the same KB agree
    xy *= np.where(np.sign(axes.sum(axis=0)) < 0, -1.0, 1.0)
    span = np.abs(xy).max(axis=0)
    return (xy / np.where(span > 0, span, 1.0)).astype(np.float32)


def map_points(db: Database, store: VectorSource, *, limit: int = MAX_POINTS,
               progress: Progress | None = None) -> MapPoints:
    """Points to draw: each chunk's position, cluster (when clustered), source, tags and a snippet."""
    table = load_chunks(db)
    n = len(table.ids)
    rows = np.arange(n)
    if n > limit:
        rows = np.sort(np.random.default_rng(SEED).choice(n, limit, replace=False))
    ids = [table.ids[i] for i in rows]
    xy = pca_2d(load_vectors(store, ids, progress))
    assignment = records.cluster_assignment(db)
    text_of = texts(db, ids)
    points = []
    for (x, y), row, cid in zip(xy.tolist(), rows.tolist(), ids):
        doc = table.docs[row][0] if table.docs[row] else None
        points.append({"id": cid, "x": round(x, 4), "y": round(y, 4), "cluster": assignment.get(cid),
                       "source": table.source_of(row), "doc_id": doc,
                       "tags": table.tags.get(doc, []) if doc is not None else [],
                       "text": snippet(text_of.get(cid, ""), 200)})
    run = records.last_cluster_run(db)
    return MapPoints(points, n, list(run.get("clusters", [])) if run else [])
