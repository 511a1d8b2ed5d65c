"""How accurate is `localkb sql` with small local models? Spider dev, raw prompt vs the agent.

    .venv/bin/python benchmarks/bench_sql.py                 # 20 questions per configuration (sample)
    .venv/bin/python benchmarks/bench_sql.py --limit 0       # all 507 questions on the 10 dev databases

Configurations: Qwen2.5-Coder 0.5B and 1.5B (packaged GGUF, llama.cpp, greedy) × {raw prompt, agent}.
*Raw prompt*: the schema's CREATE TABLE statements and the question, one reply, run as is.
*Agent*: ``SQLAgent`` — sample values, up to 3 retrieved examples, the guard, up to 3 attempts with
rejections and database errors fed back. Examples are other dev questions on the same database whose
gold SQL differs from the question's (Spider pairs paraphrases with one SQL; those are excluded).

Scoring (see ``spider.py``): execution accuracy on 4 synthetic fillings per schema, and an
approximate exact-set match. Seconds per question are wall-clock, prompt + generation + retries.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_section
from spider import build_filling, exact_set_match, execution_match, literals_by_column
from sql_data import SPIDER_DEV_DBS, spider_dev

MODELS = {"0.5B": "qwen2.5-coder-0.5b", "1.5B": "qwen2.5-coder-1.5b"}
FILLINGS = 4


class _Examples:
    """Leave-paraphrases-out example retrieval over the dev questions of the current database."""

    def __init__(self, questions: list[dict[str, Any]]) -> None:
        from localkb.embedders import load_embedder

        self.emb = load_embedder(None)
        self.items = questions
        self.vecs = self.emb.embed([q["question"] for q in questions])
        self.current: dict[str, Any] | None = None

    def similar(self, db: str, question: str, k: int = 3) -> list[Any]:
        from localkb.sql.examples import Example

        assert self.current is not None
        target = _norm(self.current["query"])
        qv = self.emb.embed([question])[0]
        scores = self.vecs @ qv
        out = []
        for i in sorted(range(len(self.items)), key=lambda i: -scores[i]):
            item = self.items[i]
            if item["db_id"] != self.current["db_id"] or _norm(item["query"]) == target:
                continue
            out.append(Example(item["question"], item["query"], float(scores[i])))
            if len(out) == k:
                break
        return out

    def close(self) -> None:
        pass


def _norm(sql: str) -> str:
    return re.sub(r"\s+", " ", sql.strip().rstrip(";").lower())


def sample(questions: list[dict[str, Any]], limit: int, seed: int = 7) -> list[dict[str, Any]]:
    """``limit`` questions spread evenly over the databases (all when ``limit`` is 0)."""
    if limit <= 0 or limit >= len(questions):
        return questions
    rng = random.Random(seed)
    by_db: dict[str, list[dict[str, Any]]] = {}
    for q in questions:
        by_db.setdefault(q["db_id"], []).append(q)
    picked: list[dict[str, Any]] = []
    dbs = sorted(by_db)
    for pool in by_db.values():
        rng.shuffle(pool)
    i = 0
    while len(picked) < limit:
        pool = by_db[dbs[i % len(dbs)]]
        if pool:
            picked.append(pool.pop())
        i += 1
    # grouped by database: consecutive prompts then share the schema prefix llama.cpp keeps cached
    return sorted(picked, key=lambda q: q["db_id"])


def run_config(model_key: str, mode: str, questions: list[dict[str, Any]], fillings: dict[str, list[Path]],
               examples: _Examples, threads: int) -> dict[str, Any]:
    from localkb.errors import LocalKBError
    from localkb.llm.base import open_llm
    from localkb.llm.gguf import ensure_model
    from localkb.sql.agent import SQLAgent
    from localkb.sql.audit import AuditLog
    from localkb.sql.executor import Database
    from localkb.sql.prompts import extract_sql, system_prompt, user_prompt
    from localkb.sql.schema import introspect

    path = ensure_model(MODELS[model_key], download=False)
    llm = open_llm(f"llamacpp://{path}", threads=threads, context_window=4096)
    audit = AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
    rows = []
    dbs: dict[str, Database] = {}
    schemas: dict[str, Any] = {}
    try:
        for n, q in enumerate(questions, 1):
            db = dbs.get(q["db_id"])
            if db is None:
                db = dbs[q["db_id"]] = Database(str(fillings[q["db_id"]][0]), max_rows=10000)
                schemas[q["db_id"]] = introspect(db, samples=0)
            start = time.monotonic()
            attempts = 1
            if mode == "raw":
                messages = [{"role": "system", "content": system_prompt("sqlite")},
                            {"role": "user", "content": user_prompt(q["question"], schemas[q["db_id"]].render())}]
                try:
                    pred: str | None = extract_sql(llm.chat(messages, max_tokens=256, temperature=0.0)) or None
                except LocalKBError as exc:
                    print(f"  error: {exc.message}", flush=True)
                    pred = None
            else:
                examples.current = q
                agent = SQLAgent(db, llm, audit=audit, examples=examples, embedder=None,  # type: ignore[arg-type]
                                 max_attempts=3, max_rows=10000, n_examples=3, samples=2)
                try:
                    ans = agent.ask(q["question"])
                    pred, attempts = ans.sql, len(ans.attempts)
                except LocalKBError as exc:  # e.g. the model ran past its timeout
                    print(f"  error: {exc.message}", flush=True)
                    pred, attempts = None, 3
            seconds = time.monotonic() - start
            ex = execution_match(fillings[q["db_id"]], q["query"], pred)
            rows.append({"db": q["db_id"], "question": q["question"], "gold": q["query"], "pred": pred,
                         "exec": ex, "esm": exact_set_match(q["query"], pred), "seconds": seconds,
                         "attempts": attempts})
            print(f"[{model_key} {mode}] {n}/{len(questions)} exec={ex} {seconds:.1f}s  {q['question'][:60]}",
                  flush=True)
    finally:
        llm.close()
        for db in dbs.values():
            db.close()
    scored = [r for r in rows if r["exec"] is not None]
    return {
        "model": model_key, "mode": mode, "n": len(rows), "scored": len(scored),
        "exec": sum(1 for r in scored if r["exec"]) / max(1, len(scored)),
        "esm": sum(1 for r in rows if r["esm"]) / max(1, len(rows)),
        "sec": sum(r["seconds"] for r in rows) / max(1, len(rows)),
        "attempts": sum(r["attempts"] for r in rows) / max(1, len(rows)),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=20, help="questions per configuration (0 = all 507)")
    parser.add_argument("--models", default="0.5B,1.5B")
    parser.add_argument("--modes", default="raw,agent")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LOCALKB_LLM_THREADS", "2")))
    parser.add_argument("--out", type=Path, default=None, help="also write every prediction as JSON here")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--report-from", type=Path, default=None, metavar="JSON",
                        help="only re-render the section from an earlier run's --out file")
    parser.add_argument("--command", default=None, help="with --report-from: the command that produced it")
    parser.add_argument("--note", default=None, help="with --report-from: one more paragraph for the section")
    args = parser.parse_args()

    questions, schemas = spider_dev()
    work = Path(tempfile.mkdtemp(prefix="spider-fillings-"))
    fillings: dict[str, list[Path]] = {}
    for db in SPIDER_DEV_DBS:
        lits = literals_by_column([q["query"] for q in questions if q["db_id"] == db])
        fillings[db] = [build_filling(schemas[db], work / f"{db}-{s}.db", seed=s, literals=lits)
                        for s in range(FILLINGS)]
    if args.report_from:
        saved = json.loads(args.report_from.read_text())
        asked = {r["question"] for r in saved[0]["rows"]}
        picked = [q for q in questions if q["question"] in asked]
        report(saved, picked, len(questions), _nonempty_share(picked, fillings), done=len(saved) == 4,
               write=not args.no_report, command=args.command, note=args.note)
        return
    picked = sample(questions, args.limit)
    examples = _Examples(questions)
    results: list[dict[str, Any]] = []
    nonempty = _nonempty_share(picked, fillings)
    configs = [(m, mode) for m in args.models.split(",") for mode in args.modes.split(",")]
    for model_key, mode in configs:
        results.append(run_config(model_key, mode, picked, fillings, examples, args.threads))
        if args.out:
            args.out.write_text(json.dumps(results, indent=1, default=str))
        # written after every configuration, so a long run that is stopped still leaves its figures
        report(results, picked, len(questions), nonempty, done=len(results) == len(configs),
               write=not args.no_report)


def report(results: list[dict[str, Any]], picked: list[dict[str, Any]], total: int, nonempty: float,
           done: bool, write: bool, command: str | None = None, note: str | None = None) -> None:
    lines = [
        "## Text-to-SQL: Spider dev, raw prompt vs the `localkb sql` agent",
        "",
        (f"{len(picked)} questions per configuration (a fixed sample spread over the 10 development databases; "
        f"`--limit 0` runs all {total}). Execution accuracy: the prediction's result equals the gold "
        f"result on every one of {FILLINGS} synthetic fillings of the schema (consistent with its keys, seeded "
        "with the gold queries' literals; the real Spider databases are not shipped). Exact-set match is an "
        "approximation built on sqlglot (components as sets, values masked), not the official evaluator. "
        "llama.cpp, Q4_K_M GGUF, greedy decoding (the agent's retries sample at temperature 0.3)."),
        "",
        ("| model | method | questions | execution accuracy | exact-set match (approx.) | attempts / question "
         "| seconds / question |"),
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        method = ("raw prompt (schema + question, 1 reply)" if r["mode"] == "raw"
                  else "agent (samples + examples + guard + ≤3 attempts)")
        lines.append(f"| Qwen2.5-Coder {r['model']} | {method} | {r['n']} | {r['exec']:.1%} ({r['scored']} scored) "
                     f"| {r['esm']:.1%} | {r['attempts']:.2f} | {r['sec']:.1f} |")
    lines += [
        "",
        (f"Gold results are non-empty on at least one filling for {nonempty:.0%} of these questions (an empty "
        "gold result is matched by any query that returns nothing, so it discriminates less). The agent's "
        "examples are other dev questions on the same database (paraphrases with the same gold SQL "
        "excluded), i.e. the situation after a user has stored verified examples with `localkb sql "
        "add-example`. Sample values in the agent's prompt come from the first filling. These 10 schemas have "
        "at most 6 tables, so embedding-based table selection (used above 6 tables) never applies here. "
        "Seconds include waiting for a CPU: the 2 cores were shared with other jobs during the run."),
    ]
    if note:
        lines += ["", note]
    if not done:
        lines += ["", "_Partial: the run had not finished every configuration when this was written._"]
    if write:
        write_section("sql", "\n".join(lines), command)
    print("\n".join(lines))


def _nonempty_share(questions: list[dict[str, Any]], fillings: dict[str, list[Path]]) -> float:
    from spider import run_sql

    hits = sum(1 for q in questions if any(run_sql(p, q["query"]) for p in fillings[q["db_id"]]))
    return hits / max(1, len(questions))


if __name__ == "__main__":
    main()
