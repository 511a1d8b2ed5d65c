"""The ranking metrics come from ir-measures (trec_eval); these pin them to the definitions localkb used
before (an independent by-hand oracle), on random rankings with graded and zero-grade judgments."""
from __future__ import annotations

import math
import random

import pytest

from localkb.search.eval import Dataset, Run, per_query_metrics, score

pytest.importorskip("ir_measures")


def oracle(ranked: list[str], rel: dict[str, int]) -> dict[str, float]:
    rel = {d: g for d, g in rel.items() if g > 0}
    dcg = lambda gains: sum(g / math.log2(i + 2) for i, g in enumerate(gains))  # noqa: E731
    ideal = dcg(sorted(rel.values(), reverse=True)[:10])
    first = next((i for i, d in enumerate(ranked[:10]) if d in rel), None)
    return {"ndcg@10": dcg([float(rel.get(d, 0)) for d in ranked[:10]]) / ideal,
            "recall@10": len(set(ranked[:10]) & set(rel)) / len(rel),
            "recall@100": len(set(ranked[:100]) & set(rel)) / len(rel),
            "mrr@10": 0.0 if first is None else 1 / (first + 1),
            "p@1": 1.0 if ranked[:1] and ranked[0] in rel else 0.0}


def test_ir_measures_matches_the_by_hand_definitions() -> None:
    rng = random.Random(7)
    rankings, qrels = {}, {}
    for q in range(300):
        docs = [f"d{i}" for i in range(rng.randint(5, 150))]
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, min(12, len(docs))))}
        rankings[f"q{q}"] = rng.sample(docs, rng.randint(0, len(docs)))  # some empty: abstentions
    got = per_query_metrics(rankings, qrels)
    judged = [q for q in qrels if any(g > 0 for g in qrels[q].values())]
    assert sorted(got) == sorted(judged)
    for q in judged:
        assert got[q] == pytest.approx(oracle(rankings[q], qrels[q]), abs=1e-12), q


def test_order_is_ours_even_with_tied_scores() -> None:
    """trec_eval re-sorts by score (ties by doc id); localkb's rank order must be what is scored."""
    ds = Dataset(folder=None, corpus={"a": {}, "z": {}}, queries={"q": {"text": "?"}},  # type: ignore[arg-type]
                 qrels={"q": {"z": 1}})
    m = score(ds, Run(ranked={"q": [("z", 0.5), ("a", 0.5)]}))
    assert m["p@1"] == 1.0 and m["mrr@10"] == 1.0
