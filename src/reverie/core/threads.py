"""CPU threads: how many torch (and BLAS) threads a run uses.

`threads=auto` takes the cores not already busy (the load average), because on a loaded
2-core machine a 2-thread step waits at every OpenMP barrier and runs 2-4x slower than on
one thread. The environment variable REVERIE_THREADS, where set, replaces that guess
(tests and benchmarks pin it; another thread count sums in another order and trains
another model)."""
from __future__ import annotations

import contextlib
import os
from typing import Iterator, Optional

import torch


def free_cores() -> int:
    """Cores not already busy with other work (load average), at least 1; REVERIE_THREADS
    when it is set."""
    pinned = os.environ.get("REVERIE_THREADS", "").strip()
    if pinned.isdigit() and int(pinned) > 0:
        return int(pinned)
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return cores
    return max(1, min(cores, cores - int(round(load))))


@contextlib.contextmanager
def cpu_threads(threads: Optional[int] = None) -> Iterator[int]:
    """Run a block on `threads` torch threads (default: the free cores), then restore."""
    before = torch.get_num_threads()
    n = threads or free_cores()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """NumPy's BLAS on one thread: a matrix-vector product per step is too small to share,
    and on a busy machine a second thread only waits (measured: 40x slower)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, run as configured
        yield
        return
    with threadpool_limits(limits=1):
        yield
