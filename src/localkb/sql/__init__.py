"""Guarded text-to-SQL: schema knowledge, the SQL guard, read-only execution, audit log, the agent.

Python API::

    from localkb.sql import Database, SQLAgent, check_sql, open_agent
    with open_agent("sqlite:///music.db") as agent:       # default LLM: the packaged Qwen2.5-Coder
        answer = agent.ask("How many albums are there?")
    print(answer.sql, answer.rows)

Nothing heavy is imported here: sqlglot and SQLAlchemy load when a guard or database is used.
"""
from __future__ import annotations

from .agent import SQLAgent, SQLAnswer, check, default_llm_uri
from .audit import AuditLog
from .examples import ExampleStore
from .executor import Database, QueryResult
from .guard import Guard, Verdict, check_sql
from .schema import Schema, introspect

__all__ = ["AuditLog", "Database", "ExampleStore", "Guard", "QueryResult", "SQLAgent", "SQLAnswer", "Schema",
           "Verdict", "check", "check_sql", "default_llm_uri", "introspect", "open_agent"]


class _AgentContext:
    def __init__(self, agent: SQLAgent) -> None:
        self.agent = agent

    def __enter__(self) -> SQLAgent:
        return self.agent

    def __exit__(self, *exc: object) -> None:
        self.agent.llm.close()
        self.agent.db.close()
        if self.agent.examples is not None:
            self.agent.examples.close()


def open_agent(db_url: str, *, llm: str | None = None, audit: str | None = None, max_rows: int = 100,
               timeout: float = 10.0, max_attempts: int = 3) -> _AgentContext:
    """Open the database read-only and the LLM, and build an agent (use as a context manager).

    Raises:
        SQLError: the database URL is bad or unreachable. ConfigError: no LLM configured.
    """
    from ..llm.base import open_llm

    db = Database(db_url, timeout=timeout, max_rows=max_rows)
    try:
        model = open_llm(default_llm_uri(llm))
    except BaseException:
        db.close()
        raise
    agent = SQLAgent(db, model, audit=AuditLog(audit), examples=ExampleStore(), max_rows=max_rows,
                     max_attempts=max_attempts)
    return _AgentContext(agent)
