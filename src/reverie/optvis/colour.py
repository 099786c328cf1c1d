"""Colour: keep a photo's colours under a changed luminance (DeepDream, style transfer),
and move one image's colour statistics to another's."""
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


def match_colors(source: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Recolour `source` (3, H, W) so its RGB mean and covariance are the reference's
    (the linear colour transfer of Gatys et al. 2017, "Controlling perceptual factors")."""
    from reverie.optvis.losses import sqrtm_psd

    def moments(x):
        m = x.flatten(1)
        mu = m.mean(1, keepdim=True)
        c = (m - mu) @ (m - mu).T / m.shape[1] + eps * torch.eye(3, dtype=x.dtype)
        return m, mu, c
    m, mu_s, cov_s = moments(source.double())
    _, mu_r, cov_r = moments(reference.double())
    vals, vecs = torch.linalg.eigh(cov_s)
    inv_root_s = vecs @ torch.diag(vals.rsqrt()) @ vecs.T
    out = sqrtm_psd(cov_r) @ inv_root_s @ (m - mu_s) + mu_r
    return out.view_as(source).clamp(0, 1).to(source.dtype)


def edge_spread(image: torch.Tensor, rows: int = 4) -> dict[str, float]:
    """Colour spread (each pixel's standard deviation across R, G, B, in 0-255 units),
    averaged over the outer `rows` rows or columns of each side and over the inside (the
    image less a margin of 4 * rows). A border the loss does not see fills with rainbow
    noise: its side's spread stands far above the inside's."""
    s = image.detach().float().cpu().mul(255).std(0)
    m = 4 * rows
    return {"top": float(s[:rows].mean()), "bottom": float(s[-rows:].mean()),
            "left": float(s[:, :rows].mean()), "right": float(s[:, -rows:].mean()),
            "inside": float(s[m:-m, m:-m].mean())}
