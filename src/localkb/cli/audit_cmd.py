"""``localkb audit``."""
from __future__ import annotations

import click

from .common import echo_json, handle_errors, json_option, kb_option, open_kb


@click.command(help="Report what this KB's embedding model confuses (nothing is changed).\n\n"
                    "Colliding terms: near-miss identifiers (IBE/OBE, E11.9/E11.8) whose bare term's dense top "
                    "hit is the other's chunk, or whose defining chunks are closer than the KB's calibrated "
                    "cut-off says distinct things are; each with the cosine and today's hybrid ranks. Also "
                    "near-duplicate chunks that come from different sources. Exit 0 when the audit ran, "
                    "clean or not ('clean' in --json). Fix collisions with: localkb tune. See docs/tuning.md.")
@kb_option
@click.option("--show", type=click.IntRange(0, 10_000), default=20, show_default=True,
              help="Collisions to print (human output; --json has all).")
@click.option("--no-duplicates", is_flag=True, help="Skip the near-duplicate check.")
@json_option
@handle_errors
def audit(kb: str | None, show: int, no_duplicates: bool, as_json: bool) -> None:
    with open_kb(kb) as base:
        report = base.audit(duplicates=not no_duplicates)
    if as_json:
        echo_json(report.to_dict())
        return
    click.echo(f"Model {report.model}: {report.chunks} chunks, {report.terms} terms, {report.pairs} near-miss "
               f"pairs checked; calibrated cut-off {report.cutoff:.3f}, definitions bar {report.bar:.3f}.")
    click.secho(f"{len(report.collisions)} colliding term pairs", bold=True)
    for c in report.collisions[:show]:
        a, b = c.terms
        click.secho(f"  {a} ~ {b}  cosine {c.cosine:.3f}  [{', '.join(c.signals)}]", bold=True)
        for n, term in enumerate(c.terms):
            d, h = c.dense[term], c.hybrid.get(term, {})
            top = "its own chunk" if d["top_has_term"] else f"a chunk without it ({d['top'][:12]})"
            other = "—" if d["other"] is None else f"{d['other']:.3f}"
            click.echo(f"    {term}: dense top hit is {top}; best own {d['own']:.3f}, best other {other}; "
                       f"hybrid rank own {h.get('own') or '>10'}, other {h.get('other') or '>10'}")
            click.echo(f"      {c.chunks[n]['source']}  {c.chunks[n]['id'][:12]}  {c.chunks[n]['text'][:90]}")
    if len(report.collisions) > show:
        click.echo(f"  … {len(report.collisions) - show} more (--show N, or --json for all).")
    dup = report.duplicates
    if dup is not None:
        click.secho(f"{dup['groups']} groups of near-duplicate chunks from different sources "
                    f"({dup['chunks']} chunks)", bold=True)
        for g in dup["top"][:show]:
            click.echo("  " + "  ≈  ".join(f"{m['source']} {m['chunk_id'][:8]}" for m in g["members"]))
    for note in report.notes:
        click.echo(f"Note: {note}")
    if report.clean:
        click.echo("Clean: no colliding terms, no near-duplicates from different sources.")
    elif report.collisions:
        click.echo("To move colliding terms apart: localkb tune --kb KB --apply (docs/tuning.md)")
