"""`reverie gallery`: every mechanism run on bundled inputs, written to one HTML page.

Each domain contributes a section from its own module in this package: `build(ctx) ->
Section`, naming the registry entries it shows in `Section(..., mechanisms=[...])` with
literal names (or a module-level `MECHANISMS = [...]`), so they can be read from the source
without running anything (`declared_mechanisms`). This module runs the sections in order
(or side by side in worker processes: `parallel`), scopes one progress callback to each
section's share of the run, and renders the page from `templates/gallery.html`
(Jinja2, autoescaped: sections hand over data, never HTML). A section that fails is shown
as failed and makes the command exit non-zero. Nothing here imports the CLI.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from reverie.core.progress import Progress, silent

# The sections in page order; those whose module exists (a domain not built yet is skipped).
ORDER = ["image", "style", "audio", "text", "chat", "words", "draw", "music", "gan", "sound", "scale",
         "sketch2art"]
SECTION_MODULES = [n for n in ORDER if importlib.util.find_spec(f"{__name__}.{n}") is not None]

# Expected seconds per section on an idle 2-core machine with an empty cache, for the
# progress shares, the time left and the order parallel workers take the sections in,
# longest first (a previous run's gallery.json in the same folder, if any, replaces them).
# Measured: quick image 8 s; quick draw 41 s on 2 busy cores; full, the zoo installed, two
# sections at a time on one thread each (bench/gallery.py, 2026-12-07): 264 s in all, each
# section's own time below (one after another on two threads, in the same run: 321 s).
EXPECTED_SECONDS = {
    True: {"image": 10, "style": 25, "audio": 15, "text": 25, "chat": 10, "words": 15, "draw": 25,
           "music": 8, "gan": 5, "sound": 10, "scale": 10, "sketch2art": 10},
    False: {"image": 69, "style": 60, "audio": 45, "text": 93, "chat": 1, "words": 8,
            "draw": 108, "music": 25, "gan": 53, "sound": 37, "scale": 13, "sketch2art": 1},
}
BUDGET_SECONDS = {True: 120, False: 600}


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
    blurb: str       # plain text; the page escapes it
    cards: list[Card] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)  # registry names this section shows


@dataclass
class GalleryContext:
    out_dir: Path      # the gallery folder; sections write assets under it
    cache_dir: Path    # models a section trains are kept here between runs
    quick: bool        # a small, fast version for smoke tests
    device: Any        # a torch.device
    progress: Progress = silent  # (done, total, message), scoped to this section's share

    def asset(self, name: str) -> Path:
        """Path for an asset inside the gallery folder (created as needed)."""
        path = self.out_dir / "assets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def rel(self, path: str | os.PathLike) -> str:
        """A path as the page links it: relative to the gallery folder, with / separators."""
        return Path(os.path.relpath(path, self.out_dir)).as_posix()

    def trained(self, domain: str, name: str, cfg, train: Callable,
                data: str = "") -> tuple[str, dict]:
        """A model the section trains once per configuration and keeps in cache_dir:
        (its path, its training figures with "cached" and, when trained now, "seconds").
        `train(out)` trains it and returns the TrainResult; `data`, where given, keys the
        cache too (a digest of data handed over in memory)."""
        import hashlib
        key = hashlib.sha256((json.dumps(cfg.to_dict(), sort_keys=True) + data).encode()
                             ).hexdigest()[:10]
        path = self.cache_dir / domain / f"{name}-{key}.pt"
        side = path.with_suffix(".json")
        if path.exists() and side.exists():
            return str(path), {**json.loads(side.read_text())["figures"], "cached": True}
        path.parent.mkdir(parents=True, exist_ok=True)
        result = train(path)
        return str(path), {**result.figures, "seconds": result.timings.get("train"),
                           "cached": False}

    def zoo_card(self, zoo_name: str) -> dict | None:
        """The card of the zoo's `model:zoo_name` when it is installed and not `quick`."""
        if self.quick:
            return None
        from reverie import zoo
        return zoo.card(zoo_name) if zoo_name in zoo.names() else None

    def model(self, zoo_name: str, domain: str, name: str, cfg, train: Callable,
              data: str = "") -> tuple[str, dict]:
        """The zoo's `model:zoo_name`, ready on first use, when it is installed (and not
        `quick`): its trainer's figures, its steps and minutes, and "zoo" (its card).
        Otherwise the short-budget model this section trains here (`trained`, "zoo": None).
        """
        card = self.zoo_card(zoo_name)
        if card:
            return f"model:{zoo_name}", {**card.get("training", {}), "steps": card["steps"],
                                         "cached": True, "seconds": card["wall_seconds"],
                                         "zoo": card}
        path, figures = self.trained(domain, name, cfg, train, data)
        return path, {**figures, "zoo": None}

    def part(self, index: int, count: int) -> Progress:
        """`progress` scoped to the index-th of `count` equal parts of this section (for a
        section that runs several mechanisms, each reporting its own 0..total)."""
        def update(done: int, total: int, message: str = "") -> None:
            frac = min(max(done / total, 0.0), 1.0) if total else 0.0
            self.progress(int(1000 * (index + frac) / count), 1000, message)
        return update


def made(figures: dict, what: str, data: str) -> str:
    """How a section's model was made, for its cards: the zoo's, or trained here."""
    card = figures.get("zoo")
    if card:
        return (f"model:{card['name']} from the zoo: {what}, {card['steps']:,} steps on "
                f"{data} ({card['wall_seconds'] / 60:.0f} min, {card['hardware']})")
    took = "cached" if figures.get("cached") else f"{figures.get('seconds') or 0:.0f} s"
    return f"{what}, {figures.get('steps', 0):,} steps on {data} here ({took})"


@dataclass
class Built:
    """One section after its run: the Section (None if it failed), seconds, error."""
    name: str
    section: Section | None
    seconds: float
    error: str = ""
    mechanisms: list[str] = field(default_factory=list)


def default_cache_dir() -> Path:
    return Path(os.environ.get("REVERIE_CACHE", Path.home() / ".cache" / "reverie"))


def section_module(name: str):
    return importlib.import_module(f"{__name__}.{name}")


def declared_mechanisms(name: str) -> list[str]:
    """The registry names a section module shows, read from its source without importing
    it: a module-level `MECHANISMS = [...]` and every `Section(..., mechanisms=[...])`
    (string literals, or that constant by name)."""
    import ast

    spec = importlib.util.find_spec(f"{__name__}.{name}")
    if spec is None or not spec.origin:
        return []
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))

    def strings(node) -> list[str]:
        if isinstance(node, (ast.List, ast.Tuple)):
            return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return []

    constant = [n for node in tree.body if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "MECHANISMS" for t in node.targets)
                for n in strings(node.value)]
    found = list(constant)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Section":
            for kw in node.keywords:
                if kw.arg == "mechanisms":
                    found += constant if isinstance(kw.value, ast.Name) else strings(kw.value)
    return list(dict.fromkeys(found))


def shown_by_sections() -> set[str]:
    """Every registry name some hand-written section shows."""
    return {m for n in SECTION_MODULES for m in declared_mechanisms(n)}


def auto_mechanisms(section: str, shown: set[str]) -> list:
    """The mechanisms of `section`'s domain that no section shows but whose registry entry
    gives an example for every required input: the gallery makes their cards itself."""
    from reverie.core.registry import mechanisms

    return [m for m in mechanisms().values()
            if m.domain == section and m.name not in shown and m.examples is not None]


def auto_card(ctx: GalleryContext, mech) -> Card:
    """Run a mechanism on its examples with its registry's gallery settings: one card."""
    settings = {k: v for k, v in mech.gallery.items() if k != "quick"}
    if ctx.quick:
        settings.update(mech.gallery.get("quick", {}))
    config = mech.config_class()(**settings)
    if "device" in {f.name for f in dataclasses.fields(config)}:
        config = config.replace(device=str(ctx.device))
    result = mech.load()(**mech.examples, config=config, progress=ctx.progress)
    paths = result.save(ctx.asset(f"{mech.name}{mech.outputs[0]}"))
    media = [ctx.rel(p) for role, p in paths.items() if role != "sidecar"]
    figures = {k: v for k, v in result.figures.items()
               if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    return Card(mech.title, media=media, lead=mech.summary,
                figures=dict(list(figures.items())[:8]),
                text=result.as_text() if mech.prints and hasattr(result, "as_text") else "")


def auto_cards(ctx: GalleryContext, section: str, shown: set[str]) -> list[Card]:
    return [auto_card(ctx, m) for m in auto_mechanisms(section, shown)]


def expected_seconds(names: list[str], quick: bool, out_dir: Path | None = None,
                     side_by_side: bool = False) -> dict[str, float]:
    """Each section's expected seconds: the last run recorded in OUT_DIR/gallery.json (same
    quick setting, sections side by side or not alike, section not failed), else the table
    above."""
    table = dict(EXPECTED_SECONDS[quick])
    record = Path(out_dir) / "gallery.json" if out_dir else None
    if record and record.is_file():
        try:
            last = json.loads(record.read_text())
            if last.get("quick") == quick and (last.get("workers", 1) > 1) == side_by_side:
                failed = last.get("failed") or {}
                table.update({n: float(s) for n, s in (last.get("sections") or {}).items()
                              if n not in failed and float(s) >= 0})
        except (OSError, ValueError, TypeError, AttributeError):
            pass  # an unreadable record only costs a worse estimate
    return {n: max(table.get(n, 30.0), 1.0) for n in names}


def build_section(name: str, ctx: GalleryContext) -> Built:
    """Run one section, timed: its Built, or the error that stopped it (a failed section
    must not lose the others)."""
    start = time.perf_counter()
    try:
        section = section_module(name).build(ctx)
        section.cards += auto_cards(ctx, name, shown_by_sections())
    except Exception as exc:
        traceback.print_exc()
        return failed(name, time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
    return Built(name, section, time.perf_counter() - start, "", shown_mechanisms(name, section))


def shown_mechanisms(name: str, section: Section | None = None) -> list[str]:
    """The mechanisms a section shows: its own list, those its source declares and those
    the gallery gives cards (for a failed section, what it would have shown)."""
    return list(dict.fromkeys([*(section.mechanisms if section else []), *declared_mechanisms(name),
                               *(m.name for m in auto_mechanisms(name, shown_by_sections()))]))


def failed(name: str, seconds: float, error: str) -> Built:
    return Built(name, None, seconds, error, shown_mechanisms(name))


def build_gallery(out_dir: str | os.PathLike = "gallery", quick: bool = False,
                  device: str = "auto", sections: list[str] | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  progress: Progress = silent,
                  log: Callable[[str], None] | None = None, workers: int | None = 1) -> dict:
    """Run the gallery sections and write OUT_DIR/index.html and OUT_DIR/gallery.json.

    `progress(done, total, message)` follows the whole run (done and total in expected
    seconds; the message names the section and its step, "image (1/6): ..."); `log`, if
    given, gets one line as each section starts and ends. `workers`: 1 runs the sections
    one after another in this process; N > 1 runs them side by side in N processes, the
    CPU threads shared between them (`reverie.gallery.parallel`); None picks (`parallel.
    workers_for`: one per free core up to 4 on the CPU, 1 on a GPU). Returns the summary
    written to gallery.json: {"index", "quick", "seconds", "budget_seconds", "sections":
    {name: seconds}, "failed": {name: error}, "mechanisms": {name: [registry names]},
    "examples": {registry name: image path relative to OUT_DIR}} (the studio's home page
    shows these).
    """
    from reverie.core.device import resolve_device
    from reverie.gallery import parallel
    from reverie.gallery.progress import RunProgress

    names = list(SECTION_MODULES if sections is None else sections)
    torch_device = resolve_device(device)
    workers, threads = parallel.workers_for(workers, torch_device, len(names))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    expected = expected_seconds(names, quick, out, side_by_side=workers > 1)
    labels = {name: f"{name} ({i}/{len(names)})" for i, name in enumerate(names, 1)}
    run = RunProgress(progress, expected, labels, log)
    run_start = time.perf_counter()
    if workers > 1:
        built = parallel.build_sections(names, expected, workers, threads,
                                        GalleryContext(out, cache, quick, torch_device), run,
                                        build_section, failed)
    else:
        built = []
        for name in names:
            run.update(name)
            built.append(build_section(name, GalleryContext(out, cache, quick, torch_device,
                                                            run.section(name))))
            run.finish(name, built[-1])
    seconds = time.perf_counter() - run_start
    index = write_page(out, built, quick)
    summary = {"index": str(index), "quick": quick, "seconds": round(seconds, 1),
               "budget_seconds": BUDGET_SECONDS[quick], "workers": workers,
               "sections": {b.name: round(b.seconds, 1) for b in built},
               "failed": {b.name: b.error for b in built if b.error},
               "mechanisms": {b.name: b.mechanisms for b in built},
               "examples": example_images(built)}
    from reverie.io.files import save_json
    save_json(summary, out / "gallery.json")
    return summary


def example_images(built: list[Built]) -> dict[str, str]:
    """One picture per mechanism a section shows: the first image card whose title names
    the mechanism (its name or title), else the section's first image card."""
    from reverie.core import registry
    mechs = registry.mechanisms()
    out: dict[str, str] = {}
    for b in built:
        if b.section is None:
            continue
        cards = [(c.title.lower(), m) for c in b.section.cards for m in c.media
                 if Path(m).suffix.lower() in IMAGE]
        if not cards:
            continue
        for name in b.mechanisms:
            mech = mechs.get(name)
            words = {name.lower(), name.replace("_", " ").lower()}
            if mech is not None:
                words.add(mech.title.lower())
            out[name] = next((m for t, m in cards if any(w in t for w in words)), cards[0][1])
    return out


# -- the page --------------------------------------------------------------------------

AUDIO = {".wav", ".flac", ".ogg", ".mp3"}
VIDEO = {".mp4", ".webm"}
IMAGE = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


def media_kind(path: str) -> str:
    """How the page shows a file: image, audio, video, or a link (.svg, .json, .txt, .html,
    .pt, .kv, .mid and anything unknown)."""
    ext = Path(path).suffix.lower()
    return "audio" if ext in AUDIO else "video" if ext in VIDEO else "image" if ext in IMAGE else "link"


def format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(format_value(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {format_value(x)}" for k, x in v.items())
    return str(v)


def _sidecar_of(out_dir: Path, media: str) -> str | None:
    """The sidecar a Result.save wrote beside this output, as a page link, if there is one."""
    from reverie.core.sidecar import sidecar_path

    path = out_dir / media
    if not path.is_file():
        return None
    car = sidecar_path(path)
    return Path(os.path.relpath(car, out_dir)).as_posix() if car.is_file() and car != path else None


def _card_view(out_dir: Path, card: Card) -> dict:
    media, sidecars = [], []
    for m in card.media:
        media.append({"href": m, "name": Path(m).name, "kind": media_kind(m)})
        car = _sidecar_of(out_dir, m)
        if car and car not in sidecars and car not in card.media:
            sidecars.append(car)
    return {"title": card.title, "lead": card.lead, "text": card.text, "media": media,
            "sidecars": [{"href": s, "name": Path(s).name} for s in sidecars],
            "figures": [(str(k), format_value(v)) for k, v in card.figures.items()],
            "tables": [{"columns": [str(c) for c in t.columns], "caption": t.caption,
                        "rows": [[format_value(c) for c in row] for row in t.rows]}
                       for t in card.tables]}


def _mechanism_views(names: list[str]) -> list[dict]:
    from reverie.core.registry import mechanisms

    table = mechanisms()
    return [{"name": n, "title": table[n].title, "summary": table[n].summary,
             "command": "reverie " + " ".join(table[n].words)}
            for n in names if n in table]


def page_html(out_dir: str | os.PathLike, built: list[Built], quick: bool) -> str:
    """The page's HTML (from templates/gallery.html) for sections already built."""
    import reverie
    from reverie.templates import render

    out = Path(out_dir)
    views = []
    for b in built:
        s = b.section
        views.append({"id": b.name, "title": s.title if s else b.name, "blurb": s.blurb if s else "",
                      "seconds": b.seconds, "error": b.error,
                      "mechanisms": _mechanism_views(b.mechanisms),
                      "cards": [_card_view(out, c) for c in s.cards] if s else []})
    return render("gallery.html", version=reverie.__version__, quick=quick,
                  made=time.strftime("%Y-%m-%d %H:%M"), sections=views)


def write_page(out_dir: str | os.PathLike, built: list[Built], quick: bool) -> Path:
    """Write OUT_DIR/index.html atomically (with the user's umask); return its path."""
    from reverie.io.files import save_text

    return save_text(page_html(out_dir, built, quick), Path(out_dir) / "index.html")
