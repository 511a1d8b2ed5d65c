"""Models served by Ollama: ``ollama://MODEL`` (e.g. ``ollama://qwen2.5-coder:1.5b``), official client.

Host: ``LOCALKB_OLLAMA_HOST`` > ``OLLAMA_HOST`` > ``http://127.0.0.1:11434`` (``ollama://MODEL@HOST:PORT``
also works). The context window is sent with every request as ``options.num_ctx``: left unset, Ollama
silently truncates prompts at its default window (2,048 tokens in many versions), which is the
"answers ignore my documents" failure users hit. It is argument > ``LOCALKB_LLM_CTX`` > the smaller of
4,096 and the model's trained context (from ``/api/show``). Ollama has no tokenize endpoint, so
token counts are a pessimistic estimate (``base.estimate_tokens``).
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, LLMError, LLMTimeout, LLMUnavailable, MissingDependency
from .base import Message, estimate_tokens, http_failure

if TYPE_CHECKING:
    from ..settings import Settings

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_CONTEXT = 4096


def parse_ollama_uri(uri: str) -> tuple[str, str | None]:
    """``ollama://qwen:1.5b`` → ``("qwen:1.5b", None)``; ``ollama://MODEL@HOST:PORT`` also sets the host."""
    rest = uri.split("://", 1)[1] if "://" in uri else ""
    model, _, host = rest.partition("@")
    if not model:
        raise ConfigError("ollama:// needs a model name, e.g. ollama://qwen2.5-coder:1.5b")
    return model, host or None


class OllamaLLM:
    """Chat with a model that an Ollama server (or anything speaking its HTTP API) serves."""

    def __init__(self, uri: str, *, timeout: float = 120.0, threads: int | None = None,
                 context_window: int | None = None, settings: Settings | None = None) -> None:
        from ..settings import current

        settings = current(settings).merged(llm_ctx=context_window)
        try:
            import httpx
            import ollama
        except ImportError as exc:
            raise MissingDependency("ollama:// needs the ollama client: pip install 'localkb[llm]'",
                                    scheme="ollama") from exc
        self._httpx, self._ollama = httpx, ollama
        self.uri = uri
        self.model, uri_host = parse_ollama_uri(uri)
        self.host = str(uri_host or settings.ollama_host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST)
        self.timeout = float(timeout)
        self.threads = threads
        self._client = ollama.Client(host=self.host,
                                     timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)))
        configured = settings.llm_ctx
        self.context_window = configured if configured else min(DEFAULT_CONTEXT, self._trained_context())
        #: Ollama's usage figures from the last finished call (prompt_eval_count, eval_count, durations)
        self.last_usage: dict[str, Any] = {}

    def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """Run one client call, translating the client's and httpx's errors to ours."""
        try:
            return fn(*args, **kw)
        except self._ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise LLMUnavailable(f"Ollama at {self.host} has no model '{self.model}' "
                                     f"(run: ollama pull {self.model})", model=self.model) from exc
            raise LLMError(f"Ollama at {self.host}: {exc.error}", status=exc.status_code) from exc
        except (ConnectionError, self._httpx.TransportError) as exc:  # timeouts included
            raise http_failure(exc, self._httpx, url=self.host, timeout=self.timeout, who=f"Ollama at {self.host}",
                               unreachable=f"Cannot reach Ollama at {self.host}: is it running? ({exc})") from exc

    def _trained_context(self) -> int:
        info = self._call(self._client.show, self.model)
        modelinfo = getattr(info, "modelinfo", None) or {}
        for key, value in modelinfo.items():
            if key.endswith(".context_length"):
                return int(value)
        return DEFAULT_CONTEXT

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def _options(self, max_tokens: int, temperature: float, stop: Sequence[str] | None) -> dict[str, Any]:
        opts: dict[str, Any] = {"num_ctx": self.context_window, "num_predict": max_tokens,
                                "temperature": temperature, "seed": 0}
        if self.threads:
            opts["num_thread"] = self.threads
        if stop:
            opts["stop"] = list(stop)
        return opts

    def chat(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
             stop: Sequence[str] | None = None) -> str:
        resp = self._call(self._client.chat, model=self.model, messages=list(messages), stream=False,
                          options=self._options(max_tokens, temperature, stop))
        self._remember_usage(resp)
        return str(resp.message.content or "")

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
               stop: Sequence[str] | None = None) -> Iterator[str]:
        """Yield the answer as Ollama streams it (NDJSON); ``LLMTimeout`` past ``timeout`` seconds."""
        deadline = time.monotonic() + self.timeout
        parts = self._call(self._client.chat, model=self.model, messages=list(messages), stream=True,
                           options=self._options(max_tokens, temperature, stop))
        iterator = iter(parts)
        while True:
            part = self._call(next, iterator, None)  # the request is sent on the first next()
            if part is None:
                return
            piece = part.message.content if part.message else None
            if piece:
                yield piece
            if part.done:
                self._remember_usage(part)
                return
            if time.monotonic() > deadline:
                raise LLMTimeout(f"Ollama at {self.host} did not finish within {self.timeout:g} s",
                                 url=self.host, timeout=self.timeout)

    def _remember_usage(self, resp: Any) -> None:
        self.last_usage = {k: getattr(resp, k, None) for k in (
            "done_reason", "prompt_eval_count", "eval_count", "total_duration", "prompt_eval_duration",
            "eval_duration")}

    def close(self) -> None:
        self._client.close()
