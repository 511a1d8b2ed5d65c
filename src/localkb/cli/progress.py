"""A rich progress bar on a terminal; nothing at all otherwise (and never in --json mode)."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def ingest_progress(enabled: bool = True) -> Iterator[Callable[[str, int, int], None] | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  TextColumn("{task.fields[embedded]} chunks embedded"), transient=True) as bar:
        task = bar.add_task("ingesting", total=None, embedded=0)
        embedded = 0

        def update(stage: str, done: int, total: int) -> None:
            nonlocal embedded
            if stage == "read":
                bar.update(task, completed=done, total=total)
            elif stage == "embed":
                embedded += done
                bar.update(task, embedded=embedded)

        yield update


@contextmanager
def stage_progress(enabled: bool = True) -> Iterator[Callable[[str, int, int], None] | None]:
    """A bar per stage (``progress(stage, done, total)``) for long map commands; nothing off a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        tasks: dict[str, object] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        yield update
