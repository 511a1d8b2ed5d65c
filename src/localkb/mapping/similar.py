"""``similar``: the documents most like a document, a chunk or a piece of text ("more like this").

Document level, on the vectors the KB already stores. Candidates come from the store's own nearest
neighbour search (``depth`` per target chunk); each candidate document is then scored exactly:

* target = a document: the symmetric mean of best matches (each target chunk's best cosine against the
  candidate's chunks, and each candidate chunk's best against the target's, averaged both ways), so a
  short document inside a long one is not a perfect match;
* target = a chunk or a text: the best cosine of any of the candidate's chunks.

``mode="hybrid"`` adds BM25 evidence (the target's tokens as a query, each document's best chunk,
scaled to the best document): ``score = (1 - LEXICAL_WEIGHT) * dense + LEXICAL_WEIGHT * lexical``.
The target's own document(s) are never returned. Each result carries the chunk pairs that made it similar.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import MapError
from ..lookup import document_matcher, is_chunk_id
from ..suggest import close_paths
from ..suggest import hint as suggestion
from .data import (
    ChunkTable,
    VectorSource,
    load_chunks,
    normalise,
    require_documents,
    snippet,
    texts,
)

if TYPE_CHECKING:
    from ..db import Database
    from ..stores.base import VectorHit

MODES = ("dense", "hybrid")
#: nearest chunks fetched per target chunk to find candidate documents
DEPTH = 50
#: at most this many target chunks seed the candidate search (evenly spread over a long document)
MAX_SEEDS = 64
LEXICAL_WEIGHT = 0.3
PAIRS = 3


class SearchableStore(VectorSource, Protocol):
    def search(self, vector: np.ndarray, k: int, allowed: Any = None) -> list[VectorHit]: ...


class Embeds(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class Scores(Protocol):
    """The lexical index's query surface (``search.lexical.LexicalIndex``)."""

    @property
    def ids(self) -> list[str]: ...

    def scores(self, tokens: list[str]) -> np.ndarray: ...


@dataclass
class SimilarDocument:
    source: str
    doc_id: int
    score: float
    #: the chunk pairs behind the score, best first: target chunk ↔ this document's chunk
    pairs: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "doc_id": self.doc_id, "score": round(self.score, 4),
                "scores": {k: round(v, 4) for k, v in self.scores.items()}, "pairs": self.pairs}


@dataclass
class SimilarResult:
    target: str
    #: "document", "chunk" or "text"
    kind: str
    mode: str
    similar: list[SimilarDocument]
    #: documents left out because they are the target's own
    excluded: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "kind": self.kind, "mode": self.mode, "excluded": self.excluded,
                "similar": [s.to_dict() for s in self.similar]}


@dataclass
class _Target:
    label: str
    kind: str
    chunk_ids: list[str]
    own_docs: set[int]


def resolve_target(table: ChunkTable, db: Database, target: str) -> _Target:
    """A document (source as ingested, or its path) or a chunk id (or a unique prefix of ≥ 8 characters).

    Raises:
        MapError: nothing matches (with close matches), or a chunk-id prefix is ambiguous.
    """
    value = target.strip()
    if not value:
        raise MapError("Give a document path, a chunk id or --text.")
    rows = db.query("SELECT id, source, path FROM documents")
    names = document_matcher(value)
    for r in rows:
        if names(r):
            doc_id = int(r["id"])
            ids = [str(x["chunk_id"]) for x in db.query(
                "SELECT chunk_id FROM doc_chunks WHERE doc_id=? ORDER BY position", (doc_id,))]
            return _Target(str(r["source"]), "document", list(dict.fromkeys(ids)), {doc_id})
    if is_chunk_id(value):
        found = [c for c in table.ids if c.startswith(value.lower())]
        if len(found) > 1:
            raise MapError(f"The chunk id prefix '{value}' matches {len(found)} chunks; give more of it.")
        if found:
            row = table.pos[found[0]]
            return _Target(found[0], "chunk", [found[0]], set(table.docs[row]))
    close = close_paths(value, [str(r["source"]) for r in rows])
    hint = suggestion(close)
    raise MapError(f"No document or chunk '{value}' in this knowledge base.{hint} "
                   "(See `localkb documents` for the sources.)", target=value, close_matches=close)


def similar(db: Database, store: SearchableStore, target: str | None = None, *, k: int = 5,
            text: str | None = None, embedder: Embeds | None = None, lexical: Scores | None = None,
            mode: str = "dense") -> SimilarResult:
    """The ``k`` documents most similar to ``target`` (a document or chunk id) or to ``text``.

    Args:
        embedder: needed only for ``text`` (the one thing embedded here).
        lexical: the KB's BM25 index, needed for ``mode="hybrid"``.

    Raises:
        MapError: unknown target, empty or one-document KB, k < 1, unknown mode, both or neither of
            ``target`` and ``text``.
    """
    if k < 1:
        raise MapError("k must be at least 1.")
    if mode not in MODES:
        raise MapError(f"Unknown similar mode '{mode}' (choose from: {', '.join(MODES)}).")
    if (target is None) == (text is None):
        raise MapError("Give either a target (a document path or chunk id) or --text, not both.")
    table = load_chunks(db)
    require_documents(table, "similar")
    if text is not None:
        if not text.strip():
            raise MapError("--text is empty.")
        if embedder is None:
            raise MapError("Similar to a text needs the KB's embedder.")
        goal = _Target(snippet(text, 80), "text", [], set())
        from ..embedders.base import embed_queries

        queries = normalise(np.asarray(embed_queries(embedder, [text]), dtype=np.float32))  # e5: 'query: …'
        query_text = text
    else:
        goal = resolve_target(table, db, str(target))
        queries = normalise(np.asarray(store.get_vectors(goal.chunk_ids), dtype=np.float32))
        query_text = " ".join(t for t in texts(db, goal.chunk_ids).values())

    by_doc: dict[int, list[str]] = {}
    for cid, docs in zip(table.ids, table.docs):
        for d in docs:
            by_doc.setdefault(d, []).append(cid)
    seeds = queries if len(queries) <= MAX_SEEDS else queries[np.linspace(0, len(queries) - 1, MAX_SEEDS).astype(int)]
    pos = table.pos
    candidates: dict[int, float] = {}
    for vector in seeds:
        for hit in store.search(vector.reshape(1, -1), DEPTH):
            row = pos.get(hit.id)
            for d in table.docs[row] if row is not None else []:
                if d not in goal.own_docs:
                    candidates[d] = max(candidates.get(d, -1.0), hit.score)
    lex_doc: dict[int, float] = {}
    if mode == "hybrid":
        if lexical is None:
            raise MapError("Hybrid similar needs the KB's lexical index.")
        lex_doc = _lexical_documents(lexical, query_text, table, goal.own_docs)
        for d in sorted(lex_doc, key=lambda d: -lex_doc[d])[:DEPTH]:
            candidates.setdefault(d, -1.0)
    shortlist = sorted(candidates, key=lambda d: -candidates[d])[: max(4 * k, DEPTH)]
    results: list[SimilarDocument] = []
    symmetric = goal.kind == "document"
    for d in shortlist:
        ids = by_doc.get(d, [])
        if not ids:
            continue
        theirs = normalise(np.asarray(store.get_vectors(ids), dtype=np.float32))
        sims = queries @ theirs.T
        dense = float(sims.max(axis=1).mean())
        if symmetric:
            dense = 0.5 * (dense + float(sims.max(axis=0).mean()))
        scores = {"dense": dense}
        score = dense
        if mode == "hybrid":
            scores["lexical"] = lex_doc.get(d, 0.0)
            score = (1 - LEXICAL_WEIGHT) * dense + LEXICAL_WEIGHT * scores["lexical"]
        results.append(SimilarDocument(table.sources.get(d, ""), d, score, _pairs(sims, goal.chunk_ids, ids), scores))
    results.sort(key=lambda r: (-r.score, r.source))
    results = results[:k]
    chunk_texts = texts(db, [c for r in results for p in r.pairs for c in (p["chunk_id"], p.get("target_chunk"))
                              if c])
    for r in results:
        for p in r.pairs:
            p["text"] = snippet(chunk_texts.get(p["chunk_id"], ""))
            if p.get("target_chunk"):
                p["target_text"] = snippet(chunk_texts.get(p["target_chunk"], ""))
    excluded = sorted(table.sources.get(d, "") for d in goal.own_docs)
    return SimilarResult(goal.label, goal.kind, mode, results, excluded)


def _pairs(sims: np.ndarray, mine: list[str], theirs: list[str]) -> list[dict[str, Any]]:
    flat = np.argsort(-sims, axis=None)[:PAIRS]
    out = []
    for idx in flat:
        i, j = np.unravel_index(int(idx), sims.shape)
        pair: dict[str, Any] = {"chunk_id": theirs[int(j)], "score": round(float(sims[i, j]), 4)}
        if mine:
            pair["target_chunk"] = mine[int(i)]
        out.append(pair)
    return out


def _lexical_documents(lexical: Scores, text: str, table: ChunkTable, own: set[int]) -> dict[int, float]:
    """Each document's best chunk BM25 for the target's tokens, scaled so the best document has 1."""
    from ..search.tokenizer import tokenize

    tokens = list(dict.fromkeys(tokenize(text)))
    raw = lexical.scores(tokens)
    if raw.size == 0:
        return {}
    pos = table.pos
    best: dict[int, float] = {}
    for n in np.flatnonzero(raw > 0):
        row = pos.get(lexical.ids[int(n)])
        for d in table.docs[row] if row is not None else []:
            if d not in own:
                best[d] = max(best.get(d, 0.0), float(raw[n]))
    top = max(best.values(), default=0.0)
    return {d: s / top for d, s in best.items()} if top > 0 else {}
