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


def test_enrich_meta_works_for_every_loader_that_has_the_field(tmp_path):
    """``--enrich meta.X`` prepends X for every loader that records it: pdf/docx/html author, pdf pages,
    a CSV column's values, a JSON key's values; ``title`` for md/html/pdf/docx titles."""
    corpus = EXAMPLES / "corpus"
    fields = ["title", "meta.author", "meta.pages", "meta.team", "meta.codes.code"]
    with KnowledgeBase.open(tmp_path / "kb", create=True, enrich=fields) as kb:
        report = kb.ingest([corpus / name for name in (
            "exception-handling.pdf", "release-notes-2.4.docx", "country-codes.html", "warehouse-glossary.md",
            "error-codes.csv", "diagnosis-codes.json", "onboarding.txt")])
        firsts = {d["format"]: kb.document_chunks(d["id"])[0]["embed_text"] for d in kb.documents()}
    assert not [n for n in report.notes if "--enrich" in n]  # every field was found somewhere
    assert firsts["pdf"].startswith("[title: Exception handling procedure (receiving and dispatch)] "
                                    "[author: localkb examples (CC0)] [pages: 3]\n")
    assert firsts["docx"].startswith("[title: Warehouse system 2.4 - release notes] [author: localkb examples (CC0)]\n")
    assert firsts["html"].startswith("[title: Country codes that are easy to confuse]")
    assert firsts["md"].startswith("[title: Larkspur Freight — warehouse glossary]\n")
    assert firsts["csv"].startswith("[team: ") and "dispatch" in firsts["csv"].split("\n", 1)[0]
    assert firsts["json"].startswith("[codes.code: ") and "E11.9" in firsts["json"].split("\n", 1)[0]
    assert not firsts["txt"].startswith("[")  # a text file has none of them: nothing invented


def test_enrich_with_a_field_no_document_has_is_said_not_silent(tmp_path):
    with pytest.raises(ConfigError, match=r"Unknown enrich field\(s\): author .*meta\.author"):
        KnowledgeBase.open(tmp_path / "bad", create=True, enrich=["author"])
    with pytest.raises(ConfigError, match=r"Unknown enrich field\(s\): meta\."):
        KnowledgeBase.open(tmp_path / "bad", create=True, enrich=["meta."])
    assert not (tmp_path / "bad" / "manifest.json").exists()
    corpus = EXAMPLES / "corpus"
    with KnowledgeBase.open(tmp_path / "kb", create=True, enrich=["meta.authr", "meta.author"]) as kb:
        report = kb.ingest([corpus / "exception-handling.pdf", corpus / "error-codes.csv"])
    notes = [n for n in report.notes if n.startswith("--enrich")]
    assert len(notes) == 1 and "--enrich meta.authr: no document in this KB has the metadata 'authr'" in notes[0]
    assert "Did you mean 'meta.author'?" in notes[0] and "team" in notes[0]
    proc = run_cli("ingest", str(corpus / "warehouse-glossary.md"), "--kb", str(tmp_path / "cli"),
                   "--enrich", "meta.teem", "--enrich", "meta.title")
    assert proc.returncode == 0 and "note: --enrich meta.teem: no document in this KB has the metadata" in proc.stderr
    assert "--enrich meta.title: no document" in proc.stderr and "The document's title is --enrich title." in proc.stderr
