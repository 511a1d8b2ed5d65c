"""``localkb eval rag``: answer quality of ``ask`` on a question file (EM, F1, citations, abstention, speed)."""
from __future__ import annotations

import sys

import click

from .common import echo_json, handle_errors, json_option, open_kb


@click.command("rag")
@click.argument("questions_file", metavar="QUESTIONS.jsonl", type=click.Path(dir_okay=False))
@click.option("--kb", "kb", type=click.Path(file_okay=False), default=None,
              help="The knowledge base to ask [default: $LOCALKB_KB or ./.localkb].")
@click.option("--llm", "llm", default=None, metavar="URI",
              help="The model [default: $LOCALKB_LLM, else the best provisioned Qwen GGUF].")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True,
              help="Passages to retrieve per question.")
@click.option("--max-tokens", "max_tokens", type=click.IntRange(min=16), default=256, show_default=True,
              help="Longest answer, in tokens.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for an in-process model [default: $LOCALKB_LLM_THREADS or 2].")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True,
              help="Seconds to wait for the model per answer.")
@click.option("--quote", is_flag=True, help="Ask in extractive mode (ask --quote): quotes checked verbatim.")
@json_option
@handle_errors
def eval_rag(questions_file: str, kb: str | None, llm: str | None, k: int, max_tokens: int,
             threads: int | None, timeout: float, quote: bool, as_json: bool) -> None:
    """Score `localkb ask` on QUESTIONS.jsonl: one {"question", "answers": [...]} per line
    ("unanswerable": true for questions the KB cannot answer; optional "gold_doc", "id").

    Prints exact match, token F1, answer-contains-gold, citation precision, supported-sentence rate,
    abstention on unanswerable questions, false abstention, seconds per answer and time to first
    token, then a table with one row per question. --json prints {"summary", "questions": [...]}.
    """
    from ..rag.evaluate import evaluate_rag, load_questions

    questions = load_questions(questions_file)

    def progress(i: int, n: int, row: object) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{i}/{n}", nl=False, err=True)

    with open_kb(kb) as base:
        result = evaluate_rag(base, questions, llm=llm, k=k, max_answer_tokens=max_tokens, timeout=timeout,
                              threads=threads, progress=progress, quote=quote)
    if as_json:
        echo_json(result.to_dict())
        return
    s = result.summary

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{100 * x:.1f} %"

    click.echo(f"model {result.model}: {s['answerable']} answerable, {s['unanswerable']} unanswerable questions")
    for label, key in (("exact match", "em"), ("token F1", "f1"), ("answer contains gold", "contains_gold"),
                       ("citation precision", "citation_precision"),
                       ("supported sentences", "supported_sentence_rate"),
                       ("abstention on unanswerable", "abstention_unanswerable"),
                       ("false abstention", "false_abstention")):
        click.echo(f"  {label:<28} {pct(s[key])}")
    click.echo(f"  {'seconds per answer':<28} {s['seconds_per_answer']}")
    click.echo(f"  {'time to first token (s)':<28} {s['first_token_seconds']}")
    click.echo(f"  {'prompt tokens from KV cache':<28} {s['cached_prompt_tokens']}")
    click.echo(f"  {'refusals by reason':<28} {s['abstained_because'] or 'none'}")
    click.echo(f"  {'answers with chunks cut':<28} {s['answers_with_cut_chunks']}")
    click.echo()
    click.echo(f"{'id':<10} {'ans?':<5} {'EM':>3} {'F1':>5} {'cite':>5} {'supp':>5} {'refused':<12} {'s':>6} "
               f"{'ttft':>5}  answer")
    for r in result.rows:
        cite = f"{r.citations_correct}/{r.citations}" if r.citations else "-"
        supp = f"{r.supported_sentences}/{r.sentences}" if r.sentences else "-"
        click.echo(f"{r.id[:10]:<10} {'yes' if r.answerable else 'no':<5} {r.em:>3.0f} {r.f1:>5.2f} {cite:>5} "
                   f"{supp:>5} {r.abstained_because or '':<12} {r.seconds:>6.1f} "
                   f"{'-' if r.first_token_seconds is None else f'{r.first_token_seconds:.1f}':>5}  {r.answer[:60]}")
