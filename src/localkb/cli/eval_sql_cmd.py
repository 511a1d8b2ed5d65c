"""``localkb eval sql``: execution accuracy of the SQL agent on a questions file (registered in eval_cmd)."""
from __future__ import annotations

import sys

import click

from .common import EXIT_ERROR, echo_json, handle_errors, json_option


@click.command("sql")
@click.argument("questions", type=click.Path(dir_okay=False))
@click.option("--db", "db_url", default=None, metavar="URL", help="The database every question is about.")
@click.option("--dbs", "dbs_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="A folder of databases: NAME.sqlite, or NAME/ holding several fillings (test-suite accuracy).")
@click.option("--llm", "llm_uri", default=None, metavar="URI",
              help="LLM URI [default: $LOCALKB_LLM or the packaged Qwen2.5-Coder GGUF].")
@click.option("--candidates", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Replies sampled per question, voted by result set.")
@click.option("--attempts", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Prompts per question before giving up.")
@click.option("--examples/--no-examples", default=True, show_default=True,
              help="Use the examples stored with `localkb sql add-example`.")
@click.option("--audit", "audit_path", type=click.Path(dir_okay=False), default=None,
              help="Audit log file [default: ~/.local/share/localkb/sql-audit.jsonl].")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Seconds a statement may run.")
@json_option
@handle_errors
def eval_sql(questions: str, db_url: str | None, dbs_dir: str | None, llm_uri: str | None, candidates: int,
             attempts: int, examples: bool, audit_path: str | None, timeout: float, as_json: bool) -> None:
    """Score the SQL agent on QUESTIONS (JSON lines: question, sql, [db], [id]) by execution.

    \b
      localkb eval sql questions.jsonl --db sqlite:///shop.db
      localkb eval sql questions.jsonl --dbs ./fillings --json

    A question is correct when the agent's result equals the gold SQL's result on every database
    (every filling) where the gold runs. Prints accuracy, seconds and attempts per question, and
    the model. Exit 1 if any question is wrong.
    """
    from ..sql.evaluate import evaluate

    report = evaluate(questions, db_url=db_url, dbs_dir=dbs_dir, llm=llm_uri, audit=audit_path,
                      candidates=candidates, max_attempts=attempts, examples=examples, timeout=timeout).to_dict()
    if as_json:
        echo_json(report)
    else:
        for v in report["verdicts"]:
            where = f"[{v['db']}] " if v["db"] else ""
            click.echo(f"{v['verdict']:<10} {v['seconds']:6.1f}s {v['attempts']} att  {where}{v['question']}")
            if v["verdict"] != "correct":
                click.echo(f"           gold: {v['gold']}")
                click.echo(f"           got:  {v['predicted'] or '(no SQL)'}" + (
                    f"  ({v['error']})" if v["error"] else ""))
        acc = report["execution_accuracy"]
        kind = "test-suite accuracy" if report["test_suite"] else "execution accuracy"
        relaxed = report["relaxed_accuracy"]
        click.echo(f"{kind}: {'n/a' if acc is None else f'{acc:.1%}'} "
                   f"(relaxed, extra columns forgiven: {'n/a' if relaxed is None else f'{relaxed:.1%}'}) "
                   f"on {report['scored']} scored "
                   f"question(s) ({report['unscorable']} unscorable: the gold query ran nowhere); "
                   f"median {report['median_seconds']} s per question (+{report['load_seconds']} s loading "
                   f"{report['model']}); {report['attempts']} attempts per question")
    if any(v["verdict"] != "correct" for v in report["verdicts"]):
        sys.exit(EXIT_ERROR)
