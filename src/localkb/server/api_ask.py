"""``/api/ask``: a grounded answer with citations, whole (same JSON as ``localkb ask --json``) or streamed.

Streaming (``"stream": "sse"`` or ``"ndjson"``, or ``Accept: text/event-stream``) sends the answer as the
model writes it, then the full answer object:

* SSE: ``event: token`` / ``data: {"text": "..."}`` …, then ``event: answer`` / ``data: {<answer>}``;
  on failure ``event: error`` / ``data: {"error", "message", "status"}``.
* NDJSON: ``{"type": "token", "text": "..."}`` … then ``{"type": "answer", <answer>}`` (or ``"error"``).

The LLM is the one the server was started with (``--llm`` / ``LOCALKB_LLM``), else the best provisioned
GGUF at the time of the request (a model provisioned while the server runs is used without a restart);
every answer names it in ``model``. A request cannot name another model or server.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..errors import LocalKBError, SearchError
from ..search.engine import check_k
from ..search.thresholds import parse_min_score
from .api_search import MinScore
from .context import ServerContext, ctx

if TYPE_CHECKING:
    from ..rag.result import Answer

router = APIRouter(prefix="/api", tags=["ask"])
log = logging.getLogger("localkb.server")


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=10_000)
    # below 1 is refused by the library (``kb.ask``), with the CLI's and Python's message
    k: int = Field(5, le=50, description="Passages to retrieve before fitting them into the context (1 to 50)")
    min_score: MinScore = Field(None, description="Retrieval cut-off: a number, 'auto' (the KB's calibrated one, "
                                                  "the default) or 'none' — as `localkb ask --min-score`")
    tags: list[str] | None = None
    max_tokens: int = Field(256, ge=16, le=4096, description="Longest answer, in tokens")
    stream: Literal["sse", "ndjson"] | None = Field(None, description="Stream the answer as it is written")
    verify: bool = Field(True, description="Check each sentence against its cited passage (move or flag citations)")
    quote: bool = Field(False, description="Extractive mode: the model quotes the answering span, checked verbatim")

    model_config = ConfigDict(extra="forbid")


def _answer(c: ServerContext, body: AskRequest, stream_cb: Callable[[str], None] | None = None) -> Answer:
    return c.kb.ask(body.question, llm=c.llm.get(), k=body.k, min_score=parse_min_score(body.min_score),
                    tags=body.tags or None, max_answer_tokens=body.max_tokens, stream_cb=stream_cb,
                    verify=body.verify, quote=body.quote)


@router.post("/ask", summary="Answer a question from the KB with citations (optionally streamed)",
             responses={200: {"content": {"application/json": {}, "text/event-stream": {},
                                          "application/x-ndjson": {}}}})
def ask(request: Request, body: AskRequest) -> Any:
    c = ctx(request)
    if not body.question.strip():
        raise SearchError("The question is empty.")
    check_k(body.k)  # bad values are refused before a model is loaded or a stream starts
    parse_min_score(body.min_score)
    fmt = body.stream
    if fmt is None and "text/event-stream" in request.headers.get("accept", ""):
        fmt = "sse"
    if fmt is None:
        return _answer(c, body).to_dict()
    c.llm.get()  # load (or fail) before the stream starts, so errors keep their status code
    media = "text/event-stream" if fmt == "sse" else "application/x-ndjson"
    return StreamingResponse(_stream(c, body, fmt), media_type=media,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _stream(c: ServerContext, body: AskRequest, fmt: str) -> Iterator[str]:
    events: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()

    def work() -> None:
        try:
            result = _answer(c, body, stream_cb=lambda piece: events.put(("token", {"text": piece})))
            events.put(("answer", result.to_dict()))
        except LocalKBError as exc:
            events.put(("error", {**exc.to_dict(), "status": exc.http_status}))
        except Exception as exc:  # reported to the client as an error event
            log.exception("ask failed")
            events.put(("error", {"error": "InternalError", "message": f"{type(exc).__name__}: {exc}",
                                  "status": 500}))
        finally:
            events.put(None)

    threading.Thread(target=work, name="localkb-ask", daemon=True).start()
    while True:
        item = events.get()
        if item is None:
            return
        kind, data = item
        yield _format(fmt, kind, data)


def _format(fmt: str, kind: str, data: dict[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False)
    if fmt == "sse":
        return f"event: {kind}\ndata: {text}\n\n"
    return json.dumps({"type": kind, **data}, ensure_ascii=False) + "\n"
