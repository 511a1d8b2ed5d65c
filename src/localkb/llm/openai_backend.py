"""Any OpenAI-compatible chat server: ``openai://HOST:PORT/v1`` (llama.cpp server, vLLM, LM Studio…).

Plain httpx against ``POST /v1/chat/completions``; streaming reads the server-sent events with
httpx-sse (``data: {json}`` events, ending with ``data: [DONE]``). The model name sent with each request is
``?model=NAME`` in the URI, else ``LOCALKB_OPENAI_MODEL``, else the first id of ``GET /v1/models``.
An API key, when the server wants one, comes from ``LOCALKB_OPENAI_API_KEY`` (never from the URI).
Use ``openai+https://`` for a TLS endpoint.

Token counts come from the server's tokenizer when it has one (llama-cpp-python ``/extras/tokenize``,
llama.cpp ``/tokenize``); otherwise from a pessimistic estimate (``base.estimate_tokens``).
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigError, LLMError, LLMTimeout, MissingDependency
from .base import Message, estimate_tokens, http_failure

if TYPE_CHECKING:
    from ..settings import Settings

DEFAULT_CONTEXT = 4096


def base_url_from_uri(uri: str) -> tuple[str, str | None]:
    """``openai://127.0.0.1:8000/v1?model=x`` → ``("http://127.0.0.1:8000/v1", "x")``."""
    scheme, _, rest = uri.partition("://")
    if not rest:
        raise ConfigError("openai:// needs a host, e.g. openai://127.0.0.1:8000/v1")
    parts = urlsplit(f"//{rest}")
    if not parts.hostname:
        raise ConfigError(f"No host in {uri!r}; expected openai://HOST:PORT/v1")
    proto = "https" if scheme.lower() == "openai+https" else "http"
    path = parts.path.rstrip("/") or "/v1"
    models = parse_qs(parts.query).get("model")
    model = models[0] if models else None
    return f"{proto}://{parts.netloc}{path}", model


class OpenAILLM:
    """Chat completions from an OpenAI-compatible HTTP server."""

    def __init__(self, uri: str, *, timeout: float = 120.0, threads: int | None = None,
                 context_window: int | None = None, settings: Settings | None = None) -> None:
        from ..settings import current

        settings = current(settings).merged(llm_ctx=context_window)
        try:
            import httpx
        except ImportError as exc:
            raise MissingDependency("openai:// needs httpx: pip install 'localkb[llm]'",
                                    scheme="openai") from exc
        try:
            import httpx_sse  # noqa: F401 - used by stream(); fail here, before any request
        except ImportError as exc:
            raise MissingDependency("openai:// needs httpx-sse: pip install 'localkb[llm]'",
                                    scheme="openai") from exc
        self._httpx = httpx
        self.uri = uri
        self.timeout = float(timeout)
        self.base_url, model = base_url_from_uri(uri)
        self.context_window = settings.llm_ctx or DEFAULT_CONTEXT
        headers = {}
        key = settings.openai_api_key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)))
        self._model_name = model or settings.openai_model
        self._tokenize_route: str | None | bool = None  # None: not probed yet; False: none
        self.model = str(self._model_name) if self._model_name else self._first_model()

    # ------------------------------------------------------------------ HTTP helpers

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        httpx = self._httpx
        try:
            resp = self._client.request(method, path, **kw)
        except httpx.TransportError as exc:  # timeouts included
            raise self._failure(exc) from exc
        return resp

    def _raise_for(self, resp: Any) -> None:
        if resp.status_code < 400:
            return
        try:
            body = resp.json()
            detail = body.get("error", body)
            if isinstance(detail, dict):
                detail = detail.get("message", detail)
        except ValueError:
            detail = resp.text[:300]
        raise LLMError(f"{self.base_url} answered HTTP {resp.status_code}: {detail}",
                       url=self.base_url, status=resp.status_code)

    def _first_model(self) -> str:
        resp = self._request("GET", "/models")
        self._raise_for(resp)
        try:
            data = resp.json().get("data") or []
            return str(data[0]["id"])
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMError(f"{self.base_url}/models lists no model; add ?model=NAME to the URI",
                           url=self.base_url) from exc

    # ------------------------------------------------------------------ LLM protocol

    def count_tokens(self, text: str) -> int:
        """The server's own count when it exposes a tokenizer, else a pessimistic estimate."""
        routes = {"/extras/tokenize": {"input": text, "model": self.model}, "/tokenize": {"content": text}}
        root = self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url
        if self._tokenize_route is False:
            return estimate_tokens(text)
        order = [self._tokenize_route] if isinstance(self._tokenize_route, str) else list(routes)
        for route in order:
            try:
                resp = self._client.post(f"{root}{route}", json=routes[route])
            except self._httpx.HTTPError:
                break
            if resp.status_code == 200:
                try:
                    tokens = resp.json()["tokens"]
                except (ValueError, KeyError, TypeError):
                    continue
                self._tokenize_route = route
                return len(tokens)
        self._tokenize_route = False
        return estimate_tokens(text)

    def _body(self, messages: Sequence[Message], max_tokens: int, temperature: float,
              stop: Sequence[str] | None, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "max_tokens": max_tokens,
                                "temperature": temperature, "stream": stream, "seed": 0}
        if stop:
            body["stop"] = list(stop)
        return body

    def chat(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
             stop: Sequence[str] | None = None) -> str:
        resp = self._request("POST", "/chat/completions",
                             json=self._body(messages, max_tokens, temperature, stop, stream=False))
        self._raise_for(resp)
        try:
            return str(resp.json()["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"{self.base_url} sent an answer that is not a chat completion",
                           url=self.base_url) from exc

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
               stop: Sequence[str] | None = None) -> Iterator[str]:
        """Yield content deltas from the server-sent events; ``LLMTimeout`` past ``timeout`` seconds."""
        httpx = self._httpx
        from httpx_sse import SSEError, connect_sse

        deadline = time.monotonic() + self.timeout
        body = self._body(messages, max_tokens, temperature, stop, stream=True)
        try:
            with connect_sse(self._client, "POST", "/chat/completions", json=body) as source:
                resp = source.response
                if resp.status_code >= 400:
                    resp.read()
                    self._raise_for(resp)
                for sse in source.iter_sse():  # comments, retry and blank lines are handled by httpx-sse
                    if time.monotonic() > deadline:
                        raise LLMTimeout(f"{self.base_url} did not finish within {self.timeout:g} s",
                                         url=self.base_url, timeout=self.timeout)
                    data = sse.data.strip()
                    if not data:
                        continue
                    if data == "[DONE]":
                        return
                    try:
                        event = json.loads(data)
                    except json.JSONDecodeError as exc:
                        raise LLMError(f"{self.base_url} sent a malformed event: {data[:120]}",
                                       url=self.base_url) from exc
                    if "error" in event:
                        raise LLMError(f"{self.base_url}: {event['error']}", url=self.base_url)
                    choices = event.get("choices") or []
                    piece = (choices[0].get("delta") or {}).get("content") if choices else None
                    if piece:
                        yield piece
        except SSEError as exc:
            raise LLMError(f"{self.base_url} did not answer with server-sent events: {exc}",
                           url=self.base_url) from exc
        except httpx.TransportError as exc:  # timeouts included
            raise self._failure(exc) from exc

    def _failure(self, exc: BaseException) -> LLMError:
        return http_failure(exc, self._httpx, url=self.base_url, timeout=self.timeout, who=self.base_url,
                            unreachable=f"Cannot reach the LLM server at {self.base_url}: {exc}")

    def close(self) -> None:
        self._client.close()
