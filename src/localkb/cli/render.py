"""Human output for search results."""
from __future__ import annotations

import click

from ..results import SearchResult


def print_hits(result: SearchResult) -> None:
    for token, found in result.exact_match.items():
        if not found:
            click.secho(f"note: no document contains '{token}' exactly", fg="yellow", err=True)
    if not result.hits:
        click.echo(f"No results. {result.reason or ''}".strip())
        return
    if any(hit.matched_terms for hit in result.hits):
        click.echo("(hits marked ✓ contain the query's code exactly and rank above those that do not)")
    for n, hit in enumerate(result.hits, 1):
        tags = f"  [{', '.join(hit.tags)}]" if hit.tags else ""
        exact = f"  ✓ {' '.join(hit.matched_terms)}" if hit.matched_terms else ""
        click.secho(f"{n}. {hit.score:.3f}  {hit.source}{tags}{exact}", bold=True)
        text = " ".join(hit.text.split())
        click.echo(f"   {text[:300]}{'…' if len(text) > 300 else ''}")
    if result.collapsed:
        click.echo(f"({len(result.collapsed)} near-duplicate chunk(s) collapsed into the hits above; "
                   "--no-collapse-duplicates shows them)")
