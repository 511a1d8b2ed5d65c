"""The text-to-SQL agent: question → schema + examples → LLM → guard → read-only execution, with retries.

A guard rejection or a database error is fed back to the model, up to ``max_attempts`` times; every
statement the model produced is written to the audit log, allowed or not.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..config import setting
from ..errors import ConfigError, LocalKBError, SQLError
from ..llm.base import LLM, Message
from .audit import AuditLog
from .examples import Example, ExampleStore
from .executor import Database
from .guard import Guard
from .prompts import extract_sql, fix_prompt, system_prompt, user_prompt
from .schema import Schema, introspect, select_tables


@dataclass
class Attempt:
    """One model reply: the SQL it held, the guard's verdict and, if it ran, the database's answer."""

    number: int
    sql: str
    allowed: bool
    violations: list[dict[str, str]] = field(default_factory=list)
    executed_sql: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "sql": self.sql, "allowed": self.allowed, "violations": self.violations,
                "executed_sql": self.executed_sql, "error": self.error}


@dataclass
class SQLAnswer:
    """What ``SQLAgent.ask`` returns. ``ok`` is False when no attempt produced SQL that ran."""

    question: str
    ok: bool
    sql: str | None
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    attempts: list[Attempt]
    tables: list[str]
    examples: list[Example]
    dry_run: bool = False
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "ok": self.ok, "sql": self.sql, "columns": self.columns,
                "rows": [list(r) for r in self.rows], "truncated": self.truncated,
                "attempts": [a.to_dict() for a in self.attempts], "tables": self.tables,
                "examples": [{"question": e.question, "sql": e.sql, "score": round(e.score, 4)}
                             for e in self.examples],
                "dry_run": self.dry_run, "error": self.error, "seconds": round(self.seconds, 2)}


def load_default_embedder() -> Any:
    """The default embedder (packaged MiniLM), or ``False`` when it cannot be loaded here."""
    try:
        from ..embedders import load_embedder

        return load_embedder(None)
    except (ImportError, LocalKBError):
        return False


def default_llm_uri(explicit: str | None = None) -> str:
    """``--llm`` > ``LOCALKB_LLM`` / localkb.toml ``llm`` > the packaged Qwen2.5-Coder GGUF.

    Raises:
        ConfigError: nothing configured and no packaged model available.
    """
    uri = setting("llm", explicit, None)
    if uri:
        return str(uri)
    try:
        from ..llm import gguf
    except ImportError:
        gguf = None  # type: ignore[assignment]
    if gguf is not None and hasattr(gguf, "default_llm_uri"):
        return str(gguf.default_llm_uri())
    raise ConfigError("No LLM configured: pass --llm URI (e.g. llamacpp:///path/model.gguf) or set LOCALKB_LLM.")


class SQLAgent:
    """Answers questions about one database.

    Args:
        db: the read-only database.
        llm: the model that writes SQL (any ``localkb.llm.base.LLM``).
        audit: where every statement is logged (default: the user audit log).
        examples: verified question→SQL pairs (default: the user examples store); ``None`` → default.
        embedder: used to pick tables for large schemas; ``"auto"`` loads the default embedder when a
            schema is large, ``None`` ranks tables by word overlap.
        max_attempts: replies the model may give before the agent gives up.
        max_rows: row cap and the LIMIT the guard enforces.
        max_tables: above this many tables only the most relevant ones (+FK neighbours) are prompted.
        n_examples: how many similar examples go into the prompt (0 disables them).
        samples: sample values per column in the prompt (0 disables them).
    """

    def __init__(self, db: Database, llm: LLM, *, audit: AuditLog | None = None,
                 examples: ExampleStore | None = None, embedder: Any = "auto", max_attempts: int = 3,
                 max_rows: int = 100, max_tables: int = 6, n_examples: int = 3, samples: int = 2,
                 max_tokens: int = 256) -> None:
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1.")
        self.db = db
        self.llm = llm
        self.audit = audit if audit is not None else AuditLog()
        self.examples = examples
        self.embedder = embedder
        self.max_attempts = max_attempts
        self.max_rows = max_rows
        self.max_tables = max_tables
        self.n_examples = n_examples
        self.samples = samples
        self.max_tokens = max_tokens
        self._schema: Schema | None = None

    @property
    def schema(self) -> Schema:
        if self._schema is None:
            self._schema = introspect(self.db, samples=self.samples)
        return self._schema

    def prompt(self, question: str) -> tuple[list[Message], list[str], list[Example]]:
        """The first messages for ``question``, the tables shown and the examples used."""
        schema = self.schema
        embedder = self._embedder() if len(schema.tables) > self.max_tables else None
        tables = select_tables(schema, question, embedder=embedder, k=self.max_tables)
        shots: list[Example] = []
        if self.n_examples > 0 and self.examples is not None:
            shots = self.examples.similar(self.db.display_url, question, k=self.n_examples)
        text = user_prompt(question, schema.subset(tables).render(), shots)
        return ([{"role": "system", "content": system_prompt(schema.dialect)},
                 {"role": "user", "content": text}], tables, shots)

    def _embedder(self) -> Any:
        if self.embedder == "auto":
            self.embedder = load_default_embedder()
        return self.embedder or None

    def ask(self, question: str, *, dry_run: bool = False) -> SQLAnswer:
        """Answer ``question``: the SQL, its rows and every attempt made.

        Raises:
            SQLError: empty question; the database cannot be read. (A model that never writes usable
                SQL is not an exception: the answer has ``ok=False`` and lists every attempt.)
        """
        question = (question or "").strip()
        if not question:
            raise SQLError("The question is empty.")
        self.audit.ensure_writable()
        start = time.monotonic()
        messages, tables, shots = self.prompt(question)
        guard = Guard(self.schema, max_rows=self.max_rows)
        attempts: list[Attempt] = []
        problems: list[str] = []
        first_user = messages[1]["content"]
        for number in range(1, self.max_attempts + 1):
            # greedy first; retries sample a little so that they can leave a rut
            temperature = 0.0 if number == 1 else 0.3
            reply = self.llm.chat(messages, max_tokens=self.max_tokens, temperature=temperature)
            sql = extract_sql(reply)
            verdict = guard.check(sql)
            attempt = Attempt(number, sql, verdict.allowed, [v.to_dict() for v in verdict.violations],
                              verdict.sql)
            attempts.append(attempt)
            if not sql:
                reason = "A reply contained no SQL query."
            elif not verdict.allowed:
                reason = " ".join(v.message for v in verdict.violations)
            else:
                reason = ""
            if verdict.allowed and verdict.sql is not None and dry_run:
                self._log(question, attempt, None, None, 0.0)
                return SQLAnswer(question, True, verdict.sql, [], [], False, attempts, tables, shots, True,
                                 seconds=time.monotonic() - start)
            if verdict.allowed and verdict.sql is not None:
                try:
                    result = self.db.run(verdict.sql, max_rows=self.max_rows)
                except SQLError as exc:
                    attempt.error = exc.message
                    self._log(question, attempt, None, exc.message, None)
                    reason = f"The database returned an error: {exc.message}"
                else:
                    self._log(question, attempt, len(result.rows), None, result.elapsed_ms)
                    return SQLAnswer(question, True, verdict.sql, result.columns, result.rows, result.truncated,
                                     attempts, tables, shots, seconds=time.monotonic() - start)
            else:
                attempt.error = reason
                self._log(question, attempt, None, None, None)
            # a fresh prompt with the problems listed, not a conversation: small models copy their own
            # previous reply (even when sampling), and the unchanged schema prefix stays in the LLM's cache
            problems.append(reason)
            messages = [messages[0], {"role": "user", "content": fix_prompt(first_user, problems,
                                                                             self.schema.dialect)}]
        last = attempts[-1].error if attempts else None
        return SQLAnswer(question, False, None, [], [], False, attempts, tables, shots, dry_run,
                         error=f"No usable SQL after {len(attempts)} attempt(s); last problem: {last}",
                         seconds=time.monotonic() - start)

    def _log(self, question: str, attempt: Attempt, rows: int | None, error: str | None,
             elapsed_ms: float | None) -> None:
        self.audit.record(db=self.db.display_url, question=question, attempt=attempt.number, sql=attempt.sql,
                          allowed=attempt.allowed, violations=attempt.violations,
                          executed_sql=attempt.executed_sql, rows=rows, error=error, elapsed_ms=elapsed_ms)


def check(sql: str, db: Database, *, audit: AuditLog | None = None, max_rows: int = 1000) -> dict[str, Any]:
    """Run the guard alone on ``sql`` against ``db``'s schema, log it, return the verdict dict."""
    schema = introspect(db, samples=0)
    verdict = Guard(schema, max_rows=max_rows).check(sql)
    (audit if audit is not None else AuditLog()).record(
        db=db.display_url, sql=sql, allowed=verdict.allowed,
        violations=[v.to_dict() for v in verdict.violations], executed_sql=None, source="check")
    return verdict.to_dict()
