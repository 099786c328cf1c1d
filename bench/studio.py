"""Benchmark: Reverie Studio's own costs, measured against the library in the same run.

- idle server memory: RSS of a fresh `reverie studio` process after it has started;
- first page load: seconds for the first GET / (templates compiled, registry walked);
- overhead: the same dream (about 30 s: sample:astronaut at 1024 px, 60 steps per octave)
  run by calling the library directly (in a fresh process, before and after) and through the studio's queue (submit over HTTP,
  wait for done); target: the studio within 10% of the library;
- queue: 5 small dreams submitted at once; all must finish, in submission order, none lost.

    python bench/studio.py [--size 768] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait_up(url: str, timeout: float = 60) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            urllib.request.urlopen(url + "/static/studio.css", timeout=2).read()
            return time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the studio did not start")


def submit(url: str, name: str, fields: dict) -> str:
    boundary = "reveriebench"
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in fields.items()) + f"--{boundary}--\r\n"
    req = urllib.request.Request(f"{url}/m/{name}/run", data=body.encode(), method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                                          "Accept": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())["job"]


def state(url: str, job: str) -> dict:
    return json.loads(urllib.request.urlopen(f"{url}/jobs/{job}/state").read())


def wait_done(url: str, job: str, timeout: float = 900) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        s = state(url, job)
        if s["status"] in ("done", "failed", "cancelled"):
            return s
        time.sleep(0.2)
    raise RuntimeError(f"job {job} did not finish")


LIBRARY = """
import time, reverie
reverie.dream("sample:coins", size=64, octaves=1, steps=1)  # warmed up, as the server is
start = time.perf_counter()
reverie.dream("sample:astronaut", size={size}, steps={steps})
print(time.perf_counter() - start)
"""


def library_dream(size: int, steps: int) -> float:
    """Seconds for the dream called directly, in a fresh process as the server is one."""
    out = subprocess.run([sys.executable, "-c", LIBRARY.format(size=size, steps=steps)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="dream size for the overhead case")
    ap.add_argument("--steps", type=int, default=60, help="dream steps per octave (about 30 s)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    dream_fields = {"image": "sample:astronaut", "size": str(args.size), "steps": str(args.steps)}

    library_runs = [library_dream(args.size, args.steps)]  # before the studio and after it

    folder = tempfile.mkdtemp(prefix="studio-bench-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "reverie", "studio", "--no-browser",
                             "--port", str(port), "--folder", folder],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started_s = wait_up(url)
        time.sleep(1.0)
        idle_mb = rss_mb(proc.pid)
        t = time.perf_counter()
        urllib.request.urlopen(url + "/").read()
        first_page_s = time.perf_counter() - t

        wait_done(url, submit(url, "dream", {"image": "sample:coins", "size": "64",
                                              "octaves": "1", "steps": "1"}))  # warm up
        t = time.perf_counter()
        job = submit(url, "dream", dream_fields)
        done = wait_done(url, job)
        studio_s = time.perf_counter() - t
        assert done["status"] == "done", done

        ids = [submit(url, "dream", {"image": "sample:coins", "size": "128", "octaves": "2",
                                     "steps": "3", "seed": str(i)}) for i in range(5)]
        states = [wait_done(url, i, 300) for i in ids]
        in_order = all(a["finished"] <= b["started"] + 1e-3 for a, b in zip(states, states[1:]))
        all_done = all(s["status"] == "done" for s in states)
        busy_mb = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    library_runs.append(library_dream(args.size, args.steps))
    library_s = sum(library_runs) / len(library_runs)

    overhead = studio_s / library_s - 1
    figures = {"idle_rss_mb": round(idle_mb, 1), "after_jobs_rss_mb": round(busy_mb, 1),
               "startup_s": round(started_s, 2), "first_page_s": round(first_page_s, 3),
               "dream_library_s": round(library_s, 2), "dream_studio_s": round(studio_s, 2),
               "dream_library_runs_s": [round(x, 2) for x in library_runs],
               "overhead": round(overhead, 4), "overhead_target": 0.10,
               "queue_jobs": 5, "queue_all_done": all_done, "queue_in_order": in_order,
               "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps(figures))
        return
    print(f"idle server memory   {idle_mb:.0f} MB (after 7 jobs {busy_mb:.0f} MB)")
    print(f"startup              {started_s:.2f} s; first page {first_page_s * 1000:.0f} ms")
    print(f"dream at {args.size} px     library {library_s:.2f} s (runs before and after: "
          f"{', '.join(f'{x:.2f}' for x in library_runs)}), studio {studio_s:.2f} s: "
          f"overhead {overhead:+.1%} (target <= +10%)")
    print(f"queue of 5           all done: {all_done}, in order: {in_order}")


if __name__ == "__main__":
    main()
