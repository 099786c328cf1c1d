"""Projected GAN's discriminator: judge images on a frozen pretrained network's features.

Sauer, Chitta, Müller & Geiger 2021, "Projected GANs Converge Faster" (NeurIPS; code:
autonomousvision/projected-gan, pg_modules/projector.py and discriminator.py). Instead of
learning to see from pixels, the discriminator looks through a frozen ImageNet network:
EfficientNet-Lite0, the feature network the paper found best (Reverie ships Lite0 to Lite2).
Read top to bottom:

1. The feature network, frozen: images resized to `interp_size` (the paper's `interp224`),
   four taps at strides 4, 8, 16 and 32 (Lite's stages 2, 3, 5 and 7, pg_modules'
   `blocks[0:2]`, `[2:3]`, `[3:5]`, `[5:9]`).
2. The random projections, fixed at initialisation and never trained: cross-channel mixing
   (CCM, a random 1x1 convolution per tap, to `cout`, 2`cout`, 4`cout`, 8`cout` channels)
   and cross-scale mixing (CSM: from the deepest tap up, each map added to the one above,
   upsampled twice and mixed by another random 1x1 convolution, as a feature pyramid).
   They spread the pretrained features over all channels, so the discriminator cannot
   ignore most of them (the paper's ablation: without them, FID several times worse).
3. Multi-scale discriminators: one small convolutional discriminator per mixed map (the
   paper's `num_discs`, 4), strided 4x4 convolutions with spectral norm, BatchNorm and
   LeakyReLU(0.2) down to 4x4 or less, then a 4x4 convolution to a field of logits. Every
   logit of every scale goes into the hinge loss.

Only part 3 learns. The generator's gradient flows back through parts 2 and 1 to the image;
the frozen weights never change. DiffAugment stays: the trainer augments real and fake
alike before the discriminator, as the paper's does.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.gan.networks import lower_layers, spectral

TAPS = ("stage2", "stage3", "stage5", "stage7")  # strides 4, 8, 16, 32 in every Lite net


def _frozen_net(backbone: str, device: torch.device):
    from reverie.nets.zoo import load_net

    with torch.random.fork_rng(devices=[]):  # loading draws initial weights: not our stream
        return load_net(backbone, device)


class ProjectedDiscriminator(nn.Module):
    """Images in [-1, 1] -> (B, K) logits, K over every patch of every scale; with
    `categories`, also InfoGAN's Q head (on the deepest scale)."""

    def __init__(self, backbone: str = "lite0", interp_size: int = 64, cout: int = 64,
                 num_discs: int = 4, ndf: int = 64, spectral_norm: bool = True,
                 categories: int = 0):
        super().__init__()
        self.backbone, self.interp_size, self.num_discs = backbone, interp_size, num_discs
        net = _frozen_net(backbone, torch.device("cpu"))
        chans = [net.layers[t].channels for t in TAPS]
        # 2. random projections: fixed (requires_grad off), saved with the discriminator so
        # a resumed run judges through the same ones
        mixed = [cout, cout * 2, cout * 4, cout * 8]
        self.ccm = nn.ModuleList(nn.Conv2d(c, m, 1) for c, m in zip(chans, mixed))
        outs = [cout, cout, cout * 2, cout * 4]  # CSM halves the channels as it climbs
        self.csm = nn.ModuleList(nn.Conv2d(m, o, 1) for m, o in zip(mixed, outs))
        self.ccm.requires_grad_(False)
        self.csm.requires_grad_(False)
        # 3. one discriminator per scale, finest first; a mixed map is at twice its tap's
        # resolution (CSM upsamples)
        sizes = [max(1, interp_size // s) * 2 for s in (4, 8, 16, 32)]
        self.discs = nn.ModuleList(_mini_disc(o, r, ndf, spectral_norm)
                                   for o, r in list(zip(outs, sizes))[:num_discs])
        deepest = self.discs[-1]
        self.q = (spectral(nn.Conv2d(deepest[-1].in_channels, categories, 1), spectral_norm)
                  if categories else None)

    def train(self, mode: bool = True):
        super().train(mode)
        self.ccm.eval()
        self.csm.eval()
        return self

    def project(self, x: torch.Tensor) -> list[torch.Tensor]:
        """1 and 2: the mixed feature maps, finest first."""
        net = _frozen_net(self.backbone, x.device)
        x = F.interpolate((x + 1) / 2, size=(self.interp_size, self.interp_size),
                          mode="bilinear", align_corners=False)
        taps = net.features(x, list(TAPS))
        feats = [ccm(taps[t]) for ccm, t in zip(self.ccm, TAPS)]
        out: list[torch.Tensor] = [None] * 4  # type: ignore[list-item]
        h = None
        for i in reversed(range(4)):  # from the deepest up, as a feature pyramid
            h = feats[i] if h is None else h + feats[i]
            h = self.csm[i](F.interpolate(h, scale_factor=2, mode="bilinear",
                                          align_corners=True))
            out[i] = h
        return out

    def forward(self, x: torch.Tensor, with_code: bool = False):
        feats = self.project(x)
        logits, q = [], None
        for i, disc in enumerate(self.discs):
            h = disc[:-1](feats[i])
            logits.append(disc[-1](h).flatten(1))
            if self.q is not None and i == len(self.discs) - 1:
                q = self.q(h).mean((2, 3))
        logits = torch.cat(logits, 1)
        return (logits, q) if with_code else logits

    def lower_layers(self, n: int) -> list[nn.Module]:
        """FreezeD's lower layers: the first `n` blocks of every scale's discriminator."""
        return [b for disc in self.discs for b in list(disc[:-1])[:n]]


def _width(res: int, ndf: int) -> int:
    """Channels at a map of side `res`: ndf at 16 px and above, doubling as the side halves,
    at most 4 ndf (pg_modules' channel_dict doubles the same way from 32 channels at 256 px
    to 512; a quarter of its widths keeps a CPU step short)."""
    return int(min(4 * ndf, max(ndf, ndf * 16 // max(res, 1))))


def _mini_disc(cin: int, res: int, ndf: int, spectral_norm: bool) -> nn.Sequential:
    """Down blocks (4x4 stride-2 conv, BatchNorm, LeakyReLU 0.2) to 4x4 or less, then a
    conv to one logit per patch (pg_modules' SingleDisc)."""
    blocks: list[nn.Module] = []
    while res > 4:
        cout = _width(res // 2, ndf)
        blocks.append(nn.Sequential(spectral(nn.Conv2d(cin, cout, 4, 2, 1, bias=False),
                                             spectral_norm),
                                    nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)))
        cin, res = cout, res // 2
    k = min(4, res)
    blocks.append(spectral(nn.Conv2d(cin, 1, k, 1, 0, bias=False), spectral_norm))
    return nn.Sequential(*blocks)


def projected_discriminator(cfg, categories: int = 0) -> ProjectedDiscriminator:
    """The projected discriminator a GAN config's knobs describe."""
    return ProjectedDiscriminator(cfg.backbone, cfg.interp_size, cfg.cout, cfg.num_discs,
                                  cfg.ndf, cfg.spectral_norm, categories)


class BothDiscriminators(nn.Module):
    """The GAN's own discriminator on pixels beside the projected one, their losses summed
    (as Vision-aided GAN, Kumari et al. 2022, adds pretrained-feature discriminators to the
    original): an ImageNet network is built to ignore a picture's overall brightness and
    colour, which the pixel discriminator sees. InfoGAN's Q head is the plain one's."""

    def __init__(self, plain: nn.Module, projected: ProjectedDiscriminator):
        super().__init__()
        self.plain, self.projected = plain, projected
        self.projected_on = True   # off during the trainer's warmup: the plain one alone

    def forward(self, x: torch.Tensor, with_code: bool = False):
        if with_code:
            own, q = self.plain(x, with_code=True)
        else:
            own, q = self.plain(x), None
        if self.projected_on:
            p = self.projected(x)
            # the pixel logit counts as much as all the projected ones together
            logits = torch.cat([own[:, None].expand(-1, p.shape[1]), p], 1)
        else:
            logits = own[:, None]
        return (logits, q) if with_code else logits

    def lower_layers(self, n: int) -> list[nn.Module]:
        return lower_layers(self.plain, n) + self.projected.lower_layers(n)

