"""A real KB at 10k / 100k (/ 1M) chunks: hybrid search latency with the query embedding, adding one file, memory.

Each KB is built by localkb's own ingest (files → chunks → SQLite, FAISS, BM25 segments; IVF switches on
above 50k chunks by itself) from real text: the sentences of SQuAD dev, SQuADShifts NYT and new-Wikipedia,
drawn in seeded random order into files of 400 sentences, so every chunk is a distinct run of real sentences.
Embedding 100k chunks on this box would take an hour, so the build gives each chunk a *real vector repeated
with noise*: the int8 MiniLM vector of one of ``--base`` real sentences (chosen by the chunk's hash), plus
Gaussian noise (σ = 0.025 per dimension, renormalised). Everything after the build is real:

- a fresh process opens the KB with ``minilm-int8`` and runs ``--queries`` real SQuAD questions through
  ``KnowledgeBase.search(mode="hybrid")``, the query embedding included (p50 / p99), after 10 warm-ups;
- the same process then ingests one new file of 10 chunks end to end (read, chunk, embed with the real
  int8 encoder, SQLite, FAISS, lexical segment), and reports its wall and CPU time and that a search finds it;
- its resident memory (VmRSS, and the peak VmHWM) after the searches, and the KB's bytes on disk per part.

    nice -n 10 .venv/bin/python benchmarks/bench_scale.py [--sizes 10000,100000] [--no-write]

``--txtai N``: instead, localkb beside txtai's hybrid index (same MiniLM folder, same N real SQuAD dev
paragraphs, same questions, same process and run), every vector really embedded: build time, hybrid
search p50 / p99 (query embedding included), nDCG@10, and adding 10 paragraphs (localkb: one new file
ingested; txtai: ``upsert`` + ``save``). txtai is not a localkb dependency: install it beside the venv
without its dependencies (they are all in ``.[all]`` but msgpack), e.g.
``pip install --no-deps --target /tmp/txtai-lib txtai==9.14.0 msgpack`` and ``--txtai-path /tmp/txtai-lib``.
Section: ``scale-txtai``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("LOCALKB_EMBED_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _report import load_note, write_section  # noqa: E402
from bench_ingest import pct  # noqa: E402
from datasets import fetch  # noqa: E402

SETS = ("squad-dev", "squad-nyt", "squad-newwiki")
PER_FILE = 400
NOISE = 0.025


def sentences_and_questions(queries: int) -> tuple[list[str], list[str]]:
    from localkb.search.eval import document_text, load_dataset

    sents: list[str] = []
    questions: list[str] = []
    for name in SETS:
        ds = load_dataset(fetch(name))
        for row in ds.corpus.values():
            sents += [s for s in re.split(r"(?<=[.!?])\s+", document_text(row)) if len(s) > 20]
        if name == "squad-dev":
            questions = [q["text"] for q in list(ds.queries.values())[: queries + 10]]
    return sorted(set(sents)), questions


class CachedQueries:
    """The KB's real encoder, answering from a cache for texts it has embedded once: timing ``search`` with
    it measures everything but the query embedding (the "retrieval only" column)."""

    def __init__(self, real: object) -> None:
        self._real = real
        self._seen: dict[str, np.ndarray] = {}
        for name in ("id", "backend", "dim", "normalize", "max_tokens", "graph"):
            setattr(self, name, getattr(real, name, None))

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)

    def embed(self, texts: Sequence[str], **kw: object) -> np.ndarray:
        missing = [t for t in texts if t not in self._seen]
        if missing:
            for t, v in zip(missing, self._real.embed(missing, **kw)):  # type: ignore[attr-defined]
                self._seen[t] = v
        return np.stack([self._seen[t] for t in texts])


class NoisyVectors:
    """The build's embedder: int8 MiniLM's tokenizer and id, vectors = a real base vector + noise (see above)."""

    def __init__(self, real: object, base: np.ndarray) -> None:
        self._real = real
        self._base = base
        self._counts: dict[str, int] = {}
        for name in ("id", "backend", "dim", "normalize", "max_tokens", "graph"):
            setattr(self, name, getattr(real, name))

    def count_tokens(self, text: str) -> int:  # the real tokenizer's count, remembered (sentences recur)
        got = self._counts.get(text)
        if got is None:
            got = self._counts[text] = self._real.count_tokens(text)  # type: ignore[attr-defined]
        return got

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        return noisy_vectors(texts, self._base)


def noisy_vectors(texts: Sequence[str], base: np.ndarray) -> np.ndarray:
    """Each text's vector: the base vector its hash picks, plus Gaussian noise seeded by the same hash."""
    out = np.empty((len(texts), base.shape[1]), dtype=np.float32)
    for row, text in enumerate(texts):
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        out[row] = base[seed % len(base)] + rng.normal(0, NOISE, base.shape[1])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def base_vectors(sents: list[str], count: int) -> np.ndarray:
    """The ``minilm-int8`` vectors of ``count`` real sentences (seeded) that the build repeats with noise."""
    from localkb.embedders import load_embedder

    return load_embedder("minilm-int8").embed(random.Random(18).sample(sents, count))


def build(kb_dir: Path, docs: Path, size: int, sents: list[str], base: np.ndarray) -> dict[str, float]:
    """Ingest files of real sentences until the KB holds ≥ ``size`` chunks; (seconds, chunks, files)."""
    from localkb import KnowledgeBase

    rng = random.Random(size)
    t0 = time.perf_counter()
    files = 0
    with KnowledgeBase.open(kb_dir, model="minilm-int8", create=True) as kb:
        kb.wrap(embedder=lambda real: NoisyVectors(real, base))  # type: ignore[arg-type, return-value]
        chunks = 0
        while chunks < size:
            batch = []
            for _ in range(max(1, min(200, (size - chunks) // 45 + 1))):
                path = docs / f"doc{files:06d}.txt"
                path.write_text(" ".join(rng.sample(sents, PER_FILE)), encoding="utf-8")
                batch.append(path)
                files += 1
            kb.ingest(batch)
            chunks = int(kb.db.scalar("SELECT COUNT(*) FROM chunks"))
            print(f"  {chunks:,} chunks, {files:,} files, {time.perf_counter() - t0:.0f} s", flush=True)
    return {"build_s": time.perf_counter() - t0, "chunks": chunks, "files": files}


def rss() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def probe(kb_dir: Path, queries: list[str], new_texts: list[str], docs: Path) -> dict[str, object]:
    """In a fresh process: open, search (hybrid, query embedding included), add one file, memory."""
    from localkb import KnowledgeBase

    t0 = time.perf_counter()
    kb = KnowledgeBase.open(kb_dir)
    before = rss()
    for q in queries[:10]:
        kb.search(q, k=10, mode="hybrid")  # warm-up: the first search loads the model, indexes, segments
    open_s = time.perf_counter() - t0
    lat, embed, cpu = [], [], []
    for q in queries[10:]:
        t, c = time.perf_counter(), time.process_time()
        kb.search(q, k=10, mode="hybrid")
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    for q in queries[10:110]:
        t = time.perf_counter()
        kb.embedder.embed([q])
        embed.append((time.perf_counter() - t) * 1000)
    after = rss()
    kb.wrap(embedder=CachedQueries)  # type: ignore[arg-type]
    for q in queries[10:]:
        kb.search(q, k=10, mode="hybrid")  # fills the cache (each query embedded once, as a user's would be)
    retrieval, retrieval_cpu = [], []
    for q in queries[10:]:
        t, c = time.perf_counter(), time.process_time()
        kb.search(q, k=10, mode="hybrid")
        retrieval.append((time.perf_counter() - t) * 1000)
        retrieval_cpu.append((time.process_time() - c) * 1000)
    kb.wrap(embedder=lambda cached: cached._real)  # type: ignore[attr-defined]
    new = docs / "new-file.txt"
    adds, cpus = [], []
    for text in new_texts:  # the same file, rewritten with other real sentences each time: ~10 new chunks
        new.write_text(text, encoding="utf-8")
        t, c = time.perf_counter(), time.process_time()
        report = kb.ingest([new])
        adds.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    found = kb.search(new_texts[-1][:150], k=3, mode="hybrid").hits
    stats = kb.stats()
    kb.close()
    return {"open_s": open_s, "p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "n": len(lat),
            "embed_p50": pct(embed, 0.5), "ret_p50": pct(retrieval, 0.5), "ret_p99": pct(retrieval, 0.99),
            "cpu_p50": pct(cpu, 0.5), "ret_cpu_p50": pct(retrieval_cpu, 0.5),
            "rss_anon": after["RssAnon"], "rss_file": after["RssFile"], "rss": after["VmRSS"], "hwm": after["VmHWM"], "rss_open": before["VmRSS"],
            "add_s": float(np.median(adds)), "add_cpu_s": float(np.median(cpus)), "add_embedded": report.embedded,
            "found": bool(found) and "new-file" in found[0].source, "ann": index_label(stats.get("vector_index") or {})}


def index_label(info: dict[str, object]) -> str:
    if info.get("kind") not in ("ivf-flat", "ivf-sq8"):
        return str(info.get("kind", "?"))
    codes = "8-bit codes, exact re-rank" if info["kind"] == "ivf-sq8" else "float32"
    return (f"IVF {info['nlist']} lists ({codes}), nprobe {info['nprobe']}, recall@10 "
            f"{float(info['recall_at_10']):.3f}")


def disk(kb_dir: Path) -> dict[str, int]:
    parts = {"chunks.sqlite": 0, "vectors (FAISS)": 0, "lexical segments": 0, "other": 0}
    for f in kb_dir.rglob("*"):
        if not f.is_file():
            continue
        rel = str(f.relative_to(kb_dir))
        key = ("chunks.sqlite" if rel.startswith("chunks.sqlite") else "vectors (FAISS)" if rel.startswith("index/")
               and ("faiss" in rel or rel.endswith(".f32")) else "lexical segments" if "lexical" in rel or "segment" in rel else "other")
        parts[key] += f.stat().st_size
    return parts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--base", type=int, default=2000, help="real sentences whose int8 vectors the build repeats")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--keep", type=Path, help="build the KBs under this folder and keep them")
    ap.add_argument("--probe", type=Path, help=argparse.SUPPRESS)  # internal: the fresh measuring process
    ap.add_argument("--txtai", type=int, default=0, metavar="N", help="localkb vs txtai on N paragraphs")
    ap.add_argument("--txtai-path", type=Path, help="folder where txtai was installed (--target)")
    ap.add_argument("--note", default="", help="a sentence added to the section (e.g. how kept KBs were made)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.txtai:
        return versus_txtai(args)
    sents, questions = sentences_and_questions(args.queries)
    # ~10 chunks of 240 tokens each; seeded by the KB's folder, so a copied KB (whose first home still holds
    # the file of an earlier run) is not handed chunks it already has
    rng = random.Random(f"7:{args.probe.resolve()}" if args.probe else 7)
    new_texts = [" ".join(rng.sample(sents, 90)) for _ in range(3)]
    if args.probe:
        print(json.dumps(probe(args.probe, questions, new_texts, args.probe.parent / "docs")))
        return 0
    load0 = os.getloadavg()[0]
    base = base_vectors(sents, args.base)
    rows = []
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    for size in [int(s) for s in args.sizes.split(",")]:
        folder = root / f"kb{size}"
        (folder / "docs").mkdir(parents=True, exist_ok=True)
        print(f"building {size:,}", flush=True)
        record = folder / "build.json"
        if args.keep and record.is_file():  # a KB kept by an earlier run: measure it again, do not rebuild
            built = json.loads(record.read_text())
        else:
            built = build(folder / "kb", folder / "docs", size, sents, base)
            record.write_text(json.dumps(built))
        out = subprocess.run([sys.executable, __file__, "--probe", str(folder / "kb"), "--queries", str(args.queries)],
                             capture_output=True, text=True, check=True)
        measured = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append({"size": size, **built, **measured, "disk": disk(folder / "kb")})
        print(rows[-1], flush=True)
        text = report(rows, args, load0)
        if not args.no_write:  # after each size, so a long run that is stopped keeps what it measured
            shown = [a for a in sys.argv[1:] if a != args.note]  # the note is printed in the section itself
            write_section("scale", text, "python benchmarks/bench_scale.py " + " ".join(shown).replace("--note", "--note …"))
    print(text)
    return 0


def report(rows: list[dict], args: argparse.Namespace, load0: float) -> str:
    lines = ["## A KB at every size: hybrid search with the query embedding, adding a file, memory (`bench_scale`)", "",
             "| chunks | build s (ingest) | index | hybrid search p50 / p99 ms (query embed included) | its CPU ms p50 | "
             "query embed p50 ms | retrieval only p50 / p99 ms (query vector cached) | its CPU ms p50 | "
             "add one 10-chunk file, end to end: wall s / CPU s | found by search | RSS after open + searches MiB (peak) | "
             "RSS anon / file-backed MiB | RSS bytes / chunk | disk bytes / chunk: SQLite / vectors / lexical |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        c = r["chunks"]
        d = r["disk"]
        lines.append(
            f"| {c:,} | {r['build_s']:.0f} | {r['ann']} | {r['p50']:.1f} / {r['p99']:.1f} | {r['cpu_p50']:.1f} | "
            f"{r['embed_p50']:.1f} | {r['ret_p50']:.1f} / {r['ret_p99']:.1f} | {r['ret_cpu_p50']:.1f} | "
            f"{r['add_s']:.2f} / {r['add_cpu_s']:.2f} ({r['add_embedded']} chunks) | {'yes' if r['found'] else 'NO'} | {r['rss'] / 2**20:.0f} ({r['hwm'] / 2**20:.0f}) | "
            f"{r['rss_anon'] / 2**20:.0f} / {r['rss_file'] / 2**20:.0f} | "
            f"{r['rss'] / c:.0f} | {d['chunks.sqlite'] / c:.0f} / {d['vectors (FAISS)'] / c:.0f} / "
            f"{d['lexical segments'] / c:.0f} |")
    if len(rows) >= 2:  # what one more chunk costs, from the two largest sizes measured
        a, b = rows[-2], rows[-1]
        per = (b["rss"] - a["rss"]) / (b["chunks"] - a["chunks"])
        anon = (b["rss_anon"] - a["rss_anon"]) / (b["chunks"] - a["chunks"])
        parts = {k: (b["disk"][k] - a["disk"][k]) / (b["chunks"] - a["chunks"]) for k in b["disk"]}
        lines += ["", f"Marginal cost of a chunk between {a['chunks']:,} and {b['chunks']:,} chunks: RSS {per:,.0f} B "
                  f"(process after open + searches; {anon:,.0f} B of it anonymous, the rest file pages mapped); on disk " + ", ".join(f"{k} {v:,.0f} B" for k, v in parts.items())
                  + f". Arithmetic, not a measurement: at 1M chunks that RSS slope gives ≈ "
                  f"{(b['rss'] + per * (1_000_000 - b['chunks'])) / 2**30:.2f} GiB."]
    lines += ["", f"Text: real sentences of {', '.join(SETS)}, drawn in seeded random order into files of {PER_FILE} "
              "sentences and ingested by `KnowledgeBase.ingest` (chunks of ≤ 240 MiniLM tokens). Vectors of the build: "
              f"real vectors repeated with noise — the `minilm-int8` vector of one of {args.base} real sentences "
              f"(by the chunk's hash) plus Gaussian noise σ = {NOISE}, renormalised (embedding every chunk would take "
              "hours here). Measured in a fresh process that opens the KB with `minilm-int8`: "
              f"{rows[0]['n'] if rows else 0} real SQuAD questions through `search(mode=\"hybrid\", k=10)` after 10 "
              "warm-ups — query embedding (real int8 encoder), FAISS (IVF above 50k chunks), BM25 segments, fusion and "
              "the cut-off included; then one new 10-chunk file ingested end to end with the real encoder (median of "
              "3 revisions of the file; CPU = that process's CPU time, which the other jobs' load moves least — the wall "
              "time on this shared box is mostly waiting for a core), and a search that must find it. RSS = VmRSS "
              "of that process after the searches (peak = VmHWM).", "",
              "CPU = the process's CPU time for the search (the encoder's threads included), which other jobs' load "
              "moves least.", "", load_note(load0)]
    if args.note:
        lines += ["", args.note]
    return "\n".join(lines)


def _timed(search: object, questions: list[str]) -> tuple[list[float], list[list[str]]]:
    lat, ranked = [], []
    for q in questions:
        t = time.perf_counter()
        ids = search(q)  # type: ignore[operator]
        lat.append((time.perf_counter() - t) * 1000)
        ranked.append(ids)
    return lat, ranked


def versus_txtai(args: argparse.Namespace) -> int:
    """localkb (torch and int8) and txtai's hybrid index on the same paragraphs and questions, one run."""
    import statistics

    from bench_search import subset

    from localkb import KnowledgeBase
    from localkb.embedders.resolve import packaged_default_path
    from localkb.search.eval import document_text, load_dataset, per_query_metrics

    if args.txtai_path:
        sys.path.insert(0, str(args.txtai_path))
    from txtai import Embeddings

    load0 = os.getloadavg()[0]
    ds = subset(load_dataset(fetch("squad-dev")), args.txtai + 10, args.queries, by_title=True)
    ids = sorted(ds.corpus)
    new_ids, ids = ids[-10:], ids[:-10]  # the last 10 paragraphs are the "new file"
    qids = sorted(q for q in ds.queries if set(ds.qrels.get(q, {})) & set(ids))
    questions = [ds.queries[q]["text"] for q in qids]
    work = Path(tempfile.mkdtemp(prefix="bench-txtai-"))
    rows = []
    for model in ("minilm", "minilm-int8"):
        docs = work / model / "docs"
        docs.mkdir(parents=True)
        for did in ids:
            (docs / f"{did}.txt").write_text(document_text(ds.corpus[did]), encoding="utf-8")
        t0 = time.perf_counter()
        kb = KnowledgeBase.open(work / model / "kb", model=model, create=True)
        kb.ingest([docs])
        build = time.perf_counter() - t0
        chunks = int(kb.db.scalar("SELECT COUNT(*) FROM chunks"))
        kb.search(questions[0], k=10, mode="hybrid")

        def ours(q: str, kb: KnowledgeBase = kb) -> list[str]:
            return [Path(h.source).stem for h in kb.search(q, k=10, mode="hybrid", min_score="none").hits]

        lat, ranked = _timed(ours, questions)
        new = work / model / "new.txt"
        new.write_text("\n\n".join(document_text(ds.corpus[d]) for d in new_ids), encoding="utf-8")
        t = time.perf_counter()
        kb.ingest([new])
        add = time.perf_counter() - t
        kb.close()
        rows.append({"system": f"localkb ({model})", "build": build, "chunks": chunks, "lat": lat, "ranked": ranked,
                     "add": add})
        print(rows[-1]["system"], build, statistics.median(lat), add, flush=True)
    t0 = time.perf_counter()
    emb = Embeddings(path=str(packaged_default_path()), content=True, hybrid=True)
    emb.index([(did, document_text(ds.corpus[did]), None) for did in ids])
    emb.save(str(work / "txtai"))
    build = time.perf_counter() - t0
    emb.search(questions[0], 10)
    lat, ranked = _timed(lambda q: [r["id"] for r in emb.search(q, 10)], questions)
    t = time.perf_counter()
    emb.upsert([(did, document_text(ds.corpus[did]), None) for did in new_ids])
    emb.save(str(work / "txtai"))
    add = time.perf_counter() - t
    rows.append({"system": "txtai 9.14 (hybrid, faiss + bm25, MiniLM via torch)", "build": build, "chunks": len(ids),
                 "lat": lat, "ranked": ranked, "add": add})
    qrels = {q: ds.qrels[q] for q in qids}
    lines = ["### localkb beside txtai: the same paragraphs, model and questions (`bench_scale --txtai`)", "",
             "| system | paragraphs (chunks) | build s (embed + index + save) | hybrid search p50 / p99 ms (query embed included) | "
             "nDCG@10 | add 10 paragraphs s |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        per = per_query_metrics(dict(zip(qids, r["ranked"])), qrels)
        ndcg = statistics.fmean(per[q]["ndcg@10"] for q in per)
        lines.append(f"| {r['system']} | {len(ids):,} ({r['chunks']:,}) | {r['build']:.1f} | {pct(r['lat'], 0.5):.1f} / "
                     f"{pct(r['lat'], 0.99):.1f} | {ndcg:.4f} | {r['add']:.2f} |")
    lines += ["", f"{len(ids):,} SQuAD dev paragraphs (whole articles in title order), {len(qids)} of their questions; "
              "every vector really embedded. localkb: one file per paragraph through `KnowledgeBase.ingest` "
              "(chunked, SQLite, FAISS, BM25 segments, all on disk), searched with `search(mode=\"hybrid\", k=10, "
              "min_score=\"none\")`; the added file holds the 10 held-back paragraphs. txtai: `Embeddings(path=<the "
              "packaged MiniLM folder>, content=True, hybrid=True)` (its defaults: FAISS flat + BM25, SQLite content), "
              "`index` + `save`, `search(q, 10)`, then `upsert` of the same 10 paragraphs + `save`. Same process, one "
              "after the other; torch and ONNX threads 2.", "",
              f"Machine load average (1 min) at start / end: {load0:.1f} / {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs (shared with other jobs, under nice)."]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("scale-txtai", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
