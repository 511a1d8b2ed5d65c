"""Split text into chunks that follow paragraphs, then sentences, then clauses — in English and Chinese.

Size is measured in *units*: one Latin word or one CJK character each (close to how sentence-transformers
tokenisers count: a word is 1–2 word pieces, a Chinese character is one). A chunk never cuts inside a
word, and cuts inside a Chinese sentence only when that sentence alone exceeds the size (then at a clause
mark ，；、 if there is one). ``overlap`` carries trailing sentences of one chunk into the next.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")
# sentence ends: Latin .!? followed by space, or CJK 。！？ (optionally followed by closing quotes)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9\u3400-\u9fff])|(?<=[。！？!?；])(?:[”」』）)\"']*)")
_CLAUSE = re.compile(r"(?<=[，、；,;：:])")


@dataclass(frozen=True)
class ChunkSettings:
    size: int = 180
    overlap: int = 30

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ValueError("chunk size must be at least 16 units")
        if not 0 <= self.overlap < self.size // 2:
            raise ValueError("chunk overlap must be between 0 and half the chunk size")


def units(text: str) -> int:
    return len(_UNIT.findall(text))


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        if out and not (_is_cjk(out[-1]) or _is_cjk(p[:1])):
            out += " "
        out += p
    return out


def _is_cjk(ch: str) -> bool:
    return bool(ch) and "\u3400" <= ch <= "\u9fff"


def _sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(paragraph) if s and s.strip()]


def _split_long(sentence: str, size: int) -> list[str]:
    """A sentence longer than a chunk: cut at clause marks, then between words / characters."""
    pieces: list[str] = []
    for clause in (c for c in _CLAUSE.split(sentence) if c.strip()):
        if units(clause) <= size:
            pieces.append(clause.strip())
            continue
        tokens = _UNIT.findall(clause)
        for i in range(0, len(tokens), size):
            pieces.append(_join(tokens[i:i + size]))
    # re-pack clauses greedily so pieces stay close to ``size``
    packed: list[str] = []
    for piece in pieces:
        if packed and units(packed[-1]) + units(piece) <= size:
            packed[-1] = _join([packed[-1], piece])
        else:
            packed.append(piece)
    return packed


def _segments(text: str, size: int) -> list[tuple[str, str]]:
    """(sentence, separator before it): " " or "" inside a paragraph, "\n" in records, "\n\n" between paragraphs."""
    segs: list[tuple[str, str]] = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text)):
        if not paragraph:
            continue
        record = _has_lines(paragraph)
        pieces = [ln.strip() for ln in paragraph.split("\n") if ln.strip()] if record \
            else _sentences(" ".join(paragraph.split()))
        for i, piece in enumerate(pieces):
            for j, part in enumerate(_split_long(piece, size) if units(piece) > size else [piece]):
                if i == 0 and j == 0:
                    sep = "\n\n"
                elif record and j == 0:
                    sep = "\n"
                else:
                    sep = "" if _is_cjk(part[:1]) or (segs and _is_cjk(segs[-1][0][-1:])) else " "
                segs.append((part, sep))
    return segs


def split_text(text: str, settings: ChunkSettings = ChunkSettings()) -> list[str]:
    """Chunks of at most ``settings.size`` units, in document order; empty text gives []."""
    size, overlap = settings.size, settings.overlap
    chunks: list[str] = []
    current: list[tuple[str, str]] = []
    current_units = 0
    fresh = 0  # segments in ``current`` not yet emitted in an earlier chunk
    for seg in _segments(text, size):
        u = units(seg[0])
        if current and current_units + u > size:
            chunks.append(_render(current))
            carry: list[tuple[str, str]] = []
            carried = 0
            for old in reversed(current):
                cu = units(old[0])
                if carried + cu > overlap or carried + cu + u > size:
                    break
                carry.insert(0, old)
                carried += cu
            current, current_units, fresh = carry, carried, 0
        current.append(seg)
        current_units += u
        fresh += 1
    if current and fresh:
        chunks.append(_render(current))
    return chunks


def _render(segs: list[tuple[str, str]]) -> str:
    return "".join(text if i == 0 else sep + text for i, (text, sep) in enumerate(segs)).strip()


def _has_lines(paragraph: str) -> bool:
    """Record-like paragraphs (``field: value`` lines from CSV/JSON) keep their line breaks."""
    lines = [line for line in paragraph.split("\n") if line.strip()]
    return len(lines) > 1 and sum(1 for line in lines if re.match(r"^[^:\n]{1,60}:\s", line)) >= len(lines) / 2
