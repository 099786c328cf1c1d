"""Every mechanism, named once: its function, Config, inputs and outputs.

Each domain package declares its own in `MECHANISMS` (in its `__init__`, which imports
nothing heavy); this module collects them. The CLI, `reverie list`, `reverie rerun`, the
gallery and the studio all walk this registry, so a mechanism added here appears in each.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable

from reverie.core.errors import ReverieError

DOMAINS = ["image", "audio", "text", "chat", "words", "draw", "music", "gan", "sound", "scale",
           "sketch2art"]


@dataclass(frozen=True)
class Input:
    """One input of a mechanism, passed to its function as the keyword `name`.

    kind: image | audio | text (a file of text) | corpus (files, folders or builtin:NAME) |
    model (a file a trainer wrote) | vectors | drawing | value (a word or phrase typed in) |
    jobs (a JSON Lines file of jobs for `batch`) | score (MIDI or MusicXML) | strokes (a
    sketch-rnn stroke-3 `.npz`) | video (a clip ffmpeg reads) | sketch (an image of lines,
    or an SVG of strokes).
    """
    name: str
    kind: str
    help: str
    required: bool = True
    many: bool = False          # several values (style images, corpus files)
    example: str | None = None  # a bundled input that shows the mechanism off
    flag: str | None = None     # an optional input's flag, when not --NAME (`--with`)
    positional: bool = False    # an optional input given without a flag (`gan apply g.pt [IMAGE]`)


@dataclass(frozen=True)
class Mechanism:
    name: str                   # the command: `reverie NAME`, `reverie.NAME(...)`
    title: str
    domain: str
    summary: str                # one line: what it makes and how
    paper: str                  # who and when: the algorithm's source
    function: str               # "module:attr"
    config: str                 # "module:attr"
    inputs: tuple[Input, ...]
    outputs: tuple[str, ...]    # suffixes `save()` accepts; the first is the default
    presets: str | None = None  # "module:attr": {name: {field: value}}
    command: str | None = None  # the CLI's words if not the name ("text sample")
    deterministic: bool = True  # the same seed gives the same bytes on one machine
    check_out: str | None = None  # "module:attr": (config, path) -> None, raises before work
    prints: bool = False        # without an output path the CLI prints `result.as_text()`
    # Config overrides for the gallery's automatic card ("quick": those for --quick): a
    # mechanism no hand-written section shows gets a card made from its inputs' examples
    gallery: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def examples(self) -> dict[str, str] | None:
        """Its inputs' bundled examples, by name; None when a required input has none."""
        if any(i.required and i.example is None for i in self.inputs):
            return None
        return {i.name: i.example for i in self.inputs if i.example is not None}

    def load(self) -> Callable:
        return _attr(self.function)

    def config_class(self):
        return _attr(self.config)

    def preset_table(self) -> dict[str, dict]:
        return dict(_attr(self.presets)) if self.presets else {}

    def check_output(self, config, path) -> None:
        """Refuse an output path that cannot be written or that the config cannot fill,
        before minutes of work."""
        from reverie.io.files import check_writable
        check_writable(path)
        if self.check_out:
            _attr(self.check_out)(config, path)

    @property
    def words(self) -> list[str]:
        return (self.command or self.name).split()


def _attr(spec: str):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def mechanisms() -> dict[str, Mechanism]:
    """Every registered mechanism by name, in domain order."""
    out: dict[str, Mechanism] = {}
    for domain in DOMAINS:
        if importlib.util.find_spec(f"reverie.{domain}") is None:
            continue  # a domain not built yet
        for m in getattr(importlib.import_module(f"reverie.{domain}"), "MECHANISMS", []):
            out[m.name] = m
    return out


def get(name: str) -> Mechanism:
    table = mechanisms()
    if name not in table:
        import difflib
        close = difflib.get_close_matches(name, table, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ReverieError(f"unknown mechanism {name!r}{hint}; `reverie list` shows them all")
    return table[name]
