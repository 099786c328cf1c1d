"""Style images drawn by Reverie itself: no paintings ship offline, so the gallery and the
benchmarks paint with brush strokes, a wave field, a mosaic and a DeepDream of gravel.

Each is a (3, size, size) float tensor in [0, 1], the same for the same arguments.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from reverie.io.images import pil_to_tensor


def strokes_image(size: int = 384, seed: int = 0) -> torch.Tensor:
    """Thick curved brush strokes in a warm palette on a dark ground."""
    from PIL import Image, ImageDraw, ImageFilter
    rng = np.random.default_rng(seed)
    palette = [(233, 196, 106), (244, 162, 97), (231, 111, 81), (42, 157, 143), (38, 70, 83),
               (250, 240, 210)]
    im = Image.new("RGB", (size, size), (30, 30, 45))
    draw = ImageDraw.Draw(im)
    for _ in range(int(size * 3)):
        x, y = rng.uniform(0, size, 2)
        angle, length = rng.uniform(0, math.pi), rng.uniform(size * 0.04, size * 0.14)
        bend = rng.uniform(-0.6, 0.6)
        points = [(x + math.cos(angle + bend * t) * length * t, y + math.sin(angle + bend * t) * length * t)
                  for t in np.linspace(0, 1, 8)]
        color = tuple(int(c + rng.integers(-20, 20)) for c in palette[rng.integers(len(palette))])
        draw.line(points, fill=color, width=int(rng.integers(4, max(5, size // 22))), joint="curve")
    return pil_to_tensor(im.filter(ImageFilter.SMOOTH))


def waves_image(size: int = 384) -> torch.Tensor:
    """Interfering blue-and-white waves with a curl: a colour field with strong structure."""
    y, x = np.mgrid[0:size, 0:size] / size
    phase = (np.sin(12 * x + 4 * np.sin(6 * y)) + np.sin(14 * y + 3 * np.cos(5 * x))
             + 0.5 * np.sin(40 * (x + y)))
    t = (0.5 + 0.5 * np.sin(5 * phase)) ** 3          # contour bands: crests and troughs
    deep, foam = np.array([0.04, 0.12, 0.40]), np.array([0.85, 0.92, 1.0])
    rgb = deep * (1 - t[..., None]) + foam * t[..., None]
    rgb[t > 0.9] = [0.98, 0.98, 0.95]
    return torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1).contiguous()


def mosaic_image(size: int = 384, seed: int = 1) -> torch.Tensor:
    """Voronoi tiles in jewel colours with dark grout."""
    rng = np.random.default_rng(seed)
    n = 90
    points = rng.uniform(0, size, (n, 2))
    colors = rng.choice(np.array([[0.8, 0.1, 0.2], [0.95, 0.75, 0.1], [0.1, 0.5, 0.3],
                                  [0.15, 0.3, 0.75], [0.9, 0.9, 0.85], [0.55, 0.2, 0.6]]), n)
    yy, xx = np.mgrid[0:size, 0:size]
    d = (xx[..., None] - points[:, 0]) ** 2 + (yy[..., None] - points[:, 1]) ** 2
    order = np.sort(d, -1)
    nearest = d.argmin(-1)
    edge = np.sqrt(order[..., 1]) - np.sqrt(order[..., 0]) < 3
    rgb = colors[nearest] * rng.uniform(0.75, 1.1, n)[nearest][..., None]
    rgb[edge] = 0.08
    return torch.from_numpy(np.clip(rgb, 0, 1).astype(np.float32)).permute(2, 0, 1).contiguous()


def dream_style(size: int = 384, device: str = "auto") -> torch.Tensor:
    """A DeepDream of gravel (default settings): eyes and fur as a style."""
    from reverie.image.deepdream import dream
    return dream("sample:gravel", size=size, device=str(device)).image
