"""Progress reporting: the library takes a callback, the CLI draws a bar with it.

A callback is `progress(done, total, message="")`. Library functions call it after each
unit of work; the CLI passes `bar(...)`, the studio passes its own. A callback may also
have a `preview(value)` method: mechanisms hand it what they have made so far (an image
tensor, a drawing's render, the text sampled so far), every few steps, through
`show_preview`; the studio draws it live, the CLI has none.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator, Optional

Progress = Callable[..., None]


def silent(done: int, total: int, message: str = "") -> None:
    """A callback that ignores progress (the default in the library)."""


def wants_preview(progress: Progress) -> bool:
    return callable(getattr(progress, "preview", None))


def show_preview(progress: Progress, value) -> None:
    """Hand `value` to the callback's `preview` method, if it has one."""
    if wants_preview(progress):
        progress.preview(value)


@contextlib.contextmanager
def bar(description: str, enabled: Optional[bool] = None) -> Iterator[Progress]:
    """A rich progress bar on stderr (rate and time left) driven by the callback it yields.

    Off when stderr is not a terminal unless `enabled` is True, so logs and `--json`
    output stay clean.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield silent
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress,
                               TaskProgressColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TaskProgressColumn(), TextColumn("{task.fields[rate]}"),
               TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
               TextColumn("{task.fields[message]}")]
    with RichProgress(*columns, console=Console(stderr=True), transient=False) as rp:
        task = rp.add_task(description, total=None, message="", rate="")

        def update(done: int, total: int, message: str = "") -> None:
            speed = rp.tasks[0].speed
            rate = f"{speed:.2f} it/s" if speed else ""
            rp.update(task, completed=done, total=total, message=message, rate=rate)

        yield update
