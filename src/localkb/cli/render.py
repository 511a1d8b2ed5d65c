"""Human output for search results."""
from __future__ import annotations

import click

from ..results import SearchResult


def print_hits(result: SearchResult) -> None:
    for token, found in result.exact_match.items():
        if not found:
            click.secho(f"note: no document contains '{token}' exactly", fg="yellow", err=True)
    if result.filters is not None:
        f = result.filters
        click.secho(f"(filters: {'; '.join(f['where'])} — {f['matching_chunks']} chunk(s) match, applied "
                    f"{f['applied']}){' ' + f['note'] if f.get('note') else ''}", dim=True, err=True)
    if not result.hits:
        click.echo(f"No results. {result.reason or ''}".strip())
        return
    if any(hit.matched_terms for hit in result.hits):
        click.echo("(hits marked ✓ contain the query's code exactly and rank above those that do not)")
    from ..search.snippets import snippet

    for n, hit in enumerate(result.hits, 1):
        tags = f"  [{', '.join(hit.tags)}]" if hit.tags else ""
        exact = f"  ✓ {' '.join(hit.matched_terms)}" if hit.matched_terms else ""
        page = f" (page {hit.page})" if hit.page is not None else ""
        click.secho(f"{n}. {hit.score:.3f}  {hit.source}{page}{tags}{exact}", bold=True)
        for other in hit.sources[1:]:  # the same chunk stored for several documents: every one is shown
            click.echo(f"   also in {other}")
        click.echo(f"   {snippet(hit.text, result.query)}")
    if result.collapsed:
        click.echo(f"({len(result.collapsed)} near-duplicate chunk(s) collapsed into the hits above; "
                   "--no-collapse-duplicates shows them)")
