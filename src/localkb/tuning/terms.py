"""The terms a KB's users care about and the pairs of them a model can confuse.

A *term* is a code-like word of the chunks (:func:`localkb.search.identifiers.find_codes`: ``IBE``,
``E11.9``, ``ERR-4012``). Two terms are a *near-miss pair* when they differ by one character or by two
adjacent characters swapped (``IBE``/``OBE``, ``E11.9``/``E11.8``, ``SKU-1234``/``SKU-1243``): exactly
what a reader — and an embedding model that sees sub-word pieces — mixes up.

A term's *defining sentence* is the first sentence in which it is introduced: ``IBE (Inbound
Exception)``, ``**IBE**``, a heading ``## IBE — …`` or ``IBE: …`` / ``IBE is …``.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..search.identifiers import find_codes

#: terms in more than this share of the chunks are vocabulary, not identifiers worth auditing
MAX_SHARE = 0.5
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n{2,}|(?<=[。！？])")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Term:
    text: str
    #: chunks containing it as a whole token
    chunks: int


def collect_terms(texts: Mapping[str, str], *, max_terms: int = 400) -> list[Term]:
    """Code-like words of the chunks, most frequent first (at most ``max_terms``)."""
    counts: Counter[str] = Counter()
    for text in texts.values():
        counts.update(set(find_codes(text)))
    limit = max(2, int(MAX_SHARE * len(texts)))
    kept = [(t, n) for t, n in counts.items() if n <= limit and not t.isdigit()]
    kept.sort(key=lambda tn: (-tn[1], tn[0]))
    return [Term(t, n) for t, n in kept[:max_terms]]


def near_miss(a: str, b: str) -> bool:
    """Same length and one character different, or two adjacent characters swapped; never equal."""
    if a == b or len(a) != len(b) or len(a) < 2:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def near_miss_pairs(terms: Iterable[Term]) -> list[tuple[str, str]]:
    """Every unordered near-miss pair (``a < b``); bucketed by length, so not quadratic in all terms."""
    by_len: dict[int, list[str]] = {}
    for t in terms:
        by_len.setdefault(len(t.text), []).append(t.text)
    out = []
    for group in by_len.values():
        group.sort()
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if near_miss(a, b):
                    out.append((a, b))
    return out


def sentences(text: str) -> list[str]:
    """Sentences (and headings, list items) of ``text``, stripped, non-empty."""
    out = []
    for block in _SENTENCE.split(text):
        for line in block.split("\n"):
            line = line.strip(" \t-*#")
            if line:
                out.append(line)
    return out


def definition_pattern(term: str) -> re.Pattern[str]:
    """``TERM (…)``, ``**TERM**``, ``TERM —/–/:`` or ``TERM is/means``, the term as a whole token."""
    t = re.escape(term)
    edge = r"(?<![A-Za-z0-9])"
    return re.compile(rf"{edge}(?:\*\*{t}\*\*|{t}\s*[(（]|{t}\s*[—–:：]\s|{t}\s+(?:is|means|stands for)\s)"
                      rf"|[(（]{t}[)）]")


def defining_sentence(term: str, text: str) -> str | None:
    """The first sentence of ``text`` that introduces ``term`` (see :func:`definition_pattern`), or None."""
    pattern = definition_pattern(term)
    for sentence in sentences(text):
        if pattern.search(sentence) and len(sentence) > len(term) + 8:
            return sentence
    return None


def headings(text: str) -> list[str]:
    """Markdown headings of ``text`` (their text, without the ``#``)."""
    return [h.strip(" #") for h in _HEADING.findall(text) if h.strip(" #")]
