"""Issue 14 end to end on the real packaged Qwen GGUF models: nothing cut in silence, verified citations,
refusals with reasons, ``eval rag``. (The server picking up a newly provisioned model is in
tests/server/test_ask_model_real.py.)
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from localkb.cli import cli
from localkb.llm.base import open_llm

from .conftest import THREADS

pytestmark = [pytest.mark.slow, pytest.mark.llm]

ROOT = Path(__file__).resolve().parents[2]
#: one long paragraph (a single chunk) that cannot fit a 512-token window with 200 tokens kept for the answer
LONG = ("The Quillon ledger service stores every inbound payment event in an append-only journal. " * 2
        + " ".join(f"Journal segment {i} is compacted after {i + 3} days and copied to the archive host "
                   f"named vault-{i}." for i in range(9)))


@pytest.fixture(scope="module")
def long_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from localkb import KnowledgeBase

    docs = tmp_path_factory.mktemp("long_docs")
    (docs / "ledger.md").write_text(LONG, encoding="utf-8")
    path = tmp_path_factory.mktemp("long_kb") / ".localkb"
    with KnowledgeBase.open(path, create=True) as kb:
        kb.ingest([str(docs)])
        assert int(kb.db.scalar("SELECT COUNT(*) FROM chunks") or 0) == 1, "the test needs a single chunk"
    yield path


def test_truncation_of_a_single_long_chunk_shows_in_cli_json_and_api(
        long_kb: Path, gguf_05b: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALKB_LLM_CTX", "512")
    args = ["ask", "Where does the Quillon ledger service store inbound payment events?", "--kb", str(long_kb),
            "-k", "1", "--min-score", "none", "--llm", f"llamacpp://{gguf_05b}", "--max-tokens", "200",
            "--threads", str(THREADS)]
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    [cut] = out["cut_chunks"]
    assert out["truncated"] is True and cut["dropped"] is False and 0 < cut["tokens_cut"] < cut["tokens"]
    assert out["budget"]["window"] == 512 and out["budget"]["answer_reserve"] == 200
    assert out["budget"]["chunks"][0]["tokens"] == cut["tokens"] - cut["tokens_cut"]

    text = CliRunner().invoke(cli, [*args, "--verbose"])
    assert text.exit_code == 0, text.output
    assert f"shortened by {cut['tokens_cut']} of {cut['tokens']} tokens" in text.stderr
    assert "Prompt budget: window 512 = answer reserve 200" in text.stderr

    from localkb.server.app import create_app

    from ..server.server_harness import LiveServer

    llm = open_llm(f"llamacpp://{gguf_05b}", threads=THREADS, context_window=512, timeout=300)
    live = LiveServer(create_app(long_kb, llm=llm)).start()
    try:
        r = httpx.post(f"{live.url}/api/ask", json={"question": args[1], "k": 1, "max_tokens": 200},
                       headers={"X-LocalKB-Request": "1"}, timeout=300)
        assert r.status_code == 200, r.text
        api = r.json()
        assert api["truncated"] is True and api["cut_chunks"][0]["tokens_cut"] == cut["tokens_cut"]
        assert api["model"] == "qwen2.5-coder-0.5b"
    finally:
        live.stop()
        llm.close()


@pytest.fixture()
def own_kb(docs_dir: Path, tmp_path: Path) -> Iterator[Any]:
    from localkb import KnowledgeBase

    docs = tmp_path / "docs"
    shutil.copytree(docs_dir, docs)
    kb = KnowledgeBase.open(tmp_path / ".localkb", create=True)
    kb.ingest([str(docs)])
    yield kb
    kb.close()


def test_a_question_whose_chunk_was_deleted_is_refused_for_retrieval(own_kb: Any, llm_15b: Any) -> None:
    q = "At what time do the nightly Quillon database backups run?"
    before = own_kb.ask(q, llm=llm_15b, k=3, max_answer_tokens=48)
    assert not before.abstained and ("2:30" in before.answer), before.answer
    [doc] = [d for d in own_kb.documents() if str(d["source"]).endswith("backup.md")]
    assert own_kb.delete_document(doc["id"])
    after = own_kb.ask(q, llm=llm_15b, k=3, max_answer_tokens=48)
    assert after.abstained and after.abstained_because == "retrieval", after.to_dict()
    assert after.first_token_seconds is None  # the model was not asked
    assert "not asked" in (after.reason or "")


def test_a_wrong_citation_on_the_bundled_corpus_is_caught_and_moved(bundled_kb: Any, llm_15b: Any) -> None:
    """The model rarely cites wrongly on demand, so the wrong citation is built from its real answer: the
    same answer with its citation pointed at a passage that does not hold the fact, through the same
    checker path (``check_answer``) ``ask`` runs after generation."""
    from localkb.rag import SupportChecker, check_answer, parse_citations
    from localkb.rag.citations import CITATION

    q = "How is an inbound exception escalated?"
    ans = bundled_kb.ask(q, llm=llm_15b, k=4, max_answer_tokens=96)
    assert not ans.abstained, ans.to_dict()
    assert ans.sentences and all(s.supported for s in ans.sentences if s.citations), ans.to_dict()
    passages = [bundled_kb.get_chunk(cid)["text"] for cid in ans.used_chunks]
    checker = SupportChecker(bundled_kb.embedder)
    right = {n for s in ans.sentences for n in s.citations}
    scores = ans.sentences[0].scores
    wrong = min((n for n in range(1, len(passages) + 1) if n not in right), key=lambda n: scores[n])
    tampered = CITATION.sub(f"[{wrong}]", ans.answer)
    assert parse_citations(tampered, len(passages))[0] == [wrong]
    fixed, checks = check_answer(tampered, passages, q, checker)
    moved = [c for c in checks if c.moved]
    assert moved, [c.to_dict() for c in checks]
    assert all(c.citations != [wrong] and set(c.citations) <= right for c in moved)
    assert f"[{wrong}]" not in fixed


def test_eval_rag_on_a_tiny_question_file(real_kb: Any, gguf_05b: Path, tmp_path: Path) -> None:
    qfile = tmp_path / "q.jsonl"
    rows = [{"id": "port", "question": "Which port does the Zorblax daemon listen on?", "answers": ["7781"],
             "gold_doc": "zorblax.md"},
            {"id": "office", "question": "When does the Lindqvist office open on weekdays?", "answers": ["8:15"]},
            {"id": "none", "question": "Who won the 1954 football world cup?", "unanswerable": True}]
    qfile.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    args = ["eval", "rag", str(qfile), "--kb", str(real_kb.path), "--llm", f"llamacpp://{gguf_05b}", "-k", "2",
            "--max-tokens", "48", "--threads", str(THREADS)]
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    s = out["summary"]
    assert (s["answerable"], s["unanswerable"]) == (2, 1) and out["model"] == "qwen2.5-coder-0.5b"
    by_id = {r["id"]: r for r in out["questions"]}
    assert by_id["port"]["contains"] and by_id["port"]["f1"] > 0
    assert s["seconds_per_answer"] > 0 and s["first_token_seconds"] is not None
    for key in ("em", "f1", "contains_gold", "citation_precision", "supported_sentence_rate",
                "abstention_unanswerable", "false_abstention"):
        assert key in s
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0 and "citation precision" in text.output and "port" in text.output

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x", "answer": ["y"]}\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", "rag", str(bad), "--kb", str(real_kb.path)])
    assert res.exit_code == 1 and "unknown key(s) answer" in res.output and "Traceback" not in res.output

