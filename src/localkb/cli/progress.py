"""A rich progress bar on a terminal; nothing at all otherwise (and never in --json mode)."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def _bar(enabled: bool, *extra: str) -> Iterator[Any]:
    """A transient rich ``Progress`` (description, bar, n/m, time left, ``extra`` text columns), or None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .common import rich_console

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  *(TextColumn(e) for e in extra), transient=True, console=rich_console(stderr=True)) as bar:
        yield bar


@contextmanager
def ingest_progress(enabled: bool = True) -> Iterator[Callable[[str, int, int], None] | None]:
    with _bar(enabled, "{task.fields[embedded]} chunks embedded") as bar:
        if bar is None:
            yield None
            return
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
    with _bar(enabled) as bar:
        if bar is None:
            yield None
            return
        tasks: dict[str, object] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
