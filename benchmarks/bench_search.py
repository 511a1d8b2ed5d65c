"""Which search mode finds the right chunk? dense / lexical / hybrid / hybrid + identifier rules on real data.

    .venv/bin/python benchmarks/bench_search.py            # all sets, writes its section of docs/benchmarks.md
    .venv/bin/python benchmarks/bench_search.py --queries 500 --no-write   # quicker look

Each corpus is embedded once per model into a KB under ``<localkb cache>/bench-search/`` (reused on the
next run); every query is embedded once (a caching wrapper around the KB's embedder), so the modes
differ only in retrieval. Sets come from ``benchmarks/datasets.py`` (see docs/datasets.md).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from _report import write_section  # noqa: E402
from datasets import fetch  # noqa: E402

from localkb.config import cache_dir  # noqa: E402
from localkb.evaluation import prepare_kb  # noqa: E402
from localkb.search import engine  # noqa: E402
from localkb.search.eval import Dataset, Run, load_dataset, rank_documents, score  # noqa: E402

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
USE = "multilingual"
E5 = "e5-small"
MODES: list[tuple[str, dict[str, Any]]] = [
    ("dense", {"mode": "dense", "identifiers": False}),
    ("lexical", {"mode": "lexical", "identifiers": False}),
    ("hybrid", {"mode": "hybrid", "identifiers": False}),
    ("hybrid + identifiers", {"mode": "hybrid", "identifiers": True}),
]


class CachedEmbedder:
    """Wraps a KB's embedder: each distinct *query* is embedded once (as a query: e5 writes ``query:``), in
    batches, and kept in ``file`` (an ``.npz`` of texts and vectors beside the KB) so a re-run does not
    embed the queries again. Stored texts (``embed``) go to the model as they are."""

    def __init__(self, inner: Any, file: Path | None = None) -> None:
        self.inner = inner
        self.file = file
        self.cache: dict[str, np.ndarray] = {}
        if file is not None and file.is_file():
            with np.load(file, allow_pickle=False) as data:
                self.cache = dict(zip((str(t) for t in data["texts"]), data["vectors"]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def prime(self, texts: Sequence[str]) -> None:
        from localkb.embedders.base import embed_queries

        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        for i in range(0, len(todo), 256):
            batch = todo[i : i + 256]
            for text, vec in zip(batch, embed_queries(self.inner, batch)):
                self.cache[text] = vec
        if todo and self.file is not None:
            texts_all = list(self.cache)
            np.savez(
                self.file,
                texts=np.array(texts_all, dtype=str),
                vectors=np.stack([self.cache[t] for t in texts_all]).astype(np.float32),
            )

    def embed_queries(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.prime(texts)
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        return self.inner.embed(texts, batch_size=batch_size)


MODEL_TAGS = {MINILM: "minilm", USE: "use", E5: "e5"}
MODEL_NAMES = {MINILM: "MiniLM", USE: "USE", E5: "e5-small"}


def open_kb(name: str, ds: Dataset, model: str, variant: str = "") -> tuple[Any, dict[str, str], float]:
    tag = MODEL_TAGS[model]
    folder = cache_dir() / "bench-search" / f"{name}-{len(ds.corpus)}-{tag}{variant}"
    started = time.perf_counter()
    kb, names = prepare_kb(ds, folder, model=model)
    built = time.perf_counter() - started
    kb._embedder = CachedEmbedder(kb.embedder, folder / "bench-query-vectors.npz")
    return kb, names, built


def sample(ds: Dataset, n: int | None, seed: int = 13) -> Dataset:
    if n is None or len(ds.queries) <= n:
        return ds
    keep = sorted(random.Random(seed).sample(sorted(ds.queries), n))
    return Dataset(
        ds.folder,
        ds.corpus,
        {q: ds.queries[q] for q in keep},
        {q: ds.qrels[q] for q in keep if q in ds.qrels},
    )


def run(
    kb: Any, ds: Dataset, names: dict[str, str], k: int = 100, **options: Any
) -> tuple[Run, dict[str, Any], list[float]]:
    """Search every query; returns the run, the per-query SearchResults' extras and latencies (ms)."""
    kb._embedder.prime([q["text"] for q in ds.queries.values()])
    out = Run()
    extras: dict[str, Any] = {}
    times: list[float] = []
    for qid, row in ds.queries.items():
        t0 = time.perf_counter()
        result = engine.search(kb, row["text"], k=k, **options)
        times.append((time.perf_counter() - t0) * 1000)
        out.ranked[qid] = rank_documents(result, names)
        extras[qid] = result.exact_match
    return out, extras, times


def f3(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


# -- sections ------------------------------------------------------------------------------------
def ranking_table(
    sets: list[tuple[str, str, Dataset]], log: Callable[[str], None]
) -> tuple[str, dict[str, Any]]:
    rows = [
        "| set | model | queries | mode | nDCG@10 | recall@10 | recall@100 | MRR@10 | abstained (auto) "
        "| search p50 ms |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    raw: dict[str, Any] = {}
    for name, model, ds in sets:
        kb, names, built = open_kb(name, ds, model)
        log(f"{name}/{model}: KB ready in {built:.0f} s ({kb.store.count()} chunks)")
        for label, opts in MODES:
            r, _, times = run(kb, ds, names, min_score="none", **opts)
            m = score(ds, r)
            r_auto, _, _ = run(kb, ds, names, min_score="auto", **opts)
            abst = sum(1 for q in ds.queries if q not in ds.should_abstain and not r_auto.ranked[q])
            judged = max(1, m["judged_queries"])
            raw[f"{name}/{model}/{label}"] = {
                **m,
                "abstained_auto": abst / judged,
                "p50_ms": statistics.median(times),
            }
            rows.append(
                f"| {name} | {MODEL_NAMES[model]} | {len(ds.queries)} | {label} | "
                f"{f3(m['ndcg@10'])} | {f3(m['recall@10'])} | {f3(m['recall@100'])} | {f3(m['mrr@10'])} "
                f"| {pct(abst / judged)} | {statistics.median(times):.1f} |"
            )
            log(rows[-1])
        kb.close()
    return "\n".join(rows), raw


def codes_table(log: Callable[[str], None]) -> tuple[str, dict[str, Any]]:
    rows = [
        "| set | mode | P@1 bare | P@1 in sentence | absent codes answered with no exact match "
        "| absent codes: hits shown as if they matched |",
        "|---|---|---:|---:|---:|---:|",
    ]
    raw: dict[str, Any] = {}
    for name in ("icd10", "iso-countries"):
        ds = load_dataset(fetch(name))
        kb, names, built = open_kb(name, ds, MINILM)
        log(f"{name}: KB ready in {built:.0f} s")
        kinds = {q: row.get("metadata", {}) for q, row in ds.queries.items()}
        for label, opts in MODES:
            r, exact, _ = run(kb, ds, names, min_score="auto", **opts)
            p1: dict[str, list[float]] = {"bare": [], "sentence": []}
            absent_ok, absent_n = 0, 0
            for qid, meta in kinds.items():
                ranked = [d for d, _ in r.ranked[qid]]
                if meta.get("kind") == "absent":
                    absent_n += 1
                    code = meta.get("code")
                    if not ranked or exact[qid].get(code) is False:
                        absent_ok += 1
                else:
                    p1[meta.get("kind", "bare")].append(
                        1.0 if ranked[:1] and ranked[0] in ds.qrels[qid] else 0.0
                    )
            vals = {k: (sum(v) / len(v) if v else None) for k, v in p1.items()}
            ok = absent_ok / absent_n if absent_n else None
            raw[f"{name}/{label}"] = {
                "p1_bare": vals["bare"],
                "p1_sentence": vals["sentence"],
                "absent_ok": ok,
            }
            rows.append(
                f"| {name} | {label} | {f3(vals['bare'])} | {f3(vals['sentence'])} | {pct(ok)} "
                f"| {pct(None if ok is None else 1 - ok)} |"
            )
            log(rows[-1])
        kb.close()
    return "\n".join(rows), raw


def fusion_table(
    sets: list[tuple[str, str, Dataset]], log: Callable[[str], None]
) -> tuple[str, dict[str, Any]]:
    variants = (
        [("RRF (k=60)", {"fusion": "rrf"})]
        + [(f"fixed α={a}", {"fusion": "convex-fixed", "alpha": a}) for a in (0.3, 0.5, 0.7)]
        + [("**evidence-weighted α=0.5 (default)**", {"fusion": "convex", "alpha": 0.5})]
    )
    rows = [
        "| set | model | " + " | ".join(v for v, _ in variants) + " |",
        "|---|---|" + "---:|" * len(variants),
    ]
    raw: dict[str, Any] = {}
    for name, model, ds in sets:
        kb, names, _ = open_kb(name, ds, model)
        cells = []
        for label, opts in variants:
            r, _, _ = run(kb, ds, names, min_score="none", mode="hybrid", identifiers=False, **opts)
            m = score(ds, r)
            raw[f"{name}/{model}/{label}"] = m["ndcg@10"]
            cells.append(f3(m["ndcg@10"]))
        rows.append(f"| {name} | {MODEL_NAMES[model]} | " + " | ".join(cells) + " |")
        log(rows[-1])
        kb.close()
    return "\n".join(rows), raw


def subset(
    ds: Dataset, max_docs: int, max_queries: int, *, by_title: bool = False, seed: int = 13
) -> Dataset:
    """A smaller corpus that keeps its hard negatives, and (at most ``max_queries``) questions on it.

    ``by_title``: whole articles in title order (SQuAD dev: every paragraph of an article stays, so the
    near neighbours of the right paragraph are there). Otherwise: the relevant documents of a seeded
    sample of queries, filled up with random other documents.
    """
    keep: set[str] = set()
    if by_title:
        groups: dict[str, list[str]] = {}
        for did, row in sorted(ds.corpus.items()):
            groups.setdefault(row.get("title") or "untitled", []).append(did)
        for _, dids in sorted(groups.items()):
            if len(keep) >= max_docs:
                break
            keep.update(dids)
        qids = [q for q in sorted(ds.queries) if set(ds.qrels.get(q, {})) & keep]
        qids = sorted(random.Random(seed).sample(qids, min(max_queries, len(qids))))
    else:
        rng = random.Random(seed)
        judged = [q for q in sorted(ds.queries) if q in ds.qrels]
        qids = []
        for q in rng.sample(judged, len(judged)):
            rel = set(ds.qrels[q])
            if len(qids) >= max_queries or len(keep | rel) > max_docs * 3 // 4:
                break
            qids.append(q)
            keep |= rel
        qids.sort()
        others = [d for d in sorted(ds.corpus) if d not in keep]
        keep.update(rng.sample(others, max(0, min(len(others), max_docs - len(keep)))))
    qrels = {q: {d: g for d, g in ds.qrels[q].items() if d in keep} for q in qids}
    return Dataset(
        ds.folder, {d: ds.corpus[d] for d in sorted(keep)}, {q: ds.queries[q] for q in qids}, qrels
    )


def enrichment_table(ds: Dataset, log: Callable[[str], None]) -> tuple[str, dict[str, Any]]:
    """SQuAD dev articles: title absent / inside the text / given as a tag with ``enrich=["tags"]``."""
    from localkb.kb import KnowledgeBase

    base = cache_dir() / "bench-search"
    variants: dict[str, tuple[Any, dict[str, str]]] = {}
    title_kb, title_names, _ = open_kb("squad-dev", ds, MINILM)
    variants["title inside the text"] = (title_kb, title_names)
    for variant, key, enrich in (
        ("no title", "notitle", None),
        ("title as tag, `--enrich tags`", "tags", ["tags"]),
    ):
        folder = base / f"squad-dev-{len(ds.corpus)}-minilm-{key}"
        kb = KnowledgeBase.open(folder, create=True, model=MINILM, enrich=enrich)
        by_title: dict[str, list[str]] = {}
        for did, row in ds.corpus.items():
            by_title.setdefault(row.get("title") or "untitled", []).append(did)
        names = {f"{did}.txt": did for did in ds.corpus}
        for n, (title, dids) in enumerate(sorted(by_title.items())):
            sub = folder / "eval-corpus" / f"a{n:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            for did in dids:
                text = ds.corpus[did]["text"]
                (sub / f"{did}.txt").write_text(text, encoding="utf-8")
            kb.ingest([sub], tags=[title] if enrich else [])
        kb._embedder = CachedEmbedder(kb.embedder, folder / "bench-query-vectors.npz")
        variants[variant] = (kb, names)
        log(f"enrichment KB '{variant}' ready ({kb.store.count()} chunks)")
    rows = ["| SQuAD dev, article title … | dense | lexical | hybrid |", "|---|---:|---:|---:|"]
    raw: dict[str, Any] = {}
    for variant, (kb, names) in variants.items():
        cells = []
        for label, opts in MODES[:3]:
            r, _, _ = run(kb, ds, names, min_score="none", **opts)
            value = score(ds, r)["ndcg@10"]
            raw[f"{variant}/{label}"] = value
            cells.append(f3(value))
        rows.append(f"| {variant} | " + " | ".join(cells) + " |")
        log(rows[-1])
        kb.close()
    return "\n".join(rows), raw


def best_dense(kb: Any, texts: list[str]) -> np.ndarray:
    """Each text's best cosine against the KB."""
    vectors = kb.embedder.embed_queries(texts)
    return np.array([max((h.score for h in kb.store.search(v[None, :], 1)), default=-1.0) for v in vectors])


def spread_sweep(kb: Any, answerable: list[str], unrelated: list[str]) -> dict[float, tuple[float, float]]:
    """For several SPREAD factors: (share of answerable, share of unrelated) questions whose best cosine
    falls below the cut-off, i.e. that dense mode answers with nothing."""
    from localkb.search.thresholds import BANK_EN, BANK_ZH, corpus_language, cutoff_from

    bank = best_dense(kb, list(BANK_ZH if corpus_language(kb) == "zh" else BANK_EN))
    good, bad = best_dense(kb, answerable), best_dense(kb, unrelated)
    out = {}
    for z in (1.0, 1.5, 2.0, 3.0):
        cut = cutoff_from(bank, z)
        out[z] = (float(np.mean(good < cut)), float(np.mean(bad < cut)))
    return out


def calibration_table(
    log: Callable[[str], None], n: int, sets: dict[str, Dataset]
) -> tuple[str, dict[str, Any]]:
    """Cut-off per KB and how often unrelated queries (another set's) are answered with nothing."""
    pairs = [
        ("squad-dev", MINILM, "icd10"),
        ("squad-nyt", MINILM, "icd10"),
        ("icd10", MINILM, "squad-dev"),
        ("iso-countries", MINILM, "squad-nyt"),
        ("zh-idioms", MINILM, "squad-dev"),
        ("zh-idioms", USE, "squad-dev"),
    ]
    rows = [
        "| KB | model | cut-off (auto) | unrelated queries from | unrelated answered with nothing "
        "(dense) | (hybrid + identifiers) | SPREAD 1 / 1.5 / 2 / 3: answerable cut, unrelated cut (dense) |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    raw: dict[str, Any] = {}
    for name, model, other in pairs:
        ds = sets.get(name) or load_dataset(fetch(name))
        kb, names, _ = open_kb(name, ds, model)
        src = load_dataset(fetch(other))
        judged = [q for q in sorted(src.queries) if q in src.qrels]
        keep = random.Random(7).sample(judged, min(n, len(judged)))
        unrelated = Dataset(src.folder, ds.corpus, {q: src.queries[q] for q in keep}, {})
        cells = []
        for _label, opts in (MODES[0], MODES[3]):
            r, _, _ = run(kb, unrelated, names, k=10, min_score="auto", **opts)
            cells.append(sum(1 for v in r.ranked.values() if not v) / len(keep))
        cal = kb.manifest.extra.get("calibration", {})
        answerable = [ds.queries[q]["text"] for q in sorted(ds.queries) if ds.qrels.get(q)][:300]
        sweep = spread_sweep(kb, answerable, [src.queries[q]["text"] for q in keep])
        raw[f"{name}/{model}"] = {
            "cutoff": cal.get("cutoff"),
            "abstained_dense": cells[0],
            "abstained_hybrid": cells[1],
            "bank": cal.get("bank_scores"),
            "sweep": {str(z): v for z, v in sweep.items()},
        }
        sweep_text = " · ".join(f"{pct(a)} / {pct(u)}" for a, u in sweep.values())
        rows.append(
            f"| {name} | {MODEL_NAMES[model]} | {f3(cal.get('cutoff'))} | {other} "
            f"({len(keep)}) | {pct(cells[0])} | {pct(cells[1])} | {sweep_text} |"
        )
        log(rows[-1])
        kb.close()
    return "\n".join(rows), raw


def latency_table(log: Callable[[str], None]) -> tuple[str, dict[str, Any]]:
    """Search cost at ~10k chunks: every document of the five sets in one KB (USE: fast to embed)."""
    from localkb.search.lexical import lexical_index

    corpus: dict[str, dict[str, Any]] = {}
    queries: dict[str, dict[str, Any]] = {}
    for name in ("squad-dev", "squad-nyt", "icd10", "iso-countries", "zh-idioms"):
        ds = load_dataset(fetch(name))
        corpus.update({f"{name}.{d}": row for d, row in ds.corpus.items()})
        keep = random.Random(5).sample(sorted(ds.queries), min(100, len(ds.queries)))
        queries.update({f"{name}.{q}": ds.queries[q] for q in keep})
    big = Dataset(HERE, corpus, queries, {})
    kb, names, built = open_kb("all-five", big, USE)
    n = kb.store.count()
    log(f"latency KB: {n} chunks, built in {built:.0f} s")
    lex = lexical_index(kb)
    lex.ensure_fresh()  # tokens cached (a tokenizer change re-tokenises once, not part of the figure)
    t0 = time.perf_counter()
    lex.rebuild()
    rebuild_s = time.perf_counter() - t0
    import bm25s

    corpus_tokens = [t.split(" ") for (t,) in lex._cache.execute("SELECT toks FROM tokens")] * 9
    t0 = time.perf_counter()
    bm25s.BM25().index(corpus_tokens, show_progress=False)
    rebuild_100k_s = time.perf_counter() - t0
    rows = ["| mode | p50 ms | p95 ms |", "|---|---:|---:|"]
    raw: dict[str, Any] = {"chunks": n, "bm25_rebuild_s": rebuild_s, "bm25_index_100k_s": rebuild_100k_s}
    for label, opts in MODES:
        _, _, times = run(kb, big, names, k=10, min_score="auto", **opts)
        p50, p95 = statistics.median(times), float(np.percentile(times, 95))
        raw[label] = {"p50_ms": p50, "p95_ms": p95}
        rows.append(f"| {label} | {p50:.1f} | {p95:.1f} |")
        log(rows[-1])
    kb.close()
    head = (
        f"{n:,} chunks (all five sets in one KB, multilingual USE, FAISS flat), {len(queries)} queries "
        f"(100 per set), k = 10, default cut-off; query embedding excluded. Rebuilding the BM25 matrix from "
        f"the cached tokens after a change (what the end of every ingest pays): {rebuild_s:.2f} s; bm25s "
        f"indexing the same tokens nine times over ({len(corpus_tokens):,} chunks): {rebuild_100k_s:.2f} s."
    )
    return head + "\n\n" + "\n".join(rows), raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=3000, help="documents kept per SQuAD set (seeded subset)")
    parser.add_argument("--zh-docs", type=int, default=3000, help="documents kept of the idiom set")
    parser.add_argument("--queries", type=int, default=2000, help="queries sampled per SQuAD set (seeded)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    parser.add_argument("--generalise", action="store_true",
                        help="only the 'search-generalise' section: fusion chosen by cross-validation, cut-off "
                             "shares, stemming, the mixed-language KB and the bundled corpus (issue 11)")
    parser.add_argument("--stemming-json", action="store_true", help=argparse.SUPPRESS)  # child of --generalise
    parser.add_argument("--models", action="store_true",
                        help="only the 'search-models' section: MiniLM, USE and multilingual-e5-small side by side")
    parser.add_argument("--model-docs", type=int, default=200, help="English documents per set for --models")
    parser.add_argument("--model-queries", type=int, default=150, help="queries per set for --models")
    parser.add_argument("--speed-texts", type=int, default=100, help="texts embedded per model for the speed table")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {msg}", file=sys.stderr, flush=True)

    if args.models:
        from _generalise_models import run_models

        return run_models(args, log)
    if args.generalise or args.stemming_json:
        from _generalise_main import generalise

        return generalise(args, log)

    squad = [
        (
            "squad-dev",
            MINILM,
            subset(load_dataset(fetch("squad-dev")), args.docs, args.queries, by_title=True),
        ),
        ("squad-nyt", MINILM, subset(load_dataset(fetch("squad-nyt")), args.docs, args.queries)),
    ]
    zh = subset(load_dataset(fetch("zh-idioms")), args.zh_docs, 300)
    zh_sets = [("zh-idioms", MINILM, zh), ("zh-idioms", USE, zh)]
    zh_held = load_dataset(fetch("zh-idioms-heldout"))
    heldout_sets = [
        ("squad-newwiki", MINILM, subset(load_dataset(fetch("squad-newwiki")), args.docs, args.queries, by_title=True)),
        ("zh-idioms-heldout", MINILM, zh_held),
        ("zh-idioms-heldout", USE, zh_held),
    ]
    raw: dict[str, Any] = {}
    ranking, raw["ranking"] = ranking_table(squad + zh_sets, log)
    heldout, raw["heldout"] = ranking_table(heldout_sets, log)
    codes, raw["codes"] = codes_table(log)
    icd = load_dataset(fetch("icd10"))
    judged_icd = Dataset(
        icd.folder, icd.corpus, {q: v for q, v in icd.queries.items() if q in icd.qrels}, icd.qrels
    )
    fusion, raw["fusion"] = fusion_table(squad + [("icd10", MINILM, judged_icd)] + zh_sets, log)
    enrich, raw["enrichment"] = enrichment_table(squad[0][2], log)
    latency, raw["latency"] = latency_table(log)
    calib, raw["calibration"] = calibration_table(
        log, 200, {"squad-dev": squad[0][2], "squad-nyt": squad[1][2], "zh-idioms": zh}
    )
    body = "\n".join(
        [
            "## Search quality: dense, lexical, hybrid, identifier rules (`bench_search`)",
            "",
            f"Real data (docs/datasets.md): "
            f"SQuAD dev = {len(squad[0][2].corpus)} paragraphs (whole articles), SQuADShifts NYT = "
            f"{len(squad[1][2].corpus)} paragraphs (the relevant ones of the sampled questions plus others), "
            f"{len(squad[0][2].queries)} / {len(squad[1][2].queries)} questions; zh-idioms = "
            f"{len(zh.corpus)} idioms and {len(zh.queries)} queries; ICD-10 and ISO sets whole. Seed 13. "
            "Documents are ranked by their best chunk; ranking metrics use `min_score=none`; *abstained (auto)* "
            "is the share of answerable questions that the default calibrated cut-off answered with nothing "
            "(lower is better). *search p50* excludes embedding the query (vectors cached), i.e. it is the cost "
            "of retrieval, fusion and the identifier rule at this corpus size.",
            "",
            ranking,
            "",
            "### Held out: sets no search constant was chosen on",
            "",
            "Fusion weights, the coverage shares and the cut-off's spread were chosen on the sets above; these "
            f"were never looked at while choosing. SQuADShifts new Wikipedia = {len(heldout_sets[0][2].corpus)} "
            f"paragraphs, {len(heldout_sets[0][2].queries)} questions; zh-idioms-heldout = another "
            f"{len(zh_held.corpus)} idioms (next seed), {len(zh_held.queries)} queries. Same columns as above.",
            "",
            heldout,
            "",
            "### Exact codes (ICD-10-CM, ISO 3166/4217), default cut-off (`auto`)",
            "",
            "P@1: the document of the queried code is ranked first. *Absent codes* (assigned nowhere, near "
            "misses of real codes): answered with no hits or with `exact_match[code] = false`; the last column "
            "is the rest — near-misses returned as if they were the answer.",
            "",
            codes,
            "",
            "### Fusion (hybrid, identifier rule off, nDCG@10; ICD-10: only queries with a relevant code)",
            "",
            fusion,
            "",
            "### Tags and metadata in the text (SQuAD dev, MiniLM, nDCG@10)",
            "",
            "The same paragraphs and questions as above (whole SQuAD dev); the article title is left out, written into the text, or "
            "given as a tag "
            "that `--enrich tags` prepends (`[tags: Super Bowl 50]`) to what is embedded and indexed "
            "lexically.",
            "",
            enrich,
            "",
            "### Calibrated cut-off: unrelated questions (another set's queries) answered with nothing",
            "",
            "The cut-off is `median + SPREAD × 1.4826 × MAD` of the best scores of a bank of everyday sentences "
            "(docs/search.md); SPREAD = 1.5 is the default. The last column is the trade-off behind that choice: "
            "for each SPREAD, the share of this KB's answerable questions and of the unrelated questions whose "
            "best cosine is below the cut-off.",
            "",
            calib,
            "",
            "### Search latency at ~10k chunks",
            "",
            latency,
            "",
        ]
    )
    print(body)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2, default=str), encoding="utf-8")
    if not args.no_write:
        write_section("search", body)
        log("section 'search' written to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
