"""Grounded answers: retrieve → budget → prompt → answer → check every sentence against the passages.

``answer(kb, question)`` never loses context silently: the prompt is fitted to the model's context
window by counting tokens with the model's own tokenizer, lowest-ranked chunks are dropped first and
every chunk shortened or dropped is reported (``Answer.cut_chunks``, with the tokens it lost). Each
sentence of the answer is then checked against the passages (``support.py``): a citation that does not
support its sentence is moved to the passage that does, or the sentence is marked unsupported. A
refusal says why (``abstained_because``): ``"retrieval"`` (the search cut-off kept nothing; the model
is not called), ``"model"`` (it said the passages lack the answer) or ``"unsupported"`` (no sentence of
its answer is supported by the passages; the text is kept in ``draft``). With ``quote=True`` the model
must copy the answering span and each copy is checked verbatim against the passages (``quote.py``).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import ConfigError, LocalKBError, SearchError
from ..llm.base import LLM, open_llm
from ..llm.prompts import ABSTAIN, FOLLOW_UP, FOLLOW_UP_QUOTE, build_messages, is_abstention, language
from ..search.engine import check_k
from .budget import Budget, ChunkCut, PromptBudget, cut_reason, fit_passages, prompt_tokens
from .citations import has_words, parse_citations, split_sentences, strip_invalid_citations, with_citations
from .quote import check_quotes
from .result import ABSTAIN_SENTENCE, AbstainReason, Answer, Citation
from .support import SentenceCheck, SupportChecker

if TYPE_CHECKING:
    from ..embedders.base import Embedder
    from ..parts import Searchable
    from ..settings import Settings

DEFAULT_ANSWER_TOKENS = 256


def _model_label(llm: LLM | str | None, settings: Settings | None) -> str:
    """A display name for the model without loading it (used when no LLM call is needed)."""
    if llm is not None and not isinstance(llm, str):
        return llm.model
    if llm is None:
        from ..llm.gguf import default_llm_uri

        try:
            llm = default_llm_uri(settings=settings)
        except LocalKBError:
            return ""
    return llm.rstrip("/").rsplit("/", 1)[-1].removesuffix(".gguf")


def _resolve_llm(llm: LLM | str | None, timeout: float, threads: int | None,
                 settings: Settings | None) -> tuple[LLM, bool]:
    if llm is None or isinstance(llm, str):
        from ..llm.gguf import default_llm_uri

        return open_llm(llm or default_llm_uri(settings=settings), timeout=timeout, threads=threads,
                        settings=settings), True
    return llm, False


def answer(kb: Searchable, question: str, *, llm: LLM | str | None = None, k: int = 5,
           min_score: float | str | None = None, tags: list[str] | None = None,
           max_answer_tokens: int = DEFAULT_ANSWER_TOKENS, stream_cb: Callable[[str], None] | None = None,
           timeout: float = 120.0, threads: int | None = None, embedder: Embedder | None = None,
           verify: bool = True, quote: bool = False, settings: Settings | None = None) -> Answer:
    """Answer ``question`` from ``kb`` with ``llm`` (an LLM, a URI, or None for the default model).

    Args:
        k: passages to retrieve (before budgeting).
        min_score: retrieval cut-off passed to ``kb.search`` (None: the KB's own; "none": no cut-off).
        max_answer_tokens: tokens kept free for the answer when fitting the prompt.
        stream_cb: called with each piece of the answer as the model produces it (before checking).
        timeout, threads: used when ``llm`` is a URI or None.
        embedder: the KB's embedder, for the embedding half of the support check (lexical only if None).
        verify: check each sentence against the passages (``False``: citations as the model wrote them).
        quote: extractive mode: the model quotes the answering span, each quote is looked up verbatim
            (whitespace, case and punctuation normalised) in the passages; a quote found nowhere is
            unsupported. Always checked, so it cannot be combined with ``verify=False``.
        settings: the resolved settings (the KB's): the default LLM and its threads and context window.

    Raises:
        SearchError: empty question; ``OutOfRange``: k < 1. ConfigError: the question alone overflows the context window.
        LLMError (and subclasses): the model failed, timed out or is unreachable.
    """
    if not question or not question.strip():
        raise SearchError("The question is empty.")
    check_k(k)  # the check (and message) of ``kb.search``
    if quote and not verify:
        raise ConfigError("quote mode checks every quote against the passages; it cannot be combined with "
                          "verify=False (--no-verify)")
    started = time.monotonic()
    lang = language(question)
    result = kb.search(question, k=k, tags=tags, min_score=min_score)
    if not result.hits:
        why = result.reason or "retrieval found no passage relevant to the question"
        return Answer(ABSTAIN[lang], [], [], [], _model_label(llm, settings), True,
                      reason=f"{ABSTAIN_SENTENCE['retrieval']} ({why})", abstained_because="retrieval",
                      seconds=time.monotonic() - started)
    model, owned = _resolve_llm(llm, timeout, threads, settings)
    first: list[float] = []
    try:
        budget = fit_passages(model, question, result.hits, max_answer_tokens=max_answer_tokens, lang=lang,
                              quote=quote)
        if not budget.passages:
            raise ConfigError("No passage fits the context window; raise the model's context or shorten "
                              "the question.")
        messages = build_messages(question, budget.passages, lang, quote=quote)
        raw = _generate(model, messages, max_answer_tokens, stream_cb, first)
        cached = getattr(model, "last_cached_tokens", None)
        first_cites: list[int] = []
        if raw and not has_words(raw):
            # small models sometimes reply with the citation alone ("[1]"): ask once for the words
            first_cites, _ = parse_citations(raw, len(budget.passages))
            follow = [*messages, {"role": "assistant", "content": raw},
                      {"role": "user", "content": (FOLLOW_UP_QUOTE if quote else FOLLOW_UP)[lang]}]
            raw = _generate(model, follow, max_answer_tokens, stream_cb, first)
    finally:
        if owned:
            model.close()
    checker = SupportChecker(embedder) if verify else None
    ans = _finish(raw, budget, model.model, question, lang, checker, first_cites, quote)
    ans.seconds = time.monotonic() - started
    ans.first_token_seconds = first[0] - started if first else None
    ans.cached_prompt_tokens = cached
    return ans


def _generate(model: LLM, messages: list[dict[str, str]], max_tokens: int,
              stream_cb: Callable[[str], None] | None, first: list[float]) -> str:
    """Run the model; pass pieces to ``stream_cb`` once the answer has words (a bare "[1]" is held back).
    ``first`` receives the time of the first piece."""
    pieces: list[str] = []
    flushed = 0
    for piece in model.stream(messages, max_tokens=max_tokens, temperature=0.0):
        if not first:
            first.append(time.monotonic())
        pieces.append(piece)
        if stream_cb is not None and (flushed or has_words("".join(pieces))):
            stream_cb("".join(pieces[flushed:]))
            flushed = len(pieces)
    return "".join(pieces).strip()


def check_answer(text: str, passages: Sequence[str], question: str,
                 checker: SupportChecker) -> tuple[str, list[SentenceCheck]]:
    """Check each sentence of ``text`` against ``passages`` (passage n is ``passages[n-1]``).

    Returns the answer with its citation markers corrected (moved to the supporting passage) and the
    per-sentence checks. The same path ``answer`` takes after generation.
    """
    sentences = split_sentences(text)
    parsed = [(s, parse_citations(s, len(passages))[0]) for s in sentences]
    return _with_checked_citations(text, checker.check(parsed, passages, question))


def check_quoted_answer(text: str, passages: Sequence[str]) -> tuple[str, list[SentenceCheck]]:
    """``check_answer`` for ``quote`` mode: each quote looked up verbatim (normalised) in the passages."""
    return _with_checked_citations(text, check_quotes(text, passages))


def _with_checked_citations(text: str, checks: list[SentenceCheck]) -> tuple[str, list[SentenceCheck]]:
    """``text`` with each sentence's markers replaced by its checked citations (unchanged when none moved)."""
    fixed = [with_citations(c.text, c.citations) if c.citations != c.cited else c.text for c in checks]
    for c, t in zip(checks, fixed):
        c.text = t
    return " ".join(fixed) if any(c.citations != c.cited for c in checks) else text, checks


def _finish(raw: str, budget: Budget, model_name: str, question: str, lang: str,
            checker: SupportChecker | None, earlier_citations: Sequence[int] = (), quote: bool = False) -> Answer:
    count = len(budget.passages)
    cited, invalid = parse_citations(raw, count)
    if not cited and earlier_citations:  # the words came after a bare "[n]": keep that citation
        cited = list(earlier_citations)
        raw = f"{raw} " + "".join(f"[{n}]" for n in cited)
    text = strip_invalid_citations(raw, count) if invalid else raw
    cuts = cut_reason(budget.cuts, budget.report.window if budget.report else 0)
    because: AbstainReason | None = "model" if is_abstention(text, bool(cited)) else None
    checks: list[SentenceCheck] = []
    draft: str | None = None
    if because is None and checker is not None:
        passages = [p.text for p in budget.passages]
        text, checks = (check_quoted_answer(text, passages) if quote
                        else check_answer(text, passages, question, checker))
        cited = sorted({n for c in checks for n in c.citations})
        if not any(c.supported for c in checks):
            because, draft, text = "unsupported", text, ABSTAIN[lang]
    supported = {n for c in checks if c.supported for n in c.citations}
    citations = [] if because else [
        Citation(n=n, source=budget.used[n - 1].source, chunk_id=budget.used[n - 1].id,
                 text=budget.used[n - 1].text, supported=(n in supported) if checks else True,
                 sources=list(budget.used[n - 1].sources))
        for n in sorted(cited)]
    said = "unquoted" if quote and because == "unsupported" else because
    reason = " ".join(x for x in (ABSTAIN_SENTENCE[said] if said else None,
                                  f"Cut {cuts}." if cuts else None) if x) or None
    return Answer(answer=text, citations=citations, used_chunks=[h.id for h in budget.used],
                  dropped_chunks=[h.id for h in budget.dropped], model=model_name, abstained=bool(because),
                  reason=reason, prompt_tokens=budget.prompt_tokens, invalid_citations=invalid,
                  abstained_because=because, cut_chunks=budget.cuts, budget=budget.report,
                  sentences=checks, draft=draft, quote=quote)


__all__ = ["ABSTAIN_SENTENCE", "Answer", "Budget", "ChunkCut", "Citation", "PromptBudget", "SentenceCheck",
           "SupportChecker", "answer", "check_answer", "check_quoted_answer", "fit_passages", "parse_citations", "prompt_tokens",
           "strip_invalid_citations"]
