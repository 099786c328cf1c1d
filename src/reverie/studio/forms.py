"""Forms generated from the registry: a Config's fields become controls, with their help,
ranges, choices and defaults from the field metadata; a mechanism's inputs become uploads,
sample pickers or text boxes. A field added to a Config appears here without studio code."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reverie.core.config import FieldInfo, fields, parse_value
from reverie.core.registry import Input, Mechanism

SAMPLE_IMAGES = ["astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "horse",
                 "brick", "grass", "gravel", "camera", "coins", "moon", "hubble_deep_field"]


@dataclass
class Control:
    name: str
    label: str
    widget: str          # checkbox | select | number | text
    value: Any
    help: str
    choices: list | None = None
    min: float | None = None
    max: float | None = None
    step: str = "any"
    advanced: bool = False


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def controls(mech: Mechanism, values: dict | None = None) -> list[Control]:
    """One control per Config field shown on the command line, in declaration order."""
    values = values or {}
    out = []
    for f in fields(mech.config_class()):
        if not f.cli or not f.studio or f.name == "device":
            continue
        value = values.get(f.name, f.default)
        help_text = f.help + (f" ({f.unit})" if f.unit else "")
        if f.kind == "bool":
            out.append(Control(f.name, f.name.replace("_", " "), "checkbox", bool(value), help_text,
                               advanced=f.advanced))
        elif f.choices is not None and not f.is_list:
            out.append(Control(f.name, f.name.replace("_", " "), "select", _show(value), help_text,
                               choices=[_show(c) for c in f.choices], advanced=f.advanced))
        elif f.kind in ("int", "float"):
            low = f.min if f.min is not None else f.above
            high = f.max if f.max is not None else f.below
            out.append(Control(f.name, f.name.replace("_", " "), "number", _show(value),
                               help_text + ("; empty: auto" if f.optional else ""), min=low,
                               max=high, step="1" if f.kind == "int" else "any",
                               advanced=f.advanced))
        else:
            hint = "; several: separate with commas" if f.is_list else ""
            if f.is_list and f.choices:
                hint += f"; from {', '.join(map(str, f.choices))}"
            out.append(Control(f.name, f.name.replace("_", " "), "text", _show(value),
                               help_text + hint + ("; empty: auto" if f.optional else ""),
                               advanced=f.advanced))
    return out


def config_from_form(mech: Mechanism, form: dict[str, str],
                     folder: Path | None = None) -> dict[str, Any]:
    """The fields a form sets, parsed by their types (the Config checks them). An empty box
    keeps the default. A checkbox absent from the studio's own form (marked by `__form`) is
    off; from another client, an absent switch keeps its default. A field that names a file
    (an init image, VGG weights) may name only a file in the studio's `folder`."""
    out: dict[str, Any] = {}
    from_page = "__form" in form
    for f in fields(mech.config_class()):
        if not f.cli or not f.studio or f.name == "device":
            continue
        if f.kind == "bool":
            if f.name not in form and not from_page:
                continue
            value = str(form.get(f.name, "")).lower() in ("on", "true", "1", "yes")
            if value != f.default:
                out[f.name] = value
            continue
        text = (form.get(f.name) or "").strip()
        if text == "":
            if f.optional and f.default is not None:
                out[f.name] = None
            continue
        value = parse_value(f, text)
        if f.file is not None and isinstance(value, str):
            value = _file_in_folder(f, value, folder)
        if value != f.default:
            out[f.name] = value
    return out


def _file_in_folder(f: FieldInfo, value: str, folder: Path | None) -> str:
    """`value` with the file it names resolved inside `folder`, or a ReverieError."""
    from reverie.core.errors import ReverieError
    from reverie.studio.files import safe_path

    part = f.file(value)
    if part is None:
        return value
    path = safe_path(folder, part) if folder is not None else None
    if path is None or not path.is_file():
        raise ReverieError(f"{f.name}: {part!r} is not a file in the studio's folder; put it "
                           f"there (or upload it as an input) and name it relative to the folder")
    return value[:len(value) - len(part)] + str(path)


def presets_json(mech: Mechanism) -> str:
    """The mechanism's presets, for the page's preset picker (fields shown as text)."""
    return json.dumps({name: {k: _show(v) for k, v in fs.items()}
                       for name, fs in mech.preset_table().items()})


def input_choices(inp: Input) -> list[str]:
    """Built-in choices for an input beside an upload."""
    if inp.kind == "image":
        from reverie.io.images import paintings
        return [f"sample:{s}" for s in SAMPLE_IMAGES + paintings()]
    from reverie.io.datasets import all_datasets, get
    if inp.kind == "strokes":
        return [f"builtin:{d.name}" for d in all_datasets().values() if d.kind == "strokes"]
    if inp.kind == "corpus":
        if inp.example and inp.example.startswith("builtin:"):  # sets like the example's
            kinds: tuple[str, ...] = (get(inp.example).kind,)
        else:  # labelled sets for a probe's data, text to learn from otherwise
            kinds = ("labelled",) if inp.name == "data" else ("text", "corpus", "dialogue")
        return [f"builtin:{d.name}" for d in all_datasets().values() if d.kind in kinds]
    return []


def zoo_cards(mechanism: str | None = None) -> list[dict]:
    """The zoo's cards (those whose `uses` names `mechanism`, when given), each with its
    `model:NAME`. A card that does not read is left out: one broken model must not take a
    page or the model list down with it."""
    from reverie import zoo
    from reverie.core.errors import ReverieError

    out = []
    for name in zoo.names():
        try:
            card = zoo.card(name)
        except ReverieError:
            continue
        uses = card["uses"]  # a list of mechanism names; older cards hold one string
        uses = uses.replace(",", " ").split() if isinstance(uses, str) else list(uses)
        if mechanism is None or mechanism in uses:
            out.append({**card, "name": name, "model": f"{zoo.PREFIX}{name}"})
    return out


def field_info(mech: Mechanism) -> dict[str, FieldInfo]:
    return {f.name: f for f in fields(mech.config_class())}
