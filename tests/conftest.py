"""Shared test setup: offline, few threads, the real packaged model loaded once per session."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOCALKB = shutil.which("localkb", path=str(Path(sys.executable).parent)) or "localkb"


@pytest.fixture(scope="session")
def embedder():
    """The real packaged all-MiniLM-L6-v2, loaded once."""
    from localkb.embedders import load_embedder

    return load_embedder(None)


@pytest.fixture()
def isolated_home(tmp_path, monkeypatch):
    """localkb's user dirs (model registry, audit logs) in a tmp folder; the model caches are untouched."""
    home = tmp_path / "localkb-home"
    monkeypatch.setenv("LOCALKB_HOME", str(home))
    monkeypatch.delenv("LOCALKB_KB", raising=False)
    return home


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``localkb`` console script in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([LOCALKB, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)
