"""pix2pix's networks (Isola, Zhu, Zhou & Efros 2017, "Image-to-Image Translation with
Conditional Adversarial Networks"; junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py).

- `UnetGenerator`: an encoder-decoder whose every encoder layer is also handed, by a skip
  connection, to the decoder layer of the same size, so the sketch's exact line positions
  need not squeeze through the bottleneck. `unet_128` has 7 down-samplings, `unet_256` 8
  (the bottleneck is 1x1 at those sizes). Convolutions 4x4 stride 2, LeakyReLU(0.2) down,
  ReLU up, dropout 0.5 in the three innermost decoder layers (pix2pix's noise), tanh out.
- `NLayerDiscriminator`: the PatchGAN. With n_layers=3 each output logit sees a 70x70
  patch of the (sketch, picture) pair, so it judges texture and local structure and leaves
  low frequencies to the L1 term; its map of logits is also "where it finds the output fake".
- `GANLoss`: vanilla (the cross-entropy of the original GAN) or lsgan (least squares).
- `batch_statistics`: pix2pix's test.py runs BatchNorm on the test image's own statistics
  (it does not call eval() by default); this does the same without touching the buffers.
"""
from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn as nn

DOWNS = {"unet_128": 7, "unet_256": 8}


def norm_layer(norm: str):
    if norm == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)


class UnetSkipConnectionBlock(nn.Module):
    """One level of the U-Net: down, the inner levels, up, and the skip (concatenation)."""

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False,
                 innermost: bool = False, norm=nn.BatchNorm2d, use_dropout: bool = False,
                 output_nc: int | None = None):
        super().__init__()
        self.outermost = outermost
        use_bias = norm.func == nn.InstanceNorm2d if isinstance(norm, functools.partial) \
            else norm == nn.InstanceNorm2d
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=use_bias)
        downrelu, downnorm = nn.LeakyReLU(0.2, True), norm(inner_nc)
        uprelu, upnorm = nn.ReLU(True), norm(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, output_nc or outer_nc, 4, 2, 1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """Sketch (input_nc) -> picture (output_nc) in [-1, 1], `num_downs` levels deep."""

    def __init__(self, input_nc: int, output_nc: int, num_downs: int, ngf: int = 64,
                 norm=nn.BatchNorm2d, use_dropout: bool = True):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm=norm, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm,
                                            use_dropout=use_dropout)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc,
                                             submodule=block, outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """The PatchGAN: (sketch, picture) concatenated -> a map of logits, one per patch."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm=nn.BatchNorm2d):
        super().__init__()
        use_bias = isinstance(norm, functools.partial) and norm.func == nn.InstanceNorm2d
        seq: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=use_bias),
                    norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=use_bias), norm(ndf * mult),
                nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def receptive_field(n_layers: int) -> int:
    """Pixels one PatchGAN logit sees: 70 for n_layers=3 (pix2pix's "70x70 PatchGAN")."""
    rf = 1
    for _ in range(2):           # the two stride-1 4x4 convolutions at the end
        rf += 3
    for _ in range(n_layers):    # the stride-2 ones, inside out
        rf = rf * 2 + 2
    return rf


class GANLoss(nn.Module):
    """vanilla: binary cross-entropy on the logits; lsgan: squared distance to 1 or 0."""

    def __init__(self, mode: str):
        super().__init__()
        self.loss = nn.MSELoss() if mode == "lsgan" else nn.BCEWithLogitsLoss()

    def forward(self, prediction: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.ones_like(prediction) if real else torch.zeros_like(prediction)
        return self.loss(prediction, target)


def init_weights(net: nn.Module, gain: float = 0.02) -> None:
    """pix2pix's 'normal' init: convolutions from N(0, 0.02), norm scales from N(1, 0.02)."""
    def init(m):
        name = type(m).__name__
        if hasattr(m, "weight") and ("Conv" in name or "Linear" in name):
            nn.init.normal_(m.weight, 0.0, gain)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif "BatchNorm2d" in name:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    net.apply(init)


def build_generator(netG: str, ngf: int, norm: str, dropout: bool) -> UnetGenerator:
    g = UnetGenerator(1, 3, DOWNS[netG], ngf, norm_layer(norm), dropout)
    init_weights(g)
    return g


def build_discriminator(ndf: int, n_layers: int, norm: str) -> NLayerDiscriminator:
    d = NLayerDiscriminator(1 + 3, ndf, n_layers, norm_layer(norm))
    init_weights(d)
    return d


@contextlib.contextmanager
def batch_statistics(net: nn.Module):
    """Eval mode (no dropout), with every BatchNorm normalising by the batch's own statistics
    (pix2pix's test time) and its running buffers left as they are."""
    was = net.training
    saved = []
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            saved.append((m, m.running_mean, m.running_var))
            m.running_mean = m.running_var = None
    net.eval()
    try:
        yield net
    finally:
        for m, mean, var in saved:
            m.running_mean, m.running_var = mean, var
        net.train(was)


@torch.no_grad()
def translate(g: nn.Module, sketches: torch.Tensor) -> torch.Tensor:
    """Sketches (N, 1, S, S) in [0, 1] (white paper, dark ink) -> pictures (N, 3, S, S) in
    [0, 1], one at a time (so each is normalised by its own statistics)."""
    out = []
    with batch_statistics(g):
        for s in sketches:
            out.append(g(s[None] * 2 - 1)[0])
    return ((torch.stack(out) + 1) / 2).clamp(0, 1)


@torch.no_grad()
def patch_map(d: nn.Module, sketch: torch.Tensor, picture: torch.Tensor) -> torch.Tensor:
    """The discriminator's probability that each patch is real, (N, h, w), for sketches and
    pictures in [0, 1]."""
    with batch_statistics(d):
        logits = torch.cat([d(torch.cat([s[None], p[None]], 1) * 2 - 1)
                            for s, p in zip(sketch, picture)])
    return torch.sigmoid(logits[:, 0])
