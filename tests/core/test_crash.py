"""Crash safety: real `localkb ingest` processes killed with SIGKILL at several points.

After each kill the KB must open, hold no vector without its chunk and no chunk without its vector,
and a second ingest must complete the work (same chunks as a clean run).
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from localkb import KnowledgeBase

from ..conftest import LOCALKB

N_DOCS = 90


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash") / "docs"
    root.mkdir()
    for i in range(N_DOCS):
        paras = [f"Document {i}, paragraph {p}: the shipment {i * 31 + p} of part SKU-{i:04d}{p} was checked "
                 f"at dock {p % 5} and logged under code E{i % 90:02d}.{p}. " * 3 for p in range(3)]
        (root / f"doc{i:03d}.txt").write_text("\n\n".join(paras), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    with KnowledgeBase.open(tmp_path_factory.mktemp("ref") / "kb", create=True) as kb:
        kb.ingest([corpus])
        return kb.db.chunk_ids()


def chunk_count(kb_dir: Path) -> int:
    db = kb_dir / "chunks.sqlite"
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def ingest_and_kill(corpus: Path, kb_dir: Path, store: str, kill_after: int, flush_every: int) -> bool:
    """Start a real ingest, SIGKILL it once ``kill_after`` chunks are committed. True if it was killed."""
    env = {**os.environ, "LOCALKB_INGEST_BATCH": "16", "LOCALKB_FLUSH_EVERY": str(flush_every)}
    proc = subprocess.Popen([LOCALKB, "ingest", str(corpus), "--kb", str(kb_dir), "--store", store, "--json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if chunk_count(kb_dir) >= kill_after:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.02)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_consistent(kb: KnowledgeBase) -> None:
    store_ids, db_ids = kb.store.ids(), kb.db.chunk_ids()
    assert store_ids == db_ids, f"{len(store_ids - db_ids)} vectors without chunk, {len(db_ids - store_ids)} chunks without vector"
    dangling = kb.db.scalar("SELECT COUNT(*) FROM doc_chunks WHERE chunk_id NOT IN (SELECT id FROM chunks)")
    assert dangling == 0


@pytest.mark.slow
@pytest.mark.parametrize("store,kill_at,flush_every", [
    ("faiss", 0.0, 4096),    # right after the first batch is committed, nothing flushed yet
    ("faiss", 0.4, 32),      # mid-way, after several flushes
    ("faiss", 0.8, 32),      # late
    ("chroma", 0.4, 4096),   # Chroma persists on add: vectors may exist without their chunks
])
def test_sigkill_during_ingest_leaves_a_consistent_kb(corpus, reference, tmp_path, store, kill_at, flush_every):
    kb_dir = tmp_path / "kb"
    kill_after = max(1, int(kill_at * len(reference)))  # chunks committed when the kill comes
    killed = ingest_and_kill(corpus, kb_dir, store, kill_after, flush_every)
    assert killed, "ingest finished before the kill point: make the corpus larger"
    with KnowledgeBase.open(kb_dir, create=True) as kb:
        assert_consistent(kb)
        assert kb.search("shipment of part SKU-00421 at dock", k=3, mode="dense") is not None
        report = kb.ingest([corpus])
        assert report.skipped == []
        assert_consistent(kb)
        assert kb.db.chunk_ids() == reference
        assert len(kb.documents()) == N_DOCS
    with KnowledgeBase.open(kb_dir, create=True) as kb:  # and a third run has nothing left to do
        again = kb.ingest([corpus])
        assert again.embedded == 0 and again.unchanged == N_DOCS


def test_kill_before_anything_is_written(corpus, tmp_path):
    """Killed while still loading: the KB either does not exist yet or opens empty and consistent."""
    kb_dir = tmp_path / "kb"
    proc = subprocess.Popen([LOCALKB, "ingest", str(corpus), "--kb", str(kb_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (kb_dir / "manifest.json").exists():
        with KnowledgeBase.open(kb_dir, create=True) as kb:
            assert_consistent(kb)
            kb.ingest([corpus])
            assert len(kb.documents()) == N_DOCS
