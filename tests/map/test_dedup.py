"""``dedup`` on the bundled corpus, which holds an edited copy of onboarding.txt (real MiniLM, FAISS, SQLite)."""
from __future__ import annotations

import json

import pytest

from localkb import KnowledgeBase
from localkb.errors import MapError

from ..conftest import run_cli
from .conftest import COPY, CORPUS, GLOSSARY, ORIGINAL, source


def _group_sources(result) -> list[set[str]]:
    return [{m["source"] for m in g.members} for g in result.groups]


def test_the_edited_copy_is_found_with_what_differs(any_kb):
    result = any_kb.dedup()
    assert result.criterion.startswith("auto") and 0.0 < result.threshold <= 1.0
    pair = {source(ORIGINAL), source(COPY)}
    assert result.groups and all(s == pair for s in _group_sources(result)), _group_sources(result)
    assert [d["sources"] for d in result.documents] == [sorted(pair)] or \
        [set(d["sources"]) for d in result.documents] == [pair]
    ops = [op for g in result.groups for d in g.differs for op in d["ops"]]
    changed = " ".join(op["text"] for op in ops)
    assert "4490" in changed or "45" in changed, ops  # the added line / the changed number
    assert result.action == "report"


def _member_ids(groups) -> list[set[str]]:
    return [{m["chunk_id"] for m in (g.members if hasattr(g, "members") else g["members"])} for g in groups]


def test_apply_collapses_search_and_undo_restores(kb_copy):
    query = "Who do I call about quality control holds?"
    with KnowledgeBase.open(kb_copy, create=False) as kb:
        before = kb.search(query, k=5, min_score="none")
        both = [h.source for h in before.hits if h.source in (source(ORIGINAL), source(COPY))]
        assert {source(ORIGINAL), source(COPY)} <= set(both), [h.source for h in before.hits]
        applied = kb.dedup(apply=True)
        assert applied.action == "applied" and applied.groups
        groups = _member_ids(applied.groups)
        shown_before = {h.id for h in before.hits}
        assert any(len(g & shown_before) >= 2 for g in groups)  # a group's members were both in the top 5
        after = kb.search(query, k=5, min_score="none")
        shown_after = {h.id for h in after.hits}
        assert all(len(g & shown_after) <= 1 for g in groups), [h.source for h in after.hits]
        once = [h.source for h in after.hits if h.source in (source(ORIGINAL), source(COPY))]
        assert len(once) < len(both)
        assert after.collapsed and after.collapsed[0]["kept"] in [h.id for h in after.hits]
        shown = kb.search(query, k=5, min_score="none", collapse_duplicates=False)
        assert [h.id for h in shown.hits] == [h.id for h in before.hits] and not shown.collapsed
        assert kb.stats()["chunks"] == kb.store.count()  # nothing was deleted
        restored = kb.undo_dedup()
        assert restored["groups"] == len(applied.groups)
        again = kb.search(query, k=5, min_score="none")
        assert [h.id for h in again.hits] == [h.id for h in before.hits] and not again.collapsed
        kb.dedup(apply=True)
        extra = kb_copy.parent / "later"
        extra.mkdir()
        (extra / "late.md").write_text("# Late note\n\nPallets over 40 kg need two people to lift.\n", encoding="utf-8")
        notes = kb.ingest([extra]).notes
        assert any("not grouped until `localkb dedup --apply`" in n for n in notes), notes


def test_cli_apply_search_json_and_undo(kb_copy):
    kb = str(kb_copy)
    out = json.loads(run_cli("dedup", "--kb", kb, "--json").stdout)
    assert {"threshold", "groups"} <= set(out)
    assert all({"id", "members", "differs"} <= set(g) for g in out["groups"])
    assert all({"source", "chunk_id", "score"} <= set(m) for g in out["groups"] for m in g["members"])
    groups = _member_ids(out["groups"])
    applied = run_cli("dedup", "--kb", kb, "--apply")
    assert applied.returncode == 0 and "Applied" in applied.stdout, applied.stderr
    hits = json.loads(run_cli("search", "quality control extension", "--kb", kb, "--json", "-k", "5").stdout)
    shown = {h["id"] for h in hits["hits"]}
    assert all(len(g & shown) <= 1 for g in groups) and hits["collapsed"], hits
    undo = run_cli("dedup", "--kb", kb, "--undo", "--json")
    assert undo.returncode == 0 and json.loads(undo.stdout)["action"] == "undone"
    hits = json.loads(run_cli("search", "quality control extension", "--kb", kb, "--json", "-k", "5").stdout)
    assert hits["collapsed"] == []
    assert any(len(g & {h["id"] for h in hits["hits"]}) >= 2 for g in groups)  # both members back


@pytest.mark.parametrize("value", ["1.5", "-0.1", "high"])
def test_bad_thresholds_are_usage_errors_and_change_nothing(kb_copy, value):
    before = (kb_copy / "chunks.sqlite").read_bytes()
    proc = run_cli("dedup", "--kb", str(kb_copy), "--threshold", value, "--apply")
    assert proc.returncode == 2 and "threshold" in proc.stderr.lower() and "Traceback" not in proc.stderr
    assert (kb_copy / "chunks.sqlite").read_bytes() == before
    with KnowledgeBase.open(kb_copy, create=False) as kb:
        with pytest.raises(MapError, match=r"\[0, 1\]"):
            kb.dedup(threshold=1.5, apply=True)
        assert kb.db.scalar("SELECT COUNT(*) FROM chunk_duplicates") == 0


def test_empty_and_one_document_kbs(tmp_path):
    empty = run_cli("dedup", "--kb", str(tmp_path / "nope"))
    assert empty.returncode == 1 and "No knowledge base" in empty.stderr
    with KnowledgeBase.open(tmp_path / "empty", create=True) as kb:
        with pytest.raises(MapError, match="empty"):
            kb.dedup()
    with KnowledgeBase.open(tmp_path / "one", create=True) as kb:
        kb.ingest([CORPUS / GLOSSARY])
    proc = run_cli("dedup", "--kb", str(tmp_path / "one"), "--apply")
    assert proc.returncode == 1 and "only one document" in proc.stderr
