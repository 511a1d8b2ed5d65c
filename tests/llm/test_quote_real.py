"""``ask --quote`` on the real packaged 0.5B over the bundled corpus, through the CLI, the library and the API;
and the KV cache of the fixed prompt prefix reused from one question to the next with one loaded model."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from localkb.cli import cli
from localkb.rag.quote import MIN_SINGLE, MIN_UNITS, units

from .conftest import THREADS

pytestmark = [pytest.mark.slow, pytest.mark.llm]

Q_EN = "Within how many minutes must an IBE be logged?"
Q_EN2 = "Who owns every OBE?"


def _quotes_really_in_cited_chunks(kb: Any, out: dict[str, Any]) -> None:
    """Checked independently of the checker's verdict: a supported quote's words are in its cited chunk, in
    order; an unsupported one's are in no chunk sent, unless it is too short to prove anything (the 0.5B
    has quoted the passage number, "1", which is in some chunk and is refused by length)."""
    sent = [kb.get_chunk(cid)["text"] for cid in out["used_chunks"]]
    for s in out["sentences"]:
        for q in s["quotes"]:
            needle = " ".join(units(q))
            if s["supported"]:
                assert all(needle in " ".join(units(sent[n - 1])) for n in s["citations"]), (q, s)
            elif len(units(q)) >= MIN_UNITS or len(needle) >= MIN_SINGLE:
                assert not any(needle in " ".join(units(t)) for t in sent), (q, s)


def test_quote_mode_on_the_bundled_corpus_cli_library_and_api(bundled_kb: Any, gguf_05b: Path, llm_05b: Any) -> None:
    res = CliRunner().invoke(cli, ["ask", Q_EN, "--kb", str(bundled_kb.path), "--quote", "--json", "-k", "3",
                                   "--max-tokens", "64", "--llm", f"llamacpp://{gguf_05b}",
                                   "--threads", str(THREADS)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["mode"] == "quote" and out["model"] == "qwen2.5-coder-0.5b"
    assert not out["abstained"], out
    assert "30" in out["answer"] and all(s["quotes"] for s in out["sentences"])
    assert any(s["supported"] for s in out["sentences"]), out["sentences"]
    _quotes_really_in_cited_chunks(bundled_kb, out)

    # one loaded model, two questions: the second reuses the KV cache of the fixed prefix (the rules first)
    first = bundled_kb.ask(Q_EN, llm=llm_05b, k=3, max_answer_tokens=64, quote=True)
    second = bundled_kb.ask(Q_EN2, llm=llm_05b, k=3, max_answer_tokens=64, quote=True)
    system_tokens = second.budget.system_prompt if second.budget else 0
    assert second.cached_prompt_tokens is not None and second.cached_prompt_tokens >= system_tokens > 0, (
        second.cached_prompt_tokens, system_tokens)
    assert second.first_token_seconds is not None and second.seconds >= second.first_token_seconds
    for ans in (first, second):
        _quotes_really_in_cited_chunks(bundled_kb, ans.to_dict())

    from localkb.server.app import create_app

    from ..server.server_harness import LiveServer

    live = LiveServer(create_app(bundled_kb.path, llm=llm_05b)).start()
    try:
        r = httpx.post(f"{live.url}/api/ask", json={"question": Q_EN, "k": 3, "max_tokens": 64, "quote": True},
                       headers={"X-LocalKB-Request": "1"}, timeout=600)
        assert r.status_code == 200, r.text
        api = r.json()
        assert api["mode"] == "quote" and api["sentences"] and api["cached_prompt_tokens"] > 0
        _quotes_really_in_cited_chunks(bundled_kb, api)
        bad = httpx.post(f"{live.url}/api/ask", json={"question": Q_EN, "quote": True, "verify": False},
                         headers={"X-LocalKB-Request": "1"}, timeout=60)
        assert bad.status_code == 400 and "verify" in bad.text, bad.text
    finally:
        live.stop()


def test_kv_cache_reuse_is_reported_and_can_be_switched_off(llm_05b: Any) -> None:
    msgs = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say yes."}]
    other = [msgs[0], {"role": "user", "content": "Say no."}]
    try:
        llm_05b.chat(msgs, max_tokens=2)
        llm_05b.chat(other, max_tokens=2)
        shared = llm_05b.last_cached_tokens
        assert shared is not None and shared >= llm_05b.count_tokens("You are terse."), shared
        llm_05b.reuse_prefix = False
        llm_05b.chat(msgs, max_tokens=2)
        assert llm_05b.last_cached_tokens == 0
    finally:
        llm_05b.reuse_prefix = True
