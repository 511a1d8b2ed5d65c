"""``localkb mcp --http``: streamable HTTP on 127.0.0.1 behind a token and Host/Origin checks, driven by
the official MCP client; ingest allowed here (``--allow-ingest``)."""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..procs import free_port, stop_process
from .conftest import COMMAND, server_env

TOKEN = "mcp-test-token-41d7"


@pytest.fixture(scope="module")
def http_server(examples_kb: Path, shop_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mcp-http")
    kb = root / "kb"
    shutil.copytree(examples_kb, kb)  # this server ingests: keep the shared KB unchanged
    port = free_port()
    proc = subprocess.Popen([*COMMAND, "--kb", str(kb), "--http", "--port", str(port), "--token", TOKEN,
                             "--allow-ingest", "--db", f"shop=sqlite:///{shop_db}"],
                            env=server_env(root / "home"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"localkb mcp --http did not start: {proc.stderr.read().decode()[-2000:]}"
                                       if proc.stderr else "localkb mcp --http did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        stop_process(proc)


async def _calls(url: str, new_file: Path) -> dict[str, Any]:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.shared.exceptions import MCPError

    out: dict[str, Any] = {}
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120) as client:
        out["tools"] = {t.name for t in (await client.list_tools()).tools}
        out["ibe"] = await client.call_tool("search", {"query": "IBE", "k": 3})
        out["before"] = await client.call_tool("search", {"query": "QZX-7731"})
        out["ingest"] = await client.call_tool("ingest", {"paths": [str(new_file)], "tags": ["added"]})
        out["after"] = await client.call_tool("search", {"query": "QZX-7731", "tags": ["added"]})
        out["check"] = await client.call_tool("sql_check", {"database": "shop", "sql": "SELECT * FROM orders"})
        try:
            await client.call_tool("search", {"query": 42})
        except MCPError as exc:
            out["bad"] = exc
    return out


@pytest.fixture(scope="module")
def calls(http_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    new_file = tmp_path_factory.mktemp("mcp-new") / "pallets.md"
    new_file.write_text("# Pallet labels\n\nEvery pallet label carries the route code QZX-7731 on its left "
                        "edge, printed in black on white.", encoding="utf-8")
    return asyncio.run(asyncio.wait_for(_calls(http_server, new_file), 240))


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def test_http_tools_search_and_ingest(calls: dict[str, Any]) -> None:
    assert "ingest" in calls["tools"] and "sql_check" in calls["tools"]
    ibe = _data(calls["ibe"])
    assert ibe["exact_match"] == {"IBE": True} and "IBE" in ibe["hits"][0]["matched_terms"]
    assert _data(calls["before"])["hits"] == []
    report = _data(calls["ingest"])
    assert report["added"] == 1 and report["skipped"] == []
    after = _data(calls["after"])
    assert after["hits"][0]["source"].endswith("pallets.md") and after["exact_match"] == {"QZX-7731": True}
    assert _data(calls["check"])["allowed"]
    assert calls["bad"].code == -32602


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "curl", "version": "1"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.mark.parametrize("headers, status", [
    ({}, 401),                                                            # no token
    ({"Authorization": "Bearer wrong"}, 401),                             # wrong token
    ({"Authorization": f"Bearer {TOKEN}", "Host": "evil.example:80"}, 403),   # DNS rebinding: foreign Host
    ({"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}, 403),  # a foreign web page
])
def test_http_guards(http_server: str, headers: dict[str, str], status: int) -> None:
    resp = httpx.post(http_server, json=INIT, headers={**ACCEPT, **headers}, timeout=30)
    assert resp.status_code == status, resp.text


def test_http_accepts_a_local_origin_and_refuses_a_huge_body(http_server: str) -> None:
    port = http_server.split(":")[2].split("/")[0]
    ok = httpx.post(http_server, json=INIT, timeout=30,
                    headers={**ACCEPT, "Authorization": f"Bearer {TOKEN}", "Origin": f"http://127.0.0.1:{port}"})
    assert ok.status_code == 200, ok.text
    huge = httpx.post(http_server, content=b"x" * 2_000_000, timeout=30,
                      headers={**ACCEPT, "Authorization": f"Bearer {TOKEN}"})
    assert huge.status_code == 413


def test_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    out = subprocess.run([*COMMAND, "--http", "--host", "0.0.0.0", "--kb", str(tmp_path)], env=server_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "without a token" in out.stderr and "Traceback" not in out.stderr
