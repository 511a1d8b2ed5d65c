"""OpenAI-compatible endpoints, so any OpenAI client can embed exactly as the KB does and use the KB as a model.

* ``GET /v1/models`` — two models: the KB's embedding model (its manifest id, e.g.
  ``sentence-transformers/all-MiniLM-L6-v2``) and ``localkb``, the KB answering questions.
* ``POST /v1/embeddings`` — vectors from the KB's own model (L2-normalised float32, identical to
  ``kb.embedder.embed``). ``model`` must name the KB's model: its manifest id or the id's last part
  (``all-MiniLM-L6-v2``); any other name is a 404, so a client never gets vectors of a model it did not
  ask for. ``input``: a string or a list of strings (token arrays are refused); ``encoding_format``:
  ``float`` or ``base64`` (little-endian float32, what the official client asks for by default);
  ``dimensions``, when given, must equal the model's. ``usage`` counts the model's own tokens.
* ``POST /v1/chat/completions`` — the last user message is asked of the KB through the ``ask`` path
  (retrieve → budget → local LLM → citations); the reply's content is the answer followed by its numbered
  sources, and the full ask result (citations, abstention, reason) is in the ``localkb`` field. Streaming
  (``"stream": true``) sends ``chat.completion.chunk`` events and ``data: [DONE]``. Answers are greedy
  (temperature 0) so they stay grounded: sampling options are accepted and reported as ignored in
  ``localkb.notes``; options that cannot be honoured (``n`` > 1, tools, …) are a 400.

Errors on these routes have OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so
OpenAI clients show the message; the token rule is the same as for ``/api`` (``Authorization: Bearer``).
"""
from __future__ import annotations

import base64
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import LocalKBError
from .context import ServerContext, ctx

router = APIRouter(prefix="/v1", tags=["openai"])
CHAT_MODEL = "localkb"
MAX_INPUTS = 2048
MAX_INPUT_CHARS = 100_000
#: accepted by /v1/chat/completions but not used: answers are always greedy (reported in localkb.notes)
SAMPLING = ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty", "user", "stop")


class OpenAIError(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"message": self.message, "type": self.type, "param": self.param,
                                       "code": self.code}}, status_code=self.status)


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str | list[str] | list[int] | list[list[int]]
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = Field(None, ge=16, le=4096)
    max_completion_tokens: int | None = Field(None, ge=16, le=4096)
    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    user: str | None = None
    stop: str | list[str] | None = None


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise OpenAIError(400, "The body is not valid JSON.") from None
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        unknown = first["type"] == "extra_forbidden"
        message = (f"Unknown parameter '{where}' (localkb does not support it)." if unknown
                   else f"Invalid '{where}': {first['msg']}.")
        raise OpenAIError(400, message, param=where, code="unknown_parameter" if unknown else None) from None


def _run(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except OpenAIError as exc:
        return exc.response()
    except LocalKBError as exc:
        kind = "server_error" if exc.http_status >= 500 else "invalid_request_error"
        return OpenAIError(exc.http_status, exc.message, type_=kind, code=type(exc).__name__).response()


def embedding_model_names(model_id: str) -> set[str]:
    """The names ``/v1/embeddings`` accepts for a KB built with ``model_id``: the id and its last part."""
    return {model_id, model_id.rstrip("/").rsplit("/", 1)[-1]}


@router.get("/models", summary="The KB's embedding model and the KB as a chat model")
def models(request: Request) -> dict[str, Any]:
    c = ctx(request)
    created = int(c.kb.manifest.created_at or 0)
    return {"object": "list", "data": [
        {"id": c.kb.manifest.model_id, "object": "model", "created": created, "owned_by": "localkb"},
        {"id": CHAT_MODEL, "object": "model", "created": created, "owned_by": "localkb"}]}


@router.post("/embeddings", summary="Embed text with the KB's own model (OpenAI-compatible)")
async def embeddings(request: Request) -> Any:
    try:
        body: EmbeddingsRequest = await _parse(request, EmbeddingsRequest)
    except OpenAIError as exc:
        return exc.response()
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_run, _embed, ctx(request), body)


def _embed(c: ServerContext, body: EmbeddingsRequest) -> dict[str, Any]:
    manifest = c.kb.manifest
    if body.model not in embedding_model_names(manifest.model_id):
        raise OpenAIError(404, f"This KB embeds with '{manifest.model_id}', not '{body.model}': other tools must "
                               "use the KB's model for their vectors to be comparable.", param="model",
                          code="model_not_found")
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts or not all(isinstance(t, str) for t in texts):
        raise OpenAIError(400, "'input' must be a string or a non-empty list of strings (token arrays are not "
                               "supported: send the text).", param="input")
    if len(texts) > MAX_INPUTS or any(len(t) > MAX_INPUT_CHARS for t in texts):  # type: ignore[arg-type]
        raise OpenAIError(400, f"At most {MAX_INPUTS} inputs of {MAX_INPUT_CHARS:,} characters each.", param="input")
    if any(not t.strip() for t in texts):  # type: ignore[union-attr]
        raise OpenAIError(400, "'input' contains an empty string.", param="input")
    if body.dimensions is not None and body.dimensions != manifest.dim:
        raise OpenAIError(400, f"{manifest.model_id} has {manifest.dim} dimensions; it cannot give "
                               f"{body.dimensions}.", param="dimensions")
    embedder = c.kb.embedder
    vectors = embedder.embed([str(t) for t in texts])
    from ..llm.base import estimate_tokens

    count: Callable[[str], int] = getattr(embedder, "count_tokens", estimate_tokens)  # estimate: no tokenizer
    tokens = sum(int(count(str(t))) for t in texts)
    data = []
    for i, row in enumerate(vectors):
        value: Any = (base64.b64encode(row.astype("<f4").tobytes()).decode("ascii")
                      if body.encoding_format == "base64" else [float(x) for x in row])
        data.append({"object": "embedding", "index": i, "embedding": value})
    return {"object": "list", "data": data, "model": manifest.model_id,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


@router.post("/chat/completions", summary="Ask the KB (the ask path, with citations) as an OpenAI chat model")
async def chat_completions(request: Request) -> Any:
    try:
        body: ChatRequest = await _parse(request, ChatRequest)
        question, notes = _question(body)
    except OpenAIError as exc:
        return exc.response()
    c = ctx(request)
    from starlette.concurrency import run_in_threadpool

    if not body.stream:
        return await run_in_threadpool(_run, _complete, c, body, question, notes)
    loaded = await run_in_threadpool(_run, c.llm.get)  # load (or fail) before the stream starts
    if isinstance(loaded, JSONResponse):
        return loaded
    return StreamingResponse(_stream(c, body, question, notes), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _question(body: ChatRequest) -> tuple[str, list[str]]:
    if body.model != CHAT_MODEL:
        raise OpenAIError(404, f"The chat model of this server is '{CHAT_MODEL}' (the KB answering with "
                               f"citations), not '{body.model}'.", param="model", code="model_not_found")
    if body.n != 1:
        raise OpenAIError(400, "Only n=1 is supported.", param="n")
    users = [m for m in body.messages if m.get("role") == "user"]
    if not users:
        raise OpenAIError(400, "No user message: the last user message is the question.", param="messages")
    content = users[-1].get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    if not isinstance(content, str) or not content.strip():
        raise OpenAIError(400, "The last user message has no text.", param="messages")
    notes = [f"'{name}' is ignored: answers are greedy (temperature 0) and grounded in the KB"
             for name in SAMPLING if getattr(body, name) not in (None, 0)]
    if len(body.messages) > 1:
        notes.append("only the last user message is asked; earlier and system messages are not used")
    return content.strip(), notes


def _ask(c: ServerContext, body: ChatRequest, question: str, stream_cb: Any = None) -> Any:
    limit = body.max_completion_tokens or body.max_tokens or 256
    return c.kb.ask(question, llm=c.llm.get(), max_answer_tokens=limit, stream_cb=stream_cb)


def _sources(result: Any) -> str:
    return "".join(f"\n[{cite.n}] {cite.source}" for cite in result.citations)


def _extension(result: Any, notes: list[str]) -> dict[str, Any]:
    return {**result.to_dict(), "reason": result.reason, "notes": notes}


def _complete(c: ServerContext, body: ChatRequest, question: str, notes: list[str]) -> dict[str, Any]:
    result = _ask(c, body, question)
    sources = _sources(result)
    content = result.answer + (f"\n\nSources:{sources}" if sources else "")
    completion = c.llm.get().count_tokens(result.answer) if result.answer else 0
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": CHAT_MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": result.prompt_tokens, "completion_tokens": completion,
                      "total_tokens": result.prompt_tokens + completion},
            "localkb": _extension(result, notes)}


def _stream(c: ServerContext, body: ChatRequest, question: str, notes: list[str]) -> Iterator[str]:
    """SSE: a role chunk, content chunks as the model writes, the sources, a final chunk, ``[DONE]``."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        event = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": CHAT_MODEL,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(event, ensure_ascii=False)}\n\n"

    pieces: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            pieces.put(("done", _ask(c, body, question, stream_cb=lambda text: pieces.put(("text", text)))))
        except LocalKBError as exc:
            pieces.put(("error", {"message": exc.message, "type": "server_error", "code": type(exc).__name__}))
        except Exception as exc:  # noqa: BLE001 - reported to the client in the stream
            pieces.put(("error", {"message": f"{type(exc).__name__}: {exc}", "type": "server_error"}))

    threading.Thread(target=work, name="localkb-chat", daemon=True).start()
    yield chunk({"role": "assistant", "content": ""})
    streamed = False
    while True:
        kind, value = pieces.get()
        if kind == "text":
            streamed = True
            yield chunk({"content": value})
            continue
        if kind == "error":
            yield f"data: {json.dumps({'error': value}, ensure_ascii=False)}\n\n"
        else:
            sources = _sources(value)
            tail = ("" if streamed else value.answer) + (f"\n\nSources:{sources}" if sources else "")
            if tail:
                yield chunk({"content": tail})
            yield chunk({}, "stop", localkb=_extension(value, notes))
        yield "data: [DONE]\n\n"
        return
