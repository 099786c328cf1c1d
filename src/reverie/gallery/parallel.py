"""Gallery sections side by side, each in a worker process with its share of the threads.

Why: on a laptop's few cores a section is rarely as fast on two threads as on one twice
over. Measured on 2 idle cores (2026-12-06): a Gatys painting took 8.6 s on two threads
and 11.5 s on one, an LSTM's 200 training steps 9.7 s and 14.5 s; two one-thread
processes side by side each ran as fast as one alone (11.5 and 12.5 s, 13.7 and 14.1 s).
So two sections at a time on one thread each finish the gallery sooner than every section
in turn on two (bench/gallery.py: 264 s against 321 s for the whole gallery).

- The sections go out longest first (by their expected seconds), so the last to finish
  is a short one.
- Workers are spawned, not forked: a forked child of a process whose OpenMP pool is
  running can hang. A worker limits every thread pool it has to its share
  (`core.threads.limit_threads`), so REVERIE_THREADS=N pins the run's total, not each
  worker's.
- What a worker prints comes back over the queue with its progress and is printed here,
  so it lands above the progress bar (and never on stdout, which carries the gallery's
  final line or JSON). Workers ignore Ctrl-C; the parent stops them.
- A worker that dies (killed, out of memory) takes the pool with it. The sections it was
  running are tried again one at a time, so a crash fails only the section that crashes.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from reverie.core.errors import ReverieError

MAX_WORKERS = 4  # more sections at once than this mostly wait on memory bandwidth

_events = None                  # the worker's end of the parent's queue
_limits = contextlib.ExitStack()  # the worker's thread limits, held for its life


def workers_for(workers: int | None, device, sections: int) -> tuple[int, int]:
    """(worker processes, torch threads each). `workers` None: one per free core (at most
    MAX_WORKERS) on the CPU, and 1 on a GPU, where sections would queue for the one device."""
    from reverie.core.threads import free_cores

    if workers is not None and workers < 1:
        raise ReverieError(f"workers is {workers}; give 1 or more (1 runs the sections one "
                           f"after another)")
    cores = free_cores()
    if workers is None:
        workers = 1 if getattr(device, "type", str(device)) != "cpu" else min(MAX_WORKERS, cores)
    workers = max(1, min(workers, sections))
    return workers, max(1, cores // workers)


class _Lines:
    """A worker's stdout and stderr: whole lines to the parent, which prints them."""

    def __init__(self) -> None:
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            _events.put((None, "text", line))
        return len(text)

    def end_line(self) -> None:
        if self.pending:
            self.write("\n")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _start_worker(events, threads: int) -> None:
    global _events
    _events = events
    events.cancel_join_thread()  # a worker stopped mid-put must still be able to exit
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout = sys.stderr = _Lines()
    os.environ["REVERIE_THREADS"] = str(threads)  # what `threads=auto` becomes in here
    from reverie.core.memory import reuse_freed_memory
    from reverie.core.threads import limit_threads
    _limits.enter_context(limit_threads(threads))
    reuse_freed_memory()


def _run_section(build: Callable, name: str, ctx):
    _events.put((name, "start", ()))
    ctx.progress = lambda done, total, message="": _events.put((name, "progress",
                                                                (done, total, message)))
    built = build(name, ctx)
    sys.stdout.end_line()
    return built


def build_sections(names: list[str], expected: dict[str, float], workers: int, threads: int,
                   ctx, run, build: Callable, failed: Callable) -> list:
    """Every section of `names` built in `workers` processes on `threads` threads each, in
    page order. `ctx` is the run's GalleryContext (its progress is replaced per section);
    `run` the run's RunProgress. `build(name, ctx)` runs a section in a worker and
    `failed(name, seconds, error)` stands for one that did not come back (reverie.gallery's
    build_section and failed)."""
    spawn = multiprocessing.get_context("spawn")
    events = spawn.Queue()
    this_round: set[str] = set()   # the sections that began in the pool now running
    built: dict = {}

    def drain() -> None:
        while True:
            try:
                name, kind, data = events.get_nowait()
            except (queue.Empty, EOFError, OSError):
                return
            if kind == "text":
                print(data, file=sys.stderr)
            elif name not in built:  # a finished section's late events change nothing
                this_round.add(name)
                run.update(name, *(data or ()))

    def finish(name: str, result) -> None:
        built[name] = result
        run.finish(name, result)

    todo, retried = sorted(names, key=lambda n: -expected[n]), set()
    while todo:
        # after a crash the sections it caught run one at a time, so the next is their own
        solo = any(n in retried for n in todo)
        count, each = (1, threads * workers) if solo else (workers, threads)
        pool = ProcessPoolExecutor(count, mp_context=spawn, initializer=_start_worker,
                                   initargs=(events, each))
        began, broken = time.perf_counter(), None
        this_round.clear()
        try:
            futures = {pool.submit(_run_section, build, name, ctx): name for name in todo}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                drain()
                for future in finished:
                    name, exc = futures[future], future.exception()
                    if isinstance(exc, BrokenProcessPool):
                        broken = exc
                    elif exc is not None:  # the result did not come back (not picklable?)
                        finish(name, failed(name, time.perf_counter() - began,
                                            f"{type(exc).__name__}: {exc}"))
                    else:
                        finish(name, future.result())
        except BaseException:  # Ctrl-C or a failing callback: stop the workers, not wait
            _stop(pool)
            raise
        pool.shutdown(wait=True)
        drain()
        caught = [n for n in todo if n not in built and n in this_round]
        for name in caught:
            if solo:  # it ran alone: the crash was its own
                finish(name, failed(name, time.perf_counter() - began,
                                    "the worker running it stopped (killed, or out of memory?)"))
            retried.add(name)
        if broken is not None and not caught:  # no section began: the workers cannot start
            for name in todo:
                finish(name, failed(name, 0.0, f"no worker could start ({broken})"))
        todo = [n for n in todo if n not in built]
    drain()
    return [built[n] for n in names]


def _stop(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
