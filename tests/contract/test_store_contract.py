"""The store contract: every backend behaves like the exact oracle (see conftest.BACKENDS)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from localkb.errors import StoreError
from localkb.stores.base import VectorStore


def _ids(hits):
    return [h.id for h in hits]


def test_is_a_vector_store(open_store):
    store = open_store()
    assert isinstance(store, VectorStore)
    assert store.supports_filters is True
    assert store.dim == 384
    kind = store.describe()["kind"]  # what `localkb stats` shows as the vector index
    assert isinstance(kind, str) and kind


def test_empty_store(open_store, corpus):
    store = open_store()
    assert store.count() == 0
    assert store.ids() == set()
    assert store.search(corpus.queries[0], 10) == []
    assert store.search(corpus.queries[0], 10, allowed={corpus.ids[0]}) == []


def test_add_count_ids_and_scores(open_store, corpus):
    store = open_store()
    store.add(corpus.ids, corpus.vectors)
    assert store.count() == len(corpus.ids)
    assert store.ids() == set(corpus.ids)
    hits = store.search(corpus.vectors[5], 5)
    assert hits[0].id == corpus.ids[5]
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)  # cosine similarity, higher is better
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].distance == pytest.approx(0.0, abs=1e-3)


def test_readd_is_an_upsert_without_duplicates(open_store, corpus):
    store = open_store()
    store.add(corpus.ids[:100], corpus.vectors[:100])
    store.add(corpus.ids[:150], corpus.vectors[:150])  # 100 again + 50 new
    store.add(corpus.ids[:100], corpus.vectors[:100])
    assert store.count() == 150
    hits = store.search(corpus.vectors[3], 50)
    assert len(_ids(hits)) == len(set(_ids(hits))) == 50


def test_update_replaces_the_vector(open_store, corpus):
    store = open_store()
    store.add(corpus.ids[:50], corpus.vectors[:50])
    target = corpus.ids[0]
    store.add([target], corpus.vectors[100:101])  # same id, the vector of another sentence
    assert store.count() == 50
    top = store.search(corpus.vectors[100], 1)[0]
    assert (top.id, round(top.score, 3)) == (target, 1.0)
    assert all(h.id != target or h.score < 0.999 for h in store.search(corpus.vectors[0], 5))


def test_delete_then_search(open_store, corpus):
    store = open_store()
    store.add(corpus.ids, corpus.vectors)
    gone = corpus.ids[:40]
    store.delete(gone)
    store.delete(["0" * 64])  # unknown ids are ignored
    assert store.count() == len(corpus.ids) - 40
    assert store.ids() == set(corpus.ids[40:])
    for i in range(0, 40, 7):
        hits = store.search(corpus.vectors[i], 20)
        assert not set(_ids(hits)) & set(gone)
    store.add(gone[:1], corpus.vectors[:1])  # a deleted id can come back
    assert store.search(corpus.vectors[0], 1)[0].id == gone[0]


def test_allowed_ids_filter_is_applied(open_store, oracle, corpus):
    store = open_store()
    store.add(corpus.ids, corpus.vectors)
    oracle.add(corpus.ids, corpus.vectors)
    allowed = set(corpus.ids[::9])  # 40 ids scattered over the corpus
    for q in corpus.queries[:8]:
        got = store.search(q, 10, allowed=allowed)
        assert len(got) == 10 and set(_ids(got)) <= allowed
        assert _ids(got) == _ids(oracle.search(q, 10, allowed=allowed))
    few = {corpus.ids[2], corpus.ids[200], "f" * 64}  # an unknown id in the allow-list is harmless
    assert set(_ids(store.search(corpus.queries[0], 10, allowed=few))) == {corpus.ids[2], corpus.ids[200]}
    assert store.search(corpus.queries[0], 10, allowed=set()) == []


def test_k_larger_than_the_store(open_store, corpus):
    store = open_store()
    store.add(corpus.ids[:7], corpus.vectors[:7])
    assert sorted(_ids(store.search(corpus.queries[0], 100))) == sorted(corpus.ids[:7])
    assert store.search(corpus.queries[0], 0) == []


def test_wrong_dimension_is_a_store_error(open_store, corpus):
    store = open_store()
    with pytest.raises(StoreError, match="dimension"):
        store.add(corpus.ids[:2], np.ones((2, 128), dtype=np.float32))
    with pytest.raises(StoreError):
        store.add(corpus.ids[:3], corpus.vectors[:2])
    store.add(corpus.ids[:2], corpus.vectors[:2])
    with pytest.raises(StoreError, match="dimension"):
        store.search(np.ones(128, dtype=np.float32), 3)
    assert store.count() == 2
    store.close()
    with pytest.raises(StoreError):  # reopening the same data as another dimension
        open_store(dim=128)


def test_save_reopen_same_results(open_store, corpus):
    store = open_store()
    store.add(corpus.ids, corpus.vectors)
    store.delete(corpus.ids[:10])
    before = [store.search(q, 10) for q in corpus.queries[:10]]
    store.flush()
    store.close()
    again = open_store()
    assert again.count() == len(corpus.ids) - 10
    assert again.ids() == set(corpus.ids[10:])
    after = [again.search(q, 10) for q in corpus.queries[:10]]
    assert [_ids(h) for h in after] == [_ids(h) for h in before]
    for a, b in zip(after, before):
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-5)


def test_recall_at_10_against_exact(open_store, oracle, corpus):
    store = open_store()
    store.add(corpus.ids, corpus.vectors)
    oracle.add(corpus.ids, corpus.vectors)
    found = total = 0
    for q in corpus.queries:
        truth = set(_ids(oracle.search(q, 10)))
        found += len(truth & set(_ids(store.search(q, 10))))
        total += len(truth)
    assert found / total >= 0.95


def test_get_vectors_returns_what_was_added(open_store, corpus):
    store = open_store()
    store.add(corpus.ids[:60], corpus.vectors[:60])
    order = [corpus.ids[i] for i in (59, 0, 31)]
    got = store.get_vectors(order)
    assert got.dtype == np.float32 and got.shape == (3, 384)
    np.testing.assert_allclose(got, corpus.vectors[[59, 0, 31]], atol=1e-6)
    assert store.get_vectors([]).shape == (0, 384)
    with pytest.raises(StoreError):
        store.get_vectors([corpus.ids[100]])


def test_faiss_switches_to_ivf_by_size_and_keeps_upsert_delete(tmp_path, oracle, corpus):
    """Issue 18: exact below the threshold, IVF above it (recorded in ann.json), recall@10 reported."""
    from localkb.stores.faiss_store import FaissStore

    uri = "faiss://index?ann_threshold=200"
    store = FaissStore(uri, 384, base_dir=str(tmp_path))
    store.add(corpus.ids[:150], corpus.vectors[:150])
    assert not store.is_ann and store.describe()["kind"] == "exact (flat)"
    store.add(corpus.ids, corpus.vectors)  # 150 again (upsert) + the rest: crosses the threshold
    assert store.is_ann and store.count() == len(corpus.ids) and store.ids() == set(corpus.ids)
    info = store.describe()
    assert info["kind"] == "ivf-sq8" and info["recall_at_10"] >= 0.95 and info["rerank"] >= 2
    store.add([corpus.ids[0]], corpus.vectors[100:101])  # update in place
    store.delete(corpus.ids[1:11])
    assert store.count() == len(corpus.ids) - 10 and corpus.ids[1] not in store.ids()
    top = store.search(corpus.vectors[100], 2)
    assert {h.id for h in top} == {corpus.ids[0], corpus.ids[100]}
    np.testing.assert_allclose(store.get_vectors([corpus.ids[0]])[0], corpus.vectors[100], atol=1e-6)
    store.flush()
    store.close()
    again = FaissStore(uri, 384, base_dir=str(tmp_path))
    assert again.is_ann and again.count() == len(corpus.ids) - 10
    assert json.loads((tmp_path / "index" / "ann.json").read_text())["kind"] == "ivf-sq8"
    oracle.add(corpus.ids[11:], corpus.vectors[11:])
    found = sum(len(set(_ids(oracle.search(q, 10))) & set(_ids(again.search(q, 10)))) for q in corpus.queries)
    assert found / (10 * len(corpus.queries)) >= 0.95
    with pytest.raises(StoreError, match="Unknown FAISS store parameter"):
        FaissStore("faiss://index?anns=on", 384, base_dir=str(tmp_path))


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_kb_with_an_unreadable_or_missing_faiss_index_rebuilds_it_and_says_so(tmp_path, damage):
    from localkb import KnowledgeBase

    doc = tmp_path / "d.txt"
    doc.write_text("The numbat eats termites.\n\nThe canteen opens at noon.", encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", store="faiss://index?ann=on", create=True) as kb:
        kb.ingest([doc])
        n = kb.store.count()
    index = tmp_path / "kb" / "index" / "index.faiss"
    if damage == "garbage":
        index.write_bytes(b"\x00not a faiss index" * 10)
    else:
        index.unlink()
    with KnowledgeBase.open(tmp_path / "kb", create=False) as kb:
        notes = " ".join(kb.take_notes())
        assert kb.store.count() == n and "re-embedded from chunks.sqlite" in notes
        assert ("was unreadable" in notes) == (damage == "garbage")
        assert kb.search("what do numbats eat", k=1, mode="dense").hits[0].text.startswith("The numbat")


def test_faiss_flush_costs_the_change_a_journal_replayed_on_open(tmp_path, corpus):
    """Issue 18: a flush of a few changes writes a small journal, not the whole index; reopening replays it
    (upsert, update, delete); past ``JOURNAL_SHARE`` the journals fold into index.faiss; a damaged journal
    is set aside and said so, and the store starts empty (the KB re-embeds from chunks.sqlite)."""
    from localkb.stores import faiss_store
    from localkb.stores.faiss_store import FaissStore

    uri, folder = "faiss://index?ann=on&nprobe=16", tmp_path / "index"
    store = FaissStore(uri, 384, base_dir=str(tmp_path))
    store.add(corpus.ids[:300], corpus.vectors[:300])
    store.flush()
    index = folder / "index.faiss"
    before = (index.stat().st_mtime_ns, index.stat().st_size)
    store.add(corpus.ids[300:305], corpus.vectors[300:305])
    store.add([corpus.ids[0]], corpus.vectors[100:101])  # update in place
    store.delete(corpus.ids[1:4])
    store.flush()
    journals = sorted(folder.glob("journal-*.npz"))
    assert (index.stat().st_mtime_ns, index.stat().st_size) == before and len(journals) == 1
    assert journals[0].stat().st_size < before[1] / 10
    wanted = [store.search(q, 10) for q in corpus.queries]
    store.close()
    again = FaissStore(uri, 384, base_dir=str(tmp_path))
    assert again.count() == 302 and again.ids() == set(corpus.ids[:305]) - set(corpus.ids[1:4])
    np.testing.assert_allclose(again.get_vectors([corpus.ids[0]])[0], corpus.vectors[100], atol=1e-6)
    assert [_ids(again.search(q, 10)) for q in corpus.queries] == [_ids(h) for h in wanted]
    more = int(faiss_store.JOURNAL_SHARE * 302) + 1  # enough rows to pass the share: fold
    again.add(corpus.ids[305:305 + more], corpus.vectors[305:305 + more])
    again.flush()
    assert not list(folder.glob("journal-*.npz")) and index.stat().st_mtime_ns != before[0]
    again.add(corpus.ids[1:2], corpus.vectors[1:2])
    again.flush()
    again.close()
    (journal,) = folder.glob("journal-*.npz")
    journal.write_bytes(b"not a journal")
    damaged = FaissStore(uri, 384, base_dir=str(tmp_path))
    assert damaged.count() == 0 and "journal" in " ".join(damaged.notes) and "unreadable" in " ".join(damaged.notes)
    assert not list(folder.glob("journal-*.npz"))
    damaged.close()
