"""Calibrating the ``auto`` cut-off from the KB itself: pseudo-queries made of the corpus' own sentences.

The unrelated banks (``thresholds.BANK_EN`` / ``BANK_ZH``) say what text about *nothing here* scores on a
KB. They say nothing about what a question about something here scores, so a bar set only from them
is either too low for a news corpus (where a question from another paper is half-related: SQuADShifts
NYT) or too high for an encyclopaedia. The KB's own sentences fill that gap:

1. up to :data:`SAMPLE` chunks of one language are drawn (seeded, so a KB always gets the same draw);
2. from each, one sentence of at least :data:`MIN_WORDS` words, cut to its first :data:`HEAD_WORDS`
   words, is a *pseudo-query* — roughly what a user asking about that passage types;
3. each pseudo-query is embedded as a query and searched; its best cosine is what an answerable question
   about this KB scores here. The quantiles of those best scores are stored.

Two things are read from those best scores. Their median is the top of the dense scale of the evidence
rule (``search.evidence``: dense + lexical on the KB's own scale), which decides ``auto`` in dense and hybrid
mode. Their :data:`PERCENTILE`-th percentile (``kb_cutoff``) is the bar of the cosine-alone rule that came
before it (``thresholds.auto_answers`` without evidence; ``PERCENTILE`` = 30 was chosen by leave-one-set-out
cross-validation over the English tuning sets): reported in each result, and the benchmarks' "before" row.

Only English (:data:`LANGUAGES`): a head of Chinese characters shares most of its characters with its
chunk and scores far higher than a real Chinese question in other words does (on the idiom sets the
20th percentile refused four in five answerable questions), so Chinese keeps the bank's cut-off. A
language with fewer than :data:`MIN_CHUNKS` chunks has no ``kb_cutoff`` (too few sentences to say).
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..parts import Vectors

LANGUAGES = ("en",)
SAMPLE = 150
MIN_CHUNKS = 30
MIN_WORDS = 4
HEAD_WORDS = 10
PERCENTILE = 30
#: the quantiles stored (so a benchmark can replay another percentile without searching again)
QUANTILES = (5, 10, 15, 20, 25, 30, 40, 50)
SEED = 11
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def pseudo_queries(texts: list[str], *, sample: int = SAMPLE, seed: int = SEED) -> list[str]:
    """One sentence head per sampled text (pure): the first :data:`HEAD_WORDS` words of a seeded choice
    among its sentences of :data:`MIN_WORDS` words or more; texts with no such sentence give none."""
    rng = random.Random(seed)
    picked = rng.sample(texts, min(sample, len(texts)))
    out = []
    for text in picked:
        sentences = [s for s in _SENTENCE_END.split(text) if len(s.split()) >= MIN_WORDS]
        if sentences:
            out.append(" ".join(rng.choice(sentences).split()[:HEAD_WORDS]))
    return out


def best_scores(kb: Vectors, queries: list[str]) -> np.ndarray:
    """Each query's best dense score against the KB (queries embedded as queries); no hit, no score."""
    from ..embedders.base import embed_queries

    best = []
    for row in embed_queries(kb.embedder, queries):
        hits = kb.store.search(row[None, :], 1)
        if hits:
            best.append(hits[0].score)
    return np.asarray(best, dtype=np.float64)


def measure_language(kb: Vectors, texts: list[str]) -> dict[str, Any] | None:
    """The pseudo-query calibration of one language's chunk ``texts`` on ``kb``: ``{"kb_cutoff", "n",
    "percentile", "quantiles"}``, or None with fewer than :data:`MIN_CHUNKS` chunks or pseudo-queries."""

    if len(texts) < MIN_CHUNKS:
        return None
    queries = pseudo_queries(texts)
    if len(queries) < MIN_CHUNKS:
        return None
    scores = best_scores(kb, queries)
    quantiles = {str(q): round(float(np.percentile(scores, q)), 4) for q in QUANTILES}
    return {"kb_cutoff": quantiles[str(PERCENTILE)], "n": len(scores), "percentile": PERCENTILE,
            "quantiles": quantiles}


def measure(kb: Vectors, languages: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """``{language: measure_language(...)}`` for the languages of :data:`LANGUAGES` that have enough
    chunks (``languages``: chunk texts by :func:`thresholds.script_language`)."""
    out = {}
    for lang in LANGUAGES:
        got = measure_language(kb, languages.get(lang, []))
        if got is not None:
            out[lang] = got
    return out
