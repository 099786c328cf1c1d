"""Coconet: a convolutional orderless model of four voices.

Huang, Cooijmans, Roberts, Courville & Eck (2017), "Counterpoint by Convolution" (ISMIR),
as Magenta implements it (magenta/models/coconet: lib_graph.py, lib_hparams.py,
lib_pianoroll.py). Coconet is four modules, as magenta splits it: this one, the model;
`coconet_train` (lib_mask and coconet_train: training); `evaluation` (lib_evaluation);
`gibbs` (lib_sampling); `harmonize` (coconet_sample: compose, harmonize, continue).
Read top to bottom:

1. `CoconetConfig`: Coconet's hparams by their names (num_layers, num_filters,
   architecture, num_dilation_blocks, dilate_time_only, batch_size, crop_piece_len,
   learning_rate, maskout_method, corrupt_ratio), sized for a CPU, and the training knobs
   every trainer shares (`reverie.train.TrainConfig`).
2. The piano roll: (4 voices, T sixteenths, 46 pitches 36..81) one-hot; a rest is an
   all-zero column (lib_pianoroll). The net's input is the roll with the erased cells
   zeroed, concatenated with the mask (lib_graph.get_convnet_input).
3. `CoconetNet`: lib_graph's "straight" (or "dilated") stack of 3x3 convolutions, batch
   norm on every layer (gamma initialised to 0.1), ReLU, a residual connection every two
   layers, two 2x2 convolutions at the end, and a softmax over pitch for each voice at
   each time.
4. Model files: `load_coconet` reads what `coconet_train.train_coconet` writes (with
   torch.load(weights_only=True)); `as_model` takes a path, a loaded model or a training
   result.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import knob
from reverie.core.errors import ReverieError
from reverie.io import checkpoints
from reverie.music import chorales as ch
from reverie.train import TrainConfig, checkpoint_every_knob, max_steps_knob

FORMAT = "reverie-coconet"
FORMAT_VERSION = 1
LOW, HIGH = ch.PITCH_LOW, ch.PITCH_HIGH
NUM_PITCHES = HIGH - LOW + 1
FRAMES_PER_BAR = 4 * ch.FRAMES_PER_QUARTER        # 4/4
FIX = "train one with `reverie music train builtin:chorales --out bach.pt`"


# ---------------------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------------------

@dataclass
class CoconetConfig(TrainConfig):
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
    max_steps: int = max_steps_knob(3000)
    checkpoint_every: int = checkpoint_every_knob(250)

    # what gives the net its shape (the dilated stack's depth follows crop_piece_len)
    MODEL_FIELDS = ("architecture", "num_layers", "num_filters", "num_dilation_blocks",
                    "dilate_time_only", "use_residual", "crop_piece_len")


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
# 4. Model files
# ---------------------------------------------------------------------------------------

def load_checkpoint(path: str | os.PathLike) -> dict:
    return checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a Coconet music model", FIX)


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
    run = ckpt.get("run", {})
    # the held-out loss: among the run's figures (older files: in the run record itself)
    val = run.get("figures", {}).get("val_loss", run.get("val_loss"))
    return Coconet(net, cfg, dict(run, val_loss=val, data=ckpt.get("data", {})))


def as_model(model) -> Coconet:
    """A path, a loaded model, or a training run's result (coconet_train.TrainResult)."""
    if isinstance(model, Coconet):
        return model
    if isinstance(getattr(model, "model", None), CoconetNet):
        return Coconet(model.model, model.config)
    if model is None:
        raise ReverieError(f"a Coconet model is needed; {FIX}")
    return load_coconet(model)
