"""DeepDream (Mordvintsev, Olah and Tyka 2015, "Inceptionism").

Gradient ascent on the photo itself to amplify whatever a layer of an ImageNet
classifier already sees in it, as in the original Caffe notebook:

    for each octave, smallest first:            # details at every scale
        image = octave base + detail carried up from the smaller octave
        repeat `steps` times:
            roll the image by a random offset   # jitter: no fixed grid artefacts
            gradient of the objective, tile by tile (bounded memory, no seams)
            normalise the gradient (mean |g|, or per Laplacian-pyramid band)
            image += step_size * normalised gradient; clip to valid pixels

Shallow layers enhance edges and strokes; deep layers grow eyes, fur and animals.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.device import autocast, resolve_device, resolve_precision
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.io.animation import save_animation
from reverie.io.images import as_image, save_image
from reverie.nets.zoo import MODELS, EfficientNetLite, load_net, parse_tap
from reverie.optvis import objectives
from reverie.optvis.colour import keep_colors
from reverie.optvis.transform import resize

# The paper's point about depth: what each preset sets (layers, and enough steps for
# deep layers to grow whole things).
PRESETS = {
    "edges": {"layers": ["stage2"]},
    "textures": {"layers": ["stage3"]},
    "patterns": {"layers": ["stage4"]},
    "objects": {"layers": ["stage5"], "steps": 20, "step_size": 2.0},
}
GRAD_NORMS = ("mean-abs", "laplacian")


@dataclass
class DreamConfig(Config):
    layers: list[str] = knob(["stage5"], "layer to amplify, `name` or `name:channel`; see "
                             "`reverie layers`", flag="layer", metavar="NAME[:CHANNEL]")
    model: str = knob("lite0", "the ImageNet network that dreams", choices=MODELS)
    size: Optional[int] = knob(None, "shrink the input so its longer side is at most this "
                               "(none: keep its size)", min=32, unit="pixels")
    octaves: int = knob(4, "scales, smallest first (original notebook: octave_n=4)", min=1)
    octave_scale: float = knob(1.4, "size ratio between octaves (octave_scale=1.4)", above=1)
    steps: int = knob(10, "gradient steps per octave (iter_n=10)", min=1)
    step_size: float = knob(1.5, "per step (step_size=1.5)", above=0, unit="0-255 pixel units")
    jitter: int = knob(32, "largest random roll per step (jitter=32)", min=0, unit="pixels")
    grad_norm: str = knob("mean-abs", "gradient normalisation: mean |g| (the notebook) or per "
                          "Laplacian band (the TensorFlow tutorial's lap_normalize)",
                          choices=GRAD_NORMS)
    laplacian_levels: int = knob(4, "bands for grad_norm laplacian (scale_n=4)", min=1,
                                 advanced=True)
    tile: int = knob(512, "gradient tile size: bounds memory on large images", min=32,
                     unit="pixels", advanced=True)
    original_colors: bool = knob(False, "keep the photo's colours, take the dream's luminance")
    frames: int = knob(1, "more than 1: a zoom animation, each frame dreamed from the last "
                       "(write a .gif or .mp4)", min=1)
    zoom: float = knob(1.05, "zoom per frame", above=0)
    rotate: float = knob(0.0, "turn per frame", unit="degrees")
    fps: float = knob(12.0, "animation frame rate", above=0, unit="frames per second")
    precision: str = knob("auto", "gradient precision: auto is bf16 where the CPU or GPU has "
                          "it (~1.5x faster)", choices=["auto", "fp32", "bf16"], resolved=True)
    seed: int = seed_knob()
    device: str = device_knob()


@dataclass
class DreamResult(Result):
    image: torch.Tensor                 # (3, H, W) in [0, 1]; the last frame of an animation
    frames: list[torch.Tensor]          # every frame (one for a still)

    suffixes = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4")

    def write(self, path: Path) -> dict[str, Path]:
        if path.suffix.lower() in (".gif", ".mp4"):
            return {"animation": save_animation(self.frames, path, fps=self.config.fps)}
        if len(self.frames) > 1:
            raise ReverieError(f"{len(self.frames)} frames need an animation; save as "
                               f"{path.with_suffix('.gif')} or .mp4")
        return {"image": save_image(self.image, path)}

    def summary(self) -> str:
        f = self.figures
        gain = f"x{f['objective_gain']:.2f}" if f["objective_gain"] is not None else "from <= 0"
        return (f"{f['objective']}: mean activation {f['objective_activation_before']:.3g} -> "
                f"{f['objective_activation_after']:.3g} ({gain}) in "
                f"{self.timings['dream']:.1f} s; most amplified: "
                + ", ".join(c["channel"] for c in f["top_channels"][:5]))


def preset(name: str) -> DreamConfig:
    """The DreamConfig a preset names (its fields over the defaults)."""
    if name not in PRESETS:
        raise ReverieError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return DreamConfig(**PRESETS[name])


def check_out(config: DreamConfig, path: Path) -> None:
    """Frames need an animation file: refuse a still's path before dreaming."""
    if config.frames > 1 and Path(path).suffix.lower() not in (".gif", ".mp4"):
        raise ConfigError("frames", f"{config.frames} frames need an animation output; write "
                          f"{Path(path).with_suffix('.gif')} or .mp4")


# -- gradient normalisation ------------------------------------------------------------
def _blur_down(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=x.device)
    k = (k[:, None] * k[None, :]) / 256.0
    k = k.expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, [2, 2, 2, 2], mode="replicate"), k, stride=2, groups=x.shape[1])


def laplacian_normalize(g: torch.Tensor, levels: int = 4) -> torch.Tensor:
    """The TensorFlow DeepDream tutorial's lap_normalize: split the gradient into
    Laplacian bands and give each unit standard deviation, so low frequencies move too."""
    bands, low = [], g
    for _ in range(levels - 1):
        if min(low.shape[-2:]) < 4:
            break
        smaller = _blur_down(low)
        up = F.interpolate(smaller, size=low.shape[-2:], mode="bilinear", align_corners=False)
        bands.append(low - up)
        low = smaller
    bands.append(low)
    out = bands[-1] / (bands[-1].pow(2).mean().sqrt() + 1e-8)
    for band in reversed(bands[:-1]):
        out = F.interpolate(out, size=band.shape[-2:], mode="bilinear", align_corners=False)
        out = out + band / (band.pow(2).mean().sqrt() + 1e-8)
    return out


# -- one step --------------------------------------------------------------------------
def _tile_edges(size: int, tile: int) -> list[int]:
    n = max(1, math.ceil(size / tile))
    return [round(i * size / n) for i in range(n + 1)]


def gradient(net: EfficientNetLite, objective: objectives.Objective, x: torch.Tensor,
             tile: int, precision: str = "fp32") -> torch.Tensor:
    """d objective / d x, computed tile by tile (objectives sum over positions)."""
    _, _, h, w = x.shape
    ys, xs = _tile_edges(h, tile), _tile_edges(w, tile)
    def tile_grad(part):
        part = part.detach().requires_grad_(True)
        with autocast(part.device, precision):
            score = objective({k: v.float() for k, v in net.features(part, objective.taps).items()})
        return torch.autograd.grad(score, part)[0]

    if len(ys) == 2 and len(xs) == 2:
        return tile_grad(x)
    grad = torch.zeros_like(x)
    for y0, y1 in zip(ys, ys[1:]):
        for x0, x1 in zip(xs, xs[1:]):
            grad[:, :, y0:y1, x0:x1] = tile_grad(x[:, :, y0:y1, x0:x1])
    return grad


def step(net, objective, x, cfg: DreamConfig, generator: torch.Generator) -> torch.Tensor:
    oy, ox = (torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=generator).tolist()
              if cfg.jitter else (0, 0))
    if max(x.shape[-2:]) > cfg.tile:  # tiles start at a random place each step: no seams
        oy += int(torch.randint(0, cfg.tile, (1,), generator=generator))
        ox += int(torch.randint(0, cfg.tile, (1,), generator=generator))
    rolled = torch.roll(x, (oy, ox), (2, 3))
    g = gradient(net, objective, rolled, cfg.tile, cfg.precision)
    if cfg.grad_norm == "laplacian":
        g = laplacian_normalize(g, cfg.laplacian_levels)
    g = torch.roll(g, (-oy, -ox), (2, 3))
    g = g / (g.abs().mean() + 1e-8)
    return (x + (cfg.step_size / 255.0) * g).clamp(0, 1)


# -- octaves ---------------------------------------------------------------------------
def octave_sizes(h: int, w: int, cfg: DreamConfig, min_side: int) -> list[tuple[int, int]]:
    """Smallest first; octaves that would shrink below `min_side` are dropped (a guard)."""
    sizes = []
    for i in range(cfg.octaves):
        f = cfg.octave_scale ** i
        size = (round(h / f), round(w / f))
        if i > 0 and min(size) < min_side:
            break
        sizes.append(size)
    return sizes[::-1]


def min_side(net: EfficientNetLite, objective: objectives.Objective) -> int:
    """The smallest octave that still gives the deepest tapped layer a few positions."""
    strides = [net.layers[t].stride or 32 for t in objective.taps]  # logits: after stride 32
    return max(32, 4 * max(strides))


def dream_frame(net, objective, image: torch.Tensor, cfg: DreamConfig, generator,
                progress: Progress, done: int, total: int) -> tuple[torch.Tensor, int]:
    base = image.unsqueeze(0)
    sizes = octave_sizes(*base.shape[-2:], cfg, min_side(net, objective))
    detail = torch.zeros_like(resize(base, sizes[0]))
    x = None
    for size in sizes:
        octave_base = resize(base, size)
        detail = resize(detail, size)
        x = (octave_base + detail).clamp(0, 1)
        for _ in range(cfg.steps):
            x = step(net, objective, x, cfg, generator)
            done += 1
            progress(done, total, f"octave {size[1]}x{size[0]}")
        show_preview(progress, x[0])  # the dream so far, once an octave
        detail = x - octave_base
    return x[0], done


def zoom_rotate(image: torch.Tensor, zoom: float, degrees: float) -> torch.Tensor:
    """Zoom into the centre (and turn) by one frame's amount, keeping the size."""
    a = math.radians(degrees)
    theta = torch.tensor([[math.cos(a) / zoom, -math.sin(a) / zoom, 0.0],
                          [math.sin(a) / zoom, math.cos(a) / zoom, 0.0]], device=image.device)
    grid = F.affine_grid(theta[None], [1, *image.shape], align_corners=False)
    return F.grid_sample(image[None], grid, mode="bicubic", padding_mode="reflection",
                         align_corners=False)[0].clamp(0, 1)


def _measurable(image: torch.Tensor, max_side: int = 768) -> torch.Tensor:
    """(1, 3, h, w), shrunk so measuring a huge dream stays cheap."""
    img = image.unsqueeze(0)
    scale = max_side / max(img.shape[-2:])
    if scale < 1:
        img = resize(img, (round(img.shape[-2] * scale), round(img.shape[-1] * scale)))
    return img


@torch.no_grad()
def channel_growth(net, layer: str, before: torch.Tensor, after: torch.Tensor,
                   top: int = 10) -> list[dict]:
    """The channels of `layer` whose mean activation grew most: what the dream amplified."""
    def means(img):
        a = net.features(_measurable(img), [layer])[layer][0]
        return a.mean((1, 2)) if a.dim() == 3 else a

    b, a = means(before), means(after)
    order = (a - b).argsort(descending=True)[:top]
    return [{"channel": f"{layer}:{int(c)}", "before": float(b[c]), "after": float(a[c]),
             "growth": float(a[c] - b[c])} for c in order]


@torch.no_grad()
def layer_energy(net, specs: list[str], image: torch.Tensor) -> float:
    """The objective's activations, averaged: mean square of a layer, mean of a channel
    (the figure a dream should raise)."""
    img = _measurable(image)
    total = 0.0
    for spec in specs:
        name, channel = parse_tap(spec)
        a = net.features(img, [name])[name]
        total += float(a[:, channel].mean() if channel is not None else a.pow(2).mean())
    return total


def dream(image: torch.Tensor | str, config: DreamConfig | None = None, *,
          guide: torch.Tensor | str | None = None, progress: Progress = silent,
          **overrides) -> DreamResult:
    """Dream on an image: a path, `sample:NAME`, or a (3, H, W) tensor in [0, 1].

    `config` fields can also be given as keywords: `dream(img, layers=["stage3"], steps=5)`.
    `guide` (an image) switches the objective to matching the guide's features.
    """
    cfg = make_config(DreamConfig, config, **overrides)
    inputs = {"image": record_input(image), "guide": record_input(guide)}
    image = as_image(image, cfg.size)
    device = resolve_device(cfg.device)
    net = load_net(cfg.model, device)
    image = image.to(device)
    if guide is not None:
        if len(cfg.layers) != 1:
            raise ConfigError("layers", "a guided dream uses one layer; give exactly one")
        objective = objectives.guide(net, cfg.layers[0], as_image(guide, 512).to(device).unsqueeze(0))
    else:
        objective = objectives.layers_and_channels(net, cfg.layers)
    generator = torch.Generator().manual_seed(cfg.seed)
    sizes = octave_sizes(*image.shape[-2:], cfg, min_side(net, objective))
    per_frame = len(sizes) * cfg.steps
    total = per_frame * cfg.frames

    start = time.perf_counter()
    frames, done, x = [], 0, image
    for i in range(cfg.frames):
        if i > 0:
            x = zoom_rotate(frames[-1], cfg.zoom, cfg.rotate)
        source = x
        x, done = dream_frame(net, objective, x, cfg, generator, progress, done, total)
        if cfg.original_colors:
            x = keep_colors(source, x)
        frames.append(x.detach())
    seconds = time.perf_counter() - start

    layer = objective.taps[0]
    before = layer_energy(net, cfg.layers, image)
    after = layer_energy(net, cfg.layers, frames[0])
    figures = {
        "objective": objective.description,
        "input_size": [int(image.shape[-1]), int(image.shape[-2])],
        "octave_sizes": [[w, h] for h, w in sizes],
        "steps_total": total,
        "objective_activation_before": before,
        "objective_activation_after": after,
        "objective_gain": after / before if before > 0 else None,
        "top_channels": channel_growth(net, layer, image, frames[0]),
    }
    return DreamResult(frames[-1].cpu(), [f.cpu() for f in frames], mechanism="dream",
                       config=cfg, inputs=inputs, figures=figures,
                       timings={"dream": seconds, "per_step": seconds / total},
                       resolved={"device": str(device),
                                 "precision": resolve_precision(device, cfg.precision)})
