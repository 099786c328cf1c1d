"""Fast style transfer: one forward pass of a trained network (Johnson, Alahi and Fei-Fei
2016), with instance normalisation (Ulyanov, Vedaldi and Lempitsky 2016) made conditional
(Dumoulin, Shlens and Kudlur 2017): one scale and shift per style, so one network holds
several styles and paints any blend of them.

The network is Johnson's transformer: reflection-padded convolutions (9x9, then two
stride-2 3x3 downsamples), five residual blocks, two upsamples by nearest-neighbour resize
and a convolution (Odena et al. 2016: no checkerboards), and a 9x9 convolution back to RGB.
`fast_style_train` trains it through `reverie.train`; this module applies it:

    result = apply_fast_style("starry.pt", "sample:chelsea", mix=["starry=0.7", "scream=0.3"])
    result.save("chelsea.png")

A large photo is painted in overlapping tiles, blended with linear ramps. Instance
normalisation measures each image's own statistics, so the tiles would each be normalised
differently; instead every normalisation's mean and variance are measured once over the
whole photo (shrunk to the tile size when it is larger) and every tile uses those.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import (Config, ConfigError, device_knob, knob, make_config,
                                 seed_knob)
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.core.threads import cpu_threads
from reverie.io.checkpoints import load_checkpoint as _load_file
from reverie.io.images import as_image, save_image

FORMAT, FORMAT_VERSION = "reverie-fast-style", 1
EPS = 1e-5
FIX = "train one with `reverie fast-style train STYLE_IMAGE --out model.pt`"


# -- the network -------------------------------------------------------------------------------

class Norms:
    """What the conditional instance norms of one forward pass do with their statistics:
    measure them from the input (and, with `record`, keep them), or use kept ones."""

    def __init__(self, fixed: list | None = None, record: bool = False):
        self.fixed, self.record, self.kept, self.i = fixed, record, [], 0


class CondInstanceNorm(nn.Module):
    """Instance normalisation with a scale and shift per style; a mix of styles (rows of
    weights) blends the scales and shifts (Dumoulin et al.)."""

    def __init__(self, channels: int, n_styles: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(n_styles, channels))
        self.beta = nn.Parameter(torch.zeros(n_styles, channels))

    def forward(self, x: torch.Tensor, mix: torch.Tensor, norms: Norms | None) -> torch.Tensor:
        gamma, beta = mix @ self.gamma, mix @ self.beta
        if norms is None or (norms.fixed is None and not norms.record):
            # one fused pass (statistics, normalisation, scale and shift), where the
            # textbook's four passes over a 1024-pixel activation cost more than its convolution;
            # instance norm is batch norm over (1, B*C) channels
            b, c, h, w = x.shape
            y = F.batch_norm(x.reshape(1, b * c, h, w), None, None, gamma.reshape(-1),
                             beta.reshape(-1), training=True, eps=EPS)
            return y.reshape(b, c, h, w)
        if norms.fixed is not None:
            mean, var = norms.fixed[norms.i]
            norms.i += 1
        else:
            var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
            norms.kept.append((mean, var))
        scale = gamma[:, :, None, None] * torch.rsqrt(var + EPS)
        return torch.addcmul(beta[:, :, None, None] - mean * scale, x, scale)


class ConvLayer(nn.Module):
    """Reflection padding, then a convolution (Johnson's ConvLayer); `up` resizes first by
    nearest neighbours (his UpsampleConvLayer)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, up: int = 1):
        super().__init__()
        self.up = up
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.up > 1:
            x = F.interpolate(x, scale_factor=self.up, mode="nearest")
        return self.conv(self.pad(x))


class Residual(nn.Module):
    def __init__(self, channels: int, n_styles: int):
        super().__init__()
        self.conv1, self.norm1 = ConvLayer(channels, channels, 3), CondInstanceNorm(channels, n_styles)
        self.conv2, self.norm2 = ConvLayer(channels, channels, 3), CondInstanceNorm(channels, n_styles)

    def forward(self, x, mix, norms):
        y = F.relu(self.norm1(self.conv1(x), mix, norms), inplace=True)
        return x + self.norm2(self.conv2(y), mix, norms)


class TransformerNet(nn.Module):
    """Johnson et al.'s image transformation network with conditional instance norm:
    (B, 3, H, W) in [0, 1] and a (B, n_styles) mix to (B, 3, H, W) in [0, 1]. `width` is
    the first layer's channels (Johnson: 32; the middle has 4x)."""

    def __init__(self, n_styles: int = 1, width: int = 32, blocks: int = 5):
        super().__init__()
        self.n_styles, self.width = n_styles, width
        w = width
        self.down = nn.ModuleList([ConvLayer(3, w, 9), ConvLayer(w, 2 * w, 3, 2),
                                   ConvLayer(2 * w, 4 * w, 3, 2)])
        self.down_norms = nn.ModuleList([CondInstanceNorm(c, n_styles) for c in (w, 2 * w, 4 * w)])
        self.res = nn.ModuleList([Residual(4 * w, n_styles) for _ in range(blocks)])
        self.up = nn.ModuleList([ConvLayer(4 * w, 2 * w, 3, up=2), ConvLayer(2 * w, w, 3, up=2)])
        self.up_norms = nn.ModuleList([CondInstanceNorm(c, n_styles) for c in (2 * w, w)])
        self.out = ConvLayer(w, 3, 9)

    def forward(self, x: torch.Tensor, mix: torch.Tensor | None = None,
                norms: Norms | None = None) -> torch.Tensor:
        if mix is None:
            mix = F.one_hot(torch.zeros(x.shape[0], dtype=torch.long), self.n_styles).float()
        mix = mix.to(x.device, x.dtype)
        if mix.shape[0] != x.shape[0]:
            mix = mix.expand(x.shape[0], -1)
        h, w = x.shape[-2:]
        # sides a multiple of 4, so the two downsamples come back to the same size
        ph, pw = (-h) % 4, (-w) % 4
        y = F.pad(x * 2 - 1, (0, pw, 0, ph), mode="reflect") if ph or pw else x * 2 - 1
        for conv, norm in zip(self.down, self.down_norms):
            y = F.relu(norm(conv(y), mix, norms), inplace=True)
        for block in self.res:
            y = block(y, mix, norms)
        for conv, norm in zip(self.up, self.up_norms):
            y = F.relu(norm(conv(y), mix, norms), inplace=True)
        return torch.sigmoid(self.out(y))[..., :h, :w]


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# -- model files -------------------------------------------------------------------------------

def load_checkpoint(path: str | os.PathLike) -> dict:
    return _load_file(path, FORMAT, FORMAT_VERSION, "a fast style network", FIX)


@dataclass
class FastStyleModel:
    """A trained network and the names of its styles, in order."""
    net: TransformerNet
    styles: list[str]

    def mix(self, spec: list[str] | None) -> torch.Tensor:
        """`["starry=0.7", "scream=0.3"]` (or bare names, weight 1) as a (1, n_styles) row of
        weights summing to 1; None: the first style."""
        weights = torch.zeros(1, len(self.styles))
        if not spec:
            weights[0, 0] = 1.0
            return weights
        for item in spec:
            name, sep, value = str(item).partition("=")
            name = name.strip()
            if name not in self.styles:
                if name.isdigit() and int(name) < len(self.styles):
                    name = self.styles[int(name)]
                else:
                    raise ConfigError("mix", f"no style {name!r} in this model; its styles are "
                                             f"{', '.join(self.styles)}")
            try:
                w = float(value) if sep else 1.0
            except ValueError:
                raise ConfigError("mix", f"{item!r}: the weight after = must be a number, e.g. "
                                         f"{name}=0.7") from None
            if not (w >= 0 and math.isfinite(w)):
                raise ConfigError("mix", f"{item!r}: weights must be 0 or more")
            weights[0, self.styles.index(name)] += w
        total = float(weights.sum())
        if total <= 0:
            raise ConfigError("mix", "the weights must not all be zero, e.g. "
                                     f"{self.styles[0]}=1")
        return weights / total


def load_fast_style(path: str | os.PathLike) -> FastStyleModel:
    ckpt = load_checkpoint(path)
    try:
        styles = list(ckpt["styles"])
        net = TransformerNet(len(styles), int(ckpt["width"]))
        net.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError, TypeError, ValueError):
        raise ReverieError(f"{path} is a damaged fast style network (its weights do not fit "
                           f"its header); {FIX}") from None
    return FastStyleModel(net.eval(), styles)


# -- painting, tiled ---------------------------------------------------------------------------

def _ramp(n: int, overlap: int, first: bool, last: bool) -> torch.Tensor:
    """Blending weights along one side of a tile: rising over the overlap except at the
    photo's own edges."""
    w = torch.ones(n)
    r = min(overlap, n // 2)
    if r > 0:
        ramp = (torch.arange(r, dtype=torch.float32) + 0.5) / r
        if not first:
            w[:r] = ramp
        if not last:
            w[n - r:] = ramp.flip(0)
    return w


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - overlap
    count = math.ceil((size - tile) / step) + 1
    return sorted({min(i * step, size - tile) for i in range(count)})


@torch.no_grad()
def stylize(net: TransformerNet, image: torch.Tensor, mix: torch.Tensor, *, tile: int = 0,
            overlap: int = 64, progress: Progress = silent) -> torch.Tensor:
    """(3, H, W) in [0, 1] to the painted (3, H, W). With `tile` and a photo larger than
    it, in overlapping tiles that share the whole photo's normalisation statistics."""
    dev = next(net.parameters()).device
    x = image[None].to(dev)
    h, w = x.shape[-2:]
    if not tile or max(h, w) <= tile:
        return net(x, mix).clamp(0, 1)[0].cpu()
    # the statistics of every norm over the whole photo, measured on it shrunk to a tile
    s = tile / max(h, w)
    small = F.interpolate(x, size=(max(8, round(h * s)), max(8, round(w * s))), mode="bilinear",
                          antialias=True, align_corners=False)
    norms = Norms(record=True)
    net(small, mix, norms)
    out = torch.zeros(1, 3, h, w)
    weight = torch.zeros(1, 1, h, w)
    ys, xs = _starts(h, tile, overlap), _starts(w, tile, overlap)
    th, tw = min(tile, h), min(tile, w)
    done = 0
    for i, y0 in enumerate(ys):
        for j, x0 in enumerate(xs):
            piece = net(x[..., y0:y0 + th, x0:x0 + tw], mix, Norms(fixed=norms.kept)).cpu()
            wy = _ramp(th, overlap, i == 0, i == len(ys) - 1)
            wx = _ramp(tw, overlap, j == 0, j == len(xs) - 1)
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y0:y0 + th, x0:x0 + tw] += piece * wt
            weight[..., y0:y0 + th, x0:x0 + tw] += wt
            done += 1
            progress(done, len(ys) * len(xs), f"tile {done}/{len(ys) * len(xs)}")
    return (out / weight.clamp_min(1e-8)).clamp(0, 1)[0]


# -- the mechanism -----------------------------------------------------------------------------

@dataclass
class ApplyConfig(Config):
    mix: Optional[list[str]] = knob(None, "blend of the model's styles as NAME=WEIGHT, e.g. "
                                    "starry=0.7 scream=0.3 (weights normalised; none: the "
                                    "first style)", metavar="NAME=WEIGHT")
    size: Optional[int] = knob(None, "the output's long side (none: the photo's own)", min=16,
                               unit="pixels")
    tile: int = knob(1024, "paint photos larger than this in overlapping tiles of this side, "
                     "to bound memory; 0: in one piece", min=0, unit="pixels")
    overlap: int = knob(64, "tiles' overlap, blended linearly", min=0, unit="pixels",
                        advanced=True)
    threads: Optional[int] = knob(None, "torch CPU threads (auto: the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob()  # nothing here is random; kept for the shared shape
    device: str = device_knob()

    def check(self) -> None:
        if self.tile and self.tile < 64:
            raise ConfigError("tile", "tiles of under 64 pixels see too little of the photo; "
                                      "give 0 (no tiles) or 256 or more")
        if self.tile and self.overlap * 2 >= self.tile:
            raise ConfigError("overlap", f"must be under half the tile ({self.tile // 2})")


@dataclass
class FastStyleResult(Result):
    image: torch.Tensor
    suffixes = (".png", ".jpg", ".jpeg", ".webp")

    def write(self, path: Path) -> dict[str, Path]:
        return {"image": save_image(self.image, path)}

    def summary(self) -> str:
        w, h = self.figures["size"]
        return (f"{w}x{h} in {self.timings['paint']:.2f} s ({self.figures['tiles']} tile(s)), "
                f"style {self.figures['mix_text']}")


def resolve_model(model) -> FastStyleModel:
    if isinstance(model, FastStyleModel):
        return model
    if isinstance(model, TransformerNet):
        return FastStyleModel(model, [f"style{i}" for i in range(model.n_styles)])
    return load_fast_style(model)


def apply_fast_style(model, photo, config: ApplyConfig | None = None, *,
                     progress: Progress = silent, **overrides) -> FastStyleResult:
    """Paint `photo` with the network in `model` (a .pt from `train_fast_style`)."""
    cfg = make_config(ApplyConfig, config, **overrides)
    start = time.perf_counter()
    inputs = {"model": record_input(model if not isinstance(model, (FastStyleModel, nn.Module))
                                    else None), "photo": record_input(photo)}
    fs = resolve_model(model)
    mix = fs.mix(cfg.mix)
    image = as_image(photo).clamp(0, 1)
    if cfg.size:
        from reverie.image.style import fit_size
        from reverie.optvis.transform import resize
        image = resize(image[None], fit_size(image.shape[-2:], cfg.size), shrink="bicubic")[0].clamp(0, 1)
    dev = resolve_device(cfg.device)
    net = fs.net.to(dev).eval()
    loaded = time.perf_counter()
    with cpu_threads(cfg.threads) as threads:  # on a busy machine, extra threads only wait
        out = stylize(net, image, mix, tile=cfg.tile, overlap=cfg.overlap, progress=progress)
    paint = time.perf_counter() - loaded
    h, w = image.shape[-2:]
    tiles = len(_starts(h, cfg.tile, cfg.overlap)) * len(_starts(w, cfg.tile, cfg.overlap)) \
        if cfg.tile and max(h, w) > cfg.tile else 1
    weights = {n: round(float(v), 4) for n, v in zip(fs.styles, mix[0]) if v > 0}
    figures = {"size": [int(w), int(h)], "tiles": tiles, "styles": fs.styles, "mix": weights,
               "mix_text": ", ".join(f"{n} {v:g}" for n, v in weights.items()),
               "params": count_params(net)}
    net.cpu()
    return FastStyleResult(out, mechanism="apply_fast_style", config=cfg, inputs=inputs,
                           figures=figures, resolved={"device": str(dev), "threads": threads},
                           timings={"load": round(loaded - start, 3), "paint": round(paint, 3)})
