"""``/api/search``: the same options and the same JSON as ``localkb search --json``."""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from .context import ctx

router = APIRouter(prefix="/api", tags=["search"])

#: a finite number (NaN would silently drop every hit, inf every hit or none), 'auto' or 'none'
FiniteScore = Annotated[float, Field(allow_inf_nan=False)]
MinScore = FiniteScore | Literal["auto", "none"] | None


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=10_000)
    k: int = Field(5, ge=1, le=1000, description="Number of hits")
    tags: list[str] | None = Field(None, description="Only documents with any of these tags")
    min_score: MinScore = Field(None, description="Drop hits below this score: a number, 'auto' or 'none'")
    mode: str | None = Field(None, description="dense, lexical or hybrid (default: the KB's default)")


def run_search(request: Request, body: SearchRequest) -> dict[str, Any]:
    result = ctx(request).kb.search(body.query, k=body.k, tags=body.tags or None, min_score=body.min_score,
                                    mode=body.mode)
    return result.to_dict()


@router.post("/search", summary="Search the KB (SearchResult JSON, as `localkb search --json`)")
def search_post(request: Request, body: SearchRequest) -> dict[str, Any]:
    return run_search(request, body)


@router.get("/search", summary="Search the KB with query parameters (for curl and links)")
def search_get(request: Request,
               q: Annotated[str, Query(min_length=1, max_length=10_000, description="The query")],
               k: Annotated[int, Query(ge=1, le=1000)] = 5,
               tag: Annotated[list[str] | None, Query(description="Repeatable")] = None,
               min_score: Annotated[str | None, Query(description="A number, 'auto' or 'none'")] = None,
               mode: str | None = None) -> dict[str, Any]:
    parsed: MinScore = None
    if min_score is not None:
        lowered = min_score.strip().lower()
        if lowered in ("auto", "none"):
            parsed = lowered  # type: ignore[assignment]
        else:
            try:
                parsed = float(lowered)
            except ValueError:
                from ..errors import SearchError

                raise SearchError(f"min_score '{min_score}' is not a number, 'auto' or 'none'.") from None
            if not math.isfinite(parsed):
                from fastapi.exceptions import RequestValidationError

                raise RequestValidationError([{"loc": ("query", "min_score"), "type": "finite_number",
                                               "msg": f"min_score must be a finite number, 'auto' or 'none', "
                                                      f"not '{min_score}'"}])
    return run_search(request, SearchRequest(query=q, k=k, tags=tag, min_score=parsed, mode=mode))
