"""``localkb dedup``."""
from __future__ import annotations

import click

from .common import auto_or_number, echo_json, handle_errors, json_option, kb_option, open_kb


@click.command(help="Find near-duplicate chunks and documents (edited copies, the same notice twice).\n\n"
                    "Candidates come from MinHash/LSH over word shingles; a pair is a duplicate when the "
                    "cosine of its stored vectors reaches --threshold ('auto' reads it from this KB's "
                    "candidate pairs and says how). --apply records the groups so search shows one chunk "
                    "per group (every source is kept); --undo forgets them. See docs/map.md.")
@kb_option
@click.option("--threshold", default="auto", show_default=True, help="'auto' or a cosine in [0, 1].")
@click.option("--apply", "apply_", is_flag=True, help="Record the groups: search collapses them.")
@click.option("--undo", is_flag=True, help="Forget the applied groups (search shows every member again).")
@click.option("--show", type=click.IntRange(0, 10_000), default=20, show_default=True,
              help="Groups to print (human output; --json has all).")
@json_option
@handle_errors
def dedup(kb: str | None, threshold: str, apply_: bool, undo: bool, show: int, as_json: bool) -> None:
    from .progress import stage_progress

    if apply_ and undo:
        raise click.UsageError("--apply and --undo exclude each other.")
    value = auto_or_number(threshold, "--threshold", low=0.0, high=1.0)  # a cosine
    with open_kb(kb) as base:
        if undo:
            restored = base.undo_dedup()
            if as_json:
                echo_json({"action": "undone", **restored})
            else:
                click.echo(f"Undone: {restored['groups']} groups ({restored['chunks']} chunks) are searched "
                           "one by one again.")
            return
        with stage_progress(not as_json) as progress:
            result = base.dedup(threshold=value, apply=apply_, progress=progress)
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(f"Threshold {result.threshold:.3f} — {result.criterion}.")
    click.echo(f"{len(result.groups)} groups of near-duplicate chunks among {result.chunks} chunks "
               f"({result.candidates} MinHash candidate pairs); {len(result.documents)} groups of documents.")
    for doc in result.documents:
        click.secho(f"documents {doc['id']}: " + "  ≈  ".join(doc["sources"]), bold=True)
    for group in result.groups[:show]:
        click.secho(f"group {group.id}:", bold=True)
        for n, m in enumerate(group.members):
            mark = "kept" if n == 0 else f"{m['score']:.3f}"
            click.echo(f"  [{mark}] {m['source']}  {m['chunk_id'][:12]}")
        for diff in group.differs:
            for op in diff["ops"][:6]:
                click.echo(f"    {op['op']} {' '.join(op['text'].split())[:100]}")
    if len(result.groups) > show:
        click.echo(f"… {len(result.groups) - show} more groups (--show N, or --json for all).")
    if result.action == "applied":
        click.echo(f"Applied: search now shows one chunk per group ({len(result.groups)} groups); "
                   "undo with: localkb dedup --undo")
    elif result.groups:
        click.echo("Nothing changed. To make search show one chunk per group: localkb dedup --apply")
