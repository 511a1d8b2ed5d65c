"""``localkb mcp``: the knowledge base as a Model Context Protocol server (stdio, or HTTP on 127.0.0.1)."""
from __future__ import annotations

import click

from ..errors import MissingDependency
from .common import handle_errors, kb_option, no_color, open_kb
from .serve_cmd import allow_host_option, no_token_option, token_option


@click.command("mcp")
@kb_option
@click.option("--http", "http", is_flag=True,
              help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind with --http. Anything but loopback requires a token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8751, show_default=True, help="Port for --http (0: any free).")
@token_option
@no_token_option
@allow_host_option
@click.option("--db", "dbs", multiple=True, metavar="NAME=URL",
              help="A database the sql and sql_check tools may query (repeatable). Without one, no SQL tools.")
@click.option("--llm", "llm", default=None, metavar="URI",
              help="LLM for the ask and sql tools [default: $LOCALKB_LLM, else the provisioned Qwen GGUF].")
@click.option("--allow-ingest", is_flag=True,
              help="Offer the ingest tool (clients may add files the server can read). Default: read-only.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              default="warning", show_default=True, help="Log level of the HTTP server.")
@handle_errors
def mcp(kb: str | None, http: bool, host: str, port: int, token: str | None, no_token: bool,
        allow_hosts: tuple[str, ...], dbs: tuple[str, ...], llm: str | None, allow_ingest: bool,
        log_level: str) -> None:
    """Serve the knowledge base to MCP clients (Claude Desktop, coding agents, IDEs).

    \b
      localkb mcp --kb ~/notes-kb                       # stdio: the client starts this command
      localkb mcp --kb ~/notes-kb --db music=sqlite:///music.db
      localkb mcp --http --port 8751                    # http://127.0.0.1:8751/mcp, token required

    Tools: search, ask, get_chunk, get_document, list_documents, stats; sql and sql_check for the
    databases given with --db; ingest only with --allow-ingest. See docs/mcp.md for client
    configuration. The KB must exist (build it with localkb ingest). --token, --no-token and
    --allow-host apply to --http, with the same rules as localkb serve.
    """
    if http:
        from .serve_cmd import _free_port, server_token

        token = server_token(host, token, no_token)  # the same rules as localkb serve
        port = port or _free_port(host)  # the Host allow-list names the real port
    elif token or no_token or allow_hosts:
        raise click.UsageError("--token, --no-token and --allow-host are for --http (stdio needs no token).")
    try:
        from ..mcp import server as mcp_server
    except ImportError as exc:
        raise MissingDependency("localkb mcp needs the MCP SDK: pip install 'localkb[mcp]'") from exc
    from ..mcp.tools import KBTools
    from ..server.state import parse_databases

    databases = parse_databases(dbs)
    tools = KBTools(open_kb(kb), databases=databases, llm=llm,
                    allow_ingest=allow_ingest)
    try:
        if http:
            shown = f"[{host}]" if ":" in host else host
            click.echo(f"localkb MCP server for {tools.kb.path} on http://{shown}:{port}/mcp — "
                       + (f"send 'Authorization: Bearer {token}'" if token else "no token: any program on this "
                          "machine can use it"), err=True)
            mcp_server.run_http(tools, host=host, port=port, token=token, allowed_hosts=allow_hosts,
                                log_level=log_level, colour=not no_color())
        else:
            mcp_server.run_stdio(tools)
    finally:
        tools.close()
