"""The model zoo: trained models shipped with Reverie, ready on first use.

Each model is a folder under `zoo/models/NAME/` (or under $REVERIE_ZOO, for models a user
trained with `reverie models train`): `weights.safetensors` and `model.json` (the
checkpoint as plain data, see `store`) and `card.json`, which says what it is, what it was
trained on and under which licence, the command that made it, where and for how long, and
its held-out figures beside the gallery's short-budget model and a baseline. `model:NAME`
is accepted wherever a trained model is: every loader reads checkpoints through
`reverie.io.checkpoints.load_checkpoint`, which asks this module for it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from reverie.core.errors import ReverieError

PACKAGE = Path(__file__).with_name("models")
PREFIX = "model:"
# Every field a card carries (`check_card`); figures are {name: value} dicts.
CARD_FIELDS = ("name", "title", "format", "uses", "data", "licence", "recipe", "hardware",
               "steps", "wall_seconds", "figures", "short_budget", "baseline", "fp16",
               "files")


def roots() -> list[Path]:
    """Where zoo models are looked for: $REVERIE_ZOO (a user's) first, then the package's."""
    extra = os.environ.get("REVERIE_ZOO")
    return ([Path(extra)] if extra else []) + [PACKAGE]


def names() -> list[str]:
    """Every model in the zoo: a user's ($REVERIE_ZOO) first, each root's sorted."""
    found: list[str] = []
    for root in roots():
        if root.is_dir():
            found += [n for n in sorted(p.parent.name for p in root.glob("*/card.json"))
                      if n not in found]
    return found


def folder(name: str) -> Path:
    name = name.removeprefix(PREFIX)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):  # a name, never a path out of a root
        raise ReverieError(f"model:{name} is not a zoo model name (lowercase letters, digits "
                           f"and -); `reverie models list` shows the names")
    for root in roots():
        if (root / name / "card.json").is_file():
            return root / name
    known = names()
    import difflib
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean model:{close[0]}?)" if close else ""
    raise ReverieError(f"no model:{name} in the zoo{hint}; `reverie models list` shows "
                       f"{', '.join('model:' + n for n in known) or 'none installed'}")


def card(name: str) -> dict:
    path = folder(name) / "card.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ReverieError(f"the card of model:{name} ({path}) does not read; reinstall "
                           f"reverie") from None
    check_card(data)
    return data


def check_card(data: dict) -> None:
    missing = [f for f in CARD_FIELDS if f not in data]
    if missing:
        raise ReverieError(f"the card of model:{data.get('name', '?')} lacks "
                           f"{', '.join(missing)}; retrain it with `reverie models train`")


def files(name: str) -> list[Path]:
    """The files a model is made of (what an input's sha256 covers)."""
    f = folder(name)
    return [f / "model.json", f / "weights.safetensors"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checkpoint(name: str) -> dict:
    """The model's checkpoint dict, after checking its files against the card's sha256:
    a file changed since it was made is refused in one line."""
    from reverie.zoo import store

    name = name.removeprefix(PREFIX)
    info = card(name)
    where = folder(name)
    for fname, digest in info["files"].items():
        path = where / fname
        if not path.is_file() or _sha256(path) != digest:
            raise ReverieError(f"model:{name}'s {fname} has been changed or damaged (its "
                               f"sha256 is not the card's); reinstall reverie or retrain it "
                               f"with `reverie models train {name}`")
    return store.read(where)


def thin_history(history, losses: int = 200):
    """A shipped model's training record: every evaluation (the rows with more than step
    and losses) and at most `losses` loss rows spread evenly, the last included. A 17k-step
    GAN logs 1,700 loss rows; its card's curves need a tenth of them."""
    if not isinstance(history, list) or len(history) <= losses:
        return history
    stride = -(-len(history) // losses)
    last = len(history) - 1
    return [row for i, row in enumerate(history)
            if i % stride == 0 or i == last or any("loss" not in k and k != "step" for k in row)]


def export(ckpt: dict, name: str, into: Path, card_fields: dict, fp16: bool = False) -> Path:
    """Write a checkpoint as zoo model `name` in `into/name/`, with its card (the files'
    sha256 filled in). Returns the folder."""
    from reverie.io.files import save_json
    from reverie.zoo import store

    where = Path(into) / name
    if isinstance(ckpt.get("run"), dict):
        ckpt = {**ckpt, "run": {**ckpt["run"], "history": thin_history(ckpt["run"].get("history"))}}
    paths = store.write(ckpt, where, fp16=fp16)
    data = {"name": name, "format": ckpt.get("format"), "fp16": fp16, **card_fields,
            "files": {p.name: _sha256(p) for p in paths.values()}}
    check_card(data)
    save_json(data, where / "card.json")
    return where

