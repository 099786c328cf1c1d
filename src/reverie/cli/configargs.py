"""Command-line flags generated from a Config: one flag per field, with its help, default
and choices taken from the field's metadata. No default or rule is written here; a value
given on the command line is checked by the Config itself."""
from __future__ import annotations

import argparse
from typing import Any

from reverie.core.config import Config, FieldInfo, fields, make_config

PREFIX = "cfg__"  # argparse dest of a field's flag


def describe_default(info: FieldInfo) -> str:
    d = info.default
    if d is None:
        return "auto" if info.resolved else "none"
    if isinstance(d, bool):
        return "on" if d else "off"
    if isinstance(d, (list, tuple)):
        return " ".join(map(str, d)) if d else "none"
    return str(d)


def flag_help(info: FieldInfo) -> str:
    unit = f", {info.unit}" if info.unit else ""
    return f"{info.help}{unit} (default: {describe_default(info)})".replace("%", "%%")


def _parser_for(info: FieldInfo, kind: str):
    def parse(text: str):
        if info.optional and text.strip().lower() in ("none", "auto"):
            return None
        try:
            return {"int": int, "float": float, "str": str}[kind](text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an' if kind == 'int' else 'a'} "
                                             f"{kind}") from None
    parse.__name__ = kind
    return parse


def add_config_flags(parser: argparse.ArgumentParser, config_cls, *, skip: set[str] = frozenset(),
                     title: str = "settings") -> None:
    group = parser.add_argument_group(title, f"the fields of {config_cls.__name__}; a flag not "
                                              f"given keeps the field's default")
    for info in fields(config_cls):
        if not info.cli or info.name in skip:
            continue
        kw: dict[str, Any] = {"dest": PREFIX + info.name, "default": None, "help": flag_help(info)}
        if info.kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif info.is_list:
            # `--seeds 1 2 3` as the papers' own scripts take them; repeating adds more
            kw.update(action="extend", nargs="+", type=_parser_for(info, info.item_kind),
                      metavar=info.metavar or info.item_kind.upper())
            kw["help"] += " (several: values after one flag, given after the inputs)"
        else:
            kw.update(type=_parser_for(info, info.kind), metavar=info.metavar or info.kind.upper())
        if info.choices is not None and info.item_kind != "bool":
            # shown, not enforced here: the Config refuses a bad value in one line
            kw["metavar"] = "{" + ",".join(map(str, info.choices)) + "}"
        names = [f"--{info.flag}"]
        if len(info.name) == 1 and info.name != "h":  # `-n 64`, as samplers spell it
            names.insert(0, f"-{info.name}")
        group.add_argument(*names, **kw)
    # a renamed field's old flag still works for one release (the Config warns)
    flags = {i.name: i for i in fields(config_cls) if i.cli and i.name not in skip}
    for old, new in getattr(config_cls, "ALIASES", {}).items():
        if new in flags and old.replace("_", "-") != flags[new].flag:
            info = flags[new]
            kw = {"dest": PREFIX + new, "default": None, "help": argparse.SUPPRESS}
            if info.kind == "bool":
                kw["action"] = argparse.BooleanOptionalAction
            else:
                kw["type"] = _parser_for(info, info.kind)
            group.add_argument(f"--{old.replace('_', '-')}", **kw)


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The fields set on the command line."""
    return {k[len(PREFIX):]: v for k, v in vars(args).items()
            if k.startswith(PREFIX) and v is not None}


def config_from_args(config_cls, args: argparse.Namespace, base: dict | None = None) -> Config:
    """The Config: defaults, then `base` (a preset), then the flags given."""
    return make_config(config_cls, config_cls(**(base or {})), **given(args))
