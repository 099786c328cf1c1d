"""Benchmark: what `reverie.train.fit` costs per step, beside a bare Python loop.

One trivial task (a linear layer regressing a fixed batch, plain SGD), trained for the same
number of steps twice in one run: through `fit` (budget, learning-rate hook, smoothed
losses, history, progress message, eval and checkpoint cadence checks) and through a bare
loop doing the same forward, backward, step and `loss.item()`. The model is so small that
the difference is the loop's own bookkeeping. Each is timed `--repeats` times, in
alternating order, and the fastest kept (the machine is shared); `fit`'s one-off start
(seeding, threads, task and checkpoint at the end) is measured apart, from a one-step run,
and taken out of its per-step figure. The load average is printed: on busy cores both
figures (and their difference) are slower, comparable only between runs at similar load.

Target: the loop's overhead a small fraction of any real model's step (tens of
microseconds, against milliseconds for the smallest trainer in tests/trainers.py).

    python bench/train.py [--steps 2000] [--repeats 3] [--device cpu] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reverie.core.device import resolve_device  # noqa: E402
from reverie.core.threads import cpu_threads  # noqa: E402
from reverie.train import Task, TrainConfig, fit, optimize  # noqa: E402

WIDTH, BATCH = 32, 64


@dataclass
class TrivialConfig(TrainConfig):
    pass


def problem(device: torch.device, seed: int = 0) -> tuple:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, WIDTH, generator=g)
    y = x @ torch.randn(WIDTH, 1, generator=g)
    return x.to(device), y.to(device)


class TrivialTask(Task):
    format = "bench-trivial"

    def __init__(self, env):
        self.x, self.y = problem(env.device)
        self.model = nn.Linear(WIDTH, 1).to(env.device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=1e-2)
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.opt}

    def step(self, step: int) -> dict:
        loss = nn.functional.mse_loss(self.model(self.x), self.y)
        optimize(loss, self.opt)
        return {"loss": loss.item()}

    def evaluate(self, final: bool) -> dict:
        with torch.no_grad():
            return {"held_out": float(nn.functional.mse_loss(self.model(self.x), self.y))}


def through_fit(steps: int, device: str) -> float:
    cfg = TrivialConfig(max_steps=steps, eval_every=steps, checkpoint_every=10 ** 9,
                        threads=1, device=device)
    t0 = time.perf_counter()
    fit(TrivialTask, cfg, out=None, load=lambda path: {})
    return time.perf_counter() - t0


def bare(steps: int, device: str) -> float:
    dev = resolve_device(device)
    with cpu_threads(1):
        x, y = problem(dev)
        model = nn.Linear(WIDTH, 1).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=1e-2)
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()
        return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    through_fit(10, args.device), bare(10, args.device)          # warm up both paths
    fit_s, start_s, bare_s = [], [], []
    for i in range(args.repeats):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for which in order:
            if which == 0:
                fit_s.append(through_fit(args.steps, args.device))
                start_s.append(through_fit(1, args.device))
            else:
                bare_s.append(bare(args.steps, args.device))
    start = min(start_s)
    per_fit = (min(fit_s) - start) / max(args.steps - 1, 1)
    per_bare = min(bare_s) / args.steps
    figures = {"device": str(resolve_device(args.device)), "steps": args.steps,
               "repeats": args.repeats,
               "fit_steps_per_second": 1 / per_fit, "bare_steps_per_second": 1 / per_bare,
               "fit_us_per_step": per_fit * 1e6, "bare_us_per_step": per_bare * 1e6,
               "overhead_us_per_step": (per_fit - per_bare) * 1e6,
               "fit_start_ms": start * 1e3, "load_average": os.getloadavg()[0]}
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0
    print(f"a linear layer ({WIDTH} -> 1, batch {BATCH}, SGD) for {args.steps} steps on "
          f"{figures['device']}, one thread; fastest of {args.repeats} (load average "
          f"{figures['load_average']:.1f})")
    print(f"{'':<24} {'steps/s':>10} {'us/step':>10}")
    print(f"{'reverie.train.fit':<24} {figures['fit_steps_per_second']:>10,.0f} "
          f"{figures['fit_us_per_step']:>10.1f}")
    print(f"{'bare Python loop':<24} {figures['bare_steps_per_second']:>10,.0f} "
          f"{figures['bare_us_per_step']:>10.1f}")
    print(f"the loop's overhead: {figures['overhead_us_per_step']:.1f} us per step "
          f"({figures['overhead_us_per_step'] / figures['bare_us_per_step']:.0%} of this "
          f"trivial step), plus {figures['fit_start_ms']:.1f} ms once per run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
