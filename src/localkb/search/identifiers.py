"""Exact identifiers and acronyms in queries: IBE is not OBE, E11.9 is not E11.8, AUT is not AUS.

**Detection.** A query word (surrounding punctuation stripped) is *code-like* when it is

* letters and digits mixed, possibly joined by ``.``, ``-`` or ``_`` (``E11.9``, ``SKU-1234``, ``ERR-4012``,
  ``ISO-8859-1``, ``B2B``, ``UTF-8``), or
* an upper-case acronym of 2–10 letters (``IBE``, ``AUT``, ``NASA``), possibly joined the same way
  (``AT&T`` is not: ``&`` is not a joiner; ``AUS/AUT`` is two codes).

Pure numbers (``2010``) and ordinary words are not code-like. A query written all in capitals
("WHAT IS IBE") makes every word look like an acronym: a known limit.

**Containment.** A chunk contains a code when the code occurs in its text as a whole token: not inside
a longer code (``E11.9`` is not in ``E11.91`` nor ``E11.9.1``; ``IBE`` is not in ``IBEX``). Acronyms made
only of letters match case-sensitively (``IN`` does not match the word "in"); codes with digits match
case-insensitively (``e11.9`` finds ``E11.9``). Enrichment prefixes (tags, titles) count as text.

**Ranking rule.** Chunks containing more of the query's codes rank above chunks containing fewer,
whatever their fused score; ties keep the fused order. Chunks that contain a code are added to the
candidates even when neither retriever found them. When no chunk contains a code, the result says so
(``exact_match[code] = False``) and the hits are near-misses, never flagged as matches; when the query
is *only* codes and none is found, there are no hits at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_JOIN = r"[.\-_]"
_STRIP = "\"'`“”‘’()[]{}<>,;!?。，；！？、：…/"
_CODE_RE = re.compile(r"^[A-Za-z0-9]+(?:[.\-_][A-Za-z0-9]+)*$")
_ACRONYM_RE = re.compile(r"^[A-Z]{2,10}(?:[.\-_][A-Z0-9]{1,10})*$")


def _clean(word: str) -> str:
    word = word.strip(_STRIP)
    return word.rstrip(".:")  # sentence end: "code E11.9." → "E11.9"


def is_code(word: str) -> bool:
    """True for code-like words (see the module docstring)."""
    if not word or not _CODE_RE.match(word):
        return False
    if _ACRONYM_RE.match(word):
        return True
    has_digit = any(c.isdigit() for c in word)
    has_alpha = any(c.isalpha() for c in word)
    return has_digit and has_alpha


def find_codes(query: str) -> list[str]:
    """Code-like words of ``query`` in order of appearance, without duplicates."""
    out: list[str] = []
    for raw in re.split(r"[\s/,;]+", query):
        word = _clean(raw)
        if is_code(word) and word not in out:
            out.append(word)
    return out


def case_sensitive(code: str) -> bool:
    return not any(c.isdigit() for c in code)


def code_pattern(code: str) -> re.Pattern[str]:
    """Regex matching ``code`` as a whole token (not inside a longer code).

    The code comes first and the checks on what precedes it are look-behinds over the code's own
    width, so the regex engine scans for the literal instead of trying the look-behinds at every
    position (the same matches as putting them before the code; fuzz-tested)."""
    body, width = re.escape(code), len(code)
    pattern = (rf"{body}(?<![A-Za-z0-9][\s\S]{{{width}}})(?<![A-Za-z0-9]{_JOIN}[\s\S]{{{width}}})"
               rf"(?![A-Za-z0-9])(?!{_JOIN}[A-Za-z0-9])")
    return re.compile(pattern, 0 if case_sensitive(code) else re.IGNORECASE)


def contains(text: str, code: str) -> bool:
    """Does ``text`` contain ``code`` as a whole token?"""
    return code_pattern(code).search(text) is not None


def _may_contain(text: str, code: str, folded: str | None) -> bool:
    """A necessary condition for ``contains`` that costs a substring search: the code's characters occur
    (case-folded for codes with digits; a non-ASCII text keeps the regex's own Unicode case rules)."""
    if folded is None:
        return code in text
    if text.isascii():
        return folded in text.lower()
    return re.search(re.escape(code), text, re.IGNORECASE) is not None


def matched_codes(texts: Mapping[str, str], codes: Iterable[str]) -> dict[str, list[str]]:
    """``{chunk id: [codes it contains]}`` for every id in ``texts``.

    The whole-token regex runs only on texts that hold the code's characters at all (``_may_contain``):
    the same answer as the regex alone, at the cost of a substring search for the texts that do not."""
    patterns = [(c, code_pattern(c), None if case_sensitive(c) else c.lower()) for c in codes]
    return {cid: [c for c, p, f in patterns if _may_contain(text, c, f) and p.search(text)]
            for cid, text in texts.items()}


def apply_rule(order: list[str], matches: Mapping[str, list[str]]) -> list[str]:
    """Stable re-rank: more exact codes first, fused order otherwise (the ranking rule)."""
    position = {cid: n for n, cid in enumerate(order)}
    return sorted(order, key=lambda cid: (-len(matches.get(cid, ())), position[cid]))
