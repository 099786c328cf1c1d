"""Activation maximisation: what a class or a unit "looks for" (Olah, Mordvintsev and
Schubert 2017, "Feature Visualization"; the lucid recipe).

Start from noise and optimise the image so the target fires, with the three priors that
make the result look like a picture instead of adversarial noise:

    image = sigmoid(decorrelate_colour(inverse_fft(spectrum / frequency)))   # param.py
    each step: a batch of randomly padded, jittered, scaled, rotated copies  # transform.py
               loss = -objective(copies) [- diversity across the batch]      # objectives.py
               Adam step on the spectrum

The result is then shown to the held-out networks: does it mean the same to a network
that did not make it?
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import torch

from reverie.optvis import objectives
from reverie.nets.classes import class_name, find_class
from reverie.core.errors import ReverieError
from reverie.nets.zoo import check_tap, load_net, preprocess
from reverie.optvis.param import FourierImage, PixelImage
from reverie.core.progress import Progress, silent
from reverie.optvis.transform import Robustness


@dataclass
class VisualizeConfig:
    model: str = "lite0"
    size: int = 224              # output side in pixels
    steps: int = 256             # Adam steps (lucid's quick renders use 256-512)
    lr: float = 0.05             # Adam learning rate (lucid: 0.05)
    batch: int = 1               # images made at once (different seeds; see diversity)
    transforms: int = 4          # random transforms of each image per step
    diversity: float = 0.0       # weight of lucid's diversity term (needs batch > 1)
    fft: bool = True             # Fourier parameterisation (False: plain pixels)
    decorrelate: bool = True     # decorrelated colour space
    jitter: float = 12.0         # robustness, in pixels
    scale: tuple[float, float] = (0.9, 1.1)
    rotate: float = 10.0         # degrees
    judges: list[str] = field(default_factory=lambda: ["lite1", "lite2"])  # held-out nets
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        for key in ("size", "steps", "batch", "transforms"):
            if getattr(self, key) < 1:
                raise ReverieError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.size < 32:
            raise ReverieError(f"size {self.size} is too small for the network; use 64 or more")
        if self.model in self.judges:
            self.judges = [j for j in self.judges if j != self.model]


@dataclass
class Target:
    kind: str           # "class" or "channel"
    spec: str           # "4" or "stage5:37"
    label: str          # "hammerhead shark" or "stage5:37"
    index: int | None = None


def parse_target(net, text: str) -> Target:
    """A class (index or name) or a `layer:channel`."""
    text = str(text).strip()
    if ":" in text:
        name, channel = check_tap(net, text)
        if channel is None:
            raise ReverieError(f"give a channel with the layer, e.g. {name}:0")
        return Target("channel", text, text)
    index = find_class(text)
    return Target("class", str(index), class_name(index), index)


@dataclass
class VisualizeResult:
    images: torch.Tensor   # (batch, 3, H, W) in [0, 1]
    figures: dict
    config: VisualizeConfig
    target: Target


@torch.no_grad()
def judge(images: torch.Tensor, target: Target, models: list[str], device) -> dict:
    """Each network's verdict on each image: target probability, rank and top-5."""
    from reverie.nets.classes import class_name as name_of
    verdicts = {}
    for m in models:
        net = load_net(m, device)
        x = torch.cat([preprocess(img, net.input_size) for img in images]).to(next(net.parameters()).device)
        probs = net(x).softmax(-1).cpu()
        rows = []
        for p in probs:
            top = p.topk(5)
            row = {"top5": [{"index": int(i), "name": name_of(int(i)), "prob": float(q)}
                            for q, i in zip(top.values, top.indices)]}
            if target.index is not None:
                row["target_prob"] = float(p[target.index])
                row["target_rank"] = int((p > p[target.index]).sum()) + 1
            rows.append(row)
        verdicts[m] = rows
    return verdicts


def visualize(target: str | int, config: VisualizeConfig | None = None, *,
              progress: Progress = silent, **overrides) -> VisualizeResult:
    """Optimise images from noise so `target` (class name/index or `layer:channel`) fires."""
    cfg = dataclasses.replace(config or VisualizeConfig(), **overrides)
    net = load_net(cfg.model, cfg.device)
    device = next(net.parameters()).device
    tgt = parse_target(net, target)
    objective = (objectives.class_logit(net, tgt.index) if tgt.kind == "class"
                 else objectives.channel_mean(net, tgt.spec))
    generator = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    if cfg.fft:
        param = FourierImage(cfg.batch, cfg.size, cfg.size, decorrelate=cfg.decorrelate,
                             generator=generator)
    else:
        init = 0.5 + 0.01 * torch.randn(cfg.batch, 3, cfg.size, cfg.size, generator=generator)
        param = PixelImage(init)
    param = param.to(device)
    robust = Robustness(jitter=cfg.jitter, scale=cfg.scale, rotate=cfg.rotate)
    optimizer = torch.optim.Adam(param.parameters(), lr=cfg.lr)
    div_layer = objective.taps[0] if objective.taps[0] != "logits" else "stage5"

    start = time.perf_counter()
    history = []
    for i in range(cfg.steps):
        optimizer.zero_grad(set_to_none=True)
        images = param().clamp(0, 1)
        copies = torch.cat([robust(img[None], cfg.transforms, generator) for img in images])
        taps = objective.taps + ([div_layer] if cfg.diversity and cfg.batch > 1 else [])
        feats = net.features(copies, sorted(set(taps)))
        score = objective(feats)
        loss = -score
        if cfg.diversity and cfg.batch > 1:
            per_image = feats[div_layer].view(cfg.batch, cfg.transforms, *feats[div_layer].shape[1:]).mean(1)
            loss = loss - cfg.diversity * objectives.diversity(per_image)
        loss.backward()
        optimizer.step()
        history.append(score.item())
        progress(i + 1, cfg.steps, f"objective {history[-1]:.3f}")
    seconds = time.perf_counter() - start

    with torch.no_grad():
        final = param().clamp(0, 1).detach().cpu()
    figures = {"target": tgt.label, "target_kind": tgt.kind, "objective": objective.description,
               "seconds": round(seconds, 2), "seconds_per_image": round(seconds / cfg.batch, 2),
               "objective_start": history[0], "objective_end": history[-1],
               "clipped_share": float(((final <= 1 / 255) | (final >= 254 / 255)).float().mean()),
               "spectrum_slope": [power_spectrum_slope(img) for img in final]}
    if tgt.kind == "class":
        figures["verdicts"] = judge(final, tgt, [cfg.model, *cfg.judges], device)
    else:
        with torch.no_grad():
            name = tgt.spec.split(":")[0]
            channel = int(tgt.spec.split(":")[1])
            acts = net.features(final.to(device), [name])[name]
            figures["channel_mean"] = [float(a[channel].mean()) for a in acts]
            figures["layer_mean"] = [float(a.mean()) for a in acts]
    return VisualizeResult(final, figures, cfg, tgt)


def power_spectrum_slope(image: torch.Tensor) -> float:
    """Slope of the radially averaged power spectrum on log-log axes. Photos measure
    about -2 (1/f^2 power); high-frequency adversarial noise is near 0."""
    import numpy as np

    gray = image.mean(0).numpy().astype(np.float64)
    gray = gray - gray.mean()
    h, w = gray.shape
    window = np.outer(np.hanning(h), np.hanning(w))  # no edge leakage
    power = np.abs(np.fft.fftshift(np.fft.fft2(gray * window))) ** 2
    yy, xx = np.indices(power.shape)
    r = np.hypot(yy - h // 2, xx - w // 2).astype(int)
    radial = np.bincount(r.ravel(), power.ravel()) / np.maximum(np.bincount(r.ravel()), 1)
    freqs = np.arange(len(radial))
    keep = (freqs >= 2) & (freqs <= min(h, w) // 2 - 1) & (radial > 0)
    slope, _ = np.polyfit(np.log(freqs[keep]), np.log(radial[keep]), 1)
    return float(slope)
