"""DeepDream speed and memory (issue: foundation).

Case 1024: a 1024x1024 photo, 4 octaves x 10 steps, lite0, default settings. Reports wall
time, peak memory (RSS of a fresh process) and the ratio of the time per step at full
size to one bare PyTorch forward+backward of the same network to the same layer at the
same size, measured in the same run. Targets: <= 12 s, <= 2.5 GB, ratio <= 1.15.
Case 4096: the same at 4096x4096 with tiling: must finish with peak memory <= 6 GB.

    python bench/dream.py [--cases 1024 4096] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

TARGETS = {"1024": {"seconds": 12.0, "peak_gb": 2.5, "ratio": 1.15}, "4096": {"peak_gb": 6.0}}


def run_case(size: int) -> dict:
    import torch
    import torch.nn.functional as F

    from reverie.image.deepdream import DreamConfig, dream
    from reverie.io.images import load_image
    from reverie.nets.zoo import load_net

    photo = load_image("sample:astronaut")  # 512x512
    photo = F.interpolate(photo[None], size=(size, size), mode="bicubic", align_corners=False)[0].clamp(0, 1)
    cfg = DreamConfig()
    net = load_net(cfg.model)
    layer = cfg.layers[0]

    step_times = []

    def progress(done, total, message=""):
        step_times.append((time.perf_counter(), message))

    start = time.perf_counter()
    result = dream(photo, cfg, progress=progress)
    wall = time.perf_counter() - start
    # Measured after the dream: big untiled passes first would fragment the heap
    # and slow the dream that follows, which no user process does.
    # Baselines: one bare forward+backward to the same layer at the same size, in plain
    # float32 and in the precision the dream uses.
    from reverie.core.device import autocast

    def bare(precision):
        x = photo[None].clone().requires_grad_(True)
        with autocast(x.device, precision):
            y = net.features(x, [layer])[layer].float().pow(2).sum()
        y.backward()

    bare_s = {}
    if size <= 1024:
        for precision in ("fp32", cfg.precision):
            bare(precision)  # warm-up
            times = []
            for _ in range(3):
                t = time.perf_counter()
                bare(precision)
                times.append(time.perf_counter() - t)
            bare_s[precision] = min(times)

    # per-step time in the full-size octave: the last `steps` steps
    full = [t for t, m in step_times if m == f"octave {size}x{size}"]
    per_step = (full[-1] - full[0]) / (len(full) - 1) if len(full) > 1 else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KB -> GB
    out = {"size": size, "seconds": round(wall, 2), "peak_gb": round(peak, 3),
           "steps": result.figures["steps_total"], "octaves": result.figures["octave_sizes"],
           "full_size_seconds_per_step": round(per_step, 4) if per_step else None,
           "objective_gain": round(result.figures["objective_gain"], 3),
           "threads": torch.get_num_threads()}
    out["precision"] = cfg.precision
    if bare_s:
        out["bare_fp32_seconds"] = round(bare_s["fp32"], 4)
        out["bare_same_precision_seconds"] = round(bare_s[cfg.precision], 4)
        out["ratio_step_to_bare"] = round(per_step / bare_s["fp32"], 3)
        out["ratio_step_to_bare_same_precision"] = round(per_step / bare_s[cfg.precision], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=["1024", "4096"], choices=["1024", "4096"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case in this process
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(int(args.case))))
        return
    report = {"load_average_before": os.getloadavg(), "cases": {}}
    for case in args.cases:
        proc = subprocess.run([sys.executable, __file__, "--case", case], capture_output=True, text=True)
        if proc.returncode != 0:
            report["cases"][case] = {"error": proc.stderr.strip().splitlines()[-1:]}
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["targets"] = TARGETS[case]
        figure = {"seconds": "seconds", "peak_gb": "peak_gb", "ratio": "ratio_step_to_bare"}
        res["meets_targets"] = all(res.get(figure[k]) is not None and res[figure[k]] <= v
                                   for k, v in TARGETS[case].items())
        report["cases"][case] = res
    report["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(report))
        return
    print(f"load average before {report['load_average_before']}, after {report['load_average_after']}")
    for case, r in report["cases"].items():
        print(f"{case}x{case}: " + ", ".join(f"{k} {v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
