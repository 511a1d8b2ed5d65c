"""Fusion functions (pure)."""

from __future__ import annotations

import pytest

from localkb.search.fusion import convex, evidence_weights, fuse, minmax, order, ranks, rrf, strength


def test_ranks_are_one_based_and_ties_break_by_id():
    assert ranks({"b": 1.0, "a": 1.0, "c": 2.0}) == {"c": 1, "a": 2, "b": 3}


def test_rrf_rewards_agreement_and_ignores_scale():
    dense = {"x": 0.9, "y": 0.8, "z": 0.1}
    lexical = {"y": 1000.0, "x": 3.0}
    fused = rrf({"dense": dense, "lexical": lexical}, k=60)
    assert fused["x"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["y"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["z"] == pytest.approx(1 / 63)
    scaled = rrf({"dense": dense, "lexical": {c: s / 1000 for c, s in lexical.items()}}, k=60)
    assert scaled == fused


def test_minmax_edge_cases():
    assert minmax({}) == {}
    assert minmax({"a": 5.0}) == {"a": 1.0}
    assert minmax({"a": 1.0, "b": 3.0}) == {"a": 0.0, "b": 1.0}


def test_convex_combination_weights_and_missing_scores():
    dense = {"a": 0.9, "b": 0.5}
    lexical = {"b": 10.0, "c": 2.0}
    fused = convex(dense, lexical, alpha=0.5)
    assert fused == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.0})
    assert convex(dense, lexical, alpha=1.0)["a"] == pytest.approx(1.0)
    assert convex(dense, lexical, alpha=0.0)["b"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        convex(dense, lexical, alpha=1.5)


def test_strength_is_a_clipped_ramp():
    assert strength(0.2, 0.2, 0.3) == 0.0
    assert strength(0.25, 0.2, 0.3) == pytest.approx(0.5)
    assert strength(0.9, 0.2, 0.3) == 1.0
    assert strength(-1.0, 0.2, 0.3) == 0.0
    assert strength(0.3, 0.3, 0.3) == 1.0 and strength(0.29, 0.3, 0.3) == 0.0  # degenerate: a step


def test_evidence_weights_scale_each_signal_by_its_strength():
    assert evidence_weights(0.5, 1.0, 1.0) == pytest.approx((0.5, 0.5))
    assert evidence_weights(0.5, 1.0, 0.25) == pytest.approx((0.8, 0.2))
    assert evidence_weights(0.5, 0.0, 0.3) == pytest.approx((0.0, 1.0))
    assert evidence_weights(0.7, 0.0, 0.0) == pytest.approx((0.7, 0.3))  # nothing convincing: plain split
    with pytest.raises(ValueError):
        evidence_weights(1.2, 1.0, 1.0)


def test_weak_lexical_evidence_cannot_outvote_dense():
    # the lexical list is one incidental word: min-max would stretch its best chunk to 1.0
    dense = {"right": 0.62, "wrong": 0.40}
    lexical = {"wrong": 0.3}
    plain = fuse("convex-fixed", dense, lexical, alpha=0.5)
    assert plain["right"] == pytest.approx(plain["wrong"])  # a tie the lexical noise created
    weighted = fuse("convex", dense, lexical, alpha=0.5, strengths=(1.0, 0.2))
    assert order(weighted) == ["right", "wrong"]
    assert fuse("convex", dense, lexical, strengths=(1.0, 1.0)) == plain


def test_fuse_dispatch_and_order():
    assert order(fuse("rrf", {"a": 1.0}, {"b": 1.0})) == ["a", "b"]
    assert order({"a": 0.1, "b": 0.7}) == ["b", "a"]
    with pytest.raises(ValueError, match="Unknown fusion"):
        fuse("max", {}, {})


def test_zscore_and_dbsf_follow_the_signal_that_stands_out():
    from localkb.search.fusion import dbsf, zscore, zscores

    assert zscores({"a": 1.0, "b": 1.0}) == {"a": 0.0, "b": 0.0}
    # dense barely separates its candidates; BM25 singles out "c": both distribution-aware fusions pick it
    dense = {"a": 0.52, "b": 0.51, "c": 0.50, "d": 0.49}
    lexical = {"c": 9.0, "a": 1.0}
    for method in (zscore, dbsf):
        ranked = sorted(method(dense, lexical, alpha=0.5).items(), key=lambda kv: -kv[1])
        assert ranked[0][0] == "c", method.__name__
    with pytest.raises(ValueError):
        zscore(dense, lexical, alpha=1.5)
