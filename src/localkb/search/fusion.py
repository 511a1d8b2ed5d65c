"""Fusing ranked lists: pure functions, no I/O, no state.

Each input maps a chunk id to that signal's score (higher is better). A chunk absent from a signal's
mapping simply did not get a score from it (it was not retrieved by it, or scored 0).

* :func:`rrf` — Reciprocal Rank Fusion (Cormack et al., 2009): ``sum_s w_s / (k + rank_s)``; uses ranks
  only, so the signals' scales never matter. Scores are small (≤ ``sum(w) / (k + 1)``).
* :func:`convex` — normalised convex combination: each signal min–max normalised over the candidates
  to [0, 1] (a missing score counts as 0), then ``alpha * dense + (1 - alpha) * lexical``. Scores are in
  [0, 1] but relative to this query's candidates, never comparable across queries.
* :func:`evidence_weights` — the default ``convex`` fusion does not give both signals a fixed say: each
  one's weight is scaled by how strong *its* best candidate is for this query (:func:`strength`), so a
  signal that found nothing better than noise cannot, after min–max stretching, outvote one that did.
  The engine measures the two strengths: dense — the best cosine against the KB's calibration (0 at the
  median best score of unrelated sentences, 1 at the median best score of the KB's own pseudo-queries
  where the query's language has them, else at the calibrated cut-off: ``thresholds.dense_strength``);
  lexical — the best BM25 as a
  share of what a chunk holding every query word would score (1 from :data:`LEXICAL_FULL_COVERAGE` up).
  ``convex-fixed`` is the plain fixed-``alpha`` combination.

The default (:data:`DEFAULT_FUSION`) and its constants were chosen by measurement
(benchmarks/bench_search.py, docs/search.md "Fusion").
"""

from __future__ import annotations

from collections.abc import Mapping

RRF_K = 60
DEFAULT_ALPHA = 0.5
FUSIONS = ("convex", "convex-fixed", "rrf", "zscore", "dbsf")
DEFAULT_FUSION = "convex"
#: the lexical signal has full strength once the best chunk's BM25 reaches this share of the ideal score
LEXICAL_FULL_COVERAGE = 0.1


def ranks(scores: Mapping[str, float]) -> dict[str, int]:
    """1-based ranks, best first; ties broken by id so the result is deterministic."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return {cid: n for n, (cid, _) in enumerate(ordered, 1)}


def rrf(
    signals: Mapping[str, Mapping[str, float]], *, k: int = RRF_K, weights: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Reciprocal rank fusion of ``{signal: {id: score}}`` → ``{id: fused}`` (higher is better)."""
    out: dict[str, float] = {}
    for name, scores in signals.items():
        w = 1.0 if weights is None else float(weights.get(name, 1.0))
        for cid, r in ranks(scores).items():
            out[cid] = out.get(cid, 0.0) + w / (k + r)
    return out


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    """Scale to [0, 1]; a single score (or all equal) maps to 1.0."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi <= lo:
        return {cid: 1.0 for cid in scores}
    return {cid: (s - lo) / (hi - lo) for cid, s in scores.items()}


def convex(
    dense: Mapping[str, float], lexical: Mapping[str, float], *, alpha: float = DEFAULT_ALPHA
) -> dict[str, float]:
    """``alpha * minmax(dense) + (1 - alpha) * minmax(lexical)`` over the union of candidates."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be in [0, 1]")
    d, lex = minmax(dense), minmax(lexical)
    return {cid: alpha * d.get(cid, 0.0) + (1 - alpha) * lex.get(cid, 0.0) for cid in set(d) | set(lex)}


def zscores(scores: Mapping[str, float]) -> dict[str, float]:
    """Standardise to mean 0, SD 1 over the candidates (all equal → 0)."""
    if not scores:
        return {}
    values = list(scores.values())
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    return {cid: 0.0 if sd <= 0 else (s - mean) / sd for cid, s in scores.items()}


def zscore(
    dense: Mapping[str, float], lexical: Mapping[str, float], *, alpha: float = DEFAULT_ALPHA
) -> dict[str, float]:
    """``alpha * z(dense) + (1 - alpha) * z(lexical)``, each signal standardised over the union of
    candidates (a candidate a signal did not score gets that signal's lowest score): a signal whose best
    candidate stands far above its others pulls harder than one whose scores are all alike."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be in [0, 1]")
    ids = set(dense) | set(lexical)
    lo_d, lo_l = min(dense.values(), default=0.0), min(lexical.values(), default=0.0)
    d = zscores({c: dense.get(c, lo_d) for c in ids})
    lex = zscores({c: lexical.get(c, lo_l) for c in ids})
    return {c: alpha * d[c] + (1 - alpha) * lex[c] for c in ids}


def dbsf(
    dense: Mapping[str, float], lexical: Mapping[str, float], *, alpha: float = DEFAULT_ALPHA
) -> dict[str, float]:
    """Distribution-based score fusion: each signal scaled to [0, 1] between mean - 3 SD and mean + 3 SD
    of its candidates' scores (clipped), then combined with weights ``alpha`` and ``1 - alpha``."""
    ids = set(dense) | set(lexical)
    lo_d, lo_l = min(dense.values(), default=0.0), min(lexical.values(), default=0.0)

    def scaled(scores: dict[str, float]) -> dict[str, float]:
        z = zscores(scores)
        return {c: min(1.0, max(0.0, (v + 3.0) / 6.0)) for c, v in z.items()}

    d = scaled({c: dense.get(c, lo_d) for c in ids})
    lex = scaled({c: lexical.get(c, lo_l) for c in ids})
    return {c: alpha * d[c] + (1 - alpha) * lex[c] for c in ids}


def strength(value: float, floor: float, full: float) -> float:
    """How strong a signal's best score is, in [0, 1]: 0 at or below ``floor``, 1 from ``full`` up, linear
    between (a step at ``full`` when ``full <= floor``)."""
    if full <= floor:
        return 1.0 if value >= full else 0.0
    return min(1.0, max(0.0, (value - floor) / (full - floor)))


def evidence_weights(alpha: float, dense_strength: float, lexical_strength: float) -> tuple[float, float]:
    """The (dense, lexical) weights, summing to 1: ``alpha`` and ``1 - alpha`` each scaled by its signal's
    strength. Both strengths 0 (neither signal found anything convincing) → the plain ``alpha`` split."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be in [0, 1]")
    wd, wl = alpha * max(0.0, dense_strength), (1 - alpha) * max(0.0, lexical_strength)
    if wd + wl <= 0:
        return alpha, 1 - alpha
    return wd / (wd + wl), wl / (wd + wl)


def fuse(
    method: str,
    dense: Mapping[str, float],
    lexical: Mapping[str, float],
    *,
    alpha: float = DEFAULT_ALPHA,
    k: int = RRF_K,
    strengths: tuple[float, float] = (1.0, 1.0),
) -> dict[str, float]:
    """Dispatch by name: ``convex`` (weights from ``strengths`` = (dense, lexical), see
    :func:`evidence_weights`), ``convex-fixed`` (``alpha`` as given) or ``rrf``."""
    if method == "rrf":
        return rrf({"dense": dense, "lexical": lexical}, k=k)
    if method == "convex":
        return convex(dense, lexical, alpha=evidence_weights(alpha, *strengths)[0])
    if method == "convex-fixed":
        return convex(dense, lexical, alpha=alpha)
    if method == "zscore":
        return zscore(dense, lexical, alpha=alpha)
    if method == "dbsf":
        return dbsf(dense, lexical, alpha=alpha)
    raise ValueError(f"Unknown fusion '{method}' (choose from: {', '.join(FUSIONS)})")


def order(fused: Mapping[str, float]) -> list[str]:
    """Ids best first (ties by id)."""
    return [cid for cid, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]
