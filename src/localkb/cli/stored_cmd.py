"""``localkb show``, ``localkb chunks`` and ``localkb rm``: see and remove what is stored."""
from __future__ import annotations

from datetime import UTC, datetime

import click

from .common import echo_json, handle_errors, json_option, kb_option, open_kb


@click.command(help="Show one stored document or chunk.\n\n"
                    "REF is a document id (from `localkb documents`), the document's path or source as "
                    "ingested, or a chunk id (or its first 8+ characters, as search --json prints it).\n\n"
                    "A document shows its format, title, tags, loader metadata (author, pages, CSV columns, "
                    "JSON keys) and chunk count; a chunk shows its text and every document it is in.")
@click.argument("ref")
@kb_option
@json_option
@handle_errors
def show(ref: str, kb: str | None, as_json: bool) -> None:
    with open_kb(kb) as base:
        info = base.show(ref)
    if as_json:
        echo_json(info)
        return
    if info["kind"] == "chunk":
        click.secho(f"chunk {info['id']}", bold=True)
        for source in info["sources"]:
            click.echo(f"  in {source}")
        click.echo(info["text"])
        return
    click.secho(f"document {info['id']}: {info['source']}", bold=True)
    when = datetime.fromtimestamp(info["ingested_at"], tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    for key, value in (("path", info["path"]), ("format", info["format"]), ("title", info["title"]),
                       ("size", f"{info['size']:,} bytes"), ("chunks", info["chunks"]),
                       ("tags", ", ".join(info["tags"]) or "none"), ("ingested", when)):
        if value is not None:
            click.echo(f"{key:>10}: {value}")
    for key, value in info["meta"].items():
        shown = ", ".join(value[:8]) + (f", … ({len(value)} values)" if len(value) > 8 else "") \
            if isinstance(value, list) else value
        click.echo(f"{'meta.' + key:>10}: {shown}")


@click.command(help="List the chunks of one stored document, in order.\n\n"
                    "PATH is the document's path or source as ingested, or its id. Each chunk shows its id "
                    "(for `localkb show`) and its text; --json adds what was embedded (text + enrichment).\n\n"
                    "Use it to see how a file was split before tuning --chunk-size.")
@click.argument("path")
@kb_option
@json_option
@handle_errors
def chunks(path: str, kb: str | None, as_json: bool) -> None:
    with open_kb(kb) as base:
        found = base.chunks(path)
    if as_json:
        echo_json({"chunks": found})
        return
    for n, chunk in enumerate(found, 1):
        click.secho(f"{n}. {chunk['id'][:12]}  ({len(chunk['text'])} characters)", bold=True)
        click.echo(f"   {' '.join(chunk['text'].split())}")


@click.command(help="Remove documents from the knowledge base: their chunks, vectors and index entries.\n\n"
                    "Each PATH is a document's path or source as ingested, its id, or a folder (every "
                    "document under it). The files on disk are not touched.\n\n"
                    "--dry-run lists what would be removed and changes nothing. If any PATH names nothing, "
                    "nothing is removed (exit 1).")
@click.argument("paths", nargs=-1, required=True)
@kb_option
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@json_option
@handle_errors
def rm(paths: tuple[str, ...], kb: str | None, dry_run: bool, as_json: bool) -> None:
    with open_kb(kb) as base:
        report = base.delete(list(paths), dry_run=dry_run)
    if as_json:
        echo_json(report.to_dict())
        return
    verb = "would remove" if dry_run else "removed"
    for doc in report.documents:
        click.echo(f"{verb} {doc['source']}")
    click.echo(f"{verb} {len(report.documents)} document(s), {report.chunks} chunk(s)"
               + (" (dry run: nothing changed)" if dry_run else "") + ".")
