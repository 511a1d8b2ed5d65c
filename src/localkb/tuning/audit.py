"""``localkb audit``: the terms this KB's embedder confuses, and near-duplicate chunks from different sources.

**Colliding terms.** For every near-miss pair of the KB's terms (:mod:`.terms`: ``IBE``/``OBE``,
``E11.9``/``E11.8``) with chunks that hold one and not the other, two signals, both measured on the
stored vectors and the bare term embedded as a query:

1. *top hit*: the bare term's dense top hit is a chunk that lacks it but holds the near-miss (a dense
   search for ``IBE`` answers with the OBE chunk);
2. *definitions*: the two terms' defining chunks (the chunk holding one and not the other that
   introduces it — ``IBE (Inbound Exception)`` — else the one scoring best for the bare term) have a
   cosine of at least ``bar = cutoff + (1 - cutoff) * DEFINITION_SHARE``: more than halfway from the
   KB's calibrated cut-off (what *related* text scores; :mod:`localkb.search.thresholds`) to identical.
   Two definitions of distinct codes that close look like one subject to the model.

Each row gives both terms, both chunks, the cosine, each term's dense scores and where hybrid search
ranks the two chunks today (the exact-identifier rule usually hides the collision when the query holds
the code; questions in other words and dense-only search do not have that help).

**Near-duplicates with different sources**: the dedup groups (:mod:`localkb.mapping.dedup`, the same
code as ``localkb dedup``) whose members come from more than one source.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..embedders.base import embed_queries
from .terms import collect_terms, definition_pattern, near_miss_pairs

if TYPE_CHECKING:
    from ..parts import KBReader

DEFINITION_SHARE = 0.5
#: collision rows that also get their hybrid ranks measured (two searches each)
MAX_RANKED = 50
TOP_DUPLICATE_GROUPS = 10


@dataclass
class Collision:
    terms: tuple[str, str]
    #: "top-hit" and/or "definitions"
    signals: list[str]
    #: the defining chunk of each term: {"id", "source", "text"}
    chunks: tuple[dict[str, Any], dict[str, Any]]
    #: cosine of the two defining chunks
    cosine: float
    #: per term: {"top": chunk id, "top_has_term", "own": best cosine of its chunks, "other": of the other's}
    dense: dict[str, dict[str, Any]]
    #: per term: 1-based rank of (its chunk, the other's chunk) in today's hybrid search, None if not in the top 10
    hybrid: dict[str, dict[str, int | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"terms": list(self.terms), "signals": self.signals, "chunks": list(self.chunks),
                "cosine": round(self.cosine, 4), "dense": self.dense, "hybrid": self.hybrid}


@dataclass
class AuditReport:
    model: str
    chunks: int
    terms: int
    pairs: int
    cutoff: float
    bar: float
    collisions: list[Collision]
    #: {"groups": n, "chunks": n, "top": [dedup groups with several sources]} or None when not measured
    duplicates: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.collisions and not (self.duplicates or {}).get("groups")

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "chunks": self.chunks, "terms": self.terms, "near_miss_pairs": self.pairs,
                "cutoff": round(self.cutoff, 4), "definition_bar": round(self.bar, 4), "clean": self.clean,
                "collisions": [c.to_dict() for c in self.collisions], "duplicates": self.duplicates,
                "notes": self.notes}


def definition_bar(cutoff: float) -> float:
    return cutoff + (1.0 - cutoff) * DEFINITION_SHARE


def find_collisions(texts: Mapping[str, str], vectors: np.ndarray, embed: Callable[[Sequence[str]], np.ndarray],
                    cutoff: float, *, sources: Mapping[str, str] | None = None) -> tuple[list[Collision], int, int]:
    """The colliding near-miss pairs (pure but for ``embed``): (collisions, terms, pairs checked).

    ``texts`` and the rows of ``vectors`` are in the same order (L2-normalised); ``embed`` embeds the bare
    terms as queries.
    """
    from ..search.identifiers import find_codes

    ids = list(texts)
    held: dict[str, set[int]] = {}
    for row, cid in enumerate(ids):
        for code in set(find_codes(texts[cid])):
            held.setdefault(code, set()).add(row)
    terms = collect_terms(texts)
    pairs = [(a, b) for a, b in near_miss_pairs(terms) if held[a] - held[b] or held[b] - held[a]]
    if not pairs:
        return [], len(terms), 0
    words = sorted({t for p in pairs for t in p})
    qv = embed(words)
    scores = qv @ vectors.T
    q = {w: scores[n] for n, w in enumerate(words)}
    bar = definition_bar(cutoff)

    patterns = {w: definition_pattern(w) for w in words}

    def defining(term: str, other: str) -> int | None:
        """The chunk that introduces ``term`` and not ``other`` (best for the bare term), else the best
        chunk holding ``term`` and not ``other``."""
        rows = [r for r in held[term] if patterns[term].search(texts[ids[r]])
                and not patterns[other].search(texts[ids[r]])] or sorted(held[term] - held[other])
        return max(rows, key=lambda r: float(q[term][r])) if rows else None

    out = []
    for a, b in pairs:
        da, db = defining(a, b), defining(b, a)
        if da is None or db is None or da == db:
            continue
        cosine = float(vectors[da] @ vectors[db])
        signals, dense = [], {}
        for term, other in ((a, held[b] - held[a]), (b, held[a] - held[b])):
            top = int(np.argmax(q[term]))
            dense[term] = {"top": ids[top], "top_has_term": top in held[term],
                           "own": round(float(max(q[term][r] for r in held[term])), 4),
                           "other": round(float(max(q[term][r] for r in other)), 4) if other else None}
            if top in other and "top-hit" not in signals:
                signals.append("top-hit")
        if cosine >= bar:
            signals.append("definitions")
        if signals:
            chunk = [{"id": ids[r], "source": (sources or {}).get(ids[r], ""), "text": _snippet(texts[ids[r]])}
                     for r in (da, db)]
            out.append(Collision((a, b), signals, (chunk[0], chunk[1]), cosine, dense))
    out.sort(key=lambda c: (-len(c.signals), -c.cosine))
    return out, len(terms), len(pairs)


def _snippet(text: str) -> str:
    from ..mapping.data import snippet

    return snippet(text, 200)


def kb_texts(kb: KBReader) -> tuple[dict[str, str], dict[str, str]]:
    """Every chunk's text (by id, sorted) and its first source."""
    from ..mapping.data import load_chunks, texts

    table = load_chunks(kb.db)
    text_of = texts(kb.db, table.ids)
    return ({cid: text_of.get(cid, "") for cid in table.ids},
            {cid: table.source_of(n) for n, cid in enumerate(table.ids)})


def audit(kb: KBReader, *, duplicates: bool = True, ranks: bool = True) -> AuditReport:
    """The audit report of a KB (nothing is changed). See the module docstring."""
    from ..mapping.data import load_vectors
    from ..search.thresholds import calibration_record, for_query

    kb.sync()
    text_of, source_of = kb_texts(kb)
    notes: list[str] = []
    model = kb.manifest.model_id
    if not text_of:
        return AuditReport(model, 0, 0, 0, 0.0, 0.0, [], None, ["the KB holds no chunks: nothing to audit"])
    vectors = load_vectors(kb.store, list(text_of))
    record = for_query(calibration_record(kb), "IBE") or {"cutoff": 0.0}
    cutoff = float(record["cutoff"])
    collisions, n_terms, n_pairs = find_collisions(text_of, vectors, partial(embed_queries, kb.embedder), cutoff,
                                                  sources=source_of)
    if ranks:
        for c in collisions[:MAX_RANKED]:
            c.hybrid = hybrid_ranks(kb, c)
        if len(collisions) > MAX_RANKED:
            notes.append(f"hybrid ranks measured for the first {MAX_RANKED} of {len(collisions)} collisions")
    dup = near_duplicates(kb, notes) if duplicates else None
    return AuditReport(model, len(text_of), n_terms, n_pairs, cutoff, definition_bar(cutoff), collisions, dup, notes)


def hybrid_ranks(kb: KBReader, c: Collision) -> dict[str, dict[str, int | None]]:
    out: dict[str, dict[str, int | None]] = {}
    for n, term in enumerate(c.terms):
        hits = [h.id for h in kb.search(term, k=10, min_score="none").hits]
        own, other = c.chunks[n]["id"], c.chunks[1 - n]["id"]
        out[term] = {"own": hits.index(own) + 1 if own in hits else None,
                     "other": hits.index(other) + 1 if other in hits else None}
    return out


def near_duplicates(kb: KBReader, notes: list[str]) -> dict[str, Any] | None:
    """Dedup groups whose members come from more than one source (count and the largest groups)."""
    from ..errors import MapError, MissingDependency

    try:
        result = kb.dedup()
    except (MapError, MissingDependency) as exc:
        notes.append(f"near-duplicates not checked: {exc}")
        return None
    groups = [g for g in result.groups if len({m["source"] for m in g.members}) > 1]
    groups.sort(key=lambda g: -len(g.members))
    return {"groups": len(groups), "chunks": sum(len(g.members) for g in groups),
            "threshold": round(result.threshold, 4),
            "top": [{"id": g.id, "members": [{"chunk_id": m["chunk_id"], "source": m["source"],
                                              "score": m["score"]} for m in g.members]}
                    for g in groups[:TOP_DUPLICATE_GROUPS]]}
