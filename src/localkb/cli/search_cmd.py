"""``localkb search``."""
from __future__ import annotations

import click

from .common import cli_settings, echo_json, handle_errors, json_option, kb_option, open_kb


def parse_min_score(value: str | None) -> float | str | None:
    """``--min-score`` through the one parser (``search.thresholds.parse_min_score``): a bad value is the
    same ``SearchError``, with the same message, as through HTTP and Python (exit 1)."""
    from ..search.thresholds import parse_min_score as parse

    return parse(value)


@click.command(help="Search the knowledge base. Scores: higher is better; the scale depends on --mode "
                    "(see docs/search.md). Code-like words in the query (IBE, E11.9, SKU-1234) are matched "
                    "exactly: the output says when no document contains one.")
@click.argument("query")
@kb_option
# below 1 is refused by the library (``kb.search``), with the message HTTP and Python give (exit 1)
@click.option("-k", "k", type=click.IntRange(max=1000), default=5, show_default=True,
              help="Number of hits (1 to 1000).")
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
@click.option("--where", "where", multiple=True, metavar="FIELD OP VALUE",
              help="Metadata filter, repeatable (all must hold): format=pdf, pages>3, path~docs/*.md, "
                   "author=Ada, ingested>=2026-12-01, meta.COLUMN=value. Operators = != > >= < <= ~ (glob). "
                   "See docs/search.md \"Filters\".")
@json_option
@handle_errors
def search(query: str, kb: str | None, k: int, tags: tuple[str, ...], min_score: str | None, mode: str | None,
           collapse: bool | None, cluster: int | None, where: tuple[str, ...], as_json: bool) -> None:
    from ..search.engine import resolve_mode
    from ..search.filters import parse_where

    conditions = parse_where(list(where))  # bad values fail before the KB is opened
    cut = parse_min_score(min_score)
    if mode is not None:
        resolve_mode(mode, cli_settings())
    with open_kb(kb) as base:
        result = base.search(query, k=k, tags=list(tags) or None, min_score=cut, mode=mode,
                             collapse_duplicates=collapse, cluster=cluster, where=[str(c) for c in conditions])
    if as_json:
        echo_json(result.to_dict())
        return
    from .render import print_hits

    print_hits(result)
    cal = result.calibration
    if cal is not None and result.min_score is not None:
        ev = cal.get("evidence") or {}
        evidence = (f"; evidence {ev['score']:.2f} of the {ev['threshold']:.2f} asked (similarity "
                    f"{ev['dense_part']:.2f} + rare words found together {ev['terms_part']:.2f})") if "score" in ev else ""
        terms = cal.get("terms") or {}
        if "share" in terms:
            above = "above" if terms["share"] > terms["cutoff"] else "not above"
            evidence = (f"; its words found together {terms['share']:.2f}, {above} the "
                        f"{terms['cutoff']:.2f} that unrelated questions reach")
        click.secho(f"(cut-off {result.min_score:.3f}: {cal['query_language']} query, held against the "
                    f"{cal['bank']} bank of unrelated questions on this KB{evidence})", dim=True)
