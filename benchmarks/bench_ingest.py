"""How fast does localkb ingest, re-ingest and search? (issue 2, section 6)

On the ~2,000 SQuAD v1.1 dev paragraphs, one file each, in one run:
- ingest throughput (chunks/s) against raw ``SentenceTransformer.encode`` of the same chunks (target ≥ 0.9×);
- re-ingest of the unchanged corpus (target ≤ 3 % of the first ingest's time);
- search latency p50/p95 (dense and the KB's default mode) over real SQuAD questions;
- peak RSS of the process.

    .venv/bin/python benchmarks/bench_ingest.py [--docs N] [--store faiss|chroma] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_section  # noqa: E402
from datasets import fetch  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=0, help="use only the first N paragraphs (0 = all)")
    ap.add_argument("--store", default="faiss")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--no-write", action="store_true", help="print the table, do not touch docs/benchmarks.md")
    args = ap.parse_args(argv)

    from localkb import KnowledgeBase
    from localkb.embedders import load_embedder
    from localkb.ingest.chunking import ChunkSettings, split_text

    folder = fetch("squad-dev")
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    if args.docs:
        corpus = corpus[: args.docs]
    queries = [json.loads(line)["text"] for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    queries = queries[:: max(1, len(queries) // args.queries)][: args.queries]

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    docs = work / "docs"
    docs.mkdir()
    for row in corpus:
        (docs / f"{row['_id']}.txt").write_text(row["text"], encoding="utf-8")

    # the same chunks the pipeline will embed
    settings = ChunkSettings()
    chunk_texts = list(dict.fromkeys(c for row in corpus for c in split_text(row["text"], settings)))
    emb = load_embedder(None)
    emb.embed(chunk_texts[:64])  # warm-up, for both sides
    t0 = time.perf_counter()
    emb._model.encode(chunk_texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)  # raw ST
    raw_s = time.perf_counter() - t0
    raw_rate = len(chunk_texts) / raw_s

    with KnowledgeBase.open(work / "kb", store=args.store, create=True) as kb:
        t0 = time.perf_counter()
        first = kb.ingest([docs])
        ingest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = kb.ingest([docs])
        reingest_s = time.perf_counter() - t0
        assert again.embedded == 0 and again.unchanged == len(corpus), again
        latencies: dict[str, list[float]] = {"dense": [], "default": []}
        kb.search(queries[0], k=10)
        for mode in latencies:
            for q in queries:
                t0 = time.perf_counter()
                kb.search(q, k=10, mode=None if mode == "default" else mode)
                latencies[mode].append((time.perf_counter() - t0) * 1000)
        default_mode = kb.search(queries[0], k=10).mode
    rate = first.embedded / ingest_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rows = [
        ("documents (SQuAD v1.1 dev paragraphs)", f"{len(corpus):,}"),
        ("chunks embedded", f"{first.embedded:,}"),
        ("raw `SentenceTransformer.encode`", f"{raw_rate:,.1f} chunks/s ({raw_s:.1f} s)"),
        (f"`localkb ingest` ({args.store})", f"{rate:,.1f} chunks/s ({ingest_s:.1f} s)"),
        ("**ingest / raw encode** (target ≥ 0.9×)", f"**{rate / raw_rate:.2f}×**"),
        ("re-ingest, unchanged corpus", f"{reingest_s:.2f} s"),
        ("**re-ingest / first ingest** (target ≤ 3 %)", f"**{100 * reingest_s / ingest_s:.1f} %**"),
        ("search p50 / p95, dense (k=10)",
         f"{statistics.median(latencies['dense']):.1f} / {pct(latencies['dense'], 0.95):.1f} ms"),
        (f"search p50 / p95, default mode `{default_mode}` (k=10)",
         f"{statistics.median(latencies['default']):.1f} / {pct(latencies['default'], 0.95):.1f} ms"),
        ("peak RSS (whole process)", f"{peak_mb:,.0f} MB"),
    ]
    table = "\n".join(["| measure | value |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]])
    body = (
        "### Ingest throughput, re-ingest and search latency (SQuAD v1.1 dev)\n\n"
        f"{table}\n\n"
        f"Threads: torch {os.environ.get('LOCALKB_EMBED_THREADS', '2')}; queries: {len(queries)} real SQuAD questions. "
        "Raw encode and ingest embed the same unique chunks with the same batch size; ingest adds reading, "
        "hashing, chunking, SQLite and the vector store."
    )
    print(body)
    if not args.no_write:
        write_section("ingest", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
