"""The incremental lexical index (issue 18): segments + tombstones equal a full rebuild, and bm25s.

The property test drives the index over a real SQLite chunks table (the KB's own ``chunks_text`` and
``query`` calls on a real database, not a mock) with the real tokenizer; the end-to-end tests use real KBs.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from localkb import KnowledgeBase
from localkb.search import lexical as lex_mod
from localkb.search.lexical import LexicalIndex, lexical_index
from localkb.search.tokenizer import tokenize
from tests.conftest import run_cli
from tests.contract.sentences import sentences

ROOT = Path(__file__).resolve().parents[2]
EXTRA = ["错误代码 E11.9 表示糖尿病", "The ISO-8859-1 charset and E11.8 code", "IBE vs OBE: inbound exception",
         "库存 SKU-1234 在仓库里", "", "the the the"]
QUERIES = ["inbound exception", "E11.9", "iso-8859-1", "仓库 库存", "the man eats food", "sku-1234 stock",
           "music concert in the park", "e11"]


class Holder:
    """What LexicalIndex uses of a KB: a folder and its real chunks.sqlite (``localkb.db.Database``)."""

    def __init__(self, path: Path) -> None:
        from localkb.db import Database

        path.mkdir(parents=True)
        self.path = str(path)
        self.db = Database(path / "chunks.sqlite")

    def put(self, cid: str, text: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO chunks (id, text, embed_text, created_at) VALUES (?, ?, ?, 0)",
                         (cid, text, text))

    def drop(self, cid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM chunks WHERE id=?", (cid,))


def _view(index: LexicalIndex) -> dict[str, object]:
    out: dict[str, object] = {"ids": sorted(index.ids), "count": index.count()}
    for q in QUERIES:
        toks = tokenize(q)
        scores = index.scores(toks)
        out[q] = {cid: round(float(s), 4) for cid, s in zip(index.ids, scores) if s > 0}
        out[q + "/ideal"] = round(index.ideal_score(toks), 5)
        out[q + "/all"] = index.has_all(toks)
    out["contains e11.9"] = sorted(index.containing("e11.9"))
    return out


def test_random_adds_and_deletes_equal_a_full_rebuild(tmp_path, monkeypatch):
    monkeypatch.setattr(lex_mod, "SYNC_MERGE", 60)  # small limits: merges and rewrites happen often
    texts = [*EXTRA, *sentences()[:150]]
    rng = random.Random(18)
    holder = Holder(tmp_path / "kb")
    index = LexicalIndex(holder)  # type: ignore[arg-type]
    live: set[str] = set()
    for step in range(40):
        add = [f"c{rng.randrange(len(texts))}" for _ in range(rng.randrange(0, 12))]
        drop = rng.sample(sorted(live), min(len(live), rng.randrange(0, 8)))
        for cid in drop:
            holder.drop(cid)
        for cid in add:
            holder.put(cid, texts[int(cid[1:])])
        added = sorted(set(add) - live)
        live = (live - set(drop)) | set(add)
        index.on_chunks_changed(added, drop)
        index.ensure_fresh()
        if step % 8 == 7:
            fresh = LexicalIndex(_copy_holder(holder, tmp_path / f"ref{step}"))  # type: ignore[arg-type]
            fresh.rebuild()
            assert _view(index) == _view(fresh), f"step {step}"
            terms = {t for q in QUERIES for t in tokenize(q)}  # terms_in (postings) = the chunks' own tokens
            listed = index._tokens_of(sorted(live))  # (the cache may lack an id dropped and re-added in a step)
            assert {c: held for c, held in index.terms_in(sorted(live), terms).items() if c in listed} == \
                {c: set(t) & terms for c, t in listed.items()} and len(listed) >= 10
            assert index.rebuilds == 1  # the first fill only: everything since was incremental
            for term in terms:  # a limit reads the first ids only, across segments: the same as a slice
                whole = index.containing(term)
                assert all(index.containing(term, limit=n) == whole[:n] for n in (0, 1, 5, len(whole) + 1))
            asked = [*sorted(live), "c-not-there"]  # bisection over the segments' ids = the list's positions
            assert index.positions(asked).tolist() == [index.ids.index(c) for c in sorted(live)] + [-1]
    assert index.merges > 0 and len(index.segments) >= 1
    reopened = LexicalIndex(holder)  # type: ignore[arg-type]  # from current.json + segments on disk
    assert _view(reopened) == _view(index) and reopened.rebuilds == 0


def test_a_segment_of_an_older_version_with_unsorted_ids_is_still_searched_by_id(tmp_path):
    from localkb.search import segments as seg_mod

    seg = seg_mod.build("s", ["c9", "c1", "c5"], [["a"], ["b", "a"], ["c"]])
    assert seg.ids.tolist() == ["c1", "c5", "c9"] and seg.postings("a")[0].tolist() == [0, 2]  # renumbered
    path = seg_mod.save(seg, tmp_path)
    assert seg_mod.load(tmp_path, "s").keys is not None
    (path / "keys.npy").unlink()  # as an older version wrote it: ids in ingest order, no keys
    np.save(path / "ids.npy", np.array(["c9", "c1", "c5"]))
    old = seg_mod.load(tmp_path, "s")
    assert old.keys is None
    assert old.find(np.array(["c5", "c9", "c0", "c1"])).tolist() == [2, 0, -1, 1]


def test_compact_rewrites_an_older_versions_segments_and_scores_stay(tmp_path):
    holder = Holder(tmp_path / "kb")
    index = LexicalIndex(holder)  # type: ignore[arg-type]
    texts = [*EXTRA, *sentences()[:40]]
    for start in (0, 20, 40):  # three ingests (the tiered merges join them)
        for i in range(start, start + 20):
            holder.put(f"c{i:03d}", texts[i % len(texts)])
        index.on_chunks_changed([f"c{i:03d}" for i in range(start, start + 20)], [])
        index.ensure_fresh()
    holder.drop("c005")
    index.on_chunks_changed([], ["c005"])
    index.ensure_fresh()  # a tombstone
    before = _view(index)
    for seg in index.segments:  # as an older version wrote them
        (index.folder / f"seg-{seg.name}" / "keys.npy").unlink()
    reopened = LexicalIndex(holder)  # type: ignore[arg-type]
    assert all(seg.keys is None for seg in reopened.segments) and _view(reopened) == before
    assert reopened.compact() == before["count"]
    again = LexicalIndex(holder)  # type: ignore[arg-type]
    assert [seg.keys is not None for seg in again.segments] == [True] and _view(again) == before
    assert again.compact() == before["count"] and again.merges == 0  # nothing left to rewrite


def test_compact_rewrites_a_lone_segment_of_an_older_version(tmp_path):
    holder = Holder(tmp_path / "kb")
    index = LexicalIndex(holder)  # type: ignore[arg-type]
    for i, text in enumerate(sentences()[:20]):
        holder.put(f"c{i:03d}", text)
    index.on_chunks_changed([f"c{i:03d}" for i in range(20)], [])
    index.ensure_fresh()
    before = _view(index)
    (index.folder / f"seg-{index.segments[0].name}" / "keys.npy").unlink()
    reopened = LexicalIndex(holder)  # type: ignore[arg-type]
    assert len(reopened.segments) == 1 and reopened.segments[0].keys is None
    assert reopened.compact() == 20 and reopened.segments[0].keys is not None and _view(reopened) == before


def test_prefix_keys_sort_as_the_ids_and_find_every_id():
    """Ids that share their first 8 characters, non-ASCII ones, one a prefix of another, 64-hex ones."""
    from localkb.search import segments as seg_mod

    rng = random.Random(18)
    ids = ["doc-0000001", "doc-0000002", "doc-00000010", "doc-0000", "doc", "c1", "c10", "c2", "库存-1", "库存-2",
           "\u0100\u0001", "\u0101", "Ā", "é-1", "é-2", "z" * 40, *(f"{rng.getrandbits(256):064x}" for _ in range(300))]
    seg = seg_mod.build("s", ids, [["a"]] * len(ids))
    keys = seg.keys
    assert keys is not None and (keys[1:] >= keys[:-1]).all()  # non-decreasing in the ids' order
    asked = np.array([*ids, "doc-0000003", "doc-000000", "c3", "库存", "0" * 64], dtype=str)
    want = [seg.ids.tolist().index(c) for c in ids] + [-1] * 5
    assert seg.find(asked).tolist() == want


def _copy_holder(holder: Holder, path: Path) -> Holder:
    copy = Holder(path)
    for cid, text, _ in holder.db.query("SELECT id, text, embed_text FROM chunks"):
        copy.put(cid, text)
    return copy


def test_scores_equal_bm25s(tmp_path):
    import bm25s

    texts = [*EXTRA, *sentences()[:200]]
    holder = Holder(tmp_path / "kb")
    for i, t in enumerate(texts):
        holder.put(f"c{i:04d}", t)
    index = LexicalIndex(holder)  # type: ignore[arg-type]
    index.ensure_fresh()
    corpus = {cid: tokenize(t) for cid, t in ((f"c{i:04d}", t) for i, t in enumerate(texts))}
    ids = sorted(corpus)
    ref = bm25s.BM25()
    ref.index([corpus[c] for c in ids], show_progress=False)
    for q in QUERIES:
        known = [t for t in tokenize(q) if t in ref.vocab_dict]
        if not known:
            continue
        expected = dict(zip(ids, np.asarray(ref.get_scores(known), dtype=np.float32)))
        got = dict(zip(index.ids, index.scores(tokenize(q))))
        for cid in ids:
            assert got[cid] == pytest.approx(expected[cid], rel=1e-4, abs=1e-5), (q, cid)


def test_one_file_added_to_a_kb_makes_a_small_segment(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(12):
        (docs / f"d{i}.txt").write_text(f"Document {i} about the quokka number {i} and code E{i}.{i}.", encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([docs])
        lex = lexical_index(kb)
        base = [len(s) for s in lex.segments]
        (docs / "new.txt").write_text("The bilby has long ears.", encoding="utf-8")
        kb.ingest([docs])
        assert kb.search("bilby", mode="lexical").hits[0].source.endswith("new.txt")
        assert lex.rebuilds == 1 and [len(s) for s in lex.segments][: len(base)] == base  # old segment untouched
        assert len(lex.segments) == len(base) + 1 and len(lex.segments[-1]) == 1
        stats = kb.stats()["lexical"]
        assert stats["segments"] == len(lex.segments) and stats["chunks"] == 13


def test_localkb_compact_merges_the_segments_into_one_and_search_is_unchanged(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(lex_mod, "TIER", 0)  # while building: no tiered merges, no rewrites of dead segments
    monkeypatch.setattr(lex_mod, "COMPACT_DEAD", 1.0)

    docs = tmp_path / "docs"
    docs.mkdir()
    kb_dir = tmp_path / "kb"
    with KnowledgeBase.open(kb_dir, create=True) as kb:
        for i in range(6):
            (docs / f"d{i}.txt").write_text(f"Report {i} on the quokka colony at site Q{i}-7, with {i} burrows.",
                                            encoding="utf-8")
        kb.ingest([docs / f"d{i}.txt" for i in range(3)])  # one segment of 3, then one segment per file
        for i in range(3, 6):
            kb.ingest([docs / f"d{i}.txt"])
        kb.delete([str(docs / "d0.txt"), str(docs / "d1.txt")])
        before = [(h.source, round(h.score, 5)) for h in kb.search("quokka burrows", mode="lexical", k=10).hits]
        held = kb.stats()["lexical"]
    assert held["segments"] >= 2 and held["tombstones"] == 2 and held["chunks"] == 4 and len(before) == 4

    done = run_cli("compact", "--kb", str(kb_dir), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["chunks"] == 4 and report["before"]["segments"] == held["segments"]
    assert report["before"]["tombstones"] == 2
    assert report["after"]["segments"] == 1 and report["after"]["tombstones"] == 0
    assert 0 < report["after"]["bytes"]
    with KnowledgeBase.open(kb_dir, create=False) as kb:
        assert [(h.source, round(h.score, 5)) for h in kb.search("quokka burrows", mode="lexical", k=10).hits] == before
        assert kb.stats()["lexical"]["segments"] == 1
    again = run_cli("compact", "--kb", str(kb_dir))  # nothing left to merge: says so in the same words
    assert again.returncode == 0 and "segments 1 → 1, tombstones 0 → 0" in again.stdout

    missing = run_cli("compact", "--kb", str(tmp_path / "no-such-kb"))
    assert missing.returncode == 1 and missing.stderr.startswith("Error:") and not (tmp_path / "no-such-kb").exists()


KILLER = """
import sys
from localkb import KnowledgeBase
from localkb.search.lexical import lexical_index
kb = KnowledgeBase.open(sys.argv[1], create=False)
lex = lexical_index(kb)
lex.ensure_fresh()
ids = sorted(lex.ids)
print("ready", flush=True)
while True:  # tombstones past COMPACT_DEAD force rewrites; re-adding merges segments; compact merges all
    lex.apply([], ids[: len(ids) // 2])
    lex.apply(ids[: len(ids) // 2], [])
    lex.compact()
"""


def test_sigkill_during_compaction_leaves_a_kb_that_opens_and_answers(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(30):
        body = " ".join(f"word{(i * 7 + j) % 400} filler{j}" for j in range(150))
        (docs / f"d{i}.txt").write_text(f"The quokka report {i}: {body}", encoding="utf-8")
    (docs / "target.txt").write_text("The numbat eats termites near code Z99.1.", encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([docs])
        expected = {r[0] for r in kb.db.query("SELECT id FROM chunks")}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    mid_write = 0
    for round_ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", KILLER, str(tmp_path / "kb")], stdout=subprocess.PIPE,
                                env=env, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 0.3 + 0.4 * round_
        folder = tmp_path / "kb" / "lexical"
        while time.monotonic() < deadline or not any(p.name.startswith("tmp-") for p in folder.iterdir()):
            if time.monotonic() > deadline + 10:
                break
            time.sleep(0.0005)
        mid_write += any(p.name.startswith("tmp-") for p in folder.iterdir())
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        with KnowledgeBase.open(tmp_path / "kb", create=False) as kb:
            hits = kb.search("numbat termites", mode="lexical").hits
            assert hits and hits[0].source.endswith("target.txt")
            assert set(lexical_index(kb).ids) == expected
    assert mid_write >= 1  # at least one kill landed while a segment was being written


def test_catching_up_costs_the_change_not_the_kb(tmp_path, monkeypatch):
    """Issue 18: after the first check in a process, the index follows SQLite through ``chunk_log`` — a
    write by anyone (here: plain SQL on another connection, no listener) is found without reading every
    chunk id — and the id map is updated, not rebuilt; a log pruned past the index's position, or a count
    that disagrees, falls back to comparing every id. Each state equals a full rebuild."""
    import sqlite3

    holder = Holder(tmp_path / "kb")
    texts = sentences()[:80]
    for n, text in enumerate(texts[:60]):
        holder.put(f"c{n:03d}", text)
    index = LexicalIndex(holder)  # type: ignore[arg-type]
    index.ensure_fresh()
    full_scans: list[str] = []
    real_query = holder.db.query

    def counting(sql, params=()):
        if sql.strip() == "SELECT id FROM chunks":
            full_scans.append(sql)
        return real_query(sql, params)

    monkeypatch.setattr(holder.db, "query", counting)
    other = sqlite3.connect(holder.db.path)  # another writer: no listener tells the index anything
    with other:
        other.executemany("INSERT INTO chunks VALUES (?, ?, ?, 0)", [(f"c{n:03d}", t, t) for n, t in
                                                                      enumerate(texts[60:70], start=60)])
        other.execute("DELETE FROM chunks WHERE id IN ('c001', 'c002')")
    index.ensure_fresh()
    assert not full_scans and index.count() == 68 and "c001" not in index.pos and index.position("c065") is not None
    assert _view(index) == _view(_rebuilt(holder, tmp_path / "ref1"))
    with other:  # a writer that does not log (an older localkb): the count disagrees, every id is compared
        other.execute("DROP TRIGGER chunk_log_delete")
        other.execute("DELETE FROM chunks WHERE id='c003'")
    index.ensure_fresh()
    assert full_scans and index.count() == 67 and _view(index) == _view(_rebuilt(holder, tmp_path / "ref2"))
    full_scans.clear()
    with other:  # the log pruned past the index's position: every id is compared
        other.execute("INSERT INTO chunks VALUES ('c070', ?, ?, 0)", (texts[70], texts[70]))
        other.execute("INSERT INTO chunks VALUES ('c071', ?, ?, 0)", (texts[71], texts[71]))
        other.execute("DELETE FROM chunk_log WHERE seq < (SELECT MAX(seq) FROM chunk_log)")  # c070 unlogged
    index.ensure_fresh()
    assert full_scans and index.count() == 69 and _view(index) == _view(_rebuilt(holder, tmp_path / "ref3"))
    other.close()


def test_opening_follows_the_log_unless_it_cannot_be_trusted(tmp_path, monkeypatch):
    """A new process's first check reads ``chunk_log`` (cost ∝ what changed since the segments were published),
    not every chunk id; with a trigger missing, or a log behind the segments' position (another
    ``chunks.sqlite``), it compares every id. Each state equals a full rebuild."""
    import sqlite3

    holder = Holder(tmp_path / "kb")
    texts = sentences()[:80]
    for n, text in enumerate(texts[:60]):
        holder.put(f"c{n:03d}", text)
    LexicalIndex(holder).ensure_fresh()  # type: ignore[arg-type]  # published; this "process" ends
    full_scans: list[str] = []
    real_query = holder.db.query
    monkeypatch.setattr(holder.db, "query", lambda sql, params=(): (
        full_scans.append(sql) if sql.strip() == "SELECT id FROM chunks" else None) or real_query(sql, params))
    other = sqlite3.connect(holder.db.path)
    with other:
        other.execute("INSERT INTO chunks VALUES ('c060', ?, ?, 0)", (texts[60], texts[60]))
        other.execute("DELETE FROM chunks WHERE id = 'c001'")
    opened = LexicalIndex(holder)  # type: ignore[arg-type]
    opened.ensure_fresh()
    assert not full_scans and opened.count() == 60 and opened.position("c001") is None
    assert _view(opened) == _view(_rebuilt(holder, tmp_path / "ref1"))
    with other:  # a trigger gone: the log may miss writes, so a new process compares every id
        other.execute("DROP TRIGGER chunk_log_insert")
        other.execute("INSERT INTO chunks VALUES ('c061', ?, ?, 0)", (texts[61], texts[61]))
        other.execute("DELETE FROM chunks WHERE id = 'c002'")  # logged; the count alone would agree
    opened = LexicalIndex(holder)  # type: ignore[arg-type]
    opened.ensure_fresh()
    assert full_scans and opened.position("c061") is not None and opened.position("c002") is None
    assert _view(opened) == _view(_rebuilt(holder, tmp_path / "ref2"))
    full_scans.clear()
    with other:  # the log behind the position the segments reflect: not the database they followed
        other.execute("CREATE TRIGGER chunk_log_insert AFTER INSERT ON chunks BEGIN "
                      "INSERT INTO chunk_log(id) VALUES (new.id); END")
        other.execute("DELETE FROM chunk_log")
        other.execute("DELETE FROM sqlite_sequence WHERE name = 'chunk_log'")
        other.execute("DELETE FROM chunks WHERE id = 'c003'")  # logged as seq 1 and 2: the count agrees
        other.execute("INSERT INTO chunks VALUES ('c062', ?, ?, 0)", (texts[62], texts[62]))
    opened = LexicalIndex(holder)  # type: ignore[arg-type]
    opened.ensure_fresh()
    assert full_scans and opened.position("c003") is None and opened.position("c062") is not None
    assert _view(opened) == _view(_rebuilt(holder, tmp_path / "ref3"))
    other.close()


def _rebuilt(holder, folder):
    fresh = Holder(folder)
    for row in holder.db.query("SELECT id, text FROM chunks"):
        fresh.put(row[0], row[1])
    index = LexicalIndex(fresh)  # type: ignore[arg-type]
    index.ensure_fresh()
    return index



def test_one_search_checks_for_changes_once_and_the_next_one_sees_them(tmp_path):
    """``lexical.one_check`` (what ``engine.search`` runs in): a chunk written meanwhile by another writer is
    not half-seen inside the block, and is found by the next one."""
    holder = Holder(tmp_path / "kb")
    holder.put("c1", "the quokka lives on an island")
    index = LexicalIndex(holder)  # type: ignore[arg-type]
    with lex_mod.one_check():
        assert index.containing("quokka") == ["c1"]
        holder.put("c2", "a quokka smiles")  # another process's ingest, mid-search
        assert index.containing("quokka") == ["c1"] and index.count() == 1
    with lex_mod.one_check():
        assert sorted(index.containing("quokka")) == ["c1", "c2"]
    holder.put("c3", "one more quokka")
    assert sorted(index.containing("quokka")) == ["c1", "c2", "c3"]  # outside a block: every call checks


def test_segments_past_the_sync_merge_size_do_not_make_every_ingest_merge(tmp_path, monkeypatch):
    """At 1M chunks 16 segments of 46k-92k filled the cap, and each ingest merged one of them (1.7 s): segments of
    half ``SYNC_MERGE`` docs or more are left out of ``MAX_SEGMENTS``, and only ``MAX_ALL_SEGMENTS`` bounds them."""
    monkeypatch.setattr(lex_mod, "SYNC_MERGE", 20)
    monkeypatch.setattr(lex_mod, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(lex_mod, "MAX_ALL_SEGMENTS", 6)
    texts = sentences()[:200]
    holder = Holder(tmp_path / "kb")
    index = LexicalIndex(holder)  # type: ignore[arg-type]
    n = 0

    def ingest(count: int) -> None:
        nonlocal n
        ids = [f"c{n + i:04d}" for i in range(count)]
        for cid in ids:
            holder.put(cid, texts[int(cid[1:]) % len(texts)])
        n += count
        index.on_chunks_changed(ids, [])
        index.ensure_fresh()

    for _ in range(6):  # six "big" segments (12 docs ≥ SYNC_MERGE / 2): beyond MAX_SEGMENTS, yet no merge
        ingest(12)
    assert [len(s) for s in index.segments] == [12] * 6 and index.merges == 0
    ingest(2)  # a small one: the cap of all segments (6) is passed, the smallest neighbours merge
    assert [len(s) for s in index.segments] == [12] * 5 + [14] and index.merges == 1 and index.count() == n
    fresh = LexicalIndex(_copy_holder(holder, tmp_path / "ref"))  # type: ignore[arg-type]
    fresh.rebuild()
    assert _view(index) == _view(fresh)
