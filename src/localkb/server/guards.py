"""Pure ASGI middleware that runs before any route: the token check and the request size limit.

Both answer with the same JSON error shape as every other error (``{"error", "message"}``), and both
run before the body is read, so an unauthorised or oversized request never reaches the KB.
"""
from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: paths that hold no KB data (the page's HTML/JS/CSS, the API description) and are served without the
#: token, so a browser can load the page and then ask its user for the token
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/", "/index.html", "/favicon.ico", "/docs", "/docs/oauth2-redirect", "/openapi.json"})


async def send_json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(data)).encode()), *headers]})
    await send({"type": "http.response.body", "body": data})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def presented_token(scope: Scope) -> str | None:
    """The token a request carries: ``Authorization: Bearer T`` or ``X-API-Key: T``."""
    auth = _header(scope, b"authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return _header(scope, b"x-api-key")


class TokenAuth:
    """Reject every non-public request whose token does not match (constant-time compare) with 401."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        given = presented_token(scope)
        if given is None:
            await send_json(send, 401, {"error": "Unauthorized",
                                        "message": "This server needs a token: send 'Authorization: Bearer TOKEN' "
                                                   "or 'X-API-Key: TOKEN'."},
                            [(b"www-authenticate", b'Bearer realm="localkb"')])
            return
        if not hmac.compare_digest(given.encode("utf-8"), self.token):
            await send_json(send, 401, {"error": "Unauthorized", "message": "Wrong token."},
                            [(b"www-authenticate", b'Bearer realm="localkb", error="invalid_token"')])
            return
        await self.app(scope, receive, send)


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class BodyLimit:
    """Refuse request bodies over a limit with 413: by ``Content-Length`` up front, and by counting the
    bytes of a chunked body as they arrive (the route never sees more than the limit).

    ``limit_for(path)`` gives the limit in bytes for a path (uploads get a larger one than JSON calls).
    When a streamed body runs over, the 413 is sent at once and the route is told the client went
    away; whatever it does afterwards is dropped.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await send_json(send, 400, {"error": "BadRequest", "message": "Invalid Content-Length header."})
                return
            if too_big:
                await send_json(send, 413, _too_large(limit))
                return
        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await tracking_send_raw(413)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send_raw(status: int) -> None:
            nonlocal started
            started = True
            await send_json(send, status, _too_large(limit))

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not refused:
                raise


def _too_large(limit: int) -> dict[str, Any]:
    return {"error": "PayloadTooLarge",
            "message": f"Request body too large: the limit is {limit / 1e6:g} MB "
                       "(raise it with `localkb serve --max-upload-mb`)."}
