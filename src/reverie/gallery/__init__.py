"""`reverie gallery`: every mechanism run on bundled inputs, written to one HTML page.

Each mechanism contributes a section from its own module in this package
(`build(ctx) -> Section`); this module runs them in order and renders the page. A
section that fails is shown as failed on the page and makes the command exit non-zero.
"""
from __future__ import annotations

import html
import importlib
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from reverie.io.images import atomic_path, save_json
from reverie.core.progress import Progress, silent

SECTION_MODULES = ["image", "style", "audio", "text", "words", "draw"]


@dataclass
class Table:
    """A small table on a card (rendered by the template, every cell escaped)."""
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class Card:
    """One output on the page: its media, what made it, and what was measured.
    Everything is data; the template escapes it (no HTML from sections)."""
    title: str
    media: list[str] = field(default_factory=list)  # paths relative to the gallery folder
    figures: dict[str, Any] = field(default_factory=dict)
    text: str = ""   # shown as preformatted text (samples)
    lead: str = ""   # one line shown above the figures (the verdict that matters)
    tables: list[Table] = field(default_factory=list)


@dataclass
class Section:
    title: str
    blurb: str
    cards: list[Card] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)  # registry names this section shows


@dataclass
class GalleryContext:
    out_dir: Path      # the gallery folder; sections write assets under it
    cache_dir: Path    # models a section trains are kept here between runs
    quick: bool        # a small, fast version for smoke tests
    device: torch.device
    progress: Progress = silent

    def asset(self, name: str) -> Path:
        """Path for an asset inside the gallery folder (created as needed)."""
        path = self.out_dir / "assets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def rel(self, path: Path) -> str:
        return os.path.relpath(path, self.out_dir)


def default_cache_dir() -> Path:
    return Path(os.environ.get("REVERIE_CACHE", Path.home() / ".cache" / "reverie"))


def build_gallery(out_dir: str | os.PathLike = "gallery", quick: bool = False,
                  device: str = "auto", sections: list[str] | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  progress: Progress = silent, log=print) -> dict:
    """Run every mechanism's gallery section and write OUT_DIR/index.html.

    Returns {"index": path, "sections": {name: seconds}, "failed": {name: error}}.
    """
    from reverie.core.device import resolve_device

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = GalleryContext(out, Path(cache_dir) if cache_dir else default_cache_dir(), quick,
                         resolve_device(device), progress)
    ctx.cache_dir.mkdir(parents=True, exist_ok=True)
    names = sections or SECTION_MODULES
    built: list[tuple[str, Section | None, float, str]] = []
    for name in names:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # that mechanism is not built yet
            raise
        log(f"gallery: {name} ...")
        start = time.perf_counter()
        try:
            section, error = module.build(ctx), ""
        except Exception as exc:  # one failed section must not lose the others
            section, error = None, f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        seconds = time.perf_counter() - start
        log(f"gallery: {name} took {seconds:.1f} s" + (f" (FAILED: {error})" if error else ""))
        built.append((name, section, seconds, error))
    index = out / "index.html"
    with atomic_path(index) as tmp:
        tmp.write_text(render_page(built, quick), encoding="utf-8")
    summary = {"index": str(index), "quick": quick,
               "sections": {n: round(s, 1) for n, _, s, _ in built},
               "failed": {n: e for n, _, _, e in built if e}}
    save_json(summary, out / "gallery.json")
    return summary


STYLE = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;background:#fafafa}
h1{margin-bottom:0} .sub{color:#666;margin-top:.2em}
section{margin:2.5em 0} h2{border-bottom:2px solid #ddd;padding-bottom:.2em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1.2em}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:8px;padding:.8em}
.card h3{margin:.1em 0 .5em;font-size:1.05em}
.card img{width:100%;height:auto;border-radius:4px;display:block;margin-bottom:.4em}
.card audio{width:100%} pre{white-space:pre-wrap;font-size:.85em;background:#f4f4f4;padding:.5em;max-height:24em;overflow:auto}
table{border-collapse:collapse;font-size:.82em;width:100%} td,th{padding:2px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td:first-child{color:#555;white-space:nowrap} .failed{color:#b00}
"""


def _media(path: str) -> str:
    p = html.escape(path)
    ext = Path(path).suffix.lower()
    if ext in (".wav", ".flac", ".ogg", ".mp3"):
        return f'<audio controls src="{p}"></audio><div><a href="{p}">{html.escape(Path(path).name)}</a></div>'
    if ext in (".mp4", ".webm"):
        return f'<video controls loop muted src="{p}" style="width:100%"></video>'
    if ext in (".html", ".svg", ".json", ".txt", ".mid", ".pt", ".kv"):
        return f'<div><a href="{p}">{html.escape(Path(path).name)}</a></div>'
    return f'<a href="{p}"><img src="{p}" loading="lazy" alt="{html.escape(Path(path).name)}"></a>'


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_value(x)}" for k, x in v.items())
    return str(v)


def render_page(built: list, quick: bool) -> str:
    import reverie

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Reverie gallery</title>"
             f"<style>{STYLE}</style></head><body><h1>Reverie gallery</h1>"
             f"<p class='sub'>reverie {reverie.__version__}{' (quick)' if quick else ''}, made "
             f"{time.strftime('%Y-%m-%d %H:%M')}. Every picture was made on this machine from "
             f"bundled inputs; the figures under it say how and what was measured.</p>"]
    for name, section, seconds, error in built:
        if section is None:
            parts.append(f"<section><h2>{html.escape(name)}</h2><p class='failed'>failed: "
                         f"{html.escape(error)}</p></section>")
            continue
        parts.append(f"<section id='{name}'><h2>{html.escape(section.title)}</h2>"
                     f"<p>{section.blurb}</p><p class='sub'>{seconds:.0f} s</p><div class='cards'>")
        for card in section.cards:
            parts.append(f"<div class='card'><h3>{html.escape(card.title)}</h3>")
            parts.extend(_media(m) for m in card.media)
            if card.text:
                parts.append(f"<pre>{html.escape(card.text)}</pre>")
            parts.append(card.html)
            if card.figures:
                rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_value(v))}</td></tr>"
                               for k, v in card.figures.items())
                parts.append(f"<table>{rows}</table>")
            parts.append("</div>")
        parts.append("</div></section>")
    parts.append("</body></html>")
    return "\n".join(parts)
