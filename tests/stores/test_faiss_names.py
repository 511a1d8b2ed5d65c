"""The FAISS key → chunk id map held as sorted numpy arrays (issue 18: no Python object per chunk)."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from localkb.stores import faiss_names
from localkb.stores.base import vid
from localkb.stores.faiss_names import Names


def _table(ids: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE ids (vid INTEGER PRIMARY KEY, id TEXT NOT NULL)")
    conn.executemany("INSERT INTO ids VALUES (?, ?)", [(vid(i), i) for i in ids])
    return conn


def test_names_read_added_and_folded_equal_a_dict(monkeypatch):
    monkeypatch.setattr(faiss_names, "FOLD", 7)  # fold often: the arrays are rebuilt several times
    rng = np.random.default_rng(18)
    ids = [rng.bytes(32).hex() for _ in range(50)]
    names = Names(_table(ids[:20]))
    oracle = {vid(i): i for i in ids[:20]}
    for i in ids[20:]:
        names[vid(i)] = i
        oracle[vid(i)] = i
    names[vid(ids[3])] = ids[3]  # added again (an upsert of the same chunk)
    keys = np.array(sorted(oracle), dtype=np.int64)
    assert names.names(keys) == [oracle[k] for k in keys.tolist()]
    assert all(names[k] == v for k, v in oracle.items())
    with pytest.raises(KeyError):
        names[12345]
    with pytest.raises(KeyError):
        names.names(np.array([keys[0], 12345]))


def test_an_empty_table():
    names = Names(_table([]))
    assert names.names(np.zeros(0, dtype=np.int64)) == []
    names[5] = "0" * 64
    assert names.names(np.array([5])) == ["0" * 64]
