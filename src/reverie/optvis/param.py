"""How an image is represented while it is optimised (after lucid's `param` module).

- `PixelImage`: the pixels themselves (DeepDream, style transfer).
- `FourierImage`: the image as a spectrum scaled by 1/frequency, in a decorrelated colour
  space, squashed by a sigmoid into [0, 1]. Gradient steps then change low frequencies as
  readily as high ones and colours in natural proportions, which is what makes activation
  maximisation look like a picture rather than adversarial noise (Olah et al. 2017).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

# Square root of ImageNet's colour covariance (lucid's color_correlation_svd_sqrt).
COLOR_CORRELATION_SVD_SQRT = torch.tensor([[0.26, 0.09, 0.02],
                                           [0.27, 0.00, -0.05],
                                           [0.27, -0.09, 0.03]])
COLOR_CORRELATION = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()


class PixelImage(nn.Module):
    def __init__(self, init: torch.Tensor):
        super().__init__()
        self.pixels = nn.Parameter(init.clone())

    def forward(self) -> torch.Tensor:
        return self.pixels


def rfft2d_freqs(h: int, w: int) -> np.ndarray:
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    return np.sqrt(fx * fx + fy * fy)


class FourierImage(nn.Module):
    """A batch of images parameterised by a 1/f-scaled spectrum in decorrelated colour."""

    def __init__(self, batch: int, height: int, width: int, sd: float = 0.01,
                 decay_power: float = 1.0, decorrelate: bool = True,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.size, self.decorrelate = (height, width), decorrelate
        freqs = rfft2d_freqs(height, width)
        scale = 1.0 / np.maximum(freqs, 1.0 / max(height, width)) ** decay_power
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32)[None, None, ..., None])
        self.spectrum = nn.Parameter(torch.randn(batch, 3, *freqs.shape, 2, generator=generator) * sd)

    def forward(self) -> torch.Tensor:
        spectrum = torch.view_as_complex((self.scale * self.spectrum).contiguous())
        image = torch.fft.irfftn(spectrum, s=self.size, norm="ortho") / 4.0  # lucid's 'magic' 4
        if self.decorrelate:
            image = torch.einsum("bchw,dc->bdhw", image, COLOR_CORRELATION.to(image.device))
        return torch.sigmoid(image)
