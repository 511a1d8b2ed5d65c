"""Retrieval evaluation on a BEIR-layout folder: load, write the corpus, run every query, score, write a TREC run
(building the KB from the corpus is ``localkb.evaluation.prepare_kb``, an application of the facade).

Layout (https://github.com/beir-cellar/beir)::

    corpus.jsonl     {"_id", "title"?, "text"}   one document per line
    queries.jsonl    {"_id", "text", ...}        one query per line
    qrels/test.tsv   query-id<TAB>corpus-id<TAB>score   (a header line is allowed)

A query with no qrels line has no relevant document: the right answer is *nothing*, and it is scored for
abstention instead of ranking. Ranking metrics (nDCG@10, recall@10, recall@100, MRR@10, P@1) average
over the queries that have relevant documents; an abstention there scores 0.

Documents are ranked by their best chunk (a document split into several chunks appears once).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DatasetError, SearchError

if TYPE_CHECKING:
    from ..results import SearchResult

RETRIEVE = 100
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


@dataclass
class Dataset:
    folder: Path
    corpus: dict[str, dict[str, Any]]
    queries: dict[str, dict[str, Any]]
    qrels: dict[str, dict[str, int]]

    @property
    def should_abstain(self) -> set[str]:
        return {q for q in self.queries if not any(s > 0 for s in self.qrels.get(q, {}).values())}


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DatasetError(
            f"{path} is missing (a BEIR folder needs corpus.jsonl, queries.jsonl and qrels/test.tsv).",
            path=str(path),
        )
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"Cannot read {path}: {exc.strerror}", path=str(path)) from exc
    with fh:
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(
                        f"{path}:{lineno}: not valid JSON ({exc.msg}).", path=str(path), line=lineno
                    ) from exc
                if not isinstance(row, dict) or "_id" not in row or not isinstance(row.get("text"), str):
                    raise DatasetError(
                        f'{path}:{lineno}: each line needs "_id" and a string "text".',
                        path=str(path),
                        line=lineno,
                    )
                yield lineno, row
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path}: not UTF-8 text ({exc.reason}).", path=str(path)) from exc


def _rows_by_id(path: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for lineno, row in _jsonl(path):
        key = str(row["_id"])
        if key in out:
            raise DatasetError(f"{path}:{lineno}: duplicate _id {key!r}.", path=str(path), line=lineno)
        out[key] = row
    if not out:
        raise DatasetError(f"{path} has no lines.", path=str(path))
    return out


def load_dataset(folder: str | Path, split: str = "test") -> Dataset:
    """Read and check a BEIR folder.

    Raises:
        DatasetError: a missing file, a malformed line or a qrel naming an unknown id (file and line named).
    """
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder.", path=str(root))
    corpus = _rows_by_id(root / "corpus.jsonl")
    queries = _rows_by_id(root / "queries.jsonl")
    path = root / "qrels" / f"{split}.tsv"
    if not path.is_file():
        raise DatasetError(f"{path} is missing.", path=str(path))
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\r\n").split("\t")
            if lineno == 1 and parts[0].strip().lower() in ("query-id", "query_id", "qid"):
                continue
            if len(parts) != 3 or not parts[2].strip().lstrip("-").isdigit():
                raise DatasetError(
                    f"{path}:{lineno}: expected query-id<TAB>corpus-id<TAB>integer score.",
                    path=str(path),
                    line=lineno,
                )
            qid, did = parts[0].strip(), parts[1].strip()
            if qid not in queries:
                raise DatasetError(f"{path}:{lineno}: unknown query id {qid!r}.", path=str(path), line=lineno)
            if did not in corpus:
                raise DatasetError(
                    f"{path}:{lineno}: unknown corpus id {did!r}.", path=str(path), line=lineno
                )
            qrels.setdefault(qid, {})[did] = int(parts[2])
    return Dataset(root, corpus, queries, qrels)


# -- building a KB from the corpus --------------------------------------------------------------
def corpus_digest(ds: Dataset) -> str:
    h = hashlib.sha256()
    for did in sorted(ds.corpus):
        h.update(did.encode() + b"\0" + document_text(ds.corpus[did]).encode() + b"\0")
    return h.hexdigest()[:16]


def document_text(row: dict[str, Any]) -> str:
    title, text = str(row.get("title") or "").strip(), str(row["text"]).strip()
    return f"{title}\n\n{text}" if title and title not in text else text


def write_corpus(ds: Dataset, folder: Path, ids_file: Path) -> dict[str, str]:
    """One UTF-8 file per document under ``folder``; returns file name → corpus id (also in ``ids_file``)."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for n, (did, row) in enumerate(sorted(ds.corpus.items())):
        name = f"{did}.txt" if _SAFE.match(did) else f"doc-{n:07d}.txt"
        names[name] = did
        (folder / name).write_text(document_text(row), encoding="utf-8")
    ids_file.write_text(json.dumps({"digest": corpus_digest(ds), "names": names}), encoding="utf-8")
    return names


# -- running and scoring -------------------------------------------------------------------------
SearchFn = Callable[[str], "SearchResult"]


@dataclass
class Run:
    """Ranked corpus ids per query (empty list: the search abstained)."""

    ranked: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def run_queries(
    ds: Dataset, search: SearchFn, names: dict[str, str], progress: Callable[[int, int], None] | None = None
) -> Run:
    """Search every query; map chunks to documents (best chunk wins)."""
    run = Run()
    total = len(ds.queries)
    for n, (qid, row) in enumerate(ds.queries.items(), 1):
        try:
            result = search(row["text"])
        except SearchError as exc:  # e.g. a punctuation-only query: counted as an abstention
            run.errors[qid] = exc.message
            run.ranked[qid] = []
            continue
        run.ranked[qid] = rank_documents(result, names)
        if progress:
            progress(n, total)
    return run


def rank_documents(result: SearchResult, names: dict[str, str]) -> list[tuple[str, float]]:
    """Documents in the order of their best chunk (``names``: file name → corpus ``_id``)."""
    seen: dict[str, float] = {}
    for hit in result.hits:
        did = names.get(Path(hit.source).name)
        if did is not None and did not in seen:
            seen[did] = hit.score
    return list(seen.items())


#: our metric names → ir-measures measures (trec_eval's definitions: linear gains for nDCG, relevance = grade > 0)
MEASURES = {"ndcg@10": "nDCG@10", "recall@10": "R@10", "recall@100": "R@100", "mrr@10": "RR@10", "p@1": "P@1"}


def per_query_metrics(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """nDCG@10, recall@10, recall@100, MRR@10, P@1 per query, computed by ir-measures (trec_eval).

    ``rankings``: query id → corpus ids in rank order; ``qrels``: query id → corpus id → grade. Only
    grades > 0 count as relevant. Scores are handed to the evaluator as ``n - rank`` so that the order
    it scores is exactly ours (trec_eval re-sorts by score and would break ties by document id). A query
    with relevant documents but no ranked ones scores 0 on every metric.
    """
    try:
        import ir_measures
    except ImportError as exc:
        from ..errors import MissingDependency

        raise MissingDependency("Ranking metrics need ir-measures: pip install 'localkb[eval]'") from exc
    judged = {q: {d: g for d, g in rel.items() if g > 0} for q, rel in qrels.items()}
    judged = {q: rel for q, rel in judged.items() if rel}
    out = {q: dict.fromkeys(MEASURES, 0.0) for q in judged}
    run = [ir_measures.ScoredDoc(q, d, float(len(ranked) - i))
           for q, ranked in rankings.items() if q in judged for i, d in enumerate(dict.fromkeys(ranked))]
    if not run:
        return out
    qrel_rows = [ir_measures.Qrel(q, d, g) for q, rel in judged.items() for d, g in rel.items()]
    names = {str(ir_measures.parse_measure(m)): ours for ours, m in MEASURES.items()}
    measures = [ir_measures.parse_measure(m) for m in MEASURES.values()]
    for metric in ir_measures.iter_calc(measures, qrel_rows, run):
        out[metric.query_id][names[str(metric.measure)]] = float(metric.value)
    return out


def query_metrics(ranked: list[str], rel: dict[str, int]) -> dict[str, float]:
    """:func:`per_query_metrics` for one query (``rel``: corpus id → grade; grades ≤ 0 are not relevant)."""
    return per_query_metrics({"q": ranked}, {"q": rel}).get("q", dict.fromkeys(MEASURES, 0.0))


def score(ds: Dataset, run: Run) -> dict[str, Any]:
    """Mean ranking metrics over judged queries, plus abstention precision/recall."""
    judged = [q for q in ds.queries if q not in ds.should_abstain]
    per_query = per_query_metrics({q: [d for d, _ in r] for q, r in run.ranked.items()}, ds.qrels)
    out: dict[str, Any] = {
        name: (sum(per_query[q][name] for q in judged) / len(judged) if judged else None) for name in MEASURES
    }
    abstained = {q for q, r in run.ranked.items() if not r}
    should = ds.should_abstain
    hit = len(abstained & should)
    out.update(
        {
            "queries": len(ds.queries),
            "judged_queries": len(judged),
            "should_abstain": len(should),
            "abstained": len(abstained),
            "abstention_precision": (hit / len(abstained)) if abstained else None,
            "abstention_recall": (hit / len(should)) if should else None,
            "errors": len(run.errors),
        }
    )
    return out


def write_trec(run: Run, path: str | Path, tag: str = "localkb") -> int:
    """TREC run format ``qid Q0 docid rank score tag``; abstained queries have no lines. Returns lines."""
    lines = []
    for qid, ranked in run.ranked.items():
        for rank, (did, value) in enumerate(ranked, 1):
            lines.append(f"{qid} Q0 {did} {rank} {value:.6f} {tag}")
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return len(lines)
