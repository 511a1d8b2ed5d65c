"""Process-wide caches for the SQL agent: models loaded once, schema knowledge built once per database.

* ``shared_llm`` keeps every LLM it opened, keyed by URI and settings, until the process ends (or
  ``close_shared_llms``): a server, ``localkb eval sql`` or a Python loop over ``open_agent`` pays the
  model load once.
* ``schema_knowledge`` keeps, per database URL, the introspected schema (with sample values) and the
  value index, together with a fingerprint of the schema. Every call re-reads the fingerprint (one
  cheap catalogue query) and rebuilds when it changed, so a new table or column is seen at once.
  For SQLite the fingerprint also covers the file's size and modification time (new values show).
"""
from __future__ import annotations

import atexit
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SQLError

if TYPE_CHECKING:  # pragma: no cover
    from ..llm.base import LLM
    from ..settings import Settings
    from .executor import SQLDatabase
    from .schema import Schema
    from .values import ValueIndex

_LOCK = threading.Lock()
_LLMS: dict[tuple[object, ...], LLM] = {}
_KNOWLEDGE: dict[tuple[str, int, bool], tuple[str, SchemaKnowledge]] = {}


@dataclass(frozen=True)
class SchemaKnowledge:
    """What the agent knows about one database; ``seconds`` it took to build (0.0 when cached)."""

    schema: Schema
    values: ValueIndex | None
    fingerprint: str
    seconds: float = 0.0


def shared_llm(uri: str, *, threads: int | None = None, context_window: int | None = None,
               timeout: float = 120.0, settings: Settings | None = None) -> tuple[LLM, float]:
    """The LLM for ``uri``, opened on first use and reused after; and the seconds spent loading it now."""
    from ..llm.base import open_llm
    from ..settings import current

    settings = current(settings)
    # the settings the LLM backends read (``llm.base.open_llm``): agents that agree on them share one model
    key = (uri, threads, context_window, float(timeout), settings.llm_ctx, settings.llm_threads,
           settings.ollama_host, settings.openai_api_key, settings.openai_model)
    with _LOCK:
        model = _LLMS.get(key)
        if model is not None:
            return model, 0.0
        start = time.monotonic()
        model = open_llm(uri, timeout=timeout, threads=threads, context_window=context_window, settings=settings)
        _LLMS[key] = model
        return model, time.monotonic() - start


def close_shared_llms() -> None:
    """Close every model ``shared_llm`` opened (also run at interpreter exit)."""
    with _LOCK:
        models = list(_LLMS.values())
        _LLMS.clear()
    for model in models:
        model.close()


atexit.register(close_shared_llms)


def schema_fingerprint(db: SQLDatabase) -> str:
    """A digest of the database's tables and columns (and, for SQLite, the file's size and mtime).

    Raises:
        SQLError: the catalogue cannot be read.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    if db.backend == "sqlite":
        query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    elif db.backend == "postgresql":
        query = ("SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                 "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, ordinal_position")
    else:
        query = ("SELECT table_name, column_name, data_type FROM information_schema.columns "
                 "WHERE table_schema = DATABASE() ORDER BY 1, ordinal_position")
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(text(query)).fetchall()
    except SQLAlchemyError as exc:
        raise SQLError(f"Cannot read the schema of {db.display_url}: {exc}") from exc
    digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode("utf-8"))
    if db.backend == "sqlite" and db.path is not None:
        stat = db.path.stat()
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def schema_knowledge(db: SQLDatabase, *, samples: int, values: bool) -> SchemaKnowledge:
    """The schema (with ``samples`` values per column) and, with ``values``, the value index of ``db``.

    Built on first use and whenever the fingerprint changes; ``seconds`` is 0.0 on a cache hit.
    """
    from .schema import introspect
    from .values import ValueIndex

    key = (db.url, samples, values)
    fingerprint = schema_fingerprint(db)
    with _LOCK:
        hit = _KNOWLEDGE.get(key)
    if hit is not None and hit[0] == fingerprint:
        known = hit[1]
        return SchemaKnowledge(known.schema, known.values, fingerprint, 0.0)
    start = time.monotonic()
    schema = introspect(db, samples=samples)
    index = ValueIndex.build(db, schema) if values else None
    known = SchemaKnowledge(schema, index, fingerprint, time.monotonic() - start)
    with _LOCK:
        _KNOWLEDGE[key] = (fingerprint, known)
    return known


def forget_schemas() -> None:
    """Drop every cached schema and value index (tests, long-running processes after bulk changes)."""
    with _LOCK:
        _KNOWLEDGE.clear()
