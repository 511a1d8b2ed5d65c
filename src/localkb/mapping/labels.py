"""Cluster labels: class-based TF-IDF (c-TF-IDF, as in BERTopic) over the KB's own tokenizer.

A cluster is one "class document" (all its chunks' tokens). A term's weight in cluster ``c`` is
``tf(t, c) · log(1 + A / f(t))``: ``tf`` its share of the cluster's tokens, ``A`` the average number of
tokens per cluster, ``f(t)`` its count over all clusters — frequent in this cluster, rare elsewhere.
Tokens come from ``search.tokenizer`` (stop words removed; Chinese segmented into words by jieba), and
numbers, single Latin letters and single Chinese characters are not labels: labels are words. Terms are
counted by their stem (so "escalate" and "escalation" add up) and shown as the word the cluster uses most
for that stem ("diabetes", not "diabet").
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

TERMS = 6
LABEL_TERMS = 3
#: chunks per cluster read to find how each stem is written (its terms are frequent there by construction)
SURFACE_SAMPLE = 300
_NUMBER = re.compile(r"^[\d.\-_]+$")


def label_token(token: str) -> bool:
    """Is ``token`` worth showing as a label term?"""
    from ..search.tokenizer import has_cjk

    if _NUMBER.match(token):
        return False
    return len(token) >= 2 if has_cjk(token) else len(token) >= 3


def class_terms(texts_by_cluster: Sequence[Sequence[str]], top: int = TERMS,
                tokens_by_cluster: Sequence[Sequence[list[str]]] | None = None) -> list[list[tuple[str, float]]]:
    """The ``top`` most distinctive terms of each cluster with their c-TF-IDF weight (``tokens_by_cluster``:
    the texts' tokens, when the caller already has them)."""
    from ..search.tokenizer import tokenize

    if tokens_by_cluster is None:
        tokens_by_cluster = [[tokenize(text) for text in texts] for texts in texts_by_cluster]
    counts = [Counter(t for toks in group for t in toks if label_token(t)) for group in tokens_by_cluster]
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    sizes = [sum(c.values()) for c in counts]
    avg = (sum(sizes) / len(sizes)) if sizes else 0.0
    out: list[list[tuple[str, float]]] = []
    for c, size in zip(counts, sizes):
        if not size:
            out.append([])
            continue
        weights = {t: (n / size) * math.log(1 + avg / total[t]) for t, n in c.items()}
        out.append(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:top])
    return [[(spelled.get(t, t), w) for t, w in terms]
            for terms, spelled in zip(out, (_spellings(texts) for texts in texts_by_cluster))]


def _spellings(texts: Sequence[str]) -> dict[str, str]:
    """stem → the word most often written for it in (a sample of) ``texts``."""
    from ..search.tokenizer import surface_forms

    seen: dict[str, Counter[str]] = {}
    for text in texts[:SURFACE_SAMPLE]:
        for stem, word in surface_forms(text):
            seen.setdefault(stem, Counter())[word] += 1
    return {stem: words.most_common(1)[0][0] for stem, words in seen.items()}


def label(terms: Sequence[tuple[str, float]]) -> str:
    return " · ".join(t for t, _ in terms[:LABEL_TERMS]) or "(no words)"
