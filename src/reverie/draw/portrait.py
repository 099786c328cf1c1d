"""Portraits for pen plotters, after Tresset and Leymarie's AIKON.

AIKON (Tresset & Leymarie, "Portrait drawing by Paul the robot", Computers & Graphics 37
(2013) 348-363; the AIKON-II project at Goldsmiths) looks at the sitter, finds the face,
draws the salient lines first and then shades regions of similar tone. Here the regions come
from k-means (as issue #15 reads it; the paper's own shading process differs in detail),
each filled with its own hatching. The pipeline, for a photograph and a pen plotter:

    photo  -> RGB in [0, 1]                                  (reverie.io.images)
    face   = the largest detection of scikit-image's LBP frontal-face cascade
             (skimage.feature.Cascade, the cascade that ships with scikit-image: offline)
    frame  = the face box grown to head and shoulders (face_frame); no face or no_face:
             the whole picture (the notes say which)
    lab    = CIELAB of the frame, smoothed (k-means then groups perceptual tones)
    tones  = k-means (scikit-learn) into K clusters; tone 0 the lightest ... K-1 the darkest
             (ordered by the clusters' L*); a median filter removes speckle
    shade  = for every tone t > 0 (the lightest stays paper): darkness d = t/(K-1),
             style hatch:    parallel lines at angle 45 + t*180/K, spacing = spacing/d
                             (density rises with darkness); the darkest tone(s) cross-hatched
             style contour:  lines parallel to the region's border (distance iso-lines)
             style stipple:  dots, d/(2 spacing^2) per mm^2 at random places
             style scribble: hatch lines with a wobble, joined into long strokes
    lines  = contours of the tone regions + feature edges: Canny (skimage), or
             edges="neural": Canny edges kept where an early EfficientNet-Lite0 layer
             (stage1) responds most: the network chooses which lines matter
    plot   = pixels -> millimetres inside the paper's margins; two pens (lines, shading);
             every layer merged and ordered for least pen-up travel (reverie.draw.plot:
             vpype linemerge/linesort, or greedy + 2-opt, whichever travels less)

Plotter figures before and after ordering (pen-down, pen-up, lifts, estimated minutes) go
in the sidecar with the face box and the tone map (OUT.tones.png: the K clusters, each
painted with its mean colour).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.draw import plot

STYLES = ("hatch", "contour", "stipple", "scribble")
MIN_SIDE = 48  # pixels: below this there is no face and no tone to draw

# Styles as presets: each sets the style and the spacing that suits it.
PRESETS = {
    "hatch": {"style": "hatch", "spacing": 0.8},
    "contour": {"style": "contour", "spacing": 1.0},
    "stipple": {"style": "stipple", "spacing": 0.8},
    "scribble": {"style": "scribble", "spacing": 1.0},
}


@dataclass
class PortraitConfig(Config):
    paper: str = knob("A4", "paper size", choices=list(plot.PAPERS))
    landscape: bool = knob(False, "turn the paper sideways")
    margin: float = knob(15.0, "blank border on every side", min=0, unit="mm")
    pen_width: float = knob(0.3, "the pen's line width (the SVG's stroke width)", above=0,
                            max=5, unit="mm")
    tones: int = knob(5, "tone clusters K (k-means in CIELAB); the lightest stays paper",
                      min=2, max=12)
    style: str = knob("hatch", "how a tone is shaded", choices=list(STYLES))
    spacing: float = knob(0.8, "line spacing of the darkest tone (lighter tones: wider, "
                          "spacing / darkness)", above=0, unit="mm")
    cross: int = knob(1, "the darkest tones that get a second, crossing direction", min=0,
                      max=12)
    edges: str = knob("canny", "feature lines: canny (an edge detector), neural (Canny kept "
                      "where an early Lite0 layer responds), none", choices=["canny", "neural", "none"])
    edge_sigma: float = knob(2.0, "Canny's Gaussian: larger keeps only the bigger features",
                             above=0, unit="pixels", advanced=True)
    no_face: bool = knob(False, "draw the whole picture, not framed on the face")
    face_frame: float = knob(2.2, "the frame's width as a multiple of the face's width "
                             "(head and shoulders)", min=1, max=10, advanced=True)
    resolution: int = knob(320, "working size: the frame's longer side", min=64, max=1024,
                           unit="pixels", advanced=True)
    order: str = knob("auto", "path ordering: vpype (linemerge + linesort), greedy (+ 2-opt), "
                      "auto (the better), none", choices=["auto", "vpype", "greedy", "none"])
    speed: float = knob(25.0, "pen-down speed for the time estimate (pen-up: 3x)", above=0,
                        unit="mm/s")
    animate: bool = knob(False, "also write the plot order as OUT.gif")
    seed: int = seed_knob()
    device: str = device_knob()

    def check(self):
        w, h = plot.paper_size(self.paper, self.landscape)
        if min(w, h) - 2 * self.margin < 10:
            raise ConfigError("margin", f"the drawing cannot fit: margin {self.margin:g} mm "
                              f"leaves less than 10 mm of a {w:g}x{h:g} mm paper; use a "
                              f"smaller margin or a larger paper")


@dataclass
class PortraitResult(Result):
    layers: dict                          # {pen name: [(N, 2) mm arrays]} in plot order
    paper_mm: tuple                       # (width, height)
    face_box: Optional[list]              # [top, left, height, width] in the photo's pixels
    frame_box: list                       # the drawn part of the photo, same units
    tone_map: np.ndarray                  # (h, w) ints 0..K-1, 0 lightest
    tone_colors: np.ndarray               # (K, 3) RGB mean of each tone, 0-1
    preview: torch.Tensor                 # (3, H, W) the plotted drawing
    frames: list = field(default_factory=list)

    suffixes = (".svg",)

    def write(self, path: Path) -> dict[str, Path]:
        """OUT.svg (plotter-ready), OUT.png (preview), OUT.tones.png, OUT.gif (animate)."""
        from reverie.io.animation import save_animation
        from reverie.io.images import save_image

        base = path.with_suffix("")
        cfg = self.config
        paths = {"svg": plot.write_plot_svg(self.layers, path, self.paper_mm, cfg.margin,
                                            cfg.pen_width, title="a Reverie portrait")}
        paths["png"] = save_image(self.preview, base.with_suffix(".png"))
        tones = torch.from_numpy(self.tone_colors[self.tone_map].astype(np.float32)).permute(2, 0, 1)
        paths["tones"] = save_image(tones, Path(f"{base}.tones.png"))
        if cfg.animate and self.frames:
            paths["gif"] = save_animation(self.frames + [self.frames[-1]] * 8,
                                          base.with_suffix(".gif"), fps=8)
        return paths

    def summary(self) -> str:
        f = self.figures
        a, b = f["plot_before"], f["plot_after"]
        return (f"{f['tones']} tones, {self.config.style}: {b['pen_down_mm'] / 1000:.1f} m of "
                f"line, pen-up {a['pen_up_mm'] / 1000:.1f} -> {b['pen_up_mm'] / 1000:.1f} m "
                f"({f['pen_up_saved_pct']:.0f}% less), {b['lifts']} lifts, ~{b['plot_minutes']:.0f} "
                f"min at {self.config.speed:g} mm/s")


# -- face ---------------------------------------------------------------------------------
def detect_face(gray: np.ndarray) -> Optional[list]:
    """The largest face [top, left, height, width] found by scikit-image's LBP frontal-face
    cascade (run on a copy at most 400 px on a side), or None."""
    from skimage import data
    from skimage.feature import Cascade
    from skimage.transform import rescale

    scale = min(1.0, 400 / max(gray.shape))
    small = rescale(gray, scale, anti_aliasing=True) if scale < 1 else gray
    side = min(small.shape)
    found = Cascade(data.lbp_frontal_face_cascade_filename()).detect_multi_scale(
        img=small, scale_factor=1.2, step_ratio=1, min_size=(max(24, side // 10),) * 2,
        max_size=(side, side))
    if not found:
        return None
    f = max(found, key=lambda d: d["width"] * d["height"])
    return [int(round(f[k] / scale)) for k in ("r", "c", "height", "width")]


def face_frame(face: list, shape: tuple, grow: float) -> list:
    """Head and shoulders around a face box: grow x its width, 1.3x as tall as wide (a
    portrait's proportion), the face in the upper part; clipped to the photo."""
    top, left, h, w = face
    fw = grow * w
    fh = min(shape[0], 1.3 * fw)
    fw = min(shape[1], fw)
    cy, cx = top + 0.6 * h, left + w / 2  # the face sits above the frame's centre
    t = int(np.clip(cy - 0.42 * fh, 0, shape[0] - fh))
    l_ = int(np.clip(cx - fw / 2, 0, shape[1] - fw))
    return [t, l_, int(fh), int(fw)]


# -- tones --------------------------------------------------------------------------------
def tone_segments(rgb: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means in CIELAB: (labels (h, w) 0=lightest, L* of each tone, mean RGB of each)."""
    from scipy.ndimage import median_filter
    from skimage.color import rgb2lab
    from skimage.filters import gaussian
    from sklearn.cluster import KMeans

    lab = rgb2lab(gaussian(rgb, sigma=1.0, channel_axis=-1))
    flat = lab.reshape(-1, 3)
    rng = np.random.default_rng(seed)
    fit = flat[rng.choice(len(flat), size=min(len(flat), 20000), replace=False)]
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(fit)
    raw = km.predict(flat)
    order = np.argsort(-km.cluster_centers_[:, 0])       # lightest first
    rank = np.empty(k, int)
    rank[order] = np.arange(k)
    labels = median_filter(rank[raw].reshape(rgb.shape[:2]), size=5)  # no speckle
    lightness = km.cluster_centers_[order, 0]
    colors = np.array([rgb.reshape(-1, 3)[labels.ravel() == t].mean(0) if (labels == t).any()
                       else np.full(3, 1 - t / (k - 1)) for t in range(k)])
    return labels, lightness, colors


# -- shading ------------------------------------------------------------------------------
def hatch_lines(mask: np.ndarray, angle: float, spacing: float, wobble: float = 0.0,
                min_len: float = 2.0) -> list[np.ndarray]:
    """Parallel lines at `angle` (degrees), `spacing` pixels apart, clipped to mask (pixel
    coordinates x, y). wobble > 0 bends each line (a sine of that amplitude, pixels)."""
    h, w = mask.shape
    a = np.deg2rad(angle)
    d, n = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    c = np.array([w / 2, h / 2])
    r = np.hypot(w, h) / 2
    u = np.arange(-r, r, 0.5)
    out = []
    for v in np.arange(-r + (r % spacing), r, spacing):
        off = v + (wobble * np.sin(u / (2.5 * spacing) + v) if wobble else 0)
        pts = c + np.outer(u, d) + np.outer(off if np.ndim(off) else np.full_like(u, off), n)
        xi, yi = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        on = np.zeros(len(u), bool)
        on[inside] = mask[yi[inside], xi[inside]]
        if not on.any():
            continue
        edges = np.flatnonzero(np.diff(np.r_[0, on.astype(int), 0]))
        for s, e in zip(edges[::2], edges[1::2]):
            if (e - s) * 0.5 >= min_len:
                seg = pts[s:e]
                out.append(seg if wobble else seg[[0, -1]])
    return out


def contour_lines(mask: np.ndarray, spacing: float, max_rings: int = 40) -> list[np.ndarray]:
    """Lines parallel to a region's border: iso-lines of its distance transform."""
    from scipy.ndimage import distance_transform_edt
    from skimage.measure import find_contours

    dist = distance_transform_edt(np.pad(mask, 1))
    out = []
    for level in np.arange(0.5, min(dist.max(), spacing * max_rings), spacing):
        out += [c[:, ::-1] - 1 for c in find_contours(dist, level) if len(c) > 3]
    return out


def stipple_dots(mask: np.ndarray, per_px: float, rng, dot: float) -> list[np.ndarray]:
    """Random dots, per_px of them per pixel of the mask, each a short stroke `dot` long."""
    ys, xs = np.nonzero(mask)
    n = rng.poisson(per_px * len(ys)) if len(ys) else 0
    if n == 0:
        return []
    pick = rng.integers(0, len(ys), n)
    p = np.stack([xs[pick], ys[pick]], 1) + rng.uniform(-0.5, 0.5, (n, 2))
    return [np.stack([q, q + [dot, 0]]) for q in p]


def shade(labels: np.ndarray, k: int, cfg: PortraitConfig, px_per_mm: float, rng) -> list:
    """Every tone but the lightest shaded in the configured style; density rises with
    darkness (spacing / darkness)."""
    paths = []
    for t in range(1, k):
        dark = t / (k - 1)
        mask = labels == t
        if not mask.any():
            continue
        sp = max(cfg.spacing / dark, cfg.pen_width) * px_per_mm  # pixels between lines
        angle = 45 + t * 180 / k
        if cfg.style in ("hatch", "scribble"):
            wob = 0.35 * sp if cfg.style == "scribble" else 0.0
            paths += hatch_lines(mask, angle, sp, wobble=wob)
            if t >= k - cfg.cross:                                   # cross-hatching
                paths += hatch_lines(mask, angle + 90, sp, wobble=wob)
        elif cfg.style == "contour":
            paths += contour_lines(mask, sp)
        elif cfg.style == "stipple":
            paths += stipple_dots(mask, dark / (2 * (cfg.spacing * px_per_mm) ** 2), rng,
                                  cfg.pen_width * px_per_mm)
    return paths


# -- lines --------------------------------------------------------------------------------
def trace(edge: np.ndarray, min_len: int = 6) -> list[np.ndarray]:
    """Thin an edge map and walk it into polylines (x, y) of 8-connected pixels."""
    from skimage.morphology import skeletonize

    sk = skeletonize(edge)
    left = set(zip(*np.nonzero(sk)))
    nb = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]

    def degree(p):
        return sum((p[0] + a, p[1] + b) in left for a, b in nb)

    out = []
    # start from ends (degree 1) first, so lines are walked whole
    for start in sorted(left, key=lambda p: (degree(p) != 1, p)):
        if start not in left:
            continue
        line, p = [start], start
        left.discard(start)
        while True:
            nxt = next(((p[0] + a, p[1] + b) for a, b in nb if (p[0] + a, p[1] + b) in left), None)
            if nxt is None:
                break
            left.discard(nxt)
            line.append(nxt)
            p = nxt
        if len(line) >= min_len:
            a = np.array(line, float)[:, ::-1]
            out.append(a[::2] if len(a) > 4 else a)  # every 2nd pixel: plenty for a pen
    return out


def feature_edges(rgb: np.ndarray, cfg: PortraitConfig, resolved: dict) -> np.ndarray:
    """Canny edges of the frame; with edges=neural, only those where Lite0's stage1
    responds in its top third (the network's idea of which lines matter)."""
    from skimage.color import rgb2gray
    from skimage.feature import canny

    gray = rgb2gray(rgb)
    if cfg.edges == "canny":
        return canny(gray, sigma=cfg.edge_sigma)
    from reverie.core.device import resolve_device
    from reverie.nets.zoo import load_net
    import torch.nn.functional as F

    device = resolve_device(cfg.device)
    resolved["device"] = str(device)
    net = load_net("lite0", device)
    x = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None].to(device)
    with torch.no_grad():
        act = net.features(x, ["stage1"])["stage1"]
    resp = F.interpolate(act.abs().mean(1, keepdim=True), size=gray.shape, mode="bilinear",
                         align_corners=False)[0, 0].cpu().numpy()
    edges = canny(gray, sigma=cfg.edge_sigma * 0.75)   # more candidates; the net chooses
    return edges & (resp >= np.quantile(resp[edges], 2 / 3) if edges.any() else edges)


def region_borders(labels: np.ndarray, k: int, min_len: float) -> list[np.ndarray]:
    """Borders between lighter and darker tones (iso-lines of the tone map), long ones only."""
    from skimage.measure import find_contours

    out = []
    for t in range(1, k):
        for c in find_contours((labels >= t).astype(float), 0.5):
            if len(c) >= min_len:
                out.append(c[::2, ::-1] if len(c) > 8 else c[:, ::-1])
    return out


# -- the mechanism ------------------------------------------------------------------------
def portrait(photo, config: PortraitConfig | None = None, *, progress: Progress = silent,
             **overrides) -> PortraitResult:
    """A photo to a plotter-ready portrait (see the module docstring)."""
    from reverie.io.images import as_image
    from skimage.transform import resize

    cfg = make_config(PortraitConfig, config, **overrides)
    inputs = {"photo": record_input(photo)}
    t0 = time.perf_counter()
    image = as_image(photo)
    if min(image.shape[1:]) < MIN_SIDE:
        raise ReverieError(f"the photo is {image.shape[2]}x{image.shape[1]} pixels, too small to "
                           f"draw; use one at least {MIN_SIDE} pixels on each side")
    rgb = image.permute(1, 2, 0).numpy().astype(np.float64)
    notes, resolved = [], {"device": "cpu"}
    rng = np.random.default_rng(cfg.seed)

    # face and frame
    progress(0, 5, "finding the face")
    face = None if cfg.no_face else detect_face(rgb.mean(2))
    if face is None:
        frame = [0, 0, rgb.shape[0], rgb.shape[1]]
        notes.append("no_face set: the whole picture is drawn" if cfg.no_face
                     else "no face found: the whole picture is drawn")
    else:
        frame = face_frame(face, rgb.shape[:2], cfg.face_frame)
    t, l_, fh, fw = frame
    crop = rgb[t:t + fh, l_:l_ + fw]
    s = cfg.resolution / max(crop.shape[:2])
    crop = resize(crop, (max(8, round(crop.shape[0] * s)), max(8, round(crop.shape[1] * s))),
                  anti_aliasing=True)
    h, w = crop.shape[:2]

    # tones
    progress(1, 5, "k-means tones")
    labels, lightness, colors = tone_segments(crop, cfg.tones, cfg.seed)

    # pixels -> mm
    paper = plot.paper_size(cfg.paper, cfg.landscape)
    aw, ah = plot.drawable_area(paper, cfg.margin)
    px_per_mm = 1 / min(aw / w, ah / h)

    progress(2, 5, f"shading ({cfg.style})")
    shading = shade(labels, cfg.tones, cfg, px_per_mm, rng)
    progress(3, 5, f"lines ({cfg.edges})")
    lines = region_borders(labels, cfg.tones, min_len=12)
    if cfg.edges != "none":
        lines += trace(feature_edges(crop, cfg, resolved))

    # contours and hatch ends may stray half a pixel past the frame: keep them on the paper
    clip = lambda ps: [np.clip(p, 0, [w, h]) for p in ps]  # noqa: E731
    layers_px = {"1 lines": clip(lines), "2 shading": clip(shading)}
    layers = {k: plot.fit_paths(v, (w, h), paper, cfg.margin) for k, v in layers_px.items()}

    progress(4, 5, "ordering for the plotter")
    up = cfg.speed * 3
    before = plot.plot_figures([p for v in layers.values() for p in v], cfg.speed, up)
    ordered, order_info = {}, {}
    for name, paths in layers.items():
        ordered[name], order_info[name] = plot.order_paths(paths, cfg.order)
    after = plot.plot_figures([p for v in ordered.values() for p in v], cfg.speed, up)
    preview = plot.render_png(ordered, paper, cfg.pen_width)
    show_preview(progress, preview)
    frames = plot.plot_frames(ordered, paper, cfg.pen_width) if cfg.animate else []
    progress(5, 5, "done")

    saved = 100 * (1 - after["pen_up_mm"] / before["pen_up_mm"]) if before["pen_up_mm"] else 0.0
    figures = {"face_box": face, "frame_box": frame, "tones": cfg.tones,
               "tone_lightness": [round(float(v), 1) for v in lightness],
               "tone_share": [round(float((labels == t).mean()), 3) for t in range(cfg.tones)],
               "paper_mm": list(paper), "plot_before": before, "plot_after": after,
               "pen_up_saved_pct": round(saved, 1), "ordering": order_info}
    return PortraitResult(
        mechanism="portrait", config=cfg, inputs=inputs, figures=figures,
        timings={"portrait": time.perf_counter() - t0}, notes=notes, resolved=resolved,
        layers=ordered, paper_mm=paper, face_box=face, frame_box=frame, tone_map=labels,
        tone_colors=colors, preview=preview, frames=frames)
