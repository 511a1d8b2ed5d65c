"""The API docs page (``/docs``, Swagger UI) served from local files: nothing from a CDN, so it works
offline. The Swagger UI files come from the ``fastapi-offline`` package (the ``server`` extra)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

#: where the Swagger UI files are mounted (under /static/, public like the page's own files)
ASSETS = "/static/docs"
#: Swagger UI settings beside FastAPI's defaults. ``validatorUrl: null``: no "valid" badge — Swagger UI would
#: otherwise send the spec's address to validator.swagger.io whenever the page is opened by a name other than
#: localhost / 127.0.0.1 (``serve --host 0.0.0.0``): nothing leaves the machine.
SWAGGER_PARAMETERS: dict[str, Any] = {"dom_id": "#swagger-ui", "layout": "BaseLayout", "deepLinking": True,
                                      "showExtensions": True, "showCommonExtensions": True, "validatorUrl": None}


def assets_dir() -> Path:
    """The folder holding ``swagger-ui-bundle.js`` and ``swagger-ui.css``."""
    from ..extras import require

    module = require("server", "fastapi_offline", feature="the API docs page")
    return Path(str(module.__file__)).parent / "static"


def install_docs(app: Any) -> None:
    """Mount the Swagger UI files and answer ``/docs`` and its OAuth2 redirect with pages that use them."""
    from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — API",
                                   oauth2_redirect_url="/docs/oauth2-redirect",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg",
                                   swagger_ui_parameters={**SWAGGER_PARAMETERS})

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
