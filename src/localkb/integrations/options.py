"""What the framework adapters share: the search options, validated once, and a hit as text + metadata."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..kb import KnowledgeBase
    from ..results import Hit, SearchResult
    from ..search.filters import WhereSpec


@dataclass(frozen=True)
class SearchOptions:
    """``KnowledgeBase.search`` options (``tags`` → ``filter_tags`` in the adapters: LangChain's
    retrievers already have a ``tags`` field, for tracing)."""

    k: int = 4
    filter_tags: tuple[str, ...] | None = None
    min_score: float | str | None = None
    mode: str | None = None
    #: metadata filters, as ``kb.search(where=...)`` / ``localkb search --where`` (``search.filters``)
    where: WhereSpec = None

    def __post_init__(self) -> None:
        from ..search.engine import check_k, resolve_min_score, resolve_mode
        from ..search.filters import parse_where

        if isinstance(self.where, list):
            object.__setattr__(self, "where", tuple(self.where))
        parse_where(self.where)  # FilterError naming a bad field, operator or value, before any search

        if not isinstance(self.k, int) or isinstance(self.k, bool):
            raise ConfigError(f"k must be a whole number of at least 1, not {self.k!r}.")
        check_k(self.k)  # below 1: the library's OutOfRange, the message of every other interface
        if self.filter_tags is not None and (isinstance(self.filter_tags, str) or not all(
                isinstance(t, str) for t in self.filter_tags)):
            raise ConfigError("filter_tags must be a list of tag strings.")
        if self.mode is not None:
            resolve_mode(self.mode)  # raises SearchError naming the modes
        if self.min_score is not None:
            resolve_min_score(self.min_score)  # a number, "auto" or "none"

    def override(self, **changes: Any) -> SearchOptions:
        """These options with per-call changes (``None`` keeps the retriever's value)."""
        if "filter_tags" in changes and changes["filter_tags"] is not None:
            changes["filter_tags"] = tuple(changes["filter_tags"])
        return replace(self, **{name: value for name, value in changes.items() if value is not None})

    def search(self, kb: KnowledgeBase, query: str) -> SearchResult:
        return kb.search(query, k=self.k, tags=list(self.filter_tags) if self.filter_tags else None,
                         min_score=self.min_score, mode=self.mode, where=self.where)


def open_kb(kb: KnowledgeBase | str | os.PathLike[str]) -> KnowledgeBase:
    """An open KB as given, or the existing KB at a path (never creates one)."""
    from ..kb import KnowledgeBase

    if isinstance(kb, KnowledgeBase):
        return kb
    if isinstance(kb, str | os.PathLike):
        return KnowledgeBase.open(kb, create=False)
    raise ConfigError(f"kb must be a KnowledgeBase or the path of one, not {type(kb).__name__}.")


def hit_metadata(hit: Hit, rank: int, result: SearchResult) -> dict[str, Any]:
    """Everything the KB knows about a hit, for a framework's document metadata: where it comes from,
    its scores, the codes it contains, and a citation ``[rank] source``."""
    return {
        "chunk_id": hit.id,
        "source": hit.source,
        "sources": list(hit.sources),
        "doc_id": hit.doc_id,
        "position": hit.position,
        "tags": list(hit.tags),
        "score": hit.score,
        "scores": dict(hit.scores),
        "matched_terms": list(hit.matched_terms),
        "rank": rank,
        "citation": f"[{rank}] {hit.source}",
        "mode": result.mode,
        "min_score": result.min_score,
        "exact_match": dict(result.exact_match),
    }


def missing(extra: str, package: str, exc: ImportError) -> ImportError:
    """The one-line error for an adapter whose framework is not installed."""
    error = ImportError(f"localkb.integrations.{extra} needs {package}: pip install 'localkb[{extra}]'")
    error.__cause__ = exc
    return error


def as_options(k: int, filter_tags: Sequence[str] | None, min_score: float | str | None,
               mode: str | None, where: WhereSpec = None) -> SearchOptions:
    return SearchOptions(k=k, filter_tags=tuple(filter_tags) if filter_tags is not None else None,
                         min_score=min_score, mode=mode, where=where)
