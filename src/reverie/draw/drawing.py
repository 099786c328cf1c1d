"""Constrained drawing systems for Perception Engines: `lines`, `blobs` and `curves`.

A drawing is a background colour and N strokes, every number in [0, 1] (Tom White's
renderers take "an array of real vectors, each component normalised 0-1"):

    lines   x1 y1 x2 y2 width r g b               straight strokes with round caps (White's lines1)
    curves  x0 y0 x1 y1 x2 y2 x3 y3 width r g b   cubic Bezier strokes, round caps and joins
    blobs   cx cy rx ry angle r g b               filled, rotated ellipses

Positions are fractions of the canvas; `width` maps to [min_width, max_width] of the
canvas side (White: half-widths 0.004-0.04 of the size), radii to [min_radius, max_radius].

Two renderers share that geometry:

- `soft_render`: differentiable, in PyTorch. Each stroke's coverage of a pixel is
  sigmoid(sharpness * (half width - distance to the stroke)), a distance field as in
  diffvg-style soft rasterisers; strokes are composited in order (painter's algorithm).
  As the sharpness (per pixel) grows it converges to the crisp drawing; planners anneal
  it from soft (useful gradients far from an edge) to crisp.
- `render_png`: exact. The drawing is first written as SVG elements (numbers rounded as
  the SVG file states them, colours as 8-bit hex), and those elements are drawn with
  Pillow on a supersampled canvas and box-filtered down (area coverage, antialiased).
  `to_svg` writes the same elements and `load_svg` reads them back, so an SVG re-renders
  to the same PNG, pixel for pixel, at any output size.
"""
from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from reverie.core.errors import ReverieError

SYSTEMS = ("lines", "curves", "blobs")
STROKE_DIMS = {"lines": 8, "curves": 12, "blobs": 8}
COLOR_COLUMNS = {"lines": slice(5, 8), "curves": slice(9, 12), "blobs": slice(5, 8)}

# Fixed palettes: the first colour is the background, strokes take the others in turn.
PALETTES = {
    "ink": ["#ffffff", "#000000"],            # White's ink prints: black on white paper
    "chalk": ["#000000", "#ffffff"],
    "sumi": ["#f4efe4", "#111111", "#b22222"],  # ink with a red seal colour, on warm paper
    "riso": ["#ffffff", "#0078bf", "#ff48b0", "#ffe800"],
}


@dataclass
class Shape:
    """How [0, 1] parameters map to sizes, as fractions of the canvas side."""
    min_width: float = 0.008   # White's lines1: half-width 0.004 * size ...
    max_width: float = 0.08    # ... to 0.04 * size
    min_radius: float = 0.02   # blobs
    max_radius: float = 0.25
    curve_segments: int = 12   # polyline pieces per Bezier in the soft rasteriser


@dataclass
class Drawing:
    """A background colour (3,) and strokes (N, D), all in [0, 1]; `size` is the canvas
    side in pixels (the SVG's width and height)."""
    system: str
    size: int
    background: torch.Tensor
    strokes: torch.Tensor
    shape: Shape = field(default_factory=Shape)

    def detach(self) -> "Drawing":
        return Drawing(self.system, self.size, self.background.detach().clone().cpu(),
                       self.strokes.detach().clone().cpu(), self.shape)

    def to_dict(self) -> dict:
        return {"system": self.system, "size": self.size,
                "background": [round(float(v), 6) for v in self.background],
                "strokes": [[round(float(v), 6) for v in row] for row in self.strokes]}


def check_system(system: str) -> str:
    if system not in SYSTEMS:
        import difflib
        close = difflib.get_close_matches(system, SYSTEMS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ReverieError(f"unknown drawing system {system!r}{hint}; choose one of {', '.join(SYSTEMS)}")
    return system


def parse_color(text: str) -> tuple[float, float, float]:
    t = text.strip().lstrip("#")
    if len(t) == 3:
        t = "".join(c * 2 for c in t)
    if len(t) != 6 or any(c not in "0123456789abcdefABCDEF" for c in t):
        raise ReverieError(f"colour {text!r} is not a hex colour; write it like #1a2b3c or #fff")
    return tuple(int(t[i:i + 2], 16) / 255.0 for i in (0, 2, 4))


def palette_colors(palette: str | None) -> list[tuple[float, float, float]] | None:
    """None for free colours; otherwise [background, stroke colours...] from a palette name
    or a comma-separated list of hex colours (the first is the background)."""
    if palette in (None, "", "free"):
        return None
    if palette in PALETTES:
        return [parse_color(c) for c in PALETTES[palette]]
    if "#" in palette or "," in palette:
        colors = [parse_color(c) for c in palette.split(",") if c.strip()]
        if len(colors) < 2:
            raise ReverieError("a palette needs a background and at least one stroke colour, "
                               "e.g. '#ffffff,#000000'")
        return colors
    raise ReverieError(f"unknown palette {palette!r}; use free, {', '.join(PALETTES)}, "
                       f"or hex colours such as '#ffffff,#000000' (background first)")


def random_drawing(system: str, strokes: int, size: int, generator: torch.Generator | None = None,
                   palette: str | None = None, shape: Shape | None = None) -> Drawing:
    """Uniform random parameters in [0.02, 0.98] (White's random start), palette applied."""
    check_system(system)
    if strokes < 1:
        raise ReverieError(f"a drawing needs at least 1 stroke, got {strokes}; use e.g. 20 strokes")
    s = torch.rand(strokes, STROKE_DIMS[system], generator=generator) * 0.96 + 0.02
    bg = torch.rand(3, generator=generator) * 0.96 + 0.02
    d = Drawing(system, size, bg, s, shape or Shape())
    return apply_palette(d, palette)


def apply_palette(d: Drawing, palette: str | None) -> Drawing:
    colors = palette_colors(palette)
    if colors is None:
        return d
    bg = torch.tensor(colors[0], dtype=d.strokes.dtype)
    strokes = d.strokes.clone()
    inks = torch.tensor(colors[1:], dtype=d.strokes.dtype)
    strokes[:, COLOR_COLUMNS[d.system]] = inks[torch.arange(len(strokes)) % len(inks)]
    return Drawing(d.system, d.size, bg, strokes, d.shape)


def free_columns(system: str, palette: str | None) -> torch.Tensor:
    """(D,) mask of the stroke parameters a planner may change (colours fixed by a palette)."""
    mask = torch.ones(STROKE_DIMS[system], dtype=torch.bool)
    if palette_colors(palette) is not None:
        mask[COLOR_COLUMNS[system]] = False
    return mask


# --- geometry: [0, 1] parameters to canvas pixels -------------------------------------------

def _widths(w: torch.Tensor, size: int, shape: Shape) -> torch.Tensor:
    return (shape.min_width + w * (shape.max_width - shape.min_width)) * size


def _radii(r: torch.Tensor, size: int, shape: Shape) -> torch.Tensor:
    return (shape.min_radius + r * (shape.max_radius - shape.min_radius)) * size


def bezier_points(ctrl: torch.Tensor, k: int) -> torch.Tensor:
    """(N, 8) control points -> (N, k + 1, 2) points on each cubic Bezier."""
    t = torch.linspace(0, 1, k + 1, dtype=ctrl.dtype, device=ctrl.device).view(1, -1, 1)
    p0, p1, p2, p3 = (ctrl[:, 2 * i:2 * i + 2].unsqueeze(1) for i in range(4))
    u = 1 - t
    return u ** 3 * p0 + 3 * u ** 2 * t * p1 + 3 * u * t ** 2 * p2 + t ** 3 * p3


# --- the soft (differentiable) rasteriser ---------------------------------------------------

def _segment_distance(px, py, ax, ay, bx, by):
    """Distance from pixel centres (H, W) to segments (..., 1, 1) -> (..., H, W)."""
    dx, dy = bx - ax, by - ay
    t = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy + 1e-6)).clamp(0, 1)
    ex, ey = px - (ax + t * dx), py - (ay + t * dy)
    return torch.sqrt(ex * ex + ey * ey + 1e-6)


def soft_render(d: Drawing, sharpness: float = 4.0, width_scale: torch.Tensor | None = None,
                margin: int = 0, scale: float = 1.0) -> torch.Tensor:
    """Differentiable render -> (B, 3, H, W), B = rows of `width_scale` (B, N) (stroke-width
    noise; default one image at the stated widths). `sharpness` is per canvas pixel.
    `margin` pixels of background are added on every side; `scale` rasterises at a
    different resolution (coordinates and widths scale with it)."""
    size, shape, s = d.size, d.shape, d.strokes
    dev, dt = s.device, s.dtype
    res = round((size + 2 * margin) * scale)
    coords = (torch.arange(res, device=dev, dtype=dt) + 0.5) / scale - margin  # canvas px
    py, px = coords.view(-1, 1), coords.view(1, -1)
    if width_scale is None:
        width_scale = torch.ones(1, len(s), device=dev, dtype=dt)
    k = sharpness  # per canvas pixel
    if d.system == "lines":
        p = s[:, :4] * size
        dist = _segment_distance(px, py, *(p[:, i].view(-1, 1, 1) for i in range(4)))  # (N,H,W)
        half = _widths(s[:, 4], size, shape).view(1, -1, 1, 1) * width_scale[..., None, None] / 2
        cover = torch.sigmoid(k * (half - dist.unsqueeze(0)))  # (B, N, H, W)
        colors = s[:, 5:8]
    elif d.system == "curves":
        pts = bezier_points(s[:, :8] * size, shape.curve_segments)  # (N, K+1, 2)
        a, b = pts[:, :-1], pts[:, 1:]
        dist = _segment_distance(px, py, *(v[..., None, None] for v in (a[..., 0], a[..., 1], b[..., 0], b[..., 1])))
        dist = dist.amin(1)  # nearest piece of each curve: round joins, as the exact render
        half = _widths(s[:, 8], size, shape).view(1, -1, 1, 1) * width_scale[..., None, None] / 2
        cover = torch.sigmoid(k * (half - dist.unsqueeze(0)))
        colors = s[:, 9:12]
    else:  # blobs: approximate signed distance to a rotated ellipse (k0 (k0 - 1) / k1)
        cx, cy = (s[:, 0] * size).view(-1, 1, 1), (s[:, 1] * size).view(-1, 1, 1)
        rx, ry = _radii(s[:, 2], size, shape).view(-1, 1, 1), _radii(s[:, 3], size, shape).view(-1, 1, 1)
        ang = (s[:, 4] * math.pi).view(-1, 1, 1)
        ux = (px - cx) * torch.cos(ang) + (py - cy) * torch.sin(ang)
        uy = -(px - cx) * torch.sin(ang) + (py - cy) * torch.cos(ang)
        covers = []
        for row in width_scale:  # blob size noise: radii scale with the "width" noise
            r1, r2 = rx * row.view(-1, 1, 1), ry * row.view(-1, 1, 1)
            k0 = torch.sqrt((ux / r1) ** 2 + (uy / r2) ** 2 + 1e-8)
            k1 = torch.sqrt((ux / r1 ** 2) ** 2 + (uy / r2 ** 2) ** 2 + 1e-8)
            covers.append(torch.sigmoid(-k * k0 * (k0 - 1) / k1))
        cover = torch.stack(covers)
        colors = s[:, 5:8]
    bsz = cover.shape[0]
    img = d.background.view(1, 3, 1, 1).expand(bsz, 3, res, res)
    for i in range(cover.shape[1]):  # painter's algorithm, first stroke at the bottom
        a = cover[:, i:i + 1]
        img = img * (1 - a) + colors[i].view(1, 3, 1, 1) * a
    return img


# --- SVG elements: the exact drawing as the file states it ----------------------------------

def _r(v: float) -> float:
    return round(float(v), 3)


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(float(min(max(c, 0.0), 1.0)) * 255)):02x}" for c in rgb)


def svg_elements(d: Drawing) -> tuple[str, list[dict]]:
    """(background hex, elements) with numbers rounded exactly as the SVG writes them."""
    s, size, shape = d.strokes.detach().cpu().double(), d.size, d.shape
    elements = []
    for row in s:
        if d.system == "lines":
            x1, y1, x2, y2 = (_r(v * size) for v in row[:4])
            elements.append({"tag": "line", "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                             "width": _r(_widths(row[4], size, shape)), "color": _hex(row[5:8])})
        elif d.system == "curves":
            pts = [_r(v * size) for v in row[:8]]
            elements.append({"tag": "path", "points": pts,
                             "width": _r(_widths(row[8], size, shape)), "color": _hex(row[9:12])})
        else:
            elements.append({"tag": "ellipse", "cx": _r(row[0] * size), "cy": _r(row[1] * size),
                             "rx": _r(_radii(row[2], size, shape)), "ry": _r(_radii(row[3], size, shape)),
                             "angle": _r(row[4] * 180.0), "color": _hex(row[5:8])})
    return _hex(d.background), elements


def to_svg(d: Drawing, title: str = "") -> str:
    bg, elements = svg_elements(d)
    n = d.size
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{n}" height="{n}" viewBox="0 0 {n} {n}" '
           f'data-system="{d.system}">']
    if title:
        out.append(f"  <title>{_xml_escape(title)}</title>")
    out.append(f'  <rect x="0" y="0" width="{n}" height="{n}" fill="{bg}"/>')
    for e in elements:
        if e["tag"] == "line":
            out.append(f'  <line x1="{e["x1"]}" y1="{e["y1"]}" x2="{e["x2"]}" y2="{e["y2"]}" '
                       f'stroke="{e["color"]}" stroke-width="{e["width"]}" stroke-linecap="round"/>')
        elif e["tag"] == "path":
            p = e["points"]
            out.append(f'  <path d="M {p[0]} {p[1]} C {p[2]} {p[3]} {p[4]} {p[5]} {p[6]} {p[7]}" '
                       f'fill="none" stroke="{e["color"]}" stroke-width="{e["width"]}" '
                       f'stroke-linecap="round" stroke-linejoin="round"/>')
        else:
            out.append(f'  <ellipse cx="{e["cx"]}" cy="{e["cy"]}" rx="{e["rx"]}" ry="{e["ry"]}" '
                       f'transform="rotate({e["angle"]} {e["cx"]} {e["cy"]})" fill="{e["color"]}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_svg(d: Drawing, path: str | os.PathLike, title: str = "") -> Path:
    from reverie.io.files import save_text

    return save_text(to_svg(d, title), path)


def parse_svg(text: str) -> tuple[int, str, str, list[dict]]:
    """The SVG this module writes -> (size, system, background hex, elements)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ReverieError(f"the SVG is not well-formed XML ({exc}); give a drawing written by "
                           f"reverie perceive") from None
    ns = "{http://www.w3.org/2000/svg}"
    try:
        size = int(float(root.get("width")))
        bg, elements, kinds = "#ffffff", [], set()
        for el in root:
            tag = el.tag.replace(ns, "")
            if tag == "rect":
                bg = el.get("fill")
            elif tag == "line":
                elements.append({"tag": "line", **{k: float(el.get(k)) for k in ("x1", "y1", "x2", "y2")},
                                 "width": float(el.get("stroke-width")), "color": el.get("stroke")})
                kinds.add("lines")
            elif tag == "path":
                nums = [float(v) for v in el.get("d").replace("M", " ").replace("C", " ").split()]
                if len(nums) != 8:
                    raise ValueError("only single cubic Bezier paths (M x y C ...) are supported")
                elements.append({"tag": "path", "points": nums, "width": float(el.get("stroke-width")),
                                 "color": el.get("stroke")})
                kinds.add("curves")
            elif tag == "ellipse":
                rot = el.get("transform", "rotate(0)").strip()[len("rotate("):-1].split()
                elements.append({"tag": "ellipse", **{k: float(el.get(k)) for k in ("cx", "cy", "rx", "ry")},
                                 "angle": float(rot[0]), "color": el.get("fill")})
                kinds.add("blobs")
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ReverieError(f"the SVG is not a Reverie drawing ({exc}); give a drawing written by "
                           f"reverie perceive") from None
    system = root.get("data-system") or (kinds.pop() if len(kinds) == 1 else "lines")
    if len(kinds) > 1:
        raise ReverieError("the SVG mixes lines, curves and ellipses; a drawing uses one system")
    return size, system, bg, elements


def read_svg_text(path: str | os.PathLike) -> str:
    """An SVG file's text, with a one-line error for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"drawing not found: {path}; give an SVG file Reverie wrote")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ReverieError(f"{path} is not an SVG file (not UTF-8 text); give the .svg Reverie "
                           f"wrote, not its .png") from None
    except OSError as exc:
        raise ReverieError(f"cannot read {path} ({exc.strerror}); check the path") from None


def load_svg(path: str | os.PathLike, shape: Shape | None = None) -> Drawing:
    """Read a drawing back from its SVG (the inverse of `write_svg`)."""
    path = Path(path)
    if not path.exists():
        raise ReverieError(f"drawing not found: {path}; check the path")
    size, system, bg, elements = parse_svg(read_svg_text(path))
    return drawing_from_elements(size, system, bg, elements, shape or Shape())


def drawing_from_elements(size: int, system: str, bg: str, elements: list[dict], shape: Shape) -> Drawing:
    def inv_w(w):
        return (w / size - shape.min_width) / (shape.max_width - shape.min_width)

    def inv_r(r):
        return (r / size - shape.min_radius) / (shape.max_radius - shape.min_radius)

    rows = []
    for e in elements:
        rgb = list(parse_color(e["color"]))
        if e["tag"] == "line":
            rows.append([e["x1"] / size, e["y1"] / size, e["x2"] / size, e["y2"] / size, inv_w(e["width"]), *rgb])
        elif e["tag"] == "path":
            rows.append([v / size for v in e["points"]] + [inv_w(e["width"]), *rgb])
        else:
            rows.append([e["cx"] / size, e["cy"] / size, inv_r(e["rx"]), inv_r(e["ry"]),
                         (e["angle"] % 180.0) / 180.0, *rgb])
    strokes = torch.tensor(rows, dtype=torch.float32).view(-1, STROKE_DIMS[system])
    return Drawing(system, size, torch.tensor(parse_color(bg)), strokes, shape)


# --- the exact renderer (Pillow, supersampled) -----------------------------------------------

def _rgb8(color: str) -> tuple[int, int, int]:
    return tuple(int(round(c * 255)) for c in parse_color(color))


def _stroke_polyline(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], width: float, fill) -> None:
    """A polyline of the given width with round caps and joins: a quad per piece and a disc
    at every vertex (the shape SVG's stroke-linecap/linejoin="round" describes)."""
    h = width / 2
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        dx, dy = bx - ax, by - ay
        n = math.hypot(dx, dy)
        if n > 1e-9:
            ox, oy = -dy / n * h, dx / n * h
            draw.polygon([(ax + ox, ay + oy), (bx + ox, by + oy), (bx - ox, by - oy), (ax - ox, ay - oy)], fill=fill)
    for x, y in pts:
        draw.ellipse((x - h, y - h, x + h, y + h), fill=fill)


def render_elements(size: int, bg: str, elements: list[dict], out_size: int | None = None,
                    supersample: int = 4) -> Image.Image:
    """Draw SVG elements with Pillow at `supersample` x, box-filter down to out_size."""
    out_size = out_size or size
    k = out_size / size * supersample
    big = out_size * supersample
    im = Image.new("RGB", (big, big), _rgb8(bg))
    draw = ImageDraw.Draw(im)
    for e in elements:
        fill = _rgb8(e["color"])
        if e["tag"] == "line":
            _stroke_polyline(draw, [(e["x1"] * k, e["y1"] * k), (e["x2"] * k, e["y2"] * k)], e["width"] * k, fill)
        elif e["tag"] == "path":
            ctrl = torch.tensor([e["points"]], dtype=torch.float64) * k
            length = sum(math.dist(e["points"][i:i + 2], e["points"][i + 2:i + 4]) for i in (0, 2, 4))
            pieces = int(min(max(16, length * k / 4), 256))
            pts = [tuple(p) for p in bezier_points(ctrl, pieces)[0].tolist()]
            _stroke_polyline(draw, pts, e["width"] * k, fill)
        else:
            cx, cy, rx, ry, a = e["cx"] * k, e["cy"] * k, e["rx"] * k, e["ry"] * k, math.radians(e["angle"])
            t = np.linspace(0, 2 * math.pi, 180, endpoint=False)
            xs, ys = rx * np.cos(t), ry * np.sin(t)
            poly = list(zip(cx + xs * math.cos(a) - ys * math.sin(a), cy + xs * math.sin(a) + ys * math.cos(a)))
            draw.polygon(poly, fill=fill)
    if supersample > 1:
        im = im.resize((out_size, out_size), Image.BOX)
    return im


def render_png(d: Drawing, out_size: int | None = None, supersample: int = 4) -> Image.Image:
    """The exact render of the drawing as its SVG states it (Pillow, antialiased)."""
    bg, elements = svg_elements(d)
    return render_elements(d.size, bg, elements, out_size, supersample)


def render_svg_file(path: str | os.PathLike, out_size: int | None = None, supersample: int = 4) -> Image.Image:
    """Render an SVG written by `write_svg` to a PNG image (same pixels as the original's)."""
    path = Path(path)
    if not path.exists():
        raise ReverieError(f"drawing not found: {path}; check the path")
    size, _, bg, elements = parse_svg(read_svg_text(path))
    return render_elements(size, bg, elements, out_size, supersample)


def render_tensor(d: Drawing, out_size: int | None = None, supersample: int = 4) -> torch.Tensor:
    """`render_png` as a (3, H, W) float tensor in [0, 1]."""
    from reverie.io.images import pil_to_tensor

    return pil_to_tensor(render_png(d, out_size, supersample))
