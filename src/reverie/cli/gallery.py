"""`reverie gallery`: every mechanism on bundled inputs, one HTML page.

One progress display for the whole run (section, step, elapsed, time left) on stderr;
stdout carries only the final line, or the JSON summary with --json.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from reverie.cli.common import add_device, add_json, add_progress, print_json
from reverie.core.progress import Progress, silent


def register(sub) -> None:
    from reverie.gallery import SECTION_MODULES

    p = sub.add_parser("gallery", help="run every mechanism on bundled inputs into one HTML page",
                       description="Run every mechanism on bundled inputs and write OUT/index.html "
                       "(with each output's sidecar) and OUT/gallery.json (seconds per section).")
    p.add_argument("--out", default="gallery", help="output folder (default: gallery)")
    p.add_argument("--quick", action="store_true",
                   help="a small version, about a minute on 2 cores (default: off, the full "
                        "gallery, under 5 minutes on 2 cores with the zoo)")
    p.add_argument("--section", action="append", dest="sections", choices=SECTION_MODULES,
                   metavar="NAME", help="only this section, repeatable; one of "
                   f"{', '.join(SECTION_MODULES)} (default: all)")
    p.add_argument("--cache", default=None, help="where trained models are kept between runs "
                   "(default: $REVERIE_CACHE or ~/.cache/reverie)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run N sections side by side, each in its own process on a share of "
                        "the CPU threads; 1: one after another (default: one per free core, "
                        "at most 4, on the CPU; 1 on a GPU)")
    add_device(p)
    add_json(p)
    add_progress(p)
    p.set_defaults(func=run)


@contextlib.contextmanager
def display(enabled: bool) -> Iterator[Progress]:
    """A single rich progress display for the whole run, driven by build_gallery's callback:
    the bar, the section and its step, time elapsed and time left."""
    if not enabled:
        yield silent
        return
    from rich.console import Console
    from rich.progress import (BarColumn, Progress as RichProgress, ProgressColumn,
                               TaskProgressColumn, TextColumn, TimeElapsedColumn)
    from rich.text import Text

    class TimeLeft(ProgressColumn):
        """Expected seconds still to run, scaled by how fast the run has gone so far (done
        and total are in expected seconds, so before any progress the table is the guess)."""

        def render(self, task) -> Text:
            if task.total is None or task.finished:
                return Text("")
            elapsed = task.elapsed or 0.0
            pace = elapsed / task.completed if task.completed > 1 else 1.0
            left = max(task.total - task.completed, 0) * pace
            minutes, seconds = divmod(int(left), 60)
            return Text(f"about {minutes}:{seconds:02d} left", style="cyan")

    columns = [TextColumn("[bold]gallery"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TimeLeft(), TextColumn("{task.fields[message]}")]
    with RichProgress(*columns, console=Console(stderr=True), transient=False) as rp:
        task = rp.add_task("gallery", total=None, message="")

        def update(done: float, total: float, message: str = "") -> None:
            rp.update(task, completed=done, total=total or None, message=message[:60])

        yield update


def run(args) -> int:
    from reverie.gallery import build_gallery

    show = sys.stderr.isatty() and not args.no_progress
    log = None if show else (lambda m: print(m, file=sys.stderr))
    # With --json stdout is one JSON object: anything a section prints goes to stderr.
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with quiet, display(show) as progress:
        summary = build_gallery(args.out, quick=args.quick, device=args.device,
                                sections=args.sections, cache_dir=args.cache,
                                progress=progress, log=log, workers=args.workers)
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {summary['index']} in {summary['seconds']:.0f} s")
    if summary["seconds"] > summary["budget_seconds"] and not args.sections:
        print(f"note: the gallery took {summary['seconds']:.0f} s, over its "
              f"{summary['budget_seconds']} s target", file=sys.stderr)
    if summary["failed"]:
        print(f"error: {len(summary['failed'])} gallery section(s) failed: "
              f"{', '.join(summary['failed'])}", file=sys.stderr)
        return 1
    return 0
