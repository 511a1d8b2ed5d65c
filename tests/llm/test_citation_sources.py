"""A cited passage stored for several documents names every one of them (library, JSON and the CLI), on a
real KB: the same text in two files is one chunk with two sources."""
from __future__ import annotations

from localkb import KnowledgeBase
from localkb.llm.fake import ScriptedLLM

from ..conftest import run_cli

TEXT = "The Quillon backup runs nightly at 02:30 and each copy is kept for 14 days."


def test_a_citation_names_every_document_that_holds_its_passage(tmp_path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("ops.txt", "copy-of-ops.txt"):
        (docs / name).write_text(TEXT, encoding="utf-8")
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        kb.ingest([docs])
        llm = ScriptedLLM(replies=["The Quillon backup runs nightly at 02:30 [1]."])
        ans = kb.ask("When does the Quillon backup run?", llm=llm, min_score="none")
    assert not ans.abstained and [c.n for c in ans.citations] == [1]
    cited = ans.citations[0]
    assert sorted(s.rsplit("/", 1)[-1] for s in cited.sources) == ["copy-of-ops.txt", "ops.txt"]
    assert cited.source in cited.sources
    assert ans.to_dict()["citations"][0]["sources"] == cited.sources
    # the CLI prints every source of a hit as well (search shares the passage rendering rule)
    proc = run_cli("search", "Quillon backup", "--kb", str(tmp_path / "kb"), "-k", "1")
    assert proc.returncode == 0 and "also in" in proc.stdout
