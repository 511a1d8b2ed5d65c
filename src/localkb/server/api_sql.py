"""``/api/sql``: plain-language questions and guard checks, against databases named at startup only.

A request names a database by the name given to ``localkb serve --db NAME=URL``; it can never pass a
URL, so the server reaches no database its operator did not configure. Every statement goes through
the guard and the read-only executor and is written to the audit log, exactly as with ``localkb sql``.
"""
from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from .context import ServerContext, ctx
from .errors import NotFound

router = APIRouter(prefix="/api/sql", tags=["sql"])
_embedder_lock = threading.Lock()


class SQLAsk(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown key is a 422 naming it, never ignored

    database: str = Field(description="A name given to `localkb serve --db NAME=URL`")
    question: str = Field(min_length=1, max_length=5_000)
    dry_run: bool = Field(False, description="Return the SQL without running it")
    max_rows: int = Field(100, ge=1, le=10_000, description="Row cap (and the LIMIT the guard enforces)")
    attempts: int = Field(3, ge=1, le=10, description="Replies the model may give before giving up")


class SQLCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: str
    sql: str = Field(min_length=1, max_length=100_000)
    max_rows: int = Field(1000, ge=1, le=100_000)


def _url(c: ServerContext, name: str) -> str:
    url = c.settings.databases.get(name)
    if url is None:
        known = ", ".join(sorted(c.settings.databases)) or "none (start the server with --db NAME=URL)"
        raise NotFound(f"No database named '{name}'. Configured: {known}.", database=name)
    return url


def _embedder(request: Request) -> Any:
    with _embedder_lock:
        cached = getattr(request.app.state, "sql_embedder", None)
        if cached is None:
            from ..sql.examples import load_default_embedder

            inner = load_default_embedder()
            cached = inner or False  # embedders serialise their own calls (one encode at a time)
            request.app.state.sql_embedder = cached
        return cached


@router.get("/databases", summary="The databases this server was started with")
def databases(request: Request) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    out = []
    for name, url in sorted(ctx(request).settings.databases.items()):
        try:
            shown = make_url(url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - a bare SQLite path is not a URL; show it as given
            shown = url
        out.append({"name": name, "url": shown})
    return {"databases": out}


@router.get("/{database}/schema", summary="The schema the SQL agent sees")
def schema(request: Request, database: str) -> dict[str, Any]:
    from ..sql import SQLDatabase, introspect

    with SQLDatabase(_url(ctx(request), database)) as db:
        return introspect(db).to_dict()


@router.post("", summary="Answer a question with one guarded, read-only SELECT (as `localkb sql --json`)")
def ask_sql(request: Request, body: SQLAsk) -> dict[str, Any]:
    from ..sql import AuditLog, ExampleStore, SQLAgent, SQLDatabase

    c = ctx(request)
    url = _url(c, body.database)
    llm = c.llm.get()
    embedder = _embedder(request)
    with SQLDatabase(url, max_rows=body.max_rows) as db:
        examples = ExampleStore(embedder=embedder, settings=c.kb.settings)
        try:
            agent = SQLAgent(db, llm, audit=AuditLog(c.settings.sql_audit, c.kb.settings), examples=examples,
                             embedder=embedder or None, max_rows=body.max_rows, max_attempts=body.attempts)
            return agent.ask(body.question, dry_run=body.dry_run).to_dict()
        finally:
            examples.close()


@router.post("/check", summary="Run the SQL guard alone on a statement (as `localkb sql check --json`)")
def check_sql(request: Request, body: SQLCheck) -> dict[str, Any]:
    from ..sql import AuditLog, SQLDatabase, check

    c = ctx(request)
    with SQLDatabase(_url(c, body.database)) as db:
        return check(body.sql, db, audit=AuditLog(c.settings.sql_audit, c.kb.settings), max_rows=body.max_rows)
