"""Calibration bookkeeping (pure): when a stored cut-off must be measured again."""

from __future__ import annotations

import pytest

from localkb.errors import SearchError
from localkb.search.thresholds import (
    BANK_EN,
    BANK_ZH,
    METHOD,
    SPREAD,
    STRICT_SPREAD,
    auto_answers,
    parse_min_score,
    script_language,
    stale,
)


def record(**kw):
    from localkb.search.selfcal import PERCENTILE

    return {"method": METHOD, "model": "m", "chunks": 1000, "cutoff": 0.3, "spread": SPREAD,
            "strict_spread": STRICT_SPREAD, "kb_percentile": PERCENTILE, **kw}


def test_fresh_record_is_reused():
    assert not stale(record(), "m", 1000)
    assert not stale(record(), "m", 1400)


def test_new_model_or_method_or_big_growth_recalibrates():
    assert stale(None, "m", 10)
    assert stale(record(model="other"), "m", 1000)
    assert stale(record(method="old"), "m", 1000)
    assert stale(record(spread=SPREAD + 1), "m", 1000)
    assert stale(record(kb_percentile=-1), "m", 1000)  # another pseudo-query percentile: measured again
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


@pytest.mark.parametrize("value, parsed", [
    (None, None), ("auto", "auto"), (" AUTO ", "auto"), ("none", "none"), ("Off", "none"), ("0.4", 0.4),
    (0.25, 0.25), (1, 1.0), ("-0.1", -0.1),
])
def test_one_parse_of_min_score(value, parsed):
    assert parse_min_score(value) == parsed


@pytest.mark.parametrize("value", ["high", "", "nan", "inf", True, [0.3]])
def test_bad_min_score_values_are_refused(value):
    with pytest.raises(SearchError, match="min_score"):
        parse_min_score(value)


def test_engine_reads_none_as_the_setting_and_no_cutoff_as_off(monkeypatch):
    from localkb.search.engine import resolve_min_score
    from localkb.search.thresholds import NO_CUTOFF

    monkeypatch.delenv("LOCALKB_MIN_SCORE", raising=False)
    assert resolve_min_score(None) == "auto"
    assert resolve_min_score(NO_CUTOFF) is None
    monkeypatch.setenv("LOCALKB_MIN_SCORE", "none")
    assert resolve_min_score(None) is None and resolve_min_score(0.3) == 0.3


@pytest.mark.parametrize("text, lang", [
    ("How is an inbound exception escalated?", "en"), ("入库异常怎么处理？", "zh"), ("IBE 是什么意思？", "zh"),
    ("入库异常 damaged goods at the dock", "mixed"), ("E11.9", "en"), ("", "en"),
])
def test_script_language(text, lang):
    assert script_language(text) == lang


CAL = {"cutoff": 0.30, "strict": 0.40, "median": 0.2}


@pytest.mark.parametrize("best, exact, lexical_strong, words_found, answered", [
    (0.10, True, False, False, True),    # an exact code answers whatever the cosine
    (0.10, False, True, False, True),    # strong words answer even when dense is weak
    (0.35, False, False, True, True),    # at the cut-off, with a query word in the KB
    (0.35, False, False, False, False),  # at the cut-off but no word of it anywhere: not enough …
    (0.45, False, False, False, True),   # … unless dense alone clears the stronger bar
    (0.25, False, False, True, False),   # below the cut-off, words incidental: refused
])
def test_auto_answers_when_any_one_signal_is_strong(best, exact, lexical_strong, words_found, answered):
    assert auto_answers(best, CAL, exact=exact, lexical_strong=lexical_strong, words_found=words_found) is answered


@pytest.mark.parametrize("best, words_found, answered", [
    (0.55, True, True),    # above the KB's own bar and the bank's cut-off
    (0.45, True, False),   # above the bank's cut-off (0.30) but below what the KB's own sentences score
    (0.45, False, False),  # … and no stronger bar bypasses it
    (0.52, False, True),   # no word here, but above both the KB's bar and the bank's strict bar
])
def test_the_kbs_own_bar_holds_dense_alone_back(best, words_found, answered):
    cal = {**CAL, "kb_cutoff": 0.50}
    assert auto_answers(best, cal, exact=False, lexical_strong=False, words_found=words_found) is answered
    assert auto_answers(0.1, cal, exact=False, lexical_strong=True, words_found=True)  # words still answer
    assert auto_answers(0.1, cal, exact=True, lexical_strong=False, words_found=False)  # so does a code


def test_pseudo_queries_are_seeded_sentence_heads():
    from localkb.search.selfcal import HEAD_WORDS, pseudo_queries

    texts = [f"Short. The warehouse {i} receives pallets of goods every morning before eight and checks "
             f"them. Done." for i in range(50)] + ["No sentence long enough.", "二十个汉字的句子不算英文句子。"]
    heads = pseudo_queries(texts, sample=52)
    assert heads == pseudo_queries(texts, sample=52)  # the same KB always gets the same draw
    assert len(heads) == 51 and all(len(h.split()) <= HEAD_WORDS for h in heads)
    assert all(h.startswith("The warehouse") or h == "No sentence long enough." for h in heads)
    assert "Short." not in heads and "Done." not in heads


@pytest.mark.parametrize("share, answered", [
    (0.31, True),   # its words sit together in one chunk more than any unrelated question's do
    (0.30, False),  # at the bar is not above it: the bank's own highest share sits there
    (0.10, False),
    (None, False),  # not measured (dense or lexical mode): the bank's cosine rule alone
])
def test_the_terms_bar_answers_a_chinese_query_the_cosine_cannot(share, answered):
    cal = {**CAL, "terms": {"cutoff": 0.30, "median": 0.1, "max": 0.30}}
    assert auto_answers(0.1, cal, exact=False, lexical_strong=False, words_found=True,
                        terms_share=share) is answered
    assert not auto_answers(0.1, CAL, exact=False, lexical_strong=False, words_found=True, terms_share=0.9)


def test_everyday_words_weigh_less_than_content_words():
    from localkb.search.tokenizer import everyday_idf

    assert everyday_idf("不") < everyday_idf("但是") < everyday_idf("货物") < everyday_idf("剪指甲")
    assert everyday_idf("到") < everyday_idf("数量")
    assert everyday_idf("zzqx-not-a-word") == max(everyday_idf(w) for w in ("zzqx-not-a-word", "货物", "不"))


def test_a_word_and_its_parts_count_once():
    from localkb.search.evidence import words

    assert words(["一个月", "一个", "手机"]) == {"一个月", "手机"}  # jieba's search mode: 一个月 and its part
    assert words(["发货单", "发货", "货单"]) == {"发货单"}
    assert words(["入库", "异常"]) == {"入库", "异常"}
    assert words([]) == set()
