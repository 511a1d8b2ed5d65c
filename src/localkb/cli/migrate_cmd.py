"""``localkb migrate``."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from .common import cli_settings, echo_json, handle_errors, json_option, kb_option


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal; otherwise a line on stderr every few seconds."""
    if not enabled:
        yield None
        return
    if not sys.stderr.isatty():
        last = [0.0]

        def line(done: int, total: int) -> None:
            if time.monotonic() - last[0] >= 2 or done == total:
                last[0] = time.monotonic()
                click.echo(f"migrated {done}/{total} chunks", err=True)

        yield line
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .common import rich_console

    with Progress(TextColumn("migrating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=rich_console(stderr=True)) as bar:
        task = bar.add_task("migrate", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@click.command(help="Rebuild a knowledge base's vectors in another store, into a NEW KB folder.\n\n"
                    "Vectors are read from the current store (or embedded again from the stored chunk text); "
                    "the original files are not read and the source KB is not modified. Interrupted? Run the "
                    "same command again: it continues where it stopped.\n\n"
                    "Examples: localkb migrate --kb kb --to milvus  (Milvus Lite file kb-milvus/kb.db); "
                    "localkb migrate --kb kb --to 'milvus://db-host:19530?collection=docs' --out kb-cluster "
                    "(token from LOCALKB_MILVUS_TOKEN).")
@kb_option
@click.option("--to", "to", required=True,
              help="Target store: faiss, chroma, milvus, or a URI (milvus://host:19530?collection=NAME, "
                   "milvus+https://host:443, milvus://./kb.db).")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="The new KB folder [default: KB-<scheme> beside the source].")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Chunks per batch.")
@click.option("--reembed", is_flag=True, help="Embed every chunk again instead of copying its stored vector.")
@json_option
@handle_errors
def migrate(kb: str | None, to: str, out: str | None, batch_size: int, reembed: bool, as_json: bool) -> None:
    from ..config import kb_dir
    from ..migrate import migrate as run

    with _progress(enabled=not as_json) as progress:
        settings = cli_settings()
        report = run(kb_dir(kb, settings), to, out=out, batch_size=batch_size, reembed=reembed, progress=progress,
                     settings=settings)
    if as_json:
        echo_json(report.to_dict())
        return
    resumed = f" (resumed after {report.resumed_at})" if report.resumed_at else ""
    click.echo(f"{report.chunks} chunks migrated{resumed} to {report.store} in {report.seconds:.1f} s "
               f"({report.copied} vectors copied, {report.reembedded} embedded again).")
    click.echo(f"New knowledge base: {report.out}  (try: localkb search 'your query' --kb {report.out})")
