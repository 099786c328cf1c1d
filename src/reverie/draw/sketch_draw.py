"""Drawing with a trained sketch-rnn (reverie.draw.sketch): drawings rendered as a
plottable SVG or a PNG grid, and the mechanisms.

    sample_sketch       new drawings from random z ~ N(0, I) (or from nothing, unconditional)
    reconstruct_sketch  a drawing encoded and redrawn at several temperatures
    interpolate_sketch  a row between A and B through the latent space (slerp or linear)
    analogy_sketch      A is to B as C is to ?: decode(z_B - z_A + z_C)
    evaluate_sketch     L_R and L_KL on a split, beside the untrained model's
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from reverie.core.config import Config, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.draw.sketch import (Sketcher, build_model, decode, encode, evaluate_split,
                                 load_sketch, pick_drawing, prepare, read_data, record_source)
from reverie.draw.sketch_train import TrainResult
from reverie.io import strokes as S


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------

def _cell_polylines(strokes: np.ndarray, size: float, margin: float):
    """A drawing's polylines fitted (aspect kept, centred) into a size x size cell."""
    lines = S.to_polylines(strokes)
    if not lines:
        return []
    pts = np.vstack(lines)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-9))
    k = (size - 2 * margin) / span
    off = (size - (hi - lo) * k) / 2 - lo * k
    return [ln * k + off for ln in lines]


def grid_polylines(rows: Sequence[Sequence[np.ndarray]], cell: float, margin: float
                   ) -> list[tuple[int, int, list[np.ndarray]]]:
    return [(r, c, [ln + np.array([c * cell, r * cell]) for ln in _cell_polylines(d, cell, margin)])
            for r, row in enumerate(rows) for c, d in enumerate(row)]


def grid_png(rows: Sequence[Sequence[np.ndarray]], cell: int = 160, line: float = 1.6):
    """The drawings as a PNG grid (black on white, one drawing per cell, rows as given)."""
    from PIL import Image, ImageDraw
    ncols = max((len(r) for r in rows), default=1)
    ss = 3   # supersampled, then shrunk: smooth lines
    img = Image.new("L", (ncols * cell * ss, max(1, len(rows)) * cell * ss), 255)
    draw = ImageDraw.Draw(img)
    for _, _, lines in grid_polylines(rows, cell * ss, cell * ss * 0.08):
        for ln in lines:
            draw.line([tuple(p) for p in ln.tolist()], fill=0, width=max(1, int(line * ss)),
                      joint="curve")
    return img.resize((ncols * cell, max(1, len(rows)) * cell), Image.LANCZOS)


# ---------------------------------------------------------------------------------------
# Mechanisms
# ---------------------------------------------------------------------------------------

@dataclass
class SketchResult(Result):
    """Drawings in rows (stroke-3, in the data's units), written as a plottable SVG (with a
    PNG beside it) or a PNG grid; `z` the latent vectors drawn from, for `explain`."""
    rows: list[list[np.ndarray]]
    row_labels: list[str] = field(default_factory=list)
    z: Optional[np.ndarray] = field(default=None, repr=False)
    z_labels: list[str] = field(default_factory=list)

    suffixes = (".svg", ".png")

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.files import atomic_path
        img = grid_png(self.rows)
        if path.suffix.lower() == ".png":
            with atomic_path(path) as tmp:
                img.save(tmp, format="PNG")
            return {"grid": path}
        self._write_plot_svg(path)
        preview = path.with_suffix(".png")
        with atomic_path(preview) as tmp:
            img.save(tmp, format="PNG")
        return {"drawing": path, "preview": preview}

    def _write_plot_svg(self, path: Path, cell_mm: float = 40.0, pen_width: float = 0.3) -> None:
        """Through the shared plotter module: paths merged and ordered to cut pen-up travel
        (every segment kept), one pen layer, millimetre units; its plot figures recorded."""
        from reverie.draw import plot
        paths = [ln for _, _, lines in grid_polylines(self.rows, cell_mm, cell_mm * 0.08)
                 for ln in lines]
        ordered, info = plot.order_paths(paths)
        ncols = max((len(r) for r in self.rows), default=1)
        paper = (ncols * cell_mm, max(1, len(self.rows)) * cell_mm)
        plot.write_plot_svg([p for p in ordered], path, paper, 0.0, pen_width, title=self.mechanism)
        self.figures["plot"] = {**plot.plot_figures(ordered), "ordering": info}

    def explain(self, folder: Path) -> dict[str, Path]:
        """The latent path: the z's drawn from, projected on their two main directions."""
        if self.z is None or len(self.z) < 2:
            return {}
        from reverie.io.figures import new_figure, save_figure
        z = np.asarray(self.z, dtype=np.float64)
        zc = z - z.mean(axis=0)
        _, _, vt = np.linalg.svd(zc, full_matrices=False)
        xy = zc @ vt[:2].T if vt.shape[0] >= 2 else np.c_[zc @ vt[:1].T, np.zeros(len(z))]
        fig, ax = new_figure(5, 4)
        ax.plot(xy[:, 0], xy[:, 1], "-o", color="0.3", ms=4)
        for (x, y), lab in zip(xy, self.z_labels or [str(i) for i in range(len(z))]):
            ax.annotate(lab, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
        ax.set_title("latent path (first two principal directions of z)")
        return {"latent path": save_figure(fig, Path(folder) / "latent-path.png")}

    def summary(self) -> str:
        n = sum(len(r) for r in self.rows)
        pts = sum(len(d) for r in self.rows for d in r)
        return f"{n} drawing(s) in {len(self.rows)} row(s), {pts} points"


def as_sketcher(model) -> Sketcher:
    if isinstance(model, (str, os.PathLike)):
        return load_sketch(model)
    if isinstance(model, TrainResult):
        return model.sketcher
    if isinstance(model, Sketcher):
        return model
    raise ReverieError(f"a model is a file `reverie sketch train` wrote, or one loaded with "
                       f"load_sketch; got {type(model).__name__}")


def encode_drawings(sk: Sketcher, drawings: Sequence[np.ndarray]) -> np.ndarray:
    """The latent means (D, z_size) of drawings in the data's own units, each scaled as the
    model was trained and checked against its max_seq_len."""
    prepared = []
    for drawing in drawings:
        d = S.normalize([drawing], sk.scale)[0]
        if len(d) > sk.model.cfg.max_seq_len:
            raise ReverieError(f"the drawing has {len(d)} points, more than the model's "
                               f"max_seq_len ({sk.model.cfg.max_seq_len}); choose a shorter one")
        prepared.append(d)
    return encode(sk.model, prepared)


def decode_drawings(sk: Sketcher, z: Optional[np.ndarray], num: int, temperature: float,
                    seed: int) -> list[np.ndarray]:
    """`decode`'s drawings in the data's own units (the scale factor undone)."""
    out = []
    for d in decode(sk.model, z, num, temperature, seed):
        d = d.copy()
        d[:, :2] *= sk.scale
        out.append(d)
    return out


@dataclass
class SampleConfig(Config):
    num_samples: int = knob(16, "drawings to make", min=1, max=400)
    columns: int = knob(8, "drawings per row of the grid", min=1)
    temperature: float = knob(0.4, "randomness: 0 draws the likeliest strokes, 1 the model's "
                              "own spread (the paper shows 0.1 to 1.0)", min=0, max=2)
    seed: int = seed_knob()


def sample_sketch(model, config: Optional[SampleConfig] = None, *, progress: Progress = silent,
                  **overrides) -> SketchResult:
    """New drawings: from random z ~ N(0, I) (conditional model) or from nothing
    (unconditional)."""
    cfg = make_config(SampleConfig, config, **overrides)
    sk = as_sketcher(model)
    t0 = time.perf_counter()
    z = None
    if sk.model.cfg.conditional:
        z = np.random.default_rng(cfg.seed).standard_normal(
            (cfg.num_samples, sk.model.cfg.z_size)).astype(np.float32)
    drawings = decode_drawings(sk, z, cfg.num_samples, cfg.temperature, cfg.seed)
    progress(1, 1, "drawn")
    rows = [drawings[i:i + cfg.columns] for i in range(0, len(drawings), cfg.columns)]
    return SketchResult(rows, mechanism="sample_sketch", config=cfg,
                        inputs={"model": record_source(model)}, z=z,
                        z_labels=[str(i) for i in range(cfg.num_samples)] if z is not None else [],
                        figures={"drawings": len(drawings),
                                 "mean_points": float(np.mean([len(d) for d in drawings]))},
                        timings={"sample": time.perf_counter() - t0})


def _temperatures_default() -> list[float]:
    return [0.0, 0.2, 0.5, 0.8, 1.0]


@dataclass
class ReconstructConfig(Config):
    split: str = knob("test", "which array of the .npz the drawing comes from")
    index: int = knob(0, "which drawing of that array (a `FILE.npz:SPLIT:INDEX` input "
                      "overrides split and index)")
    temperatures: list[float] = knob(factory=_temperatures_default,
                                     help="redraw once at each temperature (0: the likeliest "
                                          "strokes)", min=0, max=2, flag="temperature")
    seed: int = seed_knob()


def reconstruct_sketch(model, drawing, config: Optional[ReconstructConfig] = None, *,
                       progress: Progress = silent, **overrides) -> SketchResult:
    """Encode a drawing to z and redraw it at several temperatures: the original first in
    the row, then one redrawing per temperature."""
    cfg = make_config(ReconstructConfig, config, **overrides)
    sk = as_sketcher(model)
    d = pick_drawing(drawing, cfg.split, cfg.index)
    z = encode_drawings(sk, [d])
    redrawn = []
    for i, t in enumerate(cfg.temperatures):
        redrawn += decode_drawings(sk, z, 1, t, cfg.seed + i)
        progress(i + 1, len(cfg.temperatures), f"temperature {t:g}")
    return SketchResult([[S.clean(d)] + redrawn],
                        row_labels=["original, then " + ", ".join(f"T={t:g}" for t in cfg.temperatures)],
                        mechanism="reconstruct_sketch", config=cfg,
                        inputs={"model": record_source(model), "drawing": record_source(drawing)},
                        z=None, figures={"points_original": len(d),
                                         "points_redrawn": [len(r) for r in redrawn],
                                         "z_norm": float(np.linalg.norm(z))})


@dataclass
class InterpolateConfig(Config):
    split: str = knob("test", "which array of the .npz A and B come from")
    a_index: int = knob(0, "which drawing is A (a `FILE.npz:SPLIT:INDEX` input overrides)")
    b_index: int = knob(1, "which drawing is B")
    steps: int = knob(8, "drawings in the row, A's and B's redrawings included", min=2, max=32)
    method: str = knob("slerp", "path between the latent vectors: slerp (along the sphere, "
                       "as the sketch-rnn notebook does) or linear", choices=("slerp", "linear"))
    temperature: float = knob(0.1, "randomness of each redrawing (0: the likeliest)", min=0, max=2)
    seed: int = seed_knob()


def interpolate_sketch(model, a, b, config: Optional[InterpolateConfig] = None, *,
                       progress: Progress = silent, **overrides) -> SketchResult:
    """A row of drawings between A and B: their latent vectors, interpolated, decoded.
    The first row holds A and B as drawn; the second the path."""
    from reverie.latent.analogy import Codec
    cfg = make_config(InterpolateConfig, config, **overrides)
    sk = as_sketcher(model)
    da, db = pick_drawing(a, cfg.split, cfg.a_index), pick_drawing(b, cfg.split, cfg.b_index)
    za, zb = encode_drawings(sk, [da, db])
    codec = Codec(encode=None, decode=None)   # latent vectors in, latent vectors out
    path = np.stack(codec.interpolate(za, zb, cfg.steps, cfg.method))
    drawn = decode_drawings(sk, path, len(path), cfg.temperature, cfg.seed)
    progress(1, 1, "drawn")
    labels = ["A"] + [f"{t:.2f}" for t in np.linspace(0, 1, cfg.steps)[1:-1]] + ["B"]
    return SketchResult([[S.clean(da), S.clean(db)], drawn],
                        row_labels=["A and B as drawn", f"{cfg.method} from A to B"],
                        z=path, z_labels=labels, mechanism="interpolate_sketch", config=cfg,
                        inputs={"model": record_source(model), "a": record_source(a), "b": record_source(b)},
                        figures={"latent_distance": float(np.linalg.norm(zb - za))})


@dataclass
class AnalogyConfig(Config):
    split: str = knob("test", "which array of the .npz A, B and C come from")
    a_index: int = knob(0, "which drawing is A (a `FILE.npz:SPLIT:INDEX` input overrides)")
    b_index: int = knob(1, "which drawing is B")
    c_index: int = knob(2, "which drawing is C")
    temperature: float = knob(0.1, "randomness of the redrawings (0: the likeliest)", min=0, max=2)
    seed: int = seed_knob()


def analogy_sketch(model, a, b, c, config: Optional[AnalogyConfig] = None, *,
                   progress: Progress = silent, **overrides) -> SketchResult:
    """A is to B as C is to ?: decode(z_B - z_A + z_C) (the paper's latent arithmetic,
    through reverie.latent.analogy.Codec). The row: A, B, C as drawn, then the answer."""
    from reverie.latent.analogy import Codec
    cfg = make_config(AnalogyConfig, config, **overrides)
    sk = as_sketcher(model)
    ds = [pick_drawing(x, cfg.split, i) for x, i in ((a, cfg.a_index), (b, cfg.b_index),
                                                    (c, cfg.c_index))]
    codec = Codec(encode=lambda d: encode_drawings(sk, [d])[0],
                  decode=lambda z: z)
    zd = codec.analogy(*ds)
    zs = np.stack([codec._z(d) for d in ds] + [zd])
    answer = decode_drawings(sk, zd[None], 1, cfg.temperature, cfg.seed)
    progress(1, 1, "drawn")
    return SketchResult([[S.clean(d) for d in ds] + answer],
                        row_labels=["A, B, C, and ? (z_B - z_A + z_C)"], z=zs,
                        z_labels=["A", "B", "C", "?"], mechanism="analogy_sketch", config=cfg,
                        inputs={"model": record_source(model), "a": record_source(a), "b": record_source(b),
                                "c": record_source(c)},
                        figures={"answer_points": len(answer[0])})


def evaluate_sketch(model, data, split: str = "test", seed: int = 0,
                    max_seq_len: int | None = None) -> dict:
    """L_R, L_s, L_p and L_KL of a model on one split of stroke data (magenta's
    evaluate_model; the paper's unit: nats per step, sums divided by max_seq_len, the
    model's unless given: give one to compare models padded to different lengths), beside
    the same figures for the untrained model (the baseline any training must beat)."""
    sk = as_sketcher(model)
    raw = read_data(data)
    if split not in raw:
        raise ReverieError(f"the stroke data has no array {split!r} (arrays: {', '.join(raw)}); "
                           f"choose one of them")
    prep = prepare({split: raw[split], "train": raw.get("train") or raw[split]},
                   sk.model.cfg.max_seq_len, sk.scale)
    drawings = prep.splits[split]
    if not drawings:
        raise ReverieError(f"no drawing of {split!r} fits the model's max_seq_len "
                           f"({sk.model.cfg.max_seq_len})")
    trained = evaluate_split(sk.model, drawings, 100, seed, max_seq_len, prep.unit)
    with torch.random.fork_rng(devices=[]):  # the untrained weights' draws stay in here
        torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())
        untrained = evaluate_split(build_model(sk.model.cfg).eval(), drawings, 100, seed,
                                   max_seq_len, prep.unit)
    return {"split": split, "drawings": len(drawings), "left_out": prep.dropped,
            **trained, "untrained": untrained}
