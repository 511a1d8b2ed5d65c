"""What a user meant: a mistyped path creates nothing, re-ingesting keeps tags, enrich names real fields."""
from __future__ import annotations

import json

import pytest

from localkb import KnowledgeBase
from localkb.errors import ConfigError, IngestError, KBNotFound
from tests.conftest import EXAMPLES, run_cli


def test_ingest_of_only_mistyped_paths_fails_before_creating_a_kb(tmp_path):
    kb = tmp_path / "kb"
    proc = run_cli("ingest", str(tmp_path / "docz"), str(tmp_path / "notes.txtt"), "--kb", str(kb))
    assert proc.returncode == 1 and "no such file or folder" in proc.stderr and "Traceback" not in proc.stderr
    assert not kb.exists()  # no KB, so no model fixed by a typo
    with KnowledgeBase.open(kb, create=True) as base, pytest.raises(IngestError, match="no such file"):
        base.ingest([tmp_path / "typo"])


def test_open_of_a_missing_folder_creates_nothing_unless_asked(tmp_path):
    with pytest.raises(KBNotFound, match="No knowledge base"):
        KnowledgeBase.open(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()
    KnowledgeBase.open(tmp_path / "kb", create=True).close()
    assert (tmp_path / "kb" / "manifest.json").exists()


def test_reingest_keeps_tags_unless_retag(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Inbound exceptions are logged within thirty minutes.", encoding="utf-8")
    kb = str(tmp_path / "kb")
    assert run_cli("ingest", str(docs), "--kb", kb, "--tag", "ops").returncode == 0
    again = json.loads(run_cli("ingest", str(docs), "--kb", kb, "--json").stdout)
    assert (again["unchanged"], again["updated"]) == (1, 0)  # nothing silently re-tagged
    more = json.loads(run_cli("ingest", str(docs), "--kb", kb, "--tag", "manual", "--json").stdout)
    assert more["updated"] == 1
    with KnowledgeBase.open(kb) as base:
        assert base.documents()[0]["tags"] == ["manual", "ops"]
    assert run_cli("ingest", str(docs), "--kb", kb, "--retag", "--tag", "x").returncode == 0
    with KnowledgeBase.open(kb) as base:
        assert base.documents()[0]["tags"] == ["x"]


def test_enrich_meta_names_a_field_a_loader_produces(tmp_path):
    with pytest.raises(ConfigError, match=r"No loader produces meta\.authr.*meta\.author \(pdf, docx, html\)"):
        KnowledgeBase.open(tmp_path / "bad", create=True, enrich=["meta.authr"])
    assert not (tmp_path / "bad" / "manifest.json").exists()
    corpus = EXAMPLES / "corpus"
    with KnowledgeBase.open(tmp_path / "kb", create=True, enrich=["meta.author", "meta.pages"]) as kb:
        kb.ingest([corpus / "exception-handling.pdf", corpus / "release-notes-2.4.docx", corpus / "onboarding.txt"])
        firsts = {d["format"]: kb.document_chunks(d["id"])[0]["embed_text"] for d in kb.documents()}
    assert firsts["pdf"].startswith("[author: localkb examples (CC0)] [pages: 3]\n")
    assert firsts["docx"].startswith("[author: localkb examples (CC0)]\n")
    assert not firsts["txt"].startswith("[")  # a text file has no author: nothing invented
