"""The `reverie` command: a thin layer over the library.

Every registered mechanism gets a generated command (`cli.mechanism`); the modules below
add the commands that are not mechanisms (listing layers, evaluating a model, converting
files). Only the command asked for is built in full, so `reverie list` does not import
every network. Every user error is a ReverieError: one line, exit code 2, no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from reverie.core.config import ConfigError
from reverie.core.errors import ReverieError
from reverie.core.memory import reuse_freed_memory

# Modules with commands that are not mechanisms; each defines register(subparsers).
COMMAND_MODULES = ["registry", "image", "fast_style", "text", "words", "draw", "chat", "music",
                   "sketch", "gan", "sound", "sketch2art", "gallery", "studio", "batch", "models"]


class DefaultsFormatter(argparse.HelpFormatter):
    """Shows a flag's default after its help, unless the help already says it (generated
    flags do) or there is nothing to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" not in text and action.option_strings and action.default not in
                (None, False, argparse.SUPPRESS) and not isinstance(action.default, list)):
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """Remembers itself in the parsed namespace, so an unknown flag is reported with the
    usage of the command it was given to, not the top level's; shows defaults in help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)
        self.set_defaults(_parser=self)

    def error(self, message):
        """One line naming the command whose help to read, instead of a usage block."""
        raise ReverieError(f"{message}; see `{self.prog} --help`")


def build_parser(wanted: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `wanted` (the command words), only that command's flags are built."""
    import reverie
    from reverie.cli import common
    from reverie.cli.mechanism import add_command
    from reverie.core.registry import mechanisms

    parser = Parser(prog="reverie", description="The creative mechanisms of deep neural "
                    "networks, offline on a CPU. `reverie list` shows every mechanism.")
    parser.add_argument("--version", action="version", version=f"reverie {reverie.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common.GROUPS.clear()
    common.GROUPS[()] = sub
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(f"{__name__}.{name}") is None:
            continue  # a domain not built yet
        importlib.import_module(f"{__name__}.{name}").register(sub)
    for mech in mechanisms().values():
        words = mech.words
        group = common.GROUPS.get(tuple(words[:-1]))
        if group is None:
            raise RuntimeError(f"no command group {' '.join(words[:-1])!r} for {mech.name}")
        full = wanted is None or wanted[:len(words)] == words
        add_command(group, mech, full=full)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    reuse_freed_memory()
    words = [a for a in argv if not a.startswith("-")][:3]
    try:
        parser = build_parser(words)
        args, extras = parser.parse_known_args(argv)
        if extras:
            getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(extras)}")
        if args.command is None:
            parser.print_help()
            return 2
        if not getattr(args, "func", None):
            getattr(args, "_parser", parser).print_help()
            return 2
        code = args.func(args)
    except ConfigError as exc:
        flag = f"--{exc.flag or exc.field.replace('_', '-')}"
        print(f"error: {flag}: {exc.detail}", file=sys.stderr)
        return 2
    except ReverieError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
