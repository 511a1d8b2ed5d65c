"""``/api/search``: the same options and the same JSON as ``localkb search --json``.

Every value is parsed by the library's own parsers (``thresholds.parse_min_score``,
``search.filters.parse_where``), so the CLI, HTTP and Python accept and refuse the same values with
the same message; unknown JSON keys are refused (422 naming the key).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from .context import ctx

router = APIRouter(prefix="/api", tags=["search"])

#: a number, 'auto' or 'none' — parsed by ``thresholds.parse_min_score`` (NaN/inf: 422)
MinScore = float | str | None
#: ``["format=pdf", "pages>3"]`` or ``{"format": "pdf", "tag": ["a", "b"]}`` (``search.filters``)
Where = list[str] | dict[str, str | int | float | list[str | int | float]] | None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=10_000)
    # below 1 is refused by the library (``kb.search``: 400, the CLI's and Python's message)
    k: int = Field(5, le=1000, description="Number of hits (1 to 1000)")
    tags: list[str] | None = Field(None, description="Only documents with any of these tags")
    min_score: MinScore = Field(None, description="Drop hits below this score: a number, 'auto' or 'none'")
    mode: str | None = Field(None, description="dense, lexical or hybrid (default: the KB's default)")
    collapse_duplicates: bool | None = Field(None, description="One chunk per near-duplicate group "
                                             "(default: on once `localkb dedup --apply` ran)")
    cluster: int | None = Field(None, ge=0, description="Only chunks of this cluster (`localkb cluster`)")
    where: Where = Field(None, description="Metadata filters, all must hold: ['format=pdf', 'pages>3', "
                                           "'path~docs/*'] or {'format': 'pdf'} (docs/search.md, Filters)")
    filter: Where = Field(None, description="Another name for `where`")


def run_search(request: Request, body: SearchRequest) -> dict[str, Any]:
    from ..errors import FilterError
    from ..search.thresholds import parse_min_score

    if body.where is not None and body.filter is not None:
        raise FilterError("Give the filters as 'where' or as 'filter', not both.", field="filter")
    result = ctx(request).kb.search(body.query, k=body.k, tags=body.tags or None,
                                    min_score=parse_min_score(body.min_score), mode=body.mode,
                                    collapse_duplicates=body.collapse_duplicates, cluster=body.cluster,
                                    where=body.where if body.where is not None else body.filter)
    return result.to_dict()


@router.post("/search", summary="Search the KB (SearchResult JSON, as `localkb search --json`)")
def search_post(request: Request, body: SearchRequest) -> dict[str, Any]:
    return run_search(request, body)


GET_PARAMS = {"q", "k", "tag", "min_score", "mode", "collapse_duplicates", "cluster", "where"}


@router.get("/search", summary="Search the KB with query parameters (for curl and links)")
def search_get(request: Request,
               q: Annotated[str, Query(min_length=1, max_length=10_000, description="The query")],
               k: Annotated[int, Query(le=1000, description="Number of hits (1 to 1000)")] = 5,
               tag: Annotated[list[str] | None, Query(description="Repeatable")] = None,
               min_score: Annotated[str | None, Query(description="A number, 'auto' or 'none'")] = None,
               mode: str | None = None, collapse_duplicates: bool | None = None,
               cluster: Annotated[int | None, Query(ge=0)] = None,
               where: Annotated[list[str] | None, Query(description="Repeatable: format=pdf, pages>3")] = None,
               ) -> dict[str, Any]:
    unknown = sorted(set(request.query_params) - GET_PARAMS)
    if unknown:
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError([{"loc": ("query", name), "type": "extra_forbidden",
                                       "msg": f"Unknown query parameter '{name}' (known: {', '.join(sorted(GET_PARAMS))})"}
                                      for name in unknown])
    return run_search(request, SearchRequest(query=q, k=k, tags=tag, min_score=min_score, mode=mode,
                                             collapse_duplicates=collapse_duplicates, cluster=cluster,
                                             where=where, filter=None))
