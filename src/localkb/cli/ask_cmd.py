"""``localkb ask``: a grounded answer with numbered citations, streamed on a terminal."""
from __future__ import annotations

import sys

import click

from .common import echo_json, handle_errors, json_option, kb_option


@click.command("ask")
@click.argument("question")
@kb_option
@click.option("--llm", "llm", default=None, metavar="URI",
              help="ollama://MODEL | llamacpp:///path.gguf | openai://HOST:PORT/v1 "
                   "[default: $LOCALKB_LLM, else the provisioned Qwen GGUF].")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True,
              help="Passages to retrieve before fitting them into the context window.")
@click.option("--min-score", default=None,
              help="Retrieval cut-off: 'auto' (default: the KB's calibrated one), 'none', or a number.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True,
              help="Seconds to wait for the model before giving up.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for an in-process model [default: $LOCALKB_LLM_THREADS or 2].")
@click.option("--max-tokens", "max_tokens", type=click.IntRange(min=16), default=256, show_default=True,
              help="Longest answer, in tokens (kept free when fitting the prompt).")
@json_option
@handle_errors
def ask(question: str, kb: str | None, llm: str | None, k: int, min_score: str | None, timeout: float,
        threads: int | None, max_tokens: int, as_json: bool) -> None:
    """Answer QUESTION from the knowledge base with a local LLM, citing sources as [1], [2]…

    Says "I don't know" (and exits 0) when the knowledge base does not hold the answer.
    With --json prints one object: answer, citations [{n, source, chunk_id, text}], used_chunks,
    dropped_chunks, model, abstained.
    """
    from ..errors import SearchError
    from ..kb import KnowledgeBase
    from ..rag import answer
    from .search_cmd import parse_min_score

    if not question.strip():
        raise SearchError("The question is empty.")
    live = not as_json and sys.stdout.isatty()
    streamed: list[str] = []

    def show(piece: str) -> None:
        streamed.append(piece)
        click.echo(piece, nl=False)
        sys.stdout.flush()

    with KnowledgeBase.open(kb, create=False) as base:
        result = answer(base, question, llm=llm, k=k, min_score=parse_min_score(min_score),
                        max_answer_tokens=max_tokens, stream_cb=show if live else None, timeout=timeout,
                        threads=threads)
    if as_json:
        echo_json(result.to_dict())
        return
    # when streamed, the answer is already on screen (only a newline is missing)
    click.echo("" if streamed else result.answer)
    if result.citations:
        click.echo()
        for c in result.citations:
            click.echo(f"[{c.n}] {c.source}  ({c.chunk_id})")
    if result.dropped_chunks or (result.abstained and result.reason):
        click.echo(f"\n({result.reason})", err=True)
