"""Search orchestration: validate the query, apply filters, run the retriever(s), build ``Hit``s.

Dense retrieval (cosine similarity, higher is better) is the baseline; lexical and hybrid modes,
identifier rules and calibrated thresholds plug in here.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import SearchError
from ..inspect import chunk_records, chunks_with_tags
from ..results import Hit, SearchResult

if TYPE_CHECKING:
    from ..kb import KnowledgeBase

MAX_QUERY_CHARS = 10_000
MODES = ("dense",)


def validate_query(query: str) -> str:
    if query is None or not str(query).strip():
        raise SearchError("Empty query: give some words to search for.")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"Query too long ({len(query):,} characters; the limit is {MAX_QUERY_CHARS:,}).")
    return str(query).strip()


def allowed_ids(kb: KnowledgeBase, tags: Sequence[str] | None) -> set[str] | None:
    if not tags:
        return None
    return chunks_with_tags(kb, list(tags))


def search(kb: KnowledgeBase, query: str, *, k: int = 10, tags: Sequence[str] | None = None,
           min_score: float | str | None = None, mode: str | None = None) -> SearchResult:
    query = validate_query(query)
    mode = (mode or "dense").lower()
    if mode not in MODES:
        raise SearchError(f"Unknown search mode '{mode}' (choose from: {', '.join(MODES)}).")
    if k < 1:
        raise SearchError("k must be at least 1.")
    threshold = float(min_score) if min_score not in (None, "none", "auto") else None
    allowed = allowed_ids(kb, tags)
    if allowed is not None and not allowed:
        return SearchResult(query, [], mode, threshold, reason=f"No document has the tag(s): {', '.join(tags or [])}.")
    vector = kb.embedder.embed([query])
    raw = kb.store.search(vector, k, allowed=allowed)
    records = chunk_records(kb, [h.id for h in raw])
    hits = []
    for h in raw:
        rec = records.get(h.id)
        if rec is None:  # a vector whose chunk is gone (another process mid-write): never shown
            continue
        if threshold is not None and h.score < threshold:
            continue
        hits.append(Hit(id=h.id, score=h.score, text=rec["text"], source=rec["source"], sources=rec["sources"],
                        tags=rec["tags"], doc_id=rec["doc_id"], position=rec["position"],
                        scores={"dense": h.score}))
    reason = None
    if not hits:
        reason = (f"No chunk scored at or above {threshold}." if raw and threshold is not None
                  else "The knowledge base is empty." if kb.store.count() == 0 else "Nothing matched.")
    return SearchResult(query, hits, mode, threshold, reason=reason)
