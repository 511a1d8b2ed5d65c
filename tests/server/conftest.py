"""A real ``localkb serve`` app on 127.0.0.1 (uvicorn in a thread, a free port) over a real KB.

The KB uses the packaged MiniLM model and FAISS files. The LLM for ``ask`` and ``sql`` is scripted in
these API tests (they test the HTTP layer: streaming framing, status codes, JSON shapes); the browser
test asks the real GGUF when it is provisioned.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from server_harness import CORPUS, LiveServer, make_music_db, scripted_llm


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    docs = root / "docs"
    docs.mkdir()
    for name, text in CORPUS.items():
        (docs / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def music_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_music_db(tmp_path_factory.mktemp("db") / "music.db")


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, music_db: Path) -> Iterator[LiveServer]:
    """No token, ingest roots = the corpus folder, one database, scripted LLM, 1 MB upload limit."""
    from localkb.server.app import create_app

    with pytest.MonkeyPatch.context() as mp:  # session-wide, but must not leak into other test folders
        mp.setenv("LOCALKB_HOME", str(tmp_path_factory.mktemp("home")))
        app = create_app(tmp_path_factory.mktemp("kb") / "kb", upload_roots=[corpus_dir],
                         databases={"music": f"sqlite:///{music_db}"}, max_upload_mb=1.0, llm=scripted_llm(),
                         sql_audit=str(tmp_path_factory.mktemp("audit") / "audit.jsonl"))
        server = LiveServer(app).start()
        with server.client() as c:
            r = c.post("/api/ingest/path",
                       json={"paths": [str(corpus_dir / "docs")], "wait": True, "tags": ["corpus"]})
            assert r.status_code == 200 and r.json()["status"] == "done", r.text
        yield server
        server.stop()


@pytest.fixture()
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as c:
        yield c
