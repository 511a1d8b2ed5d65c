"""Fitting passages into the model's context window, and saying exactly what did not fit.

Tokens are counted with the model's own tokenizer. Passages go in rank order; the first that does not fit
ends the context (it and every lower-ranked hit are dropped); if not even the top passage fits, it is
shortened. Every chunk shortened or dropped is a :class:`ChunkCut` with the tokens it lost, and the
whole budget (window, answer reserve, system prompt, question and template, each chunk) is a
:class:`PromptBudget`, so nothing is cut in silence.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError
from ..llm.base import LLM
from ..llm.prompts import Passage, build_messages, render_passage
from ..results import Hit

#: chat-template tokens around each message (role markers, separators) and before the answer;
#: Qwen's ChatML uses 5 per message and 3 to open the answer; the margin covers other templates.
MESSAGE_OVERHEAD = 8
REPLY_OVERHEAD = 8
#: the least room worth filling with the start of a shortened passage
MIN_SHORTENED_TOKENS = 32
ELLIPSIS = " …"


@dataclass
class ChunkCut:
    """A retrieved chunk that reached the model shortened (``dropped`` false) or not at all."""

    chunk_id: str
    source: str
    rank: int  # 1-based rank in the search result
    tokens: int  # the passage's tokens, whole
    tokens_cut: int  # tokens that did not reach the model (== tokens when dropped)
    dropped: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        what = "dropped" if self.dropped else f"shortened by {self.tokens_cut} of {self.tokens} tokens"
        return f"#{self.rank} {self.source} ({self.chunk_id[:10]}…) {what}"


@dataclass
class PromptBudget:
    """Where the context window went (tokens)."""

    window: int
    answer_reserve: int
    system_prompt: int
    question_and_template: int
    #: per passage sent: {"n", "chunk_id", "tokens"} (tokens as sent, after any shortening)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        per = ", ".join(f"[{c['n']}] {c['tokens']}" for c in self.chunks) or "none"
        return (f"window {self.window} = answer reserve {self.answer_reserve} + prompt {self.prompt_tokens} "
                f"(system {self.system_prompt}, question and template {self.question_and_template}, "
                f"chunks {per}) + {max(0, self.window - self.answer_reserve - self.prompt_tokens)} free")


@dataclass
class Budget:
    """The outcome of fitting passages into the context window."""

    passages: list[Passage]
    used: list[Hit]
    dropped: list[Hit]
    prompt_tokens: int
    cuts: list[ChunkCut] = field(default_factory=list)
    report: PromptBudget | None = None

    @property
    def truncated(self) -> bool:
        return any(not c.dropped for c in self.cuts)


def prompt_tokens(llm: LLM, messages: Sequence[dict[str, str]]) -> int:
    """Tokens ``messages`` take once the chat template wraps them, counted with the model's tokenizer."""
    return sum(llm.count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages) + REPLY_OVERHEAD


def fit_passages(llm: LLM, question: str, hits: Sequence[Hit], *, max_answer_tokens: int,
                 lang: str, quote: bool = False) -> Budget:
    """Take hits in rank order while the prompt plus ``max_answer_tokens`` fits the context window.

    The first hit that does not fit ends the context: it and every lower-ranked hit are dropped, so
    what is dropped is always the lowest-ranked. If not even the top hit fits, its text is cut to fit.
    The final prompt is counted whole, so ``prompt_tokens`` is what the model sees.

    Raises:
        ConfigError: the question alone leaves no room for any passage.
    """
    limit = llm.context_window - max_answer_tokens
    base = prompt_tokens(llm, build_messages(question, [], lang, quote=quote))
    if base >= limit:
        raise ConfigError(f"The question takes {base} tokens: no room for any passage in the "
                          f"{llm.context_window}-token context of {llm.model} with {max_answer_tokens} "
                          "tokens kept for the answer.")
    passages: list[Passage] = []
    sizes: list[int] = []  # each hit's passage tokens, whole
    total = base
    shortened: dict[int, int] = {}  # passage index -> tokens as sent
    for hit in hits:
        p = Passage(n=len(passages) + 1, source=hit.source, text=hit.text)
        # cost of one more passage: its own tokens plus the blank line joining it to the others
        cost = llm.count_tokens(render_passage(p)) + 2
        if total + cost > limit:
            if not passages:
                cut = _truncate_to_fit(llm, p, limit - total)
                if cut is not None:
                    passages.append(cut)
                    sizes.append(cost - 2)
                    shortened[0] = llm.count_tokens(render_passage(cut))
            break
        passages.append(p)
        sizes.append(cost - 2)
        total += cost
    # count the assembled prompt as a whole: tokens can merge across joins, counts of parts only estimate
    exact = prompt_tokens(llm, build_messages(question, passages, lang, quote=quote))
    while exact > limit and len(passages) > 1:
        passages.pop()
        exact = prompt_tokens(llm, build_messages(question, passages, lang, quote=quote))
    n = len(passages)
    cuts = [ChunkCut(hits[0].id, hits[0].source, 1, sizes[0], sizes[0] - shortened[0], False)] if shortened else []
    for rank, hit in enumerate(hits[n:], start=n + 1):
        whole = sizes[rank - 1] if rank - 1 < len(sizes) else llm.count_tokens(
            render_passage(Passage(rank, hit.source, hit.text)))
        cuts.append(ChunkCut(hit.id, hit.source, rank, whole, whole, True))
    system = llm.count_tokens(build_messages(question, [], lang, quote=quote)[0]["content"]) + MESSAGE_OVERHEAD
    report = PromptBudget(
        window=llm.context_window, answer_reserve=max_answer_tokens, system_prompt=system,
        question_and_template=base - system,
        chunks=[{"n": p.n, "chunk_id": h.id, "tokens": shortened.get(i, sizes[i])}
                for i, (p, h) in enumerate(zip(passages, hits))],
        prompt_tokens=exact)
    return Budget(passages, list(hits[:n]), list(hits[n:]), exact, cuts=cuts, report=report)


def _truncate_to_fit(llm: LLM, p: Passage, room: int) -> Passage | None:
    if room < MIN_SHORTENED_TOKENS:
        return None
    lo, hi = 0, len(p.text)
    while lo < hi:  # longest prefix (in characters) whose passage fits in ``room`` tokens
        mid = (lo + hi + 1) // 2
        if llm.count_tokens(render_passage(Passage(p.n, p.source, p.text[:mid] + ELLIPSIS))) + 2 <= room:
            lo = mid
        else:
            hi = mid - 1
    return Passage(p.n, p.source, p.text[:lo] + ELLIPSIS) if lo > 0 else None


def cut_reason(cuts: Sequence[ChunkCut], window: int) -> str | None:
    """One sentence for people naming every chunk cut to fit ``window`` (None when nothing was cut)."""
    if not cuts:
        return None
    return (f"to fit the {window}-token context window: "
            + "; ".join(c.describe() for c in cuts))
