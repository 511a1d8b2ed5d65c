"""Per-query signals of a search, collected once and replayed offline (bench_search's fusion and cut-off
sections): each candidate chunk's document, cosine and BM25, and what the ``auto`` cut-off looks at.

Replaying is what makes cross-validation cheap: every fusion (``localkb.search.fusion``, pure functions)
and every cut-off rule (``thresholds.auto_answers``) is scored on the same candidates without searching
again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localkb.search import engine, evidence, fusion
from localkb.search.lexical import lexical_index
from localkb.search.thresholds import auto_answers, calibration_record, for_query
from localkb.search.tokenizer import tokenize


@dataclass
class Signals:
    qid: str
    rel: dict[str, int]
    #: (document id, cosine, BM25) of every candidate chunk (the union of both retrievers' top 50)
    cands: list[tuple[str, float, float]] = field(default_factory=list)
    coverage: float = 0.0
    has_all: bool = False
    calibration: dict[str, Any] | None = None
    #: the query's words found together in one of its best chunks, idf-weighted (``evidence.query_share``)
    share: float = 0.0
    #: the same with words weighed by their rarity in the language, where the query's language has a terms
    #: bar (Chinese; ``evidence.everyday_share``), else None
    terms_share: float | None = None

    @property
    def best_dense(self) -> float:
        return max((d for _, d, _ in self.cands), default=-1.0)

    @property
    def words_found(self) -> bool:
        return any(lx > 0 for _, _, lx in self.cands)


def collect(kb: Any, queries: dict[str, str], qrels: dict[str, dict[str, int]], names: dict[str, str]) -> list[Signals]:
    """Search each query once (hybrid, no cut-off, no identifier rule) and keep its signals."""
    kb._embedder.prime(list(queries.values()))
    lex = lexical_index(kb)
    record = calibration_record(kb)
    out = []
    for qid, text in queries.items():
        res = engine.search(kb, text, k=100, min_score="none", mode="hybrid", identifiers=False,
                            fusion="convex-fixed")
        cands = [(names.get(Path(h.source).name, h.id), float(h.scores.get("dense", -1.0)),
                  float(h.scores.get("lexical", 0.0))) for h in res.hits]
        tokens = tokenize(text)
        ideal = lex.ideal_score(tokens)
        best_lex = max((lx for _, _, lx in cands), default=0.0)
        # k=100 returns every candidate (the union of two top-50s), so these are the engine's own dicts
        dense = {h.id: float(h.scores.get("dense", -1.0)) for h in res.hits}
        lexical = {h.id: float(h.scores.get("lexical", 0.0)) for h in res.hits}
        cal = for_query(record, text)
        terms = evidence.everyday_share(lex, tokens, dense, lexical) if cal and cal.get("terms") else None
        out.append(Signals(qid, qrels.get(qid, {}), cands, best_lex / ideal if ideal > 0 else 0.0,
                           lex.has_all(tokens), cal, evidence.query_share(lex, tokens, dense, lexical), terms))
    return out


def _ndcg10(ranked_docs: list[str], rel: dict[str, int]) -> float:
    seen: list[str] = []
    for d in ranked_docs:
        if d not in seen:
            seen.append(d)
        if len(seen) == 10:
            break
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(seen))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(rel.values(), reverse=True)[:10]))
    return dcg / ideal if ideal > 0 else 0.0


def ranking(sig: Signals, method: str, alpha: float = 0.5) -> list[str]:
    """Documents in fused order for one method: dense, lexical, or a fusion of ``localkb.search.fusion``
    (``convex`` = the evidence-weighted default, strengths measured as the engine does; ``convex-bank`` = the
    same with the dense strength on the bank's scale, the weighting before)."""
    by_chunk = {f"{i}": c for i, c in enumerate(sig.cands)}
    dense = {k: c[1] for k, c in by_chunk.items()}
    lexical = {k: c[2] for k, c in by_chunk.items() if c[2] > 0}
    if method == "dense":
        scores = dense
    elif method == "lexical":
        scores = lexical
    else:
        strengths = (1.0, 1.0)
        if method in ("convex", "convex-bank"):
            from localkb.search.thresholds import dense_strength

            strengths = (dense_strength(sig.calibration, sig.best_dense, bank_scale=method == "convex-bank"),
                         fusion.strength(sig.coverage, 0.0, fusion.LEXICAL_FULL_COVERAGE))
        scores = fusion.fuse("convex" if method == "convex-bank" else method, dense, lexical, alpha=alpha,
                             strengths=strengths)
    return [by_chunk[k][0] for k in fusion.order(scores)]


def mean_ndcg(signals: list[Signals], method: str, alpha: float = 0.5) -> float:
    judged = [s for s in signals if s.rel]
    return sum(_ndcg10(ranking(s, method, alpha), s.rel) for s in judged) / max(1, len(judged))


def answered(sig: Signals, coverage_share: float = engine.ANSWER_COVERAGE, *, use_evidence: bool = True,
             use_terms: bool = True) -> bool:
    """Would ``min_score="auto"`` (hybrid) answer this query? (``thresholds.auto_answers``; the evidence
    rule where the query's calibration has a scale, unless ``use_evidence`` is off: the rule before it; the
    terms bar where it has one, unless ``use_terms`` is off)"""
    if sig.calibration is None:
        return True
    scale = sig.calibration.get("evidence")
    score = evidence.score(sig.best_dense, sig.share, scale) if (scale and use_evidence) else None
    return auto_answers(sig.best_dense, sig.calibration, exact=False, evidence=score,
                        terms_share=sig.terms_share if use_terms else None,
                        lexical_strong=sig.coverage >= coverage_share or sig.has_all, words_found=sig.words_found)
