"""Training Coconet (magenta's lib_mask.py and coconet_train.py) through `reverie.train`.

Random crops of `crop_piece_len` frames, transposed at random within the voices' ranges;
masks from lib_mask's "orderless" distribution (a mask size drawn uniformly from 1..T*4,
then a uniform subset of that size: orderless NADE, Uria et al. 2014). The loss is the
cross-entropy on the erased cells, divided by their number (lib_graph.compute_loss with
rescale_loss: the D/|mask| rescaling, per variable). Adam with a short warmup and cosine
decay. `CoconetTask` is what the one loop (`reverie.train.fit`) trains: it owns the budget,
checkpoints (a killed run resumes exactly), init and DDP. At the end the batch norms'
population statistics are re-estimated with the final weights, as Coconet does.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import make_config
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.io.checkpoints import ModelFileResult
from reverie.music import chorales as ch
from reverie.music.chorales import Chorale
from reverie.music.coconet import (FORMAT, FORMAT_VERSION, HIGH, LOW, CoconetConfig,
                                   CoconetNet, count_params, load_checkpoint, to_roll)
from reverie.train import Env, Task, fit, model_path, optimize


class Crops:
    """Random crops of `length` frames from the chorales, transposed within range."""

    def __init__(self, pieces: Sequence[Chorale], length: int, augment: bool):
        self.rolls, self.shifts = [], []
        for c in pieces:
            p = c.pitches
            if len(p) < length:   # pad short pieces with rests (rests cost nothing)
                p = np.vstack([p, np.full((length - len(p), 4), np.nan, np.float32)])
            shifts = ch.shifts_in_range(c) if augment else [0]
            if not shifts:
                shifts = [0]
            lo, hi = np.nanmin(p), np.nanmax(p)
            shifts = [s for s in shifts if lo + s >= LOW and hi + s <= HIGH] or [0]
            if lo < LOW or hi > HIGH:
                continue
            self.rolls.append(p)
            self.shifts.append(shifts)
        if not self.rolls:
            raise ReverieError("no usable chorales to train on (each needs four voices within "
                               f"MIDI {LOW}-{HIGH}); give more music")
        self.length = length
        self.weights = np.array([len(r) - length + 1 for r in self.rolls], np.float64)
        self.weights /= self.weights.sum()

    def batch(self, n: int, gen: torch.Generator) -> np.ndarray:
        """(n, T, 4) pitches."""
        u = torch.rand(n, 3, generator=gen, dtype=torch.float64).numpy()
        cum = np.cumsum(self.weights)
        out = np.empty((n, self.length, 4), np.float32)
        for b in range(n):
            i = min(int(np.searchsorted(cum, u[b, 0])), len(self.rolls) - 1)
            r = self.rolls[i]
            start = int(u[b, 1] * (len(r) - self.length + 1))
            s = self.shifts[i][int(u[b, 2] * len(self.shifts[i]))]
            out[b] = r[start: start + self.length] + s
        return out


def sample_masks(n: int, T: int, cfg: CoconetConfig, gen: torch.Generator) -> torch.Tensor:
    """(n, 4, T) float masks, 1 = erased (lib_mask: OrderlessMaskoutMethod, Bernoulli)."""
    d = 4 * T
    u = torch.rand(n, d, generator=gen)
    if cfg.maskout_method == "bernoulli":
        m = (u < cfg.corrupt_ratio).float()
        m[m.sum(1) == 0, 0] = 1.0        # at least one cell to predict
    else:
        k = torch.randint(1, d + 1, (n, 1), generator=gen)   # mask size, uniform in 1..d
        ranks = u.argsort(1).argsort(1)                    # a uniform subset of that size
        m = (ranks < k).float()
    return m.view(n, 4, T)


def masked_loss(logits: torch.Tensor, roll: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the erased cells / their number, averaged over the batch
    (lib_graph.compute_loss with rescale_loss, per variable; rests cost nothing)."""
    nll = -(F.log_softmax(logits, -1) * roll).sum(-1)        # (B, 4, T)
    per = (nll * mask).sum((1, 2)) / mask.sum((1, 2)).clamp(min=1)
    return per.mean()


def get_lr(frac: float, step: int, cfg: CoconetConfig) -> float:
    """Short linear warmup, then cosine decay to min_lr over the budget."""
    warm = 50
    if step < warm:
        return cfg.learning_rate * (step + 1) / warm
    coeff = 0.5 * (1.0 + math.cos(math.pi * min(max(frac, 0.0), 1.0)))
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)


@torch.no_grad()
def population_stats(model: "CoconetNet", crops: "Crops", cfg: CoconetConfig,
                     gen: torch.Generator, device, batches: int = 16) -> None:
    """Batch-norm population statistics averaged over `batches` fresh training batches with
    the final weights (lib_graph's popstats_by_batchstat, estimated after training), in
    place of running averages that trail weights which were still moving."""
    for bn in model.norms:
        bn.reset_running_stats()
        bn.momentum = None                    # a cumulative average over the batches
    model.train()
    for _ in range(batches):
        x = crops.batch(cfg.batch_size, gen)
        roll = torch.from_numpy(np.stack([to_roll(p) for p in x])).to(device)
        model(roll, sample_masks(cfg.batch_size, cfg.crop_piece_len, cfg, gen).to(device))
    for bn in model.norms:
        bn.momentum = 0.1


@torch.no_grad()
def validation_loss(model: nn.Module, fixed: tuple[torch.Tensor, torch.Tensor]) -> float:
    was = model.training
    model.eval()
    roll, mask = fixed
    loss = float(masked_loss(model(roll, mask), roll, mask))
    model.train(was)
    return loss


def _fixed_validation(pieces: Sequence[Chorale], cfg: CoconetConfig, device) -> tuple:
    """The same validation crops and masks at every estimate (a fixed seed)."""
    gen = torch.Generator().manual_seed(12345)
    crops = Crops(pieces, cfg.crop_piece_len, augment=False)
    x = crops.batch(64, gen)
    roll = torch.from_numpy(np.stack([to_roll(p) for p in x])).to(device)
    mask = sample_masks(64, cfg.crop_piece_len, cfg, gen).to(device)
    return roll, mask



@dataclass
class TrainResult(ModelFileResult):
    model: CoconetNet
    checkpoint: dict

    def curves(self) -> dict:
        return loss_curves(self.figures["history"])

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps: validation {f['val_loss']:.3f} nats per erased cell "
                f"(training {f['train_loss']:.3f}), {f['crops_per_second']:.1f} crops/s")


def loss_curves(history: list[dict], held: str = "val",
                ylabel: str = "nats per erased cell") -> dict:
    """Training and held-out loss, as `plot_curves` takes them (and as a live preview: a
    dict with `series`); MusicVAE's too, under its own names."""
    return {"series": {"train": [(h["step"], h["train_loss"]) for h in history],
                       held: [(h["step"], h["val_loss"]) for h in history
                              if h.get("val_loss") is not None]},
            "xlabel": "step", "ylabel": ylabel}


def training_pieces(corpus, pieces) -> tuple[list[Chorale], list[Chorale], dict, dict]:
    """(train, held out, the data's record, the inputs' record) from `corpus`, or from
    `pieces=(train, held_out)` given in memory."""
    if pieces is not None:
        return (*pieces, {"source": "in memory"},
                {"corpus": {"source": None, "note": "given in memory (chorales)"}})
    train, valid, data = read_training_data(corpus)
    return train, valid, dict(data, source=str(corpus)), {"corpus": ch.record_source(corpus)}


def read_training_data(corpus) -> tuple[list[Chorale], list[Chorale], dict]:
    """builtin:chorales, a folder or files of MIDI/MusicXML -> (train, valid, record)."""
    sources = corpus if isinstance(corpus, (list, tuple)) else [corpus]
    pieces: list[Chorale] = []
    for src in sources:
        if src is None:
            continue
        s = os.fspath(src)
        if s in ("builtin:chorales", "chorales"):
            pieces += ch.load_chorales()
            continue
        if s.startswith("builtin:"):
            raise ReverieError(f"unknown music data set {s}; the built-in one is builtin:chorales")
        p = Path(s)
        files = sorted(f for f in p.rglob("*") if f.suffix.lower() in ch.SCORE_SUFFIXES) \
            if p.is_dir() else [p]
        if p.is_dir() and not files:
            raise ReverieError(f"{p} holds no MIDI or MusicXML files; give .mid or .musicxml "
                               f"scores, or builtin:chorales")
        for f in files:
            c = ch.read_score(f)
            if np.isnan(c.pitches).all(0).any():
                raise ReverieError(f"{f.name} does not have four voices with notes (soprano, "
                                   f"alto, tenor, bass); give four-part scores")
            pieces.append(c)
    if not pieces:
        raise ReverieError("no music to train on; give builtin:chorales or MIDI/MusicXML files")
    train, valid, test = ch.split_chorales(pieces)
    if not valid:
        valid = test or train[-1:]
    return train, valid, {"held_out": [c.name for c in valid + test]}


class CoconetTask(Task):
    """One step: a batch of random crops (this process's rows of it), each with its own
    mask, and the loss on the erased cells."""
    format, version = FORMAT, FORMAT_VERSION

    def __init__(self, train: Sequence[Chorale], valid: Sequence[Chorale], data: dict,
                 env: Env):
        cfg = self.cfg = env.cfg
        self.env, self.data = env, data
        self.crops = Crops(train, cfg.crop_piece_len, cfg.augment)
        self.fixed = _fixed_validation(valid, cfg, env.device)
        self.rows = env.rows(cfg.batch_size)
        self.model = self.net = CoconetNet(cfg).to(env.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}

    def learning_rate(self, frac_done: float, step: int) -> float:
        return get_lr(frac_done, step, self.cfg)

    def step(self, step: int) -> dict:
        cfg, gen, device = self.cfg, self.env.gen, self.env.device
        x = self.crops.batch(cfg.batch_size, gen)[self.rows]
        roll = torch.from_numpy(np.stack([to_roll(p) for p in x])).to(device)
        mask = sample_masks(cfg.batch_size, cfg.crop_piece_len, cfg, gen)[self.rows].to(device)
        loss = masked_loss(self.net(roll, mask), roll, mask)
        optimize(loss, self.optimizer)
        return {"train_loss": loss.item()}

    def evaluate(self, final: bool) -> dict:
        if final:  # the population statistics of the final weights, then the last figure
            population_stats(self.model, self.crops, self.cfg,
                             torch.Generator().manual_seed(self.cfg.seed + 1), self.env.device)
        return {"val_loss": validation_loss(self.model, self.fixed)}

    def header(self) -> dict:
        return {"data": self.data}

    def distribute(self, wrap) -> None:
        self.net = wrap(self.model)

    def describe(self, losses: dict, figures: dict) -> str:
        val = figures.get("val_loss")
        return (f"train {losses['train_loss']:.3f}" +
                (f", val {val:.3f}" if val is not None else "") + " nats/cell")

    def preview(self, history: list[dict]) -> dict:
        return loss_curves(history)


def train_coconet(corpus=None, config: Optional[CoconetConfig] = None, *,
                  out: str | os.PathLike | None = None, progress: Progress = silent,
                  pieces: tuple[list[Chorale], list[Chorale]] | None = None,
                  **overrides) -> TrainResult:
    """Train Coconet on `corpus` (builtin:chorales, or folders/files of four-part MIDI or
    MusicXML; or `pieces=(train, valid)` in memory). The split is by piece (chorales.
    split_chorales), made before transposition. With `out`, checkpoints are written there
    every `checkpoint_every` steps and at the end; `resume=True` continues that run, and
    `init` starts from another model's weights."""
    cfg = make_config(CoconetConfig, config, **overrides)
    out = model_path(out, "bach.pt")
    train, valid, data, inputs = training_pieces(corpus, pieces)
    run = fit(lambda env: CoconetTask(train, valid, data, env), cfg, out=out,
              load=load_checkpoint, progress=progress)
    task, rec = run.task, run.record
    run.checkpoint["run"]["popstats"] = True
    figures = {"steps": rec["step"], "train_loss": rec["losses"]["train_loss"],
               "val_loss": rec["figures"]["val_loss"],
               "crops_per_second": task.cfg.batch_size / max(run.timings["per_step"], 1e-9),
               "params": count_params(task.model), "train_pieces": len(train),
               "valid_pieces": len(valid), "receptive_radius_frames": task.model.radius,
               "history": run.history}
    result = TrainResult(task.model, run.checkpoint, mechanism="train_music", figures=figures,
                         **run.result_fields())
    return run.save(result, out, inputs)
