"""``localkb serve``: loopback by default, a token required elsewhere, a real process answering."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from localkb.cli.serve_cmd import is_loopback, serve
from localkb.server.state import parse_databases


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.8.0.1") and is_loopback("::1")
    assert is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("::")
    assert not is_loopback("example.com")


def test_non_loopback_needs_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALKB_TOKEN", raising=False)
    result = CliRunner().invoke(serve, ["--kb", str(tmp_path / "kb"), "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "Refusing to listen on 0.0.0.0 without a token" in result.output
    assert not (tmp_path / "kb").exists()  # refused before anything was created


def test_parse_databases() -> None:
    assert parse_databases(["music=sqlite:///m.db", "sales = postgresql://u@h/db"]) == {
        "music": "sqlite:///m.db", "sales": "postgresql://u@h/db"}
    from localkb.errors import ConfigError

    for bad in (["music"], ["=sqlite:///x.db"], ["a b=sqlite:///x"], ["m=x.db", "m=y.db"]):
        with pytest.raises(ConfigError):
            parse_databases(bad)


def test_serve_process_answers_on_loopback(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LOCALKB_TOKEN": "tok"}
    proc = subprocess.Popen([sys.executable, "-c", "from localkb.cli import main; main()", "serve",
                             "--kb", str(tmp_path / "kb"), "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/health", headers={"X-API-Key": "tok"}, timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.communicate()[1]) from None
                time.sleep(0.3)
        assert r.status_code == 200 and r.json()["ok"] is True
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 401  # token from LOCALKB_TOKEN
        assert (tmp_path / "kb" / "manifest.json").is_file()
    finally:
        proc.terminate()
        proc.wait(30)


def _start_serve(tmp_path: Path, *args: str, env_extra: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "LOCALKB_TOKEN"}
    env.update({"OMP_NUM_THREADS": "1", "LOCALKB_HOME": str(tmp_path / "home"), **(env_extra or {})})
    proc = subprocess.Popen([sys.executable, "-c", "from localkb.cli import main; main()", "serve",
                             "--kb", str(tmp_path / "kb"), "--port", str(port), "--log-level", "warning", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return proc, port
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(proc.communicate()[1]) from None
            time.sleep(0.3)


def test_serve_offers_a_per_install_token_by_default(tmp_path: Path) -> None:
    proc, port = _start_serve(tmp_path)
    try:
        token_file = tmp_path / "home" / "server-token"
        token = token_file.read_text().strip()
        assert len(token) >= 24 and (token_file.stat().st_mode & 0o777) == 0o600
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/stats").status_code == 401
        assert httpx.get(f"{base}/api/stats", headers={"X-API-Key": token}).status_code == 200
        assert httpx.get(f"{base}/").status_code == 200  # the page shell, which then takes ?token= from its URL
        # Host names the bound address and port only: DNS rebinding and another port's name are refused
        auth = {"X-API-Key": token}
        assert httpx.get(f"{base}/api/health", headers={"Host": "evil.example", **auth}).status_code == 403
        assert httpx.get(f"{base}/api/health", headers={"Host": f"localhost:{port}", **auth}).status_code == 200
        assert httpx.get(f"{base}/api/health", headers={"Host": f"localhost:{port + 1}", **auth}).status_code == 403
        # a 2 MB request header is refused by the HTTP parser (uvicorn h11 with a 64 kB limit)
        try:  # the parser answers 400, or drops the connection while the client is still sending
            refused = httpx.get(f"{base}/api/health", headers={"X-Big": "a" * 2_000_000, **auth}).status_code
        except httpx.TransportError:
            refused = 400
        assert refused in (400, 431)
        assert httpx.get(f"{base}/api/health", headers=auth).status_code == 200  # and the server keeps serving
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/?token={token}" in err  # printed with the URL, like Jupyter
    # the same token next time
    proc, port = _start_serve(tmp_path)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/api/stats", headers={"X-API-Key": token}).status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_serve_no_token_is_explicit(tmp_path: Path) -> None:
    proc, port = _start_serve(tmp_path, "--no-token")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/api/stats").status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "no token" in err and not (tmp_path / "home" / "server-token").exists()
    result = CliRunner().invoke(serve, ["--kb", str(tmp_path / "kb2"), "--token", "t", "--no-token"])
    assert result.exit_code == 2 and "contradict" in result.output
    result = CliRunner().invoke(serve, ["--kb", str(tmp_path / "kb2"), "--host", "0.0.0.0", "--no-token"])
    assert result.exit_code == 1 and "without a token" in result.output
