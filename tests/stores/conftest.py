"""Fixtures for the Milvus and migration tests: a real Milvus Lite server process, a small real KB."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .milvus_server import milvus_lite_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def milvus_address(tmp_path_factory) -> str:
    """``127.0.0.1:PORT`` of a real Milvus Lite server process (standalone gRPC mode) for this module."""
    with milvus_lite_server(tmp_path_factory.mktemp("milvus-server")) as port:
        yield f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def source_kb(tmp_path_factory) -> Path:
    """A FAISS KB of the examples/ corpus, ingested once with the real packaged MiniLM. Do not modify it:
    copy it (``kb_copy``) to write."""
    from localkb import KnowledgeBase

    folder = tmp_path_factory.mktemp("src") / "kb"
    with KnowledgeBase.open(folder, store="faiss", create=True) as kb:
        report = kb.ingest([ROOT / "examples" / "corpus"])
    assert report.chunks >= 30 and not report.skipped
    return folder


@pytest.fixture()
def kb_copy(source_kb, tmp_path) -> Path:
    dest = tmp_path / "kb"
    shutil.copytree(source_kb, dest)
    return dest
