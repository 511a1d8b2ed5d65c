"""Tokenisation rules (pure): English, Chinese, mixed text and code-like tokens."""

from __future__ import annotations

import pytest

from localkb.search.tokenizer import STOP_WORDS, has_cjk, raw_tokens, tokenize, word_count


@pytest.mark.parametrize(
    "code, parts",
    [
        ("IBE", ["ibe"]),
        ("E11.9", ["e11.9", "e11", "9"]),
        ("ISO-8859-1", ["iso-8859-1", "iso", "8859", "1"]),
        ("SKU-1234", ["sku-1234", "sku", "1234"]),
        ("ERR-4012", ["err-4012", "err", "4012"]),
    ],
)
def test_code_like_tokens_are_kept_whole_plus_their_parts(code, parts):
    assert tokenize(f"see {code} here") == ["see", *parts]


def test_near_miss_codes_do_not_share_the_whole_token():
    assert (
        "e11.9" in tokenize("E11.9")
        and "e11.9" not in tokenize("E11.8")
        and "e11.9" not in tokenize("E11.91")
    )


def test_sentence_end_and_slash_do_not_glue_codes():
    assert tokenize("Code E11.9.")[:2] == ["code", "e11.9"]
    assert tokenize("AUS/AUT") == ["aus", "aut"]


def test_stop_words_dropped_and_lower_cased():
    assert tokenize("The Cat is on the MAT") == ["cat", "mat"]
    assert "the" in raw_tokens("the") and "the" in STOP_WORDS


def test_chinese_is_segmented_into_words_not_one_token_per_run():
    toks = tokenize("北京大学的自然语言处理研究很有名")
    assert "北京大学" in toks and "自然语言" in toks and "处理" in toks
    assert "的" not in toks  # a Chinese stop word
    assert "北京大学的自然语言处理研究很有名" not in toks


def test_mixed_chinese_and_english():
    toks = tokenize("我们用jieba分词，E11.9是糖尿病的代码")
    assert {"jieba", "分词", "e11.9", "糖尿病", "代码"} <= set(toks)


def test_tokenisation_is_deterministic():
    text = "南京市长江大桥 E11.9 jieba"
    assert tokenize(text) == tokenize(text) == tokenize(str(text))


def test_word_count_and_cjk_detection():
    assert word_count("?!... --- ***") == 0
    assert word_count("hello, 世界") == 2
    assert has_cjk("abc 中") and not has_cjk("abc")


def test_english_words_are_stemmed_so_forms_of_a_word_meet():
    assert tokenize("escalate")[0] == tokenize("escalation")[0] == tokenize("escalated")[0]
    assert tokenize("damaged parcels arrive") == tokenize("damage parcel arrives")


@pytest.mark.parametrize("text, kept", [
    ("IBE AUS OBES", ["ibe", "aus", "obes"]),           # acronyms in capitals: never stemmed
    ("E11.9 SKU-1234", ["e11.9", "e11", "9", "sku-1234", "sku", "1234"]),  # codes and their parts
    ("covid19 abc", ["covid19", "abc"]),                # digits, three letters
    ("入库异常", ["入库", "异常"]),                       # CJK never stemmed
])
def test_codes_acronyms_and_chinese_are_not_stemmed(text, kept):
    assert tokenize(text) == kept


def test_stop_words_are_matched_before_stemming():
    assert tokenize("Does doing") == []  # "does"/"doing" are stop words; their stems would not be


def test_the_stemmer_is_part_of_the_tokenizer_id():
    from localkb.search.tokenizer import STEMMER, TOKENIZER_ID

    assert STEMMER == "snowball-english" and TOKENIZER_ID.endswith("+snowball-english")
