"""``localkb serve``: the HTTP API and the web page, on 127.0.0.1, with a per-install token by default."""
from __future__ import annotations

import ipaddress
from urllib.parse import quote

import click

from ..errors import ConfigError
from .common import cli_settings, handle_errors, kb_option, no_color


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; anything else is reachable from other machines."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: the token and Host options of every HTTP server command (``serve``, ``mcp --http``)
token_option = click.option(
    "--token", default=None, metavar="T",
    help="Require this token on every API request (Authorization: Bearer T or X-API-Key: T) "
         "[default: $LOCALKB_TOKEN, else the per-install token in $LOCALKB_HOME/server-token].")
no_token_option = click.option(
    "--no-token", is_flag=True,
    help="Serve without a token (loopback only): any program on this machine can then use the KB.")
allow_host_option = click.option(
    "--allow-host", "allow_hosts", multiple=True, metavar="NAME[:PORT]",
    help="Also answer to this Host name (repeatable), e.g. a LAN name or a reverse proxy's.")


def server_token(host: str, token: str | None, no_token: bool) -> str | None:
    """The token a server bound to ``host`` requires: ``--token`` > ``LOCALKB_TOKEN`` > the per-install
    token; None only with ``--no-token``, which loopback alone allows (``localkb serve``, ``localkb mcp --http``).
    """
    if token and no_token:
        raise click.UsageError("--token and --no-token contradict each other: choose one.")
    token = None if no_token else (token or cli_settings().token or None)
    if not is_loopback(host) and not token:
        raise ConfigError(f"Refusing to listen on {host} without a token: anyone who can reach it could read "
                          "and change the knowledge base. Pass --token T (or set LOCALKB_TOKEN), or use "
                          "--host 127.0.0.1.")
    if token is None and not no_token:
        from ..server.tokens import install_token

        token = install_token(cli_settings())
    return token


@click.command("serve")
@kb_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback requires a token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8750, show_default=True, help="Port (0: any free).")
@token_option
@no_token_option
@allow_host_option
@click.option("--db", "dbs", multiple=True, metavar="NAME=URL",
              help="A database the SQL tab and /api/sql may query, e.g. music=sqlite:///music.db (repeatable). "
                   "Requests name a database; they can never pass a URL.")
@click.option("--root", "roots", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A server-side folder /api/ingest/path may read (repeatable). Without one, only uploads.")
@click.option("--llm", "llm", default=None, metavar="URI",
              help="LLM for ask and SQL [default: $LOCALKB_LLM, else the provisioned Qwen GGUF].")
@click.option("--max-upload-mb", type=click.FloatRange(min=0.001), default=100.0, show_default=True,
              help="Largest upload request.")
@click.option("--cors-origin", "cors", multiple=True, metavar="ORIGIN",
              help="Allow browser calls from this origin (repeatable). Default: CORS off.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              default="info", show_default=True)
@handle_errors
def serve(kb: str | None, host: str, port: int, token: str | None, no_token: bool, allow_hosts: tuple[str, ...],
          dbs: tuple[str, ...], roots: tuple[str, ...], llm: str | None, max_upload_mb: float, cors: tuple[str, ...],
          log_level: str) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and the web page for the knowledge base.

    \b
      localkb serve                       # http://127.0.0.1:8750/?token=…
      localkb serve --db music=sqlite:///music.db --root ~/notes
      LOCALKB_TOKEN=secret localkb serve --host 0.0.0.0

    Creates an empty knowledge base if none exists yet (fill it by dropping files on the page).
    Open the printed URL: the page takes the token from it. Only the Host names of the bound address
    are answered, and no other web page can make your browser change the KB (see docs/server.md).
    """
    token = server_token(host, token, no_token)
    from ..extras import require

    require("server", feature="localkb serve")  # every module of the extra, or one line naming it
    import uvicorn

    if port:
        check_port_free(host, port)  # before anything is created, and not uvicorn's own exit code 3
    from ..server.app import create_app
    from ..server.guards import default_allowed_hosts, uvicorn_limits
    from ..server.state import parse_databases

    port = port or _free_port(host)  # the Host allow-list names the real port
    app = create_app(kb, token=token, upload_roots=roots, databases=parse_databases(dbs),
                     max_upload_mb=max_upload_mb, llm=llm, cors_origins=cors,
                     allowed_hosts=[*default_allowed_hosts(host, port), *allow_hosts], settings=cli_settings())
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    url = f"http://{shown}:{port}/" + (f"?token={quote(token)}" if token else "")
    click.echo(f"localkb serving {app.state.localkb.settings.kb_path} on {url} (API docs: /docs)"
               + ("" if token else " — no token: any program on this machine can use it"), err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, use_colors=False if no_color() else None,
                **uvicorn_limits())


def check_port_free(host: str, port: int) -> None:
    """``ConfigError`` (exit 1, one line) when ``host:port`` cannot be bound (another server has it)."""
    import socket

    from ..errors import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((host.strip("[]"), port))
        except OSError as exc:
            raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc} "
                              f"(another server has the port? choose one with --port)", port=port) from exc


def _free_port(host: str) -> int:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host.strip("[]"), 0))
        return int(s.getsockname()[1])
