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
