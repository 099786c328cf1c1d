"""Matplotlib figures, written atomically. The Agg backend is chosen here, once, so no
mechanism touches matplotlib's global state (and nothing opens a window)."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from reverie.io.files import atomic_path  # noqa: E402


def new_figure(width: float = 6.0, height: float = 4.0):
    """(figure, axes): close it with `save_figure`."""
    return plt.subplots(figsize=(width, height))


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path
