"""``localkb eval``: retrieval quality on a BEIR-layout dataset."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from .common import cli_settings, echo_json, handle_errors, json_option


@click.group(name="eval", help="Evaluate localkb on your own data: `eval retrieval` (a BEIR folder), `eval rag` (questions with gold answers), `eval sql` (questions with gold SQL).")
def eval_group() -> None:
    pass


@eval_group.command(
    help="Score retrieval on DATASET_DIR (corpus.jsonl, queries.jsonl, qrels/test.tsv): "
    "nDCG@10, recall@10, recall@100, MRR@10, P@1, and abstention precision/recall for queries "
    "that have no relevant document.\n\n"
    "Builds a temporary KB from the corpus, or builds/reuses the one at --kb."
)
@click.argument("dataset_dir", type=click.Path(file_okay=False))
@click.option(
    "--kb",
    "kb",
    type=click.Path(file_okay=False),
    default=None,
    help="KB folder to build the corpus into, or reuse if it was built from the same corpus "
    "[default: a temporary folder].",
)
@click.option("--mode", default=None, help="dense, lexical or hybrid [default: hybrid].")
@click.option("--model", default=None, help="Embedding model for a new KB (e.g. 'multilingual').")
@click.option(
    "--min-score", default="auto", show_default=True, help="Cut-off: a number, 'auto' (calibrated) or 'none'."
)
@click.option(
    "-k",
    "k",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="Documents retrieved per query (and written to --run).",
)
@click.option(
    "--run",
    "run_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the ranked lists here in TREC run format (qid Q0 docid rank score tag).",
)
@click.option("--report", "report_file", type=click.Path(dir_okay=False), default=None,
              help="Also write a self-contained HTML report: every query (failing first), score "
                   "distributions with the cut-off, recall@k per mode, the abstention trade-off.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None,
              help="Also write the report's three figures as one PNG.")
@json_option
@handle_errors
def retrieval(
    dataset_dir: str,
    kb: str | None,
    mode: str | None,
    model: str | None,
    min_score: str,
    k: int,
    run_file: str | None,
    report_file: str | None,
    plot_file: str | None,
    as_json: bool,
) -> None:
    from ..evaluation import prepare_kb
    from ..search.engine import resolve_mode
    from ..search.eval import load_dataset, run_queries, score, write_trec
    from .progress import ingest_progress

    mode = resolve_mode(mode, cli_settings())
    from .search_cmd import parse_min_score

    cut = parse_min_score(min_score)  # "none" stays "none": the engine reads None as "the setting"
    ds = load_dataset(dataset_dir)
    tmp = None
    if kb is None:
        tmp = tempfile.TemporaryDirectory(prefix="localkb-eval-")
        kb_path = Path(tmp.name) / "kb"
    else:
        kb_path = Path(kb)
    try:
        with ingest_progress(enabled=not as_json) as progress:
            base, names = prepare_kb(ds, kb_path, model=model, progress=progress)
        with base:
            with _query_progress(enabled=not as_json, total=len(ds.queries)) as qprogress:
                run = run_queries(
                    ds, lambda q: base.search(q, k=k, min_score=cut, mode=mode), names, progress=qprogress
                )
            model_id = base.manifest.model_id
            metrics: dict[str, Any] = {
                "dataset": str(Path(dataset_dir)),
                "mode": mode,
                "model": model_id,
                "min_score": min_score,
                "k": k,
                **score(ds, run),
            }
            if report_file or plot_file:
                _write_report(ds, base, names, run, metrics, report_file, plot_file)
        if run_file:
            metrics["run_file"] = run_file
            metrics["run_lines"] = write_trec(run, run_file, tag=f"localkb-{mode}")
    finally:
        if tmp is not None:
            tmp.cleanup()
    if as_json:
        echo_json(metrics)
        return
    click.echo(
        f"{metrics['queries']} queries ({metrics['judged_queries']} judged, "
        f"{metrics['should_abstain']} without a relevant document), mode {mode}, model {model_id}"
    )
    for name in (
        "ndcg@10",
        "recall@10",
        "recall@100",
        "mrr@10",
        "p@1",
        "abstention_precision",
        "abstention_recall",
    ):
        value = metrics[name]
        click.echo(f"  {name:<21} {'n/a' if value is None else f'{value:.4f}'}")
    click.echo(f"  {'abstained':<21} {metrics['abstained']}")
    if run_file:
        click.echo(f"run written to {run_file} ({metrics['run_lines']} lines)")
    for key in ("report_file", "plot_file"):
        if key in metrics:
            click.echo(f"{key.split('_')[0]} written to {metrics[key]}")


def _write_report(ds: Any, base: Any, names: dict[str, str], run: Any, metrics: dict[str, Any],
                  report_file: str | None, plot_file: str | None) -> None:
    from ..search.report import build_report, write_html, write_png

    report = build_report(ds, base, names, run, metrics)
    if report_file:
        metrics["report_file"] = str(write_html(report, report_file))
    if plot_file:
        metrics["plot_file"] = str(write_png(report, plot_file))
    metrics["failing_queries"] = sum(1 for row in report.rows if not row.ok)


class _query_progress:
    """A rich bar over the queries on a terminal; nothing otherwise."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total = total
        self._bar: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from .common import rich_console

        self._bar = Progress(TextColumn("searching"), BarColumn(), MofNCompleteColumn(), transient=True,
                             console=rich_console(stderr=True))
        self._bar.__enter__()
        task = self._bar.add_task("q", total=self.total)
        return lambda done, total: self._bar.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
from .eval_rag_cmd import eval_rag  # noqa: E402 - `localkb eval rag`
from .eval_sql_cmd import eval_sql  # noqa: E402 - `localkb eval sql`, defined beside its library call

eval_group.add_command(eval_rag)
eval_group.add_command(eval_sql)
