"""The OpenAI-compatible and Ollama paths against real servers on 127.0.0.1 serving a real GGUF.

- ``openai://`` → ``python -m llama_cpp.server`` (a real OpenAI-compatible server).
- ``ollama://`` → ``ollama_standin.py``, a stand-in for Ollama's HTTP API driven by llama-cpp-python
  (and the packaged MiniLM for ``/api/embed``); the raw wire format is checked here too, with httpx and
  with the official ``ollama`` client.
"""
from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from localkb.errors import LLMError, LLMUnavailable
from localkb.llm.base import open_llm
from localkb.rag import answer

pytestmark = [pytest.mark.slow, pytest.mark.llm]

HELLO = [{"role": "user", "content": "Reply with the single word: hello"}]
QUESTION = "Which port does the Zorblax daemon listen on?"


# ---------------------------------------------------------------- OpenAI-compatible (llama_cpp.server)

def test_openai_chat_stream_and_model_discovery(llama_server: str) -> None:
    llm = open_llm(llama_server, timeout=120, context_window=2048)
    try:
        assert llm.model == "qwen-0.5b"  # discovered from GET /v1/models
        text = llm.chat(HELLO, max_tokens=8)
        pieces = list(llm.stream(HELLO, max_tokens=8))
        assert "hello" in text.lower() and len(pieces) >= 1
        assert "".join(pieces).strip() == text.strip()
        # the server's tokenizer is used, not the estimate
        assert llm.count_tokens("hello world") == 2
    finally:
        llm.close()


def test_openai_ask_end_to_end(llama_server: str, real_kb: Any) -> None:
    ans = answer(real_kb, QUESTION, llm=f"{llama_server}?model=qwen-0.5b", k=3, max_answer_tokens=48, timeout=120)
    assert "7781" in ans.answer, ans.answer
    assert ans.model == "qwen-0.5b" and ans.used_chunks


def test_openai_http_error_is_clear(llama_server: str) -> None:
    llm = open_llm(llama_server, timeout=60, context_window=8192)
    try:
        with pytest.raises(LLMError, match="HTTP 4|HTTP 5"):  # a prompt over the server's 2,048-token window
            llm.chat([{"role": "user", "content": "word " * 5000}], max_tokens=8)
    finally:
        llm.close()


# ---------------------------------------------------------------- Ollama wire format (stand-in)

def test_standin_tags_and_show(ollama_server: str) -> None:
    tags = httpx.get(f"{ollama_server}/api/tags").json()
    names = {m["name"] for m in tags["models"]}
    assert names == {"qwen2.5-coder:0.5b", "all-minilm"}
    qwen = next(m for m in tags["models"] if m["name"] == "qwen2.5-coder:0.5b")
    assert set(qwen) >= {"name", "model", "modified_at", "size", "digest", "details"}
    assert qwen["details"]["format"] == "gguf" and qwen["details"]["family"] == "qwen2"
    assert qwen["details"]["quantization_level"] == "Q4_K_M"
    show = httpx.post(f"{ollama_server}/api/show", json={"model": "qwen2.5-coder:0.5b"}).json()
    assert show["model_info"]["qwen2.context_length"] == 32768


def test_standin_chat_ndjson_stream_and_single_object(ollama_server: str) -> None:
    body = {"model": "qwen2.5-coder:0.5b", "messages": HELLO, "options": {"temperature": 0, "num_predict": 8}}
    with httpx.stream("POST", f"{ollama_server}/api/chat", json=body, timeout=120) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(x) for x in r.iter_lines() if x]
    assert all(x["done"] is False and x["message"]["role"] == "assistant" for x in lines[:-1])
    final = lines[-1]
    assert final["done"] is True and final["done_reason"] in ("stop", "length")
    for key in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count",
                "eval_duration", "created_at", "model"):
        assert key in final
    streamed = "".join(x["message"]["content"] for x in lines)
    single = httpx.post(f"{ollama_server}/api/chat", json={**body, "stream": False}, timeout=120).json()
    assert single["done"] is True and single["message"]["content"] == streamed
    assert "hello" in streamed.lower()


def test_standin_generate(ollama_server: str) -> None:
    body = {"model": "qwen2.5-coder:0.5b", "prompt": "Reply with the single word: hello", "stream": False,
            "options": {"temperature": 0, "num_predict": 8}}
    out = httpx.post(f"{ollama_server}/api/generate", json=body, timeout=120).json()
    assert out["done"] is True and "hello" in out["response"].lower() and "context" in out
    with httpx.stream("POST", f"{ollama_server}/api/generate", json={**body, "stream": True}, timeout=120) as r:
        lines = [json.loads(x) for x in r.iter_lines() if x]
    assert "".join(x["response"] for x in lines) == out["response"]


def test_standin_embed(ollama_server: str) -> None:
    out = httpx.post(f"{ollama_server}/api/embed", json={
        "model": "all-minilm", "input": ["A man is eating food.", "A man is eating a piece of bread."]}).json()
    a, b = out["embeddings"]
    assert len(a) == 384 and out["prompt_eval_count"] > 0
    assert abs(sum(x * y for x, y in zip(a, b)) - 0.7553) < 0.01  # the documented MiniLM sanity value
    one = httpx.post(f"{ollama_server}/api/embed", json={"model": "all-minilm", "input": "hi"}).json()
    assert len(one["embeddings"]) == 1


def test_standin_errors(ollama_server: str) -> None:
    r = httpx.post(f"{ollama_server}/api/chat", json={"model": "nope", "messages": HELLO})
    assert r.status_code == 404 and r.json() == {"error": "model 'nope' not found"}
    r = httpx.post(f"{ollama_server}/api/chat", content=b"{bad json")
    assert r.status_code == 400 and "error" in r.json()


def test_standin_truncates_silently_without_num_ctx(ollama_server: str, standin_default_ctx: int) -> None:
    """The Ollama failure localkb guards against: over the default num_ctx the prompt is cut, silently."""
    long = "The sky is green. " * 150  # ~750 tokens
    body = {"model": "qwen2.5-coder:0.5b", "stream": False, "options": {"temperature": 0, "num_predict": 1},
            "messages": [{"role": "user", "content": long}]}
    cut = httpx.post(f"{ollama_server}/api/chat", json=body, timeout=300)
    assert cut.status_code == 200  # no error: the client is not told
    assert cut.json()["prompt_eval_count"] < standin_default_ctx


# ---------------------------------------------------------------- ollama:// backend (official client)

def test_official_client_against_standin(ollama_server: str) -> None:
    import ollama

    client = ollama.Client(host=ollama_server)
    names = [m.model for m in client.list().models]
    assert "qwen2.5-coder:0.5b" in names
    resp = client.chat(model="qwen2.5-coder:0.5b", messages=HELLO, options={"temperature": 0, "num_predict": 8})
    assert "hello" in resp.message.content.lower()
    emb = client.embed(model="all-minilm", input="hello")
    assert len(emb.embeddings[0]) == 384


def test_ollama_backend_chat_stream(ollama_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALKB_OLLAMA_HOST", ollama_server)
    llm = open_llm("ollama://qwen2.5-coder:0.5b", timeout=120)
    try:
        assert llm.context_window == 4096  # min(4096, the model's 32,768 from /api/show)
        text = llm.chat(HELLO, max_tokens=8)
        pieces = list(llm.stream(HELLO, max_tokens=8))
        assert "hello" in text.lower() and "".join(pieces) == text
        assert llm.last_usage["prompt_eval_count"] > 0 and llm.last_usage["done_reason"] in ("stop", "length")
    finally:
        llm.close()


def test_ollama_backend_sends_num_ctx_so_nothing_is_cut(ollama_server: str, standin_default_ctx: int) -> None:
    host = ollama_server.removeprefix("http://")
    llm = open_llm(f"ollama://qwen2.5-coder:0.5b@{host}", timeout=300, context_window=1024)
    try:
        long = "The sky is green. " * 150  # ~750 tokens: over the server's default window, under ours
        llm.chat([{"role": "user", "content": long}], max_tokens=1)
        assert llm.last_usage["prompt_eval_count"] > standin_default_ctx  # the whole prompt reached the model
    finally:
        llm.close()


def test_ollama_ask_end_to_end(ollama_server: str, real_kb: Any) -> None:
    host = ollama_server.removeprefix("http://")
    ans = answer(real_kb, QUESTION, llm=f"ollama://qwen2.5-coder:0.5b@{host}", k=3, max_answer_tokens=48)
    assert "7781" in ans.answer, ans.answer
    assert ans.model == "qwen2.5-coder:0.5b"


def test_ollama_unknown_model(ollama_server: str) -> None:
    host = ollama_server.removeprefix("http://")
    with pytest.raises(LLMUnavailable, match="ollama pull nope"):
        open_llm(f"ollama://nope@{host}")
