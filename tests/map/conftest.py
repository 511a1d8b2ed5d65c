"""A FAISS and a Chroma KB of the bundled examples/ corpus (real MiniLM), ingested once per session.
Tests that write (``--apply``, ``cluster``) work on a copy."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import EXAMPLES

CORPUS = EXAMPLES / "corpus"
GLOSSARY = "warehouse-glossary.md"
PROCEDURE = "exception-handling.pdf"
ORIGINAL, COPY = "onboarding.txt", "onboarding-draft-2025.txt"


def _build(folder: Path, store: str) -> Path:
    from localkb import KnowledgeBase

    with KnowledgeBase.open(folder, store=store, create=True) as kb:
        report = kb.ingest([CORPUS])
    assert not report.skipped and report.added == len(list(CORPUS.iterdir()))
    return folder


@pytest.fixture(scope="session")
def faiss_kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("map-faiss") / "kb", "faiss")


@pytest.fixture(scope="session")
def chroma_kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("map-chroma") / "kb", "chroma")


@pytest.fixture()
def kb_copy(faiss_kb_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "kb"
    shutil.copytree(faiss_kb_dir, dest)
    return dest


@pytest.fixture(params=["faiss", "chroma"])
def any_kb(request: pytest.FixtureRequest) -> Iterator[object]:
    from localkb import KnowledgeBase

    folder = request.getfixturevalue(f"{request.param}_kb_dir")
    with KnowledgeBase.open(folder, create=False) as kb:
        yield kb


def source(name: str) -> str:
    """The source a corpus file has in these KBs (ingested by absolute folder path)."""
    return str(CORPUS / name)
