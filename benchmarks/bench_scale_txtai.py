"""localkb beside txtai at 10k / 100k (/ 1M) chunks: the same chunk texts and vectors, the same questions, one run.

The KBs are the ones ``bench_scale.py --keep DIR`` built (run it first). txtai gets exactly their chunks:
every chunk's ``embed_text`` from ``chunks.sqlite``, with the same vector the KB holds (the build's *real
vector repeated with noise*, ``bench_scale.noisy_vectors``), given to txtai through its external-vectors
method; questions are embedded by the real ``minilm-int8`` encoder on both sides. txtai uses its own
defaults for that size (``Embeddings(method="external", content=True, hybrid=True)``: FAISS ``IVF{4√n},Flat``
above 5,000 rows with nprobe = lists/16, BM25 terms index, SQLite content).

Each system is measured in a fresh process per size, one after the other in this run: open the saved index,
10 warm-up searches, then the questions (hybrid, k=10, query embedding included: p50 / p99 and the process's CPU
time), its resident memory (VmRSS) after them, and adding 10 new chunks (localkb: one new file through
``ingest``; txtai: ``upsert`` + ``save``; both embed the new chunks with the real encoder; median of 3
revisions) and whether a search finds the new text (localkb: the new file first for its first 150 characters;
txtai: the new chunk in the top 3 for its whole text).

    nice -n 10 .venv/bin/python benchmarks/bench_scale_txtai.py --keep DIR [--sizes 10000,100000] \
        --txtai-path /tmp/txtai-lib

txtai is not a localkb dependency: ``pip install --no-deps --target /tmp/txtai-lib txtai==9.14.0 msgpack``.
Section: ``scale-txtai-sizes``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("LOCALKB_EMBED_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _report import load_note, write_section  # noqa: E402
from bench_ingest import pct  # noqa: E402
from bench_scale import base_vectors, noisy_vectors, rss, sentences_and_questions  # noqa: E402

HERE = Path(__file__).resolve().parent


class Vectors:
    """txtai's external transform: the KB's chunks get the KB's vectors; questions and the added chunks the real
    int8 encoder (as in localkb)."""

    def __init__(self, base: np.ndarray) -> None:
        from localkb.embedders import load_embedder

        self.base = base
        self.docs = True
        self.encoder = load_embedder("minilm-int8")

    def __call__(self, texts: list[str]) -> np.ndarray:
        return noisy_vectors(list(texts), self.base) if self.docs else self.encoder.embed(list(texts))


def config(vectors: Vectors) -> dict[str, object]:
    return {"method": "external", "transform": function(vectors), "content": True, "hybrid": True}


def function(vectors: Vectors):  # type: ignore[no-untyped-def]
    """txtai takes a plain function as its transform (anything else it calls to construct one)."""
    return lambda texts: vectors(texts)


def chunk_rows(kb_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(kb_dir / "chunks.sqlite") as conn:
        return [(str(i), str(t)) for i, t in conn.execute("SELECT id, embed_text FROM chunks ORDER BY id")]


def build_txtai(kb_dir: Path, out: Path, vectors: Vectors) -> dict[str, float]:
    from txtai import Embeddings

    rows = chunk_rows(kb_dir)
    t0 = time.perf_counter()
    emb = Embeddings(config(vectors))
    emb.index((cid, text, None) for cid, text in rows)
    emb.save(str(out))
    return {"build_s": time.perf_counter() - t0, "chunks": len(rows)}


def new_chunks(sents: list[str], folder: Path) -> list[list[str]]:
    """3 revisions of 10 new chunks of 9 real sentences each (seeded by the folder, like bench_scale's file)."""
    rng = random.Random(f"txtai:{folder.resolve()}")
    return [[" ".join(rng.sample(sents, 9)) for _ in range(10)] for _ in range(3)]


def probe_txtai(path: Path, questions: list[str], revisions: list[list[str]], base: np.ndarray) -> dict[str, object]:
    from txtai import Embeddings

    vectors = Vectors(base)
    emb = Embeddings()
    emb.load(str(path), config={"transform": function(vectors)})
    vectors.docs = False
    for q in questions[:10]:
        emb.search(q, 10)
    lat, cpu = [], []
    for q in questions[10:]:
        t, c = time.perf_counter(), time.process_time()
        emb.search(q, 10)
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    after = rss()
    adds, cpus = [], []
    for texts in revisions:  # embedded by the real encoder, as localkb's ingest of the new file is
        t, c = time.perf_counter(), time.process_time()
        emb.upsert([(f"new-{n}", text, None) for n, text in enumerate(texts)])
        emb.save(str(path))
        adds.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    # the build's chunks reuse a pool of real sentences, so a sentence of the new chunk is in many old ones:
    # the new chunk's whole text is the query that only it matches in full
    found = emb.search(revisions[-1][0], 3)
    return {"p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "cpu_p50": pct(cpu, 0.5), "n": len(lat),
            "rss": after["VmRSS"], "hwm": after["VmHWM"], "add_s": float(np.median(adds)),
            "add_cpu_s": float(np.median(cpus)), "found": any(r["id"] == "new-0" for r in found)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, required=True, help="the folder bench_scale.py --keep built the KBs in")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--base", type=int, default=2000, help="as given to bench_scale (the vectors it repeated)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--txtai-path", type=Path, help="folder where txtai was installed (--target)")
    ap.add_argument("--probe", type=Path, help=argparse.SUPPRESS)  # internal: a fresh measuring process for txtai
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.txtai_path:
        sys.path.insert(0, str(args.txtai_path))
        os.environ["PYTHONPATH"] = os.pathsep.join([str(args.txtai_path), os.environ.get("PYTHONPATH", "")])
    sents, questions = sentences_and_questions(args.queries)
    base_file = args.keep / f"base-{args.base}.npy"
    if args.probe:
        revisions = new_chunks(sents, args.probe)
        print(json.dumps(probe_txtai(args.probe, questions, revisions, np.load(base_file))))
        return 0
    load0 = os.getloadavg()[0]
    if not base_file.is_file():
        np.save(base_file, base_vectors(sents, args.base))
    base = np.load(base_file)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        folder = args.keep / f"kb{size}"
        built = json.loads((folder / "build.json").read_text())
        record = folder / "txtai-build.json"
        if record.is_file():
            theirs = json.loads(record.read_text())
        else:
            print(f"txtai: indexing the {size:,} KB's chunks", flush=True)
            theirs = build_txtai(folder / "kb", folder / "txtai", Vectors(base))
            record.write_text(json.dumps(theirs))
        ours = subprocess.run([sys.executable, str(HERE / "bench_scale.py"), "--probe", str(folder / "kb"),
                               "--queries", str(args.queries), "--base", str(args.base)],
                              capture_output=True, text=True, check=True)
        mine = json.loads(ours.stdout.strip().splitlines()[-1])
        other = subprocess.run([sys.executable, __file__, "--keep", str(args.keep), "--probe", str(folder / "txtai"),
                                "--queries", str(args.queries), "--base", str(args.base)],
                               capture_output=True, text=True, check=True)
        them = json.loads(other.stdout.strip().splitlines()[-1])
        rows.append({"size": size, "localkb": {**built, **mine}, "txtai": {**theirs, **them}})
        print(rows[-1], flush=True)
        text = report(rows, load0)
        if not args.no_write:
            write_section("scale-txtai-sizes", text, "python benchmarks/bench_scale_txtai.py " + " ".join(sys.argv[1:]))
    print(text)
    return 0


def report(rows: list[dict], load0: float) -> str:
    lines = ["### localkb beside txtai at every size: the same chunks, vectors and questions (`bench_scale_txtai`)", "",
             "| chunks | system | index | build s | hybrid search p50 / p99 ms (query embed included) | its CPU ms p50 | "
             "add 10 chunks s (CPU s) | found by search | RSS after open + searches MiB |",
             "|---:|---|---|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        for name in ("localkb", "txtai"):
            m = r[name]
            index = m.get("ann", "") if name == "localkb" else "txtai defaults (FAISS IVF, Flat; BM25 terms)"
            lines.append(f"| {m['chunks']:,} | {name} | {index} | {m['build_s']:.0f} | {m['p50']:.1f} / {m['p99']:.1f} | "
                         f"{m['cpu_p50']:.1f} | {m['add_s']:.2f} ({m['add_cpu_s']:.2f}) | {'yes' if m['found'] else 'NO'} | "
                         f"{m['rss'] / 2**20:.0f} |")
    lines += ["", "Both indexes hold the same chunk texts (each chunk's `embed_text`) with the same vectors (the KB's "
              "real vectors repeated with noise, see `bench_scale`), and both embed the same real SQuAD questions with the "
              "real `minilm-int8` encoder. localkb: `KnowledgeBase.search(q, k=10, mode=\"hybrid\")` with its defaults "
              "(the cut-off included); its build is the KB's ingest (chunking, SQLite, FAISS, BM25 segments); adding = one "
              "new ~10-chunk file through `ingest` (read, chunk, embed with the real encoder, write). txtai 9.14: "
              "`Embeddings(method=\"external\", content=True, hybrid=True)`, `search(q, 10)`; its build is `index` + "
              "`save` of the chunks (no chunking, vectors given); adding = `upsert` of 10 chunks (embedded by the real encoder) + `save`. Each system "
              "in a fresh process per size, one after the other. *Found*: localkb, the new file ranked first for its first 150 "
              "characters; txtai, the new chunk in the top 3 for its whole text.", "", load_note(load0)]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
