"""Coconet: a convolutional orderless model of four voices, and blocked Gibbs sampling.

Huang, Cooijmans, Roberts, Courville & Eck (2017), "Counterpoint by Convolution" (ISMIR),
as Magenta implements it (magenta/models/coconet: lib_graph.py, lib_mask.py,
lib_sampling.py, lib_evaluation.py, coconet_sample.py). Read top to bottom:

1. `CoconetConfig`: Coconet's hparams by their names (num_layers, num_filters,
   architecture, num_dilation_blocks, dilate_time_only, batch_size, crop_piece_len,
   learning_rate, maskout_method, corrupt_ratio), sized for a CPU.
2. The piano roll: (4 voices, T sixteenths, 46 pitches 36..81) one-hot; a rest is an
   all-zero column (lib_pianoroll). The net's input is the roll with the erased cells
   zeroed, concatenated with the mask (lib_graph.get_convnet_input).
3. `CoconetNet`: lib_graph's "straight" (or "dilated") stack of 3x3 convolutions, batch
   norm on every layer (gamma initialised to 0.1), ReLU, a residual connection every two
   layers, two 2x2 convolutions at the end, and a softmax over pitch for each voice at
   each time.
4. Training: random crops of `crop_piece_len` frames, transposed at random within the
   voices' ranges; masks from lib_mask's "orderless" distribution (a mask size drawn
   uniformly from 1..T*4, then a uniform subset of that size: orderless NADE, Uria et al.
   2014). The loss is the cross-entropy on the erased cells, divided by their number
   (lib_graph.compute_loss with rescale_loss: the D/|mask| rescaling, per variable).
   Adam; checkpoints hold everything a killed run needs to resume exactly, as the char
   LM's do (text/charlm.py), and load with torch.load(weights_only=True).
5. Evaluation (`evaluate`): lib_evaluation's FrameEvaluator and NoteEvaluator. Frame-wise:
   frames in a random order (or chronological), each predicted from the frames before it
   in that order; within a frame the four voices in random order, each conditioned on
   the model's argmax for the voices before it, as lib_evaluation does. Note-wise: every
   (time, voice) cell in a random order, each from the true cells before it. To be
   affordable on a CPU a random sample of frames (cells) per piece is scored, each with
   its own random context: an unbiased estimate of the same mean. Each query runs on a
   crop of the piece as wide as the net's receptive field, which gives the same output.
6. Sampling (`gibbs`): lib_sampling's GibbsSampler with a BernoulliMasker and an
   IndependentSampler, block size annealed by YaoSchedule (Yao et al. 2014):
   p_n = max(pmin, pmax - (pmax - pmin) n / (alpha N)), pmin 0.1, pmax 0.9, alpha 0.7,
   N = the number of cells to write, temperature 0.99 (coconet_sample.py's defaults).
   `compose` writes all four voices (with `key`, the first and last chords are fixed to
   the tonic triad: a cadence the model writes towards), `harmonize` clamps the soprano
   (HarmonizationMasker), `continue_chorale` clamps a beginning.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.io import checkpoints
from reverie.io.checkpoints import ModelFileResult, save_checkpoint
from reverie.music import chorales as ch
from reverie.music import rules
from reverie.music.chorales import Chorale

FORMAT = "reverie-coconet"
FORMAT_VERSION = 1
LOW, HIGH = ch.PITCH_LOW, ch.PITCH_HIGH
NUM_PITCHES = HIGH - LOW + 1
FRAMES_PER_BAR = 4 * ch.FRAMES_PER_QUARTER        # 4/4


# ---------------------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------------------

@dataclass
class CoconetConfig(Config):
    """Coconet's hyperparameters (lib_hparams / coconet_train flags), sized for a CPU.

    The paper's net has 64 layers of 128 filters and trains for days on a GPU; here a
    12-layer, 32-filter net on crops of 32 sixteenths trains usefully in 20 minutes on two
    cores and harmonises 8 bars (384 Gibbs steps) in under 10 s (bench/music.py). The same
    code builds the paper's net with num_layers=64 num_filters=128 crop_piece_len=64.
    """
    architecture: str = knob("straight", "straight (lib_hparams' Straight: num_layers 3x3 "
                             "convs) or dilated (dilation 1, 2, 4 ... in time, repeated "
                             "num_dilation_blocks times)", choices=("straight", "dilated"))
    num_layers: int = knob(12, "convolutional layers (straight; Coconet: 64)", min=4)
    num_filters: int = knob(32, "filters per layer (Coconet: 128)", min=4)
    num_dilation_blocks: int = knob(1, "dilated: blocks of dilation levels", min=1,
                                    advanced=True)
    dilate_time_only: bool = knob(True, "dilated: dilate along time only, not pitch",
                                  advanced=True)
    use_residual: bool = knob(True, "a residual connection every two layers", advanced=True)
    batch_size: int = knob(20, "crops per step (Coconet: 20)", min=1)
    crop_piece_len: int = knob(32, "sixteenths per training crop (Coconet: 64)", min=8)
    maskout_method: str = knob("orderless", "how cells are erased in training: orderless "
                               "(a uniform mask size, then a uniform subset: orderless NADE) "
                               "or bernoulli (each cell with probability corrupt_ratio)",
                               choices=("orderless", "bernoulli"))
    corrupt_ratio: float = knob(0.5, "bernoulli masks: the fraction erased", above=0, max=1,
                                advanced=True)
    augment: bool = knob(True, "transpose each crop by a random shift that keeps every voice "
                         "in its range")
    learning_rate: float = knob(2e-3, "Adam learning rate (Coconet's 64-layer net: 2^-4 with "
                                "its batch norm; measured here for the small net)", above=0)
    min_lr: float = knob(2e-4, "learning rate at the end of the cosine decay", min=0,
                         advanced=True)
    max_iters: int = knob(3000, "training steps: the budget (ignored when minutes is set)", min=1)
    minutes: Optional[float] = knob(None, "train for this wall-clock time instead of "
                                    "max_iters (the model then depends on the machine's "
                                    "speed)", above=0, unit="minutes")
    eval_interval: int = knob(250, "estimate the validation loss every N steps", min=1,
                              advanced=True)
    checkpoint_every: int = knob(250, "write a checkpoint every N steps (and at the end), so "
                                 "a killed run can resume", min=1, advanced=True)
    resume: bool = knob(False, "continue the run whose checkpoint is the output file (after a "
                        "kill, or to train on with a larger max_iters)")
    threads: Optional[int] = knob(None, "torch CPU threads (auto: $REVERIE_THREADS if set, "
                                  "else the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob(1337)
    device: str = device_knob()


BUDGET_FIELDS = ("max_iters", "minutes", "threads", "device")


@dataclass
class GibbsConfig(Config):
    """Blocked Gibbs sampling (lib_sampling: GibbsSampler, YaoSchedule; coconet_sample)."""
    temperature: float = knob(0.99, "softmax temperature when a cell is rewritten "
                              "(coconet_sample: 0.99)", above=0)
    pmax: float = knob(0.9, "erasure probability at the first Gibbs step (YaoSchedule pmax)",
                       above=0, max=1)
    pmin: float = knob(0.1, "erasure probability it anneals down to (YaoSchedule pmin)",
                       above=0, max=1)
    alpha: float = knob(0.7, "fraction of the steps over which it anneals (YaoSchedule alpha)",
                        above=0, max=1)
    gibbs_steps: Optional[int] = knob(None, "Gibbs steps (auto: the number of cells to "
                                      "write, GibbsSampler's default)", min=1)
    parallel_penalty: float = knob(4.0, "log-probability taken off a note for each parallel "
                                   "fifth or octave it would make with its neighbours as they "
                                   "stood at the previous Gibbs step: a harmony teacher as a "
                                   "second expert beside the net, p(note) ∝ "
                                   "p_net(note)^(1/temperature) * exp(-parallel_penalty * "
                                   "parallels) (this and range_penalty 0: Coconet's sampler as "
                                   "published)", min=0)
    range_penalty: float = knob(2.0, "log-probability taken off a note outside its voice's "
                                "textbook range (S C4-G5, A G3-D5, T C3-G4, B E2-C4: the "
                                "teacher's range check; notes outside the chorales' own ranges "
                                "are never drawn)", min=0)
    qpm: float = knob(80.0, "tempo of the MIDI and WAV, quarter notes per minute", above=0)
    animation: bool = knob(True, "write the Gibbs animation (.gif beside the MIDI)")
    seed: int = seed_knob(0)
    device: str = device_knob()

    def check(self) -> None:
        if self.pmin > self.pmax:
            raise ConfigError("pmin", f"pmin ({self.pmin}) must not exceed pmax ({self.pmax})")


@dataclass
class ComposeConfig(GibbsConfig):
    bars: int = knob(8, "bars of 4/4 to write", min=1, max=64)
    key: str = knob("", "the key, e.g. 'D major' or 'F# minor': the first and last chords "
                    "are its tonic triad (empty: any key)")

    def check(self) -> None:
        super().check()
        if self.key:
            try:
                ch.parse_key(self.key)
            except ReverieError as exc:
                raise ConfigError("key", str(exc)) from None


@dataclass
class HarmonizeConfig(GibbsConfig):
    pass


@dataclass
class ContinueConfig(GibbsConfig):
    bars: int = knob(4, "bars of 4/4 to add", min=1, max=64)


# ---------------------------------------------------------------------------------------
# 2. Piano rolls
# ---------------------------------------------------------------------------------------

def to_roll(pitches: np.ndarray) -> np.ndarray:
    """(T, 4) MIDI pitches (NaN rest) -> (4, T, P) one-hot float32 (rest: all zeros)."""
    T = pitches.shape[0]
    roll = np.zeros((4, T, NUM_PITCHES), np.float32)
    p = pitches.T
    ok = ~np.isnan(p)
    idx = np.where(ok, p, LOW).astype(int) - LOW
    if ((idx < 0) | (idx >= NUM_PITCHES))[ok].any():
        raise ReverieError(f"a note lies outside the model's pitch range (MIDI {LOW}-{HIGH})")
    v, t = np.nonzero(ok)
    roll[v, t, idx[v, t]] = 1.0
    return roll


def from_roll(roll: np.ndarray) -> np.ndarray:
    """(4, T, P) one-hot -> (T, 4) MIDI pitches (NaN where a column is empty)."""
    has = roll.sum(-1) > 0
    p = roll.argmax(-1).astype(np.float32) + LOW
    return np.where(has, p, np.nan).T.astype(np.float32)


def range_mask(device=None, ranges: Optional[dict] = None) -> torch.Tensor:
    """(4, 1, P) True where a pitch lies in the voice's range: `ranges` by voice name, by
    default the data's own (chorales.VOICE_RANGES)."""
    ranges = ranges or ch.VOICE_RANGES
    m = torch.zeros(4, 1, NUM_PITCHES, dtype=torch.bool, device=device)
    for v, name in enumerate(ch.VOICES):
        lo, hi = ranges[name]
        m[v, 0, lo - LOW: hi - LOW + 1] = True
    return m


# ---------------------------------------------------------------------------------------
# 3. The net
# ---------------------------------------------------------------------------------------

def layer_specs(cfg: CoconetConfig) -> list[dict]:
    """lib_hparams' Straight / Dilated layer lists: (kernel, dilation in time and pitch)."""
    if cfg.architecture == "straight":
        specs = [{"k": 3, "d": (1, 1)} for _ in range(cfg.num_layers - 2)]
    else:
        t_max = int(np.ceil(np.log2(cfg.crop_piece_len))) - 1
        p_max = int(np.ceil(np.log2(NUM_PITCHES))) - 1
        specs = [{"k": 3, "d": (1, 1)}]
        for _ in range(cfg.num_dilation_blocks):
            for level in range(max(t_max, p_max) + 1):
                dt, dp = 2 ** min(level, t_max), 2 ** min(level, p_max)
                specs.append({"k": 3, "d": (dt, 1 if cfg.dilate_time_only else dp)})
    return specs + [{"k": 2, "d": (1, 1)}, {"k": 2, "d": (1, 1)}]


class CoconetNet(nn.Module):
    """lib_graph.CoconetGraph: conv + batch norm (+ residual every 2) + ReLU; logits."""

    def __init__(self, cfg: CoconetConfig):
        super().__init__()
        specs = layer_specs(cfg)
        self.specs = specs
        self.use_residual = cfg.use_residual
        C = cfg.num_filters
        chans = [8] + [C] * (len(specs) - 1) + [4]
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i, s in enumerate(specs):
            conv = nn.Conv2d(chans[i], chans[i + 1], s["k"], dilation=s["d"], bias=False,
                             padding=s["d"] if s["k"] == 3 else 0)
            nn.init.kaiming_normal_(conv.weight)            # he_normal, as lib_graph
            self.convs.append(conv)
            # torch's default momentum (lib_graph's decay is 0.01, made for runs of days);
            # `population_stats` re-estimates them at the end of training, as Coconet does
            bn = nn.BatchNorm2d(chans[i + 1], eps=1e-7, momentum=0.1)
            nn.init.constant_(bn.weight, 0.1)               # gamma initialised to 0.1
            self.norms.append(bn)
        # how far (in frames) an output cell can see: crops this wide give the same output
        self.radius = sum(s["d"][0] if s["k"] == 3 else 1 for s in specs)

    @staticmethod
    def _pad(x: torch.Tensor, s: dict) -> torch.Tensor:
        # 3x3 convs pad themselves; TF's SAME for an even (2x2) kernel pads after
        return x if s["k"] == 3 else F.pad(x, (0, 1, 0, 1))

    def _fused(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Inference: each batch norm folded into its convolution (one pass, not two)."""
        if getattr(self, "_fused_cache", None) is None:
            out = []
            for conv, bn in zip(self.convs, self.norms):
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                w = (conv.weight * scale[:, None, None, None]).detach()
                # channels-last runs these small convolutions ~1.5x faster on a CPU
                out.append((w.contiguous(memory_format=torch.channels_last),
                            (bn.bias - bn.running_mean * scale).detach()))
            self._fused_cache = out
        return self._fused_cache

    def train(self, mode: bool = True):
        self._fused_cache = None
        return super().train(mode)

    def forward(self, roll: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """roll (B, 4, T, P) one-hot, mask (B, 4, T) 1 = erased -> logits (B, 4, T, P)."""
        m = mask[..., None].expand_as(roll)
        x = torch.cat([roll * (1 - m), m], 1)
        n = len(self.convs)
        saved = None
        fused = None if self.training or torch.is_grad_enabled() else self._fused()
        if fused is not None:
            x = x.contiguous(memory_format=torch.channels_last)
        for i, (conv, bn, s) in enumerate(zip(self.convs, self.norms, self.specs)):
            if self.use_residual and i % 2 == 1:
                saved = x
            if fused is not None:
                w, b = fused[i]
                y = F.conv2d(self._pad(x, s), w, b, padding=conv.padding, dilation=conv.dilation)
            else:
                y = bn(conv(self._pad(x, s)))
            if (self.use_residual and i % 2 == 0 and 0 < i < n - 1 and saved is not None
                    and saved.shape == y.shape):
                y = y + saved
            x = F.relu(y) if i < n - 1 else y
        return x.contiguous()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------
# 4. Training
# ---------------------------------------------------------------------------------------

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


def load_checkpoint(path: str | os.PathLike) -> dict:
    return checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a Coconet music model", "train one with `reverie music train builtin:chorales --out bach.pt`")


def config_from_dict(d: dict) -> CoconetConfig:
    return checkpoints.saved_config(CoconetConfig, d)


@dataclass
class Coconet:
    """A trained model (eval mode, CPU) and its configuration."""
    net: CoconetNet
    config: CoconetConfig
    meta: dict = field(default_factory=dict)


def load_coconet(path: str | os.PathLike) -> Coconet:
    ckpt = load_checkpoint(path)
    try:
        cfg = config_from_dict(ckpt["config"])
        with torch.random.fork_rng(devices=[]):
            net = CoconetNet(cfg)
        net.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, TypeError, AttributeError, ReverieError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"retrain it with `reverie music train`") from None
    net.eval()
    return Coconet(net, cfg, dict(ckpt.get("run", {}), data=ckpt.get("data", {})))


def as_model(model) -> Coconet:
    if isinstance(model, Coconet):
        return model
    if isinstance(model, TrainResult):
        return Coconet(model.model, model.config)
    if model is None:
        raise ReverieError("a Coconet model is needed; train one with `reverie music train "
                           "builtin:chorales --out bach.pt`")
    return load_coconet(model)


@dataclass
class TrainResult(ModelFileResult):
    model: CoconetNet
    checkpoint: dict

    def explain(self, folder: Path) -> dict[str, Path]:
        from reverie.io.figures import plot_curves
        h = self.figures["history"]
        return {"loss curves": plot_curves(
            {"train": [(r["step"], r["train_loss"]) for r in h],
             "val": [(r["step"], r["val_loss"]) for r in h]},
            path=Path(folder) / "loss-curves.png", xlabel="step",
            ylabel="nats per erased cell")}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps: validation {f['val_loss']:.3f} nats per erased cell "
                f"(training {f['train_loss']:.3f}), {f['crops_per_second']:.1f} crops/s")


def free_cores() -> int:
    from reverie.text.charlm import free_cores as fc
    return fc()


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


def train_coconet(corpus=None, config: Optional[CoconetConfig] = None, *,
                  out: str | os.PathLike | None = None, progress: Progress = silent,
                  pieces: tuple[list[Chorale], list[Chorale]] | None = None,
                  **overrides) -> TrainResult:
    """Train Coconet on `corpus` (builtin:chorales, or folders/files of four-part MIDI or
    MusicXML; or `pieces=(train, valid)` in memory). The split is by piece (chorales.
    split_chorales), made before transposition. With `out`, checkpoints are written there
    every `checkpoint_every` steps and at the end; `resume=True` continues that run."""
    cfg = make_config(CoconetConfig, config, **overrides)
    out = checkpoints.model_path(out, "bach.pt")
    if pieces is not None:
        train, valid = pieces
        inputs = {"corpus": {"source": None, "note": "given in memory (chorales)"}}
        data_record: dict = {"source": "in memory"}
    else:
        train, valid, data_record = read_training_data(corpus)
        inputs = {"corpus": ch.record_source(corpus)}
        data_record["source"] = str(corpus)
    from reverie.core.device import resolve_device
    device = resolve_device(cfg.device)
    threads = cfg.threads or free_cores()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            result = _train(train, valid, out, cfg.replace(threads=threads, device=str(device)),
                            device, progress, data_record)
    finally:
        torch.set_num_threads(before)
    result.inputs = inputs
    result.resolved.update({"device": str(device), "threads": threads})
    if out is not None:
        result.save(out)
    return result


def _train(train, valid, out, cfg: CoconetConfig, device, progress, data_record) -> TrainResult:
    notes: list[str] = []
    ckpt, cfg, changed = checkpoints.resume_checkpoint(cfg, out, load_checkpoint,
                                                       config_from_dict, BUDGET_FIELDS)
    if ckpt is not None:
        notes.append(f"resumed from {out.name} at step {ckpt['run']['step']}" +
                     (f", with a new {' and '.join(changed)}: the learning-rate schedule "
                      f"changed mid-run" if changed else
                      "; the same model as an uninterrupted run"))
    crops = Crops(train, cfg.crop_piece_len, cfg.augment)
    fixed = _fixed_validation(valid, cfg, device)
    torch.set_rng_state(torch.Generator().manual_seed(cfg.seed).get_state())
    gen = torch.Generator().manual_seed(cfg.seed)
    model = CoconetNet(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    run = {"step": 0, "train_loss": None, "val_loss": None, "history": [], "crops": 0}
    elapsed = 0.0
    if ckpt is not None:
        elapsed = checkpoints.restore_training(ckpt, out, model, optimizer, gen, run)
    budget_s = cfg.minutes * 60.0 if cfg.minutes else None

    def frac_done() -> float:
        return elapsed / budget_s if budget_s is not None else run["step"] / cfg.max_iters

    def checkpoint() -> dict:
        return checkpoints.training_state(FORMAT, FORMAT_VERSION, cfg, model, optimizer, run,
                                          gen, elapsed if budget_s is not None else None,
                                          data=data_record)

    model.train()
    smooth = run["train_loss"]
    session_crops, session_seconds = 0, 0.0
    started = t_last = time.perf_counter()
    while frac_done() < 1.0:
        lr = get_lr(frac_done(), run["step"], cfg)
        for g in optimizer.param_groups:
            g["lr"] = lr
        x = crops.batch(cfg.batch_size, gen)
        roll = torch.from_numpy(np.stack([to_roll(p) for p in x])).to(device)
        mask = sample_masks(cfg.batch_size, cfg.crop_piece_len, cfg, gen).to(device)
        loss = masked_loss(model(roll, mask), roll, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        run["step"] += 1
        run["crops"] += cfg.batch_size
        now = time.perf_counter()
        elapsed += now - t_last
        session_seconds += now - t_last
        session_crops += cfg.batch_size
        lv = loss.item()
        smooth = lv if smooth is None else 0.95 * smooth + 0.05 * lv
        run["train_loss"] = smooth
        if run["step"] % cfg.eval_interval == 0:
            run["val_loss"] = validation_loss(model, fixed)
            run["history"].append({"step": run["step"], "train_loss": smooth,
                                   "val_loss": run["val_loss"]})
            show_preview(progress, {"series": {
                "train": [(h["step"], h["train_loss"]) for h in run["history"]],
                "val": [(h["step"], h["val_loss"]) for h in run["history"]]},
                "xlabel": "step", "ylabel": "nats per erased cell"})
        if out is not None and run["step"] % cfg.checkpoint_every == 0:
            save_checkpoint(checkpoint(), out)
        t_last = time.perf_counter()
        msg = (f"train {smooth:.3f}" + (f", val {run['val_loss']:.3f}" if run["val_loss"]
                                       is not None else "") + " nats/cell")
        if budget_s is not None:
            progress(int(elapsed), int(budget_s), msg)
        else:
            progress(run["step"], cfg.max_iters, msg)
    population_stats(model, crops, cfg, torch.Generator().manual_seed(cfg.seed + 1), device)
    run["val_loss"] = validation_loss(model, fixed)
    run["history"].append({"step": run["step"], "train_loss": smooth, "val_loss": run["val_loss"]})
    final = checkpoint()
    final["run"]["popstats"] = True
    model.cpu().eval()
    figures = {"steps": run["step"], "train_loss": smooth, "val_loss": run["val_loss"],
               "crops_per_second": session_crops / max(session_seconds, 1e-9),
               "params": count_params(model), "train_pieces": len(train),
               "valid_pieces": len(valid), "receptive_radius_frames": model.radius,
               "history": run["history"]}
    if budget_s is not None:
        notes.append(f"trained for a wall-clock budget ({cfg.minutes:g} minutes, {run['step']} "
                     f"steps here): the model depends on this machine's speed; set max_iters "
                     f"for a repeatable run")
    return TrainResult(model, final, mechanism="train_music", config=cfg.replace(resume=False),
                       figures=figures, notes=notes,
                       deterministic=budget_s is None and not changed,
                       timings={"train": time.perf_counter() - started,
                                "per_step": session_seconds / max(1, run["step"])})


# ---------------------------------------------------------------------------------------
# 5. Evaluation
# ---------------------------------------------------------------------------------------

def _windows(T: int, t: np.ndarray, R: int) -> tuple[np.ndarray, np.ndarray]:
    return np.maximum(t - R, 0), np.minimum(t + R + 1, T)


@torch.no_grad()
def frame_nll(net: CoconetNet, pitches: np.ndarray, rng: np.random.Generator,
              frames: Optional[int] = 64, chronological: bool = False,
              within: str = "argmax") -> np.ndarray:
    """lib_evaluation.FrameEvaluator on one piece: -log p(frame) for a sample of frames.
    within="argmax" fills the voices already scored in a frame with the model's argmax, as
    lib_evaluation does; within="truth" with their true notes (the chain rule proper)."""
    roll = to_roll(pitches)
    T = roll.shape[1]
    order = np.arange(T) if chronological else rng.permutation(T)
    pos = np.arange(T) if frames is None or frames >= T else np.sort(
        rng.choice(T, frames, replace=False))
    t = order[pos]
    n = len(t)
    masks = np.ones((n, 4, T), np.float32)
    rank = np.empty(T, int)
    rank[order] = np.arange(T)
    for i in range(n):                       # frames before it in the ordering are known
        masks[i][:, rank < pos[i]] = 0.0
    xs = np.repeat(roll[None], n, 0)
    voice_order = np.stack([rng.permutation(4) for _ in range(n)])
    ll = np.zeros(n)
    for k in range(4):
        probs = _predict_multi(net, xs, masks, t)
        v = voice_order[:, k]
        truth = roll[v, t]                                   # (n, P)
        p = (probs[np.arange(n), v] * truth).sum(-1)
        ll += np.where(truth.sum(-1) > 0, np.log(np.maximum(p, 1e-12)), 0.0)
        if within == "argmax":                 # the model's own argmax, as lib_evaluation
            best = probs[np.arange(n), v].argmax(-1)
            xs[np.arange(n), v, t] = 0.0
            xs[np.arange(n), v, t, best] = 1.0
        masks[np.arange(n), v, t] = 0.0
    return -ll


def _predict_multi(net, xs: np.ndarray, masks: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Like _predict_groups, but each query has its own roll (n, 4, T, P)."""
    R = net.radius
    T = xs.shape[2]
    a, b = _windows(T, t, R)
    out = np.zeros((len(t), 4, NUM_PITCHES), np.float32)
    groups: dict[tuple[int, bool, bool], list[int]] = {}
    for i in range(len(t)):
        groups.setdefault((int(b[i] - a[i]), a[i] == 0, b[i] == T), []).append(i)
    for (w, _, _), idx in groups.items():
        for c0 in range(0, len(idx), 128):
            ii = np.array(idx[c0: c0 + 128])
            rolls = np.stack([xs[i, :, a[i]: a[i] + w] for i in ii])
            ms = np.stack([masks[i, :, a[i]: a[i] + w] for i in ii])
            logits = net(torch.from_numpy(rolls), torch.from_numpy(ms))
            pos = torch.as_tensor(t[ii] - a[ii])
            out[ii] = F.softmax(logits[torch.arange(len(ii)), :, pos], -1).numpy()
    return out


@torch.no_grad()
def note_nll(net: CoconetNet, pitches: np.ndarray, rng: np.random.Generator,
             cells: Optional[int] = 64) -> np.ndarray:
    """lib_evaluation.NoteEvaluator on one piece: -log p(cell) for a sample of sounding
    (time, voice) cells, each given the true cells before it in a random ordering."""
    roll = to_roll(pitches)
    T = roll.shape[1]
    D = 4 * T
    order = rng.permutation(D)
    rank = np.empty(D, int)
    rank[order] = np.arange(D)
    sounding = np.flatnonzero(roll.reshape(D, -1).sum(-1) > 0)     # cell id = v * T + t
    pick = sounding if cells is None or cells >= len(sounding) else rng.choice(
        sounding, cells, replace=False)
    n = len(pick)
    masks = np.ones((n, 4, T), np.float32)
    for i, c in enumerate(pick):
        masks[i].reshape(-1)[rank < rank[c]] = 0.0
    v, t = pick // T, pick % T
    xs = np.repeat(roll[None], n, 0)
    probs = _predict_multi(net, xs, masks, t)
    p = (probs[np.arange(n), v] * roll[v, t]).sum(-1)
    return -np.log(np.maximum(p, 1e-12))


def evaluate(model, pieces: Sequence[Chorale], frames_per_piece: Optional[int] = 64,
             seed: int = 0, chronological: bool = True) -> dict:
    """Held-out NLL (nats) per frame and per note, pooled over the pieces' units as
    lib_evaluation pools them. Frame: random ordering of frames (Coconet's "random"
    figure) and, with `chronological`, the frames in time order (what a left-to-right
    model such as the Markov chain is scored on)."""
    m = as_model(model)
    rng = np.random.default_rng(seed)
    fr, frc, nt, frt, frct = [], [], [], [], []
    with _threads():
        for c in pieces:
            p = c.pitches
            if np.nanmin(p) < LOW or np.nanmax(p) > HIGH:
                continue
            fr.append(frame_nll(m.net, p, rng, frames_per_piece))
            frt.append(frame_nll(m.net, p, rng, frames_per_piece, within="truth"))
            if chronological:
                frc.append(frame_nll(m.net, p, rng, frames_per_piece, chronological=True))
                frct.append(frame_nll(m.net, p, rng, frames_per_piece, chronological=True,
                                      within="truth"))
            nt.append(note_nll(m.net, p, rng, frames_per_piece))
    out = {"nll_per_frame": float(np.mean(np.concatenate(fr))),
           "nll_per_frame_sem": float(np.std(np.concatenate(fr)) / np.sqrt(sum(map(len, fr)))),
           "nll_per_note": float(np.mean(np.concatenate(nt))),
           "pieces": len(fr), "frames_scored": int(sum(map(len, fr))),
           "method": ("Coconet's FrameEvaluator (frames in random order, voices within a frame "
                      "in random order conditioned on the model's argmax) and NoteEvaluator "
                      "(cells in random order); *_chain_rule: the voices already scored in "
                      "a frame at their true notes (a proper likelihood); " +
                      (f"{frames_per_piece} random frames/cells "
                      "per piece, each with its own random context" if frames_per_piece else
                      "every frame") + "; nats")}
    # the chain rule proper: the voices already scored in a frame at their true notes
    out["nll_per_frame_chain_rule"] = float(np.mean(np.concatenate(frt)))
    if chronological:
        out["nll_per_frame_chronological"] = float(np.mean(np.concatenate(frc)))
        out["nll_per_frame_chronological_chain_rule"] = float(np.mean(np.concatenate(frct)))
    return out


@contextlib.contextmanager
def _threads():
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, free_cores()))
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------
# 6. Blocked Gibbs sampling
# ---------------------------------------------------------------------------------------

def yao_schedule(step: int, n: int, pmin: float, pmax: float, alpha: float) -> float:
    """lib_sampling.YaoSchedule: the erasure probability at Gibbs step `step` of `n`."""
    return max(pmin, pmax - (pmax - pmin) * step / n / alpha)


@torch.no_grad()
def gibbs(net: CoconetNet, roll: np.ndarray, outer: np.ndarray, cfg: GibbsConfig,
          progress: Progress = silent, frames: Optional[list] = None,
          max_frames: int = 48) -> tuple[np.ndarray, np.ndarray, int]:
    """Rewrite the cells `outer` (4, T) of `roll` (4, T, P); the rest stay as given.

    An independent pass fills every cell to write, then at each step each of them is
    erased with the annealed probability and all erased cells are sampled at once from the
    model's conditionals (GibbsSampler + BernoulliMasker + IndependentSampler). Sampling
    keeps each voice inside its range. Beside the net, a harmony teacher: each candidate
    note's log-probability loses parallel_penalty for every parallel fifth or octave it
    would make with the current notes around it, and range_penalty outside the voice's
    textbook range (a product of experts, approximate as the blocked sampler itself is;
    both 0 is Coconet's sampler). Returns (roll, confidence (4, T), steps)."""
    from reverie.core.device import resolve_device
    device = resolve_device(cfg.device)
    net = net.to(device).eval()
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.from_numpy(roll.copy()).to(device)[None]          # (1, 4, T, P)
    outer_t = torch.from_numpy(outer.astype(np.float32)).to(device)[None]
    allowed = range_mask(device)[None]                           # (1, 4, 1, P)
    conf = torch.ones(1, 4, roll.shape[1], device=device)
    n_cells = int(outer.sum())
    steps = cfg.gibbs_steps or n_cells
    every = max(1, steps // max_frames)
    candidates = np.arange(LOW, HIGH + 1)
    outside_textbook = (~range_mask(device, rules.TEXTBOOK_RANGES)).float()[None]

    def rewrite(mask: torch.Tensor) -> None:
        nonlocal x, conf
        logits = net(x, mask) / cfg.temperature
        # against the neighbours as they stand before this step: cells rewritten together
        # can still meet in a parallel, which later steps (fewer cells each) mostly undo
        if cfg.parallel_penalty:
            n = rules.parallels_by_candidate(from_roll(x[0].cpu().numpy()), candidates)
            logits = logits - cfg.parallel_penalty * torch.from_numpy(
                n.transpose(1, 0, 2)).to(logits)[None]
        if cfg.range_penalty:
            logits = logits - cfg.range_penalty * outside_textbook
        logits = logits.masked_fill(~allowed, float("-inf"))
        probs = F.softmax(logits, -1)
        flat = probs.reshape(-1, NUM_PITCHES).cpu()
        pick = torch.multinomial(flat, 1, generator=gen).view(probs.shape[:-1]).to(device)
        new = F.one_hot(pick, NUM_PITCHES).float()
        m = mask[..., None]
        x = new * m + x * (1 - m)
        chosen = probs.gather(-1, pick[..., None])[..., 0]
        conf = chosen * mask + conf * (1 - mask)

    if n_cells:
        rewrite(outer_t)                     # blank slate: every cell drawn independently
        if frames is not None:
            frames.append((x[0].cpu().numpy(), conf[0].cpu().numpy(), outer.copy()))
        for s in range(steps):
            pm = yao_schedule(s, steps, cfg.pmin, cfg.pmax, cfg.alpha)
            u = torch.rand(outer_t.shape, generator=gen).to(device)
            inner = (u < pm).float() * outer_t
            if inner.sum() > 0:
                rewrite(inner)
            if frames is not None and (s % every == 0 or s == steps - 1):
                frames.append((x[0].cpu().numpy(), conf[0].cpu().numpy(),
                               inner[0].bool().cpu().numpy()))
            if s % 8 == 0 or s == steps - 1:
                progress(s + 1, steps, f"Gibbs step {s + 1}/{steps}, erasing {pm:.2f}")
    return x[0].cpu().numpy(), conf[0].cpu().numpy(), steps


# ---------------------------------------------------------------------------------------
# 7. The mechanisms: compose, harmonize, continue
# ---------------------------------------------------------------------------------------

_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(pitches: np.ndarray) -> str:
    """Krumhansl-Schmuckler: the key whose profile best correlates with the durations of
    the pitch classes (the same algorithm music21's analyze('key') uses by default)."""
    p = pitches[~np.isnan(pitches)].astype(int)
    if p.size == 0:
        return ""
    hist = np.bincount(p % 12, minlength=12).astype(float)
    best, name = -2.0, ""
    for mode, prof in (("major", _MAJOR), ("minor", _MINOR)):
        for tonic in range(12):
            r = np.corrcoef(hist, np.roll(prof, tonic))[0, 1]
            if r > best:
                best, name = r, ch.key_name(tonic, mode)
    return name


def tonic_chord(key: str) -> list[int]:
    """A root-position tonic triad for S, A, T, B, each voice in its range."""
    pc, mode = ch.parse_key(key)
    third = pc + (3 if mode == "minor" else 4)
    fifth = pc + 7

    def below(pcls: int, limit: int) -> int:     # the highest pitch of a class <= limit
        return limit - ((limit - pcls) % 12)
    s = below(pc, 78)
    if s < 67:
        s += 12
    a = below(third, s - 1)
    t = below(fifth, a - 1)
    b = below(pc, t - 1)
    if b < ch.VOICE_RANGES["bass"][0] + 2:
        b += 12
    return [s, a, t, b]


@dataclass
class MusicResult(Result):
    """A chorale Coconet wrote: .mid, .musicxml, .wav, a piano-roll .png and the Gibbs .gif."""
    chorale: Chorale
    given: np.ndarray                    # (T, 4) True where a cell was given, not written
    frames: list = field(default_factory=list, repr=False)
    suffixes = (".mid", ".midi")

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.music import score
        qpm = getattr(self.config, "qpm", 80.0)
        paths = {"midi": score.write_midi(self.chorale, path, qpm)}
        paths["musicxml"] = score.write_musicxml(self.chorale, path.with_suffix(".musicxml"))
        paths["audio"], engine = score.write_wav(self.chorale, path.with_suffix(".wav"), qpm)
        self.figures["synthesiser"] = engine
        paths["piano_roll"] = score.write_piano_roll(
            self.chorale, path.with_suffix(".png"), title=self.summary(), clamped=self.given)
        if self.frames:
            paths["animation"] = write_gibbs_gif(self.frames, path.with_suffix(".gif"))
        return paths

    def summary(self) -> str:
        f = self.figures
        r = f.get("rules", {})
        return (f"{f.get('bars', 0):g} bars in {f.get('key_estimated', '?')}, "
                f"{f.get('gibbs_steps', 0)} Gibbs steps; per 100 steps: "
                f"{r.get('parallel_fifths', 0):.2f} parallel fifths, "
                f"{r.get('parallel_octaves', 0):.2f} octaves (Bach: "
                f"{rules_bach('parallel_fifths'):.2f}, {rules_bach('parallel_octaves'):.2f})")


def rules_bach(k: str) -> float:
    return rules.BACH[k]


def write_gibbs_gif(frames: list, path: Path) -> Path:
    from reverie.io.animation import save_animation
    from reverie.music.score import gibbs_frame
    imgs = []
    for roll, conf, erased in frames:
        pitches = from_roll(roll)
        imgs.append(gibbs_frame(pitches, conf.T, erased.T, LOW, HIGH, cell=4))
    imgs += [imgs[-1]] * 8                      # hold the last frame
    return save_animation(imgs, path, fps=8)


def _finish(model: Coconet, roll: np.ndarray, given: np.ndarray, onsets_given: np.ndarray,
            conf: np.ndarray, steps: int, cfg: GibbsConfig, name: str, frames: list,
            started: float, mechanism: str, inputs: dict, notes: list[str]) -> MusicResult:
    pitches = from_roll(roll)
    given_cells = given.T                                   # (T, 4)
    onsets = ch.onsets_from_pitches(pitches)
    onsets = np.where(given_cells, onsets_given, onsets)   # given voices keep their onsets
    key = estimate_key(pitches)
    chorale = Chorale(name, pitches, onsets, key)
    fig_rules = rules.check([chorale])
    figures = {"bars": len(pitches) / FRAMES_PER_BAR, "frames": len(pitches),
               "gibbs_steps": steps, "key_estimated": key, "rules": fig_rules,
               "rules_bach": {k: rules.BACH[k] for k in rules.KEYS},
               "mean_confidence": float(conf[~given].mean()) if (~given).any() else 1.0,
               "seconds": time.perf_counter() - started}
    if model.meta.get("val_loss") is not None:
        figures["model_val_loss"] = model.meta["val_loss"]
    return MusicResult(chorale, given_cells, frames if cfg.animation else [],
                       mechanism=mechanism, config=cfg, inputs=inputs, figures=figures,
                       notes=notes, timings={"sample": time.perf_counter() - started},
                       resolved={"device": str(_device(cfg.device))})


def _device(name: str):
    from reverie.core.device import resolve_device
    return resolve_device(name)


def compose(model=None, config: Optional[ComposeConfig] = None, *, progress: Progress = silent,
            **overrides) -> MusicResult:
    """A chorale from nothing: every cell written by blocked Gibbs sampling."""
    cfg = make_config(ComposeConfig, config, **overrides)
    started = time.perf_counter()
    inputs = {"model": record_input(model if not isinstance(model, (Coconet, TrainResult))
                                    else None)}
    m = as_model(model)
    T = cfg.bars * FRAMES_PER_BAR
    roll = np.zeros((4, T, NUM_PITCHES), np.float32)
    outer = np.ones((4, T), bool)
    onsets = np.zeros((T, 4), bool)
    notes = []
    if cfg.key:
        chord = tonic_chord(cfg.key)
        first, last = min(4, T), min(8, T)
        for v, p in enumerate(chord):
            roll[v, :first, p - LOW] = 1.0
            roll[v, T - last:, p - LOW] = 1.0
        outer[:, :first] = False
        outer[:, T - last:] = False
        onsets[0] = True
        onsets[T - last] = True
        notes.append(f"the first and last chords are the tonic triad of {cfg.key}; the model "
                     f"wrote everything between")
    frames: list = []
    with _threads():
        roll, conf, steps = gibbs(m.net, roll, outer, cfg, progress,
                                  frames if cfg.animation else None)
    res = _finish(m, roll, ~outer, onsets, conf, steps, cfg, "composed chorale", frames,
                  started, "compose_music", inputs, notes)
    if cfg.key:
        res.chorale.key = cfg.key
        res.chorale.fermatas[T - min(8, T):] = True
        res.figures["key"] = cfg.key
    return res


def melody_of(melody) -> Chorale:
    """A melody from a MIDI/MusicXML file (its highest part) or a note string."""
    if isinstance(melody, Chorale):
        return melody
    if melody is None:
        raise ReverieError("give a melody: a MIDI or MusicXML file, or notes such as "
                           "'E4:4 E4:4 F4:4 G4:4'")
    text = os.fspath(melody)
    if Path(text).suffix.lower() in ch.SCORE_SUFFIXES or Path(text).is_file():
        return ch.read_score(text)
    return ch.from_notes(text)


def check_soprano(chorale: Chorale) -> None:
    import pretty_midi
    lo, hi = ch.VOICE_RANGES["soprano"]
    sop = chorale.pitches[:, 0]
    if np.isnan(sop).all():
        raise ReverieError("the melody has no notes; give notes such as 'E4:4 E4:4 F4:4 G4:4'")
    if len(sop) > 64 * FRAMES_PER_BAR:
        raise ReverieError(f"the melody is {len(sop) / FRAMES_PER_BAR:.0f} bars long; harmonise "
                           f"at most 64 bars at a time")
    bad = []
    for start, _, p in ch.voice_notes(sop, chorale.onsets[:, 0]):
        if not lo <= p <= hi:
            bad.append(f"{pretty_midi.note_number_to_name(p)} (bar {start // FRAMES_PER_BAR + 1})")
    if bad:
        shown = ", ".join(bad[:6]) + (f" and {len(bad) - 6} more" if len(bad) > 6 else "")
        raise ReverieError(
            f"melody notes outside the soprano's range "
            f"{pretty_midi.note_number_to_name(lo)}-{pretty_midi.note_number_to_name(hi)} "
            f"(MIDI {lo}-{hi}): {shown}; transpose the melody into that range")


def harmonize(model=None, melody=None, config: Optional[HarmonizeConfig] = None, *,
              progress: Progress = silent, **overrides) -> MusicResult:
    """Alto, tenor and bass under a given soprano, which comes out exactly as given
    (coconet_sample's HarmonizeMidiMelodyStrategy: HarmonizationMasker + Gibbs)."""
    cfg = make_config(HarmonizeConfig, config, **overrides)
    started = time.perf_counter()
    given_melody = melody_of(melody)
    check_soprano(given_melody)
    inputs = {"model": record_input(model if not isinstance(model, (Coconet, TrainResult))
                                    else None),
              "melody": record_input(melody) if not isinstance(melody, Chorale)
              else {"source": None}}
    m = as_model(model)
    sop = given_melody.pitches[:, 0]
    T = len(sop)
    pitches = np.full((T, 4), np.nan, np.float32)
    pitches[:, 0] = sop
    roll = to_roll(pitches)
    outer = np.ones((4, T), bool)
    outer[0] = False                        # the soprano is clamped (a rest stays a rest)
    onsets = np.zeros((T, 4), bool)
    onsets[:, 0] = given_melody.onsets[:, 0]
    frames: list = []
    with _threads():
        roll, conf, steps = gibbs(m.net, roll, outer, cfg, progress,
                                  frames if cfg.animation else None)
    res = _finish(m, roll, ~outer, onsets, conf, steps, cfg, "harmonised melody", frames,
                  started, "harmonize_music", inputs, [])
    res.chorale.pitches[:, 0] = sop         # exactly as given, rests included
    res.chorale.onsets[:, 0] = given_melody.onsets[:, 0]
    res.figures["soprano_preserved"] = bool(np.array_equal(
        np.nan_to_num(res.chorale.pitches[:, 0], nan=-1), np.nan_to_num(sop, nan=-1)))
    return res


def continue_chorale(model=None, start=None, config: Optional[ContinueConfig] = None, *,
                     progress: Progress = silent, **overrides) -> MusicResult:
    """The next `bars` bars after a beginning (MIDI or MusicXML), which stays as given;
    voices missing from the beginning are written too."""
    cfg = make_config(ContinueConfig, config, **overrides)
    started = time.perf_counter()
    if start is None:
        raise ReverieError("give the beginning: a MIDI or MusicXML file of a chorale")
    begin = start if isinstance(start, Chorale) else ch.read_score(start)
    lo, hi = np.nanmin(begin.pitches), np.nanmax(begin.pitches)
    if lo < LOW or hi > HIGH:
        raise ReverieError(f"the beginning has notes outside MIDI {LOW}-{HIGH}, the chorales' "
                           f"range; transpose it into that range")
    inputs = {"model": record_input(model if not isinstance(model, (Coconet, TrainResult))
                                    else None),
              "start": record_input(start) if not isinstance(start, Chorale) else {"source": None}}
    m = as_model(model)
    P0 = len(begin)
    new = cfg.bars * FRAMES_PER_BAR
    pitches = np.vstack([begin.pitches, np.full((new, 4), np.nan, np.float32)])
    roll = to_roll(pitches)
    outer = np.zeros((4, P0 + new), bool)
    outer[:, P0:] = True
    missing = np.isnan(begin.pitches).all(0)       # a voice absent from the start: write it
    outer[missing, :P0] = True
    # only the frames the net can see from the new ones take part (same result, faster)
    keep_from = 0 if missing.any() else max(0, P0 - 2 * m.net.radius)
    onsets = np.vstack([begin.onsets, np.zeros((new, 4), bool)])
    frames: list = []
    with _threads():
        part, conf, steps = gibbs(m.net, roll[:, keep_from:], outer[:, keep_from:], cfg,
                                  progress, frames if cfg.animation else None)
    roll[:, keep_from:] = part
    full_conf = np.ones((4, P0 + new), np.float32)
    full_conf[:, keep_from:] = conf
    res = _finish(m, roll, ~outer, onsets, full_conf, steps, cfg, "continued chorale", frames,
                  started, "continue_music", inputs, [])
    res.chorale.pitches[:P0][:, ~missing] = begin.pitches[:, ~missing]
    res.chorale.onsets[:P0][:, ~missing] = begin.onsets[:, ~missing]
    res.chorale.fermatas[:P0] = begin.fermatas
    res.figures["given_frames"] = P0
    return res
