"""Fixtures for the integration tests: a real FAISS KB of the bundled corpus (packaged MiniLM) and a
``localkb serve`` app on a real uvicorn server bound to 127.0.0.1."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import EXAMPLES


@pytest.fixture(scope="session")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Iterator[Any]:
    """An open KB holding examples/corpus (FAISS store, the session's MiniLM)."""
    from localkb import KnowledgeBase

    with KnowledgeBase.open(tmp_path_factory.mktemp("integrations") / "kb", create=True) as kb:
        kb.ingest([EXAMPLES / "corpus"], tags=["example"])
        yield kb


class Uvicorn:
    """``app`` served by uvicorn on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        from ..procs import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Uvicorn:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
