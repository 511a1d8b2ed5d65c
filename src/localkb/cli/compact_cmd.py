"""``localkb compact``: merge the lexical index's segments (maintenance; ingests keep them bounded)."""
from __future__ import annotations

import click

from .common import echo_json, handle_errors, json_option, kb_option, open_kb


@click.command(help="Merge the lexical (BM25) index into one segment.\n\n"
                    "Ingests keep the number of segments bounded on their own; after many deletes the "
                    "segments hold tombstones (deleted chunks still on disk), and segments written by an "
                    "older localkb are found by id through a sort in every process. This rewrites them all "
                    "as one, under the write lock (readers keep answering meanwhile); the vector store is "
                    "not touched. Prints segments, tombstones and bytes before and after.")
@kb_option
@json_option
@handle_errors
def compact(kb: str | None, as_json: bool) -> None:
    with open_kb(kb) as base:
        report = base.compact()
    if as_json:
        echo_json(report)
        return
    before, after = report["before"], report["after"]
    click.echo(f"Lexical index: {report['chunks']:,} chunks; segments {before['segments']} → {after['segments']}, "
               f"tombstones {before['tombstones']:,} → {after['tombstones']:,}, "
               f"{before['bytes'] / 1e6:,.1f} MB → {after['bytes'] / 1e6:,.1f} MB on disk.")
