"""What ``ask`` returns: the answer, its checked sentences and citations, what was cut, why it refused."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .budget import ChunkCut, PromptBudget
from .support import SentenceCheck

AbstainReason = Literal["retrieval", "model", "unsupported"]

#: one sentence for people per reason an answer was refused
ABSTAIN_SENTENCE: dict[str, str] = {
    "retrieval": "Nothing in the knowledge base is relevant enough to this question (the search cut-off "
                 "kept no passage), so the model was not asked.",
    "model": "The model read the retrieved passages and said they do not contain the answer.",
    "unsupported": "The model's answer is not supported by the retrieved passages, so it is not shown "
                   "as an answer.",
    "unquoted": "The model's quote was not found in the retrieved passages, so it is not shown as an answer.",
}


@dataclass
class Citation:
    n: int
    source: str
    chunk_id: str
    text: str
    #: False when no sentence citing it passed the support check
    supported: bool = True
    #: every document the chunk is stored for (``source`` first): the same text in several files
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "source": self.source, "sources": self.sources or [self.source],
                "chunk_id": self.chunk_id, "text": self.text, "supported": self.supported}


@dataclass
class Answer:
    """What ``ask`` returns. ``used_chunks``/``dropped_chunks`` are chunk ids in rank order."""

    answer: str
    citations: list[Citation]
    used_chunks: list[str]
    dropped_chunks: list[str]
    #: the model that answered (or would have: retrieval refusals name the model chosen)
    model: str
    abstained: bool
    #: why the answer abstained or chunks were cut, for people
    reason: str | None = None
    prompt_tokens: int = 0
    seconds: float = 0.0
    #: citation numbers the model wrote that match no passage (removed from ``answer``)
    invalid_citations: list[int] = field(default_factory=list)
    abstained_because: AbstainReason | None = None
    #: every chunk shortened or dropped to fit the window, with the tokens it lost
    cut_chunks: list[ChunkCut] = field(default_factory=list)
    budget: PromptBudget | None = None
    #: each answer sentence with its checked citations
    sentences: list[SentenceCheck] = field(default_factory=list)
    #: the model's own text when it was withheld as unsupported
    draft: str | None = None
    #: seconds from the call to the first piece of the answer (None when the model was not called)
    first_token_seconds: float | None = None
    #: prompt tokens the backend took from its KV cache of the previous question (the fixed prefix:
    #: system prompt and the opening of the user message); None when the backend does not say
    cached_prompt_tokens: int | None = None
    #: extractive mode (``ask --quote``): each sentence's quotes were checked verbatim against the passages
    quote: bool = False

    @property
    def supported_sentences(self) -> int:
        return sum(s.supported for s in self.sentences)

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "mode": "quote" if self.quote else "answer", "citations": [c.to_dict() for c in self.citations],
                "used_chunks": self.used_chunks, "dropped_chunks": self.dropped_chunks,
                "cut_chunks": [c.to_dict() for c in self.cut_chunks],
                "truncated": any(not c.dropped for c in self.cut_chunks),
                "model": self.model, "abstained": self.abstained, "abstained_because": self.abstained_because,
                "reason": self.reason, "sentences": [s.to_dict() for s in self.sentences],
                "supported": (self.supported_sentences > 0) if self.sentences else None,
                "draft": self.draft, "invalid_citations": self.invalid_citations,
                "budget": self.budget.to_dict() if self.budget else None,
                "prompt_tokens": self.prompt_tokens, "seconds": round(self.seconds, 3),
                "first_token_seconds": None if self.first_token_seconds is None
                else round(self.first_token_seconds, 3), "cached_prompt_tokens": self.cached_prompt_tokens}
