"""``localkb ingest``."""
from __future__ import annotations

import sys

import click

from .common import EXIT_SKIPPED, cli_settings, echo_json, handle_errors, json_option, kb_option


@click.command(help="Ingest files and folders (txt, md, pdf, docx, html, csv, json) into the knowledge base.\n\n"
                    "Idempotent: unchanged files are skipped, changed files replace their own chunks, and files "
                    "deleted from an ingested folder are removed (use --no-prune to keep them).\n\n"
                    "A new KB is created only when at least one PATH can be ingested (a folder, or a file of a "
                    "supported type): paths that could only be skipped create nothing (exit 1).\n\n"
                    "Exit code 0: all good; 3: finished, but some files were skipped (listed); 1: error.")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@kb_option
@click.option("--store", default=None, help="Vector store for a NEW KB: faiss (default), chroma, or a URI "
                                           "such as milvus://./kb.db. Recorded in the KB.")
@click.option("--model", default=None, help="Embedding model for a NEW KB (path, hub name in the HF cache, "
                                           "or 'multilingual'). Default: packaged all-MiniLM-L6-v2.")
@click.option("--tag", "tags", multiple=True, help="Tag the documents of this run (repeatable).")
@click.option("--retag", is_flag=True, help="Set the tags of re-ingested documents to exactly --tag (none: "
                                           "remove them). Without it, a document keeps its tags and gains --tag.")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Remove documents whose files were deleted from an ingested folder.")
@click.option("--chunk-size", type=click.IntRange(16, 4000), default=None,
              help="Chunk size in words/CJK characters for a NEW KB [default: 180].")
@click.option("--chunk-overlap", type=click.IntRange(0, 2000), default=None,
              help="Overlap between chunks for a NEW KB [default: 30].")
@click.option("--enrich", multiple=True, help="For a NEW KB: prepend these fields to the text that is embedded and "
                                             "indexed (tags, title, source, meta.NAME). Repeatable.")
@click.option("--max-file-mb", type=float, default=None, help="Skip files larger than this [default: 100].")
@json_option
@handle_errors
def ingest(paths: tuple[str, ...], kb: str | None, store: str | None, model: str | None, tags: tuple[str, ...],
           retag: bool, prune: bool, chunk_size: int | None, chunk_overlap: int | None, enrich: tuple[str, ...],
           max_file_mb: float | None, as_json: bool) -> None:
    from ..config import kb_dir
    from ..ingest.files import check_ingestible, check_paths
    from ..kb import KnowledgeBase
    from ..manifest import MANIFEST
    from .progress import ingest_progress

    settings = cli_settings()
    if (kb_dir(kb, settings) / MANIFEST).exists():
        check_paths(list(paths))  # every path mistyped: nothing to do
    else:  # a NEW KB: only when something given can be ingested (a typo must not fix a KB's model)
        check_ingestible(list(paths))
    with KnowledgeBase.open(kb, create=True, model=model, store=store, chunk_size=chunk_size,
                            chunk_overlap=chunk_overlap, enrich=enrich or None, settings=settings) as base:
        with ingest_progress(enabled=not as_json) as progress:
            report = base.ingest(list(paths), tags=tags, prune=prune, max_file_mb=max_file_mb, progress=progress,
                                 retag=retag)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                   f"removed {report.removed} documents; {report.embedded} chunks embedded; "
                   f"{report.chunks} chunks in the KB.")
        for s in report.skipped:
            click.echo(f"skipped {s.path}: {s.error}", err=True)
        for note in report.notes:
            click.secho(f"note: {note}", fg="yellow", err=True)
    if report.skipped:
        sys.exit(EXIT_SKIPPED)
