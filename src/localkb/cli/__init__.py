"""The ``localkb`` command: a thin layer over the library. Subcommands load lazily so --help is instant."""
from __future__ import annotations

import importlib

import click

from .. import __version__
from ..errors import LocalKBError

#: command name → "module:attribute"; each module holds one command or one command group.
COMMANDS: dict[str, str] = {
    "ingest": "localkb.cli.ingest_cmd:ingest",
    "search": "localkb.cli.search_cmd:search",
    "stats": "localkb.cli.stats_cmd:stats",
    "documents": "localkb.cli.stats_cmd:documents",
    "show": "localkb.cli.stored_cmd:show",
    "chunks": "localkb.cli.stored_cmd:chunks",
    "rm": "localkb.cli.stored_cmd:rm",
    "models": "localkb.cli.models_cmd:models",
    "ask": "localkb.cli.ask_cmd:ask",
    "sql": "localkb.cli.sql_cmd:sql",
    "serve": "localkb.cli.serve_cmd:serve",
    "eval": "localkb.cli.eval_cmd:eval_group",
    "migrate": "localkb.cli.migrate_cmd:migrate",
    "similar": "localkb.cli.similar_cmd:similar",
    "dedup": "localkb.cli.dedup_cmd:dedup",
    "cluster": "localkb.cli.cluster_cmd:cluster",
    "mcp": "localkb.cli.mcp_cmd:mcp",
    "audit": "localkb.cli.audit_cmd:audit",
    "tune": "localkb.cli.tune_cmd:tune",
    "compact": "localkb.cli.compact_cmd:compact",
}

HELP = {
    "ingest": "Ingest files and folders into the knowledge base (idempotent).",
    "search": "Search the knowledge base.",
    "stats": "Show what the knowledge base holds.",
    "documents": "List the documents in the knowledge base.",
    "show": "Show one stored document (metadata, tags) or chunk (text, every source).",
    "chunks": "List the chunks of one stored document, in order.",
    "rm": "Remove documents (or every document under a folder); --dry-run lists them.",
    "models": "List, pull, import and provision local models.",
    "ask": "Answer a question from the knowledge base with a local LLM, with citations.",
    "sql": "Ask a SQL database in plain language, through a read-only guard.",
    "serve": "Serve the HTTP API and the web page on 127.0.0.1.",
    "eval": "Evaluate retrieval quality on a BEIR-layout dataset.",
    "migrate": "Rebuild a knowledge base's vectors in another store.",
    "similar": "Documents most similar to a document, chunk or text (more like this).",
    "dedup": "Find near-duplicate chunks and documents; --apply collapses them in search.",
    "cluster": "Group the chunks into labelled topics; --plot draws the map.",
    "mcp": "Serve the knowledge base to MCP clients (agents, assistants) over stdio or HTTP.",
    "audit": "Report terms the embedding model confuses (IBE/OBE) and cross-source near-duplicates.",
    "tune": "Fine-tune the embedding model on this KB's own chunks; --apply re-embeds the KB.",
    "compact": "Merge the lexical index into one segment (after many deletes, or to rewrite an older version's segments).",
}


#: command → the optional extra it needs (checked when it runs: one line naming the extra, no traceback)
COMMAND_EXTRAS: dict[str, str] = {"sql": "sql", "serve": "server", "mcp": "mcp"}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if _exists(target))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None or not _exists(target):
            return None
        extra = COMMAND_EXTRAS.get(name)
        if extra is not None:
            from ..errors import MissingDependency
            from ..extras import require

            try:
                require(extra, feature=f"localkb {name}")
            except MissingDependency as exc:
                return _failing(name, exc)
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _failing(name: str, error: LocalKBError) -> click.Command:
    """A stand-in for a command whose extra is missing: says which (``common.fail``: one line, exit 1; the JSON
    error too when ``--json`` is among its arguments)."""
    from .common import fail

    def run(args: tuple[str, ...] = ()) -> None:
        fail(error, as_json="--json" in args)

    run.handles_errors = True  # type: ignore[attr-defined]

    return click.Command(name, callback=run, context_settings={"ignore_unknown_options": True},
                         params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)], help=error.message)


def _exists(target: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="localkb")
def cli() -> None:
    """localkb: an offline knowledge base. Nothing leaves your machine.

    Exit codes: 0 success; 1 error (one line on stderr); 2 bad usage (the command line cannot be
    parsed); 3 ingest finished but some files were skipped (listed in the output); 130 interrupted.
    NO_COLOR=1 turns colour and bold off.
    """
    import os

    from .common import Invocation

    ctx = click.get_current_context()
    ctx.obj = Invocation()  # the settings, resolved once for the command that runs
    if os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value
        ctx.color = False


def main() -> None:
    cli(prog_name="localkb")
