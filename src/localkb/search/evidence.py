"""Is a query about something in this KB? Its dense and lexical evidence on one scale, calibrated per KB.

An answerable question usually has a strong dense score *or* real lexical evidence — its rare words occur
together in one of the chunks it finds — and an unrelated one has neither. Looking at the cosine alone
(``thresholds.auto_answers`` before this) cannot tell a half-related question (another encyclopedia's
question on a Wikipedia KB: cosine at the edge, one incidental word matched) from an answerable one whose
cosine is low but whose key words are all in one paragraph. So ``auto`` adds the two signals, each
measured on a scale this KB sets:

* **dense** ``d``: the best cosine, 0 at the median best cosine of the unrelated bank's sentences
  (``thresholds.BANK_EN``, everyday text about nothing here) and 1 at the median best cosine of the KB's
  own pseudo-queries (``search.selfcal``: a sentence head of each of up to 150 chunks, what an answerable
  question about this KB scores here);
* **terms** ``t``: the query's words found together in one chunk, weighted by rarity — the largest share
  of the query's idf mass (``LexicalIndex.ideal_score`` of each distinct token; a token absent from the KB
  counts with the largest idf) that occurs in one of the :data:`TOP` best chunks by cosine or by BM25; 0 at
  the bank sentences' median share, 1 when every query word is in one chunk (what a pseudo-query, a
  sentence of the KB, scores by construction).

``evidence = d + t``; ``auto`` answers an English query (dense or hybrid mode) when it reaches
:data:`THRESHOLD` (or a chunk holds an exact query code). The threshold is in the KB's own units (0: a
typical unrelated sentence on both signals; 2: a typical sentence of the KB), so one value serves every KB;
0.65 was chosen by leave-one-set-out cross-validation over the English tuning sets (SQuAD dev, SQuADShifts
NYT) and is reported on sets that played no part (docs/benchmarks.md, ``search-generalise``).

Chinese queries have no such scale: a head of Chinese characters is no stand-in for a Chinese question
(``search.selfcal``), and a KB language with fewer than ``selfcal.MIN_CHUNKS`` chunks has none either. They
get a bar on the terms alone (``thresholds.terms_bar``, :func:`everyday_share`): the same share, but each word
weighed by its rarity in Chinese at large (``tokenizer.everyday_idf``, jieba's dictionary counts), not in this
KB — on a KB of a few dozen chunks the everyday words of a colloquial question (到了, 但是, 不) are absent,
and with the KB's idf they would weigh the most. Only a chunk holding at least two of the query's words
(:func:`words`: a word and jieba's parts of it count once) counts: one shared word is not "found together".
The bar is where the Chinese bank's unrelated sentences stop (``thresholds.cutoff_from``: median + 1.5 robust
SDs of their shares, capped at the highest), so it has no constant of its own. On the benchmark KBs and the
bundled corpus no bank sentence finds two of its words together, so the bar is 0 there and the rule reads
"two of the query's words in one of its best chunks"; where everyday questions do, the bar rises with them.
It answers also where the model cannot read Chinese (MiniLM), whose cosine says nothing there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .tokenizer import everyday_idf, tokenize

if TYPE_CHECKING:
    from ..parts import Calibrated
    from .lexical import LexicalIndex

#: chunks looked at for the query's words: the best this many by cosine and by BM25
TOP = 10
#: the evidence ``auto`` asks of an English query (see the module docstring)
THRESHOLD = 0.65


def term_weights(lex: LexicalIndex, tokens: Iterable[str]) -> dict[str, float]:
    """Each distinct query token's idf on this KB (a token the KB lacks gets the largest idf)."""
    return {t: lex.ideal_score([t]) for t in dict.fromkeys(tokens)}


def term_share(weights: Mapping[str, float], chunk_tokens: Iterable[Iterable[str]]) -> float:
    """The largest idf-weighted share of the query's tokens that one chunk holds (pure), in [0, 1]."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return max((sum(weights[t] for t in set(toks) & weights.keys()) / total for toks in chunk_tokens), default=0.0)


def best_chunks(dense: Mapping[str, float], lexical: Mapping[str, float], n: int = TOP) -> list[str]:
    """The ``n`` best chunk ids by cosine, then the ``n`` best by BM25 (positive only), without repeats."""
    by_dense = sorted(dense, key=lambda c: (-dense[c], c))[:n]
    by_lex = sorted((c for c in lexical if lexical[c] > 0), key=lambda c: (-lexical[c], c))[:n]
    return list(dict.fromkeys([*by_dense, *by_lex]))


def query_share(lex: LexicalIndex, tokens: list[str], dense: Mapping[str, float],
                lexical: Mapping[str, float]) -> float:
    """:func:`term_share` of ``tokens`` over the query's :func:`best_chunks` (the query's tokens each holds,
    from the index's postings)."""
    ids = best_chunks(dense, lexical)
    if not tokens or not ids:
        return 0.0
    return term_share(term_weights(lex, tokens), lex.terms_in(ids, tokens).values())


def everyday_share(lex: LexicalIndex, tokens: list[str], dense: Mapping[str, float],
                   lexical: Mapping[str, float]) -> float:
    """:func:`query_share` with each token weighed by its rarity in the language (``everyday_idf``) instead of
    in this KB, from chunks that hold at least two of the query's words (:func:`words`) together: one shared
    word is not "found together" (高铁票怎么退 on an idiom KB: 退 alone held 29 % of the weight). See the
    module docstring."""
    ids = best_chunks(dense, lexical)
    if not tokens or not ids:
        return 0.0
    weights = {t: everyday_idf(t) for t in dict.fromkeys(tokens)}
    need = min(2, len(words(weights)))
    return term_share(weights, [held for held in lex.terms_in(ids, tokens).values() if len(words(held)) >= need])


def words(tokens: Iterable[str]) -> set[str]:
    """``tokens`` without those inside another of them (jieba's search mode gives 一个月 and 一个, 发货单 and
    发货: one word, not two; pure)."""
    toks = set(tokens)
    return {t for t in toks if not any(t != o and t in o for o in toks)}


def parts(best_dense: float, share: float, scale: Mapping[str, Any]) -> tuple[float, float]:
    """(dense, terms) on the KB's scale (``scale``: :func:`measure`'s record; pure)."""
    d0, d1 = (float(x) for x in scale["dense"])
    s0, s1 = (float(x) for x in scale["terms"])
    return (best_dense - d0) / max(d1 - d0, 1e-6), (share - s0) / max(s1 - s0, 1e-6)


def score(best_dense: float, share: float, scale: Mapping[str, Any]) -> float:
    """The query's evidence: dense + terms on the KB's scale (pure)."""
    d, t = parts(best_dense, share, scale)
    return d + t


Share = Callable[['LexicalIndex', list[str], Mapping[str, float], Mapping[str, float]], float]


def bank_shares(kb: Calibrated, lex: LexicalIndex, texts: list[str], share: Share | None = None) -> np.ndarray:
    """Each text's share (``share``: :func:`query_share`, the default, or :func:`everyday_share`) searched as a
    query (its best chunks by cosine and by BM25)."""
    share = query_share if share is None else share
    from ..embedders.base import embed_queries

    out = []
    for text, vector in zip(texts, embed_queries(kb.embedder, texts)):
        tokens = tokenize(text)
        dense = {h.id: h.score for h in kb.store.search(vector[None, :], TOP)}
        scores = lex.scores(tokens)
        lexical = dict(lex.top(scores, TOP)) if scores.size else {}
        out.append(share(lex, tokens, dense, lexical))
    return np.asarray(out, dtype=np.float64)


def measure(kb: Calibrated, bank: list[str], bank_median: float, own_median: float) -> dict[str, Any]:
    """The KB's evidence scale for one language: ``{"dense": [bank median, pseudo-query median],
    "terms": [bank median share, 1.0], "from"}`` (stored with the calibration; the :data:`THRESHOLD` asked of
    it is added by ``thresholds.for_query``)."""
    from .lexical import lexical_index

    shares = bank_shares(kb, lexical_index(kb), bank)
    return {"dense": [round(bank_median, 4), round(own_median, 4)],
            "terms": [round(float(np.median(shares)), 4), 1.0],
            "from": f"{len(bank)} unrelated bank sentences (0) and the KB's own pseudo-queries (1)"}

