"""Typed values that cross the library boundary (CLI, HTTP and Python API all return these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Hit:
    """One search result. ``score``: higher is better (see docs/search.md for each mode's scale)."""

    id: str
    score: float
    text: str
    source: str
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    doc_id: int | None = None
    position: int = 0
    #: the page of ``source`` the chunk comes from (PDF, 1-based); None for formats without pages
    page: int | None = None
    #: per-signal scores that went into ``score`` (e.g. {"dense": 0.71, "lexical": 12.3})
    scores: dict[str, float] = field(default_factory=dict)
    #: code-like query tokens this chunk contains verbatim
    matched_terms: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    mode: str = "dense"
    #: the cut-off applied (None when no threshold)
    min_score: float | None = None
    #: why the result is empty or was cut, for people ("no chunk scored above the KB's calibrated cut-off")
    reason: str | None = None
    #: per code-like token in the query: does any chunk contain it verbatim?
    exact_match: dict[str, bool] = field(default_factory=dict)
    #: hybrid convex fusion: the weights the dense and lexical signals got for this query
    weights: dict[str, float] | None = None
    #: the calibration used for this query (``min_score="auto"`` / evidence weights): the query's
    #: language, the bank it was held against, that bank's cut-off and median on this KB
    calibration: dict[str, Any] | None = None
    #: near-duplicates left out (``dedup --apply``): {"id", "group", "kept"} — ``kept`` is the hit shown
    collapsed: list[dict[str, Any]] = field(default_factory=list)
    #: ``where`` filters: {"where": [...], "matching_chunks": n, "applied": how, "note": when < k hits}
    filters: dict[str, Any] | None = None

    @property
    def abstained(self) -> bool:
        return not self.hits

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (CLI ``--json``, HTTP); ``filters`` appears when the search had ``where`` filters.
        Each hit has its full ``text`` and a ``snippet``: the part around the query's words (``search.snippets``),
        which the CLI prints."""
        from .search.snippets import snippet

        out = {
            "query": self.query,
            "mode": self.mode,
            "min_score": self.min_score,
            "reason": self.reason,
            "exact_match": self.exact_match,
            "weights": self.weights,
            "calibration": self.calibration,
            "collapsed": self.collapsed,
            "hits": [{**h.to_dict(), "snippet": snippet(h.text, self.query)} for h in self.hits],
        }
        if self.filters is not None:
            out["filters"] = self.filters
        return out


@dataclass
class Skipped:
    path: str
    error: str


@dataclass
class IngestReport:
    """Counts are documents; ``chunks`` is the KB's chunk total after the run."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    embedded: int = 0
    #: advice for people, e.g. an English-only model on a mostly Chinese KB
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "skipped": [asdict(s) for s in self.skipped],
            "notes": list(self.notes),
        }
