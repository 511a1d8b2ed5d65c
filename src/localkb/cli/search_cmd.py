"""``localkb search``."""
from __future__ import annotations

import click

from .common import echo_json, handle_errors, json_option, kb_option


def parse_min_score(value: str | None) -> float | str | None:
    """``--min-score`` through the shared parser (``search.thresholds.parse_min_score``); bad → usage error."""
    from ..errors import SearchError
    from ..search.thresholds import parse_min_score as parse

    try:
        return parse(value)
    except SearchError as exc:
        raise click.BadParameter(exc.message, param_hint="'--min-score'") from None


@click.command(help="Search the knowledge base. Scores: higher is better; the scale depends on --mode "
                    "(see docs/search.md). Code-like words in the query (IBE, E11.9, SKU-1234) are matched "
                    "exactly: the output says when no document contains one.")
@click.argument("query")
@kb_option
@click.option("-k", "k", type=click.IntRange(1, 1000), default=5, show_default=True, help="Number of hits.")
@click.option("--tag", "tags", multiple=True, help="Only documents with this tag (repeatable: any of them).")
@click.option("--min-score", default=None,
              help="Cut-off: 'auto' (default: calibrated per KB on unrelated text; an unrelated query "
                   "gets no hits and a reason), 'none', or a number — cosine in dense and hybrid mode, "
                   "BM25 in lexical mode.")
@click.option("--mode", default=None,
              help="hybrid (default: dense + BM25, fused; exact identifiers such as IBE or E11.9 rank "
                   "first), dense (embeddings only) or lexical (BM25 only).")
@click.option("--collapse-duplicates/--no-collapse-duplicates", "collapse", default=None,
              help="One chunk per near-duplicate group [default: on once `localkb dedup --apply` ran].")
@click.option("--cluster", type=click.IntRange(0), default=None,
              help="Only chunks of this cluster (from `localkb cluster`).")
@json_option
@handle_errors
def search(query: str, kb: str | None, k: int, tags: tuple[str, ...], min_score: str | None, mode: str | None,
           collapse: bool | None, cluster: int | None, as_json: bool) -> None:
    from ..kb import KnowledgeBase

    with KnowledgeBase.open(kb, create=False) as base:
        result = base.search(query, k=k, tags=list(tags) or None, min_score=parse_min_score(min_score), mode=mode,
                             collapse_duplicates=collapse, cluster=cluster)
    if as_json:
        echo_json(result.to_dict())
        return
    from .render import print_hits

    print_hits(result)
    cal = result.calibration
    if cal is not None and result.min_score is not None:
        click.secho(f"(cut-off {result.min_score:.3f}: {cal['query_language']} query, held against the "
                    f"{cal['bank']} bank of unrelated questions on this KB)", dim=True)
