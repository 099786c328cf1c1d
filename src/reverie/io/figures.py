"""Matplotlib figures, written atomically. The Agg backend is chosen here, once, so no
mechanism touches matplotlib's global state (and nothing opens a window)."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from reverie.io.files import atomic_path  # noqa: E402


def new_figure(width: float = 6.0, height: float = 4.0, **subplots):
    """(figure, axes): close it with `save_figure`. `subplots` go to plt.subplots
    (nrows=3, sharex=True, height_ratios=...)."""
    return plt.subplots(figsize=(width, height), **subplots)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path


def plot_curves(series: dict[str, list[tuple[float, float]]], path: str | os.PathLike,
                xlabel: str = "step", ylabel: str = "loss", title: str = "") -> Path:
    """Lines of (x, y) points, one per named series: training curves, live or finished."""
    fig, ax = new_figure(6.0, 3.2)
    for name, points in series.items():
        points = [(x, y) for x, y in points if y is not None]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="." if len(points) < 30 else None, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if series:
        ax.legend()
    return save_figure(fig, path)
