"""Unit tests of the map's pure pieces (no model): normalisation, Otsu, grouping, diffs, labels."""
from __future__ import annotations

import numpy as np
import pytest

from localkb.errors import MapError
from localkb.mapping.dedup import choose_threshold, diff_ops, group_pairs, normalise_text, otsu, shingles
from localkb.mapping.labels import class_terms, label_token
from localkb.mapping.projection import pca_2d


def test_full_width_and_chinese_punctuation_do_not_matter():
    assert normalise_text("ＡＢＣ，１２３。") == normalise_text("abc, 123.")
    assert shingles("入库异常，由收货主管负责。") == shingles("入库异常,由收货主管负责.")


def test_otsu_splits_two_populations():
    values = np.concatenate([np.full(50, 0.5), np.full(50, 0.97)]).astype(np.float32)
    assert 0.5 < otsu(values) <= 0.97
    value, why = choose_threshold(values, "auto")
    assert 0.8 <= value <= 0.95 and "Otsu" in why
    few, why = choose_threshold(values[:5], "auto")
    assert "too few" in why
    with pytest.raises(MapError):
        choose_threshold(values, 1.2)


def test_groups_are_connected_components():
    assert group_pairs(6, [(0, 1), (1, 2), (4, 5)]) == [[0, 1, 2], [4, 5]]


def test_diff_shows_changed_numbers_and_added_text():
    ops = diff_ops("log it within 30 minutes", "log it within 45 minutes at dock 5")
    assert {"op": "-", "text": "30"} in ops and {"op": "+", "text": "45"} in ops
    assert any(op["op"] == "+" and "dock" in op["text"] for op in ops)


def test_labels_are_distinctive_words():
    terms = class_terms([["forklift brakes forklift helmet", "forklift shift"], ["刘备 关羽 桃园结义", "刘备 张飞"]])
    assert terms[0][0][0] == "forklift" and terms[1][0][0] == "刘备"
    assert not label_token("4012") and not label_token("桃") and label_token("桃园")


def test_pca_is_deterministic_and_scaled():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    a, b = pca_2d(x), pca_2d(x.copy())
    assert a.shape == (200, 2) and np.allclose(a, b) and np.abs(a).max() <= 1.0 + 1e-6


def test_plus_plus_seeds_are_spread_and_deterministic():
    from localkb.mapping.kmeans import assign, kmeans, plus_plus

    rng = np.random.default_rng(0)
    centres = np.eye(4, 8, dtype=np.float32) * 10
    points = np.vstack([c + rng.normal(scale=0.1, size=(50, 8)) for c in centres]).astype(np.float32)
    seeds = plus_plus(points, 4, np.random.default_rng(1))
    assert len({int(np.argmin(((centres - s) ** 2).sum(1))) for s in seeds}) == 4  # one seed per blob
    assert np.array_equal(seeds, plus_plus(points, 4, np.random.default_rng(1)))
    labels = assign(points, kmeans(points, 4))
    assert all(len(set(labels[i * 50:(i + 1) * 50].tolist())) == 1 for i in range(4))
    assert plus_plus(np.ones((5, 3), dtype=np.float32), 3, np.random.default_rng(0)).shape == (3, 3)  # ties


def test_warm_start_follows_the_previous_clusters():
    from localkb.mapping.kmeans import warm_start

    features = np.array([[0, 0], [0, 1], [10, 10], [10, 11], [5, 5]], dtype=np.float32)
    init = warm_start(features, np.array([1, 1, 0, 0, -1]), 3)
    assert np.allclose(init[0], [10, 10.5]) and np.allclose(init[1], [0, 0.5])  # ids keep their meaning
    assert init.shape == (3, 2)  # the cluster with no survivors is seeded afresh


def test_thin_text_clusters_on_dense_vectors_alone_and_says_so():
    from localkb.mapping.features import cluster_features

    vectors = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    feats, described = cluster_features(vectors, ["alpha", "beta", "gamma", "delta"])
    assert feats.shape == (4, 6) and described.startswith("dense vectors only")
    vocabulary = "shipping dock pallet carrier invoice freight customs label forklift helmet brakes shift".split()
    words = [" ".join(vocabulary[i % 3:i % 3 + 10]) for i in range(10)]
    feats, described = cluster_features(np.repeat(vectors, 3, axis=0)[:10], words)
    assert feats.shape[1] > 6 and "lexical half" in described
    assert np.allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)


def test_labels_are_written_as_the_corpus_writes_them_not_as_stems():
    terms = class_terms([["Type 2 diabetes codes", "diabetes mellitus is coded E11"], ["dock doors and pallets"]])
    words = [t for t, _ in terms[0]]
    assert "diabetes" in words and "diabet" not in words  # counted by stem, shown as written
