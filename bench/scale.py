"""Benchmark: training and rendering beyond one process, on this machine.

- char LM training (`text train`, the default 512-unit LSTM, global batch 32 x 64) for
  `--steps` steps on builtin:shakespeare: one process on 1 thread, one process on every
  core, and `torchrun` with 2 processes (gloo, 1 thread each). Characters per second, and
  the efficiency of the second process: 2-process throughput / (2 x 1-process 1-thread).
- the all-reduce a step costs: gloo all-reduce of the model's gradients (its parameter
  count in fp32) between 2 processes on the loopback, and a paper estimate for 8 machines:
  a ring all-reduce moves 2 (N-1)/N of the gradient bytes through each machine's link,
  so a step on N machines takes compute(local batch) + that transfer (no overlap assumed,
  the pessimistic case; DDP overlaps buckets with backward).
- batch DeepDream frames per minute through `reverie batch` on a Dask LocalCluster with 1
  and 2 workers (`--frames` independent 256 px dreams).

    python bench/scale.py [--steps 60] [--frames 8] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

# the link speeds the estimate is given for, bytes per second
LINKS = {"1 GbE": 125e6, "10 GbE": 1.25e9, "100 Gb InfiniBand": 12.5e9}


def env(threads: int) -> dict:
    e = dict(os.environ, OMP_NUM_THREADS=str(threads))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        e.pop(k, None)
    return e


def train(processes: int, threads: int, steps: int, out: Path) -> dict:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc-per-node={processes}"] if processes > 1 else [sys.executable])
    cmd = launcher + ["-m", "reverie", "text", "train", "builtin:shakespeare", "--out", str(out),
                      "--max-steps", str(steps), "--eval-every", str(steps),
                      "--eval-iters", "1", "--threads", str(threads), "--no-progress", "--json"]
    p = subprocess.run(cmd, env=env(threads), capture_output=True, text=True, check=True)
    figures = json.loads(p.stdout)["figures"]
    return {"processes": processes, "threads": threads,
            "chars_per_second": figures["chars_per_second"], "params": figures["params"],
            "seconds_per_step": 32 * 64 / figures["chars_per_second"]}


def _allreduce_worker(rank: int, numel: int, reps: int, port: int, queue) -> None:
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    t = torch.randn(numel)
    for _ in range(3):
        dist.all_reduce(t)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(reps):
        dist.all_reduce(t)
    seconds = (time.perf_counter() - start) / reps
    if rank == 0:
        queue.put(seconds)
    dist.destroy_process_group()


def allreduce_seconds(numel: int, reps: int = 20) -> float:
    import socket
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_allreduce_worker, args=(r, numel, reps, port, queue))
             for r in range(2)]
    for p in procs:
        p.start()
    seconds = queue.get(timeout=300)
    for p in procs:
        p.join()
    return seconds


def batch_frames_per_minute(workers: int, frames: int, folder: Path) -> dict:
    """`reverie batch` on a local cluster: `frames` independent dreams, one job each."""
    from reverie.scale.batch import BatchConfig, batch
    folder.mkdir(parents=True)
    jobs = folder / "jobs.jsonl"
    jobs.write_text("".join(json.dumps(
        {"mechanism": "dream", "inputs": {"image": "sample:astronaut"},
         "config": {"size": 256, "octaves": 2, "steps": 5, "seed": i, "layers": ["stage3"]},
         "out": f"frame{i:03d}.png"}) + "\n" for i in range(frames)))
    start = time.perf_counter()
    report = batch(jobs, BatchConfig(workers=workers), out=folder).report
    seconds = time.perf_counter() - start  # the cluster's start and each worker's net load too
    return {"workers": workers, "frames": frames, "done": report.done,
            "seconds": seconds, "frames_per_minute": 60 * frames / seconds}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=60, help="training steps per run")
    p.add_argument("--frames", type=int, default=8, help="dreams per batch run")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one_thread = train(1, 1, args.steps, tmp / "a.pt")
        one_all = train(1, cores, args.steps, tmp / "b.pt")
        two = train(2, 1, args.steps, tmp / "c.pt")
        params = one_thread["params"]
        reduce_s = allreduce_seconds(params)
        batches = [batch_frames_per_minute(w, args.frames, tmp / f"batch{w}")
                   for w in (1, 2)]
    efficiency = two["chars_per_second"] / (2 * one_thread["chars_per_second"])
    # 8 machines, each training a full global batch of its own (weak scaling), its compute
    # time measured here for one process on every core
    compute = one_all["seconds_per_step"]
    grad_bytes = 4 * params
    estimate = {}
    for link, bw in LINKS.items():
        comm = 2 * 7 / 8 * grad_bytes / bw
        estimate[link] = {"allreduce_s": comm, "efficiency": compute / (compute + comm),
                          "speedup": 8 * compute / (compute + comm)}
    figures = {"training": [one_thread, one_all, two], "second_process_efficiency": efficiency,
               "allreduce_loopback_s": reduce_s, "gradient_mb": grad_bytes / 1e6,
               "step_compute_s": compute, "eight_machines": estimate, "batch": batches,
               "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"char LM, {params:,} parameters, global batch 32 x 64, {args.steps} steps:")
    for r in figures["training"]:
        print(f"  {r['processes']} process(es) x {r['threads']} thread(s): "
              f"{r['chars_per_second']:,.0f} chars/s ({r['seconds_per_step'] * 1000:.0f} ms/step)")
    print(f"  second process efficiency (2 procs vs 2 x 1 proc on 1 thread): {efficiency:.0%}")
    print(f"all-reduce of {grad_bytes / 1e6:.1f} MB of gradients, 2 processes, loopback: "
          f"{reduce_s * 1000:.1f} ms")
    print(f"paper estimate, 8 machines each at {compute * 1000:.0f} ms/step of compute:")
    for link, e in estimate.items():
        print(f"  {link:<18} all-reduce {e['allreduce_s'] * 1000:7.1f} ms  efficiency "
              f"{e['efficiency']:.0%}  speedup x{e['speedup']:.1f}")
    for b in batches:
        print(f"batch DeepDream, {b['workers']} worker(s): {b['frames_per_minute']:.1f} "
              f"frames/min ({b['done']}/{b['frames']} done in {b['seconds']:.1f} s)")
    print(f"load average during the run: {figures['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
