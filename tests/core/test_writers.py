"""Issue 12, defect 1: concurrent writers lose no vector, on real processes and real FAISS/Chroma files.

* two real ``localkb ingest`` processes started together on a NEW KB (both used to open the store before
  the lock, and the second flush overwrote the first: ``chunks 80, vectors 40``);
* a real ``localkb serve`` on 127.0.0.1 plus a CLI ingest into the same KB (the server's store in memory
  went stale: it could not find the CLI's documents, and its next flush overwrote their vectors);
* a KB damaged that way by an older localkb is repaired from ``chunks.sqlite`` when opened, and says so.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from localkb import KnowledgeBase

from ..conftest import LOCALKB
from ..procs import free_port, stop_process

ANIMALS = ["otter", "heron", "badger", "lynx", "marten", "ibex", "gecko", "tapir"]
TOKEN = "writers-test-token"


def write_corpus(folder: Path, label: str, n: int) -> dict[str, str]:
    """``n`` small documents, each with one sentence no other document shares; returns name → sentence."""
    folder.mkdir(parents=True)
    out = {}
    for i in range(n):
        animal = ANIMALS[i % len(ANIMALS)]
        sentence = (f"Logbook {label}{i}: the {animal} called {label.upper()}{i * 7 + 3} guarded crate "
                    f"{label}-{i:03d} at pier {i + 2} during the {label} night shift.")
        paras = [sentence] + [f"Paragraph {p} of {label}{i} lists pallets {p * 11 + i} and {p * 13 + i} "
                              f"checked by team {label}{p}." for p in range(4)]
        name = f"{label}{i:02d}.txt"
        (folder / name).write_text("\n\n".join(paras), encoding="utf-8")
        out[name] = sentence
    return out


def assert_consistent(kb_dir: Path) -> None:
    with KnowledgeBase.open(kb_dir, create=True) as kb:
        store_ids, db_ids = kb.store.ids(), kb.db.chunk_ids()
        assert store_ids == db_ids, (f"chunks {len(db_ids)}, vectors {len(store_ids)}: "
                                     f"{len(db_ids - store_ids)} chunks without a vector")
        from localkb.search.lexical import lexical_index

        lex = lexical_index(kb)
        lex.ensure_fresh()
        assert set(lex.ids) == db_ids


def assert_searchable(kb_dir: Path, docs: dict[str, str]) -> None:
    """Every document is found by DENSE search for its own sentence (the vectors are there)."""
    with KnowledgeBase.open(kb_dir, create=True) as kb:
        for name, sentence in docs.items():
            hits = kb.search(sentence, k=3, mode="dense", min_score="none").hits
            assert name in [Path(h.source).name for h in hits], f"{name} not found by dense search"


def start_ingest(paths: list[Path], kb_dir: Path, store: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LOCALKB_INGEST_BATCH": "8", "LOCALKB_FLUSH_EVERY": "8", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([LOCALKB, "ingest", *map(str, paths), "--kb", str(kb_dir), "--store", store, "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


MILVUS = pytest.param("milvus", marks=pytest.mark.skipif(not _has("milvus_lite"), reason="needs localkb[milvus]"))


@pytest.mark.parametrize("store", ["faiss", "chroma", MILVUS])
def test_two_ingests_started_together_on_a_new_kb(tmp_path, store):
    """Milvus Lite locks its file to one process: the second writer waits for it, it does not fail."""
    docs_a = write_corpus(tmp_path / "a", "a", 8)
    docs_b = write_corpus(tmp_path / "b", "b", 8)
    kb_dir = tmp_path / "kb"
    procs = [start_ingest([tmp_path / "a"], kb_dir, store), start_ingest([tmp_path / "b"], kb_dir, store)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert json.loads(out)["added"] == 8
    assert_consistent(kb_dir)
    assert_searchable(kb_dir, {**docs_a, **docs_b})


def wait_healthy(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server exited"
        try:
            if httpx.get(f"{url}/api/health", timeout=2, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("localkb serve did not start")


def server_sources(client: httpx.Client, query: str) -> list[str]:
    res = client.post("/api/search", json={"query": query, "k": 3, "mode": "dense", "min_score": -1})
    assert res.status_code == 200, res.text
    return [Path(h["source"]).name for h in res.json()["hits"]]


@pytest.mark.parametrize("store", ["faiss", "chroma"])
def test_server_and_cli_write_the_same_kb(tmp_path, store):
    root = tmp_path / "docs"
    root.mkdir()
    docs_a = write_corpus(root / "a", "a", 3)
    docs_b = write_corpus(root / "b", "b", 3)
    docs_c = write_corpus(root / "c", "c", 3)
    kb_dir = tmp_path / "kb"
    with KnowledgeBase.open(kb_dir, store=store, create=True) as kb:
        kb.ingest([root / "a"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([LOCALKB, "serve", "--kb", str(kb_dir), "--port", str(port), "--token", TOKEN,
                               "--root", str(root)], env={**os.environ, "OMP_NUM_THREADS": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(url, server)
        with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            name, sentence = next(iter(docs_a.items()))
            assert name in server_sources(client, sentence)  # the server holds its store in memory now
            cli = start_ingest([root / "b"], kb_dir, store)
            _out, err = cli.communicate(timeout=300)
            assert cli.returncode == 0, err
            for name, sentence in docs_b.items():  # the server notices the CLI's write before searching
                assert name in server_sources(client, sentence)
            res = client.post("/api/ingest/path", json={"paths": [str(root / "c")], "wait": True})
            assert res.status_code in (200, 202), res.text
            assert res.json()["status"] == "done", res.text
    finally:
        stop_process(server)
    assert_consistent(kb_dir)  # the server's flush kept the CLI's vectors
    assert_searchable(kb_dir, {**docs_a, **docs_b, **docs_c})


def test_a_kb_missing_vectors_is_repaired_on_open_and_says_so(tmp_path):
    """What an older localkb left behind after two writers (``chunks 16, vectors 8``) heals on open."""
    docs = write_corpus(tmp_path / "a", "a", 4)
    kb_dir = tmp_path / "kb"
    with KnowledgeBase.open(kb_dir, create=True) as kb:
        kb.ingest([tmp_path / "a"])
        n = kb.db.chunk_count()

    # the state a lost flush leaves (SQLite has the chunks, FAISS not their vectors), written with the raw
    # store: a KnowledgeBase would repair it on open
    from localkb.stores.base import open_store

    def damage() -> None:
        with KnowledgeBase.open(kb_dir, create=True) as kb:
            uri, dim, ids = kb.manifest.store, kb.manifest.dim, sorted(kb.db.chunk_ids())
        store = open_store(uri, dim, base_dir=str(kb_dir))
        store.delete(ids[: n // 2])
        store.close()

    damage()
    human = subprocess.run([LOCALKB, "ingest", str(tmp_path / "a"), "--kb", str(kb_dir)],
                           capture_output=True, text=True, timeout=300)
    assert human.returncode == 0, human.stderr
    assert f"Repaired the KB (the vector store and chunks.sqlite disagreed): {n // 2} missing vectors re-embedded" \
        in human.stderr
    damage()
    proc = subprocess.run([LOCALKB, "ingest", str(tmp_path / "a"), "--kb", str(kb_dir), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["unchanged"] == 4
    assert any(f"{n // 2} missing vectors re-embedded" in note for note in report["notes"]), report
    again = subprocess.run([LOCALKB, "ingest", str(tmp_path / "a"), "--kb", str(kb_dir)],
                           capture_output=True, text=True, timeout=300)
    assert "Repaired" not in again.stderr  # consistent since
    assert_consistent(kb_dir)
    assert_searchable(kb_dir, docs)


def test_the_write_lock_is_one_claim_per_holder_and_dies_with_it(tmp_path):
    """filelock (issue 19) keeps the old behaviour: a held lock → KBLocked with the same message, in the
    CLI one line and exit 1; a SIGKILLed holder frees it at once."""
    import signal
    import sys

    from localkb.errors import KBLocked
    from localkb.lock import WriteLock

    docs = write_corpus(tmp_path / "a", "a", 1)
    kb_dir = tmp_path / "kb"
    with KnowledgeBase.open(kb_dir, create=True) as kb:
        kb.ingest([tmp_path / "a"])
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from localkb.lock import WriteLock; held = WriteLock(Path(sys.argv[1])); held.acquire(); "
                               "print('held', flush=True); time.sleep(600)", str(kb_dir)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        mine = WriteLock(kb_dir)
        with pytest.raises(KBLocked, match=f"Another localkb process is writing to {kb_dir}; try again later."):
            mine.acquire(timeout=0.2)
        proc = subprocess.run([LOCALKB, "ingest", str(tmp_path / "a"), "--kb", str(kb_dir)], capture_output=True,
                              text=True, timeout=300, env={**os.environ, "LOCALKB_LOCK_TIMEOUT": "1"})
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert "Another localkb process is writing to" in proc.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert mine.try_acquire()  # the OS dropped the dead holder's lock
    mine.release()
    assert_searchable(kb_dir, docs)
