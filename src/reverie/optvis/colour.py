"""Colour: keep a photo's colours under a changed luminance (DeepDream, style transfer)."""
from __future__ import annotations

import torch

_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", _YIQ.to(x), x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(_YIQ).to(x), x)


def keep_colors(original: torch.Tensor, changed: torch.Tensor) -> torch.Tensor:
    """`changed`'s luminance (Y) with `original`'s chrominance (I and Q), same size."""
    c, o = rgb_to_yiq(changed), rgb_to_yiq(original)
    return yiq_to_rgb(torch.cat([c[..., :1, :, :], o[..., 1:, :, :]], -3)).clamp(0, 1)
