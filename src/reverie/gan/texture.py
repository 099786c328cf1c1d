"""Spatial GAN: a texture from one picture, painted at any size, morphing across its field.

Jetchev, Bergmann & Vollgraf 2016, "Texture Synthesis with Spatial Generative Adversarial
Networks" (code: zalandoresearch/spatial_gan, and its successor psgan). The latent is not a
vector but a field: an (nz, h, w) grid of independent normal noise. The generator is fully
convolutional (transposed convolutions with 5x5 kernels and stride 2, BatchNorm and ReLU,
tanh out, as sgan.py's), so each noise vector paints one patch of the output and neighbours
blend; the discriminator is fully convolutional too and judges every patch of a random
crop of the training picture, its logits averaged. Trained on crops of one image (or a few),
the generator then paints any size: a larger field is a larger texture, with no seams.

A morph walks the field from one seed's noise to another's across the width (slerp per
position, White 2016): trained on several pictures (`builtin:textures`: brick, grass,
gravel) it blends one texture into another in one painting.

Training is the trainer every GAN shares (`gan.training`): the same losses, spectral norm,
TTUR, EMA, checkpoints and FD/KID, here on fresh random crops.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.gan.networks import AUGMENTS, dcgan_init, generate, policy_ok, spectral
from reverie.gan.projected import BothDiscriminators, projected_discriminator
from reverie.gan.training import GAN, GANParts, GANTrainConfig, load_generator, train
from reverie.train import eval_every_knob, max_steps_knob


@dataclass
class TextureConfig(GANTrainConfig):
    crop: int = knob(64, "training crop side in pixels (the generator's 4x4 field paints "
                     "this)", choices=[32, 64, 128])
    depth: int = knob(4, "upsampling layers: each noise vector paints 2^depth pixels square "
                      "(spatial_gan: 5)", min=2, max=6)
    scale: float = knob(1.0, "shrink the picture by this before cropping (0.5: each crop "
                        "covers twice the area)", above=0, max=1)
    nz: int = knob(20, "noise channels per field position", min=1)
    ngf: int = knob(64, "generator width (channels of its last hidden layer)", min=4)
    ndf: int = knob(64, "discriminator width (channels of its first layer)", min=4)
    loss: str = knob("hinge", "hinge or nonsaturating", choices=["hinge", "nonsaturating"])
    spectral_norm: bool = knob(True, "spectral normalisation on the discriminator")
    lr_g: float = knob(2e-4, "generator Adam learning rate (sgan: 2e-4)", above=0)
    lr_d: float = knob(2e-4, "discriminator Adam learning rate", above=0)
    beta1: float = knob(0.5, "Adam beta1 (DCGAN, sgan: 0.5)", min=0, below=1)
    beta2: float = knob(0.999, "Adam beta2", above=0, below=1)
    ema: float = knob(0.999, "decay of the generator's moving average (0: off)", min=0, below=1)
    diffaugment: str = knob("", "DiffAugment policy (one picture gives endless crops: off "
                            "by default)")
    batch_size: int = knob(16, "crops per step (sgan: 25)", min=2)
    sample_every: int = knob(250, "a frame of the training GIF every N steps", min=1,
                             advanced=True)
    fd_samples: int = knob(200, "crops per FD/KID figure", min=20, advanced=True)
    interp_size: int = knob(64, "projected: crops are resized to this side before the "
                            "feature network (the paper's interp224: 224)",
                            choices=[32, 64, 96, 128, 224])
    # the shared knobs (reverie.train): max_steps, minutes, eval_every, checkpoint_every,
    # resume, init, threads, seed, device
    max_steps: int = max_steps_knob(2000)
    eval_every: int = eval_every_knob(1000)
    seed: int = seed_knob()

    MODEL_FIELDS = ("depth", "nz", "ngf", "ndf", "spectral_norm")

    @property
    def field(self) -> int:
        return max(1, self.crop // 2 ** self.depth)

    def check(self) -> None:
        if not policy_ok(self.diffaugment):
            raise ConfigError("diffaugment", f"use a comma-separated subset of "
                                             f"{', '.join(AUGMENTS)} (empty: off)")
        if self.crop % 2 ** self.depth:
            raise ConfigError("depth", f"crop {self.crop} is not a multiple of 2^{self.depth}; "
                                       f"lower depth or change crop")


class SpatialGenerator(nn.Module):
    """(nz, h, w) noise -> (3, h * 2^depth, w * 2^depth), fully convolutional."""

    def __init__(self, nz: int, ngf: int, depth: int):
        super().__init__()
        chans = [ngf * 2 ** i for i in reversed(range(depth - 1))]  # e.g. 256, 128, 64
        layers: list[nn.Module] = []
        cin = nz
        for c in chans:
            layers += [nn.ConvTranspose2d(cin, c, 5, 2, 2, output_padding=1, bias=False),
                       nn.BatchNorm2d(c), nn.ReLU(True)]
            cin = c
        layers += [nn.ConvTranspose2d(cin, 3, 5, 2, 2, output_padding=1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z)


class SpatialDiscriminator(nn.Module):
    """Image -> a field of patch logits (averaged): fully convolutional."""

    def __init__(self, ndf: int, depth: int, spectral_norm: bool):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for i in range(depth):
            c = ndf * 2 ** i
            layers.append(spectral(nn.Conv2d(cin, c, 5, 2, 2, bias=spectral_norm or i == 0),
                                   spectral_norm))
            if i > 0 and not spectral_norm:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2, True))
            cin = c
        layers.append(spectral(nn.Conv2d(cin, 1, 3, 1, 1), spectral_norm))
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).flatten(1).mean(1)


def build_spatial(cfg: TextureConfig):
    g = SpatialGenerator(cfg.nz, cfg.ngf, cfg.depth)
    if cfg.discriminator == "projected":
        g.apply(dcgan_init)
        return g, projected_discriminator(cfg)
    d = SpatialDiscriminator(cfg.ndf, cfg.depth, cfg.spectral_norm)
    g.apply(dcgan_init)  # in this order: a seed draws the weights it always drew
    d.apply(dcgan_init)
    if cfg.discriminator == "both":
        return g, BothDiscriminators(d, projected_discriminator(cfg))
    return g, d


def _pictures(images, scale: float) -> tuple[list[torch.Tensor], list[str]]:
    """The training pictures (3, H, W) in [0, 1]: image files, `sample:NAME`, or
    `builtin:textures` (brick, grass, gravel)."""
    import torch.nn.functional as F
    from reverie.io.images import as_image

    if images is None or (isinstance(images, (list, tuple)) and not images):
        raise ReverieError("give a picture of a texture (or several, or builtin:textures)")
    items = list(images) if isinstance(images, (list, tuple)) else [images]
    out, names = [], []
    for it in items:
        if isinstance(it, str) and it == "builtin:textures":
            from reverie.gan.data import TEXTURE_PHOTOS
            for n in TEXTURE_PHOTOS:
                out.append(as_image(f"sample:{n}"))
                names.append(f"sample:{n}")
            continue
        out.append(as_image(it))
        names.append(str(it) if not isinstance(it, torch.Tensor) else "in memory")
    if scale != 1.0:
        out = [F.interpolate(x[None], scale_factor=scale, mode="bilinear", antialias=True,
                             align_corners=False)[0].clamp(0, 1) for x in out]
    return out, names


def texture_parts(images, cfg: TextureConfig) -> GANParts:
    pics, names = _pictures(images, cfg.scale)
    for p, n in zip(pics, names):
        if min(p.shape[-2:]) < cfg.crop:
            raise ReverieError(f"{n} is {p.shape[-1]}x{p.shape[-2]} after scaling, smaller than "
                               f"the {cfg.crop}-pixel crops; use a larger picture or a smaller "
                               f"crop")

    def crops(gen: torch.Generator, n: int) -> torch.Tensor:
        out = []
        for _ in range(n):
            p = pics[int(torch.randint(len(pics), (1,), generator=gen))]
            h, w = p.shape[-2:]
            top = int(torch.randint(h - cfg.crop + 1, (1,), generator=gen))
            left = int(torch.randint(w - cfg.crop + 1, (1,), generator=gen))
            out.append(p[:, top:top + cfg.crop, left:left + cfg.crop])
        return torch.stack(out)

    g, d = build_spatial(cfg)
    held = crops(torch.Generator().manual_seed(cfg.seed + 99), cfg.fd_samples)
    notes = []
    if len(pics) == 1 and min(pics[0].shape[-2:]) < 2 * cfg.crop:
        notes.append(f"the picture is less than twice the crop ({cfg.crop} px): few distinct "
                     f"crops, expect copies")
    return GANParts("spatial", g, d, (cfg.nz, cfg.field, cfg.field), crops, held, None,
                    {"source": ", ".join(names), "pictures": len(pics)}, notes)


def train_texture(images=None, config: Optional[TextureConfig] = None, *, out=None,
                  progress: Progress = silent, **overrides):
    """Train a Spatial GAN on random crops of one picture (or a few; `builtin:textures`)."""
    from reverie.core.inputs import record as record_input

    cfg = make_config(TextureConfig, config, **overrides)
    rec = {"many": [{"value": s} if isinstance(s, str) and s == "builtin:textures"
                    else record_input(s) for s in (images if isinstance(images, (list, tuple))
                                                   else [images])]}
    return train(lambda c: texture_parts(images, c), cfg, kind="spatial", out=out,
                 progress=progress, inputs={"images": rec}, mechanism="train_texture")


def load_texture(path, device: str | None = None) -> GAN:
    """The generator a `gan texture` checkpoint holds (its BatchNorm statistics from 4x4
    fields), on `device` (none: the CPU)."""
    return load_generator(path, "spatial", TextureConfig, build_spatial, device,
                          stats_shape=lambda shape: (shape[0], 4, 4))


# ---------------------------------------------------------------------------------------
# Painting: any size, and morphs across the field
# ---------------------------------------------------------------------------------------

@dataclass
class PaintConfig(Config):
    width: int = knob(256, "output width in pixels (rounded up to the patch a noise vector "
                      "paints)", min=8, max=4096)
    height: int = knob(256, "output height in pixels", min=8, max=4096)
    morph_seed: Optional[int] = knob(None, "morph from `seed`'s noise on the left to this "
                                     "seed's on the right (slerp across the field)", min=0)
    seed: int = seed_knob()
    device: str = device_knob()


@dataclass
class PaintResult(Result):
    image: torch.Tensor
    suffixes = (".png", ".jpg", ".webp")

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.images import save_image
        return {"image": save_image(self.image, path)}

    def summary(self) -> str:
        return self.figures.get("summary", "")


def noise_field(seed: int, nz: int, h: int, w: int) -> torch.Tensor:
    return torch.randn((nz, h, w), generator=torch.Generator().manual_seed(int(seed)))


def morph_field(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Column j of the field: slerp(a_j, b_j, j / (w - 1)) per position, so the noise keeps a
    Gaussian's norm all the way (a straight blend would fade to a flat middle); the same
    formula as `reverie.latent.analogy.interpolate`, at one t per column."""
    nz, h, w = a.shape
    out = torch.empty_like(a)
    for j in range(w):
        t = j / max(1, w - 1)
        for i in range(h):
            out[:, i, j] = torch.from_numpy(_slerp1(a[:, i, j].numpy(), b[:, i, j].numpy(), t))
    return out


def _slerp1(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    omega = math.acos(float(np.clip(a @ b / (na * nb + 1e-12), -1, 1)))
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    s = math.sin(omega)
    return (math.sin((1 - t) * omega) / s * a + math.sin(t * omega) / s * b).astype(np.float32)


def paint(model, config: Optional[PaintConfig] = None, *, progress: Progress = silent,
          **overrides) -> PaintResult:
    """A texture of any size from a `gan texture` model; with `morph_seed`, a morph."""
    from reverie.core.inputs import record as record_input

    cfg = make_config(PaintConfig, config, **overrides)
    gan = load_texture(model, cfg.device)
    tc = gan.config
    patch = 2 ** tc.depth
    h, w = math.ceil(cfg.height / patch), math.ceil(cfg.width / patch)
    z = noise_field(cfg.seed, tc.nz, h, w)
    if cfg.morph_seed is not None:
        z = morph_field(z, noise_field(cfg.morph_seed, tc.nz, h, w))
    image = generate(gan.generator, z[None])[0][:, :cfg.height, :cfg.width]
    progress(1, 1, "painted")
    fig = {"field": [h, w], "patch": patch,
           "summary": f"{cfg.width}x{cfg.height} texture from a {w}x{h} noise field"
                      + (f", morphing seed {cfg.seed} into {cfg.morph_seed}"
                         if cfg.morph_seed is not None else "")}
    return PaintResult(image, mechanism="gan_paint", config=cfg, figures=fig,
                       inputs={"model": record_input(model)},
                       resolved={"device": str(resolve_device(cfg.device))})
