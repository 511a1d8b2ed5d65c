"""``localkb stats`` and ``localkb documents``."""
from __future__ import annotations

import click

from .common import echo_json, handle_errors, json_option, kb_option, open_kb


@click.command(help="Show what the knowledge base holds: documents, chunks, model, store, bytes on disk.")
@kb_option
@json_option
@handle_errors
def stats(kb: str | None, as_json: bool) -> None:
    with open_kb(kb) as base:
        info = base.stats()
    if as_json:
        echo_json(info)
        return
    for key in ("path", "documents", "chunks", "model", "dim", "store", "chunk_size", "chunk_overlap", "bytes"):
        click.echo(f"{key:>14}: {info[key]}")
    ch = info["chunking"]
    click.echo(f"{'chunking':>14}: {ch['size']} {ch['unit']}, overlap {ch['overlap']}, {ch['recipe']}"
               + (f" — {ch['note']}" if ch["note"] else ""))
    lex = info["lexical"]
    click.echo(f"{'lexical':>14}: BM25, tokenizer {lex['tokenizer']}, stemming {lex['stemmer']}"
               + (f", {lex.get('segments', 0)} segment(s), {lex.get('tombstones', 0)} tombstone(s)")
               + (f" — {lex['note']}" if lex["note"] else ""))
    vi = info.get("vector_index")
    if vi:
        extra = ""
        if vi.get("recall_at_10") is not None:
            extra = f", {vi['nlist']} lists, nprobe {vi['nprobe']}, recall@10 vs exact {vi['recall_at_10']:.3f}"
        elif vi.get("ann_threshold") is not None:
            extra = f", switches to IVF at {vi['ann_threshold']:,} vectors"
        click.echo(f"{'vector index':>14}: {vi['kind']}{extra}")
    if info["formats"]:
        click.echo(f"{'formats':>14}: " + ", ".join(f"{k} {v}" for k, v in info["formats"].items()))
    if info["tags"]:
        click.echo(f"{'tags':>14}: " + ", ".join(f"{k} {v}" for k, v in info["tags"].items()))


@click.command(help="List the documents in the knowledge base.")
@kb_option
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many.")
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many.")
@json_option
@handle_errors
def documents(kb: str | None, limit: int | None, offset: int, as_json: bool) -> None:
    with open_kb(kb) as base:
        docs = base.documents(offset=offset, limit=limit)
    if as_json:
        echo_json({"documents": docs})
        return
    for d in docs:
        tags = f"  [{', '.join(d['tags'])}]" if d["tags"] else ""
        click.echo(f"{d['id']:>5}  {d['format']:<5} {d['chunks']:>4} chunks  {d['source']}{tags}")
