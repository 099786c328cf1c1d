"""Benchmark: Reverie Studio's own costs, measured against the library in the same run.

- idle server memory: RSS of a fresh `reverie studio` process after it has started;
- first page load: seconds for the first GET / (templates compiled, registry walked);
- overhead: the same dream (about 30 s: sample:astronaut at 1024 px, 60 steps per octave)
  run by calling the library directly (in a fresh process, before and after) and through the studio's queue (submit over HTTP,
  wait for done); target: the studio within 10% of the library;
- queue: 5 small dreams submitted at once; all must finish, in submission order, none lost;
- load: twenty clients at once (threads on loopback), each submitting a job and polling its
  state until it is done, while another client times GET / every 50 ms: page latency
  percentiles under load beside the same with no load (the baseline, measured first), jobs
  per second, all done, in order. Twice: with ELIZA chats (the queue's own cost) and with
  tiny dreams (torch working in the server's process); target: p95 page under 200 ms.

    python bench/studio.py [--size 768] [--load-only] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOKEN = "studio-bench-token"  # given with --token, sent as the X-Reverie-Token header


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
                                          "Accept": "application/json", "X-Reverie-Token": TOKEN})
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


def page_latencies(url: str, stop: threading.Event, every: float = 0.05) -> list[float]:
    """Seconds for each GET / until `stop` is set (at least two)."""
    out = []
    while len(out) < 2 or not stop.is_set():
        t = time.perf_counter()
        urllib.request.urlopen(url + "/", timeout=30).read()
        out.append(time.perf_counter() - t)
        time.sleep(every)
    return out


def percentiles(seconds: list[float]) -> dict:
    qs = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"n": len(seconds), "p50_ms": round(qs[49] * 1000, 1), "p95_ms": round(qs[94] * 1000, 1),
            "p99_ms": round(qs[98] * 1000, 1), "max_ms": round(max(seconds) * 1000, 1)}


def load(url: str, name: str, fields: dict, each: int = 1, clients: int = 20,
         timeout: float = 600) -> dict:
    """`clients` threads each submit `each` jobs one after another, polling each one's
    state every 0.2 s until it is finished (bounded by `timeout`), while another thread
    times pages."""
    states: list[dict] = []
    errors: list[str] = []
    latencies: list[float] = []

    def client(i: int) -> None:
        try:
            for k in range(each):
                seeded = {**fields, "seed": str(i * each + k)} if "seed" in fields else fields
                states.append(wait_done(url, submit(url, name, seeded), timeout))
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors.append(repr(exc))

    stop = threading.Event()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    timer = threading.Thread(target=lambda: latencies.extend(page_latencies(url, stop)))
    start = time.perf_counter()
    for t in threads:
        t.start()
    timer.start()
    for t in threads:
        t.join(timeout)
    wall = time.perf_counter() - start
    stop.set()
    timer.join(60)
    states.sort(key=lambda s: s["queued"])
    return {"mechanism": name, "clients": clients, "jobs": len(states), "errors": errors,
            "all_done": (len(states) == clients * each
                         and all(s["status"] == "done" for s in states)),
            "in_order": all(a["finished"] <= b["started"] + 1e-3 for a, b in zip(states, states[1:])),
            "jobs_per_s": round(len(states) / wall, 2), "wall_s": round(wall, 2),
            "page": percentiles(latencies)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="dream size for the overhead case")
    ap.add_argument("--steps", type=int, default=60, help="dream steps per octave (about 30 s)")
    ap.add_argument("--load-only", action="store_true",
                    help="only the twenty-client load (minutes less: no 30 s dreams)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    dream_fields = {"image": "sample:astronaut", "size": str(args.size), "steps": str(args.steps)}

    # before the studio and after it
    library_runs = [] if args.load_only else [library_dream(args.size, args.steps)]

    folder = tempfile.mkdtemp(prefix="studio-bench-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "reverie", "studio", "--no-browser",
                             "--port", str(port), "--folder", folder, "--token", TOKEN],
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
        wait_done(url, submit(url, "chat", {"say": "Hello.", "bot": "eliza"}))
        stop = threading.Event()
        threading.Timer(3.0, stop.set).start()
        idle_page = percentiles(page_latencies(url, stop))  # the baseline: no load
        loads = [load(url, "chat", {"say": "Men are all alike.", "bot": "eliza"}, each=5),
                 load(url, "dream", {"image": "sample:coins", "size": "64", "octaves": "1",
                                     "steps": "2", "seed": "0"})]
        if args.load_only:
            figures = {"idle_page": idle_page, "load": loads, "load_average": os.getloadavg()}
            print(json.dumps(figures) if args.json else report_load(idle_page, loads) +
                  f"\nmachine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            return
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
               "idle_page": idle_page, "load": loads, "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps(figures))
        return
    print(f"idle server memory   {idle_mb:.0f} MB (after 128 jobs {busy_mb:.0f} MB)")
    print(f"startup              {started_s:.2f} s; first page {first_page_s * 1000:.0f} ms")
    print(f"dream at {args.size} px     library {library_s:.2f} s (runs before and after: "
          f"{', '.join(f'{x:.2f}' for x in library_runs)}), studio {studio_s:.2f} s: "
          f"overhead {overhead:+.1%} (target <= +10%)")
    print(f"queue of 5           all done: {all_done}, in order: {in_order}")
    print(report_load(idle_page, loads))


def report_load(idle: dict, loads: list[dict]) -> str:
    def ms(p: dict) -> str:
        return (f"p50 {p['p50_ms']:.0f} ms, p95 {p['p95_ms']:.0f} ms, p99 {p['p99_ms']:.0f} ms, "
                f"max {p['max_ms']:.0f} ms ({p['n']} pages)")
    lines = [f"page GET / idle      {ms(idle)}"]
    for r in loads:
        lines.append(f"{r['clients']} clients, {r['jobs']} {r['mechanism']}s: page {ms(r['page'])}; "
                     f"{r['jobs_per_s']:.2f} jobs/s, all done: {r['all_done']}, in order: "
                     f"{r['in_order']}{', errors: ' + '; '.join(r['errors']) if r['errors'] else ''} "
                     f"(target p95 < 200 ms)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
