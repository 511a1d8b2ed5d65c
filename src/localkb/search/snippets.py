"""Search snippets: the part of a chunk around the words that matched, not its first characters."""
from __future__ import annotations

import bisect

from .tokenizer import STOP_WORDS, tokenize

#: characters of chunk text a snippet shows
WIDTH = 300


def match_positions(text: str, query: str) -> list[int]:
    """Character offsets in ``text`` of the words that index to a query token (same rules as BM25)."""
    from .tokenizer import _TOKEN_RE

    wanted = {t for t in tokenize(query) if t not in STOP_WORDS}
    if not wanted:
        return []
    return [m.start() for m in _TOKEN_RE.finditer(text) if wanted.intersection(tokenize(m.group(0)))]


def snippet(text: str, query: str, width: int = WIDTH) -> str:
    """At most ``width`` characters of ``text`` (whitespace collapsed), centred where most query words
    match; ``…`` marks what was cut. The chunk's start when no word matches (a purely semantic hit)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    hits = match_positions(flat, query)
    start = 0
    if hits:
        lead = width // 3
        best = max(hits, key=lambda p: bisect.bisect_left(hits, p - lead + width) - bisect.bisect_left(hits, p - lead))
        start = max(0, min(best - lead, len(flat) - width))
        space = flat.rfind(" ", 0, start + 1) if start else 0  # begin on a word
        start = space + 1 if 0 < space and start - space < 20 else start
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")
