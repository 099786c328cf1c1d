"""DCGAN, with the options the field relies on for stability, trained on the user's images.

Read top to bottom:

1. `GANConfig`: every knob, named as the papers and best-known implementations name them
   (pytorch/examples dcgan/main.py: nz, ngf, ndf, beta1; Heusel et al. 2017's two
   time-scale rule: lr_g, lr_d; Miyato et al. 2018: spectral_norm; Zhao et al. 2020:
   diffaugment).
2. DiffAugment (Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for
   Data-Efficient GAN Training"; mit-han-lab/data-efficient-gans DiffAugment_pytorch.py):
   the same random colour, translation and cutout applied to real *and* generated images
   before the discriminator, differentiably, so a few hundred images do not make it
   memorise.
3. The networks (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with
   Deep Convolutional GANs"): the generator is transposed convolutions with BatchNorm and
   ReLU, tanh out; the discriminator strided convolutions with LeakyReLU(0.2), no pooling,
   no fully connected layers; weights from N(0, 0.02). With spectral normalisation
   (torch.nn.utils.parametrizations.spectral_norm) the discriminator drops BatchNorm, as in
   Miyato et al.
4. Losses: hinge (Lim & Ye 2017; Miyato et al. 2018; the SAGAN/BigGAN default) or the
   non-saturating loss of Goodfellow et al. 2014.
5. Training (`train_gan`): both networks updated once per step, Adam with two time-scale
   learning rates; an exponential moving average of the generator's weights for sampling
   (Karras et al. 2018; Yazıcı et al. 2019), with BatchNorm's statistics recomputed for the
   averaged weights ("standing statistics", Brock et al. 2019, BigGAN). Progress shows both
   losses; a grid from fixed latents every `sample_every` steps (the frames of a GIF of
   training); the Fréchet and kernel distances on Lite0 features (`gan.metrics`) every
   `fd_every` steps; checkpoints that resume a killed run exactly; a step or minutes budget.
6. `load_gan`: a trained generator (the EMA weights) for sampling, interpolation, inversion.

The same trainer trains the Spatial GAN of `gan.texture`, which hands it other networks, a
latent field instead of a vector, and random crops of one picture instead of a set.
"""
from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.io import checkpoints
from reverie.io.checkpoints import save_checkpoint
from reverie.io.files import check_writable

FORMAT = "reverie-gan"
FORMAT_VERSION = 1
AUGMENTS = ("color", "translation", "cutout")


# ---------------------------------------------------------------------------------------
# 1. Config
# ---------------------------------------------------------------------------------------

def _policy_ok(policy: str) -> bool:
    return all(p in AUGMENTS for p in policy.split(",") if p)


@dataclass
class GANConfig(Config):
    size: int = knob(32, "image side in pixels (the generator's output)", choices=[32, 64])
    nz: int = knob(100, "latent dimensions (DCGAN's nz)", min=1)
    ngf: int = knob(64, "generator width: channels of its last hidden layer (ngf)", min=4)
    ndf: int = knob(64, "discriminator width: channels of its first layer (ndf)", min=4)
    loss: str = knob("hinge", "hinge (Miyato et al. 2018, BigGAN) or nonsaturating "
                     "(Goodfellow et al. 2014)", choices=["hinge", "nonsaturating"])
    spectral_norm: bool = knob(True, "spectral normalisation on the discriminator's layers "
                               "(Miyato et al. 2018), in place of its BatchNorm")
    lr_g: float = knob(1e-4, "generator Adam learning rate (two time-scale rule: slower than "
                       "the discriminator's, as SAGAN)", above=0)
    lr_d: float = knob(4e-4, "discriminator Adam learning rate (TTUR, Heusel et al. 2017)",
                       above=0)
    beta1: float = knob(0.5, "Adam beta1 (DCGAN: 0.5)", min=0, below=1)
    beta2: float = knob(0.999, "Adam beta2", above=0, below=1)
    categories: int = knob(0, "InfoGAN's categorical code (Chen et al. 2016): the largest of "
                           "the latent's first N coordinates picks one of N values, given to "
                           "the generator one-hot beside z, and a head on the discriminator "
                           "must tell which; each value becomes a mode of its own (on digits, "
                           "often a class), so fewer samples blend two. 0: off", min=0)
    info_lambda: float = knob(1.0, "weight of InfoGAN's mutual-information term (its lambda; "
                              "1 for a categorical code)", min=0, advanced=True)
    ema: float = knob(0.999, "decay of the exponential moving average of the generator "
                      "that samples (0: off)", min=0, below=1)
    diffaugment: str = knob("color,translation,cutout", "DiffAugment policy (Zhao et al. "
                            "2020): comma-separated color, translation, cutout; empty: off")
    batch_size: int = knob(64, "images per step (DCGAN: 128)", min=2)
    max_iters: int = knob(5000, "training steps: the budget (ignored when minutes is set)",
                          min=1)
    minutes: Optional[float] = knob(None, "train for this wall-clock time instead of "
                                    "max_iters (the model then depends on the machine)",
                                    above=0, unit="minutes")
    sample_every: int = knob(250, "save a grid from fixed latents every N steps (a frame of "
                             "the training GIF)", min=1, advanced=True)
    fd_every: int = knob(1000, "measure FD/KID on Lite0 features every N steps (and at "
                         "the end)", min=1, advanced=True)
    fd_samples: int = knob(500, "generated (and held-out real) images per FD/KID figure",
                           min=20, advanced=True)
    checkpoint_every: int = knob(500, "write a checkpoint every N steps (and at the end), "
                                 "so a killed run can resume", min=1, advanced=True)
    val_frac: float = knob(0.1, "held-out share of the images: the real side of FD/KID",
                           min=0, below=0.5, advanced=True)
    resume: bool = knob(False, "continue the run whose checkpoint is the output file")
    seed: int = seed_knob()
    device: str = device_knob()

    def check(self) -> None:
        if self.categories == 1 or self.categories > self.nz:
            raise ConfigError("categories", f"must be 0 (off) or 2..nz ({self.nz}), got "
                                            f"{self.categories}: the code is read off the "
                                            f"latent's first coordinates")
        if not _policy_ok(self.diffaugment):
            raise ConfigError("diffaugment", f"unknown policy {self.diffaugment!r}; use a "
                                             f"comma-separated subset of {', '.join(AUGMENTS)} "
                                             f"(empty: off)")


# Fields a resumed run takes from the new config; the rest come from the checkpoint.
BUDGET_FIELDS = ("max_iters", "minutes", "sample_every", "fd_every", "checkpoint_every",
                 "device")


# ---------------------------------------------------------------------------------------
# 2. DiffAugment (after mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py)
# ---------------------------------------------------------------------------------------

def diff_augment(x: torch.Tensor, policy: str, gen: torch.Generator) -> torch.Tensor:
    """Random, differentiable augmentations of a batch in [-1, 1]; one draw per image."""
    for p in (q for q in policy.split(",") if q):
        x = _AUGMENT[p](x, gen)
    return x.contiguous()


def _rand(x, gen, *shape):
    return torch.rand(x.shape[0], *shape, generator=gen, device="cpu").to(x.device, x.dtype)


def _color(x, gen):
    x = x + (_rand(x, gen, 1, 1, 1) - 0.5)                                  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, gen, 1, 1, 1) * 2) + mean                    # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x, gen, 1, 1, 1) + 0.5) + mean               # contrast


def _translation(x, gen, ratio: float = 0.125):
    """Shift by up to 1/8 of the side, filling with zeros (Zhao et al.'s gather form)."""
    n, _, h, w = x.shape
    sx, sy = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = torch.randint(-sx, sx + 1, (n, 1, 1), generator=gen).to(x.device)
    ty = torch.randint(-sy, sy + 1, (n, 1, 1), generator=gen).to(x.device)
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    pad = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return pad.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


def _cutout(x, gen, ratio: float = 0.5):
    """Zero a square of half the side at a random place in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ox = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=gen).to(x.device)
    oy = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=gen).to(x.device)
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gx = torch.clamp(gx + ox - ch // 2, 0, h - 1)
    gy = torch.clamp(gy + oy - cw // 2, 0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


_AUGMENT = {"color": _color, "translation": _translation, "cutout": _cutout}


# ---------------------------------------------------------------------------------------
# 3. Networks (Radford et al. 2016; pytorch/examples dcgan/main.py)
# ---------------------------------------------------------------------------------------

def _mults(size: int) -> list[int]:
    """Channel multipliers from 4x4 up: 32 px: 4, 2, 1; 64 px: 8, 4, 2, 1."""
    n = int(math.log2(size)) - 2
    return [2 ** i for i in reversed(range(n))]


def code_of(z: torch.Tensor, categories: int) -> torch.Tensor:
    """InfoGAN's categorical code of each latent (B,): the largest of its first
    `categories` coordinates. Read off z, so a seed still names one image, and uniform,
    since the coordinates are independent and alike."""
    return z.flatten(1)[:, :categories].argmax(1)


def with_code(z: torch.Tensor, categories: int, code: int) -> torch.Tensor:
    """Each latent with `code` as its code: its largest first coordinate swapped into place
    `code`, the rest of it as drawn (so z keeps its distribution, given the code)."""
    z = z.flatten(1).clone()
    rows = torch.arange(len(z))
    top = code_of(z, categories)
    z[rows, top], z[rows, code] = z[rows, code], z[rows, top]
    return z


class Generator(nn.Module):
    """z (nz) -> 4x4 -> ... -> size x size RGB in [-1, 1]; with `categories`, z's code
    (`code_of`) joins it one-hot."""

    def __init__(self, nz: int, ngf: int, size: int, categories: int = 0):
        super().__init__()
        mults = _mults(size)
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz + categories, ngf * mults[0], 4, 1, 0,
                                                      bias=False),
                                   nn.BatchNorm2d(ngf * mults[0]), nn.ReLU(True)]
        for a, b in zip(mults, mults[1:]):
            layers += [nn.ConvTranspose2d(ngf * a, ngf * b, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ngf * b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf * mults[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.nz = nz
        self.categories = categories

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z.flatten(1)
        if self.categories:  # the code switches at once where the largest coordinate changes
            code = F.one_hot(code_of(z, self.categories), self.categories).to(z.dtype)
            z = torch.cat([z, code], 1)
        return self.main(z[:, :, None, None])


def _sn(module: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module) if on else module


class Discriminator(nn.Module):
    """size x size RGB -> one logit per image (DCGAN's mirror of the generator); with
    `categories`, also InfoGAN's Q head: logits for the image's code, from the same
    features as the last layer."""

    def __init__(self, ndf: int, size: int, spectral_norm: bool, categories: int = 0):
        super().__init__()
        mults = list(reversed(_mults(size)))  # 1, 2, 4 (, 8)
        layers: list[nn.Module] = [_sn(nn.Conv2d(3, ndf, 4, 2, 1), spectral_norm),
                                   nn.LeakyReLU(0.2, True)]
        for a, b in zip(mults, mults[1:]):
            layers.append(_sn(nn.Conv2d(ndf * a, ndf * b, 4, 2, 1, bias=spectral_norm),
                              spectral_norm))
            if not spectral_norm:
                layers.append(nn.BatchNorm2d(ndf * b))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(_sn(nn.Conv2d(ndf * mults[-1], 1, 4, 1, 0), spectral_norm))
        self.main = nn.Sequential(*layers)
        self.q = (_sn(nn.Conv2d(ndf * mults[-1], categories, 4, 1, 0), spectral_norm)
                  if categories else None)

    def forward(self, x: torch.Tensor, with_code: bool = False):
        if not with_code:
            return self.main(x).flatten(1).mean(1)
        h = self.main[:-1](x)
        return self.main[-1](h).flatten(1).mean(1), self.q(h).flatten(1)


def dcgan_init(m: nn.Module) -> None:
    """DCGAN: all weights from N(0, 0.02); BatchNorm scales from N(1, 0.02)."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def build_dcgan(cfg: GANConfig) -> tuple[Generator, Discriminator]:
    g = Generator(cfg.nz, cfg.ngf, cfg.size, cfg.categories)
    d = Discriminator(cfg.ndf, cfg.size, cfg.spectral_norm, cfg.categories)
    g.apply(dcgan_init)
    d.apply(dcgan_init)  # before spectral norm's power iteration vector matters: it adapts
    return g, d


# ---------------------------------------------------------------------------------------
# 4. Losses
# ---------------------------------------------------------------------------------------

def d_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def judged(d: nn.Module, x: torch.Tensor, categories: int):
    """D's logits for x and, with a categorical code, its Q head's logits for the code."""
    return d(x, with_code=True) if categories else (d(x), None)


def info_loss(q: torch.Tensor | None, code: torch.Tensor | None, weight: float):
    """InfoGAN's mutual-information term (a lower bound, up to the code's entropy): how
    badly Q recovers the code the fake was made from. D (with Q) and G both minimise it."""
    return weight * F.cross_entropy(q, code) if q is not None else torch.zeros(())


def g_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return -fake.mean()
    return F.softplus(-fake).mean()  # -log D(G(z)): the non-saturating form


# ---------------------------------------------------------------------------------------
# 5. Training
# ---------------------------------------------------------------------------------------

def truncated_normal(shape, gen: torch.Generator, truncation: float | None) -> torch.Tensor:
    """N(0, I), or with `truncation` t: a normal truncated to [-2, 2] times t (the truncation
    trick as BigGAN-PyTorch's `truncated_noise_sample` draws it)."""
    z = torch.randn(shape, generator=gen)
    if truncation is None:
        return z
    while True:
        bad = z.abs() > 2
        if not bad.any():
            return z * truncation
        z[bad] = torch.randn(int(bad.sum()), generator=gen)


def latent_for_seed(seed: int, shape, truncation: float | None = None) -> torch.Tensor:
    """The latent of one seed: image i of `gan sample --seed S` is seed S + i."""
    return truncated_normal(tuple(shape), torch.Generator().manual_seed(int(seed)), truncation)


@torch.no_grad()
def standing_stats(g: nn.Module, latent_shape, batches: int = 8, batch: int = 64) -> None:
    """Recompute BatchNorm's statistics for `g`'s own weights (BigGAN's standing stats):
    the running averages were gathered by other weights when `g` is an average."""
    bns = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    gen = torch.Generator().manual_seed(12345)  # fixed: sampling stays a function of the weights
    device = next(g.parameters()).device
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the batches below
    g.train()
    for _ in range(batches):
        g(torch.randn((batch, *latent_shape), generator=gen).to(device))
    for m in bns:
        m.momentum = 0.1
    g.eval()


@torch.no_grad()
def generate(g: nn.Module, z: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """Images in [0, 1] (on the CPU) for latents z, in batches."""
    device = next(g.parameters()).device
    out = [g(z[i:i + batch].to(device)).float().cpu() for i in range(0, len(z), batch)]
    return ((torch.cat(out) + 1) / 2).clamp(0, 1)


def image_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2,
               value: float = 1.0) -> torch.Tensor:
    """(N, 3, H, W) -> one (3, H', W') image, `nrow` per row (square by default)."""
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), value)
    for i, im in enumerate(images):
        r, k = divmod(i, nrow)
        grid[:, pad + r * (h + pad): pad + r * (h + pad) + h,
             pad + k * (w + pad): pad + k * (w + pad) + w] = im
    return grid


def _to_u8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8)


@dataclass
class Task:
    """What the trainer trains: the networks, the latent's shape, where real images come
    from. `dcgan` and `texture` each make one."""
    kind: str                                   # "dcgan" | "spatial"
    g: nn.Module
    d: nn.Module
    latent_shape: tuple                         # (nz,) or (nz, h, w)
    real_batch: Callable[[torch.Generator, int], torch.Tensor]  # [0, 1] on the CPU
    real_eval: torch.Tensor                     # held-out real images for FD/KID, [0, 1]
    train_images: torch.Tensor | None           # for nearest-neighbour checks, [0, 1]
    data: dict                                  # recorded in the checkpoint (source, counts)


def load_checkpoint(path: str | os.PathLike, kind: str | None = None) -> dict:
    """A Reverie GAN checkpoint; with `kind`, one of that kind (dcgan or spatial)."""
    what = "`reverie gan train`" if kind != "spatial" else "`reverie gan texture`"
    ckpt = checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a Reverie GAN",
                                       f"use a model made by {what}")
    if kind is not None and ckpt.get("kind") != kind:
        other = {"dcgan": "an image GAN (`gan train`)",
                 "spatial": "a texture GAN (`gan texture`)"}.get(ckpt.get("kind"), "another kind")
        raise ReverieError(f"{path} is {other}; this command needs a model made by {what}")
    return ckpt


@dataclass
class GANTrainResult(Result):
    generator: nn.Module                # the EMA generator, eval mode, on the CPU
    checkpoint: dict
    suffixes = (".pt",)

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.animation import save_animation
        from reverie.io.images import save_image

        paths = {"model": save_checkpoint(self.checkpoint, path)}
        frames = self.checkpoint["run"]["frames"]
        if frames:
            last = frames[-1].float() / 255
            paths["samples"] = save_image(last, path.with_name(path.stem + ".samples.png"))
            paths["training"] = save_animation([f.float() / 255 for f in frames],
                                               path.with_name(path.stem + ".training.gif"), fps=4)
        paths["curves"] = self._curves(path.with_name(path.stem + ".curves.png"))
        return paths

    def _curves(self, path: Path) -> Path:
        from reverie.io.figures import new_figure, save_figure
        hist = self.figures["history"]
        fig, a = new_figure(9.0, 3.2)
        fig.clf()
        a, b = fig.subplots(1, 2)
        a.plot([h["step"] for h in hist], [h["d_loss"] for h in hist], label="discriminator")
        a.plot([h["step"] for h in hist], [h["g_loss"] for h in hist], label="generator")
        if "info_loss" in hist[-1]:  # InfoGAN: how badly Q reads the code (0: always right)
            a.plot([h["step"] for h in hist], [h["info_loss"] for h in hist],
                   label="code (InfoGAN)")
        a.set_xlabel("step")
        coded = "info_loss" in hist[-1]
        a.set_ylabel(f"{self.config.loss} loss" + ("; code: cross-entropy" if coded else ""))
        a.legend()
        a.grid(alpha=0.3)
        fd = self.figures["fd_curve"]
        b.plot([h["step"] for h in fd], [h["fd"] for h in fd], marker=".", label="FD (Lite0)")
        b.axhline(self.figures["fd_real_floor"], color="grey", ls="--", label="real vs real")
        b.set_xlabel("step")
        b.set_ylabel("Fréchet distance, Lite0 features")
        b.legend()
        b.grid(alpha=0.3)
        return save_figure(fig, path)

    def explain(self, folder: Path) -> dict[str, Path]:
        return {"losses and FD": self._curves(Path(folder) / "gan-curves.png")}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps: FD {f['fd']:.2f}, KID {f['kid']:.4f} on Lite0 features "
                f"(real vs real: FD {f['fd_real_floor']:.2f}, KID {f['kid_real_floor']:.4f}); "
                f"D loss {f['d_loss']:.3f}, G loss {f['g_loss']:.3f}")


def _seeded(seed: int, device: torch.device) -> None:
    """Seed the default generators weight initialisation draws from (inside fork_rng)."""
    torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())
    if device.type == "cuda":
        torch.cuda.set_rng_state(torch.Generator(device).manual_seed(seed).get_state(), device)


def dcgan_task(images, cfg: GANConfig) -> tuple[Task, list[str]]:
    """The DCGAN's networks and data: a held-out share of the images for FD/KID."""
    from reverie.gan.data import load_set

    data = load_set(images, cfg.size, seed=cfg.seed)
    x = data.images
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))
    n_val = int(len(x) * cfg.val_frac)
    if len(x) - n_val < 2:
        raise ReverieError(f"{len(x)} image(s) are too few to train a GAN; give at least a few "
                           f"dozen")
    val, train = x[perm[:n_val]], x[perm[n_val:]]
    if n_val < 20:  # too few to hold out: measure against the training images
        val = train
        data.notes.append("too few images to hold some out: FD/KID compare with the training "
                          "images themselves")
    g, d = build_dcgan(cfg)

    def real_batch(gen: torch.Generator, n: int) -> torch.Tensor:
        return train[torch.randint(len(train), (n,), generator=gen)]

    labels = None if data.labels is None else data.labels[perm[n_val:].numpy()].tolist()
    return Task("dcgan", g, d, (cfg.nz,), real_batch, val, train,
                {"source": data.source, "images": len(x), "train": len(train), "held_out": n_val,
                 "labels": labels}), data.notes


def train_gan(images=None, config: Optional[GANConfig] = None, *,
              out: str | os.PathLike | None = None, progress: Progress = silent,
              **overrides) -> GANTrainResult:
    """Train a DCGAN on `images`: a folder (recursively), `builtin:digits`,
    `builtin:textures`, or an (N, 3, H, W) tensor in [0, 1].

    With `out`, checkpoints go there every `checkpoint_every` steps and at the end (with a
    sample grid, the training GIF, the curves and the sidecar); `resume=True` continues
    the run whose checkpoint `out` is."""
    from reverie.gan.data import record as record_images

    cfg = make_config(GANConfig, config, **overrides)
    return fit(lambda c: dcgan_task(images, c), cfg, out=out, progress=progress,
               inputs={"images": record_images(images)},
               mechanism="train_gan")


def fit(make_task: Callable, cfg, *, out, progress: Progress, inputs: dict,
        mechanism: str) -> GANTrainResult:
    """Check the output, resolve the device, run `_train` without touching the process's
    random state, save."""
    if out is not None:
        out = Path(out)
        out = check_writable(out if out.suffix else out.with_suffix(".pt"))
        if out.suffix.lower() != ".pt":
            raise ReverieError(f"a GAN is written as a .pt file, not {out.suffix!r}; give a "
                               f"name such as {out.with_suffix('.pt').name}")
    device = resolve_device(cfg.device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        result = _train(make_task, out, cfg.replace(device=str(device)), device, progress)
    result.inputs = inputs
    result.mechanism = mechanism
    result.resolved["device"] = str(device)
    if out is not None:
        result.save(out)
    return result


def _train(make_task: Callable, out: Optional[Path], cfg, device: torch.device,
           progress: Progress) -> GANTrainResult:
    from reverie.gan import metrics

    notes: list[str] = []
    ckpt = None
    changed: list[str] = []
    if cfg.resume:
        if out is None:
            raise ConfigError("resume", "a run resumes from its checkpoint, the output file; "
                                        "give the output path")
        if not out.exists():
            raise ConfigError("resume", f"nothing to resume: {out} does not exist; start a new "
                                        f"run without resume")
        ckpt = load_checkpoint(out)
        saved = type(cfg).from_dict({k: v for k, v in ckpt["config"].items()})
        changed = [n for n in ("max_iters", "minutes") if getattr(saved, n) != getattr(cfg, n)]
        cfg = saved.replace(**{n: getattr(cfg, n) for n in BUDGET_FIELDS}, resume=False)
        notes.append(f"resumed from {out.name} at step {ckpt['run']['step']}" +
                     (f" with a new {' and '.join(changed)}" if changed else
                      "; the same model as an uninterrupted run"))

    _seeded(cfg.seed, device)
    task, data_notes = make_task(cfg)
    notes += data_notes
    g, d = task.g.to(device), task.d.to(device)
    g_ema = copy.deepcopy(g).eval().requires_grad_(False)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    gen = torch.Generator().manual_seed(cfg.seed + 1)      # latents, batches, augmentations
    fixed_z = latent_for_seed(cfg.seed + 2, (16, *task.latent_shape))  # the GIF's latents
    run = {"step": 0, "history": [], "fd_curve": [], "frames": [], "d_loss": None,
           "g_loss": None, "info_loss": None}
    categories = getattr(cfg, "categories", 0)  # the texture GAN has no code
    info_weight = getattr(cfg, "info_lambda", 0.0)

    def losses() -> dict:  # the smoothed losses, as history and figures record them
        return {"d_loss": run["d_loss"], "g_loss": run["g_loss"],
                **({"info_loss": run["info_loss"]} if categories else {})}
    elapsed = 0.0
    if ckpt is not None:
        try:
            g.load_state_dict(ckpt["g"])
            d.load_state_dict(ckpt["d"])
            g_ema.load_state_dict(ckpt["g_ema"])
            opt_g.load_state_dict(ckpt["opt_g"])
            opt_d.load_state_dict(ckpt["opt_d"])
        except (RuntimeError, KeyError, ValueError, TypeError):
            raise ReverieError(f"{out} does not match its configuration; start again without "
                               f"resume") from None
        run.update(ckpt["run"])
        run["frames"] = list(run["frames"])
        elapsed = float(run.pop("seconds", 0.0))
        gen.set_state(ckpt["rng"]["gen"])
        torch.set_rng_state(ckpt["rng"]["torch"])

    # the real side of FD/KID, and the floor: one half of the held-out images against the other
    n_eval = min(cfg.fd_samples, len(task.real_eval))
    real_feats = metrics.lite0_features(task.real_eval[:n_eval], device)
    half = len(real_feats) // 2
    floor = metrics.distances(real_feats[:half], real_feats[half:2 * half])
    budget_s = cfg.minutes * 60.0 if cfg.minutes else None
    policy = cfg.diffaugment

    def frac_done() -> float:
        return elapsed / budget_s if budget_s is not None else run["step"] / cfg.max_iters

    def measure() -> dict:
        standing_stats(g_ema, task.latent_shape)
        z = truncated_normal((n_eval, *task.latent_shape), torch.Generator().manual_seed(7), None)
        fake = metrics.lite0_features(generate(g_ema, z), device)
        m = metrics.distances(real_feats, fake)
        run["fd_curve"].append({"step": run["step"], **m})
        return m

    def snapshot() -> None:
        standing_stats(g_ema, task.latent_shape)
        grid = image_grid(generate(g_ema, fixed_z), nrow=4)
        run["frames"].append(_to_u8(grid))
        if len(run["frames"]) > 80:  # a long run: keep every other frame
            run["frames"] = run["frames"][::2]
        show_preview(progress, grid)

    def checkpoint() -> dict:
        record = dict(run, seconds=elapsed) if budget_s is not None else dict(run)
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": task.kind,
                "config": cfg.replace(resume=False).to_dict(),
                "latent_shape": list(task.latent_shape),
                "g": _cpu(g.state_dict()), "d": _cpu(d.state_dict()),
                "g_ema": _cpu(g_ema.state_dict()),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "run": record,
                "data": {k: v for k, v in task.data.items()},
                "train_images": (_to_u8(task.train_images[:2000]) if task.train_images is not None
                                 else None),
                "rng": {"gen": gen.get_state(), "torch": torch.get_rng_state()}}

    if run["step"] == 0:
        snapshot()
    g.train()
    d.train()
    started = time.perf_counter()
    t_last = started
    steps_here = 0
    while frac_done() < 1.0:
        real = task.real_batch(gen, cfg.batch_size).to(device) * 2 - 1
        z = torch.randn((cfg.batch_size, *task.latent_shape), generator=gen).to(device)
        code = code_of(z, categories) if categories else None
        # discriminator: real up, fake down (on augmented copies of both); Q: the fake's code
        fake = g(z)
        d_real = d(diff_augment(real, policy, gen))
        d_fake, q = judged(d, diff_augment(fake.detach(), policy, gen), categories)
        ld = d_loss(d_real, d_fake, cfg.loss)
        li = info_loss(q, code, info_weight)
        opt_d.zero_grad(set_to_none=True)
        (ld + li).backward()
        opt_d.step()
        # generator: fool the discriminator (through the same kind of augmentation), and
        # make its code plain to Q
        d_fake, q = judged(d, diff_augment(fake, policy, gen), categories)
        lg = g_loss(d_fake, cfg.loss)
        opt_g.zero_grad(set_to_none=True)
        (lg + info_loss(q, code, info_weight)).backward()
        opt_g.step()
        run["step"] += 1
        steps_here += 1
        with torch.no_grad():  # EMA with a warm-up (short runs would sample an old generator)
            decay = min(cfg.ema, (1 + run["step"]) / (10 + run["step"])) if cfg.ema else 0.0
            for pe, p in zip(g_ema.parameters(), g.parameters()):
                pe.lerp_(p, 1 - decay)
        ldv, lgv, liv = float(ld.detach()), float(lg.detach()), float(li.detach())
        if not all(math.isfinite(v) for v in (ldv, lgv, liv)):
            raise ReverieError(f"training diverged at step {run['step']} (loss {ldv}, {lgv}); "
                               f"lower lr_g and lr_d, or keep spectral_norm on")
        run["d_loss"] = ldv if run["d_loss"] is None else 0.9 * run["d_loss"] + 0.1 * ldv
        run["g_loss"] = lgv if run["g_loss"] is None else 0.9 * run["g_loss"] + 0.1 * lgv
        if categories:
            last = run["info_loss"]
            run["info_loss"] = liv if last is None else 0.9 * last + 0.1 * liv
        now = time.perf_counter()
        elapsed += now - t_last
        if run["step"] % 10 == 0 or frac_done() >= 1.0:
            run["history"].append({"step": run["step"], **losses()})
        if run["step"] % cfg.sample_every == 0:
            snapshot()
        if run["step"] % cfg.fd_every == 0 and frac_done() < 1.0:
            measure()
        if out is not None and run["step"] % cfg.checkpoint_every == 0:
            save_checkpoint(checkpoint(), out)
        t_last = time.perf_counter()  # sampling, FD and checkpoints do not count
        fd = run["fd_curve"][-1]["fd"] if run["fd_curve"] else None
        msg = (f"D {run['d_loss']:.3f}, G {run['g_loss']:.3f}" +
               (f", FD {fd:.1f}" if fd is not None else ""))
        if budget_s is not None:
            progress(int(elapsed), int(budget_s), msg)
        else:
            progress(run["step"], cfg.max_iters, msg)

    if not run["history"] or run["history"][-1]["step"] != run["step"]:
        run["history"].append({"step": run["step"], **losses()})
    final = run["fd_curve"][-1] if run["fd_curve"] and run["fd_curve"][-1]["step"] == run["step"] \
        else measure()
    if not run["frames"] or steps_here and run["step"] % cfg.sample_every:
        snapshot()
    ckpt = checkpoint()
    g_ema.cpu().eval()
    wall = time.perf_counter() - started
    figures = {"steps": run["step"], **losses(),
               "fd": final["fd"], "kid": final["kid"], "fd_real_floor": floor["fd"],
               "kid_real_floor": floor["kid"], "fd_images": n_eval,
               "fd_features": f"EfficientNet-Lite0 pooled head (1280-d) at "
                              f"{metrics.FEATURE_SIZE} px: NOT comparable to published "
                              f"Inception-v3 FID/KID",
               "images": task.data.get("images"), "train_images": task.data.get("train"),
               "history": run["history"], "fd_curve": run["fd_curve"],
               "params_g": sum(p.numel() for p in g.parameters()),
               "params_d": sum(p.numel() for p in d.parameters()),
               "seconds_per_step": elapsed / max(1, run["step"])}
    deterministic = budget_s is None and not changed
    if budget_s is not None:
        notes.append(f"trained for a wall-clock budget ({cfg.minutes:g} minutes, {run['step']} "
                     f"steps here): the model depends on this machine's speed; set max_iters "
                     f"for a repeatable run")
    return GANTrainResult(g_ema, ckpt, config=cfg.replace(resume=False), figures=figures,
                          notes=notes, deterministic=deterministic,
                          timings={"train": wall, "per_step": elapsed / max(1, steps_here)})


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in state.items()}


# ---------------------------------------------------------------------------------------
# 6. Loading a trained generator
# ---------------------------------------------------------------------------------------

@dataclass
class GAN:
    """A trained generator (the EMA weights, standing statistics, eval mode)."""
    generator: nn.Module
    config: Config
    kind: str
    latent_shape: tuple
    train_images: torch.Tensor | None   # [0, 1], for nearest-neighbour checks
    data: dict

    @property
    def nz(self) -> int:
        return self.latent_shape[0]

    @property
    def categories(self) -> int:
        """Values of its InfoGAN code (0: none; the texture GAN has none)."""
        return getattr(self.config, "categories", 0)

    @property
    def radius(self) -> float:
        """sqrt of the latent's size: the norm a Gaussian latent's samples lie close to."""
        return math.sqrt(math.prod(self.latent_shape))

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def images(self, z: torch.Tensor) -> torch.Tensor:
        return generate(self.generator, z)

    def to(self, device: torch.device) -> GAN:
        """This GAN with its generator on `device`: a copy, so one a caller holds (the
        studio's, the gallery's) stays where it is."""
        if self.device == torch.empty(0, device=device).device:  # cuda is cuda:0
            return self
        return replace(self, generator=copy.deepcopy(self.generator).to(device))


def load_gan(path, kind: str = "dcgan", device: str | None = None) -> GAN:
    """The sampling generator a `gan train` (or `gan texture`) checkpoint holds, on
    `device` (a Config's device knob: auto, cpu, cuda...; none: the CPU)."""
    if isinstance(path, GAN):
        return path.to(resolve_device(device)) if device else path
    ckpt = load_checkpoint(path, kind)
    try:
        if ckpt["kind"] == "spatial":
            from reverie.gan.texture import TextureConfig, build_spatial
            cfg = TextureConfig.from_dict(ckpt["config"])
            g, _ = build_spatial(cfg)
        else:
            cfg = GANConfig.from_dict(ckpt["config"])
            with torch.random.fork_rng(devices=[]):
                g, _ = build_dcgan(cfg)
        g.load_state_dict(ckpt["g_ema"])
    except (RuntimeError, KeyError, TypeError, AttributeError, ReverieError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"train it again") from None
    shape = tuple(ckpt["latent_shape"])
    standing_stats(g, shape if ckpt["kind"] == "dcgan" else (shape[0], 4, 4))
    g.eval().requires_grad_(False)
    train = ckpt.get("train_images")
    return GAN(g.to(resolve_device(device)) if device else g, cfg, ckpt["kind"], shape,
               train.float() / 255 if train is not None else None, ckpt.get("data", {}))
