"""``localkb ask``: a grounded answer with checked citations, streamed on a terminal."""
from __future__ import annotations

import sys

import click

from .common import echo_json, handle_errors, json_option, kb_option, open_kb


@click.command("ask")
@click.argument("question")
@kb_option
@click.option("--llm", "llm", default=None, metavar="URI",
              help="ollama://MODEL | llamacpp:///path.gguf | openai://HOST:PORT/v1 "
                   "[default: $LOCALKB_LLM, else the best provisioned Qwen GGUF].")
@click.option("-k", "k", type=int, default=5, show_default=True,  # below 1: the library's error (exit 1)
              help="Passages to retrieve before fitting them into the context window (at least 1).")
@click.option("--min-score", default=None,
              help="Retrieval cut-off: 'auto' (default: the KB's calibrated one), 'none', or a number.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True,
              help="Seconds to wait for the model before giving up.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for an in-process model [default: $LOCALKB_LLM_THREADS or 2].")
@click.option("--max-tokens", "max_tokens", type=click.IntRange(min=16), default=256, show_default=True,
              help="Longest answer, in tokens (kept free when fitting the prompt).")
@click.option("--no-verify", "no_verify", is_flag=True,
              help="Keep citations as the model wrote them (skip the per-sentence support check).")
@click.option("--quote", is_flag=True,
              help="Extractive mode: the model must quote the answering words; each quote is looked up "
                   "verbatim (case, spaces and punctuation aside) in the passage it cites, else unsupported.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also print the model, the prompt budget (window, answer reserve, system prompt, each "
                   "chunk) and each sentence's support score.")
@json_option
@handle_errors
def ask(question: str, kb: str | None, llm: str | None, k: int, min_score: str | None, timeout: float,
        threads: int | None, max_tokens: int, no_verify: bool, quote: bool, verbose: bool, as_json: bool) -> None:
    """Answer QUESTION from the knowledge base with a local LLM, citing sources as [1], [2]…

    Each sentence is checked against the passage it cites; a wrong citation is moved to the passage
    that supports the sentence, and an answer no passage supports is withheld. Refusals say why:
    retrieval found nothing, the model did not know, or the answer was unsupported (exit 0).
    Every chunk shortened or dropped to fit the window is listed with the tokens it lost.
    With --json prints one object (docs/ask.md lists its keys).
    """
    from ..errors import SearchError
    from .search_cmd import parse_min_score

    if not question.strip():
        raise SearchError("The question is empty.")
    live = not as_json and sys.stdout.isatty()
    streamed: list[str] = []

    def show(piece: str) -> None:
        streamed.append(piece)
        click.echo(piece, nl=False)
        sys.stdout.flush()

    with open_kb(kb) as base:
        result = base.ask(question, llm=llm, k=k, min_score=parse_min_score(min_score),
                          max_answer_tokens=max_tokens, stream_cb=show if live else None, timeout=timeout,
                          threads=threads, verify=not no_verify, quote=quote)
    if as_json:
        echo_json(result.to_dict())
        return
    if streamed:  # the model's own words are on screen; show the checked answer if it differs
        click.echo()
        if result.answer.strip() != "".join(streamed).strip():
            click.echo(f"Checked: {result.answer}")
    else:
        click.echo(result.answer)
    if result.citations:
        click.echo()
        for c in result.citations:
            flag = "" if c.supported else "  — not supported by the passage"
            click.echo(f"[{c.n}] {c.source}  ({c.chunk_id}){flag}")
            for other in c.sources[1:]:  # the same passage stored for several documents: every one is shown
                click.echo(f"    also in {other}")
    notes = [(f"Quote not found in the passages: \"{s.text}\" (longest match {s.support_score:.0%})" if result.quote
              else f"Not supported by the passages: \"{s.text}\" (support {s.support_score:.2f})")
             for s in result.sentences if not s.supported and not result.abstained]
    notes += [f"Citation moved: \"{s.text}\" (the model cited {s.cited})" for s in result.sentences if s.moved]
    if result.abstained_because:
        notes.append(f"Refused ({result.abstained_because}): {result.reason}")
    for cut in result.cut_chunks:
        notes.append(f"Cut to fit the {result.budget.window if result.budget else '?'}-token window: "
                     f"{cut.describe()}")
    if verbose:
        notes.append(f"Model: {result.model}")
        if result.budget:
            notes.append(f"Prompt budget: {result.budget.describe()}")
        for i, s in enumerate(result.sentences, 1):
            notes.append(f"Sentence {i}: supported={s.supported} score={s.support_score:.2f} "
                         f"citations={s.citations} scores={s.scores}")
        ttft = "-" if result.first_token_seconds is None else f"{result.first_token_seconds:.1f} s"
        cached = "" if result.cached_prompt_tokens is None else \
            f", {result.cached_prompt_tokens} of {result.prompt_tokens} prompt tokens reused from the KV cache"
        notes.append(f"Time: {result.seconds:.1f} s (first token {ttft}{cached})")
    if notes:
        click.echo("\n" + "\n".join(f"({n})" for n in notes), err=True)
