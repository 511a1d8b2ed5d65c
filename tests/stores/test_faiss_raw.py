"""The exact vectors beside an sq8 index (``stores.faiss_raw``): the row map a search reads is held in memory
(issue 18: a SQL lookup per search cost more than the IVF probe); it must always answer what ``ids.sqlite``
says, through appends, replacements, deletes, rewrites and another writer."""
from __future__ import annotations

import random
import sqlite3

import numpy as np

from localkb.stores.faiss_raw import RawVectors
from localkb.stores.faiss_store import FaissStore

DIM = 8


def truth(conn: sqlite3.Connection, folder: str, keys: list[int]) -> dict[int, np.ndarray]:
    """What the files say, read without the in-memory map: a fresh reader per call."""
    fresh = RawVectors(folder, DIM, conn)
    found, matrix = fresh.get(np.array(keys, dtype=np.int64))
    return dict(zip(np.array(keys)[found].tolist(), matrix))


def test_the_row_map_in_memory_follows_every_write(tmp_path):
    conn = sqlite3.connect(tmp_path / "ids.sqlite")
    raw = RawVectors(str(tmp_path), DIM, conn)
    rng = random.Random(5)
    vecs = np.random.default_rng(5)
    present: dict[int, np.ndarray] = {}
    for step in range(60):
        op = rng.choice(["append", "append", "forget", "rewrite"] if step % 7 else ["append"])
        if op == "append":  # new keys and replacements of existing ones
            keys = rng.sample(range(1, 200), rng.randint(1, 12))
            rows = vecs.normal(size=(len(keys), DIM)).astype(np.float32)
            raw.append(np.array(keys, dtype=np.int64), rows)
            present.update(zip(keys, rows))
        elif op == "forget" and present:
            gone = rng.sample(sorted(present), min(len(present), rng.randint(1, 5)))
            raw.forget(gone)
            for k in gone:
                present.pop(k)
        elif op == "rewrite" and present:
            keys = sorted(present)
            raw.rewrite(np.array(keys, dtype=np.int64), np.stack([present[k] for k in keys]))
        asked = rng.sample(range(0, 210), 40)
        found, matrix = raw.get(np.array(asked, dtype=np.int64))
        got = dict(zip(np.array(asked)[found].tolist(), matrix))
        assert set(got) == {k for k in asked if k in present} == set(truth(conn, str(tmp_path), asked))
        for k, row in got.items():
            np.testing.assert_array_equal(row, present[k])


def test_a_reader_sees_another_writers_vectors_after_reload(tmp_path):
    """Two stores on one folder (as two processes): the reader's map is dropped by ``reload``."""
    uri = "faiss://index?ann=on&nprobe=4"
    rng = np.random.default_rng(1)
    first = rng.normal(size=(100, DIM)).astype(np.float32)  # past ann.MIN_TRAIN: an sq8 IVF
    first /= np.linalg.norm(first, axis=1, keepdims=True)
    ids = [f"{n:016x}" + "0" * 48 for n in range(1, 101)]
    writer = FaissStore(uri, DIM, str(tmp_path))
    writer.add(ids, first)
    writer.flush()
    reader = FaissStore(uri, DIM, str(tmp_path))
    assert reader.is_sq8 and reader.search(first[3], 1)[0].id == ids[3]  # loads the reader's row map
    moved = -first[3]  # replace chunk 3's vector and delete chunk 5, in the writer
    writer.add([ids[3]], moved[None, :])
    writer.delete([ids[5]])
    writer.flush()
    reader.reload()
    top = reader.search(moved, 1)[0]
    assert top.id == ids[3] and abs(top.score - 1.0) < 1e-5
    assert ids[5] not in {h.id for h in reader.search(first[5], 100)}
    writer.close()
    reader.close()


def test_a_file_rewritten_by_another_process_is_never_read_with_the_old_row_map(tmp_path):
    """Between another writer's rewrite and this process's reload, rows are looked up in the new file's map."""
    mine = RawVectors(str(tmp_path), DIM, sqlite3.connect(tmp_path / "ids.sqlite"))
    other = RawVectors(str(tmp_path), DIM, sqlite3.connect(tmp_path / "ids.sqlite"))
    vecs = np.random.default_rng(2).normal(size=(6, DIM)).astype(np.float32)
    mine.append(np.arange(1, 6, dtype=np.int64), vecs[:5])
    assert mine.get(np.array([3]))[0].all()  # the map is loaded
    other.rewrite(np.array([5, 3], dtype=np.int64), np.stack([vecs[4], vecs[5]]))  # key 3 now at row 1, new file
    found, matrix = mine.get(np.array([3, 5, 1], dtype=np.int64))
    assert found.tolist() == [True, True, False]
    np.testing.assert_array_equal(matrix, np.stack([vecs[5], vecs[4]]))
