"""Loaders on real files: every format of the bundled corpus, and real broken inputs."""
from __future__ import annotations

import os

import pytest

from localkb import KnowledgeBase
from localkb.errors import LoaderError
from localkb.ingest.loaders import load

from ..conftest import EXAMPLES, FIXTURES

CORPUS = EXAMPLES / "corpus"
BAD = FIXTURES / "bad_files"


def read(path):
    return load(path, path.read_bytes())


def test_corpus_has_every_supported_format():
    formats = {p.suffix for p in CORPUS.iterdir()}
    assert {".txt", ".md", ".pdf", ".docx", ".html", ".csv", ".json"} <= formats


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_every_example_loads_with_text(name):
    loaded = read(CORPUS / name)
    assert len(loaded.text) > 100
    assert "\x00" not in loaded.text


def test_gb18030_chinese_is_decoded():
    text = read(CORPUS / "sanguo-chapter1.gb18030.txt").text
    assert "桃园" in text or "刘备" in text


def test_gbk_and_latin1_are_decoded():
    assert "入库异常" in read(BAD / "gbk-chinese.txt").text
    latin = read(BAD / "latin1.txt").text
    assert "Procédure de réception" in latin and "Größere" in latin


def test_html_keeps_visible_text_only():
    with pytest.raises(LoaderError, match="no text"):
        read(BAD / "only-script.html")


@pytest.mark.parametrize("name,reason", [
    ("binary.txt", "binary"),
    ("truncated.pdf", "PDF"),
    ("empty.md", "empty"),
    ("not-a-zip.docx", "docx"),
    ("malformed.json", "line"),
])
def test_broken_files_raise_a_clear_reason(name, reason):
    with pytest.raises(LoaderError) as err:
        read(BAD / name)
    assert reason.lower() in err.value.message.lower()


def test_ragged_csv_is_ingested_tolerantly():
    assert read(BAD / "ragged.csv").text.strip()


def test_bad_files_are_skipped_and_good_files_still_ingested(tmp_path):
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as fh:  # 3 MB of text; the limit below is 1 MB
        fh.write(b"big file line\n" * 220_000)
    unreadable = tmp_path / "secret.txt"
    unreadable.write_text("secret")
    os.chmod(unreadable, 0)
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        report = kb.ingest([CORPUS, BAD, huge, unreadable], max_file_mb=1)
        skipped = {os.path.basename(s.path): s.error for s in report.skipped}
        assert set(skipped) >= {"binary.txt", "truncated.pdf", "empty.md", "not-a-zip.docx", "malformed.json",
                                "only-script.html", "huge.txt"}
        assert "too large" in skipped["huge.txt"]
        if os.geteuid() != 0:  # root can read anything
            assert "permission" in skipped["secret.txt"]
        sources = {os.path.basename(d["source"]) for d in kb.documents()}
        assert {p.name for p in CORPUS.iterdir()} <= sources
        assert {"gbk-chinese.txt", "latin1.txt", "ragged.csv"} <= sources
        assert not any("tracking-id-0000" in c for c in (r[0] for r in kb.db.query("SELECT text FROM chunks")))
        # skipped files leave nothing behind, and a second run skips them again without side effects
        again = kb.ingest([CORPUS, BAD, huge], max_file_mb=1)
        assert again.embedded == 0 and again.added == 0


@pytest.mark.parametrize("name,expected", [
    ("latin1-short.txt", "A naïve approach: Größere Lieferungen."),
    ("cp1252-quotes.txt", "“Déjà vu”, she said — the café’s crème brûlée costs 5 €."),
])
def test_short_western_text_is_decoded_exactly(name, expected):
    """Issue 12, defect 6: short Latin-1 text came out as 'naďve' (cp1250) or with a stray CJK character."""
    assert read(BAD / name).text.strip() == expected
