"""`reverie models`: the model zoo (list, show a card, where a model is, retrain it)."""
from __future__ import annotations

import shlex
from pathlib import Path

from reverie.cli.common import add_json, group, print_json


def register(sub) -> None:
    inner = group(sub, "models", "the model zoo: trained models ready on first use")
    p = inner.add_parser("list", help="every zoo model: name, what it is, its held-out figure")
    add_json(p)
    p.set_defaults(func=run_list)
    p = inner.add_parser("show", help="a model's card: data, licence, recipe, figures")
    p.add_argument("name", help="model:NAME or NAME")
    add_json(p)
    p.set_defaults(func=run_show)
    p = inner.add_parser("path", help="the folder a zoo model is stored in")
    p.add_argument("name", help="model:NAME or NAME")
    p.set_defaults(func=run_path)
    p = inner.add_parser("train", help="run the recipe that makes a zoo model",
                         description="Rerun the command on a model's card, then store the "
                         "result as a zoo model in FOLDER/NAME (use it as model:NAME with "
                         "REVERIE_ZOO=FOLDER).")
    p.add_argument("name", help="model:NAME or NAME")
    p.add_argument("--folder", default="zoo", help="where the retrained model goes "
                   "(default: ./zoo)")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its "
                   "checkpoint in FOLDER")
    p.set_defaults(func=run_train)


def _headline(card: dict) -> str:
    figures = card.get("figures") or {}
    return ", ".join(f"{k} {_fmt(v)}" for k, v in list(figures.items())[:2])


def _uses(card: dict) -> str:
    uses = card["uses"]
    return uses if isinstance(uses, str) else ", ".join(uses)


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def run_list(args) -> int:
    from reverie import zoo

    cards = [zoo.card(n) for n in zoo.names()]
    if args.json:
        print_json([{k: c[k] for k in ("name", "title", "uses", "figures", "steps",
                                       "hardware")} for c in cards])
        return 0
    from rich.console import Console
    from rich.table import Table
    table = Table("model", "what", "used by", "held-out figures", "trained")
    for c in cards:
        table.add_row(f"model:{c['name']}", c["title"], _uses(c), _headline(c),
                      f"{c['steps']} steps, {c['wall_seconds'] / 60:.0f} min, {c['hardware']}")
    Console().print(table)
    return 0


def run_show(args) -> int:
    from reverie import zoo

    card = zoo.card(args.name)
    if args.json:
        print_json(card)
        return 0
    print(f"model:{card['name']}: {card['title']}")
    print(f"  used by     {_uses(card)}")
    print(f"  data        {card['data']}")
    print(f"  licence     {card['licence']}")
    print(f"  recipe      {card['recipe']}")
    print(f"  trained     {card['steps']} steps in {card['wall_seconds'] / 60:.1f} min on "
          f"{card['hardware']}" + (", stored at fp16" if card["fp16"] else ""))
    for title, key in (("held out", "figures"), ("short budget", "short_budget"),
                       ("baseline", "baseline")):
        values = card.get(key) or {}
        if values:
            print(f"  {title:<11} " + ", ".join(f"{k} {_fmt(v)}" for k, v in values.items()))
    for note in card.get("notes", []):
        print(f"  note        {note}")
    return 0


def run_path(args) -> int:
    from reverie import zoo

    print(zoo.folder(args.name))
    return 0


def run_train(args) -> int:
    """The model's recipe, its output redirected into FOLDER, then stored as a zoo model."""
    from reverie.cli import main
    from reverie.zoo.recipes import build, recipe

    r = recipe(args.name)
    folder = Path(args.folder)
    out = folder / f"{r.name}.pt"
    words = shlex.split(r.command.replace("{out}", str(out)))
    if args.resume and not _resumable(words[1:]):
        from reverie.core.errors import ReverieError
        raise ReverieError(f"model:{r.name} trains in one go and cannot resume; run "
                           f"`reverie models train {r.name}` again without --resume")
    code = main(words[1:] + (["--resume"] if args.resume else []))
    if code:
        return code
    where = build(r.name, out, folder)
    print(f"model:{r.name} trained into {where}; use it with REVERIE_ZOO={folder}")
    return 0


def _resumable(words: list[str]) -> bool:
    """Whether the command these words run trains through a loop that resumes (its Config
    has `resume`; word2vec's gensim run has none)."""
    import dataclasses

    from reverie.core.registry import mechanisms

    for m in mechanisms().values():
        if words[:len(m.words)] == m.words:
            return any(f.name == "resume" for f in dataclasses.fields(m.config_class()))
    return True

