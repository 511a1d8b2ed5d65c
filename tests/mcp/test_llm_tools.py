"""The ``sql`` and ``ask`` tools over stdio with the real packaged GGUF (Qwen2.5-Coder-0.5B via
llama-cpp-python) on a real SQLite database and the bundled corpus."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import COMMAND, server_env

pytestmark = [pytest.mark.llm, pytest.mark.slow]
MODEL = "qwen2.5-coder-0.5b"


async def _calls(kb: Path, db: Path, home: Path, gguf: Path) -> dict[str, Any]:
    from mcp import Client, StdioServerParameters

    env = {**server_env(home), "LOCALKB_LLM_THREADS": "2"}
    params = StdioServerParameters(command=COMMAND[0], args=[*COMMAND[1:], "--kb", str(kb), "--llm",
                                                             f"llamacpp://{gguf}", "--db", f"shop=sqlite:///{db}"],
                                   env=env)
    async with Client(params, read_timeout_seconds=600) as client:
        sql = await client.call_tool("sql", {"database": "shop", "question": "How many customers are there?"})
        ask = await client.call_tool("ask", {"question": "What does IBE stand for?", "max_tokens": 64})
        refused = await client.call_tool("ask", {"question": "What is the capital of Peru?"})
    return {"sql": sql, "ask": ask, "refused": refused}


@pytest.fixture(scope="module")
def calls(examples_kb: Path, shop_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("llama_cpp")
    from localkb.llm.gguf import is_provisioned, model_path

    if not is_provisioned(MODEL):
        pytest.skip(f"needs the packaged GGUF: localkb models provision {MODEL}")
    home = tmp_path_factory.mktemp("mcp-llm-home")
    return asyncio.run(asyncio.wait_for(_calls(examples_kb, shop_db, home, model_path(MODEL)), 900))


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def test_sql_tool_answers_from_the_configured_database(calls: dict[str, Any]) -> None:
    answer = _data(calls["sql"])
    assert answer["ok"], answer["attempts"]
    assert "customers" in answer["sql"].lower() and answer["rows"] == [[3]]


def test_ask_tool_answers_with_citations_or_abstains(calls: dict[str, Any]) -> None:
    answer = _data(calls["ask"])
    assert answer["used_chunks"] and answer["model"]
    assert answer["abstained"] or any("warehouse-glossary" in c["source"] for c in answer["citations"])
    refused = _data(calls["refused"])
    assert refused["abstained"] and refused["used_chunks"] == [] and refused["reason"]
