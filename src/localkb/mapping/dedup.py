"""``dedup``: groups of near-duplicate chunks (and the documents made of them).

Two signals, each doing what it is good at:

1. **Lexical candidates** — MinHash signatures of each chunk's word 3-gram shingles (after NFKC, so
   full-width and half-width forms agree, lower-casing and dropping punctuation, Chinese included;
   Chinese words from the KB's jieba tokenizer) and datasketch's LSH index, which finds pairs whose
   Jaccard similarity is likely ≥ ``LSH_THRESHOLD`` without comparing every pair. For each candidate
   pair: the estimated Jaccard ``J`` and containment ``C`` (the share of the smaller chunk's shingles
   found in the other: an edited copy with a paragraph added contains the original).
2. **Confirmation by embedding cosine** on the vectors already stored. A candidate pair is a duplicate
   when its cosine is at least ``COSINE_FLOOR`` and either the lexical evidence is strong
   (``J ≥ STRONG_JACCARD``) or the chunk is largely contained (``C ≥ MIN_CONTAINMENT``) *and* the cosine
   reaches the threshold. ``threshold="auto"`` reads that threshold from this KB's own candidate pairs:
   the Otsu split of their cosines (the point that best separates the two populations), clamped to
   [``AUTO_MIN``, ``AUTO_MAX``]; with fewer than ``AUTO_MIN_PAIRS`` candidates ``DEFAULT_THRESHOLD`` is
   used. The result says which it was and why.

Confirmed pairs are joined into groups (connected components). Documents whose chunks are mostly
duplicates of each other's form document groups. The constants were chosen on SQuAD dev with injected
edits and hold on SQuADShifts NYT and Chinese idioms: docs/benchmarks.md ("Map: dedup").
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MapError, MissingDependency
from .data import Progress, VectorSource, load_chunks, load_vectors, require_documents, texts

if TYPE_CHECKING:
    from ..db import Database

NUM_PERM = 128
SHINGLE = 3
LSH_THRESHOLD = 0.3
STRONG_JACCARD = 0.45
MIN_CONTAINMENT = 0.5
COSINE_FLOOR = 0.5
DEFAULT_THRESHOLD = 0.85
AUTO_MIN, AUTO_MAX = 0.85, 0.95
AUTO_MIN_PAIRS = 20
#: a document pair is a duplicate when this share of each one's chunks is duplicated in the other
DOCUMENT_SHARE = 0.5
MAX_DIFF_OPS = 12
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


@dataclass
class DuplicateGroup:
    id: int
    #: members, the representative (kept) first: {"chunk_id", "source", "sources", "score"}
    members: list[dict[str, Any]]
    #: per other member, what differs from the representative: {"chunk_id", "ops": [{"op", "text"}]}
    differs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def representative(self) -> str:
        return str(self.members[0]["chunk_id"])

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "representative": self.representative, "members": self.members,
                "differs": self.differs}


@dataclass
class DedupResult:
    threshold: float
    #: how the threshold was chosen, for people
    criterion: str
    groups: list[DuplicateGroup]
    #: groups of documents: {"id", "sources", "shared_chunks"}
    documents: list[dict[str, Any]]
    candidates: int
    chunks: int
    #: "applied" (written to chunks.sqlite), "report" (nothing changed)
    action: str = "report"

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": round(self.threshold, 4), "criterion": self.criterion, "chunks": self.chunks,
                "candidate_pairs": self.candidates, "action": self.action,
                "groups": [g.to_dict() for g in self.groups], "documents": self.documents}


# -- the pure part (also what benchmarks/bench_map.py measures) ---------------------------------------
def normalise_text(text: str) -> str:
    """NFKC (full-width → half-width), lower case, punctuation (any script) → space."""
    return _PUNCT.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    from ..search.tokenizer import raw_tokens

    words = raw_tokens(normalise_text(text))
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def minhashes(docs: Sequence[str], progress: Progress | None = None) -> tuple[list[Any], list[int]]:
    """One datasketch ``LeanMinHash`` per text, and the size of each text's shingle set."""
    try:
        from datasketch import LeanMinHash, MinHash
    except ImportError as exc:
        raise MissingDependency("dedup needs datasketch (a localkb dependency): pip install 'datasketch>=1.6'") from exc
    out = []
    sizes = []
    for n, text in enumerate(docs):
        m = MinHash(num_perm=NUM_PERM, seed=1)
        grams = shingles(text)
        m.update_batch([s.encode("utf-8") for s in grams])
        out.append(LeanMinHash(m))
        sizes.append(len(grams))
        if progress and (n + 1) % 2000 == 0:
            progress("minhash", n + 1, len(docs))
    return out, sizes


def containment(jaccard: float, a: int, b: int) -> float:
    """|A ∩ B| / min(|A|, |B|) from the Jaccard estimate and the set sizes."""
    if min(a, b) == 0:
        return 0.0
    return min(1.0, jaccard * (a + b) / ((1 + jaccard) * min(a, b)))


def is_duplicate(jaccard: float, contained: float, cosine: float, threshold: float) -> bool:
    """The decision rule of the module docstring."""
    return cosine >= COSINE_FLOOR and (jaccard >= STRONG_JACCARD or (contained >= MIN_CONTAINMENT
                                                                     and cosine >= threshold))


def candidate_pairs(hashes: Sequence[Any], threshold: float = LSH_THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs (i < j) the LSH index puts together, with their estimated Jaccard similarity."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    for i, m in enumerate(hashes):
        lsh.insert(i, m, check_duplication=False)
    pairs = []
    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            if j > i:
                pairs.append((i, int(j), float(m.jaccard(hashes[j]))))
    return pairs


def otsu(values: np.ndarray, bins: int = 64) -> float:
    """The threshold that maximises the between-class variance of ``values`` (Otsu, 1979)."""
    hist, edges = np.histogram(values, bins=bins, range=(float(values.min()), float(values.max()) + 1e-9))
    p = hist / hist.sum()
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * mids)
    total = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total * w0 - m0) ** 2 / (w0 * (1 - w0))
    between = np.nan_to_num(between[:-1])
    return float(edges[int(np.argmax(between)) + 1])


def choose_threshold(cosines: np.ndarray, threshold: float | str) -> tuple[float, str]:
    """The cosine threshold and a sentence saying how it was chosen."""
    if threshold != "auto":
        value = float(threshold)
        if not 0.0 <= value <= 1.0:
            raise MapError(f"The dedup threshold must be 'auto' or a cosine in [0, 1], not {value}.")
        return value, f"given: cosine ≥ {value:.3f} for contained pairs, ≥ {COSINE_FLOOR} for Jaccard ≥ {STRONG_JACCARD}"
    if cosines.size < AUTO_MIN_PAIRS:
        return DEFAULT_THRESHOLD, (f"auto: default cosine ≥ {DEFAULT_THRESHOLD:.2f} for contained pairs, "
                                   f"≥ {COSINE_FLOOR} for Jaccard ≥ {STRONG_JACCARD} (only {cosines.size} candidate "
                                   f"pairs, fewer than {AUTO_MIN_PAIRS}, too few to read a distribution)")
    split = otsu(cosines)
    value = min(AUTO_MAX, max(AUTO_MIN, split))
    above = int((cosines >= value).sum())
    clamp = "" if value == split else f", clamped to [{AUTO_MIN}, {AUTO_MAX}]"
    return value, (f"auto: cosine ≥ {value:.3f} for contained pairs (≥ {COSINE_FLOOR} for Jaccard ≥ {STRONG_JACCARD}), "
                   f"the Otsu split ({split:.3f}{clamp}) of the cosines of this KB's {cosines.size} MinHash "
                   f"candidate pairs; {above} pairs are above it")


def group_pairs(n: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected components of size ≥ 2 (union-find), each sorted, ordered by first member."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    return sorted((c for c in comps.values() if len(c) > 1), key=lambda c: c[0])


def find_groups(docs: Sequence[str], vectors: np.ndarray, threshold: float | str = "auto",
                progress: Progress | None = None) -> tuple[list[list[int]], float, str, int]:
    """Groups of near-duplicate texts: (groups of row numbers, threshold, criterion, candidate pairs)."""
    hashes, sizes = minhashes(docs, progress)
    pairs = candidate_pairs(hashes)
    if progress:
        progress("candidates", len(pairs), len(pairs))
    cos = np.array([float(vectors[i] @ vectors[j]) for i, j, _ in pairs], dtype=np.float32)
    value, criterion = choose_threshold(cos, threshold)
    kept = [(i, j) for (i, j, jac), c in zip(pairs, cos)
            if is_duplicate(jac, containment(jac, sizes[i], sizes[j]), float(c), value)]
    return group_pairs(len(docs), kept), value, criterion, len(pairs)


def diff_ops(kept: str, other: str) -> list[dict[str, str]]:
    """What ``other`` changes relative to ``kept``: word-level (character-level for Chinese) ops."""
    from ..search.tokenizer import has_cjk

    def split(text: str) -> list[str]:
        return list(text) if has_cjk(text) else text.split()

    a, b = split(kept), split(other)
    joiner = "" if has_cjk(kept + other) else " "
    ops: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            ops.append({"op": "-", "text": joiner.join(a[i1:i2])})
        if tag in ("insert", "replace"):
            ops.append({"op": "+", "text": joiner.join(b[j1:j2])})
    return ops[:MAX_DIFF_OPS]


# -- on a KB ---------------------------------------------------------------------------------------
def dedup(db: Database, store: VectorSource, *, threshold: float | str = "auto",
          progress: Progress | None = None) -> DedupResult:
    """Near-duplicate chunk and document groups of a KB (nothing is changed; see ``records.apply``).

    Raises:
        MapError: empty or one-document KB, threshold outside [0, 1].
        MissingDependency: datasketch is not installed.
    """
    if threshold != "auto":
        choose_threshold(np.zeros(0, dtype=np.float32), threshold)  # validate before any work
    table = load_chunks(db)
    require_documents(table, "dedup")
    text_of = texts(db, table.ids)
    docs = [text_of.get(c, "") for c in table.ids]
    vectors = load_vectors(store, table.ids, progress)
    rows, value, criterion, candidates = find_groups(docs, vectors, threshold, progress)
    groups = []
    for number, members in enumerate(rows, 1):
        rep = max(members, key=lambda r: (len(docs[r]), -r))
        ordered = [rep] + [r for r in members if r != rep]
        groups.append(DuplicateGroup(
            id=number,
            members=[{"chunk_id": table.ids[r], "source": table.source_of(r),
                      "sources": [table.sources.get(d, "") for d in table.docs[r]],
                      "score": round(float(vectors[rep] @ vectors[r]), 4)} for r in ordered],
            differs=[{"chunk_id": table.ids[r], "ops": diff_ops(docs[rep], docs[r])} for r in ordered[1:]]))
    return DedupResult(value, criterion, groups, document_groups(table, rows), candidates, len(table.ids))


def document_groups(table: Any, rows: list[list[int]]) -> list[dict[str, Any]]:
    """Documents most of whose chunks are duplicated in each other (share ≥ ``DOCUMENT_SHARE`` both ways)."""
    sizes: dict[int, int] = {}
    for docs in table.docs:
        for d in docs:
            sizes[d] = sizes.get(d, 0) + 1
    shared: dict[tuple[int, int], set[int]] = {}
    for members in rows:
        held = sorted({d for r in members for d in table.docs[r]})
        for a in held:
            for b in held:
                if a < b:
                    shared.setdefault((a, b), set()).update(
                        r for r in members if a in table.docs[r] or b in table.docs[r])
    index = sorted(sizes)
    where = {d: n for n, d in enumerate(index)}
    links = []
    counts: dict[tuple[int, int], int] = {}
    for (a, b), rs in shared.items():
        in_a = sum(1 for r in rs if a in table.docs[r])
        in_b = sum(1 for r in rs if b in table.docs[r])
        if in_a >= DOCUMENT_SHARE * sizes[a] and in_b >= DOCUMENT_SHARE * sizes[b]:
            links.append((where[a], where[b]))
            counts[(a, b)] = min(in_a, in_b)
    out = []
    for number, comp in enumerate(group_pairs(len(index), links), 1):
        docs = [index[i] for i in comp]
        out.append({"id": number, "sources": [table.sources.get(d, "") for d in docs],
                    "chunks": [sizes[d] for d in docs],
                    "shared_chunks": max((v for (a, b), v in counts.items() if a in docs and b in docs), default=0)})
    return out
