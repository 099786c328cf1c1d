"""Many renders on a Dask cluster: independent jobs fan out, a zoom video runs as a chain.

A batch is a JSON Lines file, one job a line, with the keys of a sidecar, so a sidecar's
JSON on one line is a valid job:

    {"mechanism": "dream", "config": {"layers": ["stage3"], "size": 256},
     "inputs": {"image": "frames/0001.png"}, "out": "dream/0001.png"}

`config` holds Config fields (missing ones take their defaults); `inputs` holds the
mechanism's inputs, each a plain value (a path, `sample:NAME`, `builtin:NAME`,
`model:NAME`, a word, a list for several) or a sidecar's record of one (`{"source": ...,
"sha256": ...}`, checked before the job runs); `out` is a path inside the output folder (default:
`NNNN-MECHANISM.SUFFIX`, NNNN the job's place in the file). Fan-out is a loop that writes
lines, e.g. a Perception Engine drawing of every ImageNet class:

    python -c 'import json
    from reverie.nets.classes import class_names
    for i, name in enumerate(class_names()):
        print(json.dumps({"mechanism": "perceive", "inputs": {"target": name},
                          "out": f"perceive/{i:04d}.svg"}))' > jobs.jsonl

`run_batch` runs each job not done yet as a Dask task (`run_job`: the registry's function
and `Result.save`, which writes the output and its sidecar atomically). A job is done when
its output and sidecar exist, so running a batch again resumes it. A job that fails is
retried, then reported; the others go on.

A zoom video cannot fan out: each frame is dreamed from the one before. `dream_chain` cuts
it into chunks of frames, each a task that takes the previous chunk's result, and writes
each finished chunk's frames into `.chunks/` beside the output, so a killed run resumes
from the last finished chunk.

Workers read the inputs and write into the output folder (`run_job`), so on several
machines both must be at the same paths on each (a shared file system); a relative input
path is relative to the worker's working folder (the client's, on the local cluster).
`dream_chain` reads the image and writes the frames on the client.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Optional

from reverie.core import registry
from reverie.core.config import Config, knob, make_config
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent, wants_preview
from reverie.core.result import Result
from reverie.io.files import save_text

# Keys a job may have beyond mechanism, config, inputs and out: the rest of a sidecar.
SIDECAR_KEYS = {"schema", "reverie_version", "resolved", "figures", "timings", "notes",
                "outputs", "deterministic", "environment"}
RECORD_KEYS = ("source", "value", "many")  # how core.inputs records an input


# -- jobs --------------------------------------------------------------------------------
def read_jobs(path: str | os.PathLike) -> list[dict]:
    """The jobs of a JSON Lines file, each checked (mechanism, config fields and values,
    required inputs, output name); blank lines and lines starting with # are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ReverieError(f"jobs file not found: {path}; give a .jsonl file, one job a "
                           f"line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReverieError(f"cannot read jobs file {path} ({exc})") from None
    jobs, outs = [], {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path.name} line {number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ReverieError(f"{where}: not valid JSON ({exc})") from None
        try:
            job = parse_job(data, len(jobs) + 1)
        except ReverieError as exc:
            raise ReverieError(f"{where}: {exc}") from None
        for name in _written(job["out"]):
            if name in outs:
                raise ReverieError(f"{where}: out {job['out']!r} would overwrite {name!r} of "
                                   f"line {outs[name]}; give each job its own out")
        outs.update(dict.fromkeys(_written(job["out"]), number))
        job["line"] = number
        jobs.append(job)
    if not jobs:
        raise ReverieError(f"{path} holds no jobs; write one JSON object a line")
    return jobs


def parse_job(data: Any, index: int) -> dict:
    """One job from its JSON: {"mechanism", "config", "inputs", "out"}, inputs as records."""
    if not isinstance(data, dict) or "mechanism" not in data:
        raise ReverieError('a job is a JSON object with "mechanism", "config", "inputs" and '
                           'optionally "out"')
    unknown = sorted(set(data) - {"mechanism", "config", "inputs", "out"} - SIDECAR_KEYS)
    if unknown:
        raise ReverieError(f"unknown key {', '.join(map(repr, unknown))}; a job has mechanism, "
                           f"config, inputs and out")
    mech = registry.get(str(data["mechanism"]))
    if mech.name == "batch":
        raise ReverieError("a job cannot be a batch itself; put its jobs in this file")
    config = data.get("config") or {}
    inputs = data.get("inputs") or {}
    if not isinstance(config, dict) or not isinstance(inputs, dict):
        raise ReverieError('"config" and "inputs" are JSON objects ({"field": value})')
    recorded = "schema" in data  # a sidecar copied as a job: its config is a record
    _check_config(mech, config, recorded)
    job = {"mechanism": mech.name, "config": config, "inputs": _input_records(mech, inputs),
           "out": _out_name(mech, data.get("out"), index)}
    if recorded:  # a field the record predates takes its Config's ADDED value
        job["schema"] = data["schema"]
    return job


def _check_config(mech: registry.Mechanism, config: dict, recorded: bool) -> None:
    import difflib

    from reverie.core.config import fields

    names = [f.name for f in fields(mech.config_class())]
    for name in config:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ReverieError(f"{mech.name} has no config field {name!r}{hint}; its fields: "
                               f"{', '.join(names)}")
    mech.config_class().from_dict(config, recorded)  # values checked now, not on a worker


def _input_records(mech: registry.Mechanism, inputs: dict) -> dict:
    """Each input as core.inputs records it; plain values become records (no sha256)."""
    by_name = {inp.name: inp for inp in mech.inputs}
    out = {}
    for name, value in inputs.items():
        inp = by_name.get(name)
        if isinstance(value, dict) and any(k in value for k in RECORD_KEYS):
            out[name] = value  # a sidecar's record (files a field named are kept too)
        elif inp is None:
            raise ReverieError(f"{mech.name} has no input {name!r}; its inputs: "
                               f"{', '.join(by_name)}")
        elif value is None:
            out[name] = {"source": None}
        elif inp.kind == "value":
            out[name] = {"value": value}
        elif isinstance(value, list):
            out[name] = {"many": [{"source": str(v)} for v in value]}
        else:
            out[name] = {"source": str(value)}
    for inp in mech.inputs:
        rec = out.get(inp.name, {"source": None})
        if inp.required and rec.get("source") is None and not ("value" in rec or "many" in rec):
            if rec.get("note"):  # a sidecar of an output made from an in-memory input
                raise ReverieError(f"input {inp.name!r} was {rec['note']}, not a file, so this "
                                   f"job cannot run; give a path")
            example = f", e.g. {inp.example}" if inp.example else ""
            raise ReverieError(f"{mech.name} needs input {inp.name!r} ({inp.help}{example})")
    return out


def _out_name(mech: registry.Mechanism, out: Any, index: int) -> str:
    """A relative path inside the output folder, with one of the mechanism's suffixes."""
    if out is None:
        return f"{index:04d}-{mech.name}{mech.outputs[0]}"
    if not isinstance(out, str) or not out.strip():
        raise ReverieError('"out" is a file name inside the output folder, e.g. "dream/0001.png"')
    rel = PurePosixPath(out.strip())
    if rel.is_absolute() or ".." in rel.parts or out.strip().startswith("~"):
        raise ReverieError(f"out {out!r} must stay inside the output folder: give a relative "
                           f"path without ..")
    if not rel.suffix:
        rel = rel.with_suffix(mech.outputs[0])
    if rel.suffix.lower() not in mech.outputs:
        raise ReverieError(f"{mech.name} writes {', '.join(mech.outputs)}, not {rel.suffix!r}")
    return str(rel)


def _written(out: str) -> tuple[str, str]:
    """The output and its sidecar (as core.sidecar names it beside a fresh output)."""
    rel = PurePosixPath(out)
    side = rel.with_name(rel.name + ".sidecar.json") if rel.suffix.lower() == ".json" \
        else rel.with_suffix(".json")
    return str(rel), str(side)


def out_path(job: dict, out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / job["out"]


def done(job: dict, out_dir: str | os.PathLike) -> bool:
    """The job's output and its sidecar both exist (each written atomically) and the sidecar
    says they were made by this job as it reads now (mechanism, the settings it sets, its
    inputs and their bytes): skip it. An edited job, or a changed input file, runs again."""
    from reverie.core.sidecar import sidecar_path
    out = out_path(job, out_dir)
    if not (out.is_file() and sidecar_path(out).is_file()):
        return False
    try:
        made = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if made.get("mechanism") != job["mechanism"]:
        return False
    config = registry.get(job["mechanism"]).config_class().from_dict(
        job["config"], recorded="schema" in job).to_dict()
    if any(made.get("config", {}).get(k) != config[k] for k in job["config"]):
        return False
    return all(_same_input(rec, made.get("inputs", {}).get(name) or {})
               for name, rec in job["inputs"].items())


def _same_input(wanted: dict, made: dict) -> bool:
    """A job's input record against the one its sidecar holds (files hashed as they are now)."""
    if "many" in wanted:
        many = made.get("many") or []
        return len(many) == len(wanted["many"]) and all(map(_same_input, wanted["many"], many))
    if "value" in wanted:  # one value given for an input of many is recorded as a list of one
        return made.get("value") in (wanted["value"], [wanted["value"]])
    if wanted.get("source") is None:
        return made.get("source") is None
    if made.get("source") != wanted["source"]:
        return False
    now = record_input(wanted["source"]).get("sha256")
    return now is None or now == made.get("sha256")


def run_job(job: dict, out_dir: str | os.PathLike, threads: int = 1) -> dict:
    """Run one job in this process and save it (output and sidecar, atomically)."""
    from reverie.core.rerun import run_record

    start = time.perf_counter()
    from reverie.core.threads import limit_threads
    with limit_threads(threads):
        _, paths = run_record(job, out_path(job, out_dir))
    return {"out": job["out"], "line": job.get("line"), "seconds": time.perf_counter() - start,
            "outputs": {k: str(p) for k, p in paths.items()}}


def one_line(exc: BaseException) -> str:
    """A failure as one line: a ReverieError's message, else the exception's type and text."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, ReverieError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- the cluster ---------------------------------------------------------------------------
DASK_LOGS = ("debug", "info", "warning", "error")


@contextlib.contextmanager
def dask_logs(level: str = "warning") -> Iterator[int]:
    """Dask's own log lines in this process at `level` or above for the block, then as
    before. Its scheduler, nanny and workers say INFO lines by the dozen as they start and
    stop. Dask logs through a handler of its own or, where the root logger already had one
    when Dask was imported (a program that set up logging first), through the root's, which
    `LocalCluster(silence_logs=...)` does not reach: the logger's level covers both."""
    import logging
    number = logging.getLevelName(level.upper())
    logger = logging.getLogger("distributed")
    before = logger.level
    logger.setLevel(number)
    try:
        yield number
    finally:
        logger.setLevel(before)


@contextlib.contextmanager
def connect(cluster: Any = "local", workers: int | None = None,
            logs: str = "warning") -> Iterator[Any]:
    """A dask.distributed Client: a LocalCluster of single-thread worker processes on this
    machine ("local"), a scheduler's address ("tcp://HOST:8786"), or a Client given. On
    "local", Dask's log lines below `logs` are kept out of the output (its workers' too)."""
    try:
        import dask  # noqa: F401
        from distributed import Client, LocalCluster
    except ImportError:
        raise ReverieError("batch rendering needs Dask; install it with: "
                           "pip install 'dask[distributed]==2026.8.0'") from None
    if not isinstance(cluster, str):  # a Client made by the caller: theirs to close
        yield cluster
        return
    if cluster == "local":
        n = workers or os.cpu_count() or 1
        with dask_logs(logs) as level, \
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=":0",
                             silence_logs=level) as local, Client(local) as client:
            yield client
        return
    if workers is not None:
        raise ReverieError("workers is for the local cluster; a scheduler at an address has "
                           "the workers started with `dask worker ADDRESS`")
    if not cluster.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")):
        raise ReverieError(f"cluster {cluster!r} is neither local nor a scheduler address such "
                           f"as tcp://HOST:8786")
    try:
        client = Client(cluster, timeout=20)
    except (OSError, TimeoutError) as exc:
        raise ReverieError(f"cannot reach the Dask scheduler at {cluster} ({one_line(exc)}); "
                           f"start one with `dask scheduler`") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise ReverieError(f"no worker joined the scheduler at {cluster} within 60 s; start "
                               f"them with `dask worker {cluster}`") from None
        yield client


def _workers(client) -> int:
    return len(client.scheduler_info().get("workers", {}))


# -- many jobs -----------------------------------------------------------------------------
@dataclass
class BatchResult:
    jobs: int                     # in the file
    skipped: int                  # done before this run (output and sidecar there)
    done: int                     # finished in this run
    failed: list[dict] = field(default_factory=list)   # {"line", "out", "error"}
    seconds: float = 0.0
    jobs_per_minute: float = 0.0  # finished in this run, per minute of wall time
    workers: int = 0
    finished: list[dict] = field(default_factory=list)  # run_job's report of each

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.done} done, {self.skipped} skipped (already there), "
                f"{len(self.failed)} failed of {self.jobs} jobs in {self.seconds:.1f} s "
                f"({self.jobs_per_minute:.1f} jobs/min on {self.workers} workers)")


def _preview(progress: Progress, path: Path) -> None:
    """The studio shows each finished image as the batch goes (other callbacks ignore it)."""
    if wants_preview(progress) and path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
        from reverie.io.images import load_image
        with contextlib.suppress(Exception):  # a preview must never fail the batch
            show_preview(progress, load_image(path))


def check_jobs(jobs: list[dict], out_dir: str | os.PathLike) -> None:
    """Each output path can be written and suits its config (an animation for frames > 1),
    before anything runs."""
    for job in jobs:
        mech = registry.get(job["mechanism"])
        try:
            config = mech.config_class().from_dict(job["config"], recorded="schema" in job)
            mech.check_output(config, out_path(job, out_dir))
        except ReverieError as exc:
            raise ReverieError(f"the job on line {job.get('line', '?')}: {exc}") from None


def run_batch(jobs: list[dict], out_dir: str | os.PathLike, cluster: Any = "local",
              workers: int | None = None, retries: int = 2, progress: Progress = silent,
              threads: int = 1, logs: str = "warning") -> BatchResult:
    """Run every job not done yet as a Dask task; a failure is retried `retries` times,
    then reported, while the others go on. `progress(done, total, message)` after each."""
    out_dir = Path(out_dir)
    check_jobs(jobs, out_dir)
    todo = [j for j in jobs if not done(j, out_dir)]
    report = BatchResult(jobs=len(jobs), skipped=len(jobs) - len(todo), done=0)
    if not todo:
        progress(0, 0, "every job is done already")
        return report
    start = time.perf_counter()
    run = uuid.uuid4().hex[:8]
    with connect(cluster, workers, logs) as client:
        from distributed import as_completed
        report.workers = _workers(client)
        futures = {client.submit(run_job, job, str(out_dir.resolve()), threads, retries=retries,
                                 pure=False, key=f"reverie-job-{run}-{i}"): job
                   for i, job in enumerate(todo)}
        progress(0, len(todo), f"{len(todo)} jobs on {report.workers} workers")
        for count, future in enumerate(as_completed(futures), 1):
            job = futures[future]
            if future.status == "error":
                error = one_line(future.exception())
                report.failed.append({"line": job.get("line"), "out": job["out"], "error": error})
                progress(count, len(todo), f"failed {job['out']}: {error}")
            else:
                report.finished.append(future.result())
                report.done += 1
                progress(count, len(todo), f"wrote {job['out']}")
                _preview(progress, out_dir / job["out"])
            future.release()
    report.failed.sort(key=lambda f: f["line"] or 0)
    report.seconds = time.perf_counter() - start
    report.jobs_per_minute = 60.0 * report.done / report.seconds if report.seconds else 0.0
    return report


# -- the registered mechanism: `reverie batch` and the studio's batch page -----------------
@dataclass
class BatchConfig(Config):
    # the studio runs batches on its own machine's cores: a page sets neither
    cluster: str = knob("local", "local: single-thread worker processes on this machine; or "
                        "the address of a `dask scheduler` whose `dask worker`s do the work",
                        metavar="local|tcp://HOST:PORT", studio=False)
    workers: Optional[int] = knob(None, "worker processes of the local cluster (none: one "
                                  "per core)", min=1, studio=False)
    retries: int = knob(2, "times a failed job is tried again before it is listed", min=0)
    threads: int = knob(1, "torch threads per job: one per worker process, so N workers on "
                        "N cores do not fight", min=1, advanced=True)
    seed: Optional[int] = knob(None, "jobs whose config sets no seed get this plus their line "
                               "number: variations of one job in a few lines (none: each "
                               "mechanism's default seed)", min=0)
    device: str = knob("auto", "the device of jobs whose config sets none: cpu, cuda, cuda:N, "
                       "or auto (each job's own choice)", metavar="DEVICE")
    dask_logs: str = knob("warning", "Dask's own log lines (scheduler, nanny, workers) at this "
                          "level or above: info shows them starting and stopping",
                          choices=DASK_LOGS, advanced=True, studio=False)


@dataclass
class BatchRun(Result):
    report: BatchResult
    suffixes = (".jsonl",)

    @property
    def failures(self) -> list[dict]:
        """Jobs that failed after their retries: the command exits 1."""
        return self.report.failed

    def write(self, path: Path) -> dict[str, Path]:
        """One line a job of this run: where its output went, or why it failed."""
        rows = ([{"line": f["line"], "out": f["out"], "status": "done",
                  "seconds": round(f["seconds"], 3)} for f in self.report.finished]
                + [{**f, "status": "failed"} for f in self.report.failed])
        rows.sort(key=lambda r: r["line"] or 0)
        return {"report": save_text("".join(json.dumps(r) + "\n" for r in rows), path)}

    def summary(self) -> str:
        return self.report.summary()


def _with_defaults(job: dict, cfg: BatchConfig) -> dict:
    """The batch's seed and device for a job that names neither (a sidecar names both)."""
    from reverie.core.config import fields
    names = {f.name for f in fields(registry.get(job["mechanism"]).config_class())}
    config = dict(job["config"])
    if cfg.seed is not None and "seed" in names and "seed" not in config:
        config["seed"] = cfg.seed + job["line"]
    if cfg.device != "auto" and "device" in names and "device" not in config:
        config["device"] = cfg.device
    return {**job, "config": config}


def batch(jobs: str | os.PathLike, config: Optional[BatchConfig] = None, *,
          out: str | os.PathLike, progress: Progress = silent, **overrides) -> BatchRun:
    """Run the jobs of a JSON Lines file on a Dask cluster into the folder `out` (or, when
    `out` names a .jsonl file, into its folder); the report (one line a job) and its sidecar
    go there too, as batch.jsonl. A rerun skips the jobs already done."""
    cfg = make_config(BatchConfig, config, **overrides)
    out = Path(out)
    report_path = out if out.suffix else out / "batch.jsonl"
    todo = [_with_defaults(job, cfg) for job in read_jobs(jobs)]
    report = run_batch(todo, report_path.parent, cluster=cfg.cluster, workers=cfg.workers,
                       retries=cfg.retries, progress=progress, threads=cfg.threads,
                       logs=cfg.dask_logs)
    figures = {k: v for k, v in report.as_dict().items() if k != "finished"}
    notes = [f"failed: line {f['line']} ({f['out']}): {f['error']}" for f in report.failed]
    result = BatchRun(report, mechanism="batch", config=cfg,
                      inputs={"jobs": record_input(jobs)}, figures=figures, notes=notes,
                      timings={"batch": report.seconds}, deterministic=False)
    result.save(report_path)
    return result


# -- a zoom video as a chain of chunks ----------------------------------------------------
def _frame_array(x) -> Any:
    """A frame as 8-bit pixels (what a PNG holds), so a resumed chain starts from the same
    values as an uninterrupted one."""
    import numpy as np

    from reverie.io.images import tensor_to_pil
    return np.asarray(tensor_to_pil(x))


def _frame_tensor(arr) -> Any:
    from PIL import Image

    from reverie.io.images import pil_to_tensor
    return pil_to_tensor(Image.fromarray(arr, "RGB"))


def dream_chunk(start: Any, config: dict, index: int, count: int, threads: int = 1) -> dict:
    """Frames index*chunk ... of a zoom: `count` frames dreamed on from `start` (the first
    chunk: the image; later ones: the previous chunk's result, whose last frame is zoomed
    first). Chunk `index` is seeded `seed + index`. Returns {"frames": uint8 arrays, ...}."""
    from reverie.image.deepdream import DreamConfig, dream, zoom_rotate

    cfg = DreamConfig.from_dict(config)
    from reverie.core.threads import limit_threads
    with limit_threads(threads):
        if index == 0:
            x = start
        else:
            x = zoom_rotate(_frame_tensor(start["frames"][-1]), cfg.zoom, cfg.rotate)
        result = dream(x, cfg.replace(frames=count, seed=cfg.seed + index))
    return {"index": index, "frames": [_frame_array(f) for f in result.frames],
            "resolved": result.resolved, "seconds": result.timings["dream"]}


def chunk_folder(out: Path, cfg, source, chunk: int) -> Path:
    """`.chunks/NAME-KEY` beside the output; KEY changes with the image, Config and chunk
    size, so frames of other settings are never taken for these."""
    h = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    h.update(f"chunk={chunk}".encode())
    h.update(source.contiguous().numpy().tobytes())
    return out.parent / ".chunks" / f"{out.name}-{h.hexdigest()[:12]}"


def _frame_file(folder: Path, i: int) -> Path:
    return folder / f"{i:06d}.png"


def finished_chunks(folder: Path, frames: int, chunk: int) -> int:
    """How many chunks, from the first, have every frame written."""
    n = 0
    for c in range(math.ceil(frames / chunk)):
        if not all(_frame_file(folder, i).is_file()
                   for i in range(c * chunk, min(frames, (c + 1) * chunk))):
            break
        n += 1
    return n


def dream_chain(image: Any, config=None, out: str | os.PathLike = "zoom.mp4",
                cluster: Any = "local", workers: int | None = None, chunk: int = 10,
                retries: int = 2, progress: Progress = silent, threads: int = 1,
                logs: str = "warning"):
    """A DeepDream zoom (config.frames frames) on a Dask cluster, as a chain of tasks of
    `chunk` frames; resumes from `.chunks/` beside `out`. Returns (DreamResult, paths).

    Chunk c is seeded seed + c, so the first chunk's frames are those of `dream()` with
    the same settings and later ones differ from a one-process run (deterministic for the
    same chunk size)."""
    from reverie.core.config import ConfigError, make_config
    from reverie.core.inputs import record as record_input
    from reverie.image.deepdream import DreamConfig, DreamResult
    from reverie.io.images import as_image, load_image, save_image

    cfg = make_config(DreamConfig, config)
    if cfg.frames < 2:
        raise ConfigError("frames", "a zoom needs at least 2 frames")
    if chunk < 1:
        raise ReverieError(f"chunk must be at least 1 frame, got {chunk}")
    out = Path(out)
    registry.get("dream").check_output(cfg, out)
    source = as_image(image, cfg.size)
    inputs = {"image": record_input(image), "guide": record_input(None)}
    folder = chunk_folder(out, cfg, source, chunk)
    total = math.ceil(cfg.frames / chunk)
    first = finished_chunks(folder, cfg.frames, chunk)
    start = time.perf_counter()
    resolved, workers_seen = {}, 0
    if first < total:
        run = uuid.uuid4().hex[:8]
        frames_before = first * chunk
        with connect(cluster, workers, logs) as client:
            from distributed import as_completed
            workers_seen = _workers(client)
            prev: Any = source if first == 0 else {
                "frames": [_frame_array(load_image(_frame_file(folder, frames_before - 1)))]}
            futures = []
            for c in range(first, total):
                count = min(chunk, cfg.frames - c * chunk)
                prev = client.submit(dream_chunk, prev, cfg.to_dict(), c, count, threads,
                                     retries=retries, pure=False, key=f"reverie-zoom-{run}-{c}")
                futures.append(prev)
            progress(frames_before, cfg.frames, f"chunk {first + 1}/{total} on "
                                                f"{workers_seen} workers")
            for future in as_completed(futures):
                if future.status == "error":
                    error = one_line(future.exception())  # a later chunk carries it on
                    done_now = finished_chunks(folder, cfg.frames, chunk)
                    raise ReverieError(f"zoom chunk {done_now + 1} of {total} failed: {error}; "
                                       f"the {done_now} finished chunks are kept in {folder}, "
                                       f"run again to resume")
                part = future.result()
                for j, arr in enumerate(part["frames"]):
                    save_image(_frame_tensor(arr), _frame_file(folder, part["index"] * chunk + j))
                resolved = part["resolved"]
                written = min(cfg.frames, (part["index"] + 1) * chunk)
                progress(written, cfg.frames, f"chunk {part['index'] + 1}/{total}")
                future.release()
    frames = [load_image(_frame_file(folder, i)) for i in range(cfg.frames)]
    seconds = time.perf_counter() - start
    made = cfg.frames - first * chunk
    figures = {"frames": cfg.frames, "chunk": chunk, "chunks": total,
               "chunks_resumed": first, "workers": workers_seen,
               "frames_per_minute": 60.0 * made / seconds if made and seconds else None}
    notes = [f"dreamed on a Dask cluster in chunks of {chunk} frames, chunk c seeded "
             f"seed + c: `reverie zoom` with the same chunk size makes it again; `reverie "
             f"rerun` dreams every frame in one process from one seed, so its frames after "
             f"the first chunk differ"]
    result = DreamResult(frames[-1], frames, mechanism="dream", config=cfg, inputs=inputs,
                         figures=figures, timings={"zoom": seconds}, notes=notes,
                         resolved=resolved, deterministic=False)
    paths = result.save(out)
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()  # .chunks, once nothing else is in it
    return result, paths
