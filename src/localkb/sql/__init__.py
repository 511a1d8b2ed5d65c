"""Guarded text-to-SQL: schema knowledge, the SQL guard, read-only execution, audit log, the agent.

Python API::

    from localkb.sql import SQLDatabase, SQLAgent, check_sql, open_agent
    with open_agent("sqlite:///music.db") as agent:       # default LLM: the packaged Qwen2.5-Coder
        answer = agent.ask("How many albums are there?")
    print(answer.sql, answer.rows)
    add_example("sqlite:///music.db", "How many albums?", "SELECT count(*) FROM album")  # verified, then stored

Nothing heavy is imported here: sqlglot and SQLAlchemy load when a guard or database is used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .agent import SQLAgent, SQLAnswer, check, default_llm_uri
from .audit import AuditLog
from .examples import ExampleStore, StoredExample, add_example
from .executor import QueryResult, SQLDatabase
from .guard import Guard, Verdict, check_sql
from .schema import Schema, introspect
from .values import ValueIndex, ValueMatch

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["AuditLog", "SQLDatabase", "ExampleStore", "Guard", "QueryResult", "SQLAgent", "SQLAnswer", "Schema",
           "StoredExample", "ValueIndex", "ValueMatch", "Verdict", "add_example", "check", "check_sql",
           "default_llm_uri", "introspect", "open_agent"]


class _AgentContext:
    def __init__(self, agent: SQLAgent) -> None:
        self.agent = agent

    def __enter__(self) -> SQLAgent:
        return self.agent

    def __exit__(self, *exc: object) -> None:
        # the model stays loaded for the next agent of this process (``cache.shared_llm``)
        self.agent.db.close()
        if self.agent.examples is not None:
            self.agent.examples.close()


def open_agent(db_url: str, *, llm: str | None = None, audit: str | None = None, max_rows: int = 100,
               timeout: float = 10.0, max_attempts: int = 3, candidates: int = 1,
               threads: int | None = None, value_links: int = 0, check_results: bool = False,
               settings: Settings | None = None) -> _AgentContext:
    """Open the database read-only and the LLM, and build an agent (use as a context manager).

    ``settings``: the caller's resolved settings (the LLM, audit log and example store they name);
    None resolves them once, here.

    The LLM is loaded once per process and shared by every agent opened here (``cache.shared_llm``);
    the first answer reports the load time in ``load_seconds``. ``value_links`` and
    ``check_results`` are the agent's (off by default: see ``SQLAgent``).

    Raises:
        SQLError: the database URL is bad or unreachable. ConfigError: no LLM configured.
    """
    from ..settings import current
    from .cache import shared_llm

    settings = current(settings)
    db = SQLDatabase(db_url, timeout=timeout, max_rows=max_rows)
    try:
        model, load_seconds = shared_llm(default_llm_uri(llm, settings), threads=threads, settings=settings)
    except BaseException:
        db.close()
        raise
    agent = SQLAgent(db, model, audit=AuditLog(audit, settings), examples=ExampleStore(settings=settings),
                     max_rows=max_rows,
                     max_attempts=max_attempts, candidates=candidates, load_seconds=load_seconds,
                     value_links=value_links, check_results=check_results)
    return _AgentContext(agent)
