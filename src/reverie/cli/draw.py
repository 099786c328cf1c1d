"""`reverie perceive-render DRAWING.svg --out BIG.png --size 2048`: render a Perception
Engines drawing at any size and show what each network sees in it. (`reverie perceive`
itself is generated from the registry, like every mechanism.)"""
from __future__ import annotations

import sys

from reverie.cli.common import add_device, add_json, print_json

JUDGES = ["lite0", "lite1", "lite2"]


def register(sub) -> None:
    from reverie.nets.zoo import MODELS

    r = sub.add_parser("perceive-render", help="render a perceive drawing (SVG) to PNG at any size and "
                                               "show what each network sees in it")
    r.add_argument("drawing", metavar="DRAWING.svg", help="an SVG written by reverie perceive")
    r.add_argument("--out", required=True, metavar="PATH", help="output PNG")
    r.add_argument("--size", type=int, default=None,
                   help="output side in pixels, 16-8192 (default: the drawing's)")
    r.add_argument("--supersample", type=int, default=4,
                   help="the exact renderer's antialiasing: samples per output pixel along each side "
                        "(default: 4, as perceive)")
    r.add_argument("--target", default=None, help="also report this class's probability and rank")
    r.add_argument("--model", dest="models", action="append", choices=list(MODELS), default=None,
                   help=f"a network that judges it (repeat the flag for several; default: "
                        f"{' '.join(JUDGES)})")
    add_device(r)
    add_json(r)
    r.set_defaults(func=run_render)


def run_render(args) -> int:
    from reverie.core.errors import ReverieError
    from reverie.draw import drawing as draw
    from reverie.draw.engines import judge
    from reverie.core.sidecar import write_sidecar
    from reverie.io.files import check_writable
    from reverie.io.images import pil_to_tensor, save_image
    from reverie.nets.classes import find_class
    from reverie.nets.zoo import weights_path

    if args.size is not None and not 16 <= args.size <= 8192:
        raise ReverieError(f"--size {args.size} is out of range; use 16 to 8192 pixels")
    if not 1 <= args.supersample <= 16:
        raise ReverieError(f"--supersample {args.supersample} is out of range; use 1 to 16")
    models = args.models or JUDGES
    for m in models:
        weights_path(m)
    target = find_class(args.target) if args.target is not None else None
    check_writable(args.out)
    image = draw.render_svg_file(args.drawing, out_size=args.size, supersample=args.supersample)
    verdicts = judge(pil_to_tensor(image), target if target is not None else 0,
                     [(m, "judge") for m in models], args.device)
    record = {"command": "perceive-render", "drawing": str(args.drawing), "size": image.size[0],
              "supersample": args.supersample, "target": target,
              "verdicts": [v.to_dict() for v in verdicts]}
    if target is None:
        for v in record["verdicts"]:
            v.pop("prob"), v.pop("rank")
    save_image(image, args.out)
    write_sidecar(args.out, record)  # not a mechanism's output: a plain record, not for rerun
    if args.json:
        print_json(record)
    else:
        for v in verdicts:
            extra = f"  p(target) {v.prob:.3f} rank {v.rank}" if target is not None else ""
            print(f"{v.model:<7}{extra}  " + ", ".join(f"{t['name']} {t['prob']:.2f}" for t in v.top5))
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
