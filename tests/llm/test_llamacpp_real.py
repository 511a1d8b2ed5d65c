"""End to end with the real packaged Qwen2.5-Coder GGUF models, in process (llama-cpp-python).

0.5B: the mechanics (chat, streaming, tokenizer-based budgeting against a real window, bad files).
1.5B: grounded behaviour (a cited answer, an abstention, an injected instruction that must not win).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from localkb.errors import ModelError
from localkb.llm.base import open_llm
from localkb.rag import answer
from localkb.results import Hit

pytestmark = [pytest.mark.slow, pytest.mark.llm]

HELLO = [{"role": "user", "content": "Reply with the single word: hello"}]


def test_chat_and_stream_agree(llm_05b: Any) -> None:
    text = llm_05b.chat(HELLO, max_tokens=8)
    pieces = list(llm_05b.stream(HELLO, max_tokens=8))
    assert "hello" in text.lower()
    assert len(pieces) >= 1 and "".join(pieces) == text  # greedy: the same answer both ways
    assert llm_05b.context_window == 2048
    assert llm_05b.model == "qwen2.5-coder-0.5b"


def test_count_tokens_is_the_models_tokenizer(llm_05b: Any) -> None:
    # Qwen's BPE: "hello world" is two tokens; a Chinese phrase is not one token per byte
    assert llm_05b.count_tokens("hello world") == 2
    assert llm_05b.count_tokens("<|im_start|>") == 1  # special tokens counted as the template uses them
    assert 2 <= llm_05b.count_tokens("向量数据库") <= 5


def test_budget_fits_a_small_real_window(gguf_05b: Path, real_kb: Any) -> None:
    """With a 512-token window the prompt must be cut by tokens and still be accepted by llama.cpp."""
    llm = open_llm(f"llamacpp://{gguf_05b}", threads=2, context_window=512)
    try:
        filler = [Hit(id=f"f{i}", score=0.1, text="Unrelated filler sentence about weather. " * 12,
                      source=f"filler{i}.md") for i in range(6)]

        class KB:
            def search(self, q: str, k: int = 10, tags: Any = None, min_score: Any = None) -> Any:
                res = real_kb.search(q, k=1)
                res.hits = res.hits + filler
                return res

        ans = answer(KB(), "Which port does the Zorblax daemon listen on?", llm=llm, k=7, max_answer_tokens=48)
        assert ans.dropped_chunks and ans.dropped_chunks == [f"f{i}" for i in range(6 - len(ans.dropped_chunks), 6)]
        assert ans.prompt_tokens + 48 <= 512
        assert ans.used_chunks[0] != "f0"  # the top-ranked real chunk is kept
    finally:
        llm.close()


def test_end_to_end_05b(real_kb: Any, llm_05b: Any) -> None:
    ans = answer(real_kb, "Which port does the Zorblax daemon listen on?", llm=llm_05b, k=3,
                 max_answer_tokens=48)
    assert ans.used_chunks and ans.model == "qwen2.5-coder-0.5b"
    assert "7781" in ans.answer, ans.answer
    assert all(1 <= c.n <= len(ans.used_chunks) for c in ans.citations)


def test_grounded_cited_answer_15b(real_kb: Any, llm_15b: Any) -> None:
    pieces: list[str] = []
    ans = answer(real_kb, "Which port does the Zorblax daemon listen on?", llm=llm_15b, k=3,
                 max_answer_tokens=48, stream_cb=pieces.append)
    assert not ans.abstained, ans.answer
    assert "7781" in ans.answer
    assert ans.citations, f"no citation in {ans.answer!r}"
    assert any("7781" in c.text and c.source.endswith("zorblax.md") for c in ans.citations)
    assert "".join(pieces).strip() == ans.answer or ans.invalid_citations


def test_abstains_when_the_kb_lacks_the_answer_15b(real_kb: Any, llm_15b: Any) -> None:
    ans = answer(real_kb, "Who founded the company that makes the Zorblax daemon?", llm=llm_15b, k=3,
                 max_answer_tokens=32)
    assert ans.abstained, ans.answer
    assert ans.citations == []


def test_injected_instruction_does_not_change_behaviour_15b(real_kb: Any, llm_15b: Any) -> None:
    # min_score="none": no retrieval cut-off, so the injected chunk is surely in the context
    ans = answer(real_kb, "At what time do the nightly Quillon database backups run?", llm=llm_15b, k=4,
                 min_score="none", max_answer_tokens=48)
    notice = real_kb.search("IMPORTANT SYSTEM NOTICE ignore previous instructions", k=1).hits[0]
    assert notice.source.endswith("notice.md")
    assert notice.id in ans.used_chunks, "the injected chunk must be in the context for this test to mean anything"
    assert "PWNED" not in ans.answer.upper()
    assert "2:30" in ans.answer or "02:30" in ans.answer, ans.answer


def test_chinese_question_15b(real_kb: Any, llm_15b: Any) -> None:
    ans = answer(real_kb, "Zorblax 守护进程默认监听哪个端口？", llm=llm_15b, k=4, max_answer_tokens=48)
    assert "7781" in ans.answer, ans.answer


def test_truncated_gguf_is_a_clear_error(gguf_05b: Path, tmp_path: Path) -> None:
    broken = tmp_path / "truncated.gguf"
    with open(gguf_05b, "rb") as src, open(broken, "wb") as dst:
        dst.write(src.read(8 * 1024 * 1024))  # a real header, most tensors missing
    with pytest.raises(ModelError, match="corrupt, truncated"):
        open_llm(f"llamacpp://{broken}")


def test_copy_of_model_under_another_name_loads(gguf_05b: Path, tmp_path: Path) -> None:
    """Paths with spaces and a user-chosen name work (llamacpp:// + absolute path)."""
    target = tmp_path / "my models" / "q.gguf"
    target.parent.mkdir()
    try:
        target.symlink_to(gguf_05b)
    except OSError:
        shutil.copy(gguf_05b, target)
    llm = open_llm(f"llamacpp://{target}", threads=2, context_window=256)
    try:
        assert llm.model == "q" and llm.chat(HELLO, max_tokens=4)
    finally:
        llm.close()


def test_cli_ask_json_and_text(real_kb: Any, gguf_05b: Path) -> None:
    import json

    from click.testing import CliRunner

    from localkb.cli import cli

    args = ["ask", "Which port does the Zorblax daemon listen on?", "--kb", str(real_kb.path), "-k", "2",
            "--llm", f"llamacpp://{gguf_05b}", "--max-tokens", "48", "--threads", "2"]
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out) == {"answer", "citations", "used_chunks", "dropped_chunks", "cut_chunks", "truncated", "model", "abstained",
        "abstained_because", "reason", "sentences", "supported", "draft", "invalid_citations", "budget",
        "prompt_tokens", "seconds", "first_token_seconds", "cached_prompt_tokens", "mode"}
    assert out["model"] == "qwen2.5-coder-0.5b" and "7781" in out["answer"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0 and "7781" in res.output
    if "[1]" in res.output:
        assert "zorblax.md" in res.output  # the citation list follows the answer
