"""Fusion functions (pure)."""

from __future__ import annotations

import pytest

from localkb.search.fusion import convex, fuse, minmax, order, ranks, rrf


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


def test_absolute_lexical_scale_caps_weak_matches():
    dense = {"a": 0.9, "b": 0.5}
    lexical = {"a": 1.0, "b": 4.0}
    assert convex(dense, lexical, alpha=0.5, lexical_scale=8.0) == pytest.approx({"a": 0.5625, "b": 0.25})
    assert convex(dense, lexical, alpha=0.5, lexical_scale=2.0)["b"] == pytest.approx(0.5)  # capped at 1
    assert fuse("convex-abs", dense, lexical, lexical_scale=8.0) == convex(dense, lexical, lexical_scale=8.0)


def test_fuse_dispatch_and_order():
    assert order(fuse("rrf", {"a": 1.0}, {"b": 1.0})) == ["a", "b"]
    assert order({"a": 0.1, "b": 0.7}) == ["b", "a"]
    with pytest.raises(ValueError, match="Unknown fusion"):
        fuse("max", {}, {})
