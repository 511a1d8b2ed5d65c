"""``localkb similar``."""
from __future__ import annotations

import click

from .common import echo_json, handle_errors, json_option, kb_option, open_kb


@click.command(help="Documents most similar to a document, a chunk or a text (\"more like this\").\n\n"
                    "TARGET is a document path as ingested (see `localkb documents`) or a chunk id; or give "
                    "--text instead. Results are other documents (never the target's own), scored from the "
                    "vectors already stored, each with the chunk pairs that made it similar. See docs/map.md.")
@click.argument("target", required=False)
@kb_option
@click.option("-k", "k", type=click.IntRange(1, 1000), default=5, show_default=True, help="Number of documents.")
@click.option("--text", default=None, help="Find documents similar to this text instead of a TARGET.")
@click.option("--mode", type=click.Choice(["dense", "hybrid"]), default="dense", show_default=True,
              help="dense (embeddings) or hybrid (embeddings + BM25 of the target's words).")
@json_option
@handle_errors
def similar(target: str | None, kb: str | None, k: int, text: str | None, mode: str, as_json: bool) -> None:
    if (target is None) == (text is None):
        raise click.UsageError("Give a TARGET (document path or chunk id) or --text, not both.")
    with open_kb(kb) as base:
        result = base.similar(target, k=k, text=text, mode=mode)
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(f"Similar to {result.kind} {result.target} ({result.mode}):")
    if not result.similar:
        click.echo("  no other document is similar.")
    for n, doc in enumerate(result.similar, 1):
        click.secho(f"{n}. {doc.score:.3f}  {doc.source}", bold=True)
        for pair in doc.pairs[:2]:
            mine = f"   “{pair['target_text'][:70]}”  ↔" if pair.get("target_text") else "  "
            click.echo(f"{mine}  “{pair['text'][:70]}”  ({pair['score']:.3f})")
