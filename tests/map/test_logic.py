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
