"""``localkb cluster``."""
from __future__ import annotations

import click

from .common import auto_or_number, echo_json, handle_errors, json_option, kb_option, open_kb


@click.command(help="Group the chunks into topics and label each with its distinctive words.\n\n"
                    "k-means over the vectors already stored; --k auto picks k by the best silhouette on a "
                    "sample (and says so). Labels come from class-based TF-IDF over the KB's tokenizer "
                    "(Chinese labels are words). Cluster ids are stored: `localkb search --cluster N` "
                    "filters by them. Re-running after an ingest updates the clusters (--fresh starts over). "
                    "--plot map.png|map.html draws the map. See docs/map.md.")
@kb_option
@click.option("--k", "k", default="auto", show_default=True, help="'auto' or the number of clusters (≥ 2).")
@click.option("--fresh", is_flag=True, help="Start over instead of updating the previous clusters.")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), default=None,
              help="Also write the map: a .png (matplotlib) or a self-contained offline .html.")
@json_option
@handle_errors
def cluster(kb: str | None, k: str, fresh: bool, plot: str | None, as_json: bool) -> None:
    from .progress import stage_progress

    value = auto_or_number(k, "--k", integer=True, low=2)
    chosen: int | str = value if isinstance(value, str) else int(value)
    if plot and not plot.lower().endswith((".png", ".html", ".htm")):
        raise click.BadParameter(f"'{plot}' must end in .png or .html", param_hint="--plot")
    with open_kb(kb) as base:
        with stage_progress(not as_json) as progress:
            result = base.cluster(k=chosen, fresh=fresh, progress=progress)
        written = None
        if plot:
            from ..mapping.plot import write_plot

            written = write_plot(base.map_points(), plot)
    if as_json:
        echo_json({**result.to_dict(), "plot": str(written) if written else None})
        return
    click.echo(f"{result.k} clusters of {result.chunks} chunks — {result.criterion}; {result.note}.")
    click.echo(f"Clustered on: {result.features}.")
    for c in result.clusters:
        click.secho(f"{c.id:>3}. {c.label}  ({c.size} chunks)", bold=True)
        click.echo(f"     terms: {', '.join(c.terms)}")
        for ex in c.examples[:2]:
            click.echo(f"     · {ex['source']}: {ex['text'][:90]}")
    if written:
        click.echo(f"Map written to {written}")
