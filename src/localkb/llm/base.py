"""The LLM Protocol every backend implements, and ``open_llm`` which picks one by URI.

URIs: ``ollama://MODEL`` · ``llamacpp:///path/model.gguf`` · ``openai://HOST:PORT/v1`` (· ``scripted://``
for unit tests). Messages are OpenAI-style dicts: ``{"role": "system"|"user"|"assistant", "content": str}``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..registry import resolve, split_uri

if TYPE_CHECKING:
    from ..errors import LLMError
    from ..settings import Settings

Message = dict[str, str]

LLMS: dict[str, str] = {
    "ollama": "localkb.llm.ollama_backend:OllamaLLM",
    "llamacpp": "localkb.llm.llamacpp_backend:LlamaCppLLM",
    "openai": "localkb.llm.openai_backend:OpenAILLM",
    "openai+https": "localkb.llm.openai_backend:OpenAILLM",
    "scripted": "localkb.llm.fake:ScriptedLLM",
}


@runtime_checkable
class LLM(Protocol):
    uri: str
    #: a display id for reports and ``--json`` output, e.g. "qwen2.5-coder-1.5b-instruct-q4_k_m"
    model: str
    #: tokens the model can attend to (prompt + answer)
    context_window: int

    def count_tokens(self, text: str) -> int: ...

    def chat(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
             stop: Sequence[str] | None = None) -> str: ...

    def stream(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
               stop: Sequence[str] | None = None) -> Iterator[str]: ...

    def close(self) -> None: ...


def open_llm(uri: str, *, timeout: float = 120.0, threads: int | None = None,
             context_window: int | None = None, settings: Settings | None = None) -> LLM:
    """The LLM backend ``uri`` names; ``threads`` and ``context_window`` override the settings'
    ``llm_threads`` / ``llm_ctx`` and are validated as they are."""
    scheme, _ = split_uri(uri)
    cls = resolve("LLM backend", scheme, LLMS)
    return cls(uri, timeout=timeout, threads=threads, context_window=context_window, settings=settings)


def http_failure(exc: BaseException, httpx: Any, *, url: str, timeout: float, who: str,
                 unreachable: str) -> LLMError:
    """The error for a transport failure talking to ``who`` at ``url``: ``LLMTimeout`` for an httpx
    timeout, else ``LLMUnavailable`` with the sentence ``unreachable`` (a refused or broken connection)."""
    from ..errors import LLMTimeout, LLMUnavailable

    if isinstance(exc, httpx.TimeoutException):
        return LLMTimeout(f"{who} did not answer within {timeout:g} s", url=url, timeout=timeout)
    return LLMUnavailable(unreachable, url=url)


def estimate_tokens(text: str) -> int:
    """A deliberately pessimistic token count for servers that expose no tokenizer (Ollama, most
    OpenAI-compatible servers): one token per CJK character, one per 3 bytes of anything else.

    Real BPE tokenizers give ~4 bytes per English token and ~1.3 Chinese characters per token, so the
    estimate over-counts; budgeting with it drops a chunk too many rather than overflowing the window.
    """
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"
              or "\uff00" <= ch <= "\uffef")
    rest = len(text.encode("utf-8")) - 3 * cjk
    return cjk + (max(rest, 0) + 2) // 3
