"""Fusing ranked lists: pure functions, no I/O, no state.

Each input maps a chunk id to that signal's score (higher is better). A chunk absent from a signal's
mapping simply did not get a score from it (it was not retrieved by it, or scored 0).

* :func:`rrf` — Reciprocal Rank Fusion (Cormack et al., 2009): ``sum_s w_s / (k + rank_s)``; uses ranks
  only, so the signals' scales never matter. Scores are small (≤ ``sum(w) / (k + 1)``).
* :func:`convex` — normalised convex combination: each signal min–max normalised over the candidates
  to [0, 1] (a missing score counts as 0), then ``alpha * dense + (1 - alpha) * lexical``. Scores are in
  [0, 1] but relative to this query's candidates, never comparable across queries.

The default (:data:`DEFAULT_FUSION`) was chosen by measurement (benchmarks/bench_search.py).
"""

from __future__ import annotations

from collections.abc import Mapping

RRF_K = 60
DEFAULT_ALPHA = 0.5
FUSIONS = ("rrf", "convex", "convex-abs")
DEFAULT_FUSION = "convex"


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
    dense: Mapping[str, float],
    lexical: Mapping[str, float],
    *,
    alpha: float = DEFAULT_ALPHA,
    lexical_scale: float | None = None,
) -> dict[str, float]:
    """``alpha * minmax(dense) + (1 - alpha) * lexical'`` over the union of candidates.

    ``lexical'`` is ``minmax(lexical)``, or, when ``lexical_scale`` (the BM25 a perfect match would get) is
    given, ``min(1, lexical / lexical_scale)``: an absolute scale, so a weak lexical match (one common
    query word) cannot weigh as much as a chunk holding every query word.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be in [0, 1]")
    d = minmax(dense)
    if lexical_scale is not None and lexical_scale > 0:
        lex = {cid: min(1.0, max(0.0, s / lexical_scale)) for cid, s in lexical.items()}
    else:
        lex = minmax(lexical)
    return {cid: alpha * d.get(cid, 0.0) + (1 - alpha) * lex.get(cid, 0.0) for cid in set(d) | set(lex)}


def fuse(
    method: str,
    dense: Mapping[str, float],
    lexical: Mapping[str, float],
    *,
    alpha: float = DEFAULT_ALPHA,
    k: int = RRF_K,
    lexical_scale: float | None = None,
) -> dict[str, float]:
    """Dispatch by name: ``rrf``, ``convex`` (min–max both) or ``convex-abs`` (BM25 on ``lexical_scale``)."""
    if method == "rrf":
        return rrf({"dense": dense, "lexical": lexical}, k=k)
    if method == "convex":
        return convex(dense, lexical, alpha=alpha)
    if method == "convex-abs":
        return convex(dense, lexical, alpha=alpha, lexical_scale=lexical_scale)
    raise ValueError(f"Unknown fusion '{method}' (choose from: {', '.join(FUSIONS)})")


def order(fused: Mapping[str, float]) -> list[str]:
    """Ids best first (ties by id)."""
    return [cid for cid, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]
