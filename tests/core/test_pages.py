"""A PDF is chunked page by page and each chunk knows its page: ``--where page=N`` (library, CLI) on the
bundled 3-page PDF, beside a Markdown file that has no pages."""
from __future__ import annotations

import json

import pytest

from localkb import KnowledgeBase
from localkb.errors import FilterError

from ..conftest import ROOT, run_cli

PDF = ROOT / "examples" / "corpus" / "exception-handling.pdf"
MD = ROOT / "examples" / "corpus" / "warehouse-glossary.md"


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    path = tmp_path_factory.mktemp("pages") / "kb"
    with KnowledgeBase.open(path, create=True) as kb:
        kb.ingest([PDF, MD])
    return path


def test_every_pdf_chunk_has_its_page_and_no_chunk_spans_two(paged) -> None:
    from pypdf import PdfReader

    pages = [(p.extract_text() or "").strip() for p in PdfReader(str(PDF)).pages]
    with KnowledgeBase.open(paged) as kb:
        chunks = kb.chunks(str(PDF))
        assert {c["page"] for c in chunks} == {1, 2, 3}
        for c in chunks:  # the chunk's words all come from the page it names
            assert set(c["text"].split()) <= set(pages[c["page"] - 1].split()), c["page"]
        assert {c["page"] for c in kb.chunks(str(MD))} == {None}


def test_where_page_filters_chunks_not_documents(paged) -> None:
    with KnowledgeBase.open(paged) as kb:
        two = kb.search("exception", where="page=2", k=20, min_score="none")
        assert two.hits and {(h.source.endswith(".pdf"), h.page) for h in two.hits} == {(True, 2)}
        later = kb.search("exception", where=["page>=2", "format=pdf"], k=20, min_score="none")
        assert {h.page for h in later.hits} == {2, 3}
        not_first = kb.search("exception", where="page!=1", k=50, min_score="none")
        assert 1 not in {h.page for h in not_first.hits}
        assert any(h.page is None and h.source.endswith(".md") for h in not_first.hits)  # no pages: kept
        any_of = kb.search("exception", where={"page": [1, 3]}, k=20, min_score="none")
        assert {h.page for h in any_of.hits} == {1, 3}
        with pytest.raises(FilterError, match="'page' is a number"):
            kb.search("exception", where="page~2")
        with pytest.raises(FilterError, match="not a number"):
            kb.search("exception", where="page=two")


def test_cli_where_page_and_the_page_in_the_output(paged) -> None:
    proc = run_cli("search", "exception", "--kb", str(paged), "--where", "page=3", "--min-score", "none",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["hits"]
    assert hits and {h["page"] for h in hits} == {3}
    text = run_cli("search", "exception", "--kb", str(paged), "--where", "page=3", "--min-score", "none")
    assert text.returncode == 0 and "exception-handling.pdf (page 3)" in text.stdout


def test_a_pdf_chunked_before_pages_were_recorded_is_chunked_again_once(tmp_path) -> None:
    import sqlite3

    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([PDF, MD])
    with sqlite3.connect(tmp_path / "kb" / "chunks.sqlite") as conn:  # as a KB of before migration 6 left it
        conn.execute("UPDATE doc_chunks SET page = NULL")
    with KnowledgeBase.open(tmp_path / "kb") as kb:
        report = kb.ingest([PDF, MD])
        assert report.updated == 1 and report.unchanged == 1
        assert any("1 PDF(s) chunked again page by page" in n for n in report.notes)
        assert {c["page"] for c in kb.chunks(str(PDF))} == {1, 2, 3}
        again = kb.ingest([PDF, MD])
        assert again.unchanged == 2 and not any("page by page" in n for n in again.notes)
