"""``localkb sql``: ask a database in plain language through the guard; vet SQL; store examples.

``localkb sql QUESTION --db URL`` is short for ``localkb sql ask QUESTION --db URL``.
"""
from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import SQLError
from .common import EXIT_ERROR, cli_settings, echo_json, handle_errors, json_option

db_option = click.option("--db", "db_url", default=None, metavar="URL",
                         help="SQLAlchemy URL or SQLite file [default: $LOCALKB_DB].")
audit_option = click.option("--audit", "audit_path", type=click.Path(dir_okay=False), default=None,
                            help="Audit log file [default: ~/.local/share/localkb/sql-audit.jsonl].")


class SQLGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, is a question for ``ask``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["ask", *args]
        return super().parse_args(ctx, args)


@click.group(cls=SQLGroup, context_settings={"help_option_names": ["-h", "--help"]})
def sql() -> None:
    """Ask a SQL database in plain language, through a read-only guard.

    \b
      localkb sql "How many customers are in Canada?" --db sqlite:///chinook.db
      localkb sql check "DELETE FROM customers" --db sqlite:///chinook.db
      localkb sql add-example --db sqlite:///chinook.db "How many albums?" "SELECT count(*) FROM album"

    Every statement is checked by the guard (one SELECT, known tables and columns, a LIMIT) and runs
    on a connection the database itself keeps read-only; all of them go to the audit log.
    """


def _db_url(db_url: str | None) -> str:
    url = db_url or cli_settings().db
    if not url:
        raise SQLError("No database given: pass --db URL (e.g. sqlite:///music.db) or set LOCALKB_DB.")
    return str(url)


@sql.command("ask")
@click.argument("question")
@db_option
@click.option("--llm", "llm_uri", default=None, metavar="URI",
              help="LLM URI [default: $LOCALKB_LLM or the packaged Qwen2.5-Coder GGUF].")
@json_option
@click.option("--dry-run", is_flag=True, help="Show the SQL that would run, without running it.")
@audit_option
@click.option("--max-rows", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Row cap (and the LIMIT the guard enforces).")
@click.option("--attempts", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Replies the model may give before giving up (rejections are fed back).")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Seconds a statement may run.")
@click.option("--candidates", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Replies sampled for the question; each runs read-only and the result most agree on wins.")
@handle_errors
def ask(question: str, db_url: str | None, llm_uri: str | None, as_json: bool, dry_run: bool,
        audit_path: str | None, max_rows: int, attempts: int, timeout: float, candidates: int) -> None:
    """Answer QUESTION with one read-only SELECT: prints the SQL, the rows and every attempt."""
    from ..sql import open_agent

    if not question.strip():
        raise SQLError("The question is empty.")
    with open_agent(_db_url(db_url), llm=llm_uri, audit=audit_path, max_rows=max_rows, timeout=timeout,
                    max_attempts=attempts, candidates=candidates, settings=cli_settings()) as agent:
        answer = agent.ask(question, dry_run=dry_run)
    if as_json:
        echo_json(answer.to_dict())
    else:
        _print_answer(answer)
    if not answer.ok:
        sys.exit(EXIT_ERROR)


@sql.command("check")
@click.argument("statement", metavar="SQL")
@db_option
@json_option
@audit_option
@click.option("--max-rows", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="The LIMIT the guard enforces.")
@handle_errors
def check_cmd(statement: str, db_url: str | None, as_json: bool, audit_path: str | None, max_rows: int) -> None:
    """Run the guard alone on SQL (from any source): the verdict and every violation. Exit 1 if rejected."""
    from ..sql import AuditLog, SQLDatabase, check

    with SQLDatabase(_db_url(db_url)) as db:
        verdict = check(statement, db, audit=AuditLog(audit_path, cli_settings()), max_rows=max_rows)
    if as_json:
        echo_json(verdict)
    elif verdict["allowed"]:
        click.echo("allowed")
        click.echo(verdict["sql"])
        for note in verdict["rewrites"]:
            click.echo(f"  ({note})")
    else:
        click.echo("rejected")
        for v in verdict["violations"]:
            click.echo(f"  [{v['rule']}] {v['message']}")
    if not verdict["allowed"]:
        sys.exit(EXIT_ERROR)


@sql.command("add-example")
@click.argument("question")
@click.argument("statement", metavar="SQL")
@db_option
@json_option
@audit_option
@handle_errors
def add_example(question: str, statement: str, db_url: str | None, as_json: bool, audit_path: str | None) -> None:
    """Store a verified QUESTION → SQL pair; similar questions get it as a few-shot example.

    The SQL must pass the guard and run on the database before it is stored.
    """
    from ..sql import add_example as store_example

    stored = store_example(_db_url(db_url), question, statement, audit=audit_path, settings=cli_settings())
    if as_json:
        echo_json(stored.to_dict())
    else:
        click.echo(f"Stored. {stored.examples} example(s) for {stored.db}.")


@sql.command("schema")
@db_option
@json_option
@handle_errors
def schema_cmd(db_url: str | None, as_json: bool) -> None:
    """Show the schema the agent sees (tables, columns, keys, sample values)."""
    from ..sql import SQLDatabase, introspect

    with SQLDatabase(_db_url(db_url)) as db:
        schema = introspect(db)
    if as_json:
        echo_json(schema.to_dict())
    else:
        click.echo(schema.render())


def _print_answer(answer: Any) -> None:
    for a in answer.attempts:
        if a.allowed and not a.error:
            continue
        click.echo(f"attempt {a.number}: rejected", err=True)
        click.echo("  " + (a.sql or "(no SQL in the reply)").replace("\n", "\n  "), err=True)
        for v in a.violations:
            click.echo(f"  [{v['rule']}] {v['message']}", err=True)
        if a.error and not a.violations:
            click.echo(f"  {a.error}", err=True)
    if not answer.ok:
        click.echo(f"Error: {answer.error}", err=True)
        return
    click.echo(answer.sql)
    if answer.dry_run:
        click.echo("(dry run: not executed)")
        return
    _print_rows(answer.columns, answer.rows)
    more = " (truncated by the row cap)" if answer.truncated else ""
    votes = f"; {answer.votes}/{answer.candidates} candidates agreed" if answer.candidates > 1 else ""
    click.echo(f"{len(answer.rows)} row(s){more}; {len(answer.attempts)} attempt(s){votes}; "
               f"{answer.seconds:.1f} s to answer (+{answer.load_seconds:.1f} s loading {answer.model})")
    for m in answer.values:
        click.echo(f"value: {m.table}.{m.column} = {m.value!r} (question: {m.phrase!r})", err=True)
    if answer.values_not_indexed:
        click.echo("values not fully indexed (too many distinct values): " + ", ".join(answer.values_not_indexed),
                   err=True)


def _print_rows(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if sys.stdout.isatty():
        from rich.table import Table

        from .common import rich_console

        table = Table(*columns)
        for row in rows:
            table.add_row(*["NULL" if v is None else str(v) for v in row])
        rich_console().print(table)
        return
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join("NULL" if v is None else str(v) for v in row))
