"""``where`` filters and strict request models over real HTTP, and the same bad values refused with the
same message by the CLI, the HTTP API and the Python API (one parser each: ``search.filters``,
``thresholds.parse_min_score``, ``engine.resolve_mode``, ``engine.check_k``; ``llm_ctx`` by ``settings``).
MCP gets the same values and messages in tests/mcp/test_stdio.py."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from localkb import KnowledgeBase
from localkb.errors import LocalKBError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.conftest import run_cli  # noqa: E402


def test_post_filter_and_where_filter_the_hits(client) -> None:
    everything = client.post("/api/search", json={"query": "events", "k": 10, "min_score": "none"}).json()
    assert any(h["source"].endswith(".txt") for h in everything["hits"])
    for body in ({"filter": {"format": "md"}}, {"where": ["format=md"]}, {"where": {"format": ["md"]}}):
        r = client.post("/api/search", json={"query": "events", "k": 10, "min_score": "none", **body})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["hits"] and all(h["source"].endswith(".md") for h in out["hits"]), body
        assert out["filters"]["where"] == ["format=md"] and out["filters"]["matching_chunks"] >= 2
    got = client.get("/api/search", params=[("q", "cats"), ("where", "path~*cats*"), ("min_score", "none")]).json()
    assert [Path(h["source"]).name for h in got["hits"]] == ["cats.txt"]


def test_unknown_filter_fields_and_json_keys_are_422_naming_them(client) -> None:
    r = client.post("/api/search", json={"query": "cats", "where": ["formt=md"]})
    assert r.status_code == 422 and r.json()["error"] == "FilterError" and r.json()["field"] == "formt"
    assert "Unknown filter field 'formt'" in r.json()["message"] and "Did you mean 'format'" in r.json()["message"]
    r = client.post("/api/search", json={"query": "cats", "filtr": {"format": "md"}})
    assert r.status_code == 422 and "filtr" in r.json()["message"], r.text
    r = client.get("/api/search", params={"q": "cats", "mode_": "dense"})
    assert r.status_code == 422 and "mode_" in r.json()["message"]
    r = client.post("/api/ingest/path", json={"paths": ["x"], "tag": ["a"]})
    assert r.status_code == 422 and "tag" in r.json()["message"]
    both = client.post("/api/search", json={"query": "cats", "where": ["format=md"], "filter": {"format": "md"}})
    assert both.status_code == 422 and "not both" in both.json()["message"]


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory) -> Path:
    docs = tmp_path_factory.mktemp("docs")
    (docs / "a.txt").write_text("Cats sleep for about sixteen hours a day.", encoding="utf-8")
    folder = tmp_path_factory.mktemp("kb") / "kb"
    with KnowledgeBase.open(folder, create=True) as kb:
        kb.ingest([docs])
    return folder


BAD = [  # (option, CLI args, HTTP JSON, Python keyword arguments, the message all three give)
    ("where", ["--where", "formt=pdf"], {"where": ["formt=pdf"]}, {"where": "formt=pdf"},
     "Unknown filter field 'formt'. Did you mean 'format'?"),
    ("where-op", ["--where", "title>3"], {"where": ["title>3"]}, {"where": ["title>3"]},
     "Filter 'title>3': '>' compares numbers"),
    ("min_score", ["--min-score", "high"], {"min_score": "high"}, {"min_score": "high"},
     "min_score 'high' is not a number, 'auto' or 'none'."),
    ("min_score-nan", ["--min-score", "nan"], {"min_score": "nan"}, {"min_score": "nan"},
     "min_score must be a finite number"),
    ("mode", ["--mode", "hybird"], {"mode": "hybird"}, {"mode": "hybird"},
     "Unknown search mode 'hybird' (choose from: hybrid, dense, lexical). Did you mean 'hybrid'?"),
    ("k-0", ["-k", "0"], {"k": 0}, {"k": 0}, "k must be at least 1."),
    ("k-negative", ["-k", "-1"], {"k": -1}, {"k": -1}, "k must be at least 1."),
    ("where-mapping", ["--where", "size=many"], {"filter": {"size": "many"}}, {"where": {"size": ["1", "many"]}},
     "Filter 'size': 'many' is not a number."),
    ("where-meta", ["--where", "meta.teem=x"], {"where": ["meta.teem=x"]}, {"where": "meta.teem=x"},
     "Unknown filter field 'meta.teem': no document in this KB has the metadata 'teem'."),
]


@pytest.mark.parametrize("name, cli_args, http_body, py_kwargs, message", BAD, ids=[b[0] for b in BAD])
def test_the_same_bad_value_gets_the_same_error_everywhere(client, small_kb, name, cli_args, http_body,
                                                           py_kwargs, message) -> None:
    with KnowledgeBase.open(small_kb) as kb, pytest.raises(LocalKBError) as err:
        kb.search("cats", **py_kwargs)
    assert message in err.value.message
    r = client.post("/api/search", json={"query": "cats", **http_body})
    assert r.status_code in (400, 422) and message in r.json()["message"], r.text
    proc = run_cli("search", "cats", "--kb", str(small_kb), *cli_args)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    if name == "where":  # --json: the same message as the JSON error object on stdout
        as_json = run_cli("search", "cats", "--kb", str(small_kb), "--json", *cli_args)
        assert as_json.returncode == 1 and message in json.loads(as_json.stdout)["message"]


BAD_ASK = [  # the same, for ask (``localkb ask``, ``POST /api/ask``, ``kb.ask``): refused before any model runs
    ("k-0", ["-k", "0"], {"k": 0}, {"k": 0}, "k must be at least 1."),
    ("k-negative", ["-k", "-1"], {"k": -1}, {"k": -1}, "k must be at least 1."),
    ("min_score", ["--min-score", "high"], {"min_score": "high"}, {"min_score": "high"},
     "min_score 'high' is not a number, 'auto' or 'none'."),
]


@pytest.mark.parametrize("name, cli_args, http_body, py_kwargs, message", BAD_ASK, ids=[b[0] for b in BAD_ASK])
def test_ask_refuses_the_same_bad_value_with_the_same_error_everywhere(client, small_kb, name, cli_args, http_body,
                                                                       py_kwargs, message) -> None:
    with KnowledgeBase.open(small_kb) as kb, pytest.raises(LocalKBError) as err:
        kb.ask("What do cats do?", llm="openai://127.0.0.1:9/v1/none", **py_kwargs)  # never reached
    assert message in err.value.message
    for extra in ({}, {"stream": "ndjson"}):  # a stream is refused before it starts, with its status code
        r = client.post("/api/ask", json={"question": "What do cats do?", **http_body, **extra})
        assert r.status_code in (400, 422) and r.json()["message"] == message, r.text
    proc = run_cli("ask", "What do cats do?", "--kb", str(small_kb), "--llm", "openai://127.0.0.1:9/v1/none",
                   *cli_args)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_cli_where_filters_and_reports_them(small_kb) -> None:
    proc = run_cli("search", "cats", "--kb", str(small_kb), "--where", "format=txt", "--json")
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["filters"]["where"] == ["format=txt"] and out["hits"]
    human = run_cli("search", "cats", "--kb", str(small_kb), "--where", "format=txt", "-k", "3")
    assert "filters: format=txt" in human.stderr and "1 of the 3 hits asked for" in human.stderr


def test_api_docs_page_uses_only_local_assets(client) -> None:
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text.lower()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls  # nothing from a CDN: works offline
    assert "http://" not in page.text.replace("http://127.0.0.1", "") and "https://" not in page.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    assert client.get("/openapi.json").json()["info"]["title"] == "localkb"


def test_ask_takes_min_score_as_the_cli_does(client) -> None:
    """``/api/ask`` ``min_score``: 'auto', 'none' or a number, parsed by the one parser (as ``--min-score``)."""
    question = {"question": "What does the IBE module do?"}
    for value in ("auto", "none", "NONE", 0.1, "0.1"):
        r = client.post("/api/ask", json={**question, "min_score": value})
        assert r.status_code == 200 and r.json()["citations"], (value, r.text)
    strict = client.post("/api/ask", json={**question, "min_score": 0.99}).json()
    assert strict["abstained"] and not strict["citations"]  # the number is used, not dropped
    r = client.post("/api/ask", json={**question, "min_score": "high"})
    assert r.status_code == 400 and r.json()["message"] == "min_score 'high' is not a number, 'auto' or 'none'."
    r = client.post("/api/ask", json={**question, "min_score": "high", "stream": "ndjson"})
    assert r.status_code == 400 and "min_score 'high'" in r.json()["message"]  # before the stream starts


def _json_body_endpoints(spec: dict) -> list[tuple[str, str, dict]]:
    """(method, path, the body's schema) of every operation that takes a JSON body."""
    schemas = spec["components"]["schemas"]
    out = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                out.append((method, path, schemas[body["schema"]["$ref"].rsplit("/", 1)[-1]]))
    return out


def test_every_json_body_refuses_unknown_fields_and_malformed_json(client) -> None:
    spec = client.get("/openapi.json").json()
    endpoints = _json_body_endpoints(spec)
    found = {(m, p) for m, p, _ in endpoints}
    assert {("post", "/api/search"), ("post", "/api/ask"), ("post", "/api/ingest/path"), ("post", "/api/sql"),
            ("post", "/api/sql/check"), ("post", "/api/similar"), ("post", "/api/clusters")} <= found, found
    for method, path, schema in endpoints:
        assert schema.get("additionalProperties") is False, (path, schema.get("title"))
        r = client.request(method.upper(), path, json={"zz_unknown": 1})
        assert r.status_code == 422 and r.json()["error"] == "ValidationError", (path, r.text)
        assert "zz_unknown: Extra inputs are not permitted" in r.json()["message"], (path, r.text)
        r = client.request(method.upper(), path, content=b'{"zz": ', headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "BadRequest", (path, r.text)
        assert r.json()["message"].startswith("Malformed JSON body"), (path, r.text)
    # the OpenAI-compatible endpoints answer in OpenAI's own error shape (400, "param" naming the key)
    for path, body in (("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": "cats", "zz_unknown": 1}),
                       ("/v1/chat/completions", {"model": "localkb", "messages": [{"role": "user", "content": "hi"}],
                                                 "zz_unknown": 1})):
        r = client.post(path, json=body)
        assert r.status_code == 400 and r.json()["error"]["param"] == "zz_unknown", (path, r.text)
        r = client.post(path, content=b"{", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"], (path, r.text)


def test_a_bad_llm_ctx_gets_the_same_message_everywhere(small_kb, monkeypatch) -> None:
    """``llm_ctx`` is a setting, not a request value: a bad one stops the CLI, the HTTP app (``create_app``,
    as ``localkb serve`` builds it) and the Python API with the same message, and an explicit value in code
    meets the same check."""
    from localkb.errors import ConfigError
    from localkb.llm.base import open_llm
    from localkb.server.app import create_app

    message = "llm_ctx = 'big': Input should be a valid integer"
    proc = run_cli("search", "cats", "--kb", str(small_kb), env={"LOCALKB_LLM_CTX": "big"})
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    serve = run_cli("serve", "--kb", str(small_kb), "--port", "0", env={"LOCALKB_LLM_CTX": "big"}, timeout=120)
    assert serve.returncode == 1 and message in serve.stderr, serve.stderr
    monkeypatch.setenv("LOCALKB_LLM_CTX", "big")
    for build in (lambda: KnowledgeBase.open(small_kb), lambda: create_app(small_kb)):
        with pytest.raises(ConfigError) as err:
            build()
        assert message in err.value.message
    monkeypatch.delenv("LOCALKB_LLM_CTX")
    with pytest.raises(ConfigError) as err:
        open_llm("openai://127.0.0.1:9/v1/model", context_window="big", timeout=1)
    assert message in err.value.message
