"""The networks every Reverie GAN is made of, and what samples them.

Read top to bottom:

1. DiffAugment (Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for
   Data-Efficient GAN Training"; mit-han-lab/data-efficient-gans DiffAugment_pytorch.py):
   the same random colour, translation and cutout applied to real *and* generated images
   before the discriminator, differentiably, so a few hundred images do not make it
   memorise.
2. The DCGAN networks (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning
   with Deep Convolutional GANs"): the generator is transposed convolutions with BatchNorm
   and ReLU, tanh out; the discriminator strided convolutions with LeakyReLU(0.2), no
   pooling, no fully connected layers; weights from N(0, 0.02). With spectral normalisation
   (`spectral`: torch.nn.utils.parametrizations.spectral_norm, Miyato et al. 2018) the
   discriminator drops BatchNorm. InfoGAN's categorical code (Chen et al. 2016) is read off
   the latent (`code_of`, `with_code`).
3. Latents and images: seeds, the truncation trick, BatchNorm's standing statistics for an
   averaged generator, a grid of images.

`gan.dcgan` and `gan.texture` build their models from these; `gan.training` trains them.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

AUGMENTS = ("color", "translation", "cutout")


def policy_ok(policy: str) -> bool:
    """Whether a DiffAugment policy names only known augmentations."""
    return all(p in AUGMENTS for p in policy.split(",") if p)


# ---------------------------------------------------------------------------------------
# 1. DiffAugment (after mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py)
# ---------------------------------------------------------------------------------------

def diff_augment(x: torch.Tensor, policy: str, gen: torch.Generator,
                 rows: slice | None = None, of: int | None = None) -> torch.Tensor:
    """Random, differentiable augmentations of a batch in [-1, 1]; one draw per image.
    With `rows` of a batch of `of` (a process's share under DDP), the draws are the whole
    batch's and these rows take theirs, so every process's stream stays the same."""
    n = of or x.shape[0]
    rows = rows or slice(0, n)
    for p in (q for q in policy.split(",") if q):
        x = _AUGMENT[p](x, gen, n, rows)
    return x.contiguous()


def _rand(x, gen, n, rows, *shape):
    return torch.rand(n, *shape, generator=gen, device="cpu")[rows].to(x.device, x.dtype)


def _randint(x, gen, n, rows, low, high):
    return torch.randint(low, high, (n, 1, 1), generator=gen)[rows].to(x.device)


def _color(x, gen, n, rows):
    x = x + (_rand(x, gen, n, rows, 1, 1, 1) - 0.5)                         # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, gen, n, rows, 1, 1, 1) * 2) + mean           # saturation
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x, gen, n, rows, 1, 1, 1) + 0.5) + mean      # contrast


def _translation(x, gen, n, rows, ratio: float = 0.125):
    """Shift by up to 1/8 of the side, filling with zeros (Zhao et al.'s gather form)."""
    b, _, h, w = x.shape
    sx, sy = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = _randint(x, gen, n, rows, -sx, sx + 1)
    ty = _randint(x, gen, n, rows, -sy, sy + 1)
    gb, gx, gy = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    pad = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return pad.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


def _cutout(x, gen, n, rows, ratio: float = 0.5):
    """Zero a square of half the side at a random place in each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ox = _randint(x, gen, n, rows, 0, h + (1 - ch % 2))
    oy = _randint(x, gen, n, rows, 0, w + (1 - cw % 2))
    gb, gx, gy = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gx = torch.clamp(gx + ox - ch // 2, 0, h - 1)
    gy = torch.clamp(gy + oy - cw // 2, 0, w - 1)
    mask = torch.ones(b, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


_AUGMENT = {"color": _color, "translation": _translation, "cutout": _cutout}



# ---------------------------------------------------------------------------------------
# 2. Networks (Radford et al. 2016; pytorch/examples dcgan/main.py)
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


def spectral(module: nn.Module, on: bool) -> nn.Module:
    """`module` with spectral normalisation on its weight (Miyato et al. 2018), if `on`."""
    return nn.utils.parametrizations.spectral_norm(module) if on else module


class Discriminator(nn.Module):
    """size x size RGB -> one logit per image (DCGAN's mirror of the generator); with
    `categories`, also InfoGAN's Q head: logits for the image's code, from the same
    features as the last layer."""

    def __init__(self, ndf: int, size: int, spectral_norm: bool, categories: int = 0):
        super().__init__()
        mults = list(reversed(_mults(size)))  # 1, 2, 4 (, 8)
        layers: list[nn.Module] = [spectral(nn.Conv2d(3, ndf, 4, 2, 1), spectral_norm),
                                   nn.LeakyReLU(0.2, True)]
        for a, b in zip(mults, mults[1:]):
            layers.append(spectral(nn.Conv2d(ndf * a, ndf * b, 4, 2, 1, bias=spectral_norm),
                                   spectral_norm))
            if not spectral_norm:
                layers.append(nn.BatchNorm2d(ndf * b))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(spectral(nn.Conv2d(ndf * mults[-1], 1, 4, 1, 0), spectral_norm))
        self.main = nn.Sequential(*layers)
        self.q = (spectral(nn.Conv2d(ndf * mults[-1], categories, 4, 1, 0), spectral_norm)
                  if categories else None)

    def forward(self, x: torch.Tensor, with_code: bool = False):
        if not with_code:
            return self.main(x).flatten(1).mean(1)
        h = self.main[:-1](x)
        return self.main[-1](h).flatten(1).mean(1), self.q(h).flatten(1)


def lower_layers(d: nn.Module, n: int) -> list[nn.Module]:
    """A discriminator's first `n` layers (FreezeD's frozen part, Mo et al. 2020): its first
    n convolutions, or what its own `lower_layers` names (the projected discriminator's
    first n blocks at every scale)."""
    if hasattr(d, "lower_layers"):
        return d.lower_layers(n)
    return [m for m in d.modules() if isinstance(m, nn.Conv2d)][:n]


def dcgan_init(m: nn.Module) -> None:
    """DCGAN: all weights from N(0, 0.02); BatchNorm scales from N(1, 0.02)."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)



# ---------------------------------------------------------------------------------------
# 3. Latents and images
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


def to_u8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
