"""The text-to-SQL agent: question → schema + examples → LLM → guard → read-only execution, with retries.

A guard rejection or a database error is fed back to the model, up to ``max_attempts`` times; every
statement the model produced is written to the audit log, allowed or not.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, SQLError
from ..llm.base import LLM, Message
from .audit import AuditLog
from .cache import SchemaKnowledge, schema_knowledge
from .checks import result_problem
from .examples import Example, ExampleStore, load_default_embedder
from .executor import QueryResult, SQLDatabase
from .guard import Guard
from .prompts import extract_sql, fix_prompt, system_prompt, user_prompt
from .schema import Schema, introspect, select_tables
from .scoring import vote
from .values import ValueMatch, link_tables, render_matches

if TYPE_CHECKING:
    from ..settings import Settings


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
    """What ``SQLAgent.ask`` returns. ``ok`` is False when no attempt produced SQL that ran.

    ``seconds`` is the time to answer; ``load_seconds`` the model load charged to this answer (the
    first one after loading; 0 when the model was already loaded); ``schema_seconds`` the time spent
    reading the schema and value index (0 when cached). ``votes`` of ``candidates`` results that ran
    agreed with the answer; ``checks`` are result problems fed back to the model.
    """

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
    model: str = ""
    load_seconds: float = 0.0
    schema_seconds: float = 0.0
    values: list[ValueMatch] = field(default_factory=list)
    votes: int = 0
    candidates: int = 0
    checks: list[str] = field(default_factory=list)
    #: "table.column" whose distinct values the value index could not hold in full (bounds)
    values_not_indexed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "ok": self.ok, "model": self.model, "sql": self.sql,
                "columns": self.columns,
                "rows": [list(r) for r in self.rows], "truncated": self.truncated,
                "attempts": [a.to_dict() for a in self.attempts], "tables": self.tables,
                "examples": [{"question": e.question, "sql": e.sql, "score": round(e.score, 4)}
                             for e in self.examples],
                "values": [m.to_dict() for m in self.values], "values_not_indexed": self.values_not_indexed,
                "votes": self.votes, "candidates": self.candidates,
                "checks": self.checks, "dry_run": self.dry_run, "error": self.error,
                "seconds": round(self.seconds, 2), "load_seconds": round(self.load_seconds, 2),
                "schema_seconds": round(self.schema_seconds, 2)}


def default_llm_uri(explicit: str | None = None, settings: Settings | None = None) -> str:
    """``--llm`` > ``LOCALKB_LLM`` / localkb.toml ``llm`` > the packaged Qwen2.5-Coder GGUF.

    Raises:
        ConfigError: nothing configured and no packaged model available.
    """
    from ..settings import current

    uri = explicit or current(settings).llm
    if uri:
        return str(uri)
    try:
        from ..llm import gguf
    except ImportError:
        gguf = None  # type: ignore[assignment]
    if gguf is not None and hasattr(gguf, "default_llm_uri"):
        return str(gguf.default_llm_uri(settings=settings))
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
        max_attempts: prompts the model may get before the agent gives up (problems are fed back).
        max_rows: row cap and the LIMIT the guard enforces.
        max_tables: above this many tables only the most relevant ones (+FK neighbours) are prompted.
        n_examples: how many similar examples go into the prompt (0 disables them).
        samples: sample values per column in the prompt (0 disables them).
        candidates: replies sampled for the first prompt (1 = greedy only); each goes through the
            guard, the audit log and the read-only executor, errors are dropped, and the result most
            candidates agree on wins (execution-guided self-consistency).
        temperature: sampling temperature of the extra candidates.
        value_links: most stored values named by the question to put in the prompt (0, the default,
            disables; 6 was tried). Off by default: on the unseen split it measured no better than
            without (docs/benchmarks.md, "Text-to-SQL on unseen databases").
        check_results: feed one suspicious result (empty although the question names a stored
            value; a join without a condition) back to the model once. Off by default for the same
            reason.
        load_seconds: seconds spent loading the model for this agent, charged to its first answer.
    """

    def __init__(self, db: SQLDatabase, llm: LLM, *, audit: AuditLog | None = None,
                 examples: ExampleStore | None = None, embedder: Any = "auto", max_attempts: int = 3,
                 max_rows: int = 100, max_tables: int = 6, n_examples: int = 3, samples: int = 2,
                 max_tokens: int = 256, candidates: int = 1, temperature: float = 0.7, value_links: int = 0,
                 check_results: bool = False, load_seconds: float = 0.0) -> None:
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1.")
        if candidates < 1:
            raise ConfigError("candidates must be at least 1.")
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
        self.candidates = candidates
        self.temperature = temperature
        self.value_links = value_links
        self.check_results = check_results
        self.load_seconds = load_seconds
        self._knowledge: SchemaKnowledge | None = None

    def knowledge(self) -> SchemaKnowledge:
        """Schema and value index from the process cache (rebuilt when the schema changed)."""
        self._knowledge = schema_knowledge(self.db, samples=self.samples, values=self.value_links > 0)
        return self._knowledge

    @property
    def schema(self) -> Schema:
        return (self._knowledge or self.knowledge()).schema

    def prompt(self, question: str) -> tuple[list[Message], list[str], list[Example], list[ValueMatch]]:
        """The first messages for ``question``, the tables shown, the examples and the values linked."""
        known = self._knowledge or self.knowledge()
        schema = known.schema
        embedder = self._embedder() if len(schema.tables) > self.max_tables else None
        tables = select_tables(schema, question, embedder=embedder, k=self.max_tables)
        links: list[ValueMatch] = []
        if known.values is not None and self.value_links > 0:
            links = link_tables(known.values.lookup(question, k=self.value_links), tables, question)
            tables += [t for t in dict.fromkeys(m.table for m in links) if t not in tables]
        shots: list[Example] = []
        if self.n_examples > 0 and self.examples is not None:
            shots = self.examples.similar(self.db.display_url, question, k=self.n_examples)
        shown = schema.subset(tables)
        text = user_prompt(question, shown.render(), shots, render_matches(links, shown))
        return ([{"role": "system", "content": system_prompt(schema.dialect)},
                 {"role": "user", "content": text}], tables, shots, links)

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
        known = self.knowledge()
        schema_seconds = known.seconds
        load, self.load_seconds = self.load_seconds, 0.0
        messages, tables, shots, links = self.prompt(question)
        guard = Guard(self.schema, max_rows=self.max_rows)
        attempts: list[Attempt] = []
        problems: list[str] = []
        first_user = messages[1]["content"]
        held: tuple[Attempt, QueryResult, int, int] | None = None  # a result sent back once for a check

        def answer(ok: bool, attempt: Attempt | None = None, result: QueryResult | None = None,
                   votes: tuple[int, int] = (0, 0), error: str | None = None) -> SQLAnswer:
            return SQLAnswer(question, ok, attempt.executed_sql if attempt else None,
                             result.columns if result else [], result.rows if result else [],
                             result.truncated if result else False, attempts, tables, shots, dry_run and ok,
                             error=error, seconds=time.monotonic() - start, model=str(getattr(self.llm, "model", "")),
                             load_seconds=load, schema_seconds=schema_seconds, values=links,
                             votes=votes[0], candidates=votes[1], checks=problems if held else [],
                             values_not_indexed=list(known.values.truncated) if known.values else [])

        for round_no in range(1, self.max_attempts + 1):
            # greedy first; extra candidates and retries sample so that they can leave a rut
            temps = ([0.0] + [self.temperature] * (self.candidates - 1)) if round_no == 1 else [0.3]
            ran: list[tuple[Attempt, QueryResult]] = []
            found: list[str] = []
            for temperature in temps:
                attempt, result, reason = self._try(question, messages, guard, len(attempts) + 1, temperature,
                                                    dry_run)
                attempts.append(attempt)
                if dry_run and attempt.allowed and attempt.executed_sql:
                    return answer(True, attempt)
                if result is not None:
                    ran.append((attempt, result))
                elif reason not in found:
                    found.append(reason)
            if ran:
                win, support = vote([r.rows for _, r in ran])
                attempt, result = ran[win]
                problem = None if held or not self.check_results or round_no == self.max_attempts else \
                    result_problem(attempt.executed_sql or "", result, links, self.schema.dialect)
                if problem is None:
                    return answer(True, attempt, result, (support, len(ran)))
                held = (attempt, result, support, len(ran))
                found = [problem]
            elif held is not None:
                break  # the check's retry failed: the earlier result stands
            # a fresh prompt with the problems listed, not a conversation: small models copy their own
            # previous reply (even when sampling), and the unchanged schema prefix stays in the LLM's cache
            problems.extend(found)
            messages = [messages[0], {"role": "user", "content": fix_prompt(first_user, problems,
                                                                             self.schema.dialect)}]
        if held is not None:
            return answer(True, held[0], held[1], (held[2], held[3]))
        last = attempts[-1].error if attempts else None
        return answer(False, error=f"No usable SQL after {len(attempts)} attempt(s); last problem: {last}")

    def _try(self, question: str, messages: list[Message], guard: Guard, number: int, temperature: float,
             dry_run: bool) -> tuple[Attempt, QueryResult | None, str]:
        """One reply: through the guard, the audit log and (unless a dry run) the read-only executor."""
        reply = self.llm.chat(messages, max_tokens=self.max_tokens, temperature=temperature)
        sql = extract_sql(reply)
        verdict = guard.check(sql)
        attempt = Attempt(number, sql, verdict.allowed, [v.to_dict() for v in verdict.violations], verdict.sql)
        if not verdict.allowed or verdict.sql is None:
            attempt.error = ("A reply contained no SQL query." if not sql
                             else " ".join(v.message for v in verdict.violations))
            self._log(question, attempt, None, None, None)
            return attempt, None, attempt.error
        if dry_run:
            self._log(question, attempt, None, None, 0.0)
            return attempt, None, ""
        try:
            result = self.db.run(verdict.sql, max_rows=self.max_rows)
        except SQLError as exc:
            attempt.error = exc.message
            self._log(question, attempt, None, exc.message, None)
            return attempt, None, f"The database returned an error: {exc.message}"
        self._log(question, attempt, len(result.rows), None, result.elapsed_ms)
        return attempt, result, ""

    def _log(self, question: str, attempt: Attempt, rows: int | None, error: str | None,
             elapsed_ms: float | None) -> None:
        self.audit.record(db=self.db.display_url, question=question, attempt=attempt.number, sql=attempt.sql,
                          allowed=attempt.allowed, violations=attempt.violations,
                          executed_sql=attempt.executed_sql, rows=rows, error=error, elapsed_ms=elapsed_ms)


def check(sql: str, db: SQLDatabase, *, audit: AuditLog | None = None, max_rows: int = 1000) -> dict[str, Any]:
    """Run the guard alone on ``sql`` against ``db``'s schema, log it, return the verdict dict."""
    schema = introspect(db, samples=0)
    verdict = Guard(schema, max_rows=max_rows).check(sql)
    (audit if audit is not None else AuditLog()).record(
        db=db.display_url, sql=sql, allowed=verdict.allowed,
        violations=[v.to_dict() for v in verdict.violations], executed_sql=None, source="check")
    return verdict.to_dict()
