"""Chunking follows paragraphs and sentences, in English and Chinese (pure logic)."""
from __future__ import annotations

import pytest

from localkb.ingest.chunking import ChunkSettings, split_text, units


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
