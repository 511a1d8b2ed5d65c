"""``localkb migrate``: faiss → milvus → chroma round trip with identical results, resume after a real
SIGKILL, the source KB untouched, and clear errors."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from localkb import KnowledgeBase
from localkb.errors import KBError, KBNotFound, StoreError, UnknownBackend
from localkb.migrate import STATE, migrate
from tests.conftest import LOCALKB

QUERIES = ["error codes", "what is an OBE", "onboarding first week", "diagnosis code for diabetes",
           "release notes 2.4", "country code of Austria", "exception handling procedure", "warehouse glossary",
           "三国演义", "知识库"]


def _results(folder: Path) -> list[list[tuple[str, float]]]:
    with KnowledgeBase.open(folder, create=False) as kb:
        return [[(h.id, h.score) for h in kb.search(q, k=8, mode="dense", min_score=-1.0).hits] for q in QUERIES]


def _ids(results):
    return [[cid for cid, _ in hits] for hits in results]


def _fingerprint(folder: Path) -> dict[str, str]:
    """The KB's content: its files (SQLite's own -wal/-shm and the lexical cache, which any reader may
    checkpoint, aside) and the rows of chunks.sqlite."""
    out = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"
           and not p.name.endswith(("-wal", "-shm")) and "lexical" not in p.parts and p.name != "chunks.sqlite"}
    conn = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True)
    for table in ("documents", "chunks", "doc_chunks", "doc_tags"):
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    conn.close()
    return out


def test_faiss_to_milvus_to_chroma_same_results(source_kb, tmp_path):
    expected = _results(source_kb)
    assert all(expected)
    before = _fingerprint(source_kb)
    first = migrate(source_kb, "milvus", out=tmp_path / "kb-milvus", batch_size=7)
    assert _fingerprint(source_kb) == before  # the source KB was only read
    assert (first.chunks, first.copied, first.reembedded, first.resumed_at) == (first.chunks, first.chunks, 0, 0)
    assert json.loads((tmp_path / "kb-milvus" / "manifest.json").read_text())["store"] == "milvus://./kb.db"
    assert not (tmp_path / "kb-milvus" / STATE).exists()
    via_milvus = _results(tmp_path / "kb-milvus")
    second = migrate(tmp_path / "kb-milvus", "chroma", out=tmp_path / "kb-chroma")
    assert second.copied == second.chunks == first.chunks
    via_chroma = _results(tmp_path / "kb-chroma")
    assert _ids(via_milvus) == _ids(expected)
    assert _ids(via_chroma) == _ids(expected)
    for a, b, c in zip(expected, via_milvus, via_chroma):
        assert [s for _, s in b] == pytest.approx([s for _, s in a], abs=1e-4)
        assert [s for _, s in c] == pytest.approx([s for _, s in a], abs=1e-4)
    with KnowledgeBase.open(tmp_path / "kb-chroma", create=False) as kb:  # hybrid search works too
        assert kb.search("error codes", k=3).hits


def test_migrate_to_a_milvus_server(source_kb, tmp_path, milvus_address):
    uri = f"milvus://{milvus_address}?collection=kb_examples"
    report = migrate(source_kb, uri, out=tmp_path / "kb-server")
    assert report.out == str(tmp_path / "kb-server") and report.store == uri
    assert _ids(_results(tmp_path / "kb-server")) == _ids(_results(source_kb))
    with pytest.raises(StoreError, match="already holds .* vectors"):  # never mix two KBs in one collection
        migrate(source_kb, uri, out=tmp_path / "kb-server-2")
    assert not (tmp_path / "kb-server-2").exists()


def test_reembed_from_chunk_text(source_kb, tmp_path):
    report = migrate(source_kb, "exact://vectors", out=tmp_path / "kb-exact", reembed=True, batch_size=16)
    assert report.reembedded == report.chunks and report.copied == 0
    assert _ids(_results(tmp_path / "kb-exact")) == _ids(_results(source_kb))


def test_interrupted_migration_resumes_where_it_stopped(source_kb, tmp_path):
    out = tmp_path / "kb-resumed"
    cmd = [LOCALKB, "migrate", "--kb", str(source_kb), "--to", "milvus", "--out", str(out), "--batch-size", "2"]
    env = dict(os.environ, LOCALKB_MIGRATE_BATCH_DELAY="0.4")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = out / STATE
    deadline = time.monotonic() + 120
    done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state_file.exists():
                done = json.loads(state_file.read_text())["done"]
                if done >= 8:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the migration finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert done >= 8
    assert not (out / "manifest.json").exists()  # a half-built folder is not a KB
    with pytest.raises(KBNotFound):
        KnowledgeBase.open(out, create=False)
    with pytest.raises(KBError, match="unfinished migration"):  # resuming needs the same target
        migrate(source_kb, "chroma", out=out)
    rerun = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert done <= report["resumed_at"] < report["chunks"]
    assert not state_file.exists()
    assert _ids(_results(out)) == _ids(_results(source_kb))


def test_errors_are_clear_and_create_nothing(source_kb, tmp_path):
    with pytest.raises(UnknownBackend, match="Did you mean 'chroma'"):
        migrate(source_kb, "chrmoa://index", out=tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(KBNotFound):
        migrate(tmp_path / "nothing-here", "chroma", out=tmp_path / "b")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("mine")
    with pytest.raises(KBError, match="already exists"):
        migrate(source_kb, "chroma", out=tmp_path / "c")
    assert os.listdir(tmp_path / "c") == ["notes.txt"]


def test_cli_error_is_one_line(source_kb, tmp_path):
    proc = subprocess.run([LOCALKB, "migrate", "--kb", str(tmp_path / "none"), "--to", "milvus"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: No knowledge base at {tmp_path / 'none'}."]


def test_migration_killed_while_copying_the_snapshot_is_redone(source_kb, tmp_path, monkeypatch):
    """Found by benchmarks/bench_faults.py: a SIGKILL after the new folder was made but before the
    migration's state was saved left a folder the next run refused ("already exists")."""
    import localkb.migrate as mig

    out = tmp_path / "kb-faiss"

    def killed(src):  # runs after the SQLite snapshot is copied, before the state says "prepared"
        raise KeyboardInterrupt

    monkeypatch.setattr(mig, "_store_entry", killed)
    with pytest.raises(KeyboardInterrupt):
        migrate(source_kb, "faiss", out=out)
    assert (out / "chunks.sqlite").exists() and not (out / "manifest.json").exists()
    monkeypatch.undo()
    report = migrate(source_kb, "faiss", out=out)
    assert report.resumed_at == 0 and report.chunks > 0
    assert _ids(_results(out)) == _ids(_results(source_kb))
