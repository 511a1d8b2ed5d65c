"""A scripted LLM for unit tests of logic (prompt building, self-correction). Never the only test."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from .base import Message


class ScriptedLLM:
    """Replies with ``replies`` in order (or ``respond(messages)``); records every prompt it saw."""

    def __init__(self, uri: str = "scripted://", *, replies: Sequence[str] = (),
                 respond: Callable[[Sequence[Message]], str] | None = None, timeout: float = 0,
                 threads: int | None = None, context_window: int | None = None, settings: object = None) -> None:
        self.uri = uri
        self.model = "scripted"
        self.context_window = context_window or 4096
        self._replies = list(replies)
        self._respond = respond
        self.prompts: list[list[Message]] = []

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def chat(self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0,
             stop: Sequence[str] | None = None) -> str:
        self.prompts.append(list(messages))
        if self._respond is not None:
            return self._respond(messages)
        return self._replies.pop(0) if self._replies else ""

    def stream(self, messages: Sequence[Message], **kw: object) -> Iterator[str]:
        text = self.chat(messages)
        for i in range(0, len(text), 8):
            yield text[i:i + 8]

    def close(self) -> None:
        pass
