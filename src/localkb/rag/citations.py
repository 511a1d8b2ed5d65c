"""Citation markers in an answer (``[1]``, ``[1, 2]``, ``【1】``) and the answer's sentences."""
from __future__ import annotations

import re

CITATION = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]】]")
_SEP = re.compile(r"[,，、;]")
#: a sentence ends at . ! ? followed by space (so "2.4" and "e11.9" stay whole) or at 。！？ (no space in Chinese)
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*|\n+")


def _numbers(match: re.Match[str]) -> list[int]:
    return [int(x.strip()) for x in _SEP.split(match.group(1))]


def parse_citations(text: str, count: int) -> tuple[list[int], list[int]]:
    """Numbers cited in ``text`` as ``[1]``, ``[1, 2]`` or ``【1】``: (valid in 1..count, invalid), in order."""
    valid: list[int] = []
    invalid: list[int] = []
    for m in CITATION.finditer(text):
        for n in _numbers(m):
            bucket = valid if 1 <= n <= count else invalid
            if n not in bucket:
                bucket.append(n)
    return valid, invalid


def strip_invalid_citations(text: str, count: int) -> str:
    """Remove citation markers whose numbers name no passage, so no reference dangles."""
    def keep(m: re.Match[str]) -> str:
        nums = _numbers(m)
        good = [n for n in nums if 1 <= n <= count]
        return "".join(f"[{n}]" for n in good) if len(good) != len(nums) else m.group(0)

    return re.sub(r"\s+(?=[.,;:!?。，])", "", CITATION.sub(keep, text)).strip()


def has_words(text: str) -> bool:
    """Is there anything besides citation markers, spaces and punctuation in ``text``?"""
    return bool(re.search(r"\w", CITATION.sub("", text)))


def without_markers(text: str) -> str:
    """``text`` with every citation marker removed (and the space before it)."""
    return re.sub(r"\s+(?=[.,;:!?。，])", "", CITATION.sub("", text)).strip()


def split_sentences(text: str) -> list[str]:
    """The sentences of an answer, English or Chinese; a marker after the full stop stays with its sentence."""
    pieces = [p.strip() for p in _BOUNDARY.split(text) if p and p.strip()]
    out: list[str] = []
    for piece in pieces:
        if out and not has_words(piece):  # "… 7781. [1]": the marker belongs to the sentence before
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def with_citations(sentence: str, numbers: list[int]) -> str:
    """``sentence`` with its markers replaced by ``numbers`` (before the final punctuation)."""
    bare = without_markers(sentence)
    if not numbers:
        return bare
    marks = "".join(f"[{n}]" for n in numbers)
    m = re.search(r"[.!?。！？]+$", bare)
    if m:
        return f"{bare[:m.start()]} {marks}{bare[m.start():]}"
    return f"{bare} {marks}"
