"""``localkb tune``."""
from __future__ import annotations

import click

from .common import echo_json, handle_errors, json_option, kb_option, open_kb


@click.command(help="Fine-tune the KB's embedding model on its own chunks, offline, without labels.\n\n"
                    "Training pairs come from the corpus (headings → section, term → defining sentence, "
                    "csv/json fields → row; --queries corpus) or from the local LLM (--queries llm); hard "
                    "negatives are mined from the KB and the collisions `localkb audit` finds are explicit "
                    "negatives. By default a linear adapter is trained on the frozen embeddings (any model, "
                    "the multilingual USE included); --method finetune trains a sentence-transformers model "
                    "itself (MultipleNegativesRankingLoss). The result is a model folder (models list "
                    "shows it); --apply re-embeds the KB with it atomically. Run the same command again to "
                    "resume. See docs/tuning.md.")
@kb_option
@click.option("--out", default=None, help="Model folder to write [default: in the localkb data dir].")
@click.option("--queries", type=click.Choice(["corpus", "llm"]), default="corpus", show_default=True,
              help="Where training queries come from.")
@click.option("--method", type=click.Choice(["auto", "finetune", "adapter"]), default="auto", show_default=True,
              help="auto = adapter (measured to separate collisions); finetune: sentence-transformers only.")
@click.option("--max-minutes", type=float, default=20.0, show_default=True, help="Training time budget.")
@click.option("--max-steps", type=click.IntRange(1, None), default=None, help="Stop after this many steps.")
@click.option("--batch-size", type=click.IntRange(2, 1024), default=16, show_default=True)
@click.option("--epochs", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--llm", default=None, help="LLM URI for --queries llm [default: the packaged Qwen GGUF].")
@click.option("--apply", "apply_", is_flag=True, help="Re-embed the KB with the tuned model (atomic swap).")
@click.option("--dry-run", is_flag=True, help="Print sample training pairs; train nothing.")
@json_option
@handle_errors
def tune(kb: str | None, out: str | None, queries: str, method: str, max_minutes: float, max_steps: int | None,
         batch_size: int, epochs: int, llm: str | None, apply_: bool, dry_run: bool, as_json: bool) -> None:
    from .progress import stage_progress

    if dry_run and apply_:
        raise click.UsageError("--dry-run and --apply exclude each other.")
    with open_kb(kb) as base, stage_progress(not as_json) as progress:
        report = base.tune(out=out, queries=queries, method=method, max_minutes=max_minutes, max_steps=max_steps,
                           batch_size=batch_size, epochs=epochs, llm=llm, apply=apply_, dry_run=dry_run,
                           progress=progress)
    if as_json:
        echo_json(report.to_dict())
        return
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(report.pair_kinds.items()))
    click.echo(f"{report.pairs} training pairs ({kinds}); {report.negatives} with a mined hard negative; "
               f"data hash {report.data_hash[:12]}.")
    if report.dry_run:
        for s in report.samples:
            click.secho(f"[{s['kind']}] {s['query'][:100]}", bold=True)
            click.echo(f"   + {s['positive']}")
            if s["negative"]:
                click.echo(f"   - {s['negative']}")
        click.echo("Dry run: nothing trained.")
        return
    t = report.train
    if t:
        click.echo(f"Trained ({report.method}) {t['steps']}/{t['total_steps']} steps in {t['seconds']:.0f} s"
                   + (f", resumed at step {t['resumed_from']}" if t.get("resumed_from") else "") + ".")
    click.echo(f"Model {report.model_id} (base {report.base_model}) in {report.model_dir}")
    if report.collisions_after is not None:
        click.echo(f"Colliding term pairs: {report.collisions_before} before → {report.collisions_after} after.")
    if report.applied:
        click.echo(f"Applied: the KB was re-embedded ({report.applied['chunks']} chunks) into "
                   f"{report.applied['store']}.")
    else:
        click.echo(f"To use it: localkb tune --kb KB --out {report.model_dir} --apply, or a new KB with "
                   f"--model {report.model_dir}")
    for note in report.notes:
        click.echo(f"Note: {note}")
