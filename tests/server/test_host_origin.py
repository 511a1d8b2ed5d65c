"""Host allow-list and Origin checks (``HostOriginGuard``): the rules over a bare ASGI app, then on the
real localkb server over real sockets (raw HTTP where a client library would fix the headers up)."""
from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from server_harness import LiveServer

from localkb.server.guards import HostOriginGuard, default_allowed_hosts


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _status(guard: HostOriginGuard, method: str, headers: dict[str, str], scheme: str = "http") -> int:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/api/x", "scheme": scheme,
             "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]}
    asyncio.run(guard(scope, receive, send))
    return int(sent[0]["status"])


GUARD = HostOriginGuard(_ok, allowed_hosts=default_allowed_hosts("127.0.0.1", 8750),
                        allowed_origins=["http://localhost:5173"])


@pytest.mark.parametrize(("method", "headers", "status"), [
    ("GET", {"Host": "127.0.0.1:8750"}, 200),
    ("GET", {"Host": "LOCALHOST:8750"}, 200),
    ("GET", {"Host": "[::1]:8750"}, 200),
    ("GET", {}, 403),                                       # no Host at all
    ("GET", {"Host": ""}, 403),                             # empty Host: Ollama's bypass
    ("GET", {"Host": "evil.example:8750"}, 403),            # DNS rebinding
    ("GET", {"Host": "127.0.0.1:9999"}, 403),               # another port
    ("GET", {"Host": "127.0.0.1:8750@evil"}, 403),
    ("GET", {"Host": "127.0.0.1:8750", "Origin": "http://127.0.0.1:8750"}, 200),
    ("GET", {"Host": "127.0.0.1:8750", "Origin": "http://127.0.0.1:3000"}, 403),   # another local page reading
    ("GET", {"Host": "127.0.0.1:8750", "Origin": "null"}, 403),
    ("POST", {"Host": "127.0.0.1:8750", "Content-Type": "application/json"}, 200),  # curl, scripts
    ("POST", {"Host": "127.0.0.1:8750", "Content-Type": "multipart/form-data; boundary=x"}, 403),
    ("POST", {"Host": "127.0.0.1:8750", "Content-Type": "text/plain"}, 403),
    ("POST", {"Host": "127.0.0.1:8750"}, 403),
    ("POST", {"Host": "127.0.0.1:8750", "Content-Type": "multipart/form-data", "X-LocalKB-Request": "1"}, 200),
    ("POST", {"Host": "127.0.0.1:8750", "Content-Type": "multipart/form-data", "X-API-Key": "t"}, 200),
    ("POST", {"Host": "127.0.0.1:8750", "Content-Type": "application/json",
              "Origin": "http://evil.example"}, 403),
    ("POST", {"Host": "127.0.0.1:8750", "Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403),
    ("POST", {"Host": "127.0.0.1:8750", "Content-Type": "application/json",
              "Origin": "http://localhost:5173"}, 200),     # an allowed CORS origin
    ("DELETE", {"Host": "127.0.0.1:8750", "Origin": "http://127.0.0.1:3000"}, 403),
    ("DELETE", {"Host": "127.0.0.1:8750"}, 200),
])
def test_rules(method: str, headers: dict[str, str], status: int) -> None:
    assert _status(GUARD, method, headers) == status


def test_defaults_for_bound_addresses() -> None:
    assert default_allowed_hosts("127.0.0.1", 8750) == ["127.0.0.1:8750", "localhost:8750", "[::1]:8750"]
    assert default_allowed_hosts("::1", 80) == ["127.0.0.1:80", "localhost:80", "[::1]:80"]
    assert default_allowed_hosts("192.168.1.20", 8750) == ["192.168.1.20:8750"]
    assert default_allowed_hosts("kb.lan", None) == ["kb.lan"]
    wildcard = default_allowed_hosts("0.0.0.0", 8750)
    assert "127.0.0.1:8750" in wildcard and f"{socket.gethostname().lower()}:8750" in wildcard
    any_port = HostOriginGuard(_ok, allowed_hosts=default_allowed_hosts())
    assert _status(any_port, "GET", {"Host": "localhost:1234"}) == 200
    assert _status(any_port, "GET", {"Host": "evil.example:1234"}) == 403
    with pytest.raises(ValueError):
        HostOriginGuard(_ok, allowed_hosts=[])
    with pytest.raises(ValueError):
        HostOriginGuard(_ok, allowed_hosts=["a b"])


def _raw(live: LiveServer, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def test_real_server_refuses_rebinding_and_empty_host(live: LiveServer) -> None:
    ok, _ = _raw(live, f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nConnection: close\r\n\r\n".encode())
    assert ok == 200
    for host_line in (b"Host: evil.example\r\n", b"Host: \r\n", b""):
        version = b"HTTP/1.0" if not host_line else b"HTTP/1.1"  # HTTP/1.1 requires a Host line
        status, body = _raw(live, b"GET /api/stats " + version + b"\r\n" + host_line + b"Connection: close\r\n\r\n")
        assert status in (400, 403), (host_line, status)
        if status == 403:
            assert b"not one this server answers to" in body


def test_real_server_refuses_cross_site_form_upload(live: LiveServer) -> None:
    import httpx

    kb = live.app.state.localkb.kb
    before = kb.stats()["documents"]
    files = [("files", ("evil.txt", b"planted by another web page", "text/plain"))]
    with httpx.Client(base_url=live.url, timeout=60) as plain:  # no intent header, no token: a form post
        r = plain.post("/api/ingest/upload?wait=true", files=files)
        assert r.status_code == 403 and r.json()["error"] == "Forbidden", r.text
        r = plain.post("/api/ingest/upload?wait=true", files=files, headers={"Origin": "http://127.0.0.1:1"})
        assert r.status_code == 403
        r = plain.post("/api/search", json={"query": "cats"}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
    assert kb.stats()["documents"] == before
    assert not (live.app.state.localkb.settings.uploads_dir / "evil.txt").exists()
