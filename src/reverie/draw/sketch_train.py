"""Training sketch-rnn (reverie.draw.sketch's model) through `reverie.train`.

`SketchTask` is what the model gives the one loop: a step on a batch of drawings (magenta's
`sketch_rnn_train.train`: the KL weight annealed, the loss back-propagated, gradients clipped
element-wise), the validation figures (`evaluate_split`) and the learning-rate decay. The
loop owns the budget, the checkpoints, exact resume after a kill, `init`, threads, seeds
and the device; `train_sketch` reads the data, runs it and builds the `TrainResult`
(`load_sketch` reads its file back).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import torch

from reverie.core.config import make_config
from reverie.core.progress import Progress, silent
from reverie.draw.sketch import (FORMAT, FORMAT_VERSION, SketchConfig, SketchRNN, Sketcher,
                                 build_model, count_params, dequantized, evaluate_split,
                                 kl_loss,
                                 longest_drawing,
                                 load_checkpoint, losses, prepare, random_batch, read_data,
                                 record_source, schedules)
from reverie.io.checkpoints import ModelFileResult
from reverie.train import Env, Task, fit, model_path, optimize


class SketchTask(Task):
    """One sketch-rnn run: the drawings prepared (the scale factor of the run it continues,
    else the data's own), the model and Adam; each step a random augmented batch."""
    format, version = FORMAT, FORMAT_VERSION

    def __init__(self, raw: dict, env: Env):
        cfg = self.cfg = env.cfg
        self.env = env
        # a resumed run keeps its units; a fine-tuned one divides the new drawings by their
        # own scale, so the weights see offsets of the spread they were trained on
        prep = self.prep = prepare(raw, cfg.max_seq_len, float(env.resumed["scale"])
                                   if env.resumed is not None else None)
        self.train = prep.splits["train"]
        self.noise_unit = prep.unit if cfg.dequantize else 0.0   # training batches'
        self.valid = prep.splits.get("valid") or []
        self.notes: list[str] = []
        if prep.dropped:
            self.notes.append(f"{prep.dropped} drawing(s) longer than max_seq_len "
                              f"({cfg.max_seq_len}) were left out")
        if prep.unit and not cfg.dequantize:
            self.notes.append("trained on the whole-number offsets as they are (dequantize "
                              "off); the validation figures read them dequantised")
        if not self.valid:
            self.notes.append("the data has no 'valid' drawings; the validation figures are "
                              "the training set's")
            self.valid = self.train[:max(1, min(len(self.train), 500))]
        if prep.unit:  # read dequantised, as every held-out figure is: drawn once here
            self.valid = [dequantized(d, prep.unit) for d in self.valid]
        self.rows = env.rows(cfg.batch_size)
        self.model = self.net = build_model(cfg).to(env.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}
        self.wkl = schedules(0, cfg)[1]

    def learning_rate(self, frac_done: float, step: int) -> float:
        return schedules(step, self.cfg)[0]

    def step(self, step: int) -> dict:
        cfg, T = self.cfg, self.cfg.max_seq_len
        self.wkl = schedules(step, cfg)[1]
        # the global batch, drawn alike on every process; this one takes its rows
        batch, lengths = random_batch(self.train, cfg, self.env.gen, T, self.noise_unit)
        batch, lengths = batch[self.rows].to(self.env.device), lengths[self.rows]
        mix, mu, presig = self.net(batch, lengths)
        ls, lp = losses(mix, batch[:, 1:], T, mask_pen=False)
        r = ls + lp
        if cfg.conditional:
            kl = kl_loss(mu, presig)
            loss = r + self.wkl * torch.clamp(kl, min=cfg.kl_tolerance)
        else:
            kl = torch.zeros(())
            loss = r
        optimize(loss, self.optimizer, cfg.grad_clip, self.model.parameters(), clip_value=True)
        return {"train_loss": loss.item(), "train_r": r.item(), "train_kl": kl.item()}

    def evaluate(self, final: bool) -> dict:
        ev = evaluate_split(self.model, self.valid, self.cfg.batch_size, self.cfg.seed,
                            self.cfg.max_seq_len)
        return {"val_r": ev["r_loss"], "val_kl": ev["kl_loss"]}

    def header(self) -> dict:
        return {"scale": self.prep.scale}

    def distribute(self, wrap) -> None:
        self.net = wrap(self.model)

    def describe(self, losses: dict, figures: dict) -> str:
        val = figures.get("val_r")
        return (f"L_R {losses['train_r']:.3f}, L_KL {losses['train_kl']:.3f}, "
                f"w_KL {self.wkl:.3f}" + (f", valid L_R {val:.3f}" if val is not None else ""))

    def preview(self, history: list[dict]):
        return loss_curves(history)


@dataclass
class TrainResult(ModelFileResult):
    model: SketchRNN
    scale: float
    checkpoint: dict

    @property
    def sketcher(self) -> Sketcher:
        return Sketcher(self.model, self.scale)

    def curves(self) -> dict:
        return loss_curves(self.figures["history"])

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps: validation L_R {f['val_r']:.3f}, L_KL {f['val_kl']:.3f}; "
                f"training loss {f['train_loss']:.3f}, {f['drawings_per_second']:.1f} drawings/s")


def loss_curves(history: list[dict]) -> dict:
    return {"series": {"train L_R": [(h["step"], h["train_r"]) for h in history if h.get("train_r") is not None],
                       "valid L_R": [(h["step"], h["val_r"]) for h in history if h.get("val_r") is not None],
                       "valid L_KL": [(h["step"], h["val_kl"]) for h in history if h.get("val_kl") is not None]},
            "xlabel": "step", "ylabel": "nats per step (/ max_seq_len)"}


def fit_max_seq_len(cfg: SketchConfig, raw: dict) -> tuple[SketchConfig, str | None]:
    """max_seq_len lowered to the longest drawing it keeps, in any split, as magenta's
    load_dataset overwrites it: the losses are sums over max_seq_len steps divided by it, so
    padding short drawings would shrink the reconstruction term against the KL term (and
    cost steps). A resumed run keeps its saved value."""
    if not cfg.fit_max_seq_len or cfg.resume:
        return cfg, None
    longest = longest_drawing(raw, cfg.max_seq_len)
    if not longest:                  # none fits: prepare says so in one line
        return cfg, None
    longest = max(longest, 2)
    if longest >= cfg.max_seq_len:
        return cfg, None
    return (cfg.replace(max_seq_len=longest),
            f"max_seq_len {longest}: the longest drawing of at most {cfg.max_seq_len} points "
            f"(magenta's load_dataset sets it so; fit_max_seq_len)")


def train_sketch(data=None, config: Optional[SketchConfig] = None, *,
                 out: str | os.PathLike | None = None, progress: Progress = silent,
                 **overrides) -> TrainResult:
    """Train sketch-rnn on stroke data: a sketch-rnn `.npz` (train / valid / test arrays of
    stroke-3 drawings), `builtin:glyphs`, or a dict of lists of (N, 3) arrays.

    With `out`, checkpoints are written every `checkpoint_every` steps and at the end;
    `resume=True` continues the run whose checkpoint `out` is, exactly where it stopped, and
    `init` starts from another model's weights (the scale factor is the new data's).
    """
    cfg = make_config(SketchConfig, config, **overrides)
    out = model_path(out, "sheep.pt")
    inputs = {"data": record_source(data)}
    raw = read_data(data)
    cfg, note = fit_max_seq_len(cfg, raw)
    run = fit(lambda env: SketchTask(raw, env), cfg, out=out, load=load_checkpoint,
              progress=progress)
    task, rec = run.task, run.record
    run.notes.extend(([note] if note else []) + task.notes)
    if run.world.distributed and (task.cfg.conditional or task.cfg.use_recurrent_dropout):
        run.deterministic = False
        run.notes.append(f"trained on {run.world.size} processes: each draws its own latent "
                         f"noise (and dropout masks), so one process (or another count) makes "
                         f"a different model")
    figures = {"steps": rec["step"], **rec["losses"], **rec["figures"],
               "drawings_per_second": task.cfg.batch_size / max(run.timings["per_step"], 1e-9),
               "params": count_params(task.model), "scale_factor": task.prep.scale,
               "train_drawings": len(task.train),
               "valid_drawings": len(task.prep.splits.get("valid") or []),
               "history": run.history}
    result = TrainResult(task.model, task.prep.scale, run.checkpoint, mechanism="train_sketch",
                         figures=figures, **run.result_fields())
    return run.save(result, out, inputs)

