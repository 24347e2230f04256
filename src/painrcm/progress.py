"""Progress bars for long command-line work (scrubbing a large 837P, seeding the demo), with the console
library the CLI already uses (rich). Drawn on stderr, only when stderr is a terminal (or
PAINRCM_PROGRESS=1), so JSON on stdout and piped output stay clean; gone when the work ends."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")


def wanted() -> bool:
    forced = os.environ.get("PAINRCM_PROGRESS")
    if forced is not None:
        return forced not in ("", "0")
    return sys.stderr.isatty()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(stderr=True, force_terminal=os.environ.get("PAINRCM_PROGRESS") == "1" or None),
        transient=True,
    )


def track(items: Sequence[T], description: str, *, min_items: int = 50) -> Iterator[T]:
    """Iterate `items`, drawing a bar when there are at least `min_items` of them."""
    if len(items) < min_items or not wanted():
        yield from items
        return
    with _progress() as bar:
        task = bar.add_task(description, total=len(items))
        for item in items:
            yield item
            bar.advance(task)


class Steps:
    """Named steps of a known count (e.g. the demo seeder's phases)."""

    def __init__(self, bar: Progress | None, total: int) -> None:
        self.bar, self.total, self.done = bar, total, 0
        self.task = bar.add_task("starting", total=total) if bar is not None else None

    def __call__(self, name: str) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=self.done, description=name)
        self.done += 1


@contextmanager
def steps(total: int) -> Iterator[Steps]:
    if not wanted():
        yield Steps(None, total)
        return
    with _progress() as bar:
        yield Steps(bar, total)


@contextmanager
def spinner(description: str) -> Iterator[None]:
    """A spinner with the elapsed time for work of unknown length (a CMS data file import)."""
    if not wanted():
        yield
        return
    console = Console(stderr=True, force_terminal=os.environ.get("PAINRCM_PROGRESS") == "1" or None)
    with console.status(description + " (this can take a minute)"):
        yield
