"""``/api/similar``, ``/api/dedup``, ``/api/clusters``, ``/api/map``: the KB as a map (docs/map.md).

The same library calls and the same JSON as ``localkb similar|dedup|cluster --json``. Reading is free;
``POST /api/clusters`` (re)computes the clusters and stores each chunk's id, like the CLI. Applying
duplicate groups stays a CLI action (``localkb dedup --apply``), so the page cannot hide text by accident.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from .context import ctx

router = APIRouter(prefix="/api", tags=["map"])


class SimilarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str | None = Field(None, description="A document source as ingested, or a chunk id")
    text: str | None = Field(None, max_length=10_000, description="Or: documents similar to this text")
    k: int = Field(5, ge=1, le=100)
    mode: Literal["dense", "hybrid"] = "dense"


class ClusterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int | Literal["auto"] = Field("auto", description="'auto' or a number of clusters ≥ 2")
    fresh: bool = Field(False, description="Start over instead of updating the previous clusters")


@router.post("/similar", summary="Documents most like a document, a chunk or a text (`localkb similar --json`)")
def similar_post(request: Request, body: SimilarRequest) -> dict[str, Any]:
    return ctx(request).kb.similar(body.target, k=body.k, text=body.text, mode=body.mode).to_dict()


@router.get("/similar", summary="More like this: documents most like a document or chunk")
def similar_get(request: Request, target: Annotated[str, Query(min_length=1, description="source or chunk id")],
                k: Annotated[int, Query(ge=1, le=100)] = 5,
                mode: Literal["dense", "hybrid"] = "dense") -> dict[str, Any]:
    return ctx(request).kb.similar(target, k=k, mode=mode).to_dict()


@router.get("/dedup", summary="Near-duplicate groups with diffs (`localkb dedup --json`; changes nothing)")
def dedup(request: Request, threshold: Annotated[str, Query(description="'auto' or a cosine in [0, 1]")] = "auto"
          ) -> dict[str, Any]:
    from ..errors import MapError

    value: float | str = "auto"
    if threshold.strip().lower() != "auto":
        try:
            value = float(threshold)
        except ValueError:
            raise MapError(f"threshold '{threshold}' is not 'auto' or a number in [0, 1].") from None
    return ctx(request).kb.dedup(threshold=value).to_dict()


@router.get("/clusters", summary="The last cluster run: k, criterion, labels, terms, sizes")
def clusters(request: Request) -> dict[str, Any]:
    run = ctx(request).kb.last_cluster_run()
    if run is None:
        return {"k": 0, "criterion": None, "clusters": []}
    return {"k": run["k"], "criterion": run.get("criterion"), "clusters": run.get("clusters", [])}


@router.post("/clusters", summary="Cluster the chunks now and store their ids (`localkb cluster --json`)")
def cluster_post(request: Request, body: ClusterRequest) -> dict[str, Any]:
    return ctx(request).kb.cluster(k=body.k, fresh=body.fresh).to_dict()


@router.get("/map", summary="2-D positions (PCA) of the chunks, with cluster, source, tags and a snippet")
def map_points(request: Request, limit: Annotated[int, Query(ge=10, le=20_000)] = 5000) -> dict[str, Any]:
    return ctx(request).kb.map_points(limit=limit).to_dict()
