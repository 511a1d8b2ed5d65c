"""Ingestion on real components: packaged MiniLM, FAISS and Chroma files on disk, SQLite."""
from __future__ import annotations

import json
import time

import pytest

from localkb import KnowledgeBase
from localkb.errors import ConfigError, IngestError, KBNotFound, UnknownBackend

STORES = ["faiss", "chroma"]

GLOSSARY = (
    "IBE stands for Inbound Exception. An IBE is raised when a shipment arrives damaged at the dock.\n\n"
    "OBE stands for Outbound Exception. An OBE is raised when an order cannot leave the warehouse."
)


def consistent(kb: KnowledgeBase) -> bool:
    return kb.store.ids() == kb.db.chunk_ids()


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "glossary.md").write_text(GLOSSARY, encoding="utf-8")
    (root / "zh.txt").write_text("知识库把文档切成小块。三国演义是中国古典小说，讲述魏蜀吴三国的故事。", encoding="utf-8")
    (root / "notes.txt").write_text("The warehouse opens at six. Trucks unload at the north dock.", encoding="utf-8")
    sub = root / "sub"
    sub.mkdir()
    (sub / "rows.csv").write_text("code,meaning\nAUS,Australia\nAUT,Austria\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("store", STORES)
def test_ingest_is_idempotent(tmp_path, corpus, store):
    with KnowledgeBase.open(tmp_path / "kb", store=store, create=True) as kb:
        first = kb.ingest([corpus])
        assert (first.added, first.updated, first.unchanged, first.removed) == (4, 0, 0, 0)
        assert first.skipped == []
        assert first.chunks == kb.store.count() > 0
        again = kb.ingest([corpus])
        assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 4, 0)
        assert again.chunks == first.chunks == kb.store.count()
        assert consistent(kb)
    # and across processes' worth of reopening: still nothing to do, vectors persisted
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        assert kb.store.count() == first.chunks
        assert kb.ingest([corpus]).embedded == 0


@pytest.mark.parametrize("store", STORES)
def test_changed_file_replaces_exactly_its_chunks(tmp_path, corpus, store):
    with KnowledgeBase.open(tmp_path / "kb", store=store, create=True) as kb:
        kb.ingest([corpus])
        before = {d["source"]: kb.document_chunks(d["id"]) for d in kb.documents()}
        (corpus / "notes.txt").write_text("The warehouse now opens at seven.", encoding="utf-8")
        report = kb.ingest([corpus])
        assert (report.updated, report.unchanged, report.added) == (1, 3, 0)
        assert report.embedded == 1
        after = {d["source"]: kb.document_chunks(d["id"]) for d in kb.documents()}
        notes = [s for s in after if s.endswith("notes.txt")][0]
        assert [c["text"] for c in after[notes]] == ["The warehouse now opens at seven."]
        for source in after:
            if source != notes:
                assert [c["id"] for c in after[source]] == [c["id"] for c in before[source]]
        old_ids = {c["id"] for c in before[notes]}
        assert not old_ids & kb.store.ids()  # the old chunk's vector is gone
        assert consistent(kb)
        hit = kb.search("When does the warehouse open?", k=1).hits[0]
        assert "seven" in hit.text


@pytest.mark.parametrize("store", STORES)
def test_deleted_file_is_pruned_by_default(tmp_path, corpus, store):
    with KnowledgeBase.open(tmp_path / "kb", store=store, create=True) as kb:
        kb.ingest([corpus])
        (corpus / "sub" / "rows.csv").unlink()
        kept = kb.ingest([corpus], prune=False)
        assert kept.removed == 0 and len(kb.documents()) == 4
        report = kb.ingest([corpus])
        assert report.removed == 1
        assert not any(d["source"].endswith("rows.csv") for d in kb.documents())
        assert all("Austria" not in h.text for h in kb.search("Austria", k=10).hits)
        assert consistent(kb)


def test_same_text_in_two_files_is_stored_once_with_both_sources(tmp_path, corpus):
    (corpus / "copy.md").write_text(GLOSSARY, encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([corpus])
        hits = kb.search("What is an inbound exception?", k=3).hits
        top = hits[0]
        assert sorted(s.rsplit("/", 1)[-1] for s in top.sources) == ["copy.md", "glossary.md"]
        assert len({h.id for h in hits}) == len(hits)
        assert kb.db.scalar("SELECT COUNT(*) FROM chunks WHERE text LIKE '%Inbound Exception%'") == 1
        # removing one copy keeps the chunk for the other
        (corpus / "copy.md").unlink()
        kb.ingest([corpus])
        top = kb.search("What is an inbound exception?", k=1).hits[0]
        assert [s.rsplit("/", 1)[-1] for s in top.sources] == ["glossary.md"]
        assert consistent(kb)


@pytest.mark.parametrize("store", STORES)
def test_tag_filter_is_really_applied(tmp_path, corpus, store):
    other = tmp_path / "other"
    other.mkdir()
    (other / "ibe.txt").write_text("IBE: Inbound Exception handling manual, chapter two.", encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", store=store, create=True) as kb:
        kb.ingest([corpus], tags=["glossary"])
        kb.ingest([other], tags=["manual"])
        hits = kb.search("Inbound Exception", k=10, tags=["manual"]).hits
        assert hits and all(h.tags == ["manual"] for h in hits)
        assert all(h.source.endswith("ibe.txt") for h in hits)
        none = kb.search("Inbound Exception", k=10, tags=["nonexistent"])
        assert none.hits == [] and "nonexistent" in (none.reason or "")


def test_search_scores_are_higher_is_better_cosine(tmp_path, corpus):
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([corpus])
        res = kb.search("What does IBE stand for?", k=5, mode="dense")
        scores = [h.score for h in res.hits]
        assert scores == sorted(scores, reverse=True)
        assert all(-1.0 <= s <= 1.0001 for s in scores)
        assert res.hits[0].source.endswith("glossary.md")
        assert res.hits[0].scores["dense"] == pytest.approx(scores[0])
        high = kb.search("What does IBE stand for?", k=5, mode="dense", min_score=0.99)
        assert high.hits == [] and high.reason


def test_open_missing_kb_without_create(tmp_path):
    with pytest.raises(KBNotFound):
        KnowledgeBase.open(tmp_path / "nope", create=False)


def test_misspelt_store_gets_did_you_mean(tmp_path):
    with pytest.raises(UnknownBackend, match="Did you mean 'faiss'"):
        KnowledgeBase.open(tmp_path / "kb", store="fiass", create=True)
    assert not (tmp_path / "kb" / "manifest.json").exists()


def test_store_is_fixed_at_creation(tmp_path, corpus):
    KnowledgeBase.open(tmp_path / "kb", store="faiss", create=True).close()
    with pytest.raises(ConfigError, match="migrate"):
        KnowledgeBase.open(tmp_path / "kb", store="chroma", create=True)


def test_nothing_to_ingest_is_an_error(tmp_path):
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        with pytest.raises(IngestError):
            kb.ingest([])


def test_missing_path_is_skipped_not_fatal(tmp_path, corpus):
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        report = kb.ingest([corpus, tmp_path / "does-not-exist"])
        assert report.added == 4
        assert [s.error for s in report.skipped] == ["no such file or directory"]


def test_enrich_with_tags_changes_what_is_embedded(tmp_path, corpus):
    with KnowledgeBase.open(tmp_path / "kb", enrich=["tags"], create=True) as kb:
        kb.ingest([corpus / "notes.txt"], tags=["logistics"])
        chunk = kb.document_chunks(kb.documents()[0]["id"])[0]
        assert chunk["embed_text"].startswith("[tags: logistics]")
        assert chunk["text"].startswith("The warehouse")
        assert json.loads((tmp_path / "kb" / "manifest.json").read_text())["enrich"] == ["tags"]


def test_stats_reports_model_store_counts_bytes(tmp_path, corpus):
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([corpus], tags=["t1"])
        s = kb.stats()
    assert s["documents"] == 4 and s["chunks"] == s["vectors"] > 0
    assert s["model"] == "sentence-transformers/all-MiniLM-L6-v2" and s["dim"] == 384
    assert s["store"] == "faiss://index" and s["bytes"] > 0
    assert s["tags"] == {"t1": 4} and s["formats"]["csv"] == 1


def test_reingest_of_unchanged_corpus_is_fast(tmp_path, corpus):
    for i in range(50):
        (corpus / f"extra{i}.txt").write_text(f"Document {i} talks about topic {i * 7}.", encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([corpus])
        t0 = time.perf_counter()
        report = kb.ingest([corpus])
        assert report.unchanged == 54 and report.embedded == 0
        assert time.perf_counter() - t0 < 5  # generous: hashing 54 small files
