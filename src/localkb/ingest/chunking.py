"""Split text into chunks that follow paragraphs, then sentences, then clauses — in English and Chinese.

Size is measured with a *counter*: by default :func:`units` (one Latin word or one CJK character each),
and at ingest the embedder's own tokenizer (``Embedder.count_tokens``), so that a chunk — with the
enrichment prefix embedded before it — never exceeds the model's window (``Embedder.max_tokens``) and
no tail is silently truncated by the model (:func:`chunks_for`). A chunk never cuts inside a word, and
cuts inside a sentence only when that sentence alone exceeds the size (then at a clause mark
，；、,; if there is one). ``overlap`` carries trailing sentences of one chunk into the next.

The recipe (unit, size, overlap, :data:`RECIPE`) is recorded in the KB manifest; when it changes,
re-ingesting re-chunks every document (see ``ingest.pipeline``).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..embedders import Embedder


class ChunkingRecord(Protocol):
    """What the chunker reads and updates in the KB's manifest (``manifest.Manifest`` is one; the manifest
    imports this module's constants, so the chunker names the shape rather than the class)."""

    chunk_size: int
    chunk_overlap: int
    chunk_unit: str
    chunk_recipe: str
    extra: dict[str, Any]

#: bump when the splitting rules change: re-ingest then re-chunks every document
RECIPE = "sentences-v2"
#: size unit of KBs built since chunks are measured in the embedder's tokenizer
UNIT = "model-tokens"
#: what manifests written before that recorded (no chunk_unit key): words + CJK characters, recipe 1
LEGACY_UNIT, LEGACY_RECIPE = "words", "sentences-v1"
#: default size and overlap in model tokens (180 words of English is ~240 MiniLM word pieces)
DEFAULT_SIZE, DEFAULT_OVERLAP = 240, 30
MIN_SIZE = 16

Counter = Callable[[str], int]

_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")
# sentence ends: Latin .!? followed by space, or CJK 。！？； (optionally followed by closing quotes)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9\u3400-\u9fff])|(?<=[。！？!?；])(?:[”」』）)\"']*)")
_CLAUSE = re.compile(r"(?<=[，、；,;：:])")


@dataclass(frozen=True)
class ChunkSettings:
    size: int = DEFAULT_SIZE
    overlap: int = DEFAULT_OVERLAP

    def __post_init__(self) -> None:
        if self.size < MIN_SIZE:
            raise ValueError(f"chunk size must be at least {MIN_SIZE} tokens")
        if not 0 <= self.overlap < self.size // 2:
            raise ValueError("chunk overlap must be between 0 and half the chunk size")


def units(text: str) -> int:
    """Latin words + CJK characters: the size unit without a tokenizer (and of KBs built before one)."""
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


def _split_long(sentence: str, size: int, count: Counter) -> list[str]:
    """A sentence longer than a chunk: cut at clause marks, then between words / characters."""
    pieces: list[str] = []
    for clause in (c for c in _CLAUSE.split(sentence) if c.strip()):
        if count(clause) <= size:
            pieces.append(clause.strip())
            continue
        current: list[str] = []
        used = 0
        for unit in _UNIT.findall(clause):
            n = count(unit)
            if current and used + n > size:
                pieces.append(_join(current))
                current, used = [], 0
            if n > size:  # one "word" longer than a chunk (a long code or URL): cut it by characters
                step = max(1, len(unit) * size // max(n, 1))
                pieces.extend(unit[i:i + step] for i in range(0, len(unit), step))
                continue
            current.append(unit)
            used += n
        if current:
            pieces.append(_join(current))
    # re-pack pieces greedily so they stay close to ``size``
    packed: list[str] = []
    for piece in pieces:
        if packed and count(packed[-1]) + count(piece) <= size:
            packed[-1] = _join([packed[-1], piece])
        else:
            packed.append(piece)
    return packed


def _segments(text: str, size: int, count: Counter) -> list[tuple[str, str]]:
    """(sentence, separator before it): " " or "" inside a paragraph, "\n" in records, "\n\n" between paragraphs."""
    segs: list[tuple[str, str]] = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text)):
        if not paragraph:
            continue
        record = _has_lines(paragraph)
        pieces = [ln.strip() for ln in paragraph.split("\n") if ln.strip()] if record \
            else _sentences(" ".join(paragraph.split()))
        for i, piece in enumerate(pieces):
            for j, part in enumerate(_split_long(piece, size, count) if count(piece) > size else [piece]):
                if i == 0 and j == 0:
                    sep = "\n\n"
                elif record and j == 0:
                    sep = "\n"
                else:
                    sep = "" if _is_cjk(part[:1]) or (segs and _is_cjk(segs[-1][0][-1:])) else " "
                segs.append((part, sep))
    return segs


def split_text(text: str, settings: ChunkSettings = ChunkSettings(), *, count: Counter = units,
               limit: int | None = None) -> list[str]:
    """Chunks of at most ``settings.size`` (and ``limit``) by ``count``, in document order; "" gives [].

    Counts of sentences are summed while packing; every chunk is then counted whole and, in the rare
    case joining made it longer (a tokenizer that merges across the join), split again.
    """
    size = settings.size if limit is None else max(1, min(settings.size, limit))
    overlap = min(settings.overlap, size // 4)
    memo: dict[str, int] = {}

    def counted(piece: str) -> int:
        if piece not in memo:
            memo[piece] = count(piece)
        return memo[piece]

    chunks: list[str] = []
    current: list[tuple[str, str]] = []
    current_units = 0
    fresh = 0  # segments in ``current`` not yet emitted in an earlier chunk
    for seg in _segments(text, size, counted):
        u = counted(seg[0])
        if current and current_units + u > size:
            chunks.append(_render(current))
            carry: list[tuple[str, str]] = []
            carried = 0
            for old in reversed(current):
                cu = counted(old[0])
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
    out: list[str] = []
    for chunk in chunks:
        n = count(chunk)
        if n <= size or size <= MIN_SIZE:
            out.append(chunk)
        else:
            out.extend(split_text(chunk, ChunkSettings(max(MIN_SIZE, 2 * size - n - 1), 0), count=count))
    return out


def chunks_for(text: str, prefix: str, settings: ChunkSettings, count: Counter, window: int) -> list[str]:
    """Chunks of ``text`` such that ``prefix + chunk`` (what is embedded) fits the model's ``window``.

    Raises:
        ValueError: the prefix alone leaves fewer than ``MIN_SIZE`` tokens for text.
    """
    room = window - (count(prefix) if prefix else 0)
    if room < MIN_SIZE:
        raise ValueError(f"the enrichment prefix takes {window - room} of the model's {window} tokens")
    chunks = split_text(text, settings, count=count, limit=room)
    if not prefix:
        return chunks
    out: list[str] = []
    for chunk in chunks:  # the prefix and the chunk may tokenise to one more piece together than apart
        over = count(prefix + chunk) - window
        out.extend([chunk] if over <= 0 else split_text(chunk, ChunkSettings(max(MIN_SIZE, room - over - 2), 0),
                                                        count=count))
    return out


class Chunker:
    """The KB's chunking at ingest: its recipe from the manifest, sizes in the embedder's tokens.

    :meth:`begin` moves a KB made with another recipe (or before chunks were measured in model tokens)
    onto the current one and returns the documents to re-chunk; :meth:`finish` records what is left and
    says what happened in the ingest report's notes. The embedder is loaded only when a text is chunked.
    """

    def __init__(self, manifest: ChunkingRecord, embedder: Callable[[], Embedder]) -> None:
        self.manifest = manifest
        self._embedder = embedder
        self.settings = ChunkSettings(manifest.chunk_size, manifest.chunk_overlap)
        self.pending: set[str] = set()
        self.migrated_from: str | None = None

    def begin(self, known_paths: Iterable[str]) -> set[str]:
        """Paths whose chunks were made with an older recipe (all of them right after a recipe change)."""
        m = self.manifest
        if (m.chunk_unit, m.chunk_recipe) != (UNIT, RECIPE):
            self.migrated_from = f"{m.chunk_size} {m.chunk_unit}, {m.chunk_recipe}"
            if m.chunk_unit == LEGACY_UNIT and (m.chunk_size, m.chunk_overlap) == (180, 30):
                m.chunk_size, m.chunk_overlap = DEFAULT_SIZE, DEFAULT_OVERLAP  # the old defaults → the new
            m.chunk_unit, m.chunk_recipe = UNIT, RECIPE
            m.extra["rechunk_pending"] = sorted(set(m.extra.get("rechunk_pending") or []) | set(known_paths))
            self.settings = ChunkSettings(m.chunk_size, m.chunk_overlap)
        self.pending = set(m.extra.get("rechunk_pending") or [])
        return self.pending

    def chunks(self, text: str, prefix: str) -> list[str]:
        """``text`` in chunks that fit the model's window with ``prefix`` before each (ValueError if the
        prefix alone leaves no room)."""
        model = self._embedder()
        return chunks_for(text, prefix, self.settings, model.count_tokens, model.max_tokens)

    def finish(self, rechunked: set[str], existing: set[str], notes: list[str]) -> bool:
        """Forget re-chunked (or deleted) documents; add notes. Returns whether the manifest changed."""
        m = self.manifest
        left = sorted(p for p in self.pending if p in existing and p not in rechunked)
        done = len(self.pending & rechunked)
        if done:
            notes.append(f"re-chunked {done} document(s) with the current recipe ({m.chunk_size} model tokens, "
                         f"overlap {m.chunk_overlap}, {RECIPE})"
                         + (f"; they were chunked as {self.migrated_from}" if self.migrated_from else ""))
        if left:
            notes.append(f"{len(left)} document(s) still have chunks from an older recipe (their files were not "
                         "among the paths ingested): ingest them again to re-chunk them")
        changed = self.migrated_from is not None or left != sorted(self.pending)
        if left:
            m.extra["rechunk_pending"] = left
        else:
            m.extra.pop("rechunk_pending", None)
        return changed


def _render(segs: list[tuple[str, str]]) -> str:
    return "".join(text if i == 0 else sep + text for i, (text, sep) in enumerate(segs)).strip()


def _has_lines(paragraph: str) -> bool:
    """Record-like paragraphs (``field: value`` lines from CSV/JSON) keep their line breaks."""
    lines = [line for line in paragraph.split("\n") if line.strip()]
    return len(lines) > 1 and sum(1 for line in lines if re.match(r"^[^:\n]{1,60}:\s", line)) >= len(lines) / 2
