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

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from reverie.core.config import (Config, ConfigError, device_knob, knob, make_config,
                                 seed_knob)
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, show_preview, silent, wants_preview
from reverie.core.result import Result
from reverie.io.images import save_image
from reverie.nets.classes import class_name, find_class
from reverie.nets.verdicts import verdicts
from reverie.nets.zoo import MODELS, check_tap, load_net
from reverie.optvis import objectives
from reverie.optvis.param import FourierImage, PixelImage
from reverie.optvis.transform import Robustness


@dataclass
class VisualizeConfig(Config):
    model: str = knob("lite0", "the network whose class or unit is visualised", choices=MODELS)
    size: int = knob(224, "side of the square image", min=32, unit="pixels")
    steps: int = knob(256, "Adam steps (lucid's quick renders use 256-512)", min=1)
    lr: float = knob(0.05, "Adam learning rate (lucid: 0.05)", above=0)
    batch: int = knob(1, "images made at once, from different noise (see diversity); saved "
                      "side by side", min=1)
    transforms: int = knob(4, "randomly transformed copies of each image per step", min=1)
    diversity: float = knob(0.0, "weight of lucid's diversity term: pushes the batch's images "
                            "apart (needs batch above 1)", min=0)
    fft: bool = knob(True, "Fourier parameterisation, 1/f scaled (off: plain pixels)")
    decorrelate: bool = knob(True, "optimise in ImageNet's decorrelated colour space")
    jitter: float = knob(12.0, "largest random shift per step", min=0, unit="pixels")
    scale: list[float] = knob([0.9, 1.1], "range of the random scaling per step: low high",
                              above=0, metavar="FACTOR")
    rotate: float = knob(10.0, "largest random rotation per step", min=0, unit="degrees")
    judges: list[str] = knob(["lite1", "lite2"], "held-out networks that judge the result (the "
                             "model itself judges too)", choices=MODELS, flag="judge")
    seed: int = seed_knob()
    device: str = device_knob()

    def check(self) -> None:
        if len(self.scale) != 2 or self.scale[0] > self.scale[1]:
            raise ConfigError("scale", f"give two factors, low then high (e.g. 0.9 1.1), got "
                              f"{' '.join(map(str, self.scale))}")
        if self.diversity and self.batch < 2:
            raise ConfigError("diversity", "pushes a batch's images apart, so it needs batch "
                              "2 or more")


@dataclass
class Target:
    kind: str           # "class" or "channel"
    spec: str           # "4" or "stage5:37"
    label: str          # "hammerhead shark" or "stage5:37"
    index: int | None = None


def parse_target(net, text: str | int) -> Target:
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
class VisualizeResult(Result):
    images: torch.Tensor   # (batch, 3, H, W) in [0, 1]
    target: Target

    suffixes = (".png", ".jpg", ".jpeg", ".webp")

    def write(self, path: Path) -> dict[str, Path]:
        return {"image": save_image(torch.cat(list(self.images), dim=2), path)}  # side by side

    def summary(self) -> str:
        f = self.figures
        line = f"{self.target.label}: objective {f['objective_start']:.3g} -> {f['objective_end']:.3g}"
        for model, rows in f.get("verdicts", {}).items():
            probs = ", ".join(f"{r['target_prob']:.2f}" for r in rows)
            line += f"; {model} p(target) {probs}"
        if "channel_mean" in f:
            line += (f"; channel mean {', '.join(f'{v:.2f}' for v in f['channel_mean'])} vs layer "
                     f"{', '.join(f'{v:.2f}' for v in f['layer_mean'])}")
        return line + f" ({self.timings['visualize']:.1f} s)"


def visualize(target: str | int, config: VisualizeConfig | None = None, *,
              progress: Progress = silent, **overrides) -> VisualizeResult:
    """Optimise images from noise so `target` (class name/index or `layer:channel`) fires."""
    cfg = make_config(VisualizeConfig, config, **overrides)
    inputs = {"target": {"value": target}}  # a class or unit, never a file
    device = resolve_device(cfg.device)
    net = load_net(cfg.model, device)
    tgt = parse_target(net, target)
    objective = (objectives.class_logit(net, tgt.index) if tgt.kind == "class"
                 else objectives.channel_mean(net, tgt.spec))
    generator = torch.Generator().manual_seed(cfg.seed)
    if cfg.fft:
        param = FourierImage(cfg.batch, cfg.size, cfg.size, decorrelate=cfg.decorrelate,
                             generator=generator)
    else:
        init = 0.5 + 0.01 * torch.randn(cfg.batch, 3, cfg.size, cfg.size, generator=generator)
        param = PixelImage(init)
    param = param.to(device)
    robust = Robustness(jitter=cfg.jitter, scale=tuple(cfg.scale), rotate=cfg.rotate)
    optimizer = torch.optim.Adam(param.parameters(), lr=cfg.lr)
    div_layer = objective.taps[0] if objective.taps[0] != "logits" else "stage5"
    use_diversity = cfg.diversity > 0 and cfg.batch > 1
    taps = sorted(set(objective.taps + ([div_layer] if use_diversity else [])))

    start = time.perf_counter()
    history = []
    for i in range(cfg.steps):
        optimizer.zero_grad(set_to_none=True)
        images = param().clamp(0, 1)
        copies = torch.cat([robust(img[None], cfg.transforms, generator) for img in images])
        feats = net.features(copies, taps)
        score = objective(feats)
        loss = -score
        if use_diversity:
            f = feats[div_layer]
            per_image = f.view(cfg.batch, cfg.transforms, *f.shape[1:]).mean(1)
            loss = loss - cfg.diversity * objectives.diversity(per_image)
        loss.backward()
        optimizer.step()
        history.append(score.item())
        progress(i + 1, cfg.steps, f"objective {history[-1]:.3f}")
        if (i + 1) % 16 == 0 and wants_preview(progress):
            with torch.no_grad():
                show_preview(progress, torch.cat(list(param().clamp(0, 1).detach().cpu()), dim=2))
    seconds = time.perf_counter() - start

    with torch.no_grad():
        final = param().clamp(0, 1).detach().cpu()
    figures = {"target": tgt.label, "target_kind": tgt.kind, "objective": objective.description,
               "objective_start": history[0], "objective_end": history[-1],
               "clipped_share": float(((final <= 1 / 255) | (final >= 254 / 255)).float().mean()),
               "spectrum_slope": [power_spectrum_slope(img) for img in final]}
    if tgt.kind == "class":
        judges = [cfg.model] + [j for j in cfg.judges if j != cfg.model]
        figures["verdicts"] = {m: verdicts(final, m, device, target=tgt.index) for m in judges}
    else:
        with torch.no_grad():
            name, channel = check_tap(net, tgt.spec)
            acts = net.features(final.to(device), [name])[name]
            figures["channel_mean"] = [float(a[channel].mean()) for a in acts]
            figures["layer_mean"] = [float(a.mean()) for a in acts]
    return VisualizeResult(final, tgt, mechanism="visualize", config=cfg, inputs=inputs,
                           figures=figures,
                           timings={"visualize": seconds, "per_image": seconds / cfg.batch},
                           resolved={"device": str(device)})


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
