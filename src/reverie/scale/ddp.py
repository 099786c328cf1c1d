"""Data-parallel training with PyTorch's DistributedDataParallel, launched by torchrun.

    torchrun --standalone --nproc-per-node 2 -m reverie text train builtin:shakespeare ...

torchrun starts one process per rank and tells each, in its environment, who it is (RANK,
WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE) and where to meet (MASTER_ADDR, MASTER_PORT).
A trainer asks `world()` once; with one process (no torchrun) every helper here is a
no-op, so the same code trains on a laptop and on a cluster:

    world = ddp.world()
    device = ddp.init(world, device)          # gloo on CPUs, NCCL on GPUs
    model = ddp.wrap(model, world, device)    # gradients all-reduced (averaged) in backward
    rows = world.rows(batch_size)             # this rank's share of the global batch
    ...                                       # only world.main writes, prints and saves

Averaging the ranks' gradients of their mean losses over equal shares is the gradient of
the mean loss over the global batch, so N processes train the model one process would with
the same global batch (up to floating-point summation order).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from reverie.core.errors import ReverieError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0 alone writes checkpoints, sidecars and progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def rows(self, batch: int) -> slice:
        """This rank's contiguous block of the global batch's rows."""
        if batch % self.size:
            raise ReverieError(f"batch_size {batch} does not split evenly over {self.size} "
                               f"processes; use a multiple of {self.size}")
        share = batch // self.size
        return slice(self.rank * share, (self.rank + 1) * share)


def world() -> World:
    """Who this process is, from torchrun's environment (one process without it)."""
    env = os.environ
    size = int(env.get("WORLD_SIZE", "1"))
    return World(rank=int(env.get("RANK", "0")), size=size,
                 local_rank=int(env.get("LOCAL_RANK", "0")),
                 local_size=int(env.get("LOCAL_WORLD_SIZE", str(size))))


def is_main() -> bool:
    """Cheap check for code that should print or write only once (the CLI)."""
    return world().main


def restarted() -> bool:
    """torchrun restarted this group after a failure (--max-restarts): resume, don't restart."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0


def run_id() -> str | None:
    """torchrun's id of this job (--rdzv-id; a fresh one per --standalone launch), the same
    across its restarts: a checkpoint records it, so a restart resumes its own run only."""
    return os.environ.get("TORCHELASTIC_RUN_ID")


def init(w: World, device: torch.device) -> torch.device:
    """Join the process group (once) and return this rank's device: cuda:LOCAL_RANK on GPUs."""
    if not w.distributed:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", w.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def close(w: World) -> None:
    if w.distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, w: World, device: torch.device,
         find_unused: bool = False) -> torch.nn.Module:
    """DDP broadcasts rank 0's weights, then all-reduces gradients during backward;
    `find_unused` where some steps leave part of the model out."""
    if not w.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel
    return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None,
                                   find_unused_parameters=find_unused)


def average(values: list[float], w: World, device: torch.device) -> list[float]:
    """The mean of each value over the ranks (one all-reduce for all of them)."""
    if not w.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return (t / w.size).tolist()


def gather_rows(t: torch.Tensor, w: World, dim: int) -> torch.Tensor:
    """Every rank's block of rows, concatenated along `dim` in rank order (the global batch)."""
    if not w.distributed:
        return t
    parts = [torch.empty_like(t) for _ in range(w.size)]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts, dim=dim)


def barrier(w: World) -> None:
    if w.distributed:
        dist.barrier()


def finish(w: World) -> None:
    """Every rank calls this after a run's last collective (not on an error path: a rank
    still mid-collective would never arrive). Gloo's worker threads free a finished
    collective's tensors only once they hold the GIL, and DDP keeps the group and its
    threads alive past destroy_process_group (torch 2.13); a rank that reached interpreter
    exit first aborted ("terminate called without an active exception", about 1
    two-process run in 40 on 2 busy cores). Waiting at a barrier, GIL released, lets them."""
    barrier(w)
