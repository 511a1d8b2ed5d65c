"""Every error the server returns has one shape: ``{"error": "<Name>", "message": "<for people>", ...}``.

``LocalKBError`` subclasses carry their own HTTP status (``http_status``); FastAPI's validation errors,
unknown endpoints and unexpected exceptions are translated into the same shape here.
"""
from __future__ import annotations

import logging
from typing import Any

from ..errors import LocalKBError

log = logging.getLogger("localkb.server")


class NotFound(LocalKBError):
    """A document, chunk, job or database name that does not exist."""

    http_status = 404


class AccessDenied(LocalKBError):
    """A server-side path outside the configured roots, or a feature the server was not started with."""

    http_status = 403


def install_error_handlers(app: Any) -> None:
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(LocalKBError)
    async def _localkb(request: Request, exc: LocalKBError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            detail = next(e for e in errors if e.get("type") == "json_invalid")
            return JSONResponse({"error": "BadRequest",
                                 "message": f"Malformed JSON body: {detail.get('ctx', {}).get('error', 'cannot parse')}."},
                                status_code=400)
        parts = []
        for e in errors:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return JSONResponse({"error": "ValidationError", "message": "Invalid request: " + "; ".join(parts),
                             "details": [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                                         for e in errors]},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            body = {"error": "NotFound", "message": f"No endpoint {request.method} {request.url.path}. "
                                                    "See /docs for the API."}
        elif exc.status_code == 405:
            body = {"error": "MethodNotAllowed",
                    "message": f"{request.method} is not allowed on {request.url.path}."}
        else:
            body = {"error": _name(exc.status_code), "message": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "InternalError",
                             "message": f"Unexpected server error ({type(exc).__name__}); see the server log."},
                            status_code=500)


def _name(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return "HTTPError"
