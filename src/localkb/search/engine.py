"""Search orchestration: validate the query, run the retriever(s), fuse, apply the identifier rule and the
cut-off, build ``Hit``s.

Modes (``MODES``; default ``hybrid``, or the ``search_mode`` setting):

* ``dense``   — cosine similarity of the query and chunk embeddings; ``Hit.score`` in [-1, 1].
* ``lexical`` — BM25 over the chunks' tokens (``search.lexical``); ``Hit.score`` ≥ 0, unbounded.
* ``hybrid``  — both, fused by ``search.fusion`` (default: normalised convex combination whose weights
  follow each signal's evidence for this query, reported in ``SearchResult.weights``);
  ``Hit.score`` in [0, 1] for convex (relative to the query's candidates), small positive for RRF.

Every hit also carries ``scores`` = {"dense", "lexical", "fused"} (what is known in that mode). The
identifier rule (``search.identifiers``) and ``min_score`` (``search.thresholds``) are documented in
docs/search.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec

from ..catalog import chunk_records, chunks_with_tags
from ..errors import OutOfRange, SearchError
from ..results import Hit, SearchResult
from ..settings import current
from . import fusion as fusion_mod
from .filters import WhereSpec, matching_chunks, parse_where
from .filters import describe as describe_where
from .identifiers import apply_rule, find_codes, matched_codes
from .tokenizer import STOP_WORDS, tokenize, word_count

if TYPE_CHECKING:
    import numpy as np

    from ..parts import Calibrated, ChunkRows
    from ..settings import Settings
    from ..stores.base import VectorHit, VectorStore
    from .lexical import LexicalIndex

MAX_QUERY_CHARS = 10_000
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}
MODES = ("hybrid", "dense", "lexical")
DEFAULT_MODE = "hybrid"
#: candidates taken from each retriever before fusion (at least k)
DEPTH = 50
#: at most this many chunks holding an exact code are added to the candidates / checked
EXACT_CAP = 200
#: under ``min_score="auto"``, a hybrid query whose best cosine is below the cut-off is still answered
#: when its best BM25 reaches this share of the ideal score (see docs/search.md "Thresholds")
ANSWER_COVERAGE = 0.2

P = ParamSpec("P")


def validate_query(query: str) -> str:
    """The stripped query, or ``SearchError`` for an empty, over-long or punctuation-only query."""
    if query is None or not str(query).strip():
        raise SearchError("Empty query: give some words to search for.")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(
            f"Query too long ({len(query):,} characters; the limit is {MAX_QUERY_CHARS:,}). "
            "Search for the key sentence or words instead."
        )
    if word_count(str(query)) == 0:
        raise SearchError("The query has no words, only punctuation or symbols.")
    return str(query).strip()


def resolve_mode(mode: str | None, settings: Settings | None = None) -> str:
    value = str(mode if mode is not None else current(settings).search_mode or DEFAULT_MODE).strip().lower()
    if value not in MODES:
        from ..suggest import did_you_mean

        hint = did_you_mean(value, MODES)
        raise SearchError(f"Unknown search mode '{value}' (choose from: {', '.join(MODES)}).{hint}")
    return value


def resolve_min_score(min_score: float | str | None, settings: Settings | None = None) -> float | str | None:
    """The cut-off to apply: a number, "auto", or None (no cut-off). ``min_score=None`` → the ``min_score``
    setting (default "auto"); ``"none"`` (``thresholds.NO_CUTOFF``) turns it off. Parsed by
    ``thresholds.parse_min_score``."""
    from .thresholds import NO_CUTOFF, parse_min_score

    given = parse_min_score(min_score)
    value = parse_min_score(given if given is not None else current(settings).min_score or "auto")
    return None if value in (NO_CUTOFF, None) else value


def check_k(k: int) -> int:
    """The one check of ``k`` (hits, passages) for the CLI, HTTP, MCP and Python, which pass it through:
    ``OutOfRange`` below 1, with one message everywhere."""
    if k < 1:
        raise OutOfRange("k must be at least 1.")
    return k


def allowed_ids(kb: ChunkRows, tags: Sequence[str] | None) -> set[str] | None:
    if not tags:
        return None
    return chunks_with_tags(kb.db, list(tags))


def only_codes(query: str, codes: list[str]) -> bool:
    """Is every content word of the query a code (a bare identifier lookup)?"""
    words = [w for w in tokenize(query) if w not in STOP_WORDS]
    if not codes or not words:
        return False
    code_tokens = {t for c in codes for t in tokenize(c)}
    return all(w in code_tokens for w in words)


def lexical_checked_once(fn: Callable[P, SearchResult]) -> Callable[P, SearchResult]:
    """``fn`` with the lexical index checked for changes once for the whole call (``lexical.one_check``)."""
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> SearchResult:
        from .lexical import one_check

        with one_check():
            return fn(*args, **kwargs)
    return wrapper


@lexical_checked_once
def search(
    kb: Calibrated,
    query: str,
    *,
    k: int = 10,
    tags: Sequence[str] | None = None,
    min_score: float | str | None = None,
    mode: str | None = None,
    identifiers: bool = True,
    fusion: str | None = None,
    alpha: float | None = None,
    collapse_duplicates: bool | None = None,
    cluster: int | None = None,
    where: WhereSpec = None,
) -> SearchResult:
    """Search ``kb``. See the module docstring for modes and score scales.

    Args:
        identifiers: apply the exact-identifier rule and report ``exact_match`` (default on).
        fusion / alpha: hybrid fusion method (``rrf`` | ``convex``) and convex weight of the dense score.
        collapse_duplicates: one chunk per applied near-duplicate group (default: on when groups exist;
            see ``mapping.records``); what was collapsed is in ``SearchResult.collapsed``.
        cluster: only chunks of this cluster of the last ``localkb cluster`` run.
        where: metadata filters (``search.filters``): ``"format=pdf"``, ``["pages>3", "path~docs/*"]`` or
            ``{"format": "pdf"}``; ANDed with ``tags`` and ``cluster``. How they were applied, and how many
            chunks they allow, is in ``SearchResult.filters``.

    Raises:
        SearchError: empty, over-long or punctuation-only query; unknown mode; k < 1 (``OutOfRange``).
        FilterError: an unknown filter field, operator or value.
    """
    query = validate_query(query)
    mode = resolve_mode(mode, kb.settings)
    check_k(k)
    cut = resolve_min_score(min_score, kb.settings)
    conditions = parse_where(where)
    tokens = tokenize(query)
    codes = find_codes(query) if identifiers else []
    if not tokens and not codes:
        return SearchResult(
            query,
            [],
            mode,
            None,
            reason="The query has only stop words; add a word that says what to look for.",
        )
    allowed = allowed_ids(kb, tags)
    if cluster is not None:
        from ..mapping.records import chunks_in_cluster

        members = chunks_in_cluster(kb.db, int(cluster))
        allowed = members if allowed is None else allowed & members
    filters: dict[str, Any] | None = None
    if conditions:
        matching = matching_chunks(kb.db, conditions)
        allowed = matching if allowed is None else allowed & matching
        filters = {"where": describe_where(conditions), "matching_chunks": len(allowed),
                   "applied": "in the vector store's engine (chunk ids from chunks.sqlite)"
                   if kb.store.supports_filters else "after the vector store (exact, with over-fetch)"}
        if not allowed:
            return SearchResult(query, [], mode, None, filters=filters,
                                reason=f"No chunk matches the filter(s): {'; '.join(filters['where'])}"
                                       + (f" with the tag(s) {', '.join(tags)}" if tags else "") + ".")
    if allowed is not None and not allowed:
        return SearchResult(
            query, [], mode, None, reason=f"No document has the tag(s): {', '.join(tags or [])}."
        )
    chunks = kb.store.count()
    if chunks == 0:
        return SearchResult(query, [], mode, None, reason="The knowledge base is empty.")
    depth = max(k, DEPTH)
    method = str(fusion if fusion is not None else kb.settings.fusion or fusion_mod.DEFAULT_FUSION).lower()
    # the KB's calibration (measured once, then read from the manifest) serves both the evidence-weighted
    # fusion and the auto cut-off: fetched once per search
    calibration: dict[str, Any] | None = None
    if (mode == "hybrid" and method == "convex") or (cut == "auto" and mode != "lexical"):
        from .thresholds import calibration_record, for_query

        calibration = for_query(calibration_record(kb, chunks), query)  # the query's language's bank

    dense: dict[str, float] = {}
    weights: dict[str, float] | None = None
    coverage = 0.0
    vector = None
    nearest = None
    if mode in ("dense", "hybrid"):  # embedded and searched on another core while BM25 scores it here
        from .overlap import beside

        nearest = beside(embed_and_search, kb, query, depth, allowed, enabled=kb.settings.search_overlap)
    lexical: dict[str, float] = {}
    all_lex: np.ndarray | None = None
    lex = None
    if mode in ("lexical", "hybrid") or codes or cut == "auto":  # dense "auto" asks: is any query word here?
        from .lexical import lexical_index

        lex = lexical_index(kb)
        all_lex = lex.scores(tokens)
        if mode != "dense":
            lexical = dict(lex.top(all_lex, depth, allowed))
    if nearest is not None:
        vector, found_dense = nearest()
        dense = {h.id: h.score for h in found_dense}

    # exact identifiers: chunks that contain each code, verified against the chunk text
    matches: dict[str, list[str]] = {}
    exact: dict[str, bool] = {}
    if codes and lex is not None:
        holders: dict[str, None] = {}
        for code in codes:
            for cid in lex.containing(code.lower(), limit=EXACT_CAP * 5):
                if allowed is None or cid in allowed:
                    holders.setdefault(cid)
        matches, extra = code_matches(kb, codes, [*dense, *lexical], list(holders),
                                      lambda cids: _lex_of(lex, all_lex, cids))
        exact = {code: any(code in m for m in matches.values()) for code in codes}
        if mode != "lexical" and vector is not None and extra:
            dense.update({h.id: h.score for h in dense_hits(kb.store, vector, len(extra), set(extra))})
        if mode != "dense":
            lexical.update(_lex_of(lex, all_lex, extra))
        if mode == "dense":
            dense.update({c: dense.get(c, -1.0) for c in extra})
        if only_codes(query, codes) and not any(exact.values()):
            missing = ", ".join(f"'{c}'" for c in codes)
            return SearchResult(
                query,
                [],
                mode,
                None,
                exact_match=exact,
                reason=f"No chunk contains {missing} exactly (near-misses are not shown).",
            )

    # fill in the other signal for every candidate so the fused score and the cut-off see both
    if mode == "hybrid":
        missing_dense = [c for c in lexical if c not in dense]
        if missing_dense and vector is not None:
            dense.update(
                {
                    h.id: h.score
                    for h in dense_hits(kb.store, vector, len(missing_dense), set(missing_dense))
                }
            )
        if lex is not None:  # one lookup for all of them (a bisection per segment)
            lexical.update({c: v for c, v in _lex_of(lex, all_lex, [c for c in dense if c not in lexical]).items()
                            if v > 0})
        coverage = lexical_coverage(lex, tokens, lexical)
        fused, weights = fuse_hybrid(dense, lexical, coverage, method, calibration, alpha=alpha)
    elif mode == "dense":
        fused = dict(dense)
    else:
        fused = {c: s for c, s in lexical.items() if s > 0}
    order = fusion_mod.order(fused)
    if codes:
        order = apply_rule(order, matches)

    # the cut-off (see docs/search.md "Thresholds")
    threshold: float | None = None
    if cut == "auto":
        if mode != "lexical" and calibration is not None:
            threshold = float(calibration["cutoff"])
    elif cut is not None:
        threshold = float(cut)
    reason = None
    if threshold is not None:
        if mode == "lexical":
            order = [c for c in order if lexical.get(c, 0.0) >= threshold]
        elif cut == "auto" and calibration is not None:
            from .evidence import TOP as EVIDENCE_TOP
            from .thresholds import auto_answers

            # dense mode asks the same question of the same chunks as hybrid (is this KB about the query?):
            # only the ranking differs between the modes, not whether a query is answered
            found_by = lexical if mode == "hybrid" or lex is None or all_lex is None else dict(
                lex.top(all_lex, EVIDENCE_TOP, allowed))
            found = all_lex is not None and all_lex.size > 0 and float(all_lex.max()) > 0
            best = max(dense.values(), default=-1.0)
            evidence = terms_share = None
            if calibration.get("evidence") and lex is not None:
                evidence = query_evidence(lex, tokens, dense, found_by, calibration)
            elif calibration.get("terms") and lex is not None:
                terms_share = query_terms(lex, tokens, dense, found_by, calibration)
            strong_words = False
            if evidence is None:  # measured evidence decides alone (auto_answers): no need for these then
                if mode == "dense":
                    coverage = lexical_coverage(lex, tokens, found_by)
                strong_words = coverage >= ANSWER_COVERAGE or (lex is not None and lex.has_all(tokens, allowed))
            if not auto_answers(best, calibration, exact=bool(matches), evidence=evidence, terms_share=terms_share,
                                lexical_strong=strong_words, words_found=found):
                order = []
            elif mode == "dense":  # the hits at the cut-off, and the best one where evidence answered below it
                bar = min(threshold, best)
                order = [c for c in order if dense.get(c, -1.0) >= bar or c in matches]
            else:
                order = [
                    c
                    for c in order
                    if dense.get(c, -1.0) >= threshold or lexical.get(c, 0.0) > 0 or c in matches
                ]
        else:
            order = [c for c in order if dense.get(c, -1.0) >= threshold]
        if not order:
            how = "the cut-off"
            if cut == "auto" and calibration is not None:
                how = f"the KB's calibrated cut-off for {LANGUAGE_NAMES.get(calibration['bank'], calibration['bank'])} questions"
            on = "BM25 score" if mode == "lexical" else "similarity"
            reason = (
                f"Nothing relevant: no chunk's {on} reached {how} ({threshold:.3f}). "
                "Use --min-score none to see the closest chunks anyway."
            )
            scored = (calibration or {}).get("evidence") or {}
            if cut == "auto" and calibration is not None and "score" in scored:
                reason = (
                    f"Nothing relevant: the query's evidence {scored['score']:.2f} (similarity {scored['dense_part']:.2f} "
                    f"+ its rare words found together {scored['terms_part']:.2f}, on this KB's scale) is below "
                    f"the {scored['threshold']:.2f} asked of {LANGUAGE_NAMES.get(calibration['bank'], calibration['bank'])} "
                    "questions. Use --min-score none to see the closest chunks anyway."
                )
            terms = (calibration or {}).get("terms") or {}
            if cut == "auto" and calibration is not None and "share" in terms:
                words = ("no chunk among its best holds two of the query's words together" if terms["share"] <= 0
                         else f"the query's words found together in one chunk (share {terms['share']:.2f}, each "
                              f"word weighed by its rarity in the language) do not pass the {terms['cutoff']:.2f} "
                              f"that unrelated {LANGUAGE_NAMES.get(calibration['bank'], calibration['bank'])} "
                              "questions reach here")
                reason = (f"Nothing relevant: no chunk's similarity reached {how} ({threshold:.3f}), and {words}. "
                          "Use --min-score none to see the closest chunks anyway.")

    collapsed: list[dict[str, Any]] = []
    if collapse_duplicates is not False and order:
        from ..mapping import records as map_records

        if collapse_duplicates or map_records.has_groups(kb.db):
            order, collapsed = map_records.collapse(kb.db, order[: k + DEPTH])
    top = order[:k]
    records = chunk_records(kb.db, top)
    hits: list[Hit] = []
    for cid in top:
        rec = records.get(cid)
        if rec is None:  # a vector whose chunk is gone (another process mid-write): never shown
            continue
        scores = {}
        if cid in dense and mode != "lexical":
            scores["dense"] = dense[cid]
        if cid in lexical or (mode == "hybrid" and lex is not None):
            scores["lexical"] = lexical.get(cid, 0.0)
        if mode == "hybrid":
            scores["fused"] = fused.get(cid, 0.0)
        hits.append(
            Hit(
                id=cid,
                score=float(fused.get(cid, 0.0)),
                text=rec["text"],
                source=rec["source"],
                sources=rec["sources"],
                tags=rec["tags"],
                doc_id=rec["doc_id"],
                position=rec["position"],
                page=rec["page"],
                scores=scores,
                matched_terms=list(matches.get(cid, [])),
            )
        )
    if not hits and reason is None:
        reason = (
            "Nothing matched: no chunk contains any of the query's words."
            if mode == "lexical"
            else "Nothing matched."
        )
    if filters is not None and len(hits) < k:
        filters["note"] = (f"{len(hits)} of the {k} hits asked for: {filters['matching_chunks']} chunk(s) match "
                           f"the filter(s)" + (", fewer passed the cut-off" if threshold is not None else "") + ".")
    return SearchResult(query, hits, mode, threshold, reason=reason, exact_match=exact, weights=weights,
                        calibration=calibration, collapsed=[c for c in collapsed if c["kept"] in top],
                        filters=filters)


def code_matches(kb: ChunkRows, codes: list[str], candidates: list[str], holders: list[str],
                 lex_scores: Callable[[list[str]], dict[str, float]]) -> tuple[dict[str, list[str]], list[str]]:
    """(``{chunk: codes it contains}``, the ≤ ``EXACT_CAP`` holders to add to the candidates).

    Every candidate is verified against its text; the added holders are the matching non-candidates
    ranked by (more codes, BM25, id). With one code every match has the same count, so that order is
    known before reading any text: holders are verified in it, a batch at a time, until ``EXACT_CAP``
    match — the same answer as verifying all of them, reading a fraction of the texts."""
    cands = dict.fromkeys(candidates)
    matches = {c: m for c, m in matched_codes(kb.db.embed_texts(list(cands)), codes).items() if m}
    rest = [h for h in dict.fromkeys(holders) if h not in cands]
    if len(codes) == 1:
        bm25 = lex_scores(rest)
        rest.sort(key=lambda c: (-bm25[c], c))
        extra: list[str] = []
        for start in range(0, len(rest), EXACT_CAP):
            batch = rest[start:start + EXACT_CAP]
            found = matched_codes(kb.db.embed_texts(batch), codes)
            for cid in batch:  # in rank order
                if found.get(cid) and len(extra) < EXACT_CAP:
                    matches[cid] = found[cid]
                    extra.append(cid)
            if len(extra) >= EXACT_CAP:
                break
        return matches, extra
    found = {c: m for c, m in matched_codes(kb.db.embed_texts(rest), codes).items() if m}
    matches.update(found)
    bm25 = lex_scores(list(found))
    return matches, sorted(found, key=lambda c: (-len(found[c]), -bm25[c], c))[:EXACT_CAP]


#: a store that cannot filter is asked for this many times more hits each round (``dense_hits``)
OVERFETCH = 4


def embed_and_search(kb: Calibrated, query: str, k: int, allowed: set[str] | None) -> tuple[np.ndarray, list[VectorHit]]:
    """The query's vector and its ``k`` nearest chunks among ``allowed`` (:func:`dense_hits`)."""
    from ..embedders.base import embed_queries

    vector = embed_queries(kb.embedder, [query])  # e5 embeds queries as 'query: …'
    return vector, dense_hits(kb.store, vector, k, allowed)


def dense_hits(store: VectorStore, vector: np.ndarray, k: int, allowed: set[str] | None) -> list[VectorHit]:
    """The ``k`` nearest chunks among ``allowed``: inside the engine when the store can filter, else
    by asking for more and more hits and filtering them here, until ``k`` are found or the store has
    no more (exact either way)."""
    if allowed is None or store.supports_filters:
        return store.search(vector, k, allowed=allowed)
    total = store.count()
    fetch = max(k, 1) * OVERFETCH
    while True:
        hits = [h for h in store.search(vector, min(fetch, total)) if h.id in allowed]
        if len(hits) >= k or fetch >= total:
            return hits[:k]
        fetch *= OVERFETCH


def query_evidence(lex: LexicalIndex, tokens: list[str], dense: dict[str, float],
                   lexical: dict[str, float], calibration: dict[str, Any]) -> float:
    """The query's dense + lexical evidence on the KB's scale (``search.evidence``); what it was made of is
    added to ``calibration["evidence"]`` (shown in ``SearchResult.calibration`` and ``--json``)."""
    from . import evidence as evidence_mod

    scale = calibration["evidence"]
    best = max(dense.values(), default=-1.0)
    share = evidence_mod.query_share(lex, tokens, dense, lexical)
    d, t = evidence_mod.parts(best, share, scale)
    calibration["evidence"] = {**scale, "score": round(d + t, 4), "dense_part": round(d, 4),
                               "terms_part": round(t, 4), "best_dense": round(best, 4), "terms_share": round(share, 4)}
    return d + t


def query_terms(lex: LexicalIndex, tokens: list[str], dense: dict[str, float],
                lexical: dict[str, float], calibration: dict[str, Any]) -> float:
    """The query's words found together in one of its best chunks, each weighed by its rarity in the language
    (``evidence.everyday_share``; Chinese queries), added to ``calibration["terms"]`` as ``share``."""
    from . import evidence as evidence_mod

    share = evidence_mod.everyday_share(lex, tokens, dense, lexical)
    calibration["terms"] = {**calibration["terms"], "share": round(share, 4)}
    return share


def lexical_coverage(lex: LexicalIndex | None, tokens: list[str], lexical: dict[str, float]) -> float:
    """The best candidate's BM25 as a share of the score of a chunk holding every query word once
    (``LexicalIndex.ideal_score``): near 0 when only incidental words matched; can exceed 1."""
    best = max(lexical.values(), default=0.0)
    if lex is None or best <= 0:
        return 0.0
    ideal = lex.ideal_score(tokens)
    return best / ideal if ideal > 0 else 0.0


def fuse_hybrid(
    dense: dict[str, float],
    lexical: dict[str, float],
    coverage: float,
    method: str,
    calibration: dict[str, Any] | None,
    *,
    alpha: float | None = None,
) -> tuple[dict[str, float], dict[str, float] | None]:
    """Fused scores and the (dense, lexical) weights used (None for RRF). See ``search.fusion``;
    ``calibration`` is the query's calibration (``thresholds.for_query``), used by ``convex``."""
    alpha = fusion_mod.DEFAULT_ALPHA if alpha is None else float(alpha)
    strengths = (1.0, 1.0)
    if method == "convex" and dense:
        from .thresholds import dense_strength

        strengths = (
            dense_strength(calibration, max(dense.values())),
            fusion_mod.strength(coverage, 0.0, fusion_mod.LEXICAL_FULL_COVERAGE),
        )
    positive = {c: s for c, s in lexical.items() if s > 0}
    try:
        fused = fusion_mod.fuse(method, dense, positive, alpha=alpha, strengths=strengths)
    except ValueError as exc:
        raise SearchError(str(exc)) from None
    if method == "rrf":
        return fused, None
    wd, wl = fusion_mod.evidence_weights(alpha, *strengths)  # (alpha, 1 - alpha) for convex-fixed
    return fused, {"dense": round(wd, 4), "lexical": round(wl, 4)}


def _lex_of(lex: LexicalIndex, all_lex: np.ndarray | None, chunk_ids: list[str]) -> dict[str, float]:
    """The BM25 score in ``all_lex`` of each of ``chunk_ids`` (0 for a chunk the index lacks), one lookup for all."""
    if all_lex is None or all_lex.size == 0 or not chunk_ids:
        return dict.fromkeys(chunk_ids, 0.0)
    return {c: float(all_lex[p]) if p >= 0 else 0.0 for c, p in zip(chunk_ids, lex.positions(chunk_ids).tolist())}
