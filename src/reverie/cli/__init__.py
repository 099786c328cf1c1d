"""The `reverie` command: a thin layer over the library's public functions.

Each mechanism registers its subcommands from its own module here (`register(sub)`), so
the command line grows one file per mechanism. Every user error is a ReverieError:
printed as one line, exit code 2, no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from reverie.core.errors import ReverieError

# One module per mechanism; each defines register(subparsers).
COMMAND_MODULES = ["image", "style", "text", "words", "draw", "gallery"]


def build_parser() -> argparse.ArgumentParser:
    import reverie

    parser = argparse.ArgumentParser(
        prog="reverie",
        description="The creative mechanisms of deep neural networks, offline on a CPU.")
    parser.add_argument("--version", action="version", version=f"reverie {reverie.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # that mechanism is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except ReverieError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
