"""The whole test suite three ways, as other machines would run it:

  threads1  every test on 1 torch thread (REVERIE_THREADS=1, what `pytest` does by default)
  threads2  every test on 2 threads: another summation order, so other trained models
  loaded    the default run beside two CPU-bound processes (a busy machine: load average,
            timing, and anything that still follows the free cores)

A test whose threshold was tuned to one run fails in one of them. Each run is a fresh
`python -m pytest` in the repository root; its output goes to a log file, and a table of
the runs (passed, failed, skipped, minutes) is printed at the end. Exits 1 if any run failed.

    python tests/check_suite.py                        # all three (3 x 4-8 minutes on 2 cores)
    python tests/check_suite.py --runs threads1 loaded
    python tests/check_suite.py -- tests/test_gan.py   # arguments after -- go to pytest

The busy processes stop by themselves when the run ends, when this script dies, or after
--limit minutes, whichever comes first.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = {"threads1": ({"REVERIE_THREADS": "1"}, 0),
        "threads2": ({"REVERIE_THREADS": "2"}, 0),
        "loaded": ({"REVERIE_THREADS": None}, 2)}  # None: unset, the suite's own default

# a busy loop that ends at its deadline or when the process that started it is gone
BUSY = """
import os, sys, time
deadline, parent = float(sys.argv[1]), int(sys.argv[2])
while time.time() < deadline and os.getppid() == parent:
    for _ in range(200_000):
        pass
"""


def busy(n: int, minutes: float) -> list[subprocess.Popen]:
    deadline = time.time() + 60 * minutes
    return [subprocess.Popen([sys.executable, "-c", BUSY, str(deadline), str(os.getpid())])
            for _ in range(n)]


def summary(log: str) -> dict:
    """Counts from pytest's last line: '3 failed, 480 passed, 10 skipped in 300.1s'."""
    counts = {k: 0 for k in ("passed", "failed", "errors", "skipped")}
    lines = [l for l in log.splitlines() if re.search(r"\b(passed|failed|error)", l)]
    for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", lines[-1] if lines else ""):
        counts["errors" if word.startswith("error") else word] = int(n)
    return counts


def run(name: str, pytest_args: list[str], logs: Path, limit: float) -> dict:
    env_changes, burners = RUNS[name]
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    log = logs / f"{name}.log"
    print(f"{name}: running (log: {log})", flush=True)
    start = time.perf_counter()
    others = busy(burners, limit)
    try:
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                                     *pytest_args], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                code = proc.wait(timeout=60 * limit)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # pytest and what its tests started
                proc.wait()
                code = "timeout"
    finally:
        for p in others:
            p.terminate()
        for p in others:
            p.wait()
    minutes = (time.perf_counter() - start) / 60
    result = {"run": name, "code": code, "minutes": minutes, **summary(log.read_text())}
    print(f"{name}: exit {code}, {result['passed']} passed, {result['failed']} failed, "
          f"{result['errors']} errors, {result['skipped']} skipped in {minutes:.1f} min",
          flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    pytest_args = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--logs", type=Path, default=None,
                        help="folder for the runs' logs (default: a new temporary folder)")
    parser.add_argument("--limit", type=float, default=30.0,
                        help="minutes one run may take before it is stopped (and the busy "
                             "processes with it)")
    args = parser.parse_args(own)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="reverie-check-"))
    logs.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at the start", flush=True)
    results = [run(name, pytest_args, logs, args.limit) for name in args.runs]
    print(f"\n{'run':<10} {'exit':>7} {'passed':>7} {'failed':>7} {'errors':>7} "
          f"{'skipped':>8} {'minutes':>8}")
    for r in results:
        print(f"{r['run']:<10} {r['code']!s:>7} {r['passed']:>7} {r['failed']:>7} "
              f"{r['errors']:>7} {r['skipped']:>8} {r['minutes']:>8.1f}")
    return 0 if all(r["code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
