"""How many torch CPU threads `threads=auto` becomes.

By default the cores not already busy (the load average), so a run on a loaded machine
does not fight other work for cores. The environment variable REVERIE_THREADS overrides
that with a fixed count: another thread count sums in another order and trains another
model, so a run that must not depend on the machine's load (a test suite, a comparison)
sets it. A `threads` a config gives explicitly always wins over both."""
from __future__ import annotations

import contextlib
import os
from typing import Iterator, Optional

import torch

from reverie.core.errors import ReverieError

ENV = "REVERIE_THREADS"


def _pinned() -> Optional[int]:
    """The thread count REVERIE_THREADS asks for, or None when it is unset or empty."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ReverieError(f"{ENV}={value!r} is not a thread count; set it to a whole "
                           f"number of at least 1, or unset it for the free cores")
    return n


def free_cores() -> int:
    """Cores not already busy with other work (load average), at least 1; REVERIE_THREADS
    when it is set.

    Measured on a loaded 2-core machine: when another process holds a core, a 2-thread
    LSTM step waits at every OpenMP barrier and runs 2-4x *slower* than on one thread."""
    n = _pinned()
    if n is not None:
        return n
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return cores
    return max(1, min(cores, cores - int(round(load))))


@contextlib.contextmanager
def cpu_threads(threads: Optional[int] = None) -> Iterator[int]:
    """Run a block on `threads` torch threads (default: `free_cores()`), then restore."""
    before = torch.get_num_threads()
    n = threads or free_cores()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


_POOL_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def limit_threads(n: int) -> Iterator[None]:
    """Every thread pool of this process on `n` threads for the block: torch's, the BLAS
    and OpenMP pools already loaded (threadpoolctl), and, through the environment, those a
    library loaded later or a subprocess starts. N workers on N cores then do not fight."""
    before = torch.get_num_threads()
    env = {k: os.environ.get(k) for k in _POOL_ENV}
    os.environ.update({k: str(n) for k in _POOL_ENV})
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, the environment must do
        threadpool_limits = None
    try:
        with threadpool_limits(limits=n) if threadpool_limits else contextlib.nullcontext():
            yield
    finally:
        torch.set_num_threads(before)
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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
