"""Mikolov et al. (2013), Figure 6: word pairs projected to 2-D by PCA, each pair's offset
drawn as an arrow. Parallel arrows of similar length are the analogy, seen."""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from reverie.core.errors import ReverieError
from reverie.core.sidecar import write_sidecar
from reverie.io.files import check_writable
from reverie.words.vectors import key, vector_set

FIGURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")


def project(vectors: Any, words: Sequence[str]) -> dict:
    """PCA of the pairs' unit vectors: 2-D points, variance shown, and how parallel the
    offsets are (mean pairwise cosine of the arrows in full dimension)."""
    if len(words) < 4 or len(words) % 2:
        raise ReverieError(f"plot needs words in pairs, at least two pairs (A B C D: arrows A->B "
                           f"and C->D), got {len(words)} word(s)")
    vs = vector_set(vectors)
    keys = [key(vs, w) for w in words]
    X = np.stack([vs.vector(k, normalize=True) for k in keys]).astype(np.float64)
    Xc = X - X.mean(axis=0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    offsets = X[1::2] - X[0::2]
    unit = offsets / np.maximum(np.linalg.norm(offsets, axis=1, keepdims=True), 1e-12)
    upper = np.triu_indices(len(unit), 1)
    return {"words": keys, "points": Xc @ vt[:2].T,
            "pairs": [[keys[i], keys[i + 1]] for i in range(0, len(keys), 2)],
            "explained_variance": (s[:2] ** 2 / max((s ** 2).sum(), 1e-12)).tolist(),
            "offset_cosine_mean": float((unit @ unit.T)[upper].mean())}


def plot_analogies(vectors: Any, words: Sequence[str], out: str | os.PathLike,
                   title: str | None = None, record: dict | None = None) -> dict:
    """Draw the pairs (A B C D ...: arrows A->B, C->D) to `out` (.png, .svg, .pdf, .jpg);
    a small record of what was drawn goes beside it. Returns the figures."""
    p = draw_analogies(vectors, words, out, title)
    write_sidecar(out, {"command": "words plot", **p, **(record or {})})
    return p


def draw_analogies(vectors: Any, words: Sequence[str], out: str | os.PathLike,
                   title: str | None = None) -> dict:
    """The figure alone (`out`), without a record beside it."""
    from reverie.io.figures import new_figure, save_figure

    out = check_writable(out)
    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise ReverieError(f"cannot write a figure with suffix {out.suffix!r}; use .png, .svg, "
                           f".pdf or .jpg")
    p = project(vectors, words)
    P, keys, explained = p.pop("points"), p["words"], p["explained_variance"]

    fig, ax = new_figure(7, 6)
    for i in range(0, len(keys), 2):
        ax.annotate("", xy=tuple(P[i + 1]), xytext=tuple(P[i]),
                    arrowprops=dict(arrowstyle="->", color="#888", lw=1.2, shrinkA=4, shrinkB=4))
    ax.scatter(P[0::2, 0], P[0::2, 1], c="#1f77b4", s=30, zorder=3)
    ax.scatter(P[1::2, 0], P[1::2, 1], c="#d62728", s=30, zorder=3)
    for (x, y), k in zip(P, keys):
        ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=10)
    ax.set_title(title or "word vectors, PCA to 2-D: arrows are the analogy offsets")
    ax.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({explained[1]:.0%} of variance)")
    ax.grid(alpha=0.3)
    pad = 0.15 * max(np.ptp(P[:, 0]), np.ptp(P[:, 1]), 1e-6)
    ax.set_xlim(P[:, 0].min() - pad, P[:, 0].max() + 2 * pad)  # room for the labels
    ax.set_ylim(P[:, 1].min() - pad, P[:, 1].max() + pad)
    save_figure(fig, out)
    return p
