"""Grounded answers: retrieve → budget → prompt → answer with numbered citations, or abstain.

``answer(kb, question)`` never loses context silently: the prompt is fitted to the model's context
window by counting tokens with the model's own tokenizer, lowest-ranked chunks are dropped first and
every dropped chunk is reported in ``Answer.dropped_chunks``. When retrieval finds nothing the model
is not called at all; when the model says the passages lack the answer, ``abstained`` is true.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ConfigError, LocalKBError, SearchError
from .llm.base import LLM, open_llm
from .llm.prompts import ABSTAIN, FOLLOW_UP, Passage, build_messages, is_abstention, language, render_passage
from .results import Hit, SearchResult

#: chat-template tokens around each message (role markers, separators) and before the answer;
#: Qwen's ChatML uses 5 per message and 3 to open the answer; the margin covers other templates.
MESSAGE_OVERHEAD = 8
REPLY_OVERHEAD = 8
DEFAULT_ANSWER_TOKENS = 256

_CITATION = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]】]")


class Searchable(Protocol):
    def search(self, query: str, *, k: int = 10, tags: Sequence[str] | None = None,
               min_score: float | str | None = None, mode: str | None = None) -> SearchResult: ...


@dataclass
class Citation:
    n: int
    source: str
    chunk_id: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "source": self.source, "chunk_id": self.chunk_id, "text": self.text}


@dataclass
class Answer:
    """What ``ask`` returns. ``used_chunks``/``dropped_chunks`` are chunk ids in rank order."""

    answer: str
    citations: list[Citation]
    used_chunks: list[str]
    dropped_chunks: list[str]
    model: str
    abstained: bool
    #: why the answer abstained or chunks were dropped, for people
    reason: str | None = None
    prompt_tokens: int = 0
    seconds: float = 0.0
    #: citation numbers the model wrote that match no passage (removed from ``answer``)
    invalid_citations: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "citations": [c.to_dict() for c in self.citations],
                "used_chunks": self.used_chunks, "dropped_chunks": self.dropped_chunks,
                "model": self.model, "abstained": self.abstained}


@dataclass
class Budget:
    """The outcome of fitting passages into the context window."""

    passages: list[Passage]
    used: list[Hit]
    dropped: list[Hit]
    prompt_tokens: int
    truncated: bool = False


def prompt_tokens(llm: LLM, messages: Sequence[dict[str, str]]) -> int:
    """Tokens ``messages`` take once the chat template wraps them, counted with the model's tokenizer."""
    return sum(llm.count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages) + REPLY_OVERHEAD


def fit_passages(llm: LLM, question: str, hits: Sequence[Hit], *, max_answer_tokens: int,
                 lang: str) -> Budget:
    """Take hits in rank order while the prompt plus ``max_answer_tokens`` fits the context window.

    The first hit that does not fit ends the context: it and every lower-ranked hit are dropped, so
    what is dropped is always the lowest-ranked. If not even the top hit fits, its text is cut to fit
    (``truncated``). The final prompt is counted whole, so ``prompt_tokens`` is what the model sees.
    Raises ``ConfigError`` when the question alone leaves no room.
    """
    limit = llm.context_window - max_answer_tokens
    base = prompt_tokens(llm, build_messages(question, [], lang))
    if base >= limit:
        raise ConfigError(f"The question takes {base} tokens: no room for any passage in the "
                          f"{llm.context_window}-token context of {llm.model} with {max_answer_tokens} "
                          "tokens kept for the answer.")
    passages: list[Passage] = []
    total = base
    truncated = False
    for hit in hits:
        p = Passage(n=len(passages) + 1, source=hit.source, text=hit.text)
        # cost of one more passage: its own tokens plus the blank line joining it to the others
        cost = llm.count_tokens(render_passage(p)) + 2
        if total + cost > limit:
            if not passages:
                cut = _truncate_to_fit(llm, p, limit - total)
                if cut is not None:
                    passages.append(cut)
                    truncated = True
            break
        passages.append(p)
        total += cost
    # count the assembled prompt as a whole: tokens can merge across joins, counts of parts only estimate
    exact = prompt_tokens(llm, build_messages(question, passages, lang))
    while exact > limit and len(passages) > 1:
        passages.pop()
        exact = prompt_tokens(llm, build_messages(question, passages, lang))
    n = len(passages)
    return Budget(passages, list(hits[:n]), list(hits[n:]), exact, truncated=truncated)


def _truncate_to_fit(llm: LLM, p: Passage, room: int) -> Passage | None:
    if room < 32:
        return None
    lo, hi = 0, len(p.text)
    while lo < hi:  # longest prefix (in characters) whose passage fits in ``room`` tokens
        mid = (lo + hi + 1) // 2
        if llm.count_tokens(render_passage(Passage(p.n, p.source, p.text[:mid] + " …"))) + 2 <= room:
            lo = mid
        else:
            hi = mid - 1
    return Passage(p.n, p.source, p.text[:lo] + " …") if lo > 0 else None


def parse_citations(text: str, count: int) -> tuple[list[int], list[int]]:
    """Numbers cited in ``text`` as ``[1]``, ``[1, 2]`` or ``【1】``: (valid in 1..count, invalid), in order."""
    valid: list[int] = []
    invalid: list[int] = []
    for m in _CITATION.finditer(text):
        for raw in re.split(r"[,，、;]", m.group(1)):
            n = int(raw.strip())
            bucket = valid if 1 <= n <= count else invalid
            if n not in bucket:
                bucket.append(n)
    return valid, invalid


def strip_invalid_citations(text: str, count: int) -> str:
    """Remove citation markers whose numbers name no passage, so no reference dangles."""
    def keep(m: re.Match[str]) -> str:
        nums = [int(x.strip()) for x in re.split(r"[,，、;]", m.group(1))]
        good = [n for n in nums if 1 <= n <= count]
        return "".join(f"[{n}]" for n in good) if len(good) != len(nums) else m.group(0)

    return re.sub(r"\s+(?=[.,;:!?。，])", "", _CITATION.sub(keep, text)).strip()


def _model_label(llm: LLM | str | None) -> str:
    """A display name for the model without loading it (used when no LLM call is needed)."""
    if llm is not None and not isinstance(llm, str):
        return llm.model
    if llm is None:
        from .llm.gguf import default_llm_uri

        try:
            llm = default_llm_uri()
        except LocalKBError:
            return ""
    return llm.rstrip("/").rsplit("/", 1)[-1].removesuffix(".gguf")


def _resolve_llm(llm: LLM | str | None, timeout: float, threads: int | None) -> tuple[LLM, bool]:
    if llm is None or isinstance(llm, str):
        from .llm.gguf import default_llm_uri

        return open_llm(llm or default_llm_uri(), timeout=timeout, threads=threads), True
    return llm, False


def answer(kb: Searchable, question: str, *, llm: LLM | str | None = None, k: int = 5,
           min_score: float | str | None = None, tags: list[str] | None = None,
           max_answer_tokens: int = DEFAULT_ANSWER_TOKENS, stream_cb: Callable[[str], None] | None = None,
           timeout: float = 120.0, threads: int | None = None) -> Answer:
    """Answer ``question`` from ``kb`` with ``llm`` (an LLM, a URI, or None for the default model).

    Args:
        k: passages to retrieve (before budgeting).
        min_score: retrieval cut-off passed to ``kb.search`` (None: the KB's own; "none": no cut-off).
        max_answer_tokens: tokens kept free for the answer when fitting the prompt.
        stream_cb: called with each piece of the answer as the model produces it.
        timeout, threads: used when ``llm`` is a URI or None.

    Raises:
        SearchError: empty question. ConfigError: the question alone overflows the context window.
        LLMError (and subclasses): the model failed, timed out or is unreachable.
    """
    if not question or not question.strip():
        raise SearchError("The question is empty.")
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    started = time.monotonic()
    lang = language(question)
    result = kb.search(question, k=k, tags=tags, min_score=min_score)
    if not result.hits:
        reason: str | None = result.reason or "retrieval found no passage relevant to the question"
        model_name = _model_label(llm)
        return Answer(ABSTAIN[lang], [], [], [], model_name, True, reason=reason,
                      seconds=time.monotonic() - started)
    model, owned = _resolve_llm(llm, timeout, threads)
    try:
        budget = fit_passages(model, question, result.hits, max_answer_tokens=max_answer_tokens, lang=lang)
        reason = None
        if budget.dropped or budget.truncated:
            reason = (f"{len(budget.dropped)} lower-ranked chunk(s) dropped"
                      + (" and the top chunk shortened" if budget.truncated else "")
                      + f" to fit the {model.context_window}-token context window")
        if not budget.passages:
            raise ConfigError("No passage fits the context window; raise the model's context or shorten "
                              "the question.")
        messages = build_messages(question, budget.passages, lang)
        raw = _generate(model, messages, max_answer_tokens, stream_cb)
        first_cites: list[int] = []
        if raw and not has_words(raw):
            # small models sometimes reply with the citation alone ("[1]"): ask once for the words
            first_cites, _ = parse_citations(raw, len(budget.passages))
            follow = [*messages, {"role": "assistant", "content": raw},
                      {"role": "user", "content": FOLLOW_UP[lang]}]
            raw = _generate(model, follow, max_answer_tokens, stream_cb)
    finally:
        if owned:
            model.close()
    return _finish(raw, budget, model.model, reason, started, first_cites)


def has_words(text: str) -> bool:
    """Is there anything besides citation markers, spaces and punctuation in ``text``?"""
    return bool(re.search(r"\w", _CITATION.sub("", text)))


def _generate(model: LLM, messages: list[dict[str, str]], max_tokens: int,
              stream_cb: Callable[[str], None] | None) -> str:
    """Run the model; pass pieces to ``stream_cb`` once the answer has words (a bare "[1]" is held back)."""
    pieces: list[str] = []
    flushed = 0
    for piece in model.stream(messages, max_tokens=max_tokens, temperature=0.0):
        pieces.append(piece)
        if stream_cb is not None and (flushed or has_words("".join(pieces))):
            stream_cb("".join(pieces[flushed:]))
            flushed = len(pieces)
    return "".join(pieces).strip()


def _finish(raw: str, budget: Budget, model_name: str, reason: str | None, started: float,
            earlier_citations: Sequence[int] = ()) -> Answer:
    count = len(budget.passages)
    cited, invalid = parse_citations(raw, count)
    if not cited and earlier_citations:  # the words came after a bare "[n]": keep that citation
        cited = list(earlier_citations)
        raw = f"{raw} " + "".join(f"[{n}]" for n in cited)
    text = strip_invalid_citations(raw, count) if invalid else raw
    abstained = is_abstention(text, bool(cited))
    citations = [] if abstained else [
        Citation(n=n, source=budget.used[n - 1].source, chunk_id=budget.used[n - 1].id,
                 text=budget.used[n - 1].text) for n in sorted(cited)]
    if abstained:
        reason = reason or "the model found no answer in the retrieved passages"
    return Answer(answer=text, citations=citations, used_chunks=[h.id for h in budget.used],
                  dropped_chunks=[h.id for h in budget.dropped], model=model_name, abstained=abstained,
                  reason=reason, prompt_tokens=budget.prompt_tokens, seconds=time.monotonic() - started,
                  invalid_citations=invalid)


__all__ = ["Answer", "Citation", "answer", "fit_passages", "parse_citations"]
