"""Plotting: drawings as pen paths in millimetres, ordered for a pen plotter, written as a
plotter-ready SVG (shared by `portrait` and `sketch`).

A drawing is a list of paths, each an (N, 2) float array of (x, y) in millimetres on the
paper (origin top-left, y down, as SVG). A pen plotter draws a path with the pen down, lifts
the pen, travels to the next path's start and lowers it: the pen-up travel and the number
of lifts are wasted time, and the order of the paths decides both.

API (what other mechanisms call):

    paper_size("A4", landscape=False) -> (210.0, 297.0)          # mm; A4, A3, letter
    fit_paths(paths, (w, h), paper, margin) -> paths in mm       # scale source units onto
                                                                 # the page inside margins
    order_paths(paths, method="auto", merge_tolerance=0.05)      # -> (paths, info)
        method: "vpype"  vpype's linemerge + linesort (greedy nearest end, flipping lines:
                         vpype_cli's `linesort`, built on vpype.LineIndex)
                "greedy" linemerge + our greedy (k-d tree on both ends) + 2-opt passes
                         (reversing a run of paths flips each of them: only the two
                         boundary hops change, so a pass is O(n^2) vectorised)
                "auto"   both, keep the one with less pen-up travel
                "none"   as given
        Paths are only merged where ends meet within merge_tolerance (mm), reversed or
        reordered: every drawn segment is kept.
    plot_figures(paths, speed_down=25, speed_up=75, lift_time=0.15) -> dict
        pen_down_mm, pen_up_mm (from the origin, through every path, back to the origin),
        lifts, paths, plot_minutes (an estimate at those speeds, mm/s; seconds per lift)
    write_plot_svg(layers, path, paper, margin, pen_width, title="") -> Path
        layers: {name: paths} or a list of paths (one pen). Width/height in mm, viewBox in
        mm, one <g inkscape:groupmode="layer"> per pen as vpype writes them.
    render_png(layers, paper, pen_width, dpi=100) -> (3, H, W) tensor in [0, 1]
    plot_frames(layers, paper, pen_width, frames=40) -> list of tensors: the plot order,
        pen-up moves in red (for reverie.io.animation.save_animation)

Path ordering for plotters: vpype's `linemerge` and `linesort` (Antoine Beyeler's vpype,
vpype_cli/operations.py: greedy nearest end through vpype.LineIndex, optional `--two-opt`);
ours is the same greedy (a k-d tree over both ends) followed by 2-opt passes, and `auto`
keeps whichever travels less (on the portraits of bench/drawing.py ours has won: about 25%
less pen-up travel than vpype's greedy alone).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from reverie.core.errors import ReverieError

PAPERS = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "letter": (215.9, 279.4)}
PX_PER_MM = 96 / 25.4  # vpype and SVG's CSS pixel

Paths = list  # list[np.ndarray (N, 2)], millimetres


def paper_size(paper: str, landscape: bool = False) -> tuple[float, float]:
    """(width, height) in mm of a named paper."""
    key = {k.lower(): k for k in PAPERS}.get(str(paper).lower())
    if key is None:
        raise ReverieError(f"unknown paper {paper!r}; use one of {', '.join(PAPERS)}")
    w, h = PAPERS[key]
    return (h, w) if landscape else (w, h)


def drawable_area(paper: tuple[float, float], margin: float) -> tuple[float, float]:
    """The area inside the margins; a one-line error when nothing is left."""
    w, h = paper[0] - 2 * margin, paper[1] - 2 * margin
    if w < 10 or h < 10:
        raise ReverieError(f"the drawing cannot fit: a {paper[0]:g}x{paper[1]:g} mm paper with "
                           f"margin {margin:g} mm leaves {max(w, 0):g}x{max(h, 0):g} mm "
                           f"(at least 10x10 mm needed); use a smaller margin or a larger paper")
    return w, h


def fit_paths(paths: Sequence[np.ndarray], source: tuple[float, float],
              paper: tuple[float, float], margin: float) -> Paths:
    """Scale paths given in a (width, height) source frame (pixels) onto the paper, inside
    the margins, centred, aspect kept."""
    aw, ah = drawable_area(paper, margin)
    s = min(aw / source[0], ah / source[1])
    off = np.array([(paper[0] - s * source[0]) / 2, (paper[1] - s * source[1]) / 2])
    return [np.asarray(p, dtype=float) * s + off for p in paths if len(p) >= 2]


# -- figures ------------------------------------------------------------------------------
def _ends(paths):
    starts = np.array([p[0] for p in paths]).reshape(-1, 2)
    ends = np.array([p[-1] for p in paths]).reshape(-1, 2)
    return starts, ends


def pen_up_travel(paths: Sequence[np.ndarray], origin=(0.0, 0.0)) -> float:
    """Pen-up distance: origin -> first start, each end -> next start, last end -> origin."""
    if not paths:
        return 0.0
    starts, ends = _ends(paths)
    o = np.asarray(origin, float)[None]
    pts_from = np.vstack([o, ends])
    pts_to = np.vstack([starts, o])
    return float(np.linalg.norm(pts_to - pts_from, axis=1).sum())


def pen_down_length(paths: Sequence[np.ndarray]) -> float:
    return float(sum(np.linalg.norm(np.diff(p, axis=0), axis=1).sum() for p in paths))


def plot_figures(paths: Sequence[np.ndarray], speed_down: float = 25.0, speed_up: float = 75.0,
                 lift_time: float = 0.15) -> dict:
    """What a plotter user checks: pen-down length, pen-up travel (mm), lifts, and the
    estimated plot time (minutes) at speed_down / speed_up mm/s and lift_time s per lift
    (AxiDraw defaults are ~25 mm/s down, ~75 mm/s up)."""
    down, up = pen_down_length(paths), pen_up_travel(paths)
    lifts = len(paths)
    seconds = down / speed_down + up / speed_up + lifts * lift_time
    return {"pen_down_mm": round(down, 1), "pen_up_mm": round(up, 1), "lifts": lifts,
            "paths": len(paths), "plot_minutes": round(seconds / 60, 2)}


# -- ordering -----------------------------------------------------------------------------
def _to_lc(paths):
    import vpype as vp
    lc = vp.LineCollection()
    for p in paths:
        lc.append(p[:, 0] + 1j * p[:, 1])
    return lc


def _from_lc(lc) -> Paths:
    return [np.stack([line.real, line.imag], axis=1) for line in lc if len(line) >= 2]


def merge_paths(paths: Sequence[np.ndarray], tolerance: float = 0.05) -> Paths:
    """vpype's linemerge: join paths whose ends meet within tolerance (mm), flipping them."""
    if tolerance <= 0 or len(paths) < 2:
        return [np.asarray(p, float) for p in paths]
    lc = _to_lc(paths)
    lc.merge(tolerance=tolerance, flip=True)
    return _from_lc(lc)


def _vpype_sort(paths: Paths) -> Paths:
    """vpype_cli's linesort (greedy nearest end through vpype.LineIndex, flipping allowed),
    started from the path nearest the origin."""
    import vpype as vp
    if len(paths) < 2:
        return list(paths)
    starts, _ = _ends(paths)
    first = int(np.argmin(np.linalg.norm(starts, axis=1)))
    rest = [p for i, p in enumerate(paths) if i != first]
    index = vp.LineIndex(_to_lc(rest), reverse=True)
    out = [paths[first][:, 0] + 1j * paths[first][:, 1]]
    while len(index) > 0:
        idx, reverse = index.find_nearest(out[-1][-1])
        line = index.pop(idx)
        if line is not None:
            out.append(np.flip(line) if reverse else line)
    return [np.stack([line.real, line.imag], axis=1) for line in out]


def _greedy_sort(paths: Paths) -> Paths:
    """Nearest free end from the pen's position (k-d tree over both ends of every path)."""
    from scipy.spatial import cKDTree
    n = len(paths)
    if n < 2:
        return list(paths)
    starts, ends = _ends(paths)
    tree = cKDTree(np.vstack([starts, ends]))  # i < n: a start; i >= n: an end (flip)
    used = np.zeros(n, bool)
    pos, out, k = np.zeros(2), [], 8
    while len(out) < n:
        kk = min(k, 2 * n)
        _, idx = tree.query(pos, k=kk)
        idx = np.atleast_1d(idx)
        free = [i for i in idx if i < 2 * n and not used[i % n]]
        if not free:
            if kk >= 2 * n:
                break
            k *= 4
            continue
        i = int(free[0])
        j = i % n
        used[j] = True
        p = paths[j] if i < n else paths[j][::-1]
        out.append(p)
        pos = p[-1]
        k = 8
    return out


def _two_opt(paths: Paths, passes: int = 3, max_paths: int = 4000) -> Paths:
    """2-opt on the path order: reversing paths[i..j] (each path flipped) changes only the
    hops into i and out of j. Vectorised over j; stops when a pass finds no gain."""
    n = len(paths)
    if n < 3 or n > max_paths:
        return list(paths)
    order = list(range(n))
    flipped = np.zeros(n, bool)
    base = list(paths)

    def ends():
        s = np.array([base[o][-1] if f else base[o][0] for o, f in zip(order, flipped)])
        e = np.array([base[o][0] if f else base[o][-1] for o, f in zip(order, flipped)])
        return s, e

    for _ in range(passes):
        improved = False
        s, e = ends()
        prev_end = np.vstack([np.zeros((1, 2)), e[:-1]])   # where the pen is before path i
        next_start = np.vstack([s[1:], np.zeros((1, 2))])  # where it goes after path j
        i = 0
        while i < n - 1:
            a = prev_end[i]
            js = np.arange(i + 1, n)
            old = np.linalg.norm(s[i] - a) + np.linalg.norm(next_start[js] - e[js], axis=1)
            new = np.linalg.norm(e[js] - a, axis=1) + np.linalg.norm(next_start[js] - s[i], axis=1)
            gain = old - new
            best = int(np.argmax(gain))
            if gain[best] > 1e-9:
                j = int(js[best])
                order[i:j + 1] = order[i:j + 1][::-1]
                flipped[i:j + 1] = ~flipped[i:j + 1][::-1]
                # a reversed run: its starts are the old ends, backwards (O(run), no rebuild)
                s[i:j + 1], e[i:j + 1] = e[i:j + 1][::-1].copy(), s[i:j + 1][::-1].copy()
                prev_end[1:] = e[:-1]
                next_start[:-1] = s[1:]
                improved = True
            i += 1
        if not improved:
            break
    return [base[o][::-1] if f else base[o] for o, f in zip(order, flipped)]


def order_paths(paths: Sequence[np.ndarray], method: str = "auto",
                merge_tolerance: float = 0.05, two_opt_passes: int = 3) -> tuple[Paths, dict]:
    """Merge and order paths to cut pen-up travel; returns (paths, info) where info has
    the method kept and the pen-up travel of each tried (mm). Never worse than the input."""
    paths = [np.asarray(p, float) for p in paths if len(p) >= 2]
    info = {"unordered_pen_up_mm": round(pen_up_travel(paths), 1)}
    if method == "none" or len(paths) < 2:
        info["method"] = "none"
        return paths, info
    if method not in ("auto", "vpype", "greedy"):
        raise ReverieError(f"unknown ordering method {method!r}; use auto, vpype, greedy or none")
    merged = merge_paths(paths, merge_tolerance)
    tried = {}
    if method in ("auto", "vpype"):
        tried["vpype"] = _vpype_sort(merged)
    if method in ("auto", "greedy"):
        tried["greedy"] = _two_opt(_greedy_sort(merged), passes=two_opt_passes)
    travel = {k: pen_up_travel(v) for k, v in tried.items()}
    info.update({f"{k}_pen_up_mm": round(v, 1) for k, v in travel.items()})
    best = min(travel, key=travel.get)
    if travel[best] > pen_up_travel(paths):  # never worse than what we were given
        info["method"] = "none"
        return paths, info
    info["method"] = best
    return tried[best], info


# -- SVG ----------------------------------------------------------------------------------
def _layers(layers) -> dict[str, Paths]:
    if isinstance(layers, dict):
        return {str(k): list(v) for k, v in layers.items()}
    return {"pen 1": list(layers)}


def write_plot_svg(layers, path, paper: tuple[float, float], margin: float = 0.0,
                   pen_width: float = 0.3, title: str = "",
                   colors: Sequence[str] = ("#000000", "#1f4e9c", "#b3261e", "#2e7d32")) -> Path:
    """A plotter-ready SVG: width/height in mm, viewBox in mm (one user unit = 1 mm), one
    Inkscape layer per pen (as vpype writes), polylines with round caps at pen_width mm.
    Refuses a drawing that leaves the paper's margins."""
    from xml.sax.saxutils import escape, quoteattr

    from reverie.io.files import atomic_path

    layers = _layers(layers)
    w, h = paper
    pts = [p for ps in layers.values() for p in ps]
    if pts:
        allp = np.vstack(pts)
        lo, hi = allp.min(0), allp.max(0)
        tol = 1e-6
        if (lo < margin - tol).any() or hi[0] > w - margin + tol or hi[1] > h - margin + tol:
            raise ReverieError(f"the drawing cannot fit: it spans {lo[0]:.1f}..{hi[0]:.1f} x "
                               f"{lo[1]:.1f}..{hi[1]:.1f} mm, outside a {w:g}x{h:g} mm paper's "
                               f"{margin:g} mm margins; use a larger paper or smaller margin")
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" '
           f'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
           f'width="{w:g}mm" height="{h:g}mm" viewBox="0 0 {w:g} {h:g}">']
    if title:
        out.append(f"<title>{escape(title)}</title>")
    for k, (name, paths) in enumerate(layers.items()):
        out.append(f'<g inkscape:groupmode="layer" inkscape:label={quoteattr(name)} '
                   f'id="layer{k + 1}" fill="none" stroke="{colors[k % len(colors)]}" '
                   f'stroke-width="{pen_width:g}" stroke-linecap="round" stroke-linejoin="round">')
        for p in paths:
            d = " ".join(f"{x:.2f},{y:.2f}" for x, y in p)
            out.append(f'<polyline points="{d}"/>')
        out.append("</g>")
    out.append("</svg>")
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


# -- previews -----------------------------------------------------------------------------
def render_png(layers, paper: tuple[float, float], pen_width: float = 0.3, dpi: float = 100,
               upto: int | None = None, travel: bool = False):
    """The drawing as the plotter would leave it, (3, H, W) in [0, 1]; `upto` draws only
    the first paths of the plot order, `travel` adds the pen-up moves in red."""
    import torch
    from PIL import Image, ImageDraw

    s = dpi / 25.4
    W, H = max(1, round(paper[0] * s)), max(1, round(paper[1] * s))
    im = Image.new("RGB", (W, H), "white")
    dr = ImageDraw.Draw(im)
    lw = max(1, round(pen_width * s))
    cols = [(0, 0, 0), (31, 78, 156), (179, 38, 30), (46, 125, 50)]
    count = 0
    pos = (0.0, 0.0)
    for k, paths in enumerate(_layers(layers).values()):
        for p in paths:
            if upto is not None and count >= upto:
                break
            q = [(float(x) * s, float(y) * s) for x, y in p]
            if travel:
                dr.line([pos, q[0]], fill=(230, 60, 60), width=1)
            dr.line(q, fill=cols[k % len(cols)], width=lw, joint="curve")
            pos = q[-1]
            count += 1
    a = np.asarray(im, dtype=np.float32) / 255.0
    return torch.from_numpy(a).permute(2, 0, 1).contiguous()


def plot_frames(layers, paper: tuple[float, float], pen_width: float = 0.3, frames: int = 40,
                dpi: float = 40) -> list:
    """The plot order as frames (pen-up moves in red): for an --animate GIF."""
    n = sum(len(v) for v in _layers(layers).values())
    cuts = sorted({max(1, round(n * (i + 1) / frames)) for i in range(frames)})
    return [render_png(layers, paper, pen_width, dpi=dpi, upto=c, travel=True) for c in cuts]


def segments(paths: Sequence[np.ndarray], digits: int = 3) -> set:
    """Every drawn segment as an unordered pair of rounded points (zero-length ones left
    out): ordering keeps this set."""
    out = set()
    for p in paths:
        r = np.round(np.asarray(p, float), digits)
        for a, b in zip(map(tuple, r[:-1]), map(tuple, r[1:])):
            if a != b:
                out.add((min(a, b), max(a, b)))
    return out


__all__ = ["PAPERS", "paper_size", "drawable_area", "fit_paths", "pen_up_travel",
           "pen_down_length", "plot_figures", "merge_paths", "order_paths", "write_plot_svg",
           "render_png", "plot_frames", "segments"]

