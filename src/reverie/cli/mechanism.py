"""One command per registered mechanism, generated: its inputs as arguments, its Config as
flags, `--out`, `--preset`, `--json`; run it with a progress bar and `save()` the result."""
from __future__ import annotations

import argparse
import inspect
import sys
from functools import partial
from pathlib import Path

from reverie.cli.common import add_json, add_progress, print_json
from reverie.cli.configargs import add_config_flags, config_from_args
from reverie.core.errors import ReverieError
from reverie.core.registry import Mechanism


def input_flag(inp) -> str:
    return "--" + (inp.flag or inp.name.replace("_", "-"))


def add_command(sub, mech: Mechanism, full: bool = True) -> argparse.ArgumentParser:
    """`reverie NAME ...` (or the last word of `mech.command` under its group's `sub`)."""
    p = sub.add_parser(mech.words[-1], help=mech.summary,
                       description=f"{mech.title}: {mech.summary} ({mech.paper})")
    p.set_defaults(func=partial(run, mech))
    if not full:  # the command is known but not the one asked for: skip heavy imports
        return p
    for inp in mech.inputs:
        example = f" (e.g. {inp.example})" if inp.example else ""
        if inp.kind == "model":  # the zoo's trained models that serve this mechanism
            from reverie.zoo.recipes import serving
            ready = serving(mech.name)
            example += f", or {' or '.join(ready)} from the zoo" if ready else ""
        if inp.required:
            p.add_argument(inp.name, nargs="+" if inp.many else None, help=inp.help + example)
        elif inp.positional:
            p.add_argument(inp.name, nargs="*" if inp.many else "?", default=None,
                           help=inp.help + example)
        else:
            many = {"action": "extend", "nargs": "+"} if inp.many else {}
            p.add_argument(input_flag(inp), dest=inp.name, default=None, help=inp.help + example,
                           **many)
    p.add_argument("--out", required=not mech.prints, metavar="PATH",
                   help=f"output file ({', '.join(mech.outputs)}); its sidecar .json is written "
                        f"beside it" + ("; without it the output is printed" if mech.prints else ""))
    presets = mech.preset_table()
    if presets:
        p.add_argument("--preset", choices=list(presets), default=None,
                       help="a named set of fields: " + "; ".join(
                           f"{k}: " + ", ".join(f"{f}={v}" for f, v in fs.items())
                           for k, fs in presets.items()) + " (flags given win)")
    add_config_flags(p, mech.config_class())
    add_progress(p)
    add_json(p)
    return p


def run(mech: Mechanism, args: argparse.Namespace) -> int:
    from reverie.core.progress import bar
    from reverie.scale.ddp import is_main

    out = Path(args.out) if args.out is not None else None
    if out is not None and out.suffix and out.suffix.lower() not in mech.outputs:
        raise ReverieError(f"{mech.name} writes {', '.join(mech.outputs)}, not {out.suffix!r}; "
                           f"give --out {out.with_suffix(mech.outputs[0])}")
    base = mech.preset_table()[args.preset] if getattr(args, "preset", None) else {}
    config = config_from_args(mech.config_class(), args, base)
    if out is not None:
        mech.check_output(config, out)
    inputs = {inp.name: getattr(args, inp.name) for inp in mech.inputs}
    function = mech.load()
    if out is not None and "out" in inspect.signature(function).parameters:
        inputs["out"] = out  # a trainer checkpoints into it as it goes
    main = is_main()  # under torchrun, rank 0 alone draws progress, saves and reports
    with bar(mech.name, enabled=None if main and not args.no_progress else False) as progress:
        result = function(**inputs, config=config, progress=progress)
    if not main:
        return 0
    if out is None:  # a printable mechanism asked for no file
        if args.json:
            print_json({"text": result.as_text(), "figures": result.figures, "notes": result.notes})
        else:
            sys.stdout.write(result.as_text())
        return 0
    # a trainer given `out` has saved already (its checkpoints went there)
    paths = result.saved if "out" in inputs and result.saved else result.save(out)
    report(result, paths, args.json)
    return 1 if getattr(result, "failures", None) else 0  # part of a batch failed


def report(result, paths: dict[str, Path], as_json: bool) -> None:
    if as_json:
        print_json({"outputs": {k: str(v) for k, v in paths.items()}, "figures": result.figures,
                    "timings": result.timings, "notes": result.notes})
        return
    files = ", ".join(str(p) for k, p in paths.items() if k != "sidecar")
    print(f"wrote {files}")
    line = result.summary()
    if line:
        print(line)
    for note in result.notes:
        print(f"note: {note}")
