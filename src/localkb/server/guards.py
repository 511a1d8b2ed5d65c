"""Pure ASGI middleware that runs before any route: Host/Origin checks, the token check and the size limit.

All answer with the same JSON error shape as every other error (``{"error", "message"}``), and all
run before the body is read, so an unauthorised or oversized request never reaches the KB.
"""
from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
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


#: largest request head (request line + headers) the server reads; a larger one is refused by the HTTP parser
MAX_HEADER_BYTES = 64 * 1024


def uvicorn_limits() -> dict[str, Any]:
    """uvicorn settings that bound what a client can make the server hold: the h11 parser (httptools has
    no limit on header size) with :data:`MAX_HEADER_BYTES`, and no ``Server`` header."""
    return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEADER_BYTES, "server_header": False}


# --- Host and Origin: what keeps a web page in the user's browser from driving this server -------------

#: the names a loopback server answers to; any other ``Host`` (``evil.example`` after DNS rebinding) is refused
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: methods that never change state (they are still Host-checked, and Origin-checked when they carry one)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the header the page (and any client without the token) sends with a state-changing POST; a browser cannot
#: add it to a cross-site form post or a ``no-cors`` fetch without a CORS preflight this server never grants
INTENT_HEADER = "X-LocalKB-Request"
#: the content types a browser may POST cross-site without a preflight (the "CORS-simple" ones)
SIMPLE_CONTENT_TYPES = frozenset({"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def default_allowed_hosts(host: str = "127.0.0.1", port: int | None = None) -> list[str]:
    """The ``Host`` values a server bound to ``host:port`` answers to, for ``HostOriginGuard``.

    Loopback (127.x, ::1, localhost) → ``127.0.0.1:PORT``, ``localhost:PORT``, ``[::1]:PORT``. Any other
    address → that name with the port; a wildcard (``0.0.0.0``, ``::``) → this machine's host name, its
    fully qualified name, the addresses they resolve to, and the loopback names. ``port=None`` (not known
    yet) allows any port.
    """
    import ipaddress
    import socket

    name = host.strip().strip("[]").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    suffix = "" if port is None else f":{port}"
    if name == "localhost" or (address is not None and address.is_loopback):
        names: list[str] = list(LOOPBACK_NAMES)
    elif address is not None and address.is_unspecified:
        names = list(LOOPBACK_NAMES)
        hostname = socket.gethostname()
        for candidate in (hostname, socket.getfqdn()):
            names.append(candidate.lower())
            try:
                names.extend(a for a in socket.gethostbyname_ex(candidate)[2])
            except OSError:
                pass
    else:
        names = [f"[{name}]" if address is not None and address.version == 6 else name]
    return list(dict.fromkeys(n + suffix for n in names))


def default_allowed_origins(allowed_hosts: Sequence[str], scheme: str = "http") -> list[str]:
    """``scheme://HOST`` for each allowed host: the origins of the server's own page (for clients, such as
    an MCP gateway, that want an explicit list). ``HostOriginGuard`` accepts its own origin without it."""
    return [f"{scheme}://{h}" for h in allowed_hosts]


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``name[:port]`` → (lower-case name, port or None); None for anything malformed."""
    value = value.strip().lower()
    if not value or any(c in value for c in " /\\@?#\t"):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[:end + 1], value[end + 1:]
    else:
        name, sep, rest = value.partition(":")
        rest = sep + rest
    if rest and (not rest.startswith(":") or not rest[1:].isdigit() or len(rest) > 6):
        return None
    name = name.rstrip(".")
    return (name, int(rest[1:]) if rest else None) if name else None


def _split_origin(value: str) -> tuple[str, str, int] | None:
    """``scheme://name[:port]`` → (scheme, name, port with the scheme's default); None for ``null`` and junk."""
    scheme, sep, rest = value.strip().lower().partition("://")
    if not sep or scheme not in _DEFAULT_PORTS:
        return None
    parts = _split_host(rest)
    if parts is None:
        return None
    return scheme, parts[0], parts[1] if parts[1] is not None else _DEFAULT_PORTS[scheme]


class HostOriginGuard:
    """Refuse (403, JSON) what a web page could make the user's browser send to a local server.

    Pure ASGI, no dependency on FastAPI: wrap any ASGI app (the localkb API, an MCP streamable-HTTP app)::

        app = HostOriginGuard(app, allowed_hosts=default_allowed_hosts("127.0.0.1", 8750))

    Rules, for every HTTP request and WebSocket handshake:

    1. **Host allow-list.** The ``Host`` header must name an allowed host (``"name:port"``, or ``"name"``
       for any port); a missing, empty or malformed Host is refused. Defeats DNS rebinding, where an
       attacker's name resolves to 127.0.0.1 and the browser sends ``Host: evil.example``.
    2. **Origin.** A request carrying ``Origin`` must come from the server's own origin (same name and
       port as its Host) or one of ``allowed_origins`` (``"scheme://name:port"``, ``"*"`` for any);
       ``Origin: null`` is foreign. WebSockets too (browsers apply no CORS to them).
    3. **State changes.** A request with a method other than GET/HEAD/OPTIONS and no ``Origin`` is
       refused when ``Sec-Fetch-Site`` says ``cross-site`` or ``same-site``; a POST must not be
       CORS-simple: it needs a token header (``Authorization``/``X-API-Key``), the ``X-LocalKB-Request``
       header, or a non-simple ``Content-Type`` such as ``application/json`` — things a cross-site form
       or ``no-cors`` fetch cannot send without a preflight.

    Args:
        app: the ASGI app to protect.
        allowed_hosts: accepted Host values (see ``default_allowed_hosts``); must not be empty.
        allowed_origins: extra origins allowed to call (e.g. the CORS origins); the server's own is implied.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str], allowed_origins: Sequence[str] = ()) -> None:
        self.app = app
        self.any_origin = "*" in allowed_origins
        self.hosts: set[tuple[str, int | None]] = set()
        for entry in allowed_hosts:
            parts = _split_host(entry)
            if parts is None:
                raise ValueError(f"Not a host name (with an optional :port): {entry!r}")
            self.hosts.add(parts)
        if not self.hosts:
            raise ValueError("HostOriginGuard needs at least one allowed host.")
        self.origins: set[tuple[str, str, int]] = set()
        for entry in allowed_origins:
            if entry == "*":
                continue
            origin = _split_origin(entry)
            if origin is None:
                raise ValueError(f"Not an origin (scheme://host[:port]): {entry!r}")
            self.origins.add(origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = self.refusal(scope)
        if reason is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        else:
            await send_json(send, 403, {"error": "Forbidden", "message": reason})

    def refusal(self, scope: Scope) -> str | None:
        """Why this request is refused, or None if it may pass."""
        raw_host = _header(scope, b"host")
        host = _split_host(raw_host or "")
        if host is None or not self._host_allowed(host):
            return (f"Host {raw_host!r} is not one this server answers to. Open it by the address it printed "
                    "(e.g. http://127.0.0.1:PORT/), or start it with --allow-host NAME.")
        scheme = str(scope.get("scheme", "http"))
        own_port = host[1] if host[1] is not None else _DEFAULT_PORTS.get(scheme, 80)
        origin_header = _header(scope, b"origin")
        if origin_header is not None:
            origin = _split_origin(origin_header)
            same = origin is not None and (origin[1], origin[2]) == (host[0], own_port)
            if not (same or self.any_origin or (origin is not None and origin in self.origins)):
                return (f"Requests from the web page at {origin_header!r} are not allowed "
                        "(allow a web app's origin with --cors-origin).")
        method = str(scope.get("method", "GET")).upper()
        if scope["type"] == "websocket" or method in SAFE_METHODS:
            return None
        if origin_header is None and (_header(scope, b"sec-fetch-site") or "").lower() in ("cross-site", "same-site"):
            return "Cross-site requests may not change anything here."
        if method == "POST" and not self._not_simple(scope):
            return (f"A POST must send the token (Authorization / X-API-Key), a {INTENT_HEADER} header or a "
                    "JSON body: a plain form post could come from any web page.")
        return None

    def _host_allowed(self, host: tuple[str, int | None]) -> bool:
        return host in self.hosts or (host[0], None) in self.hosts

    @staticmethod
    def _not_simple(scope: Scope) -> bool:
        if any(_header(scope, h) is not None for h in (b"authorization", b"x-api-key", INTENT_HEADER.lower().encode())):
            return True
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        return content_type not in SIMPLE_CONTENT_TYPES
