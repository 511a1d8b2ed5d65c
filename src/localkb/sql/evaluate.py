"""``localkb eval sql``: execution accuracy of the agent on your own questions and databases.

A questions file is JSON lines, one object per question: ``{"question": ..., "sql": GOLD}`` with
``--db URL``, plus ``"db": NAME`` with ``--dbs DIR`` (and an optional ``"id"``). Other keys are an
error. Under ``DIR`` a database is ``NAME.sqlite`` / ``NAME.db`` / … or a folder ``NAME/`` holding
several fillings of one schema: the agent answers on the first (sorted by name) and the answer is
correct only if its result equals the gold result on every filling where the gold query runs
(test-suite accuracy). The comparison is ``scoring.execution_match``, the one the benchmark uses;
``relaxed`` beside it is ``scoring.relaxed_match`` (the gold columns as a projection of the result).
``seconds`` per question are answer time (schema reading included, and given apart as
``schema_seconds``); the model load is ``load_seconds``, charged to no question.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LocalKBError, SQLError
from .executor import SQLITE_SUFFIXES, SQLDatabase
from .scoring import Rows, execution_match, relaxed_match

QUESTION_KEYS = frozenset({"id", "question", "sql", "db"})
#: rows fetched from gold and predicted queries when comparing them
SCORE_ROWS = 10_000


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    sql: str
    db: str | None


@dataclass
class EvalReport:
    """Per-question verdicts and the totals; ``to_dict`` is the ``--json`` output."""

    model: str
    load_seconds: float
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    fillings: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        scored = [v for v in self.verdicts if v["verdict"] != "unscorable"]
        correct = sum(1 for v in scored if v["verdict"] == "correct")
        relaxed = sum(1 for v in scored if v["relaxed"])
        secs = [v["seconds"] for v in self.verdicts]
        return {
            "model": self.model, "questions": len(self.verdicts), "scored": len(scored),
            "unscorable": len(self.verdicts) - len(scored),
            "execution_accuracy": correct / len(scored) if scored else None,
            "relaxed_accuracy": relaxed / len(scored) if scored else None,
            "test_suite": any(n > 1 for n in self.fillings.values()), "fillings": self.fillings,
            "median_seconds": round(statistics.median(secs), 2) if secs else None,
            "load_seconds": round(self.load_seconds, 2),
            "answer_seconds": round(sum(secs), 2),
            "schema_seconds": round(sum(v["schema_seconds"] for v in self.verdicts), 2),
            "attempts": round(sum(v["attempts"] for v in self.verdicts) / len(self.verdicts), 2)
            if self.verdicts else None,
            "verdicts": self.verdicts,
        }


def load_questions(path: str | Path, *, with_db: bool) -> list[EvalQuestion]:
    """Read and validate a questions file (``with_db``: every line names its database).

    Raises:
        SQLError: unreadable file, bad JSON, a missing or unknown key, no questions.
    """
    from ..jsonlines import json_objects

    path = Path(path)
    out: list[EvalQuestion] = []
    for n, item in json_objects(path, QUESTION_KEYS, SQLError, "questions file"):
        for key in ("question", "sql"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise SQLError(f"{path}:{n}: '{key}' must be a non-empty string.")
        if with_db and not isinstance(item.get("db"), str):
            raise SQLError(f"{path}:{n}: with --dbs every line needs \"db\": the database's name under DIR.")
        if not with_db and "db" in item:
            raise SQLError(f"{path}:{n}: \"db\" is only read with --dbs DIR (with --db every question uses it).")
        out.append(EvalQuestion(str(item.get("id", n)), item["question"].strip(), item["sql"].strip(),
                                item.get("db")))
    if not out:
        raise SQLError(f"{path} holds no questions.")
    return out


def databases_in(folder: str | Path, names: set[str]) -> dict[str, list[str]]:
    """``NAME`` → the SQLite fillings of that database under ``folder``.

    Raises:
        SQLError: the folder is missing, or a named database is not in it.
    """
    root = Path(folder)
    if not root.is_dir():
        raise SQLError(f"No folder {root}: --dbs needs a folder of SQLite databases.")
    out: dict[str, list[str]] = {}
    for name in sorted(names):
        files = [root / f"{name}{s}" for s in SQLITE_SUFFIXES if (root / f"{name}{s}").is_file()]
        if (root / name).is_dir():
            files = sorted(p for p in (root / name).iterdir() if p.suffix in SQLITE_SUFFIXES and p.is_file())
        if not files:
            raise SQLError(f"No database '{name}' in {root} (expected {name}.sqlite, {name}.db or a folder "
                           f"{name}/ of fillings).")
        out[name] = [str(p) for p in files]
    return out


def _runner(db: SQLDatabase) -> Any:
    def run(sql: str) -> Rows | None:
        try:
            return db.run(sql, max_rows=SCORE_ROWS).rows
        except SQLError:
            return None
    return run


def evaluate(questions_file: str | Path, *, db_url: str | None = None, dbs_dir: str | Path | None = None,
             llm: str | None = None, audit: str | None = None, candidates: int = 1, max_attempts: int = 3,
             examples: bool = True, timeout: float = 10.0, threads: int | None = None) -> EvalReport:
    """Ask every question with the agent and score its SQL by execution against the gold SQL.

    Raises:
        SQLError: bad questions file or databases; exactly one of ``db_url`` / ``dbs_dir`` is needed.
    """
    from . import AuditLog, ExampleStore, SQLAgent, default_llm_uri
    from .cache import shared_llm

    if (db_url is None) == (dbs_dir is None):
        raise SQLError("Pass exactly one of --db URL or --dbs DIR.")
    questions = load_questions(questions_file, with_db=dbs_dir is not None)
    groups: dict[str, list[str]]
    if db_url is not None:
        groups = {"": [db_url]}
    else:
        assert dbs_dir is not None
        groups = databases_in(dbs_dir, {q.db for q in questions if q.db})
    model, load = shared_llm(default_llm_uri(llm), threads=threads)
    report = EvalReport(str(getattr(model, "model", "")), load)
    store = ExampleStore() if examples else None
    log = AuditLog(audit)
    try:
        for name, urls in groups.items():
            opened = [SQLDatabase(u, timeout=timeout, max_rows=SCORE_ROWS) for u in urls]
            report.fillings[name or opened[0].display_url] = len(opened)
            try:
                agent = SQLAgent(opened[0], model, audit=log, examples=store, max_rows=SCORE_ROWS,
                                 max_attempts=max_attempts, candidates=candidates,
                                 n_examples=3 if examples else 0)
                for q in questions:
                    if (q.db or "") == name:
                        report.verdicts.append(_one(agent, q, [_runner(d) for d in opened]))
            finally:
                for d in opened:
                    d.close()
    finally:
        if store is not None:
            store.close()
    return report


def _one(agent: Any, q: EvalQuestion, runners: list[Any]) -> dict[str, Any]:
    start = time.monotonic()
    schema_seconds = 0.0
    try:
        answer = agent.ask(q.question)
        pred, attempts, error, schema_seconds = answer.sql, len(answer.attempts), answer.error, answer.schema_seconds
    except LocalKBError as exc:  # e.g. the model timed out: this question fails, the others go on
        pred, attempts, error = None, 0, exc.message
    seconds = time.monotonic() - start
    match = execution_match(runners, q.sql, pred)
    verdict = "unscorable" if match is None else "correct" if match else "no_sql" if pred is None else "wrong"
    return {"id": q.id, "db": q.db, "question": q.question, "gold": q.sql, "predicted": pred, "verdict": verdict,
            "relaxed": relaxed_match(runners, q.sql, pred), "seconds": round(seconds, 2),
            "schema_seconds": round(schema_seconds, 2), "attempts": attempts, "error": error}
