"""Calibration bookkeeping (pure): when a stored cut-off must be measured again."""

from __future__ import annotations

import pytest

from localkb.search.thresholds import BANK_EN, BANK_ZH, METHOD, SPREAD, stale


def record(**kw):
    return {"method": METHOD, "model": "m", "chunks": 1000, "cutoff": 0.3, "spread": SPREAD, **kw}


def test_fresh_record_is_reused():
    assert not stale(record(), "m", 1000)
    assert not stale(record(), "m", 1400)


def test_new_model_or_method_or_big_growth_recalibrates():
    assert stale(None, "m", 10)
    assert stale(record(model="other"), "m", 1000)
    assert stale(record(method="old"), "m", 1000)
    assert stale(record(spread=SPREAD + 1), "m", 1000)
    assert stale(record(), "m", 1600)
    assert stale(record(), "m", 600)


def test_banks_are_unrelated_everyday_text_in_both_languages():
    assert len(BANK_EN) >= 40 and len(BANK_ZH) >= 30
    assert len(set(BANK_EN)) == len(BANK_EN)


def test_cutoff_is_robust_to_an_on_topic_outlier():
    import numpy as np

    from localkb.search.thresholds import cutoff_from

    bank = np.array([0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22])
    base = cutoff_from(bank, spread=1.0)
    assert base == pytest.approx(0.16 + 1.4826 * 0.04)
    with_outlier = cutoff_from(np.append(bank, 0.95), spread=1.0)
    assert abs(with_outlier - base) < 0.02  # one bank sentence that matches the KB barely moves it
    assert cutoff_from(bank, spread=0.0) == pytest.approx(0.16)


def test_cutoff_never_exceeds_the_best_unrelated_score():
    import numpy as np

    from localkb.search.thresholds import cutoff_from

    bank = np.array([0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22])
    # 0.16 + 3 robust SD would be 0.34, above every unrelated sentence: capped at the bank's best
    assert cutoff_from(bank, spread=3.0) == pytest.approx(0.22)
