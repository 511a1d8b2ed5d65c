"""``localkb mcp`` over stdio, driven by the official MCP client library (``mcp.Client``)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import COMMAND, CORPUS, server_env

TIMEOUT = 240


async def _session(kb: Path, db: Path, home: Path) -> dict[str, Any]:
    """One server process, every call of these tests; returns what each call gave (result or error)."""
    from mcp import Client, StdioServerParameters
    from mcp.shared.exceptions import MCPError

    params = StdioServerParameters(command=COMMAND[0], args=[*COMMAND[1:], "--kb", str(kb),
                                                             "--db", f"shop=sqlite:///{db}"],
                                   env=server_env(home))
    calls: dict[str, tuple[str, dict[str, Any]]] = {
        "ibe": ("search", {"query": "IBE", "k": 3}),
        "absent": ("search", {"query": "E11.99"}),
        "unrelated": ("search", {"query": "What is the capital of Peru?"}),
        "tagged": ("search", {"query": "IBE", "tags": ["nope"]}),
        "stats": ("stats", {}),
        "documents": ("list_documents", {"limit": 3}),
        "check_ok": ("sql_check", {"database": "shop", "sql": "SELECT name FROM customers"}),
        "check_bad": ("sql_check", {"database": "shop", "sql": "DELETE FROM customers"}),
        "no_db": ("sql_check", {"database": "other", "sql": "SELECT 1"}),
        "ingest": ("ingest", {"paths": [str(kb)]}),
        "unknown_tool": ("delete_everything", {}),
        "wrong_type": ("search", {"query": "IBE", "k": "many"}),
        "wrong_type_query": ("search", {"query": ["IBE"]}),
        "unknown_arg": ("search", {"query": "IBE", "filter": {"tag": "x"}}),
        "oversized": ("search", {"query": "IBE " * 20_000}),
        "empty_query": ("search", {"query": "   "}),
        "no_chunk": ("get_chunk", {"chunk_id": "0" * 64}),
        "where_md": ("search", {"query": "IBE", "where": ["format=md"], "min_score": "none"}),
        "where_csv": ("search", {"query": "IBE", "where": {"format": "csv"}, "min_score": "none"}),
        "where_typo": ("search", {"query": "IBE", "where": ["formt=md"]}),
        "mode_typo": ("search", {"query": "IBE", "mode": "hybird"}),
        "min_score_high": ("search", {"query": "IBE", "min_score": "high"}),
        "ask_min_score_high": ("ask", {"question": "What is an IBE?", "min_score": "high"}),
        "k_0": ("search", {"query": "IBE", "k": 0}),
        "ask_k_negative": ("ask", {"question": "What is an IBE?", "k": -1}),
    }
    out: dict[str, Any] = {}
    async with Client(params, read_timeout_seconds=TIMEOUT) as client:
        out["tools"] = (await client.list_tools()).tools
        for key, (name, args) in calls.items():
            try:
                out[key] = await client.call_tool(name, args)
            except MCPError as exc:
                out[key] = exc
        # follow a hit to its chunk and document, as an agent would
        hit = json.loads(out["ibe"].content[0].text)["hits"][0]
        out["chunk"] = await client.call_tool("get_chunk", {"chunk_id": hit["id"]})
        out["document"] = await client.call_tool("get_document", {"doc_id": hit["doc_id"]})
        out["alive"] = await client.call_tool("stats", {})  # the server survived every bad call
    return out


@pytest.fixture(scope="module")
def session(examples_kb: Path, shop_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("mcp-home")
    return asyncio.run(asyncio.wait_for(_session(examples_kb, shop_db, home), TIMEOUT))


def payload(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    data = json.loads(result.content[0].text)
    assert result.structured_content == data
    return data


def test_lists_the_read_only_tools_with_descriptions(session: dict[str, Any]) -> None:
    tools = {t.name: t for t in session["tools"]}
    assert set(tools) == {"search", "ask", "get_chunk", "get_document", "list_documents", "stats",
                          "sql", "sql_check"}  # no ingest without --allow-ingest
    search = tools["search"]
    assert "exactly" in search.description and "reason" in search.description
    assert set(search.input_schema["properties"]) == {"query", "k", "tags", "min_score", "mode", "where"}
    assert search.input_schema["required"] == ["query"]
    assert all(t.annotations.read_only_hint for t in tools.values())
    assert "shop" in tools["sql"].description


def test_search_finds_the_ibe_chunk_with_exact_match(session: dict[str, Any]) -> None:
    data = payload(session["ibe"])
    assert data["exact_match"] == {"IBE": True}
    top = data["hits"][0]
    assert "IBE" in top["matched_terms"] and "IBE" in top["text"]
    assert top["source"].endswith("warehouse-glossary.md")
    assert set(data) == {"query", "mode", "min_score", "reason", "exact_match", "weights", "calibration",
                         "collapsed", "hits"}


def test_absent_code_gives_the_empty_result_with_its_reason(session: dict[str, Any]) -> None:
    data = payload(session["absent"])
    assert data["hits"] == [] and data["exact_match"] == {"E11.99": False}
    assert "E11.99" in data["reason"]


def test_unrelated_question_and_unknown_tag_are_empty_with_reasons(session: dict[str, Any]) -> None:
    unrelated = payload(session["unrelated"])
    assert unrelated["hits"] == [] and "cut-off" in unrelated["reason"]
    tagged = payload(session["tagged"])
    assert tagged["hits"] == [] and "nope" in tagged["reason"]


def test_hit_leads_to_its_chunk_and_document(session: dict[str, Any]) -> None:
    hit = payload(session["ibe"])["hits"][0]
    chunk = payload(session["chunk"])
    assert chunk["id"] == hit["id"] and chunk["text"] == hit["text"]
    doc = payload(session["document"])
    assert doc["id"] == hit["doc_id"] and hit["id"] in [c["id"] for c in doc["chunk_list"]]


def test_stats_and_documents(session: dict[str, Any]) -> None:
    stats = payload(session["stats"])
    files = sum(1 for p in CORPUS.iterdir() if p.is_file())
    assert stats["documents"] == files and stats["model"].endswith("all-MiniLM-L6-v2")
    assert stats["server"] == {"databases": ["shop"], "ingest": False}
    docs = payload(session["documents"])
    assert docs["total"] == files and len(docs["documents"]) == 3


def test_sql_check_on_the_configured_database(session: dict[str, Any]) -> None:
    ok = payload(session["check_ok"])
    assert ok["allowed"] and "LIMIT" in ok["sql"].upper()
    bad = payload(session["check_bad"])
    assert not bad["allowed"] and bad["violations"]
    assert session["no_db"].is_error and "No database named 'other'" in session["no_db"].content[0].text


def test_ingest_is_refused_without_allow_ingest(session: dict[str, Any]) -> None:
    from mcp.shared.exceptions import MCPError

    err = session["ingest"]
    assert isinstance(err, MCPError) and err.code == -32602
    assert "--allow-ingest" in err.message


@pytest.mark.parametrize("key, words", [
    ("unknown_tool", "Unknown tool: 'delete_everything'"),
    ("wrong_type", "k: Input should be a valid integer"),
    ("wrong_type_query", "query: Input should be a valid string"),
    ("unknown_arg", "Unknown argument(s) for search: filter"),
    ("oversized", "the limit is 64,000"),
])
def test_bad_calls_are_protocol_errors(session: dict[str, Any], key: str, words: str) -> None:
    from mcp.shared.exceptions import MCPError

    err = session[key]
    assert isinstance(err, MCPError), err
    assert err.code == -32602 and words in err.message


def test_library_errors_are_tool_errors_with_json(session: dict[str, Any]) -> None:
    for key, name in (("empty_query", "SearchError"), ("no_chunk", "NotFound")):
        result = session[key]
        assert result.is_error
        text = result.content[0].text
        assert json.loads(text[text.index("{"):])["error"] == name
    assert payload(session["alive"])["documents"] == sum(1 for p in CORPUS.iterdir() if p.is_file())


def test_search_filters_on_metadata_as_the_cli_and_http_do(session: dict[str, Any]) -> None:
    md, csv = payload(session["where_md"]), payload(session["where_csv"])
    assert md["hits"] and all(h["source"].endswith(".md") for h in md["hits"])
    assert csv["hits"] and all(h["source"].endswith(".csv") for h in csv["hits"])
    typo = session["where_typo"]
    assert typo.is_error
    text = typo.content[0].text
    error = json.loads(text[text.index("{"):])
    assert error["error"] == "FilterError" and "Did you mean 'format'?" in error["message"]


@pytest.mark.parametrize("key, message", [  # the messages of tests/server/test_filters_api.py::BAD
    ("mode_typo", "Unknown search mode 'hybird' (choose from: hybrid, dense, lexical). Did you mean 'hybrid'?"),
    ("min_score_high", "min_score 'high' is not a number, 'auto' or 'none'."),
    ("ask_min_score_high", "min_score 'high' is not a number, 'auto' or 'none'."),
    ("k_0", "k must be at least 1."),
    ("ask_k_negative", "k must be at least 1."),
])
def test_bad_values_get_the_library_message_the_cli_and_http_give(session: dict[str, Any], key: str,
                                                                  message: str) -> None:
    result = session[key]
    assert getattr(result, "is_error", False), result
    text = result.content[0].text
    assert message in json.loads(text[text.index("{"):])["message"]
