"""Transformation robustness: random geometric and colour changes applied each step, so
what is optimised survives being moved, resized, rotated, re-rendered or photographed
(Olah et al. 2017; lucid's `standard_transforms`; White's Perception Engines).

All geometry of one sample (pad, jitter, scale, rotation, perspective) is one 3x3 matrix
and one `grid_sample`, so a batch of N differently transformed copies costs one call.

    robust = Robustness(jitter=12, scale=(0.9, 1.1), rotate=10)
    batch = robust(image, n=4, generator=g)       # (4, 3, H, W)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Robustness:
    pad: int = 12                  # pixels of constant padding before transforming (lucid: 12)
    pad_value: float = 0.5         # grey, as lucid pads
    jitter: float = 12.0           # max translation in pixels (lucid: jitter 8 then 4)
    scale: tuple[float, float] = (0.9, 1.1)  # lucid: 1 + (i - 5) / 50 for i in 0..10
    rotate: float = 10.0           # max rotation in degrees (lucid: -10..10)
    perspective: float = 0.0       # max corner displacement as a fraction of the size
    color: float = 0.0             # max brightness/contrast/per-channel shift
    crop_to_input: bool = True     # output has the input's size (the pad is cropped back off)

    def matrices(self, n: int, generator: torch.Generator | None, device) -> torch.Tensor:
        """n random 3x3 maps from output coordinates to input coordinates in [-1, 1]."""
        def u(lo, hi, size=(n,)):
            return torch.rand(size, generator=generator) * (hi - lo) + lo

        angle = u(-self.rotate, self.rotate) * math.pi / 180
        s = u(*self.scale)
        cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
        m = torch.zeros(n, 3, 3)
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, -sin, sin, cos
        m[:, :2, 2] = u(-1, 1, (n, 2)) * self.jitter  # in pixels; scaled by the caller
        m[:, 2, 2] = 1
        if self.perspective > 0:
            m[:, 2, :2] = u(-1, 1, (n, 2)) * self.perspective
        return m.to(device)

    def __call__(self, x: torch.Tensor, n: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """x: (1, 3, H, W) or (N, 3, H, W) in [0, 1] -> (n, 3, H, W)."""
        if x.shape[0] == 1 and n > 1:
            x = x.expand(n, -1, -1, -1)
        n = x.shape[0]
        _, _, h, w = x.shape
        if self.pad:
            x = F.pad(x, [self.pad] * 4, value=self.pad_value)
        ph, pw = x.shape[-2:]
        m = self.matrices(n, generator, x.device)
        m[:, 0, 2] = m[:, 0, 2] * 2 / pw   # pixels -> normalised coordinates
        m[:, 1, 2] = m[:, 1, 2] * 2 / ph
        # Output pixel centres: the un-padded region when cropping back to the input size.
        off, (oh, ow) = (self.pad, (h, w)) if self.crop_to_input else (0, (ph, pw))
        ys = -1 + 2 * (off + torch.arange(oh, device=x.device)) / max(ph - 1, 1)
        xs = -1 + 2 * (off + torch.arange(ow, device=x.device)) / max(pw - 1, 1)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        coords = torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(1, -1, 3)
        mapped = coords @ m.transpose(1, 2)
        grid = (mapped[..., :2] / mapped[..., 2:].clamp_min(1e-3)).reshape(n, oh, ow, 2)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
        if self.color > 0:
            def u(size):
                return (torch.rand(size, generator=generator) * 2 - 1).to(x.device) * self.color
            contrast = 1 + u((n, 1, 1, 1))
            shift = u((n, 3, 1, 1)) + u((n, 1, 1, 1))
            mean = out.mean((1, 2, 3), keepdim=True)
            out = ((out - mean) * contrast + mean + shift).clamp(0, 1)
        return out


def reflect_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Mirror `pad` pixels onto every side of (B, 3, H, W) before a network sees it.

    Why: EfficientNet's TensorFlow "same" padding puts a stride-2 convolution's extra
    pixel on the bottom/right only, so the top row and left column are seen by fewer
    filter taps and get about half the gradient of inside pixels. An optimiser that
    moves pixels (style transfer's L-BFGS) leaves them under-constrained, and they fill
    with rainbow noise. Mirrored, the border pixels sit inside the network's view and
    are seen like any other. (The mirror is capped below the image's own size.)"""
    pad = min(int(pad), x.shape[-2] - 1, x.shape[-1] - 1)
    return F.pad(x, [pad] * 4, mode="reflect") if pad > 0 else x


def resize(x: torch.Tensor, size, shrink: str = "bilinear") -> torch.Tensor:
    """Resize (B, 3, H, W) or (3, H, W) to (h, w): bicubic when growing; when shrinking,
    antialiased `shrink` interpolation (bilinear for gradients, as DeepDream's octaves;
    bicubic for pictures, as style transfer's scales)."""
    size = tuple(int(v) for v in size)
    if tuple(x.shape[-2:]) == size:
        return x
    if x.dim() == 3:
        return resize(x[None], size, shrink)[0]
    shrinking = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode=shrink if shrinking else "bicubic",
                         antialias=shrinking, align_corners=False)
