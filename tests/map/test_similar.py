"""``similar`` on the bundled corpus: real MiniLM vectors in real FAISS and Chroma files."""
from __future__ import annotations

import json

import pytest

from localkb import KnowledgeBase
from localkb.errors import MapError

from ..conftest import run_cli
from .conftest import CORPUS, GLOSSARY, PROCEDURE, source


def test_the_ibe_procedure_is_most_like_the_glossary_and_never_itself(any_kb):
    result = any_kb.similar(source(PROCEDURE), k=5)
    sources = [s.source for s in result.similar]
    assert result.kind == "document" and source(PROCEDURE) not in sources
    assert source(GLOSSARY) in sources[:2], sources
    best = result.similar[0]
    assert best.pairs and all({"chunk_id", "score", "text", "target_chunk", "target_text"} <= set(p) for p in best.pairs)
    assert [s.score for s in result.similar] == sorted((s.score for s in result.similar), reverse=True)


def test_a_chunk_and_a_text_as_targets(any_kb):
    chunk = any_kb.document_chunks(any_kb.db.scalar("SELECT id FROM documents WHERE source=?", (source(PROCEDURE),)))[0]
    by_chunk = any_kb.similar(chunk["id"][:12], k=3)
    assert by_chunk.kind == "chunk" and source(PROCEDURE) not in [s.source for s in by_chunk.similar]
    by_text = any_kb.similar(text="What is an inbound exception and which lane does the pallet go to?", k=3)
    assert by_text.kind == "text" and by_text.similar
    assert {s.source for s in by_text.similar} & {source(GLOSSARY), source(PROCEDURE), source("onboarding.txt")}


def test_hybrid_mode_reports_both_signals(any_kb):
    result = any_kb.similar(source(PROCEDURE), k=3, mode="hybrid")
    assert result.similar and set(result.similar[0].scores) == {"dense", "lexical"}
    assert source(PROCEDURE) not in [s.source for s in result.similar]


def test_unknown_target_names_close_matches(any_kb):
    with pytest.raises(MapError, match="Did you mean") as err:
        any_kb.similar(str(CORPUS / "exception-handlin.pdf"))
    assert source(PROCEDURE) in err.value.data["close_matches"]


def test_empty_and_one_document_kbs_are_clear_errors(tmp_path):
    with KnowledgeBase.open(tmp_path / "empty", create=True) as kb:
        with pytest.raises(MapError, match="empty"):
            kb.similar(text="anything")
    with KnowledgeBase.open(tmp_path / "one", create=True) as kb:
        kb.ingest([CORPUS / GLOSSARY])
        with pytest.raises(MapError, match="only one document"):
            kb.similar(str(CORPUS / GLOSSARY))


def test_cli_json_and_errors(faiss_kb_dir):
    proc = run_cli("similar", source(PROCEDURE), "--kb", str(faiss_kb_dir), "--json", "-k", "3")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"target", "similar"} <= set(out) and len(out["similar"]) == 3
    assert all({"source", "score", "pairs"} <= set(s) for s in out["similar"])
    bad = run_cli("similar", "no-such-file.md", "--kb", str(faiss_kb_dir))
    assert bad.returncode == 1 and "No document or chunk" in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0
    both = run_cli("similar", "x", "--text", "y", "--kb", str(faiss_kb_dir))
    assert both.returncode == 2
    human = run_cli("similar", source(PROCEDURE), "--kb", str(faiss_kb_dir))
    assert human.returncode == 0 and GLOSSARY in human.stdout
