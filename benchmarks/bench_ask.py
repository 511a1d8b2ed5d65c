"""How good are `localkb ask`'s answers, and how do they compare with naive top-k stuffing?

Question: on SQuAD-style questions over a set held out from every tuning (default SQuADShifts new
Wikipedia: the prompts were written on SQuAD v1.1 dev and the support checker calibrated there), with
the packaged Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, in process), does `localkb ask` answer correctly
(SQuAD exact match / F1), cite a chunk that holds the answer, and refuse when the paragraph is not in
the KB — compared with the same model fed the top-k chunks the naive way, with the same window budget?

Setup (defaults; flags change them):
- KB: the gold paragraphs of the sampled questions plus other paragraphs of the same articles (hard
  distractors) up to --corpus paragraphs, one file per paragraph, ingested with the packaged
  all-MiniLM-L6-v2 into a real FAISS KB (cached under ~/.cache/localkb/bench/).
- Answerable set: --questions questions, one per paragraph. Removed set: --removed other questions whose
  gold paragraph is hidden from retrieval (its chunks never come back from search, as if deleted), so
  the right output is a refusal. The two are interleaved, so a run stopped by --deadline keeps the mix.
- localkb: `rag.answer` with the KB's embedder (calibrated cut-off, fenced numbered passages, token
  budget, per-sentence support check that moves or withholds citations, refusal reasons), k=--k.
- naive: the top k hits (no cut-off) in a common "use the following context" prompt, taken in rank order
  while they fit the same budget (window minus the answer tokens): no front truncation, no threshold,
  no check. It cites nothing, so its "citations" are all the chunks in its context.
Both greedy, the same window (--ctx), at most 96 answer tokens; each question is asked of both systems
before the next, so the comparison is paired.

Run: .venv/bin/python benchmarks/bench_ask.py [--questions 100 --removed 50] [--deadline 02:15] [--no-write]
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import statistics
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
NAIVE_SYSTEM = "You are a helpful assistant."  # Qwen's chat template's default system message
NAIVE_PROMPT = ("Use the following pieces of context to answer the question at the end.\n\n{context}\n\n"
                "Question: {question}\nHelpful Answer:")


from localkb.rag.evaluate import RagQuestion, holds_answer, normalize, score, score_answer  # noqa: E402,F401

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

class Recorder:
    """Passes searches through and keeps the last hits (the passages the answer was built from)."""

    def __init__(self, kb: Any) -> None:
        self.kb, self.hits = kb, []

    def search(self, query: str, k: int = 10, tags: Any = None, min_score: Any = None) -> SearchResult:
        res = self.kb.search(query, k=k, tags=tags, min_score=min_score)
        self.hits = res.hits
        return res


def run_localkb(kb: Any, llm: Any, q: RagQuestion, k: int, embedder: Any, quote: bool = False) -> dict[str, Any]:
    """Generate with `rag.answer`; the support check runs afterwards in `check_row` (the same
    `check_answer` path `answer` runs), so a log can be re-checked without the model (--rescore)."""
    from localkb.rag import answer

    rec = Recorder(kb)
    t0 = time.perf_counter()
    # quote mode checks its quotes inside `answer` (no paraphrase support check to defer)
    ans = answer(rec, q.question, llm=llm, k=k, max_answer_tokens=ANSWER_TOKENS, verify=quote, quote=quote)
    row = score_answer(q, ans, time.perf_counter() - t0).to_dict()
    cited_cut = {c.chunk_id for c in ans.cut_chunks} & {c.chunk_id for c in ans.citations}
    passages = [h.text for h in rec.hits[:len(ans.used_chunks)]]
    return {**row, "context_ids": list(ans.used_chunks), "cut": len(ans.cut_chunks), "quote": quote,
            "cited_cut": len(cited_cut), "moved": sum(s.moved for s in ans.sentences), "raw": ans.answer,
            "cached_prompt_tokens": ans.cached_prompt_tokens, "passages": passages,
            "golds": list(q.answers), "checked": False}


def check_row(row: dict[str, Any], checker: Any) -> dict[str, Any]:
    """Apply the support check to a localkb row: move citations, refuse an answer no passage supports."""
    from localkb.rag import check_answer

    if row["abstained"] or not row["passages"] or row.get("quote"):  # quote rows were checked in `answer`
        return {**row, "checked": True}
    t0 = time.perf_counter()
    text, checks = check_answer(row["raw"], row["passages"], row["question"], checker)
    out = {**row, "checked": True, "answer": text, "sentences": len(checks),
           "supported_sentences": sum(c.supported for c in checks), "moved": sum(c.moved for c in checks)}
    out["seconds"] = row["seconds"] + time.perf_counter() - t0
    if not any(c.supported for c in checks):
        out.update(abstained=True, abstained_because="unsupported", em=0.0, f1=0.0, contains=False,
                   citations=0, citations_correct=0)
        return out
    cited = sorted({n for c in checks for n in c.citations})
    out["citations"] = len(cited)
    out["citations_correct"] = sum(holds_answer(row["passages"][n - 1], row["golds"]) for n in cited) if row["golds"] else 0
    return out


def run_naive(kb: Any, llm: Any, q: RagQuestion, k: int, embedder: Any) -> dict[str, Any]:
    from localkb.rag.budget import prompt_tokens

    t0 = time.perf_counter()
    hits = kb.search(q.question, k=k, min_score="none").hits  # no threshold: plain top-k
    limit = llm.context_window - ANSWER_TOKENS
    kept: list[Any] = []
    for h in hits:  # the same window budget as localkb: whole chunks in rank order while they fit
        content = NAIVE_PROMPT.format(context="\n\n".join(x.text for x in [*kept, h]), question=q.question)
        if prompt_tokens(llm, [{"role": "system", "content": NAIVE_SYSTEM}, {"role": "user", "content": content}]) > limit:
            break
        kept.append(h)
    content = NAIVE_PROMPT.format(context="\n\n".join(h.text for h in kept), question=q.question)
    first: list[float] = []
    pieces = []
    for piece in llm.stream([{"role": "user", "content": content}], max_tokens=ANSWER_TOKENS, temperature=0.0):
        first = first or [time.perf_counter()]
        pieces.append(piece)
    text = "".join(pieces).strip()
    abstained = is_abstention(text, False)
    em, f1v, contains = score(text, q.answers) if q.answers and not abstained else (0.0, 0.0, False)
    correct = sum(holds_answer(h.text, q.answers) for h in kept) if q.answers and not abstained else 0
    return {"id": q.id, "answerable": bool(q.answers), "answer": text, "abstained": abstained,
            "abstained_because": "model" if abstained else None, "em": em, "f1": f1v, "contains": contains,
            "citations": len(kept) if not abstained else 0, "citations_correct": correct, "sentences": 0,
            "supported_sentences": 0, "seconds": time.perf_counter() - t0,
            "first_token_seconds": first[0] - t0 if first else None, "context_ids": [h.id for h in kept],
            "cut": len(hits) - len(kept), "cited_cut": 0, "moved": 0}


# ---------------------------------------------------------------- report

def wilson(k: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 0.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap(values: list[float], seed: int = 0, rounds: int = 2000) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean."""
    if not values:
        return 0.0, 0.0
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def summarise(rows: list[dict[str, Any]], chunk_pid: dict[str, str], pids: dict[str, str]) -> dict[str, Any]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    answered = [r for r in ans if not r["abstained"]]
    cites = sum(r["citations"] for r in answered)
    ttft = [r["first_token_seconds"] for r in rows if r["first_token_seconds"] is not None]
    secs = [r["seconds"] for r in rows]
    return {
        "n": len(ans), "n_removed": len(una),
        "gold_in_context": sum(any(chunk_pid.get(c) == pids[r["id"]] for c in r["context_ids"]) for r in ans),
        "em": sum(r["em"] for r in ans), "f1": [r["f1"] for r in ans], "contains": sum(r["contains"] for r in ans),
        "cite_ok": sum(r["citations_correct"] for r in answered), "cites": cites,
        "supported": sum(r["supported_sentences"] for r in rows if not r["abstained"]),
        "sentences": sum(r["sentences"] for r in rows if not r["abstained"]),
        "abstain_removed": sum(r["abstained"] for r in una), "false_abstain": sum(r["abstained"] for r in ans),
        "because": dict(Counter(r["abstained_because"] for r in rows if r["abstained_because"])),
        "sec_mean": statistics.mean(secs) if secs else 0.0, "sec_p50": statistics.median(secs) if secs else 0.0,
        "ttft": statistics.mean(ttft) if ttft else None,
        "cut": sum(r["cut"] > 0 for r in rows), "cited_cut": sum(r["cited_cut"] for r in rows),
        "moved": sum(r["moved"] for r in rows),
        "cached": statistics.fmean(c) if (c := [r["cached_prompt_tokens"] for r in rows
                                                 if r.get("cached_prompt_tokens") is not None]) else None,
    }


def pct_ci(k: float, n: int) -> str:
    if n == 0:
        return "–"
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.1f} [{100 * lo:.0f}–{100 * hi:.0f}]"


def table(results: dict[str, dict[str, Any]], args: argparse.Namespace, chunks: int,
          f1_diff: list[float]) -> str:
    any_s = next(iter(results.values()))
    lines = [
        "## Grounded answers (`localkb ask`) vs naive top-k stuffing, same window budget",
        "",
        f"{args.dataset} (held out: prompts written on SQuAD v1.1 dev, support checker calibrated on SQuAD "
        f"dev and checked on SQuADShifts NYT), {any_s['n']} answerable questions + {any_s['n_removed']} whose "
        f"gold paragraph was removed from the KB (asked: {args.asked}; planned {args.questions} + {args.removed}"
        f"{', stopped at the deadline' if args.stopped else ''}); KB of {args.corpus} paragraphs ({chunks} chunks; "
        "gold paragraphs plus other paragraphs of the same articles), packaged all-MiniLM-L6-v2 + FAISS; LLM "
        f"{args.model} Q4_K_M in process, greedy, {args.ctx}-token window for both systems, k={args.k}, "
        f"≤{ANSWER_TOKENS} answer tokens, {args.threads} threads; support rule w={args.rule.lexical_weight}, "
        f"threshold {args.rule.threshold}; "
        + (f"1-minute load average {args.load[0]:.1f} at the start and {args.load[1]:.1f} at the end"
           if args.load else "answers re-checked from the run's log (--rescore), load average not recorded")
        + " (the 2 cores were shared with other jobs: seconds grow with the load). First token: mean over "
        "the answers for which the model was called."
        + (" `ask --quote`: the extractive prompt, written without tuning on any question set; its quotes are "
           "checked verbatim inside `answer`." if "localkb ask --quote" in results else ""),
        "",
        "| system | gold paragraph in context | EM % | token F1 % [95 % CI] | contains gold % | citation precision % "
        "| supported sentences % | refuses when paragraph removed % ↑ | refuses when answerable % ↓ "
        "| s/answer (mean · p50) | first token s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in results.items():
        n, f1s = s["n"], s["f1"]
        lo, hi = bootstrap(f1s)
        ttft = "–" if s["ttft"] is None else f"{s['ttft']:.1f}"
        lines.append(
            f"| {name} | {pct_ci(s['gold_in_context'], n)} | {pct_ci(s['em'], n)} "
            f"| {100 * statistics.fmean(f1s) if f1s else 0:.1f} [{100 * lo:.0f}–{100 * hi:.0f}] "
            f"| {pct_ci(s['contains'], n)} | {pct_ci(s['cite_ok'], s['cites'])} "
            f"| {pct_ci(s['supported'], s['sentences']) if s['sentences'] else 'n/a (no check)'} "
            f"| {pct_ci(s['abstain_removed'], s['n_removed'])} | {pct_ci(s['false_abstain'], n)} "
            f"| {s['sec_mean']:.1f} · {s['sec_p50']:.1f} | {ttft} |")
    lk = results.get("localkb ask")
    lines.append("")
    if f1_diff:
        lo, hi = bootstrap(f1_diff)
        lines.append(f"Token F1, localkb minus naive (paired over the same questions): "
                     f"{100 * statistics.fmean(f1_diff):+.1f} points [95 % CI {100 * lo:+.0f} to {100 * hi:+.0f}].")
    if getattr(args, "quote_diff", None):
        lo, hi = bootstrap(args.quote_diff)
        lines.append(f"Token F1, `ask --quote` minus naive (paired): {100 * statistics.fmean(args.quote_diff):+.1f} "
                     f"points [95 % CI {100 * lo:+.0f} to {100 * hi:+.0f}].")
    if lk is not None:
        lines.append(f"`localkb ask` refusals by reason: {lk['because'] or 'none'}; citations moved by the support "
                     f"check: {lk['moved']}; answers with a chunk shortened or dropped (every one listed in "
                     f"`cut_chunks`): {lk['cut']} of {lk['n'] + lk['n_removed']}; cited chunks that were cut: "
                     f"{lk['cited_cut']} (all reported — the budget is the only path a chunk takes to the model).")
    for name, s in results.items():
        if s.get("cached") is not None:
            lines.append(f"`{name}`: {s['cached']:.0f} prompt tokens per answer on average came from the KV cache of "
                         "the previous question (the fixed prefix: rules first), one loaded model per system.")
    lines += [
        "",
        "EM/F1 use the official SQuAD normalisation with citation markers removed; the model answers in "
        "sentences, so EM is low by construction. Citation precision: the share of citations (among "
        "non-refused answers) whose chunk contains a gold answer string; naive cites nothing, so its "
        "\"citations\" are all chunks in its context. Supported sentences: the share of answer sentences the "
        "support check passed. Brackets: 95 % Wilson intervals (proportions), percentile bootstrap (F1).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="squad-newwiki")
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--removed", type=int, default=50)
    ap.add_argument("--corpus", type=int, default=300, help="paragraphs in the KB")
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--ctx", type=int, default=1024, help="the model's context window (tokens)")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("LOCALKB_LLM_THREADS", "2")))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--deadline", default=None, help="HH:MM UTC: start no new question after it")
    ap.add_argument("--log", default=None, help="append each row as JSON to this file")
    ap.add_argument("--rescore", default=None, help="re-check and report the rows of a --log file (no model)")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--quote", action="store_true", help="also run `ask --quote` (extractive, quotes checked)")
    ap.add_argument("--no-write", action="store_true", help="print the table, do not touch docs/")
    args = ap.parse_args(argv)

    from datasets import fetch

    from localkb.llm.base import open_llm
    from localkb.llm.gguf import ensure_model

    load_start = os.getloadavg()[0]
    corpus, queries, answers = load(fetch(args.dataset))
    picked = sample(answers, args.questions + args.removed, args.seed)
    answerable, removed = picked[:args.questions], picked[args.questions:]
    pids = build_corpus(corpus, {r["paragraph_id"] for r in answerable}, args.corpus, args.seed)
    args.corpus = len(pids)
    kb = open_kb(corpus, pids)
    chunk_pid = {c["id"]: pid_of(c["source"]) for c in _chunks(kb)}
    if args.rescore:  # re-check a finished (or stopped) run's answers with the current support rule
        logged: dict[str, list[dict[str, Any]]] = {}
        for line in open(args.rescore, encoding="utf-8"):
            item = json.loads(line)
            logged.setdefault(item.pop("system"), []).append(item)
        n = min(len(v) for v in logged.values())
        logged = {k: v[:n] for k, v in logged.items()}  # paired: only questions both systems answered
        args.asked, args.stopped = n, n < args.questions + args.removed
        args.load = None
        report(args, logged, chunk_pid, {r["_id"]: r["paragraph_id"] for r in picked}, kb)
        kb.close()
        return 0
    systems: dict[str, Any] = {"localkb ask": run_localkb}
    if args.quote:
        systems["localkb ask --quote"] = lambda kb, llm, q, k, emb: run_localkb(kb, llm, q, k, emb, quote=True)
    if not args.no_naive:
        systems["naive top-k"] = run_naive
    # one loaded model per system, as a server keeps one: each keeps the KV cache of its own prompt prefix
    # (interleaving the systems on one model would make every prompt evict the other's)
    llms = {name: open_llm(f"llamacpp://{ensure_model(args.model)}", threads=args.threads,
                           context_window=args.ctx, timeout=900) for name in systems}
    # interleave: two answerable, one removed, … so a run stopped early keeps the mix
    order: list[tuple[dict[str, Any], bool]] = []
    a, r = list(answerable), list(removed)
    while a or r:
        order += [(x, True) for x in a[:2]] + [(x, False) for x in r[:1]]
        a, r = a[2:], r[1:]
    stop_at = None
    if args.deadline:
        hh, mm = map(int, args.deadline.split(":"))
        now = dt.datetime.now(dt.UTC)
        stop_at = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    qpid: dict[str, str] = {}
    args.stopped = False
    log = open(args.log, "a", encoding="utf-8") if args.log else None
    for i, (row, ok) in enumerate(order, 1):
        if stop_at is not None:
            if dt.datetime.now(dt.UTC) >= stop_at:
                args.stopped = True
                break
        q = RagQuestion(row["_id"], queries[row["_id"]], tuple(row["answers"]) if ok else ())
        qpid[q.id] = row["paragraph_id"]
        target = kb if ok else Hidden(kb, row["paragraph_id"])
        for name, run in systems.items():
            out = run(target, llms[name], q, args.k, kb.embedder)
            rows[name].append(out)
            if log:
                log.write(json.dumps({"system": name, **out}, ensure_ascii=False) + "\n")
                log.flush()
            print(f"[{name}] {i}/{len(order)} {'ans' if ok else 'removed'} {out['seconds']:.1f}s f1={out['f1']:.2f} "
                  f"{out['abstained_because'] or ''} {out['answer'][:70]!r}", file=sys.stderr, flush=True)
    args.asked = len(next(iter(rows.values())))
    for llm in llms.values():
        llm.close()
    if log:
        log.close()
    args.load = (load_start, os.getloadavg()[0])
    report(args, rows, chunk_pid, qpid, kb)
    kb.close()
    return 0


def report(args: argparse.Namespace, rows: dict[str, list[dict[str, Any]]], chunk_pid: dict[str, str],
           qpid: dict[str, str], kb: Any) -> None:
    from localkb.rag.support import SupportChecker

    checker = SupportChecker(kb.embedder)
    rows["localkb ask"] = [check_row(r, checker) for r in rows["localkb ask"]]
    args.rule = checker.rule
    results = {name: summarise(rs, chunk_pid, qpid) for name, rs in rows.items()}
    diff: list[float] = []
    if "naive top-k" in rows:
        diff = [x["f1"] - y["f1"] for x, y in zip(rows["localkb ask"], rows["naive top-k"]) if x["answerable"]]
    args.quote_diff = []
    if "localkb ask --quote" in rows and "naive top-k" in rows:
        args.quote_diff = [x["f1"] - y["f1"] for x, y in zip(rows["localkb ask --quote"], rows["naive top-k"])
                           if x["answerable"]]
    md = table(results, args, len(chunk_pid), diff)
    print(md)
    if not args.no_write:
        from _report import write_section

        command = None
        if args.rescore:  # the answers came from an earlier run that logged them: name both steps
            command = (f".venv/bin/python benchmarks/bench_ask.py --deadline HH:MM --log {args.rescore} --no-write "
                       f"(generation), then .venv/bin/python benchmarks/bench_ask.py --rescore {args.rescore}")
        write_section("ask", md, command)


def _chunks(kb: Any) -> list[dict[str, Any]]:
    """Every (chunk id, source) pair of the KB, read from its SQLite source of truth."""
    rows = kb.db.query("SELECT dc.chunk_id AS id, d.source AS source FROM doc_chunks dc "
                       "JOIN documents d ON d.id = dc.doc_id")
    return [{"id": r["id"], "source": r["source"]} for r in rows]


if __name__ == "__main__":
    raise SystemExit(main())
