"""Extractive answers (``ask --quote``): the model copies a span from a passage, and the copy is checked.

Small models are better at copying than at paraphrasing, and a copy can be verified exactly: each quote
the answer holds is looked up verbatim in the passage it cites, word for word (Chinese character for
character), after normalising what a faithful copy may change — case, Unicode width (NFKC), whitespace and
punctuation (ASCII and CJK alike, so "8:15 on weekdays" matches "8:15, on weekdays" and "办公室早上9点开门"
matches "办公室 早上 9 点开门。"). A quote
found in another passage than the one cited has its citation moved there; a quote found in no passage is
unsupported. ``support_score`` is the share of the quote's words in its longest run shared with the
passage (1.0 = found whole).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

from .citations import CITATION, parse_citations, split_sentences, without_markers
from .support import SentenceCheck

#: a quoted span: "…", “…”, «…», 「…」, 『…』 (straight single quotes are apostrophes in English: not quotes)
_QUOTED = re.compile(r'"([^"\n]+)"|“([^”\n]+)”|«([^»\n]+)»|「([^」\n]+)」|『([^』\n]+)』')
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
#: a word of letters and digits, or one CJK character (Chinese has no spaces: each character is a unit)
_UNIT = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
#: a quote must hold at least this many units, or one unit this long: "at" proves nothing, "7781" does
MIN_UNITS, MIN_SINGLE = 2, 3


def units(text: str) -> list[str]:
    """``text`` as compared for quoting: NFKC, case-folded words and CJK characters, without whitespace or
    punctuation, so a match always starts and ends on a word boundary ("ice" is not in "office")."""
    return _UNIT.findall(unicodedata.normalize("NFKC", text).casefold())


def normalise(text: str) -> str:
    """The units of ``text`` joined by single spaces (for display and tests)."""
    return " ".join(units(text))


def quotes_of(sentence: str) -> list[str]:
    """The quoted spans of one answer sentence; the whole sentence (markers removed) when it quotes nothing."""
    found = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(CITATION.sub("", sentence))]
    found = [q.strip() for q in found if q.strip()]
    return found or [without_markers(sentence)]


def _contains(hay: list[str], needle: list[str]) -> bool:
    n = len(needle)
    first = needle[0]
    return any(hay[i] == first and hay[i:i + n] == needle for i in range(len(hay) - n + 1))


def coverage(quote: str, passage: str) -> float:
    """Share of ``quote``'s units in its longest run shared with ``passage`` (1.0: found verbatim)."""
    q, p = units(quote), units(passage)
    if not q:
        return 0.0
    if _contains(p, q):
        return 1.0
    m = SequenceMatcher(None, q, p, autojunk=False).find_longest_match(0, len(q), 0, len(p))
    return round(m.size / len(q), 3)


def _long_enough(quote: str) -> bool:
    u = units(quote)
    return len(u) >= MIN_UNITS or (len(u) == 1 and len(u[0]) >= MIN_SINGLE)


def check_quotes(text: str, passages: Sequence[str]) -> list[SentenceCheck]:
    """Check every quote of ``text`` against ``passages`` (passage n is ``passages[n-1]``), per sentence.

    A sentence is supported when each of its quotes is found verbatim (normalised) in a passage it cites;
    when a quote is found only in other passages, the citation moves to the first of them. A sentence
    with a quote found nowhere, or too short to prove anything, is unsupported (its citations stay as
    written, flagged).
    """
    out: list[SentenceCheck] = []
    for sentence in split_sentences(text):
        cited = parse_citations(sentence, len(passages))[0]
        quotes = quotes_of(sentence)
        scores = {n: min(coverage(q, passages[n - 1]) for q in quotes) for n in range(1, len(passages) + 1)}
        long_enough = all(_long_enough(q) for q in quotes)
        ok = [n for n in cited if scores[n] == 1.0] if long_enough else []
        elsewhere = [n for n in scores if scores[n] == 1.0] if long_enough else []
        if ok:
            out.append(SentenceCheck(sentence, ok, cited, True, 1.0, scores=scores, quotes=quotes))
        elif elsewhere:
            out.append(SentenceCheck(sentence, elsewhere[:1], cited, True, 1.0, moved=bool(cited), scores=scores,
                                     quotes=quotes))
        else:
            best = max((scores[n] for n in cited), default=max(scores.values(), default=0.0))
            out.append(SentenceCheck(sentence, cited, cited, False, best, scores=scores, quotes=quotes))
    return out
