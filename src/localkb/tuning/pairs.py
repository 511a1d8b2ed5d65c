"""Training pairs from the KB itself — no labels, no network.

``queries="corpus"`` (cheap, no LLM), per chunk:

* *heading*: a Markdown heading (or a short first line that reads like a title) → its chunk;
* *term*: a term the chunk defines (:func:`.terms.defining_sentence`) → the chunk, and the defining
  sentence → the chunk;
* *field*: a csv/json row ingested as ``key: value`` lines — one field's value (the code, the name) →
  the row's chunk;
* *sentence*: otherwise one sentence of the chunk (the inverse cloze task) → the chunk. With
  ``sentences_per_chunk=n`` > 1 (the fine-tune's default, :data:`FINETUNE_SENTENCES`) every chunk of two or more
  sentences gives up to ``n`` of them (4–40 words each, seeded choice) → the chunk, besides its other pairs:
  several pseudo-queries per chunk, the sentence kept in its passage (the questions a user asks are answered
  by a sentence *in* the chunk). A pair whose query is near-identical to its passage (word-set Jaccard above
  :data:`NEAR_IDENTICAL`) is dropped: it teaches the model nothing but to match a text to itself.

``queries="llm"``: the local LLM (the packaged Qwen GGUF by default) writes one question per chunk.

**Hard negatives** (:func:`mine_negatives`): each query embedded with the base model; the best-scoring chunk
ranked after the positive's own top places, below ``NEGATIVE_MARGIN`` × the positive's score (so a chunk that
also answers the query is not used as a negative) — the rule of sentence-transformers'
``mine_hard_negatives`` (``range_min``, ``relative_margin``), in numpy on the vectors already stored.
Audit collisions add explicit negatives: the term → its defining chunk, never the near-miss's.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .terms import collect_terms, defining_sentence, headings, sentences

if TYPE_CHECKING:
    from .audit import Collision

QUERY_KINDS = ("corpus", "llm")
#: a hard negative scores below this share of the positive's score (false negatives are likely above it)
NEGATIVE_MARGIN = 0.95
#: ranks skipped before a negative is taken (the top ones often answer the query too)
NEGATIVE_RANK_MIN = 1
PER_CHUNK = 3
SEED = 15
#: sentences per chunk used as pseudo-queries by the fine-tune (``corpus_pairs(sentences_per_chunk=...)``)
FINETUNE_SENTENCES = 12
#: a query sharing more than this share of its passage's word set is the passage itself, not a query
NEAR_IDENTICAL = 0.9
_WORD = re.compile(r"\w+")
_FIELD = re.compile(r"^\s*([\w\u4e00-\u9fff -]{1,40})\s*[:：]\s*(.+?)\s*$")
LLM_PROMPT = ("Write one short question that the passage below answers. Use the passage's own terms and "
              "codes. Reply with the question only.\n\nPassage:\n{text}")


@dataclass
class Pair:
    query: str
    positive: str  # chunk id
    kind: str
    negative: str | None = None  # chunk id
    #: trained against this text instead of the positive chunk's (a chunk → its own defining sentence)
    positive_text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def near_identical(query: str, passage: str, limit: float = NEAR_IDENTICAL) -> bool:
    """True when ``query``'s words are (nearly) ``passage``'s words: word-set Jaccard above ``limit``."""
    q, p = ({w.lower() for w in _WORD.findall(t)} for t in (query, passage))
    return bool(q) and len(q & p) / len(q | p) > limit


def _pseudo_sentences(text: str) -> list[str]:
    return [s for s in sentences(text) if 4 <= len(s.split()) <= 40 or (len(s) >= 8 and not s.isascii())]


def corpus_pairs(texts: Mapping[str, str], *, per_chunk: int = PER_CHUNK, seed: int = SEED,
                 sentences_per_chunk: int = 1) -> list[Pair]:
    """Pairs from headings, defined terms, csv/json fields and sentences (see the module docstring)."""
    rng = random.Random(seed)
    terms = [t.text for t in collect_terms(texts)]
    out: list[Pair] = []
    for cid, text in texts.items():
        found: list[Pair] = []
        for h in headings(text):
            found.append(Pair(h, cid, "heading"))
        for term in terms:
            if term in text:
                sentence = defining_sentence(term, text)
                if sentence:
                    found.append(Pair(term, cid, "term"))
                    found.append(Pair(sentence, cid, "term"))
        for record in text.split("\n\n"):
            fields = [m.groups() for m in map(_FIELD.match, record.splitlines()) if m]
            if len(fields) >= 2:
                found.append(Pair(fields[0][1], cid, "field"))
                longest = max(fields[1:], key=lambda f: len(f[1]))
                found.append(Pair(longest[1], cid, "field"))
        if not found:
            lines = _pseudo_sentences(text)
            first = text.strip().split("\n", 1)[0].strip()
            if 2 <= len(first.split()) <= 12 and len(first) < len(text) / 2:
                found.append(Pair(first, cid, "heading"))
            if lines and sentences_per_chunk <= 1:
                found.append(Pair(rng.choice(lines), cid, "sentence"))
        unique = list({p.query: p for p in found if p.query.strip() and p.query.strip() != text.strip()}.values())
        rng.shuffle(unique)
        out.extend(unique[:per_chunk])
        if sentences_per_chunk > 1:
            taken = {p.query for p in unique[:per_chunk]}
            lines = [s for s in dict.fromkeys(_pseudo_sentences(text)) if s not in taken]
            if len(lines) >= 2:
                rng.shuffle(lines)
                out.extend(Pair(s, cid, "sentence") for s in lines[:sentences_per_chunk] if not near_identical(s, text))
    return out


def llm_pairs(texts: Mapping[str, str], llm: Any, *, progress: Callable[[int, int], None] | None = None,
              max_chars: int = 1200) -> list[Pair]:
    """One question per chunk written by ``llm`` (an ``localkb.llm`` backend)."""
    out = []
    for n, (cid, text) in enumerate(texts.items(), 1):
        reply = llm.chat([{"role": "user", "content": LLM_PROMPT.format(text=text[:max_chars])}],
                         max_tokens=48, temperature=0.0)
        question = " ".join(str(reply).strip().splitlines()[:1]).strip().strip('"')
        if 3 <= len(question) <= 300:
            out.append(Pair(question, cid, "llm"))
        if progress:
            progress(n, len(texts))
    return out


def positive_text(pair: Pair, texts: Mapping[str, str]) -> str:
    return pair.positive_text if pair.positive_text is not None else texts[pair.positive]


def mine_negatives(pairs: list[Pair], ids: Sequence[str], vectors: np.ndarray, query_vectors: np.ndarray, *,
                   margin: float = NEGATIVE_MARGIN, rank_min: int = NEGATIVE_RANK_MIN, top: int = 30) -> int:
    """Give each pair without a negative its hard negative (in place); returns how many got one."""
    pos = {cid: n for n, cid in enumerate(ids)}
    scores = query_vectors @ vectors.T
    got = 0
    for n, pair in enumerate(pairs):
        if pair.negative is not None:
            continue
        row = scores[n]
        own = float(row[pos[pair.positive]])
        order = np.argsort(-row)[: top + rank_min + 1]
        for rank, j in enumerate(order):
            cid = ids[int(j)]
            if rank < rank_min or cid == pair.positive:
                continue
            if float(row[j]) < margin * own:
                pair.negative = cid
                got += 1
                break
    return got


#: each collision pair is repeated this many times: a few pairs among hundreds would barely move the model
COLLISION_REPEAT = 3


def collision_pairs(collisions: Sequence[Collision], texts: Mapping[str, str],
                    repeat: int = COLLISION_REPEAT) -> list[Pair]:
    """Explicit negatives from ``audit``: each term → its defining chunk, against the near-miss's chunk; and
    the defining chunk itself → its defining sentence, against the near-miss's chunk (what moves the two
    chunks apart, not only the bare term from the other chunk)."""
    out = []
    for c in collisions:
        (a, b), (ca, cb) = c.terms, (c.chunks[0]["id"], c.chunks[1]["id"])
        for term, own, other in ((a, ca, cb), (b, cb, ca)):
            out.append(Pair(term, own, "collision", other))
            sentence = defining_sentence(term, texts.get(own, ""))
            if sentence:
                out.append(Pair(sentence, own, "collision", other))
                out.append(Pair(texts.get(own, ""), own, "collision", other, positive_text=sentence))
    return out * max(1, repeat)


def data_hash(pairs: Sequence[Pair], texts: Mapping[str, str]) -> str:
    """sha256 of the training data (queries, positive and negative texts), recorded with the model."""
    digest = hashlib.sha256()
    for p in pairs:
        row = [p.query, p.positive_text or texts.get(p.positive, ""), texts.get(p.negative or "", "")]
        digest.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()
