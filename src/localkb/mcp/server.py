"""The MCP server: ``KBTools`` exposed through the official MCP SDK (``mcp.server.mcpserver.MCPServer``).

The tool descriptions are written for the model that calls them: when to quote a code exactly, what an
empty result means, which tools change nothing. Arguments are checked before a tool runs
(:class:`StrictArguments`): an unknown tool, an unknown or mistyped argument, or arguments larger than
:data:`MAX_ARGUMENT_BYTES` are a JSON-RPC ``invalid params`` error, never a crash and never silently
dropped. A ``LocalKBError`` inside a tool (an empty query, a missing chunk) is a tool error whose text is
the error's JSON (``{"error", "message", ...}``), so the model can read and correct it.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, ValidationError

from .. import __version__
from ..errors import LocalKBError
from .tools import KBTools

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.tools import Tool

#: the JSON of one call's arguments may not be larger than this (a query is at most 10,000 characters)
MAX_ARGUMENT_BYTES = 64_000

INSTRUCTIONS = """\
localkb is the user's private, offline knowledge base (their own documents, English and Chinese).
Use `search` first: it returns passages with their source file; quote the passage and name the source
when you answer. Codes and identifiers (IBE, OBE, E11.9, ERR-4012, SKU-1234) are matched exactly: put the
code itself in the query, spelled as the user wrote it. An empty result is an answer, not a failure:
`reason` says why (no document contains the code, or nothing was more related than unrelated text) —
tell the user the knowledge base does not hold it; do not retry with looser wording to force a hit.
`exact_match` tells, per code in the query, whether any document contains it verbatim."""

SEARCH = """\
Search the knowledge base; returns the same JSON as `localkb search --json`.

Returns {"hits": [{"id", "score", "text", "source", "tags", "doc_id", "position", "scores",
"matched_terms"}], "exact_match": {code: bool}, "reason", "min_score", "mode", "weights"}.
Higher score is better. Codes in the query (IBE, E11.9, ERR-4012) are matched exactly: hits that
contain the code verbatim (listed in `matched_terms`) rank first, and a code no document contains gives
an EMPTY result with `exact_match[code] = false` — near-misses (OBE for IBE, E11.8 for E11.9) are
deliberately not shown. Quote codes exactly as written; do not paraphrase them.
An empty `hits` list always comes with `reason`: nothing in the KB is relevant (the calibrated cut-off,
`min_score`, was not reached). Report that to the user instead of guessing; pass min_score="none" only
to see the closest passages anyway (they are then likely unrelated)."""

ASK = """\
Answer a question from the knowledge base with the local LLM, citing passages as [1], [2]….

Returns {"answer", "citations": [{"n", "source", "chunk_id", "text"}], "used_chunks", "dropped_chunks",
"model", "abstained", "reason"}. `abstained: true` means the knowledge base does not hold the answer
(the model was not asked, or said so): tell the user rather than answering from your own knowledge.
Slower than `search` (a local model writes the answer); prefer `search` when you can read passages
yourself."""

GET_CHUNK = "One chunk by id (the `id` of a search hit): its full text, sources, tags, document and position."
GET_DOCUMENT = ("One document by its numeric id (`doc_id` of a search hit or of `list_documents`): source, "
                "format, title, tags and all its chunks in order. Use it to read the context around a hit.")
LIST_DOCUMENTS = "The documents in the knowledge base, a page at a time (sorted by source), and the total count."
STATS = ("What the knowledge base holds: document and chunk counts, embedding model, store, tags and formats, "
         "and what this server allows (databases for `sql`, whether `ingest` is on).")
INGEST = ("Add files or folders (paths on the machine running this server) to the knowledge base, "
          "idempotently: unchanged files are not embedded again. Returns counts and every skipped file with "
          "its reason.")
SQL = """\
Ask one of the configured SQL databases a question in plain language. The local LLM writes ONE
read-only SELECT, which a guard checks (known tables and columns, a LIMIT) before it runs on a
read-only connection. Returns {"ok", "sql", "columns", "rows", "truncated", "attempts", "error"}.
`ok: false` means no attempt produced SQL that ran (each attempt says why). `stats` lists the databases."""
SQL_CHECK = """\
Check a SQL statement against the guard of a configured database without running it.
Returns {"allowed", "sql" (as it would run, with the enforced LIMIT), "violations": [{"rule", "message"}],
"rewrites"}. Only single read-only SELECTs over known tables and columns are allowed."""

Tags = Annotated[list[str] | None, Field(description="Only documents with any of these tags")]
Where = Annotated[list[str] | dict[str, str | int | float | list[str | int | float]] | None, Field(
    description="Metadata filters, all must hold: ['format=pdf', 'pages>3', 'path~docs/*'] or "
                "{'format': 'pdf'}; fields: tag, format, path, source, title, size, ingested, loader metadata (author, pages, …) and meta.NAME")]
DatabaseName = Annotated[str, Field(description="A database this server was started with (see `stats`)")]
#: parsed by the library (``thresholds.parse_min_score``), so a bad value gets the CLI's and HTTP's message
MinScore = Annotated[float | str | None, Field(
    description="Cut-off: omit (or 'auto') for the KB's calibrated one, 'none' for no cut-off, or a number")]


def build_tools(kb_tools: KBTools) -> list[Tool]:
    """The MCP tools over ``kb_tools``: read-only ones always; ``sql``/``sql_check`` with databases;
    ``ingest`` only when ``kb_tools.allow_ingest``."""
    from mcp.server.mcpserver.tools import Tool
    from mcp_types import ToolAnnotations

    t = kb_tools

    def search(query: Annotated[str, Field(description="What to look for; quote codes exactly")],
               k: Annotated[int, Field(le=100, description="Number of hits (1 to 100)")] = 5,  # < 1: the library's error
               tags: Tags = None, min_score: MinScore = None,
               mode: Annotated[str | None, Field(  # parsed by the library (``engine.resolve_mode``)
                   description="hybrid (default: meaning + exact words), dense (meaning) or lexical (words)")]
               = None, where: Where = None) -> dict[str, Any]:
        return t.search(query, k=k, tags=tags, min_score=min_score, mode=mode, where=where)

    def ask(question: Annotated[str, Field(description="The question, in the user's words")],
            k: Annotated[int, Field(le=50, description="Passages to retrieve (1 to 50)")] = 5,
            tags: Tags = None, min_score: MinScore = None,
            max_tokens: Annotated[int, Field(ge=16, le=4096, description="Longest answer in tokens")] = 256,
            ) -> dict[str, Any]:
        return t.ask(question, k=k, tags=tags, min_score=min_score, max_tokens=max_tokens)

    def get_chunk(chunk_id: Annotated[str, Field(description="A hit's `id`")]) -> dict[str, Any]:
        return t.get_chunk(chunk_id)

    def get_document(doc_id: Annotated[int, Field(description="A hit's `doc_id`")]) -> dict[str, Any]:
        return t.get_document(doc_id)

    def list_documents(offset: Annotated[int, Field(ge=0)] = 0,
                       limit: Annotated[int, Field(ge=1, le=1000)] = 100) -> dict[str, Any]:
        return t.list_documents(offset=offset, limit=limit)

    def stats() -> dict[str, Any]:
        return t.stats()

    def ingest(paths: Annotated[list[str], Field(min_length=1, description="Files or folders")],
               tags: Annotated[list[str], Field(description="Tags for every ingested document")] = []  # noqa: B006
               ) -> dict[str, Any]:
        return t.ingest(paths, tags=tags)

    db_names = sorted(t.databases)

    def sql(database: DatabaseName, question: Annotated[str, Field(description="The question in plain language")],
            dry_run: Annotated[bool, Field(description="Return the SQL without running it")] = False,
            max_rows: Annotated[int, Field(ge=1, le=10_000)] = 100) -> dict[str, Any]:
        return t.sql(database, question, dry_run=dry_run, max_rows=max_rows)

    def sql_check(database: DatabaseName, sql: Annotated[str, Field(description="The SQL statement")],
                  max_rows: Annotated[int, Field(ge=1, le=100_000)] = 1000) -> dict[str, Any]:
        return t.sql_check(database, sql, max_rows=max_rows)

    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    specs: list[tuple[Any, str, ToolAnnotations]] = [
        (search, SEARCH, read_only), (ask, ASK, read_only), (get_chunk, GET_CHUNK, read_only),
        (get_document, GET_DOCUMENT, read_only), (list_documents, LIST_DOCUMENTS, read_only),
        (stats, STATS, read_only)]
    if db_names:
        named = f"\nDatabases: {', '.join(db_names)}."
        specs += [(sql, SQL + named, read_only), (sql_check, SQL_CHECK + named, read_only)]
    if t.allow_ingest:
        specs.append((ingest, INGEST, ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                                      idempotent_hint=True, open_world_hint=False)))
    return [Tool.from_function(_reporting(fn), name=fn.__name__, description=text, annotations=notes)
            for fn, text, notes in specs]


def _reporting(fn: Any) -> Any:
    """``fn`` with a ``LocalKBError`` turned into a tool error whose text is the error's JSON."""
    import functools

    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LocalKBError as exc:
            raise ToolError(json.dumps(exc.to_dict(), ensure_ascii=False, default=str)) from exc

    return wrapper


class StrictArguments:
    """MCP middleware: refuse a ``tools/call`` with an unknown tool, unknown or mistyped arguments, or
    oversized arguments, with a JSON-RPC ``invalid params`` error naming what is wrong."""

    def __init__(self, tools: dict[str, Tool], *, allow_ingest: bool) -> None:
        self.tools = tools
        self.allow_ingest = allow_ingest

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call":
            self.check(dict(ctx.params or {}))
        return await call_next(ctx)

    def check(self, params: dict[str, Any]) -> None:
        from mcp.shared.exceptions import MCPError
        from mcp_types import INVALID_PARAMS

        name = params.get("name")
        arguments = params.get("arguments") or {}
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            hint = (" This server is read-only: start it with `localkb mcp --allow-ingest` to enable ingest."
                    if name == "ingest" and not self.allow_ingest else "")
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {name!r}. Tools: {', '.join(sorted(self.tools))}.{hint}")
        if not isinstance(arguments, dict):
            raise MCPError(INVALID_PARAMS, f"Arguments of {name} must be a JSON object.")
        size = len(json.dumps(arguments, ensure_ascii=False, default=str).encode("utf-8"))
        if size > MAX_ARGUMENT_BYTES:
            raise MCPError(INVALID_PARAMS, f"Arguments of {name} are {size:,} bytes; the limit is "
                                           f"{MAX_ARGUMENT_BYTES:,}.")
        known = set(tool.parameters.get("properties", {}))
        unknown = sorted(set(arguments) - known)
        if unknown:
            raise MCPError(INVALID_PARAMS, f"Unknown argument(s) for {name}: {', '.join(unknown)} "
                                           f"(it takes: {', '.join(sorted(known)) or 'none'}).")
        try:
            tool.fn_metadata.validate_arguments(arguments)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                                 for e in exc.errors())
            raise MCPError(INVALID_PARAMS, f"Invalid arguments for {name}: {problems}") from None


def build_server(kb_tools: KBTools) -> MCPServer:
    """The MCP server over ``kb_tools`` (serve it with :func:`run_stdio` or :func:`http_app`)."""
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError as exc:
        from ..errors import MissingDependency

        raise MissingDependency("localkb mcp needs the MCP SDK: pip install 'localkb[mcp]'") from exc
    tools = build_tools(kb_tools)
    strict = StrictArguments({tool.name: tool for tool in tools}, allow_ingest=kb_tools.allow_ingest)
    return MCPServer("localkb", version=__version__, instructions=INSTRUCTIONS, tools=tools,
                     log_level="WARNING", middleware=[strict])


def run_stdio(kb_tools: KBTools) -> None:
    """Serve over stdin/stdout until the client closes the connection."""
    build_server(kb_tools).run("stdio")


def http_app(kb_tools: KBTools, *, allowed_hosts: Sequence[str] | None = None, token: str | None = None,
             path: str = "/mcp", max_body_mb: float = 1.0) -> Any:
    """The streamable-HTTP MCP endpoint at ``path`` as an ASGI app, behind the guards of ``localkb serve``
    (``server.guards``), outermost first: the Host allow-list and Origin check against DNS rebinding and
    cross-site requests (``HostOriginGuard``; the MCP transport spec requires Origin validation), the token
    when set (``TokenAuth``), and a body size limit (``BodyLimit``).

    Args:
        allowed_hosts: ``Host`` values to answer to (default: the loopback names, any port; see
            ``guards.default_allowed_hosts``).
    """
    from mcp.server.transport_security import TransportSecuritySettings

    from ..server.guards import BodyLimit, HostOriginGuard, TokenAuth, default_allowed_hosts

    limit = int(max_body_mb * 1e6)
    # the SDK's own Host/Origin check is off: HostOriginGuard applies localkb serve's rules instead
    app = build_server(kb_tools).streamable_http_app(
        streamable_http_path=path, max_request_body_size=limit,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    guarded: Any = BodyLimit(app, limit_for=lambda _path: limit)
    if token:
        guarded = TokenAuth(guarded, token=token)
    return HostOriginGuard(guarded, allowed_hosts=list(allowed_hosts or default_allowed_hosts()))


def run_http(kb_tools: KBTools, *, host: str = "127.0.0.1", port: int = 8751, token: str | None = None,
             allowed_hosts: Sequence[str] = (), log_level: str = "warning", colour: bool = True) -> None:
    """Serve :func:`http_app` with uvicorn until interrupted (answering to ``host:port`` and
    ``allowed_hosts``), with ``localkb serve``'s uvicorn limits; ``colour=False``: plain log lines (NO_COLOR)."""
    import uvicorn

    from ..server.guards import default_allowed_hosts, uvicorn_limits

    hosts = [*default_allowed_hosts(host, port), *allowed_hosts]
    uvicorn.run(http_app(kb_tools, allowed_hosts=hosts, token=token), host=host, port=port, log_level=log_level,
                use_colors=None if colour else False, **uvicorn_limits())
