"""`reverie list` (every mechanism, from the registry) and `reverie rerun OUT.json`."""
from __future__ import annotations

from reverie.cli.common import add_json, add_progress, print_json


def register(sub) -> None:
    p = sub.add_parser("list", help="every mechanism: its command, inputs and outputs")
    add_json(p)
    p.set_defaults(func=run_list)

    p = sub.add_parser("rerun", help="make an output again from its sidecar (.json) or from "
                       "the PNG/SVG/WAV/MIDI/MP4 file itself",
                       description="Make an output again from its sidecar alone: the same "
                       "mechanism, inputs (checked by sha256) and settings. Deterministic "
                       "mechanisms give identical bytes on the same machine. A PNG, SVG, WAV, "
                       "MIDI or MP4 file Reverie wrote carries its settings inside: rerun it "
                       "directly.")
    p.add_argument("sidecar", help="the .json written beside an output, or the "
                   "PNG/SVG/WAV/MIDI/MP4 file itself")
    p.add_argument("--out", default=None, help="where to write (default: NAME-rerun beside the original)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a setting (a Config field), repeatable: --set steps=20")
    add_progress(p)
    add_json(p)
    p.set_defaults(func=run_rerun)


def run_list(args) -> int:
    from reverie.core.registry import mechanisms

    rows = []
    for m in mechanisms().values():
        rows.append({"name": m.name, "command": "reverie " + " ".join(m.words), "domain": m.domain,
                     "title": m.title, "summary": m.summary, "paper": m.paper,
                     "inputs": [{"name": i.name, "kind": i.kind, "required": i.required,
                                 "many": i.many, "example": i.example} for i in m.inputs],
                     "outputs": list(m.outputs), "deterministic": m.deterministic})
    if args.json:
        print_json(rows)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Reverie mechanisms", show_lines=False)
    for col in ("command", "what it does", "inputs", "outputs"):
        table.add_column(col)
    for r in rows:
        ins = ", ".join(f"{i['name']} ({i['kind']}{'...' if i['many'] else ''}"
                        f"{'' if i['required'] else ', optional'})" for i in r["inputs"])
        table.add_row(r["command"], f"{r['title']}: {r['summary']}", ins, " ".join(r["outputs"]))
    Console().print(table)
    return 0


def run_rerun(args) -> int:
    from reverie.cli.common import parse_sets
    from reverie.cli.mechanism import report
    from reverie.core.progress import bar
    from reverie.core.rerun import rerun

    changes = parse_sets(args.set, "steps=20")
    with bar("rerun", enabled=None if not args.no_progress else False) as progress:
        result, paths = rerun(args.sidecar, args.out, changes, progress)
    report(result, paths, args.json)
    return 0
