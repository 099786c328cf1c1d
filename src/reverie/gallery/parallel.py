"""Gallery sections side by side, each in a worker process with its share of the threads.

Why: on a laptop's few cores a section is rarely as fast on two threads as on one twice
over. Measured on 2 idle cores (2026-12-06): a Gatys painting took 8.6 s on two threads
and 11.5 s on one, an LSTM's 200 training steps 9.7 s and 14.5 s; two one-thread
processes side by side each ran as fast as one alone (11.5 and 12.5 s, 13.7 and 14.1 s).
So two sections at a time on one thread each finish the gallery sooner than every section
in turn on two.

The sections go out longest first (by their expected seconds), so the last to finish is a
short one. Workers are spawned, not forked: a forked child of a process whose OpenMP pool
is running can hang. Each worker's stdout goes to stderr, since the gallery's stdout
carries only its final line or JSON. Progress and start lines come back over a queue; a
worker that dies (killed, out of memory) fails its section, not the run.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable

from reverie.core.errors import ReverieError
from reverie.core.progress import Progress

MAX_WORKERS = 4  # more sections at once than this mostly wait on memory bandwidth

_events = None  # the worker's end of the parent's queue


def workers_for(workers: int | None, device, sections: int) -> tuple[int, int]:
    """(worker processes, torch threads each). `workers` None: one per free core (at most
    MAX_WORKERS) on the CPU, and 1 on a GPU, where sections would queue for the one device."""
    from reverie.core.threads import free_cores

    cores = free_cores()
    if workers is not None and workers < 1:
        raise ReverieError(f"workers is {workers}; give 1 or more (1 runs the sections one "
                           f"after another)")
    if workers is None:
        workers = 1 if getattr(device, "type", str(device)) != "cpu" else min(MAX_WORKERS, cores)
    workers = max(1, min(workers, sections))
    return workers, max(1, cores // workers)


def _start_worker(events, threads: int) -> None:
    global _events
    _events = events
    sys.stdout = sys.stderr
    os.environ["REVERIE_THREADS"] = str(threads)  # what `threads=auto` becomes in here
    import torch
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)  # NumPy's BLAS too (scikit-learn's fits)
    except ImportError:
        pass
    from reverie.core.memory import reuse_freed_memory
    reuse_freed_memory()


def _run_section(name: str, ctx):
    from reverie.gallery import build_section

    _events.put((name, None, None, ""))
    ctx.progress = lambda done, total, message="": _events.put((name, done, total, message))
    return build_section(name, ctx)


def build_sections(names: list[str], labels: dict[str, str], expected: dict[str, float],
                   workers: int, threads: int, ctx, progress: Progress,
                   log: Callable[[str], None] | None) -> list:
    """Every section of `names` built in `workers` processes on `threads` threads each, in
    page order. `ctx` is the run's GalleryContext (its progress is replaced per section);
    `progress` gets the run's (done, total) in expected seconds, as in the serial run."""
    from reverie.gallery import Built, declared_mechanisms, took

    spawn = multiprocessing.get_context("spawn")
    events = spawn.Queue()
    total = sum(expected.values())
    share = {n: 0.0 for n in names}
    started: set[str] = set()
    built: dict[str, Built] = {}

    def start(name: str) -> None:
        if name not in started:
            started.add(name)
            if log:
                log(f"gallery: {labels[name]} ...")

    def show(name: str, message: str = "") -> None:
        progress(sum(expected[n] * share[n] for n in names), total,
                 f"{labels[name]}: {message}" if message else labels[name])

    def drain() -> None:
        while True:
            try:
                name, done, count, message = events.get_nowait()
            except queue.Empty:
                return
            start(name)
            if count:  # never backwards: a section may report several loops from 0
                share[name] = max(share[name], min(max(done / count, 0.0), 1.0))
            show(name, message)

    begun = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=spawn, initializer=_start_worker,
                             initargs=(events, threads)) as pool:
        order = sorted(names, key=lambda n: -expected[n])
        futures = {pool.submit(_run_section, name, ctx): name for name in order}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for future in finished:
                name = futures[future]
                try:
                    built[name] = future.result()
                except Exception as exc:  # the worker died: its section fails, not the run
                    built[name] = Built(name, None, time.perf_counter() - begun,
                                        f"the worker running it stopped ({type(exc).__name__}: "
                                        f"{exc})", declared_mechanisms(name))
                start(name)
                share[name] = 1.0
                show(name)
                if log:
                    log(took(labels[name], built[name]))
    drain()
    return [built[n] for n in names]
