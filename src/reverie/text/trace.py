"""What does a unit track? An HTML page colouring each character by one unit's value
just after the model read it: Karpathy's "Visualizing and Understanding Recurrent
Networks" (2015) figures, and Radford et al.'s sentiment-unit traces. The page comes
from templates/trace.html (Jinja2, every character escaped)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from reverie.io.files import save_text


def colour(value: float, scale: float) -> str:
    """Blue for negative, red for positive, white at zero (Karpathy's palette)."""
    t = max(-1.0, min(1.0, value / scale)) if scale > 0 else 0.0
    if t >= 0:
        r, g, b = 255, int(255 * (1 - t * 0.75)), int(255 * (1 - t * 0.75))
    else:
        r, g, b = int(255 * (1 + t * 0.75)), int(255 * (1 + t * 0.75)), 255
    return f"#{r:02x}{g:02x}{b:02x}"


def trace_html(chars: Sequence[str], values: Sequence[float], title: str = "") -> str:
    """A standalone page (hover a character to see the value)."""
    from reverie.templates import render

    scale = max((abs(v) for v in values), default=1.0) or 1.0
    pieces = [{"char": ch, "value": v, "colour": colour(v, scale), "newline": ch == "\n"}
              for ch, v in zip(chars, values)]
    return render("trace.html", title=title, scale=scale, pieces=pieces)


def write_trace_page(out: str | os.PathLike, chars: Sequence[str], values: Sequence[float],
                     title: str = "") -> Path:
    return save_text(trace_html(chars, values, title), out)
