"""Enhancement: low-level dreaming.

A photo dreamed at a low level "looks sharper than the original" (the post "DeepDream:
today psychedelic images, tomorrow unemployed artists"): a shallow layer of an ImageNet
network has learned what edges and strokes look like, and gradient ascent on it pushes
the photo's edges toward them. This is DeepDream with the tweaks the post asks for, at
one scale (no octaves) and with a leash:

    x0 = the photo (Lanczos-upscaled first when upscale > 1)
    x  = x0, smoothed by the mode's prefilter     # noise and JPEG blocks are not edges
    repeat `steps` times:
        roll x by a small random offset           # jitter: no stride-grid artefacts
        g = d/dx sum |layer(x)|^2 / channels      # DeepDream's L2 objective, a shallow layer
            tile by tile, each tile seen with a halo (tiles agree at their borders)
        g = blur(g, grad_blur)                    # no pixel-level stride checkerboard
        x += step_size * g / mean |g|             # edges pushed toward what the net expects
        x -= fidelity * lowpass(x - x0)           # fidelity: colours and shapes stay put,
                                                  # only detail above the low-pass can move
    out = x0 + strength * (x - x0)                # strength 0 is the photo itself

What it changes is shown, not hidden: `explain()` writes the input and the difference
magnified, and the figures list the channels of the layer that grew most (as a dream's).

Measured against classical restoration in `bench/enhance.py` (defaults tuned on half the
photos, scored on the other half): it beats doing nothing on blur, noise and 2x upscaling
by PSNR, but loses to the classical method made for each degradation (Richardson-Lucy,
unsharp mask, non-local means, TV smoothing, Lanczos alone), and on noise and JPEG its own
prefilter scores higher without the dream. What the dream adds is crispness: edges and
texture the network expects (a no-reference sharpness near the clean photo's, PSNR barely
moved): an artistic "crisp" filter, not a restorer.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from reverie.core.config import Config, device_knob, knob, make_config, seed_knob
from reverie.core.device import resolve_device, resolve_precision
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.image.deepdream import GRAD_NORMS, channel_growth, gradient, laplacian_normalize
from reverie.io.images import MAX_PIXELS, as_image, save_image
from reverie.nets.zoo import MODELS, load_net
from reverie.optvis import objectives

# What each degradation needs: the prefilter (Gaussian sigma, pixels) and how much of the
# dream to keep. Blur (and upscaling) has nothing to remove; noise and JPEG blocking are
# smoothed away first, or the network would sharpen them as if they were detail. Tuned on
# the tuning half of bench/enhance.py (`--tune`).
# After an upscale the Lanczos image is far less soft than a sigma-1.5 blur: "upscaled"
# is the strength then (measured for blur: 0.25-0.5 best, 3 costs 1 dB).
MODES = {"blur": {"prefilter": 0.0, "strength": 3.0, "upscaled": 0.5},
         "noise": {"prefilter": 0.7, "strength": 0.5, "upscaled": 0.5},
         "jpeg": {"prefilter": 0.7, "strength": 0.5, "upscaled": 0.5}}
GRID = 32  # lite0's largest stride: padded sizes, tiles and halos are multiples of it


@dataclass
class EnhanceConfig(Config):
    mode: str = knob("blur", "the degradation to undo: blur (soft focus, upscaled images), "
                     "noise, jpeg (blocking); sets the prefilter and strength",
                     choices=list(MODES))
    upscale: float = knob(1.0, "enlarge by this factor with Lanczos first, then dream the "
                          "detail in (use with mode blur)", min=1, max=8)
    layers: list[str] = knob(["stem"], "shallow layer(s) whose activation is raised: stem "
                             "(measured best), stage1, stage2, stage3; deeper ones grow "
                             "patterns", flag="layer", metavar="NAME[:CHANNEL]")
    model: str = knob("lite0", "the ImageNet network that dreams", choices=MODELS)
    size: Optional[int] = knob(None, "shrink the input so its longer side is at most this "
                               "(none: keep its size)", min=32, unit="pixels")
    steps: int = knob(10, "gradient steps", min=1)
    step_size: float = knob(1.0, "per step (the mean change of a pixel)", above=0,
                            unit="0-255 pixel units")
    strength: Optional[float] = knob(None, "how much of the change to keep: 0 returns the "
                                     "input, above 1 exaggerates (none: the mode's, less "
                                     "after an upscale)", min=0, max=10)
    fidelity: float = knob(1.0, "share of the low-frequency drift pulled back after each "
                           "step (0: a plain one-octave dream)", min=0, max=1)
    fidelity_sigma: float = knob(2.0, "the low-pass that fidelity keeps: detail finer than "
                                 "this Gaussian may change", above=0, unit="pixels",
                                 advanced=True)
    prefilter: Optional[float] = knob(None, "Gaussian smoothing before dreaming (none: the "
                                      "mode's)", min=0, unit="pixels", advanced=True)
    grad_blur: float = knob(0.7, "Gaussian blur of each step's gradient: keeps the stride "
                            "grid's pixel-level checkerboard out (0: none)", min=0,
                            unit="pixels", advanced=True)
    jitter: int = knob(4, "largest random roll per step", min=0, unit="pixels")
    grad_norm: str = knob("mean-abs", "gradient normalisation (as dream's)", choices=GRAD_NORMS,
                          advanced=True)
    tile: int = knob(512, "gradient tile size (rounded down to a multiple of 32; each tile is "
                     "seen with a halo, so tiled and untiled agree)", min=64, unit="pixels",
                     advanced=True)
    precision: str = knob("auto", "gradient precision: auto is bf16 where the CPU or GPU has "
                          "it", choices=["auto", "fp32", "bf16"], resolved=True)
    seed: int = seed_knob()
    device: str = device_knob()

    @property
    def prefilter_sigma(self) -> float:
        return MODES[self.mode]["prefilter"] if self.prefilter is None else self.prefilter

    @property
    def amount(self) -> float:
        """The strength that applies: the knob's, or the mode's."""
        if self.strength is not None:
            return self.strength
        return MODES[self.mode]["upscaled" if self.upscale > 1 else "strength"]


@dataclass
class EnhanceResult(Result):
    image: torch.Tensor                 # (3, H, W) in [0, 1]: the enhanced photo
    input: torch.Tensor                 # (3, H, W): the photo it started from (upscaled)

    suffixes = (".png", ".jpg", ".jpeg", ".webp")

    def write(self, path: Path) -> dict[str, Path]:
        return {"image": save_image(self.image, path)}

    def difference(self) -> torch.Tensor:
        """Output minus input, magnified around mid-grey (the figures give the factor)."""
        gain = self.figures["difference_magnification"]
        return (0.5 + gain * (self.image - self.input)).clamp(0, 1)

    def explain(self, folder: Path) -> dict[str, Path]:
        """The difference magnified (what the dream changed) and the input beside it."""
        folder = Path(folder)
        return {"difference": save_image(self.difference(), folder / "difference.png"),
                "input": save_image(self.input, folder / "input.png")}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['size'][0]}x{f['size'][1]} in {self.timings['enhance']:.1f} s: "
                f"high-frequency energy x{f['high_frequency_gain']:.2f}, low-frequency change "
                f"{f['low_frequency_change']:.2f}/255; most amplified: "
                + ", ".join(c["channel"] for c in f["top_channels"][:5]))


# -- filters ---------------------------------------------------------------------------
def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian of (B, C, H, W), mirrored at the borders."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    mode = "reflect" if min(x.shape[-2:]) > radius else "replicate"
    x = F.pad(x, [radius, radius, radius, radius], mode=mode)
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def high_frequency_energy(image: torch.Tensor, sigma: float = 2.0) -> float:
    """Mean square of what a Gaussian low-pass removes (0-255 units squared)."""
    x = image.unsqueeze(0) if image.dim() == 3 else image
    return float((255 * (x - gaussian_blur(x, sigma))).pow(2).mean())


def low_frequency_change(before: torch.Tensor, after: torch.Tensor, sigma: float = 2.0) -> float:
    """RMS difference of the two low-passed images (0-255 units)."""
    b = before.unsqueeze(0) if before.dim() == 3 else before
    a = after.unsqueeze(0) if after.dim() == 3 else after
    return float((255 * (gaussian_blur(a, sigma) - gaussian_blur(b, sigma))).pow(2).mean().sqrt())


def lanczos_upscale(image: torch.Tensor, factor: float) -> torch.Tensor:
    """(3, H, W) enlarged by `factor` with Pillow's Lanczos, channel by channel in float."""
    from PIL import Image
    h, w = image.shape[-2:]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    if size[0] * size[1] > MAX_PIXELS:
        raise ReverieError(f"upscaling {w}x{h} by {factor} gives {size[0]}x{size[1]}, over the "
                           f"{MAX_PIXELS // 1_000_000} MP limit; lower upscale or size")
    planes = [np.asarray(Image.fromarray(c.cpu().numpy(), "F").resize(size, Image.LANCZOS))
              for c in image.float()]
    return torch.from_numpy(np.stack(planes)).clamp(0, 1).to(image.device)


# -- the gradient, tile by tile with a halo ---------------------------------------------
def halo_for(net, objective) -> int:
    """Pixels of context each tile needs so its gradient matches the untiled one: twelve
    strides of the deepest tapped layer, rounded up to the grid (measured on lite0: the
    tiled gradient of stage3 matches to 1e-6 with 96, is off by 2x the mean with 32)."""
    stride = max(net.layers[t].stride or GRID for t in objective.taps)
    return GRID * max(1, math.ceil(12 * stride / GRID))


def tiled_gradient(net, objective, x: torch.Tensor, tile: int, halo: int,
                   precision: str) -> torch.Tensor:
    """DeepDream's gradient (one pass per piece), on tiles seen with `halo` pixels around
    them. `x`'s sides, `tile` and `halo` are multiples of GRID, so every piece keeps the
    network's stride grid where the whole image has it."""
    _, _, h, w = x.shape
    if h <= tile and w <= tile:
        return gradient(net, objective, x, max(h, w), precision)
    grad = torch.zeros_like(x)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            a0, b0 = max(0, y0 - halo), max(0, x0 - halo)
            a1, b1 = min(h, y1 + halo), min(w, x1 + halo)
            g = gradient(net, objective, x[:, :, a0:a1, b0:b1], max(a1 - a0, b1 - b0), precision)
            grad[:, :, y0:y1, x0:x1] = g[:, :, y0 - a0:y1 - a0, x0 - b0:x1 - b0]
    return grad


def pad_to_grid(x: torch.Tensor, margin: int = 16) -> tuple[torch.Tensor, tuple[int, int]]:
    """Mirror at least `margin` pixels around (B, 3, H, W), more to reach a multiple of
    GRID; returns the padded image and where the photo starts in it."""
    h, w = x.shape[-2:]
    ph, pw = (-(h + 2 * margin)) % GRID + 2 * margin, (-(w + 2 * margin)) % GRID + 2 * margin
    top, left = ph // 2, pw // 2
    pads = [left, pw - left, top, ph - top]
    mode = "reflect" if max(pads) < min(h, w) else "replicate"
    return F.pad(x, pads, mode=mode), (top, left)


# -- the loop --------------------------------------------------------------------------
def enhance_loop(net, objective, x0: torch.Tensor, cfg: EnhanceConfig, generator,
                 progress: Progress) -> torch.Tensor:
    """(1, 3, H, W) -> the dreamed image before the strength blend."""
    h, w = x0.shape[-2:]
    ref, (top, left) = pad_to_grid(x0)
    x = gaussian_blur(ref, cfg.prefilter_sigma)
    ref_low = gaussian_blur(ref, cfg.fidelity_sigma)
    tile = max(GRID, cfg.tile // GRID * GRID)
    halo = halo_for(net, objective)
    for i in range(cfg.steps):
        oy, ox = (torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=generator).tolist()
                  if cfg.jitter else (0, 0))
        g = tiled_gradient(net, objective, torch.roll(x, (oy, ox), (2, 3)), tile, halo,
                           cfg.precision)
        g = gaussian_blur(g, cfg.grad_blur)
        if cfg.grad_norm == "laplacian":
            g = laplacian_normalize(g)
        g = torch.roll(g, (-oy, -ox), (2, 3))
        x = x + (cfg.step_size / 255.0) * g / (g.abs().mean() + 1e-8)
        if cfg.fidelity > 0:
            x = x - cfg.fidelity * (gaussian_blur(x, cfg.fidelity_sigma) - ref_low)
        x = x.clamp(0, 1)
        progress(i + 1, cfg.steps, f"step {i + 1}")
        if (i + 1) % 5 == 0 or i + 1 == cfg.steps:
            show_preview(progress, x[0, :, top:top + h, left:left + w])
    return x[:, :, top:top + h, left:left + w]


def magnification(before: torch.Tensor, after: torch.Tensor) -> float:
    """The factor that spreads the difference over mid-grey +- 0.5 (its 99th percentile
    of |difference| to the edge), at most 32."""
    d = (after - before).abs().flatten()
    q = float(d.kthvalue(max(1, int(0.99 * d.numel()))).values) if d.numel() else 0.0
    return float(min(32.0, 0.5 / max(q, 1 / 255)))


def enhance(image: torch.Tensor | str, config: EnhanceConfig | None = None, *,
            progress: Progress = silent, **overrides) -> EnhanceResult:
    """Sharpen a photo by low-level dreaming: a path, `sample:NAME`, or a (3, H, W) tensor
    in [0, 1]. `config` fields can also be keywords: `enhance(img, mode="noise")`."""
    cfg = make_config(EnhanceConfig, config, **overrides)
    inputs = {"image": record_input(image)}
    photo = as_image(image, cfg.size)
    if cfg.upscale > 1:
        photo = lanczos_upscale(photo, cfg.upscale)
    device = resolve_device(cfg.device)
    net = load_net(cfg.model, device)
    objective = objectives.layers_and_channels(net, cfg.layers)
    generator = torch.Generator().manual_seed(cfg.seed)
    photo = photo.to(device)

    start = time.perf_counter()
    notes = []
    if cfg.amount == 0:
        out = photo.clone()
        notes.append("strength 0: the input unchanged (nothing dreamed)")
    else:
        x = enhance_loop(net, objective, photo[None], cfg, generator, progress)[0]
        out = (photo + cfg.amount * (x - photo)).clamp(0, 1)
    seconds = time.perf_counter() - start

    hf_before, hf_after = high_frequency_energy(photo), high_frequency_energy(out)
    figures = {
        "objective": objective.description,
        "size": [int(out.shape[-1]), int(out.shape[-2])],
        "prefilter_sigma": cfg.prefilter_sigma,
        "strength": cfg.amount,
        "steps_total": cfg.steps if cfg.amount else 0,
        "high_frequency_energy_before": hf_before,
        "high_frequency_energy_after": hf_after,
        "high_frequency_gain": hf_after / hf_before if hf_before > 0 else 1.0,
        "low_frequency_change": low_frequency_change(photo, out, cfg.fidelity_sigma),
        "mean_abs_change": float((out - photo).abs().mean() * 255),
        "difference_magnification": magnification(photo, out),
        "top_channels": channel_growth(net, objective.taps[0], photo, out),
    }
    return EnhanceResult(out.detach().cpu(), photo.detach().cpu(), mechanism="enhance",
                         config=cfg, inputs=inputs, figures=figures, notes=notes,
                         timings={"enhance": seconds,
                                  "per_step": seconds / cfg.steps if cfg.amount else 0.0},
                         resolved={"device": str(device),
                                   "precision": resolve_precision(device, cfg.precision)})
