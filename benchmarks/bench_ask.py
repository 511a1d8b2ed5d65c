"""How good are `localkb ask`'s answers, and how do they compare with naive top-k stuffing?

Question: on SQuAD-derived questions, with the packaged Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, in
process), does `localkb ask` put the gold paragraph in the model's context, answer correctly (SQuAD
exact match / F1), cite a chunk that holds the answer, and say "I don't know" when the paragraph is
not in the KB — compared with the same model fed the top-k chunks the naive way?

Setup (defaults; flags change them):
- KB: the gold paragraphs of the sampled questions plus other paragraphs of the same SQuAD v1.1 dev
  articles (hard distractors) up to --corpus paragraphs, one file per paragraph, ingested with the
  packaged all-MiniLM-L6-v2 into a real FAISS KB (cached under ~/.cache/localkb/bench/).
- Answerable set: --questions questions, one per paragraph. Removed set: --removed other questions
  whose gold paragraph is hidden from retrieval (every chunk of it is filtered out of the hits, as if
  it had been deleted from the KB), so the right output is an abstention.
- localkb: `rag.answer` (the KB's calibrated retrieval cut-off, fenced numbered passages, rules for
  small models, token budget against the model's window, citations, abstention), k=--k.
- naive: the top k hits (no cut-off) pasted into a common "use the following context" prompt, no threshold, no
  budgeting; a prompt longer than the window is cut the way Ollama does silently (the first
  `num_keep`=4 tokens and the end are kept), which is what a plain Ollama client gets.
Both use greedy decoding, the same context window (--ctx) and at most 96 answer tokens.

Run: .venv/bin/python benchmarks/bench_ask.py [--questions 24 --removed 12] [--full] [--no-write]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import string
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from localkb.llm.prompts import is_abstention  # noqa: E402
from localkb.results import SearchResult  # noqa: E402

ANSWER_TOKENS = 96
NAIVE_PROMPT = ("Use the following pieces of context to answer the question at the end.\n\n{context}\n\n"
                "Question: {question}\nHelpful Answer:")
CITE = re.compile(r"[\[【]\s*\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*\s*[\]】]")


# ---------------------------------------------------------------- SQuAD scoring (official normalisation)

def normalize(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if not p or not g or same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def score(pred: str, golds: list[str]) -> tuple[float, float, bool]:
    """(exact match, F1, gold answer contained in the prediction) against the best gold answer."""
    clean = CITE.sub("", pred)
    em = max(float(normalize(clean) == normalize(g)) for g in golds)
    best = max(f1(clean, g) for g in golds)
    contains = any(normalize(g) and normalize(g) in normalize(clean) for g in golds)
    return em, best, contains


# ---------------------------------------------------------------- data and KB

def load(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str], list[dict[str, Any]]]:
    corpus = {r["_id"]: r for r in map(json.loads, open(folder / "corpus.jsonl", encoding="utf-8"))}
    queries = {r["_id"]: r["text"] for r in map(json.loads, open(folder / "queries.jsonl", encoding="utf-8"))}
    answers = [json.loads(line) for line in open(folder / "answers.jsonl", encoding="utf-8")]
    return corpus, queries, answers


def sample(answers: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` questions with distinct gold paragraphs, seeded."""
    rng = random.Random(seed)
    pool = answers[:]
    rng.shuffle(pool)
    out, seen = [], set()
    for row in pool:
        if row["paragraph_id"] not in seen:
            seen.add(row["paragraph_id"])
            out.append(row)
        if len(out) == n:
            break
    return out


def build_corpus(corpus: dict[str, dict[str, Any]], gold: set[str], size: int, seed: int) -> list[str]:
    """Gold paragraphs plus paragraphs of the same articles (hard distractors), then others, to ``size``."""
    rng = random.Random(seed)
    titles = {corpus[p]["title"] for p in gold}
    same = sorted(p for p, r in corpus.items() if r["title"] in titles and p not in gold)
    other = sorted(p for p in corpus if corpus[p]["title"] not in titles)
    rng.shuffle(same)
    rng.shuffle(other)
    picked = sorted(gold) + same + other
    return picked[:max(size, len(gold))]


def open_kb(corpus: dict[str, dict[str, Any]], pids: list[str]) -> Any:
    from localkb import KnowledgeBase
    from localkb.config import cache_dir

    key = hashlib.sha256("\n".join(sorted(pids)).encode()).hexdigest()[:12]
    root = cache_dir() / "bench" / f"ask-{key}"
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for pid in pids:
        f = docs / f"{pid}.txt"
        if not f.exists():
            f.write_text(corpus[pid]["text"], encoding="utf-8")
    kb = KnowledgeBase.open(root / "kb", create=True)
    t0 = time.perf_counter()
    report = kb.ingest([str(docs)])
    print(f"KB {root}: {report.chunks} chunks ({report.added} new documents, "
          f"{time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return kb


def pid_of(source: str) -> str:
    return Path(source).stem


class Hidden:
    """The KB as if the paragraph ``pid`` had been deleted: its chunks never come back from search."""

    def __init__(self, kb: Any, pid: str) -> None:
        self.kb, self.pid = kb, pid

    def search(self, query: str, k: int = 10, tags: Any = None, min_score: Any = None) -> SearchResult:
        res = self.kb.search(query, k=k + 8, tags=tags, min_score=min_score)
        hits = [h for h in res.hits if pid_of(h.source) != self.pid][:k]
        return SearchResult(res.query, hits, res.mode, res.min_score, reason=res.reason)


# ---------------------------------------------------------------- the two systems

def run_localkb(kb: Any, llm: Any, question: str, k: int) -> dict[str, Any]:
    from localkb.rag import answer

    t0 = time.perf_counter()
    ans = answer(kb, question, llm=llm, k=k, max_answer_tokens=ANSWER_TOKENS)
    used = {h: None for h in ans.used_chunks}
    return {"answer": ans.answer, "abstained": ans.abstained, "seconds": time.perf_counter() - t0,
            "context_ids": list(used), "dropped": len(ans.dropped_chunks),
            "cited_texts": [c.text for c in ans.citations], "n_cited": len(ans.citations)}


def run_naive(kb: Any, llm: Any, question: str, k: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    hits = kb.search(question, k=k, min_score="none").hits  # no threshold: plain top-k
    context = "\n\n".join(h.text for h in hits)
    content = NAIVE_PROMPT.format(context=context, question=question)
    limit = llm.context_window - ANSWER_TOKENS - 40  # 40: the chat template's default system prompt
    tokens = llm._llama.tokenize(content.encode("utf-8"), add_bos=False, special=False)
    truncated = len(tokens) > limit
    if truncated:  # what Ollama does silently: keep num_keep=4 tokens and the end of the prompt
        tokens = tokens[:4] + tokens[len(tokens) - (limit - 4):]
        content = llm._llama.detokenize(tokens).decode("utf-8", "replace")
    text = llm.chat([{"role": "user", "content": content}], max_tokens=ANSWER_TOKENS, temperature=0.0).strip()
    in_context = [h.id for h in hits if h.text in content]
    return {"answer": text, "abstained": is_abstention(text, False), "seconds": time.perf_counter() - t0,
            "context_ids": in_context, "dropped": 0, "truncated": truncated, "cited_texts": [], "n_cited": 0}


# ---------------------------------------------------------------- report

def summarise(rows: list[dict[str, Any]], removed: list[dict[str, Any]],
              chunk_pid: dict[str, str]) -> dict[str, Any]:
    n = len(rows)
    gold_in = sum(any(chunk_pid.get(c) == r["pid"] for c in r["context_ids"]) for r in rows)
    em = sum(r["em"] for r in rows)
    f1s = sum(r["f1"] for r in rows)
    contains = sum(r["contains"] for r in rows)
    false_abstain = sum(r["abstained"] for r in rows)
    answered_cited = [r for r in rows if not r["abstained"] and r["n_cited"]]
    cite_ok = sum(any(any(normalize(g) in normalize(t) for g in r["golds"]) for t in r["cited_texts"])
                  for r in answered_cited)
    secs = [r["seconds"] for r in rows + removed]
    return {
        "n": n, "gold_in_context": gold_in / n if n else 0.0, "em": em / n if n else 0.0,
        "f1": f1s / n if n else 0.0, "contains": contains / n if n else 0.0,
        "false_abstain": false_abstain / n if n else 0.0,
        "cited": len(answered_cited) / max(1, n - false_abstain),
        "cite_ok": (cite_ok / len(answered_cited)) if answered_cited else None,
        "abstain_removed": (sum(r["abstained"] for r in removed) / len(removed)) if removed else None,
        "n_removed": len(removed),
        "sec_mean": statistics.mean(secs) if secs else 0.0,
        "sec_p50": statistics.median(secs) if secs else 0.0,
        "truncated": sum(r.get("truncated", False) for r in rows + removed),
        "dropped": sum(r["dropped"] > 0 for r in rows + removed),
    }


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def table(results: dict[str, dict[str, Any]], args: argparse.Namespace, chunks: int) -> str:
    lines = [
        "## Grounded answers (`localkb ask`) vs naive top-k stuffing",
        "",
        f"SQuAD v1.1 dev (bigbench squad_shifts copy), {args.questions} answerable questions + "
        f"{args.removed} whose gold paragraph was removed from the KB; KB of {args.corpus} paragraphs "
        f"({chunks} chunks; gold paragraphs plus other paragraphs of the same articles), packaged "
        f"all-MiniLM-L6-v2 + FAISS; LLM {args.model} Q4_K_M in process, greedy, "
        f"{args.ctx}-token window, k={args.k}, ≤{ANSWER_TOKENS} answer tokens, {args.threads} threads; "
        f"1-minute load average {args.load[0]:.1f} at the start and {args.load[1]:.1f} at the end (on a "
        "shared machine seconds per answer grow with the load).",
        "",
        "| system | gold paragraph in context | EM | F1 | answer contains gold | cited chunk holds the answer "
        "| answers with a citation | abstains when paragraph removed ↑ | abstains when answerable ↓ "
        "| s/answer (mean · p50) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in results.items():
        lines.append(
            f"| {name} | {pct(s['gold_in_context'])} | {pct(s['em'])} | {pct(s['f1'])} | {pct(s['contains'])} "
            f"| {pct(s['cite_ok']) if name == 'localkb ask' else 'n/a (no citations)'} "
            f"| {pct(s['cited']) if name == 'localkb ask' else 'n/a'} "
            f"| {pct(s['abstain_removed'])} | {pct(s['false_abstain'])} "
            f"| {s['sec_mean']:.1f} · {s['sec_p50']:.1f} |")
    lk, nv = results.get("localkb ask"), results.get("naive top-k")
    lines.append("")
    if nv is not None:
        lines.append(f"Naive prompts cut by the window (silently, as Ollama does): {nv['truncated']} of "
                     f"{nv['n'] + nv['n_removed']}.")
    if lk is not None:
        lines.append(f"`localkb ask` answers where budgeting dropped lower-ranked chunks (reported in "
                     f"`dropped_chunks`): {lk['dropped']} of {lk['n'] + lk['n_removed']}.")
    lines += [
        "",
        "EM/F1 use the official SQuAD normalisation on the answer with citation markers removed; the "
        "model answers in sentences, so EM is low by construction and \"answer contains gold\" is the "
        "more telling accuracy figure. \"Cited chunk holds the answer\": among non-abstaining answers "
        "with at least one citation, the share where a cited chunk contains a gold answer string. "
        f"Small samples: ±{100 / max(1, args.questions) ** 0.5:.0f} points is noise. "
        "`--questions 100 --removed 50` gives firmer figures (≈4× the time).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=24)
    ap.add_argument("--removed", type=int, default=12)
    ap.add_argument("--corpus", type=int, default=300, help="paragraphs in the KB")
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--ctx", type=int, default=1024, help="the model's context window (tokens)")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("LOCALKB_LLM_THREADS", "2")))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full", action="store_true", help="100 answerable + 50 removed questions")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="print the table, do not touch docs/")
    args = ap.parse_args(argv)
    if args.full:
        args.questions, args.removed = 100, 50

    from datasets import fetch

    from localkb.llm.base import open_llm
    from localkb.llm.gguf import ensure_model

    load_start = os.getloadavg()[0]
    corpus, queries, answers = load(fetch("squad-dev"))
    picked = sample(answers, args.questions + args.removed, args.seed)
    answerable, removed = picked[:args.questions], picked[args.questions:]
    pids = build_corpus(corpus, {r["paragraph_id"] for r in picked}, args.corpus, args.seed)
    args.corpus = len(pids)
    kb = open_kb(corpus, pids)
    chunk_pid = {c["id"]: pid_of(c["source"]) for c in _chunks(kb)}
    llm = open_llm(f"llamacpp://{ensure_model(args.model)}", threads=args.threads, context_window=args.ctx,
                   timeout=600)
    systems = {"localkb ask": run_localkb} if args.no_naive else {"localkb ask": run_localkb,
                                                                   "naive top-k": run_naive}
    results: dict[str, dict[str, Any]] = {}
    for name, run in systems.items():
        rows, gone = [], []
        for i, row in enumerate(answerable, 1):
            out = run(kb, llm, queries[row["_id"]], args.k)
            em, f1v, contains = score("" if out["abstained"] else out["answer"], row["answers"])
            rows.append({**out, "pid": row["paragraph_id"], "golds": row["answers"], "em": em, "f1": f1v,
                         "contains": contains})
            print(f"[{name}] {i}/{len(answerable)} {out['seconds']:.1f}s em={em:.0f} f1={f1v:.2f} "
                  f"{'ABSTAIN ' if out['abstained'] else ''}{out['answer'][:80]!r}", file=sys.stderr)
        for i, row in enumerate(removed, 1):
            out = run(Hidden(kb, row["paragraph_id"]), llm, queries[row["_id"]], args.k)
            gone.append(out)
            print(f"[{name}] removed {i}/{len(removed)} {out['seconds']:.1f}s "
                  f"{'ABSTAIN ' if out['abstained'] else ''}{out['answer'][:80]!r}", file=sys.stderr)
        results[name] = summarise(rows, gone, chunk_pid)
    llm.close()
    args.load = (load_start, os.getloadavg()[0])
    md = table(results, args, len(chunk_pid))
    print(md)
    if not args.no_write:
        from _report import write_section

        write_section("ask", md)
    kb.close()
    return 0


def _chunks(kb: Any) -> list[dict[str, Any]]:
    """Every (chunk id, source) pair of the KB, read from its SQLite source of truth."""
    rows = kb.db.query("SELECT dc.chunk_id AS id, d.source AS source FROM doc_chunks dc "
                       "JOIN documents d ON d.id = dc.doc_id")
    return [{"id": r["id"], "source": r["source"]} for r in rows]


if __name__ == "__main__":
    raise SystemExit(main())
