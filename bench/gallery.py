"""Benchmark: `reverie gallery` from cold (an empty cache and output folder, as on a fresh
clone), its sections side by side (`--workers`, default one per free core) beside the
baseline of the same gallery one section after another (`--workers 1`), in one run on this
machine. Target (issue #38): the full gallery in at most 300 s on 2 idle cores.

Each run is its own `reverie gallery` process with REVERIE_CACHE pointed at a fresh folder,
so nothing a run trains or renders is reused by the next. Prints each section's seconds
and the total per run, and keeps them in bench/out/gallery/results.json.

Measured 2026-12-07 on 2 idle cores, the zoo installed, in one run: side by side (2 workers
on one thread each) 264.3 s, one after another on two threads 321.0 s; the longest
sections side by side: draw 108 s, text 93, image 69, style 60. Later the same day (the
machine slower): side by side 301.2 s and 323.0 s, and 306.2 s for the commit that had
measured 264.3 s, run again in a worktree. On another, faster machine in a later session
(2026-12-07): 159.8 s side by side; draw 74 s, text 47, image 44. The next session, same
machine (model:chorale-audio retrained, the sketch short budget fitted): 172.5 s; draw 79 s,
text 50, image 47.

    REVERIE_THREADS=2 python bench/gallery.py [--quick] [--workers auto 1] [--section text ...]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = {False: 300.0, True: 120.0}
OUT = Path(__file__).resolve().parent / "out" / "gallery"


def run(workers: str, quick: bool, sections: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="reverie-gallery-bench-") as tmp:
        args = ["reverie", "gallery", "--out", f"{tmp}/out", "--cache", f"{tmp}/cache",
                "--no-progress", "--json"]
        args += ["--quick"] * quick + [a for s in sections for a in ("--section", s)]
        if workers != "auto":
            args += ["--workers", workers]
        env = {**os.environ, "REVERIE_CACHE": f"{tmp}/cache"}
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1):  # 1: a section failed, still timed
            sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the quick gallery")
    p.add_argument("--workers", nargs="+", default=["auto", "1"],
                   help="worker settings to compare, the first the one judged (default: auto 1)")
    p.add_argument("--section", action="append", dest="sections", default=[],
                   help="only this section, repeatable (default: all)")
    args = p.parse_args()

    runs = {w: run(w, args.quick, args.sections) for w in args.workers}
    names = list(next(iter(runs.values()))["sections"])
    print(f"{'section':<12}" + "".join(f"{'workers ' + w:>14}" for w in runs))
    for n in names:
        print(f"{n:<12}" + "".join(f"{r['sections'].get(n, float('nan')):>13.1f}s" for r in runs.values()))
    print(f"{'total':<12}" + "".join(f"{r['seconds']:>13.1f}s" for r in runs.values())
          + "   (workers used: " + ", ".join(str(r.get("workers", 1)) for r in runs.values()) + ")")
    judged = runs[args.workers[0]]
    if not args.sections:
        target = TARGET[args.quick]
        print(f"target: <= {target:.0f} s: {judged['seconds']:.1f} s "
              f"({'met' if judged['seconds'] <= target else 'NOT met'})")
    failed = {w: r["failed"] for w, r in runs.items() if r["failed"]}
    if failed:
        print(f"failed sections: {failed}")
    OUT.mkdir(parents=True, exist_ok=True)
    name = "results-quick.json" if args.quick else "results.json"
    (OUT / name).write_text(json.dumps({"runs": runs, "sections": args.sections}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
