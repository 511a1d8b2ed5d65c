"""Bad input for every backend: server down, server hanging, missing/corrupt GGUF, empty question.

Each error must be one LocalKBError subclass, raised within the configured timeout, and the CLI must
print one line and exit 1 (no traceback).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from localkb.cli import cli
from localkb.errors import LLMTimeout, LLMUnavailable, ModelError, ModelNotFound, UnknownBackend
from localkb.llm.base import open_llm

MSG = [{"role": "user", "content": "Say hello."}]


def test_openai_server_down_is_unavailable(dead_port: int) -> None:
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailable, match=f"127.0.0.1:{dead_port}"):
        open_llm(f"openai://127.0.0.1:{dead_port}/v1", timeout=5)
    with pytest.raises(LLMUnavailable):
        open_llm(f"openai://127.0.0.1:{dead_port}/v1?model=x", timeout=5).chat(MSG)
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("streaming", [False, True])
def test_openai_hanging_server_times_out(hanging_server: int, streaming: bool) -> None:
    llm = open_llm(f"openai://127.0.0.1:{hanging_server}/v1?model=x", timeout=1.5)
    t0 = time.monotonic()
    with pytest.raises(LLMTimeout, match="1.5 s"):
        if streaming:
            list(llm.stream(MSG))
        else:
            llm.chat(MSG)
    assert 1.0 < time.monotonic() - t0 < 6


def test_ollama_server_down_is_unavailable(dead_port: int) -> None:
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailable, match="is it running"):
        open_llm(f"ollama://qwen2.5-coder:0.5b@127.0.0.1:{dead_port}", timeout=5)
    llm = open_llm(f"ollama://qwen2.5-coder:0.5b@127.0.0.1:{dead_port}", timeout=5, context_window=2048)
    with pytest.raises(LLMUnavailable):
        list(llm.stream(MSG))
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("streaming", [False, True])
def test_ollama_hanging_server_times_out(hanging_server: int, streaming: bool,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALKB_OLLAMA_HOST", f"http://127.0.0.1:{hanging_server}")
    t0 = time.monotonic()
    with pytest.raises(LLMTimeout):  # /api/show, asked for the model's context length
        open_llm("ollama://qwen2.5-coder:0.5b", timeout=1.5)
    llm = open_llm("ollama://qwen2.5-coder:0.5b", timeout=1.5, context_window=2048)
    with pytest.raises(LLMTimeout):
        if streaming:
            list(llm.stream(MSG))
        else:
            llm.chat(MSG)
    assert time.monotonic() - t0 < 8


def test_missing_gguf(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="GGUF file not found"):
        open_llm(f"llamacpp://{tmp_path}/nope.gguf")


def test_not_a_gguf(tmp_path: Path) -> None:
    f = tmp_path / "model.gguf"
    f.write_text("this is not a model")
    with pytest.raises(ModelError, match="not a GGUF file"):
        open_llm(f"llamacpp://{f}")


def test_unknown_scheme_suggests() -> None:
    with pytest.raises(UnknownBackend, match="Did you mean 'ollama'"):
        open_llm("olama://x")


def _kb(tmp_path: Path) -> str:
    from localkb import KnowledgeBase

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.md").write_text("The Zorblax daemon listens on port 7781.")
    path = tmp_path / "kb"
    with KnowledgeBase.open(path, create=True) as kb:
        kb.ingest([str(tmp_path / "d")])
    return str(path)


def test_cli_errors_are_one_line(tmp_path: Path, dead_port: int) -> None:
    runner = CliRunner()
    kb = _kb(tmp_path)
    cases = [
        (["ask", "   ", "--kb", kb], "The question is empty"),
        (["ask", "Which port?", "--kb", kb, "--llm", f"openai://127.0.0.1:{dead_port}/v1"], "Cannot reach"),
        (["ask", "Which port?", "--kb", kb, "--llm", f"llamacpp://{tmp_path}/missing.gguf"], "not found"),
        (["ask", "Which port?", "--kb", str(tmp_path / "nokb")], "No knowledge base"),
    ]
    for args, expected in cases:
        res = runner.invoke(cli, args)
        assert res.exit_code == 1, (args, res.output)
        lines = [x for x in res.output.splitlines() if x.strip()]
        assert len(lines) == 1 and expected in lines[0] and lines[0].startswith("Error:"), res.output
        assert "Traceback" not in res.output


def test_cli_json_error_is_one_object(tmp_path: Path, dead_port: int) -> None:
    import json

    res = CliRunner().invoke(cli, ["ask", "Which port?", "--kb", _kb(tmp_path), "--json",
                                   "--llm", f"openai://127.0.0.1:{dead_port}/v1"])
    assert res.exit_code == 1
    obj = json.loads(res.output.splitlines()[0])
    assert obj["error"] == "LLMUnavailable"
