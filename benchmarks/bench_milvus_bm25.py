"""Should localkb use Milvus's server-side BM25 instead of its own lexical index?

    .venv/bin/python benchmarks/bench_milvus_bm25.py [--queries 2000] [--no-report]

Same documents, same queries, lexical retrieval only: localkb's lexical path (``search.tokenizer`` +
``bm25s.BM25()`` with defaults, exactly what ``search/lexical.py`` builds) against Milvus Lite 3.x's BM25
function (``SPARSE_INVERTED_INDEX``, metric BM25) with its ``standard`` analyzer (Milvus Lite 3.2
supports only ``standard`` and ``jieba`` tokenizers).
Data: squad-dev (paragraph = document, a seeded sample of questions) and icd10 (code lookups; queries
for codes that do not exist have no relevant document and are left out of the scores).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from _beir import load_beir
from datasets import fetch

K = 10


def localkb_bm25(docs: list[tuple[str, str]]):
    import bm25s

    from localkb.search.tokenizer import tokenize

    ids = [d for d, _ in docs]
    retriever = bm25s.BM25()
    retriever.index([tokenize(t) for _, t in docs], show_progress=False)

    def search(query: str) -> list[str]:
        known = [t for t in tokenize(query) if t in retriever.vocab_dict]
        if not known:
            return []
        scores = np.asarray(retriever.get_scores(known))
        top = np.argsort(-scores, kind="stable")[:K]
        return [ids[i] for i in top if scores[i] > 0]

    return search


def milvus_bm25(docs: list[tuple[str, str]], analyzer: str, folder: Path):
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    client = MilvusClient(str(folder / f"bm25-{analyzer}.db"))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=128)
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                     analyzer_params={"type": analyzer})
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection("docs", schema=schema, index_params=index)
    client.load_collection("docs")
    for start in range(0, len(docs), 500):
        client.insert("docs", [{"id": d, "text": t} for d, t in docs[start:start + 500]])
    client.flush("docs")

    def search(query: str) -> list[str]:
        res = client.search("docs", data=[query], anns_field="sparse", limit=K,
                            search_params={"metric_type": "BM25"}, output_fields=[])
        return [str(h["id"]) for h in res[0]]

    return search


def evaluate(search, queries: list[tuple[str, str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    hit1 = hit10 = rr = 0.0
    latencies = []
    for qid, text in queries:
        t = time.perf_counter()
        got = search(text)
        latencies.append(time.perf_counter() - t)
        relevant = {d for d, s in qrels[qid].items() if s > 0}
        ranks = [i for i, d in enumerate(got[:K]) if d in relevant]
        hit1 += bool(ranks and ranks[0] == 0)
        hit10 += bool(ranks)
        rr += 1 / (ranks[0] + 1) if ranks else 0
    n = len(queries)
    return {"r1": hit1 / n, "r10": hit10 / n, "mrr": rr / n, "p50": 1000 * statistics.median(latencies)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=2000, help="squad-dev questions to sample")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("squad-dev", "icd10"):
            corpus, queries, qrels = load_beir(fetch(name))
            docs = [(d, (r.get("title", "") + "\n" + r["text"]).strip()) for d, r in corpus.items()]
            judged = [(q, r["text"]) for q, r in queries.items() if qrels.get(q)]
            if name == "squad-dev":
                judged = random.Random(13).sample(judged, min(args.queries, len(judged)))
            systems = {"localkb lexical (bm25s + localkb tokenizer)": partial(localkb_bm25, docs)}
            for analyzer in ("standard",):
                systems[f"Milvus Lite BM25 ({analyzer} analyzer)"] = partial(milvus_bm25, docs, analyzer,
                                                                             Path(tmp) / name)
            for label, build in systems.items():
                (Path(tmp) / name).mkdir(exist_ok=True)
                t = time.perf_counter()
                search = build()
                built = time.perf_counter() - t
                scores = evaluate(search, judged, qrels)
                rows.append((name, len(docs), len(judged), label, built, scores))
                print(name, label, f"{built:.1f}s", scores, flush=True)
    lines = ["### Lexical retrieval: localkb's BM25 vs Milvus BM25", "",
             ("Same documents and queries, lexical retrieval alone (no dense, no fusion), k=10. Recall@k: the "
              "judged document is in the top k. One core on a shared 2-core machine."), "",
             "| dataset | docs | queries | system | build (s) | recall@1 | recall@10 | MRR@10 | p50 (ms) |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for name, ndocs, nq, label, built, s in rows:
        lines.append(f"| {name} | {ndocs:,} | {nq:,} | {label} | {built:.1f} | {s['r1']:.3f} | {s['r10']:.3f} | "
                     f"{s['mrr']:.3f} | {s['p50']:.1f} |")
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_report:
        from _report import write_section

        write_section("milvus-bm25", markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
