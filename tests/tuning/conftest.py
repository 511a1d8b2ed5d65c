"""A FAISS KB of the bundled examples/ corpus (real MiniLM), ingested once; writers get a copy."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..conftest import EXAMPLES


@pytest.fixture(scope="session")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    from localkb import KnowledgeBase

    folder = tmp_path_factory.mktemp("tune") / "kb"
    with KnowledgeBase.open(folder, create=True) as kb:
        report = kb.ingest([EXAMPLES / "corpus"])
    assert report.added and not report.skipped
    return folder


@pytest.fixture()
def kb_copy(corpus_kb: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "kb"
    shutil.copytree(corpus_kb, dest)
    return dest
