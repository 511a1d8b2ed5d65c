"""Does a retrieved chunk support an answer sentence? The check behind verified citations.

Two signals, both from the KB's own components:

* **lexical**: the share of the sentence's content tokens (the KB's tokenizer: stemmed English, jieba
  Chinese, codes kept whole) found in the chunk — counting only tokens the question does not already
  hold when there are any, because every retrieved chunk shares the question's words and what must be
  checked is what the answer adds (the port number, the date, the name);
* **embedding**: the cosine of the sentence with the chunk's best-matching sentence (or the whole
  chunk), with the KB's embedder.

``support_score = w · lexical + (1 − w) · cosine``; a sentence is supported by a chunk when the score
reaches ``threshold``. ``w`` and ``threshold`` are not guessed: ``benchmarks/calibrate_support.py``
chooses them on SQuAD v1.1 dev and checks them on a held-out set (SQuADShifts NYT); the figures are in
docs/benchmarks.md, section "support". Without an embedder the lexical signal alone is used, with its
own calibrated threshold.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..search.tokenizer import tokenize
from .citations import split_sentences, without_markers

if TYPE_CHECKING:
    from ..embedders.base import Embedder


@dataclass(frozen=True)
class SupportRule:
    lexical_weight: float
    threshold: float


#: calibrated by benchmarks/calibrate_support.py (docs/benchmarks.md, "support"); do not edit by hand
WITH_EMBEDDER = SupportRule(lexical_weight=0.4, threshold=0.565)
LEXICAL_ONLY = SupportRule(lexical_weight=1.0, threshold=0.667)


@dataclass
class SentenceCheck:
    """One answer sentence after checking: ``citations`` are the passage numbers that support it
    (moved to the supporting passage when the model cited another one), ``cited`` what the model wrote."""

    text: str
    citations: list[int]
    cited: list[int]
    supported: bool
    support_score: float
    #: the model's citation did not support the sentence and another passage did: citations changed
    moved: bool = False
    scores: dict[int, float] = field(default_factory=dict)
    #: ``ask --quote``: the spans the sentence quotes, each checked verbatim (None in the default mode)
    quotes: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SupportChecker:
    """Scores answer sentences against passages with the KB's tokenizer and (optionally) embedder."""

    def __init__(self, embedder: Embedder | None = None, rule: SupportRule | None = None) -> None:
        self.embedder = embedder
        self.rule = rule or (WITH_EMBEDDER if embedder is not None else LEXICAL_ONLY)

    def lexical(self, sentence: str, chunk: str, question: str = "") -> float:
        words = set(tokenize(without_markers(sentence)))
        if not words:
            return 0.0
        novel = words - set(tokenize(question)) or words
        held = set(tokenize(chunk))
        return len(novel & held) / len(novel)

    def cosine(self, sentences: Sequence[str], chunks: Sequence[str]) -> np.ndarray:
        """``(len(sentences), len(chunks))``: each sentence against each chunk's best sentence or itself."""
        if self.embedder is None or not sentences or not chunks:
            return np.zeros((len(sentences), len(chunks)), dtype=np.float32)
        sent, blocks = self._embed(sentences, chunks)
        out = np.zeros((len(sentences), len(chunks)), dtype=np.float32)
        for j, block in enumerate(blocks):
            out[:, j] = (sent @ block.T).max(axis=1)
        return out

    def cosine_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """The same cosine for ``(sentence, chunk)`` pairs, embedded in one batch (for calibration)."""
        if self.embedder is None or not pairs:
            return np.zeros(len(pairs), dtype=np.float32)
        chunks = sorted({c for _, c in pairs})
        sent, blocks = self._embed([s for s, _ in pairs], chunks)
        where = {c: j for j, c in enumerate(chunks)}
        return np.array([float((sent[i] @ blocks[where[c]].T).max()) for i, (_, c) in enumerate(pairs)],
                        dtype=np.float32)

    def _embed(self, sentences: Sequence[str], chunks: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        assert self.embedder is not None
        parts: list[list[str]] = [[c, *[s for s in split_sentences(c) if s != c]] for c in chunks]
        flat = [without_markers(s) for s in sentences] + [p for ps in parts for p in ps]
        vecs = self.embedder.embed(flat)
        sent, rest = vecs[:len(sentences)], vecs[len(sentences):]
        blocks, start = [], 0
        for ps in parts:
            blocks.append(rest[start:start + len(ps)])
            start += len(ps)
        return sent, blocks

    def scores(self, sentences: Sequence[str], chunks: Sequence[str], question: str = "") -> np.ndarray:
        """``support_score`` of each sentence (rows) against each chunk (columns)."""
        lex = np.array([[self.lexical(s, c, question) for c in chunks] for s in sentences],
                       dtype=np.float32).reshape(len(sentences), len(chunks))
        w = self.rule.lexical_weight
        if w >= 1.0:
            return lex
        return w * lex + (1.0 - w) * np.clip(self.cosine(sentences, chunks), 0.0, 1.0)

    def check(self, sentences: Sequence[tuple[str, list[int]]], chunks: Sequence[str],
              question: str = "") -> list[SentenceCheck]:
        """Check each ``(sentence, cited passage numbers)`` against ``chunks`` (passage n is ``chunks[n-1]``).

        A cited passage that supports the sentence is kept; when none of the cited ones does and another
        passage does, the citation moves to the best-supporting passage; otherwise the sentence is
        unsupported (its citations stay as written, flagged).
        """
        matrix = self.scores([s for s, _ in sentences], chunks, question)
        t = self.rule.threshold
        out: list[SentenceCheck] = []
        for i, (text, cited) in enumerate(sentences):
            row = {n: round(float(matrix[i, n - 1]), 3) for n in range(1, len(chunks) + 1)}
            ok = [n for n in cited if row.get(n, 0.0) >= t]
            best = max(row, key=lambda n: row[n]) if row else 0
            if ok:
                out.append(SentenceCheck(text, ok, list(cited), True, max(row[n] for n in ok), scores=row))
            elif best and row[best] >= t:
                out.append(SentenceCheck(text, [best], list(cited), True, row[best], moved=bool(cited),
                                         scores=row))
            else:
                top = max((row.get(n, 0.0) for n in cited), default=row.get(best, 0.0))
                out.append(SentenceCheck(text, list(cited), list(cited), False, top, scores=row))
        return out
