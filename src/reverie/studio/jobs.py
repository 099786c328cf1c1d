"""The studio's jobs: a queue of mechanism runs, each in its own folder.

A job is one call `mechanism(**inputs, config=config, progress=cb)` and `result.save()`
into `FOLDER/jobs/ID/`. Heavy jobs run one at a time by default (two torch jobs on two
cores each run several times slower); `workers` raises that. State is written to
`job.json` beside the outputs at every change of status, so a finished job survives a page
reload and a restart of the server. A job that raises is marked failed with its message;
the server and the other jobs go on.

A restart loses no queued work: jobs that were queued are queued again, in the order they
were queued; a job that was running is `interrupted` (its outputs, if any were half made,
are never shown as a result) and can be resumed from its checkpoint (a trainer's) or run
again as a new job with the same inputs and settings.
"""
from __future__ import annotations

import inspect
import json
import queue
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from reverie.core.errors import ReverieError
from reverie.io.files import save_json

FINISHED = ("done", "failed", "cancelled", "interrupted")
INTERRUPTED = "the studio stopped while this job ran"


class Cancelled(Exception):
    """Raised from the progress callback when the user cancels a job."""


@dataclass
class Job:
    id: str
    mechanism: str
    inputs: dict[str, Any]           # keyword -> path, builtin:/sample: name or value
    config: dict[str, Any]           # Config fields given (the rest are defaults)
    folder: str
    status: str = "queued"           # queued | running | done | failed | cancelled | interrupted
    created: float = field(default_factory=time.time)
    queued: float | None = None      # when it was last queued (submitted or resumed)
    started: float | None = None
    finished: float | None = None
    done: int = 0
    total: int = 0
    message: str = ""
    error: str = ""
    outputs: dict[str, str] = field(default_factory=dict)   # role -> file name in folder
    explanations: dict[str, str] = field(default_factory=dict)  # what -> file (Result.explain)
    preview: str = ""                # file name of the latest preview (image or text)
    preview_version: int = 0
    summary: str = ""
    notes: list[str] = field(default_factory=list)

    def seconds_left(self) -> float | None:
        """From the rate so far: (elapsed / done) * (total - done)."""
        if self.status != "running" or not self.started or not self.done or not self.total:
            return None
        elapsed = time.time() - self.started
        return max(0.0, elapsed / self.done * (self.total - self.done))

    def public(self) -> dict:
        data = asdict(self)
        data["seconds_left"] = self.seconds_left()
        return data


class JobQueue:
    """Jobs in submission order, run by `workers` threads."""

    def __init__(self, root: Path, workers: int = 1):
        self.root = Path(root) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        self.order: list[str] = []
        self._cancel: dict[str, threading.Event] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._last_queued = 0.0
        self._load()
        self._threads = [threading.Thread(target=self._work, name=f"studio-worker-{i}",
                                          daemon=True) for i in range(max(1, workers))]
        for t in self._threads:
            t.start()

    # -- bookkeeping -------------------------------------------------------------------
    def _load(self) -> None:
        """Jobs from earlier runs of the server: the queued ones queued again in their order;
        one that was running then was cut off."""
        found = []
        for path in self.root.glob("*/job.json"):
            try:
                job = Job(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            if job.status == "running":
                job.status, job.error, job.finished = "interrupted", INTERRUPTED, time.time()
                job.message = ""
                self._save(job)
            found.append(job)
        for job in sorted(found, key=lambda j: j.created):
            self.jobs[job.id] = job
            self.order.append(job.id)
        for job in sorted((j for j in found if j.status == "queued"),
                          key=lambda j: (j.queued or j.created, j.created)):
            self._enqueue(job)  # after the jobs queued before it, as before the restart

    def _save(self, job: Job) -> None:
        save_json(asdict(job), Path(job.folder) / "job.json")

    def submit(self, mechanism: str, inputs: dict, config: dict) -> Job:
        job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        folder = self.root / job_id
        folder.mkdir(parents=True)
        job = Job(job_id, mechanism, inputs, config, str(folder))
        with self._lock:
            self.jobs[job_id] = job
            self.order.append(job_id)
        self._enqueue(job)
        return job

    def _enqueue(self, job: Job) -> None:
        """Queue a job, new or resumed: jobs run in the order of their `queued` times, which
        a restart keeps (hence taken, recorded and queued under one lock)."""
        with self._lock:
            job.status, job.queued = "queued", max(time.time(), self._last_queued + 1e-6)
            self._last_queued = job.queued
            self._cancel[job.id] = threading.Event()
            self._save(job)
            self._queue.put(job.id)

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def newest_first(self) -> list[Job]:
        return [self.jobs[i] for i in reversed(self.order)]

    def position(self, job: Job) -> int:
        """1 for the next job to start; 0 when it is not waiting."""
        if job.status != "queued":
            return 0
        waiting = [i for i in self.order if self.jobs[i].status == "queued"]
        return waiting.index(job.id) + 1

    def cancel(self, job_id: str) -> bool:
        with self._lock:  # not while a worker takes it from the queue
            job = self.jobs.get(job_id)
            if job is None or job.status in FINISHED:
                return False
            self._cancel[job_id].set()
            if job.status == "queued":
                self._finish(job, "cancelled", "cancelled before it started")
        return True

    @staticmethod
    def settings_of(job: Job) -> tuple[dict, dict]:
        """The inputs and settings of a job, for a new job (which starts its own run)."""
        config = {k: v for k, v in job.config.items() if k != "resume"}
        return dict(job.inputs), config

    def again(self, job_id: str) -> Job | None:
        """A new job with the inputs and settings of a finished one."""
        job = self.jobs.get(job_id)
        if job is None or job.status not in FINISHED:
            return None
        return self.submit(job.mechanism, *self.settings_of(job))

    def resumable(self, job: Job) -> bool:
        """A training job cut short (cancelled, failed, or the studio stopped) whose
        checkpoint is on disk: it can go on from there, as `--resume` does on the CLI."""
        from reverie.core import registry
        from reverie.core.config import fields
        mech = registry.mechanisms().get(job.mechanism)
        return (job.status in ("cancelled", "failed", "interrupted") and mech is not None
                and "resume" in {f.name for f in fields(mech.config_class())}
                and _output_path(job, mech).exists())

    def resume(self, job_id: str) -> bool:
        """Queue the job again, continuing from its checkpoint."""
        job = self.jobs.get(job_id)
        if job is None or not self.resumable(job):
            return False
        with self._lock:
            job.config = {**job.config, "resume": True}
            job.error, job.finished, job.started = "", None, None
            job.done = job.total = 0
        self._enqueue(job)
        return True

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job is finished (for tests and scripts)."""
        end = time.time() + timeout
        while time.time() < end:
            job = self.jobs[job_id]
            if job.status in FINISHED:
                return job
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} still {self.jobs[job_id].status} after {timeout} s")

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)

    # -- running -----------------------------------------------------------------------
    def _finish(self, job: Job, status: str, error: str = "") -> None:
        job.error, job.finished = error, time.time()
        # on disk before anyone sees it finished: a restart right after finds it so too
        self._save(replace(job, status=status))
        job.status = status

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            job = self.jobs[job_id]
            with self._lock:  # taken, unless it was cancelled meanwhile
                if job.status != "queued":
                    continue
                job.status, job.started = "running", time.time()
                self._save(job)
            self._run(job)

    def _run(self, job: Job) -> None:
        from reverie.core import registry

        try:
            mech = registry.get(job.mechanism)
            config = mech.config_class()(**job.config)
            function = mech.load()
            extra = {}
            if "out" in inspect.signature(function).parameters:
                # a trainer: checkpoints go to the output as it trains, so it can resume
                extra["out"] = _output_path(job, mech)
            result = function(**job.inputs, config=config, progress=Reporter(self, job), **extra)
            paths = result.saved or result.save(_output_path(job, mech))
            job.outputs = {role: p.name for role, p in paths.items()}
            job.summary, job.notes = result.summary(), list(result.notes)
            try:
                job.explanations = {what: p.name for what, p in result.explain(Path(job.folder)).items()}
            except Exception:  # an explanation that fails must not lose the result
                traceback.print_exc()
            self._finish(job, "done")
        except Cancelled:
            self._finish(job, "cancelled", "cancelled")
        except ReverieError as exc:
            self._finish(job, "failed", str(exc))
        except Exception as exc:  # a bug in one job must not stop the studio
            traceback.print_exc()
            self._finish(job, "failed", f"internal error ({type(exc).__name__}: {exc}); "
                                        f"please report it with the job's folder")


def _output_path(job: Job, mech) -> Path:
    return Path(job.folder) / f"{mech.name}{mech.outputs[0]}"


class Reporter:
    """The progress callback a job's mechanism calls: records progress, checks for a
    cancel, and keeps the latest preview (at most every half second)."""

    def __init__(self, jobs: JobQueue, job: Job):
        self.jobs, self.job, self._last_preview = jobs, job, 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self.jobs._cancel.get(self.job.id, threading.Event()).is_set():
            raise Cancelled()
        self.job.done, self.job.total, self.job.message = int(done), int(total), message

    def preview(self, value) -> None:
        now = time.time()
        if now - self._last_preview < 0.5:
            return
        self._last_preview = now
        folder = Path(self.job.folder)
        if isinstance(value, str):
            name = "preview.txt"
            (folder / ".preview.tmp").write_text(value[-4000:], encoding="utf-8")
        elif isinstance(value, dict):  # curves: {"series": {name: [(x, y), ...]}, ...}
            from reverie.io.figures import plot_curves
            name = "preview.png"
            plot_curves(**value, path=folder / ".preview.tmp.png")
            (folder / ".preview.tmp.png").replace(folder / ".preview.tmp")
        else:
            from reverie.io.images import tensor_to_pil
            name = "preview.png"
            tensor_to_pil(value).save(folder / ".preview.tmp", format="PNG")
        (folder / ".preview.tmp").replace(folder / name)
        self.job.preview, self.job.preview_version = name, self.job.preview_version + 1
