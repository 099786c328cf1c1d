"""Sketches: the line drawing a person might make of a picture, and the looser ones they do make.

A sketch here is a (1, S, S) float tensor in [0, 1]: white paper (1), dark ink (0).

- `canny`: Canny's edge detector (Canny 1986; scikit-image's `feature.canny`) on the
  picture's luminance: thin, connected contours where the intensity gradient peaks.
- `xdog`: the eXtended Difference of Gaussians (Winnemöller, Kyprianidis & Olsen 2012,
  "XDoG: An eXtended difference-of-Gaussians compendium"): D = G_sigma - tau G_(k sigma)
  of the luminance, thresholded softly, T = 1 if D >= eps else 1 + tanh(phi (D - eps)),
  then inked where T < 0.5 (a pen's line is ink or paper): strokes of varying weight,
  closer to a pen drawing than Canny's one-pixel contours.
  Specks smaller than a few pixels are erased, as a person would not draw them.
- `augment`: what makes the network accept a hand's sketch, not only the extractor's:
  each training sketch's strokes (its connected pieces of ink) dropped at random, the
  paper jittered by a smooth random warp, and the lines thickened by a random dilation.
- `read_sketch`: a sketch the user gives: an image (a canvas PNG, a scan, dark lines on
  light paper; light lines on dark paper are inverted) or SVG strokes (Reverie's portrait
  and sketch-rnn outputs), rasterised here with Pillow's ImageDraw.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reverie.core.errors import ReverieError

METHODS = ("xdog", "canny")


def luminance(picture: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (H, W) float64 luminance (Rec. 601 weights)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=picture.dtype)[:, None, None]
    return (picture * w).sum(0).double().numpy()


def canny(picture: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """Canny contours of the picture's luminance, as dark one-pixel lines on white.
    `sigma` is the Gaussian's in pixels of a 128-pixel picture (it scales with the side)."""
    from skimage import feature

    gray = luminance(picture)
    edges = feature.canny(gray, sigma=sigma * gray.shape[-1] / 128)
    return torch.from_numpy(1.0 - edges.astype(np.float32))[None]


def xdog(picture: torch.Tensor, sigma: float = 0.8, k: float = 1.6, tau: float = 0.985,
         eps: float = -0.005, phi: float = 300.0, min_size: int = 6) -> torch.Tensor:
    """XDoG lines (Winnemöller et al. 2012) of the picture's luminance, dark on white; specks
    under `min_size` pixels removed. `sigma` is in pixels of a 128-pixel picture."""
    from scipy.ndimage import gaussian_filter

    gray = luminance(picture)
    s = sigma * gray.shape[-1] / 128
    d = gaussian_filter(gray, s) - tau * gaussian_filter(gray, k * s)
    t = np.where(d >= eps, 1.0, 1.0 + np.tanh(phi * (d - eps)))
    ink = t < 0.5
    if min_size > 1:
        ink = _without_specks(ink, min_size)
    return torch.from_numpy((~ink).astype(np.float32))[None]


def _without_specks(ink: np.ndarray, size: int) -> np.ndarray:
    """Ink with its connected pieces of at most `size` pixels removed."""
    from skimage import measure
    labels = measure.label(ink, connectivity=2)
    counts = np.bincount(labels.ravel())
    small = counts <= size
    small[0] = False
    return ink & ~small[labels]


def extract(picture: torch.Tensor, method: str) -> torch.Tensor:
    """The sketch `method` ("xdog" or "canny") makes of a (3, H, W) picture."""
    if method == "canny":
        return canny(picture)
    if method == "xdog":
        return xdog(picture)
    raise ReverieError(f"unknown edge extractor {method!r}; use one of {', '.join(METHODS)}")


def extract_all(pictures: torch.Tensor, method: str) -> torch.Tensor:
    return torch.stack([extract(p, method) for p in pictures])


def strokes(sketch: torch.Tensor) -> torch.Tensor:
    """The connected pieces of ink of a (1, S, S) sketch, labelled 1.. (0: paper), int16."""
    from skimage import measure
    ink = (sketch[0] < 0.5).numpy()
    return torch.from_numpy(measure.label(ink, connectivity=2).astype(np.int16))


def augment(sketches: torch.Tensor, labels: torch.Tensor, gen: torch.Generator,
            drop: float = 0.15, jitter: float = 0.01, thicken: int = 2) -> torch.Tensor:
    """Looser versions of (N, 1, S, S) sketches whose strokes are `labels` (N, S, S): each
    stroke dropped with probability `drop`, the page warped smoothly by up to `jitter` of
    its side, the lines dilated by 0..`thicken` pixels (per sketch; scaled to the side)."""
    n, _, s, _ = sketches.shape
    ink = 1.0 - sketches
    if drop > 0:
        keep = []
        for i in range(n):
            count = int(labels[i].max())
            k = (torch.rand(count + 1, generator=gen) >= drop).float()
            k[0] = 1.0
            keep.append(k[labels[i].long()])
        ink = ink * torch.stack(keep)[:, None]
    if jitter > 0:
        flow = (torch.rand(n, 2, 4, 4, generator=gen) * 2 - 1) * (2 * jitter)
        flow = F.interpolate(flow, size=(s, s), mode="bicubic", align_corners=True)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, s), torch.linspace(-1, 1, s),
                                indexing="ij")
        grid = torch.stack([xs, ys], -1)[None] + flow.permute(0, 2, 3, 1)
        ink = F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros",
                            align_corners=True)
    if thicken > 0:
        radii = torch.randint(0, thicken + 1, (n,), generator=gen)
        scale = max(1, s // 128)
        out = []
        for i in range(n):
            r = int(radii[i]) * scale
            x = ink[i:i + 1]
            out.append(F.max_pool2d(x, 2 * r + 1, 1, r) if r else x)
        ink = torch.cat(out)
    return (1.0 - ink).clamp(0, 1)


# -- the user's sketches -------------------------------------------------------------------

def read_sketch(source, size: int) -> tuple[torch.Tensor, list[str]]:
    """A sketch to translate, (1, size, size) in [0, 1], and notes: an image path, an SVG
    of strokes, or a tensor ((1, H, W) sketch or (3, H, W) picture, in [0, 1])."""
    notes: list[str] = []
    if isinstance(source, torch.Tensor):
        x = source.detach().float()
        if x.dim() == 4 and x.shape[0] == 1:
            x = x[0]
        if x.dim() != 3 or x.shape[0] not in (1, 3):
            raise ReverieError(f"a sketch tensor must be (1, H, W) or (3, H, W), got "
                               f"{tuple(source.shape)}")
        gray = x.mean(0, keepdim=True) if x.shape[0] == 3 else x
    elif os.fspath(source).lower().endswith(".svg"):
        gray = rasterise_svg(source, size)
    else:
        from reverie.io.images import load_image
        gray = load_image(source).mean(0, keepdim=True)
    gray = _square(gray.clamp(0, 1))
    if float(gray.median()) < 0.5:
        gray = 1.0 - gray
        notes.append("the sketch is light lines on a dark ground: inverted to dark on light")
    if gray.shape[-1] != size:
        gray = F.interpolate(gray[None], size=(size, size), mode="area"
                             if gray.shape[-1] > size else "bilinear")[0].clamp(0, 1)
    if float((gray < 0.75).float().mean()) < 2e-4:
        name = "the sketch" if isinstance(source, torch.Tensor) else str(source)
        raise ReverieError(f"{name} is empty (no lines on it); draw some lines first")
    return gray, notes


def _square(gray: torch.Tensor) -> torch.Tensor:
    """Pad to a square with white paper, centred."""
    _, h, w = gray.shape
    if h == w:
        return gray
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    return F.pad(gray, (left, side - w - left, top, side - h - top), value=1.0)


def rasterise_svg(path: str | os.PathLike, size: int, width: float | None = None) -> torch.Tensor:
    """The strokes of an SVG (paths, polylines, lines, shapes; transforms applied) drawn in
    black on white with Pillow, fitted into a size x size square: (1, size, size)."""
    import svgelements
    from PIL import Image, ImageDraw

    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"sketch not found: {path}; check the path")
    try:
        svg = svgelements.SVG.parse(str(path))
    except Exception as exc:  # svgelements raises many kinds on bad XML
        raise ReverieError(f"{path} is not an SVG drawing this can read "
                           f"({type(exc).__name__}); give an SVG of paths or a PNG") from None
    lines = []
    for element in svg.elements():
        if not isinstance(element, svgelements.Shape) or isinstance(element, svgelements.Text):
            continue
        if element.stroke is None or element.stroke.value is None:
            if element.fill is None or element.fill.value is None:
                continue
            if isinstance(element, svgelements.Rect) and _covers(element, svg):
                continue  # a background
        for sub in abs(svgelements.Path(element)).as_subpaths():  # transforms applied
            pts: list[tuple[float, float]] = []
            for seg in sub:
                if isinstance(seg, svgelements.Move):
                    if len(pts) > 1:
                        lines.append(pts)
                    pts = [(seg.end.x, seg.end.y)]
                    continue
                n = 2 if isinstance(seg, (svgelements.Line, svgelements.Close)) else 16
                pts += [tuple(p) for p in seg.npoint(np.linspace(0, 1, n))[1:]]
            if len(pts) > 1:
                lines.append(pts)
    if not lines:
        raise ReverieError(f"{path} has no strokes (no paths, lines or shapes); draw some "
                           f"lines, or give a PNG")
    allp = np.concatenate([np.asarray(p, dtype=np.float64) for p in lines])
    lo, hi = allp.min(0), allp.max(0)
    span = max(float((hi - lo).max()), 1e-9)
    margin = 0.06 * size
    scale = (size - 2 * margin) / span
    offset = (size - (hi - lo) * scale) / 2 - lo * scale
    im = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(im)
    stroke = max(1, round(width if width is not None else size / 96))
    for p in lines:
        xy = [tuple(float(v) for v in np.asarray(q) * scale + offset) for q in p]
        draw.line(xy, fill=0, width=stroke, joint="curve")
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return torch.from_numpy(arr.copy())[None]


def _covers(rect, svg) -> bool:
    try:
        return rect.width >= 0.95 * float(svg.width) and rect.height >= 0.95 * float(svg.height)
    except (TypeError, ValueError, AttributeError):
        return False
