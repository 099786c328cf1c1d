"""What does a unit track? An HTML page colouring each character by one unit's value
just after the model read it: Karpathy's "Visualizing and Understanding Recurrent
Networks" (2015) figures, and Radford et al.'s sentiment-unit traces."""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Sequence

from reverie.io.images import atomic_path


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
    scale = max((abs(v) for v in values), default=1.0) or 1.0
    spans = []
    for ch, v in zip(chars, values):
        shown = html.escape(ch).replace("\n", "&#8629;<br>")
        spans.append(f'<span style="background:{colour(v, scale)}" title="{v:+.3f}">{shown}</span>')
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
            ".t{font-family:ui-monospace,monospace;white-space:pre-wrap;line-height:1.6;font-size:15px}"
            ".t span{border-radius:2px}</style></head><body>"
            f"<h2>{html.escape(title)}</h2><p>Each character is coloured by the unit's value just "
            f"after the model read it: red positive, blue negative, white zero (scale "
            f"&plusmn;{scale:.3g}). Hover for the value.</p>"
            f"<div class='t'>{''.join(spans)}</div></body></html>")


def write_trace_page(out: str | os.PathLike, chars: Sequence[str], values: Sequence[float],
                     title: str = "") -> Path:
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_text(trace_html(chars, values, title), encoding="utf-8")
    return out
