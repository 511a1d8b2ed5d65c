"""``create_app``: the FastAPI app behind ``localkb serve`` (HTTP API + the web page).

Python::

    from localkb.server.app import create_app
    import uvicorn
    uvicorn.run(create_app("./.localkb", databases={"music": "sqlite:///music.db"}), host="127.0.0.1")

The app owns one open ``KnowledgeBase`` (made thread-safe, see ``state``), one ingest worker and one
LLM (opened on first use). Safety: a Host allow-list and Origin checks (``guards.HostOriginGuard``),
a token (when set) on every data request, request size limits,
CORS off unless origins are given, uploads confined to ``KB/uploads/``, ingest by path confined to the
configured roots, SQL only against the databases configured here.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..config import kb_dir
from .state import DEFAULT_MAX_JSON_MB, DEFAULT_MAX_UPLOAD_MB, LLMHolder, ServerSettings, make_thread_safe

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..llm.base import LLM
    from ..settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
UPLOAD_PATHS = ("/api/ingest/upload",)


def create_app(kb_path: str | os.PathLike[str] | None = None, *, token: str | None = None,
               upload_roots: Iterable[str | os.PathLike[str]] = (), databases: Mapping[str, str] | None = None,
               max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB, max_json_mb: float = DEFAULT_MAX_JSON_MB,
               llm: str | LLM | None = None, cors_origins: Sequence[str] = (), sql_audit: str | None = None,
               create: bool = True, allowed_hosts: Sequence[str] | None = None,
               settings: Settings | None = None) -> FastAPI:
    """Build the app and open the KB (creating an empty one if ``create`` and none exists).

    Args:
        kb_path: the KB folder (default ``$LOCALKB_KB`` or ``./.localkb``).
        token: when set, every API request must send it (``Authorization: Bearer`` or ``X-API-Key``).
        upload_roots: server-side folders ``POST /api/ingest/path`` may read; none → that endpoint is off.
        databases: name → SQLAlchemy URL, the only databases the SQL endpoints can reach.
        max_upload_mb: largest upload request; other requests are limited to ``max_json_mb``.
        llm: the LLM for ask and SQL (a URI or an LLM object); default: ``LOCALKB_LLM`` or the GGUF.
        cors_origins: origins allowed to call the API from a browser (default: none, CORS off).
        allowed_hosts: the ``Host`` values accepted (see ``guards.default_allowed_hosts``); default: the
            loopback names on any port. ``localkb serve`` passes the names and port it binds.
        settings: the resolved settings (``localkb serve`` passes its invocation's); default: resolved
            here, once, from the environment and ``localkb.toml``. The KB and the LLM are opened with them.

    Raises:
        KBNotFound: no KB at ``kb_path`` and ``create`` is false. ConfigError: a bad setting.
    """
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, RedirectResponse
    from fastapi.staticfiles import StaticFiles

    from ..errors import ConfigError
    from ..kb import KnowledgeBase
    from . import api_ask, api_audit, api_calibration, api_kb, api_map, api_openai, api_search, api_sql
    from .api_docs import install_docs
    from .context import ServerContext
    from .errors import install_error_handlers
    from .guards import BodyLimit, HostOriginGuard, TokenAuth, default_allowed_hosts
    from .jobs import JobRunner

    if max_upload_mb <= 0 or max_json_mb <= 0:
        raise ConfigError("Size limits must be positive.")
    roots = tuple(Path(r).expanduser().resolve() for r in upload_roots)
    for root in roots:
        if not root.is_dir():
            raise ConfigError(f"--root {root} is not a folder.")
    from ..settings import current

    resolved = current(settings)
    server = ServerSettings(kb_path=kb_dir(kb_path, resolved).resolve(), token=token or None, upload_roots=roots,
                            databases=dict(databases or {}), max_upload_mb=float(max_upload_mb),
                            max_json_mb=float(max_json_mb), llm=llm if isinstance(llm, str) else None,
                            cors_origins=tuple(cors_origins), sql_audit=sql_audit)
    kb = KnowledgeBase.open(server.kb_path, create=create, settings=resolved)
    parts = make_thread_safe(kb)
    jobs = JobRunner(kb, on_thread=parts.set_worker)
    context = ServerContext(server, kb, jobs, LLMHolder(llm, resolved))

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(title="localkb", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="An offline knowledge base: search, ask, ingest, inspect and guarded SQL. "
                              "Errors are JSON: {\"error\": NAME, \"message\": TEXT}.")
    app.state.localkb = context
    install_error_handlers(app)
    for module in (api_kb, api_search, api_ask, api_sql, api_map, api_openai, api_calibration, api_audit):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def index() -> Any:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Any:
        return RedirectResponse("/static/favicon.svg")

    install_docs(app)  # /docs from local files (mounted before /static, which would shadow it)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    upload_limit = int(server.max_upload_mb * 1e6)
    json_limit = int(server.max_json_mb * 1e6)
    app.add_middleware(BodyLimit, limit_for=lambda path: upload_limit if path in UPLOAD_PATHS else json_limit)
    if server.token:
        app.add_middleware(TokenAuth, token=server.token)  # before the body is read
    if server.cors_origins:  # outermost, so a browser's preflight is answered without a token
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(server.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-LocalKB-Request"])
    # outermost of all: a request with a foreign Host or Origin, or a CORS-simple state change, gets nothing
    app.add_middleware(HostOriginGuard, allowed_hosts=list(allowed_hosts or default_allowed_hosts()),
                       allowed_origins=list(server.cors_origins))
    return app
