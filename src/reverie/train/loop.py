"""One training loop for every model Reverie trains.

A model supplies a `Task`: its networks and optimizers, a step on a batch that returns its
losses, an evaluation that returns held-out figures, and whatever plain state its data
reader carries. The loop owns the rest, once:

    budget        max_steps, or minutes of wall-clock time (the model then depends on the
                  machine's speed: `deterministic` is False and a note says so)
    schedule      the task's learning_rate(frac_done, step) set on every optimizer
    bookkeeping   smoothed losses, an evaluation every eval_every steps, the history
    checkpoints   every checkpoint_every steps and at the end: every model, optimizer and
                  random stream, so a killed run resumes exactly (`resume`), or a run starts
                  from another model's weights (`init`)
    progress      step or seconds, the losses, time left (the callback's)
    where         threads, seeds (CPU and CUDA), device, DDP under torchrun

    run = fit(lambda env: CharTask(data, env), cfg, out=out, load=load_checkpoint,
              progress=progress)
    result = TrainResult(run.task.model, ..., **run.result_fields())
    run.save(result, out)

Time spent evaluating, sampling and checkpointing does not count against a budget.
"""
from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from reverie.core.config import ConfigError
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.threads import cpu_threads, free_cores
from reverie.io.checkpoints import save_checkpoint, saved_config
from reverie.scale import ddp
from reverie.train.config import TrainConfig


@dataclass
class Env:
    """What a task is built with: its (resolved) config, device, world and random streams.
    `gen` draws the data (batches, offsets, augmentations); every rank holds the same one
    and takes its `rows` of each global batch. `init` is the checkpoint `cfg.init` names."""
    cfg: TrainConfig
    device: torch.device
    world: ddp.World
    gen: torch.Generator
    progress: Progress
    init: dict | None = None
    resumed: dict | None = None   # the checkpoint a resumed run continues

    def rows(self, batch: int) -> slice:
        return self.world.rows(batch)


class Task(ABC):
    """What a model gives the loop. Subclasses set `models` and `optimizers` (dicts keyed by
    the names their checkpoint uses) and implement `step` and `evaluate`."""
    format: str = ""            # the checkpoint's format name ("reverie-charlm")
    version: int = 1
    smoothing: float = 0.95     # of the losses' running average
    log_every: int | None = None   # a history row every N steps (None: at each evaluation)
    models: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]

    @abstractmethod
    def step(self, step: int) -> dict[str, Any]:
        """One update on one batch; the losses (floats or 0-d tensors) by name."""

    @abstractmethod
    def evaluate(self, final: bool) -> dict[str, Any]:
        """Held-out figures; `final` for the run's last (it may read more data)."""

    def learning_rate(self, frac_done: float, step: int) -> float | dict[str, float] | None:
        """The learning rate for this step (or one per optimizer); None leaves them."""
        return None

    def state(self) -> dict:
        """Plain run state beyond weights and optimizers (a data position, a carried
        state). Called on every rank at the same step: it may gather from all of them."""
        return {}

    def load_state(self, state: dict) -> None:
        pass

    def header(self) -> dict:
        """Fixed fields of the checkpoint (vocabulary, data record)."""
        return {}

    def distribute(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap the trained networks for DDP (`wrap` is a no-op on one process; its
        `find_unused=True` for a network part of which some steps leave out)."""

    def after_step(self, step: int, finished: bool) -> None:
        """Untimed work after a step (a frame of the training GIF)."""

    def describe(self, losses: dict, figures: dict) -> str:
        parts = [f"{k} {v:.3f}" for k, v in losses.items() if v is not None]
        parts += [f"{k} {v:.3f}" for k, v in figures.items() if isinstance(v, float)]
        return ", ".join(parts)

    def preview(self, history: list[dict]) -> Any:
        """What the studio shows live after an evaluation (loss curves by default)."""
        keys = [k for k in (history[-1] if history else {}) if k != "step"
                and isinstance(history[-1][k], (int, float))]
        return {"series": {k: [(h["step"], h[k]) for h in history if h.get(k) is not None]
                           for k in keys}, "xlabel": "step", "ylabel": "loss"}

    def init_from(self, ckpt: dict, path: str) -> None:
        """Start from another run's weights: every model of the same name, shapes checked."""
        for name, model in self.models.items():
            if name not in ckpt:
                continue
            try:
                model.load_state_dict(ckpt[name])
            except (RuntimeError, KeyError, ValueError, TypeError) as exc:
                raise ReverieError(f"init: {path} has another shape than this run's {name} "
                                   f"({_first_line(exc)}); start from a model of the same "
                                   f"size, or without init") from None


@dataclass
class Run:
    """A finished run: the task (its trained models), what it recorded, and the checkpoint."""
    task: Task
    cfg: TrainConfig
    record: dict
    checkpoint: dict
    notes: list[str]
    deterministic: bool
    timings: dict
    resolved: dict = field(default_factory=dict)
    world: ddp.World = field(default_factory=ddp.World)

    @property
    def history(self) -> list[dict]:
        return self.record["history"]

    @property
    def losses(self) -> dict:
        return self.record["losses"]

    @property
    def figures(self) -> dict:
        return self.record["figures"]

    def result_fields(self) -> dict:
        """The Result fields every trained model shares."""
        return {"config": self.cfg.replace(resume=False), "notes": self.notes,
                "deterministic": self.deterministic, "timings": self.timings,
                "resolved": dict(self.resolved)}

    def save(self, result, out: Path | None, inputs: dict | None = None):
        """Record the inputs and write the result (rank 0 alone)."""
        if inputs is not None:
            result.inputs = inputs
        if out is not None and self.world.main:
            result.save(out)
        return result


def optimize(loss: torch.Tensor, optimizer: torch.optim.Optimizer, clip: float = 0.0,
             params=None, clip_value: bool = False) -> None:
    """zero_grad, backward, clip (the global norm, or each element with `clip_value`), step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip > 0:
        params = params if params is not None else [
            p for g in optimizer.param_groups for p in g["params"]]
        if clip_value:
            torch.nn.utils.clip_grad_value_(params, clip)
        else:
            torch.nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()


def cosine_lr(frac_done: float, step: int, peak: float, floor: float,
              warmup: int = 0) -> float:
    """nanoGPT's schedule: linear warmup over `warmup` steps, then cosine decay from `peak`
    to `floor` at the end of the run (`frac_done`: the fraction of the step or time budget
    used, as Task.learning_rate receives it)."""
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    frac = min(max(frac_done, 0.0), 1.0)
    return floor + 0.5 * (1.0 + math.cos(math.pi * frac)) * (peak - floor)


def ema_copy(model: nn.Module) -> nn.Module:
    """A frozen copy of `model` to hold its moving average (`ema_update` moves it)."""
    import copy
    return copy.deepcopy(model).eval().requires_grad_(False)


@torch.no_grad()
def ema_update(average: nn.Module, model: nn.Module, decay: float, done: int) -> None:
    """Move `average`'s weights toward `model`'s: an exponential moving average (Polyak
    averaging) with TensorFlow ExponentialMovingAverage's warm-up, min(decay, (1 + done) /
    (10 + done)), so a short run does not keep its untrained start. The warm-up is the
    smaller until about 9 / (1 - decay) steps (9,000 at 0.999): until then the average
    spans roughly the last tenth of the steps, whatever `decay`. `done`: steps finished."""
    d = min(decay, (1 + done) / (10 + done))
    for pa, p in zip(average.parameters(), model.parameters()):
        pa.lerp_(p, 1 - d)


def model_path(out, example: str = "model.pt") -> Path | None:
    """Where a run writes its model: a .pt path (no suffix: .pt added), checked writable."""
    if out is None:
        return None
    from reverie.io.files import check_writable
    out = Path(out)
    out = check_writable(out if out.suffix else out.with_suffix(".pt"))
    if out.suffix.lower() != ".pt":
        raise ReverieError(f"a model is written as .pt, not {out.suffix!r}; give e.g. {example}")
    return out


def fit(make_task: Callable[[Env], Task], cfg: TrainConfig, *, out: Path | None,
        load: Callable[[Path], dict], progress: Progress = silent,
        threads_per_process: bool = True) -> Run:
    """Train the task `make_task` builds, under `cfg`'s budget; `load` reads (and checks) a
    checkpoint of this kind, for `resume` and `init`. Runs unchanged under torchrun."""
    from reverie.core.device import resolve_device

    world = ddp.world()
    created = world.distributed and not torch.distributed.is_initialized()
    device = ddp.init(world, resolve_device(cfg.device))
    if (ddp.restarted() and out is not None and out.exists() and not cfg.resume
            and load(out)["run"].get("elastic_run") == ddp.run_id()):
        cfg = cfg.replace(resume=True)  # an elastic restart continues its own checkpoint
    # processes sharing a machine share its cores
    threads = cfg.threads or (max(1, free_cores() // world.local_size)
                              if threads_per_process else free_cores())
    try:
        with cpu_threads(threads) as threads, \
                torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            run = _loop(make_task, cfg.replace(threads=threads, device=str(device)), out,
                        load, device, world, progress if world.main else silent)
    finally:
        if created:
            ddp.close(world)
    run.resolved.update({"device": str(device), "threads": threads})
    if world.distributed:
        run.resolved["processes"] = world.size
    return run


def _seed(seed: int, device: torch.device) -> None:
    """Seed the default generators that initialisation and dropout draw from (inside
    fork_rng, which puts the process's state back after)."""
    torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())
    if device.type == "cuda":
        torch.cuda.set_rng_state(torch.Generator(device).manual_seed(seed).get_state(), device)


def _resume(cfg: TrainConfig, out: Path | None, load) -> tuple[dict | None, TrainConfig, list]:
    """With `resume`: the checkpoint at `out` and the config to go on with (the saved one,
    with the budget fields from `cfg`), and which budget fields changed."""
    if not cfg.resume:
        return None, cfg, []
    if out is None:
        raise ConfigError("resume", "a run resumes from its checkpoint, the output file; "
                                    "give the output path")
    if not Path(out).exists():
        raise ConfigError("resume", f"nothing to resume: {out} does not exist; start a new "
                                    f"run without resume")
    ckpt = load(out)
    saved = saved_config(type(cfg), ckpt["config"])
    changed = [n for n in ("max_steps", "minutes") if getattr(saved, n) != getattr(cfg, n)]
    return ckpt, saved.replace(**{n: getattr(cfg, n) for n in cfg.BUDGET_FIELDS}), changed


def _with_init(cfg: TrainConfig, load) -> tuple[dict | None, TrainConfig, list[str]]:
    """With `init`: the checkpoint it names, and the config with its model's shape."""
    if not cfg.init or cfg.resume:
        return None, cfg, []
    ckpt = load(cfg.init)  # a .pt, or model:NAME from the zoo
    try:
        saved = saved_config(type(cfg), ckpt.get("config", {}))
    except (ReverieError, TypeError):
        raise ConfigError("init", f"{cfg.init} records a configuration this trainer cannot "
                                  f"read; start from a model made by the same command") from None
    shape = {n: getattr(saved, n) for n in cfg.MODEL_FIELDS}
    # a field left at its default takes the model's; one set to a third value asks for a
    # model this one cannot become (a 64 px GAN from a 32 px one)
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)
                if f.default is not dataclasses.MISSING}
    for n, v in shape.items():
        if getattr(cfg, n) not in (v, defaults.get(n, v)):
            raise ConfigError(n, f"{cfg.init} has {n} {v!r}, not {getattr(cfg, n)!r}, and init "
                                 f"keeps the model's shape; leave {n} at its default to take "
                                 f"the model's, or start without init")
    differ = [n for n, v in shape.items() if getattr(cfg, n) != v]
    note = [f"started from the weights of {cfg.init} (step {ckpt.get('run', {}).get('step', '?')})"
            + (f"; its {', '.join(differ)} replaced this run's" if differ else "")]
    return ckpt, cfg.replace(**shape), note


def _loop(make_task, cfg: TrainConfig, out: Path | None, load, device: torch.device,
          world: ddp.World, progress: Progress) -> Run:
    notes: list[str] = []
    ckpt, cfg, changed = _resume(cfg, out, load)
    if ckpt is not None:
        notes.append(f"resumed from {out.name} at step {ckpt['run']['step']}" +
                     (f", with a new {' and '.join(changed)}: the learning-rate schedule "
                      f"changed mid-run, so a fresh run will not make this model" if changed
                      else "; the same model as an uninterrupted run"))
    init, cfg, init_notes = _with_init(cfg, load)
    notes += init_notes

    _seed(cfg.seed, device)
    gen = torch.Generator().manual_seed(cfg.seed)
    env = Env(cfg, device, world, gen, progress, init=init, resumed=ckpt)
    task = make_task(env)
    if init is not None:
        task.init_from(init, cfg.init)
    run = {"step": 0, "history": [], "losses": {}, "figures": {}, "elastic_run": ddp.run_id()}
    elapsed = 0.0  # training seconds, for a `minutes` budget (kept in the file only then)
    if ckpt is not None:
        try:
            for name, model in task.models.items():
                model.load_state_dict(ckpt[name])
            for name, opt in task.optimizers.items():
                opt.load_state_dict(ckpt[name])
        except (RuntimeError, KeyError, ValueError, TypeError):
            raise ReverieError(f"{out} does not match its configuration; start again without "
                               f"resume") from None
        run.update(ckpt["run"])
        elapsed = float(run.pop("seconds", 0.0))
        task.load_state(ckpt.get("task", {}))
        torch.set_rng_state(ckpt["rng"]["torch"])
        if device.type == "cuda" and "cuda" in ckpt["rng"]:
            torch.cuda.set_rng_state(ckpt["rng"]["cuda"], device)
        gen.set_state(ckpt["rng"]["data"])
    if world.rank > 0:  # dropout: rank 0 keeps the one-process stream, the others their own
        _seed(cfg.seed + 1_000_003 * world.rank + run["step"], device)
    task.distribute(lambda m, **how: ddp.wrap(m, world, device, **how))
    budget_s = cfg.minutes * 60.0 if cfg.minutes else None
    log_every = task.log_every or cfg.eval_every

    def frac_done() -> float:
        return elapsed / budget_s if budget_s is not None else run["step"] / cfg.max_steps

    def checkpoint() -> dict:
        """Called by every rank at the same step (the task's state may gather)."""
        record = dict(run, seconds=elapsed) if budget_s is not None else dict(run)
        rng = {"torch": torch.get_rng_state(), "data": gen.get_state()}
        if device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(device)
        return {"format": task.format, "format_version": task.version,
                "config": cfg.replace(resume=False).to_dict(), **task.header(),
                **{n: {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
                   for n, m in task.models.items()},
                **{n: o.state_dict() for n, o in task.optimizers.items()},
                "run": record, "task": task.state(), "rng": rng}

    def evaluate(final: bool) -> None:
        run["figures"] = {k: v for k, v in task.evaluate(final).items()}
        row = {"step": run["step"], **run["losses"], **_plain(run["figures"])}
        if run["history"] and run["history"][-1]["step"] == run["step"]:
            run["history"][-1].update(row)
        else:
            run["history"].append(row)
        show_preview(progress, task.preview(run["history"]))

    for m in task.models.values():
        m.train()
    session_steps, session_seconds = 0, 0.0
    started = time.perf_counter()
    t_last = started
    while frac_done() < 1.0:
        lr = task.learning_rate(frac_done(), run["step"])
        if lr is not None:
            for name, opt in task.optimizers.items():
                value = lr[name] if isinstance(lr, dict) else lr
                for group in opt.param_groups:
                    group["lr"] = value
        losses = task.step(run["step"])
        run["step"] += 1
        now = time.perf_counter()
        names = list(losses)
        # ranks agree on the losses of the global batch and on the time used (the budget)
        values = ddp.average([float(losses[n]) for n in names] + [elapsed + now - t_last],
                             world, device)
        elapsed = values.pop()
        session_seconds += now - t_last
        session_steps += 1
        if not all(math.isfinite(v) for v in values):
            raise ReverieError(f"training diverged at step {run['step']} (loss "
                               f"{', '.join(f'{n} {v}' for n, v in zip(names, values))}); "
                               f"lower the learning rate")
        a = task.smoothing
        for n, v in zip(names, values):
            last = run["losses"].get(n)
            run["losses"][n] = v if last is None else a * last + (1 - a) * v
        finished = frac_done() >= 1.0
        if run["step"] % log_every == 0 or finished:
            if not run["history"] or run["history"][-1]["step"] != run["step"]:
                run["history"].append({"step": run["step"], **run["losses"]})
        if run["step"] % cfg.eval_every == 0 and not finished:
            evaluate(final=False)
        task.after_step(run["step"], finished)
        if out is not None and run["step"] % cfg.checkpoint_every == 0 and not finished:
            ckpt = checkpoint()
            if world.main:
                save_checkpoint(ckpt, out)
        t_last = time.perf_counter()  # evaluation and checkpoints do not count
        msg = task.describe(run["losses"], run["figures"])
        if budget_s is not None:
            progress(int(elapsed), int(budget_s), msg)
        else:
            progress(run["step"], cfg.max_steps, msg)

    evaluate(final=True)
    final = checkpoint()  # the result's save() writes it, with the sidecar
    ddp.finish(world)  # the last collective of the run: let gloo's threads settle before exit
    for m in task.models.values():
        m.cpu().eval()
    deterministic = budget_s is None and not changed
    if world.distributed and any(_drops(m) for model in task.models.values()
                                 for m in model.modules()):
        deterministic = False
        notes.append(f"trained on {world.size} processes with dropout: each draws its own "
                     f"masks, so one process (or another count) makes a different model")
    if budget_s is not None:
        notes.append(f"trained for a wall-clock budget ({cfg.minutes:g} minutes, {run['step']} "
                     f"steps here): the model depends on this machine's speed, so a rerun "
                     f"makes a different one; set max_steps for a repeatable run")
    timings = {"train": time.perf_counter() - started,
               "per_step": session_seconds / max(1, session_steps)}
    return Run(task, cfg, run, final, notes, deterministic, timings, world=world)


def _drops(m: nn.Module) -> bool:
    return ((isinstance(m, nn.Dropout) and m.p > 0)
            or (isinstance(m, nn.RNNBase) and m.dropout > 0))


def _plain(figures: dict) -> dict:
    """The figures a history row keeps: numbers only."""
    return {k: v for k, v in figures.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
