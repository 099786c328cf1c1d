"""Flags named the same way across every command, and small output helpers."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from reverie.io.files import jsonable


# Command groups ("text", "words", ...) by their words, so generated mechanism commands
# (`text sample`) land under the group a module made. () is the top level.
GROUPS: dict[tuple[str, ...], object] = {}


def group(sub, name: str, help: str, parent: tuple[str, ...] = ()):
    """A command with subcommands (`reverie text ...`); returns its subparsers."""
    p = sub.add_parser(name, help=help)
    inner = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    GROUPS[(*parent, name)] = inner
    return inner


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto)")


def add_seed(p: argparse.ArgumentParser, default: int = 0) -> None:
    p.add_argument("--seed", type=int, default=default, help=f"random seed (default: {default})")


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object on stdout")


def add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")


def print_json(data: Any) -> None:
    json.dump(jsonable(data), sys.stdout)
    sys.stdout.write("\n")


def _number(name: str, cast, ok, words: str):
    """An argparse type: `cast` the text, refuse values that are not `ok` ("must be WORDS")."""
    def parse(text: str):
        value = cast(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {words}, got {value}")
        return value
    parse.__name__ = name  # argparse names the type in its "invalid ... value" message
    return parse


positive_int = _number("positive_int", int, lambda v: v >= 1, "at least 1")
positive_float = _number("positive_float", float, lambda v: v > 0, "above 0")
nonneg_int = _number("nonneg_int", int, lambda v: v >= 0, "0 or more")
nonneg_float = _number("nonneg_float", float, lambda v: v >= 0, "0 or more")


def parse_sets(items: list[str], example: str) -> dict[str, str]:
    """`--set FIELD=VALUE` items (rerun, zoom) as {field: text}; the Config parses the text."""
    from reverie.core.errors import ReverieError

    changes = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ReverieError(f"--set takes FIELD=VALUE, got {item!r}; e.g. --set {example}")
        changes[name.strip()] = value.strip()
    return changes
