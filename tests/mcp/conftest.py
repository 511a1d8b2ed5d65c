"""Fixtures for the MCP tests: a real KB of the bundled corpus (packaged MiniLM, FAISS), a real SQLite
database, and ``localkb mcp`` run as the real command in a subprocess (stdio or HTTP on 127.0.0.1)."""
from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from ..conftest import EXAMPLES, FIXTURES

pytest.importorskip("mcp", reason="needs the MCP SDK: pip install 'localkb[mcp]'")

CORPUS = EXAMPLES / "corpus"
SRC = Path(__file__).resolve().parents[2] / "src"
#: the command an MCP client is configured with (the console script's entry point, this interpreter)
COMMAND = [sys.executable, "-c", "from localkb.cli import main; main()", "mcp"]


def server_env(home: Path) -> dict[str, str]:
    """The environment of a server subprocess: these sources, one thread, offline, a private LOCALKB_HOME."""
    return {"PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false", "LOCALKB_HOME": str(home)}


@pytest.fixture(scope="session")
def examples_kb(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Path:
    """A KB folder holding examples/corpus, calibrated (one search ran), closed."""
    from localkb import KnowledgeBase

    path = tmp_path_factory.mktemp("mcp") / "kb"
    with KnowledgeBase.open(path, create=True) as kb:  # the session embedder is the process-wide shared instance
        kb.ingest([CORPUS], tags=["example"])
        kb.search("IBE")
    return path


@pytest.fixture(scope="session")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mcp-db") / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / "sql_guard" / "schema.sql").read_text())
    conn.commit()
    conn.close()
    return path
