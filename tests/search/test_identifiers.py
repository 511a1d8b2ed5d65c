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


def test_fast_pattern_and_prefilter_match_the_reference_regex():
    """The literal-first pattern plus the substring pre-check find exactly what the look-behind-first
    regex of the rule's definition finds, on random texts around the code and its case variants
    (Unicode case twins included: Kelvin sign, long s, dotless i, dotted capital I)."""
    import random
    import re

    def reference(code: str) -> re.Pattern[str]:
        body = re.escape(code)
        flags = 0 if not any(c.isdigit() for c in code) else re.IGNORECASE
        return re.compile(rf"(?<![A-Za-z0-9])(?<![A-Za-z0-9][.\-_]){body}(?![A-Za-z0-9])(?![.\-_][A-Za-z0-9])", flags)

    rng = random.Random(18)
    alphabet = "aAeEsSkKiI1190.-_ \n/\u212a\u017f\u0131\u0130é"
    codes = ["E11.9", "NFL", "a1", "IBE", "e1-9", "K9", "S1", "I9", "SKU-1234"]
    checked = found = 0
    for _ in range(20_000):
        code = rng.choice(codes)
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.6:
            at = rng.randint(0, len(text))
            variant = code if rng.random() < 0.5 else code.swapcase()
            text = text[:at] + variant + text[at:]
        want = reference(code).search(text) is not None
        assert (matched_codes({"c": text}, [code])["c"] == [code]) is want, (code, text)
        assert contains(text, code) is want, (code, text)
        checked += 1
        found += want
    assert checked == 20_000 and 2_000 < found < 18_000  # both outcomes well exercised
