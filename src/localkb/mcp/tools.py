"""What each MCP tool does, as plain methods over one open knowledge base (no MCP import here).

Every method calls the same library function the CLI command of the same name calls and returns the
same JSON (``search`` → ``localkb search --json``, ``ask`` → ``localkb ask --json``, ``sql_check`` →
``localkb sql check --json`` …). Errors are ``LocalKBError`` subclasses; the MCP layer reports them to
the client as tool errors carrying ``{"error", "message"}``.

Calls are serialised with one lock: an agent calls tools one after another, and one lock keeps the
KB, the embedder and the LLM (none of which may be used by two threads at once) safe when an HTTP
client sends several calls together.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, LocalKBError

if TYPE_CHECKING:
    from ..kb import KnowledgeBase
    from ..llm.base import LLM
    from ..search.filters import WhereSpec


class NotAvailable(LocalKBError):
    """A tool or a database this server was not started with (``--allow-ingest``, ``--db``)."""

    http_status = 403


def check_k(k: int) -> int:
    """``k`` through the library's one check (``search.engine.check_k``)."""
    from ..search.engine import check_k as check

    return check(k)


def parse_min_score(value: object) -> float | str | None:
    """``None`` (the KB's calibrated cut-off), ``"auto"``, ``"none"`` or a number: the library's one parser
    (``search.thresholds.parse_min_score``), so a bad value is the same ``SearchError``, with the same
    message, as through the CLI, HTTP and Python."""
    from ..search.thresholds import parse_min_score as parse

    return parse(value)


class KBTools:
    """The tools of one MCP server: one KB, the databases and options fixed at start-up.

    Args:
        kb: the open knowledge base (closed by :meth:`close`).
        databases: name → SQLAlchemy URL; ``sql``/``sql_check`` reach these only.
        llm: LLM URI for ``ask`` and ``sql`` (default: ``LOCALKB_LLM`` or the provisioned GGUF), opened on
            first use and shared.
        allow_ingest: whether ``ingest`` may add files (read-only otherwise).
        sql_audit: the SQL audit log (default: the user's).
    """

    def __init__(self, kb: KnowledgeBase, *, databases: Mapping[str, str] | None = None, llm: str | None = None,
                 allow_ingest: bool = False, sql_audit: str | None = None) -> None:
        self.kb = kb
        self.databases = dict(databases or {})
        self.llm_uri = llm
        self.allow_ingest = allow_ingest
        self.sql_audit = sql_audit
        self._llm: LLM | None = None
        self._lock = threading.RLock()

    # -- the KB ---------------------------------------------------------------------------------
    def search(self, query: str, *, k: int = 5, tags: Sequence[str] | None = None,
               min_score: float | str | None = None, mode: str | None = None,
               where: WhereSpec = None) -> dict[str, Any]:
        """``localkb search --json``: hits, ``exact_match`` per code, and ``reason`` when empty.

        ``where``: the metadata filters of ``localkb search --where`` (``search.filters``), same values,
        same errors."""
        with self._lock:
            result = self.kb.search(query, k=k, tags=list(tags) if tags else None,
                                    min_score=parse_min_score(min_score), mode=mode, where=where)
        return result.to_dict()

    def ask(self, question: str, *, k: int = 5, tags: Sequence[str] | None = None,
            min_score: float | str | None = None, max_tokens: int = 256) -> dict[str, Any]:
        """``localkb ask --json``: a grounded answer with numbered citations, or an abstention."""
        check_k(k)  # bad values fail before a model is loaded
        cut = parse_min_score(min_score)
        with self._lock:
            result = self.kb.ask(question, llm=self._get_llm(), k=k, tags=list(tags) if tags else None,
                                 min_score=cut, max_answer_tokens=max_tokens)
        out: dict[str, Any] = result.to_dict()
        out["reason"] = result.reason
        return out

    def get_chunk(self, chunk_id: str) -> dict[str, Any]:
        """One chunk: text, the text that was embedded, sources, tags, document id and position."""
        from ..server.errors import NotFound

        with self._lock:
            rec = self.kb.get_chunk(chunk_id)
        if rec is None:
            raise NotFound(f"No chunk with id {chunk_id}.", chunk_id=chunk_id)
        return rec

    def get_document(self, doc_id: int) -> dict[str, Any]:
        """One document (source, format, title, tags) and its chunks in order."""
        from ..server.errors import NotFound

        with self._lock:
            doc = self.kb.document(doc_id)
            if doc is None:
                raise NotFound(f"No document with id {doc_id}.", doc_id=doc_id)
            return {**doc, "chunk_list": self.kb.document_chunks(doc_id)}

    def list_documents(self, *, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of documents (``localkb documents --json``) and the total."""
        with self._lock:
            total = int(self.kb.stats()["documents"])
            docs = self.kb.documents(offset=offset, limit=limit)
        return {"total": total, "offset": offset, "limit": limit, "documents": docs}

    def stats(self) -> dict[str, Any]:
        """``localkb stats --json``, plus what this server can do."""
        with self._lock:
            out = self.kb.stats()
        out["server"] = {"databases": sorted(self.databases), "ingest": self.allow_ingest}
        return out

    def ingest(self, paths: Sequence[str], *, tags: Sequence[str] = ()) -> dict[str, Any]:
        """``localkb ingest --json``: only when the server was started with ``--allow-ingest``."""
        if not self.allow_ingest:
            raise NotAvailable("This MCP server is read-only: start it with `localkb mcp --allow-ingest` "
                               "to let clients add files.")
        missing = [p for p in paths if not Path(os.path.expanduser(p)).exists()]
        if missing:
            raise ConfigError(f"No such file or folder: {', '.join(missing)}", paths=missing)
        with self._lock:
            report = self.kb.ingest([os.path.expanduser(p) for p in paths], tags=list(tags), prune=False)
        return report.to_dict()

    # -- SQL ------------------------------------------------------------------------------------
    def _db_url(self, database: str) -> str:
        url = self.databases.get(database)
        if url is None:
            known = ", ".join(sorted(self.databases)) or "none (start the server with --db NAME=URL)"
            raise NotAvailable(f"No database named '{database}'. Configured: {known}.", database=database)
        return url

    def sql(self, database: str, question: str, *, dry_run: bool = False, max_rows: int = 100) -> dict[str, Any]:
        """``localkb sql --json``: one guarded read-only SELECT written by the LLM, its rows and attempts."""
        from ..sql import AuditLog, ExampleStore, SQLAgent, SQLDatabase

        url = self._db_url(database)
        with self._lock, SQLDatabase(url, max_rows=max_rows) as db:
            examples = ExampleStore(settings=self.kb.settings)
            try:
                agent = SQLAgent(db, self._get_llm(), audit=AuditLog(self.sql_audit, self.kb.settings), examples=examples,
                                 max_rows=max_rows)
                return agent.ask(question, dry_run=dry_run).to_dict()
            finally:
                examples.close()

    def sql_check(self, database: str, sql: str, *, max_rows: int = 1000) -> dict[str, Any]:
        """``localkb sql check --json``: the guard's verdict on a statement; nothing is executed."""
        from ..sql import AuditLog, SQLDatabase, check

        with self._lock, SQLDatabase(self._db_url(database)) as db:
            return check(sql, db, audit=AuditLog(self.sql_audit, self.kb.settings), max_rows=max_rows)

    # -- lifecycle ------------------------------------------------------------------------------
    def _get_llm(self) -> LLM:
        if self._llm is None:
            from ..llm.base import open_llm
            from ..llm.gguf import default_llm_uri

            settings = self.kb.settings  # resolved when the KB was opened
            self._llm = open_llm(default_llm_uri(self.llm_uri, settings), settings=settings)
        return self._llm

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            self.kb.close()
