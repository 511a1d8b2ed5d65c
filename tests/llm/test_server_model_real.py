"""The server uses the model the user expects: the best provisioned one at each request, named in the JSON.

A real ``localkb serve`` process whose model cache holds only the 0.5B answers with it; once the 1.5B is
provisioned (linked into the cache, as ``localkb models provision`` would leave it) the next answer comes
from the 1.5B — no restart — and the overview names it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..procs import free_port, stop_process
from .conftest import THREADS

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def test_server_uses_a_model_provisioned_after_it_started(docs_dir: Path, gguf_05b: Path, gguf_15b: Path,
                                                         tmp_path: Path) -> None:
    from localkb import KnowledgeBase

    kb_path = tmp_path / ".localkb"
    with KnowledgeBase.open(kb_path, create=True) as kb:
        kb.ingest([str(docs_dir)])
    models = tmp_path / "cache" / "models"
    models.mkdir(parents=True)
    (models / gguf_05b.name).symlink_to(gguf_05b)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "LOCALKB_LLM"}
    env.update({"LOCALKB_CACHE": str(tmp_path / "cache"), "LOCALKB_HOME": str(tmp_path / "home"),
                "LOCALKB_TOKEN": "tok", "LOCALKB_LLM_THREADS": str(THREADS), "LOCALKB_LLM_CTX": "1024",
                "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"})
    proc = subprocess.Popen([sys.executable, "-c", "from localkb.cli import main; main()", "serve", "--kb",
                             str(kb_path), "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    headers = {"X-API-Key": "tok", "X-LocalKB-Request": "1"}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/api/health", headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(proc.communicate()[1])
            time.sleep(0.3)
        body = {"question": "Which port does the Zorblax daemon listen on?", "k": 2, "max_tokens": 48}
        first = httpx.post(f"{base}/api/ask", json=body, headers=headers, timeout=600).json()
        assert first["model"] == "qwen2.5-coder-0.5b", first
        (models / gguf_15b.name).symlink_to(gguf_15b)  # provisioned while the server runs
        overview = httpx.get(f"{base}/api/stats", headers=headers, timeout=30).json()
        assert overview["server"]["llm"] == "qwen2.5-coder-1.5b", overview.get("server")
        second = httpx.post(f"{base}/api/ask", json=body, headers=headers, timeout=600).json()
        assert second["model"] == "qwen2.5-coder-1.5b", second
        assert "7781" in second["answer"], second
    finally:
        stop_process(proc)
