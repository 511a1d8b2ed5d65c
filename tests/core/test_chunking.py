"""Chunking follows paragraphs and sentences, in English and Chinese (pure logic)."""
from __future__ import annotations

from pathlib import Path

import pytest

from localkb.ingest.chunking import ChunkSettings, chunks_for, split_text, units


def test_short_text_is_one_chunk():
    assert split_text("One sentence. Two sentences.") == ["One sentence. Two sentences."]


def test_empty_text_gives_no_chunks():
    assert split_text("") == []
    assert split_text("\n\n   \n") == []


def test_chunks_respect_size_and_never_cut_words():
    words = [f"word{i}" for i in range(1000)]
    text = ". ".join(" ".join(words[i:i + 10]) for i in range(0, 1000, 10)) + "."
    chunks = split_text(text, ChunkSettings(size=50, overlap=10))
    assert len(chunks) > 10
    assert all(units(c) <= 50 for c in chunks)
    seen = {w.strip(".") for c in chunks for w in c.split()}
    assert seen == set(words)  # every word survives whole


def test_sentences_are_not_split_when_they_fit():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    for chunk in split_text(text, ChunkSettings(size=30, overlap=0)):
        assert chunk.startswith("Sentence number") and chunk.endswith("here.")


def test_chinese_cuts_at_sentence_ends():
    text = "".join(f"这是第{i}句话，它说明了一个事实。" for i in range(60))
    chunks = split_text(text, ChunkSettings(size=40, overlap=0))
    assert len(chunks) > 5
    assert all(c.endswith("。") for c in chunks)
    assert all(units(c) <= 40 for c in chunks)


def test_long_chinese_sentence_cuts_at_clause_marks():
    text = "，".join("这是一个很长的分句" for _ in range(30)) + "。"
    chunks = split_text(text, ChunkSettings(size=40, overlap=0))
    assert len(chunks) > 2
    assert all(c.endswith(("，", "。")) for c in chunks)


def test_overlap_carries_trailing_sentences():
    text = " ".join(f"Fact {i} is true." for i in range(30))
    chunks = split_text(text, ChunkSettings(size=20, overlap=8))
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:]):
        assert a.split(". ")[-1].rstrip(".") in b  # the last sentence of a chunk opens the next


def test_paragraph_breaks_are_kept():
    chunks = split_text("First para.\n\nSecond para.", ChunkSettings(size=100, overlap=0))
    assert chunks == ["First para.\n\nSecond para."]


def test_records_keep_their_lines():
    text = "name: Alice\nrole: engineer\n\nname: Bob\nrole: analyst"
    assert split_text(text) == ["name: Alice\nrole: engineer\n\nname: Bob\nrole: analyst"]


@pytest.mark.parametrize("size,overlap", [(8, 0), (100, 60)])
def test_bad_settings_are_refused(size, overlap):
    with pytest.raises(ValueError):
        ChunkSettings(size=size, overlap=overlap)


def test_a_counter_measures_the_size():
    text = " ".join(f"Antidisestablishmentarianism number {i}." for i in range(40))
    pieces = lambda s: 3 * len(s.split())  # noqa: E731 - every word is three "model tokens"
    chunks = split_text(text, ChunkSettings(size=60, overlap=0), count=pieces)
    assert len(chunks) > 2 and all(pieces(c) <= 60 for c in chunks)


def test_a_word_longer_than_a_chunk_is_cut_not_kept_whole():
    code = "X" * 300
    chunks = split_text(f"Start. {code} end.", ChunkSettings(size=20, overlap=0), count=len)
    assert all(len(c) <= 20 for c in chunks)
    assert "".join(c.replace(" ", "") for c in chunks).count("X") == 300


# -- with the real model's tokenizer (the packaged MiniLM) ---------------------------------------------------
CORPUS = Path(__file__).resolve().parents[2] / "examples" / "corpus"


def test_no_bundled_chunk_exceeds_the_models_window_with_enrichment(tmp_path, embedder):
    from localkb import KnowledgeBase

    with KnowledgeBase.open(tmp_path / "kb", enrich=["title", "source", "tags", "meta.author"], create=True) as kb:
        kb.ingest([CORPUS], tags=["warehouse-operations", "larkspur-freight-bundled-example"])
        window = kb.embedder.max_tokens
        assert window == 254  # MiniLM's 256 minus [CLS] and [SEP]
        rows = kb.db.query("SELECT text, embed_text FROM chunks")
        sizes = [embedder.count_tokens(r["embed_text"]) for r in rows]
        assert len(rows) > 30 and max(sizes) <= window, sorted(sizes)[-5:]
        assert all("warehouse-operations]" in r["embed_text"] for r in rows)  # the prefix is in what was counted
        info = kb.stats()["chunking"]
        assert info["unit"] == "model-tokens" and info["current"] and info["tokenizer"] == kb.manifest.model_id


def test_chinese_chunks_end_at_clause_marks_with_the_real_tokenizer(embedder):
    text = "".join(f"第{i}批货物在码头卸货时发现破损，收货员立即登记入库异常；主管在两小时内处理。" for i in range(40))
    chunks = chunks_for(text, "[title: 入库]\n", ChunkSettings(size=120, overlap=20), embedder.count_tokens,
                        embedder.max_tokens)
    assert len(chunks) > 3
    assert all(c.endswith(("。", "；", "，")) for c in chunks)
    assert all(embedder.count_tokens("[title: 入库]\n" + c) <= 254 for c in chunks)


def test_a_kb_built_before_token_chunking_opens_searches_and_is_rechunked(tmp_path, embedder):
    import json

    from localkb import KnowledgeBase

    folder = tmp_path / "kb"
    with KnowledgeBase.open(folder, create=True) as kb:
        kb.ingest([CORPUS / "exception-handling.pdf", CORPUS / "onboarding.txt"])
    # make it look like a KB written before this change: no chunk_unit / chunk_recipe keys, 180 words
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for key in ("chunk_unit", "chunk_recipe"):
        manifest.pop(key)
    manifest["chunk_size"] = 180
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with KnowledgeBase.open(folder, create=False) as kb:
        info = kb.stats()["chunking"]
        assert (info["unit"], info["recipe"], info["current"]) == ("words", "sentences-v1", False)
        assert "re-chunks" in info["note"]
        assert kb.search("IBE").hits  # it still searches
        report = kb.ingest([CORPUS / "exception-handling.pdf"])
        assert report.updated == 1
        assert any("re-chunked 1 document" in n and "180 words" in n for n in report.notes), report.notes
        assert any("1 document(s) still have chunks from an older recipe" in n for n in report.notes)
        assert kb.stats()["chunking"]["documents_to_rechunk"] == 1
        kb.ingest([CORPUS / "onboarding.txt"])
        info = kb.stats()["chunking"]
        assert (info["unit"], info["size"], info["current"]) == ("model-tokens", 240, True)
    saved = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert saved["chunk_unit"] == "model-tokens" and "rechunk_pending" not in saved["extra"]
