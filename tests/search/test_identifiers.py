"""Identifier detection, exact containment and the ranking rule (pure)."""

from __future__ import annotations

import pytest

from localkb.search.identifiers import apply_rule, contains, find_codes, is_code, matched_codes


@pytest.mark.parametrize(
    "word", ["IBE", "OBE", "E11.9", "AUT", "ISO-8859-1", "SKU-1234", "ERR-4012", "UTF-8", "B2B"]
)
def test_code_like(word):
    assert is_code(word)


@pytest.mark.parametrize("word", ["What", "diabetes", "2010", "I", "a", "e.g", "", "AT&T"])
def test_not_code_like(word):
    assert not is_code(word)


def test_find_codes_strips_punctuation_and_keeps_order():
    assert find_codes("What does IBE mean, vs OBE? See E11.9. (SKU-1234) AUS/AUT IBE") == [
        "IBE",
        "OBE",
        "E11.9",
        "SKU-1234",
        "AUS",
        "AUT",
    ]
    assert find_codes("what is the weather like in 2010") == []


@pytest.mark.parametrize(
    "text, code, expected",
    [
        ("An IBE was raised.", "IBE", True),
        ("An OBE was raised.", "IBE", False),
        ("IBEX is a goat", "IBE", False),
        ("ibe in lower case", "IBE", False),  # letter-only acronyms are case-sensitive
        ("E11.9 — Type 2 diabetes", "E11.9", True),
        ("code e11.9", "E11.9", True),  # codes with digits are not
        ("E11.91 — other", "E11.9", False),
        ("E11.9.1 sub", "E11.9", False),
        ("E11.8 — Type 2", "E11.9", False),
        ("see E11.9.", "E11.9", True),
        ("AUS/AUT", "AUT", True),
        ("charset ISO-8859-15", "ISO-8859-1", False),
        ("charset ISO-8859-1;", "ISO-8859-1", True),
    ],
)
def test_whole_token_containment(text, code, expected):
    assert contains(text, code) is expected


def test_rule_puts_exact_matches_first_and_keeps_fused_order_otherwise():
    fused_order = ["obe", "e118", "ibe", "both", "none"]
    matches = matched_codes(
        {"obe": "OBE here", "e118": "E11.8", "ibe": "IBE here", "both": "IBE and E11.9", "none": "nothing"},
        ["IBE", "E11.9"],
    )
    assert matches["both"] == ["IBE", "E11.9"] and matches["obe"] == []
    assert apply_rule(fused_order, matches) == ["both", "ibe", "obe", "e118", "none"]
