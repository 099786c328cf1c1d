"""Losses shared by the mechanisms that optimise images or sounds."""
from __future__ import annotations

import torch


def gram(f: torch.Tensor) -> torch.Tensor:
    """Feature correlations (Gatys et al.): (..., C, N) or (B, C, H, W) -> (..., C, C),
    averaged over positions so the size of the image or sound does not matter."""
    m = f.flatten(-2) if f.dim() == 4 else f
    return m @ m.transpose(-1, -2) / m.shape[-1]


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """L2 total variation (Mahendran and Vedaldi), as a mean so size does not matter."""
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def sqrtm_psd(a: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix (or a batch of them)."""
    vals, vecs = torch.linalg.eigh(a)
    return vecs @ torch.diag_embed(vals.clamp_min(0).sqrt()) @ vecs.transpose(-1, -2)
