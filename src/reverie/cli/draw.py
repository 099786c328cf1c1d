"""`reverie perceive CLASS --out DRAWING.svg`: a Perception Engines drawing, and what every
network sees in it."""
from __future__ import annotations

import sys

from reverie.cli.common import add_device, add_json, add_progress, add_seed, print_json


def _models(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def register(sub) -> None:
    from reverie.draw.engines import PerceiveConfig

    d = PerceiveConfig()
    p = sub.add_parser("perceive", help="draw a class with lines, curves or blobs until classifiers see it",
                       description="Tom White's Perception Engines: plan a constrained drawing against an "
                                   "ensemble of ImageNet classifiers, judge its exact render with a "
                                   "held-out one. Writes OUT.svg, OUT.png (the exact render) and OUT.json.")
    p.add_argument("target", metavar="CLASS", help="ImageNet class name or index, e.g. 'hammerhead shark' or 4")
    p.add_argument("--out", required=True, help="output drawing, e.g. shark.svg (also writes .png and .json)")
    p.add_argument("--system", default=d.system, help="drawing system: lines, curves or blobs (default: lines)")
    p.add_argument("--strokes", type=int, default=d.strokes, help=f"number of strokes (default: {d.strokes})")
    p.add_argument("--size", type=int, default=d.size, help=f"canvas side in pixels (default: {d.size})")
    p.add_argument("--palette", default=d.palette,
                   help="free, ink (black on white), chalk, sumi, riso, or hex colours "
                        "'#bg,#ink1,#ink2' (default: free)")
    p.add_argument("--planner", default=d.planner, help="grad (Adam through the soft rasteriser) or es "
                                                         "(White's random start + evolution strategies)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"grad steps or ES iterations (default: {d.steps} for grad, 100 for es)")
    p.add_argument("--ensemble", type=_models, default=d.ensemble,
                   help="networks that plan the drawing (default: lite0,lite1)")
    p.add_argument("--held-out", type=_models, default=d.held_out,
                   help="networks that only judge it (default: lite2)")
    p.add_argument("--combine", default=d.combine, help="mean-log or product (White's) (default: mean-log)")
    p.add_argument("--lr", type=float, default=d.lr, help=f"grad: Adam learning rate (default: {d.lr})")
    p.add_argument("--good-enough", type=float, default=d.good_enough,
                   help=f"stop once the ensemble sees the target at this probability (default: {d.good_enough})")
    p.add_argument("--num-pop", type=int, default=d.num_pop, help=f"es: population (default: {d.num_pop})")
    p.add_argument("--sigma", type=float, default=d.sigma, help=f"es: noise (default: {d.sigma})")
    p.add_argument("--alpha", type=float, default=d.alpha, help=f"es: learning rate (default: {d.alpha})")
    p.add_argument("--restarts", type=int, default=d.restarts,
                   help=f"grad: fresh random starts allowed when a run stalls (below p {d.stall_prob} after "
                        f"{d.stall_steps} steps), within the same step budget (default: {d.restarts})")
    p.add_argument("--max-seconds", type=float, default=None, help="stop planning after this many seconds")
    p.add_argument("--from", dest="start", default=None, help="continue from an existing drawing (SVG)")
    p.add_argument("--animate", action="store_true", help="also write the drawing's evolution as OUT.gif")
    add_seed(p)
    add_device(p)
    add_json(p)
    add_progress(p)
    p.set_defaults(func=run)

    r = sub.add_parser("perceive-render", help="render a perceive drawing (SVG) to PNG at any size and "
                                               "show what each network sees in it")
    r.add_argument("drawing", metavar="DRAWING.svg", help="an SVG written by reverie perceive")
    r.add_argument("--out", required=True, help="output PNG")
    r.add_argument("--size", type=int, default=None, help="output side in pixels (default: the drawing's)")
    r.add_argument("--target", default=None, help="also report this class's probability and rank")
    r.add_argument("--models", type=_models, default=("lite0", "lite1", "lite2"),
                   help="networks that judge it (default: lite0,lite1,lite2)")
    add_device(r)
    add_json(r)
    r.set_defaults(func=run_render)


def run(args) -> int:
    from reverie.draw import drawing as draw
    from reverie.nets.classes import find_class
    from reverie.io.images import check_writable
    from reverie.draw.engines import PerceiveConfig, check_config, output_base, perceive, verdict_table
    from reverie.core.progress import bar

    steps = args.steps if args.steps is not None else (100 if args.planner == "es" else PerceiveConfig.steps)
    cfg = PerceiveConfig(system=args.system, strokes=args.strokes, size=args.size, palette=args.palette,
                         planner=args.planner, steps=steps, ensemble=args.ensemble, held_out=args.held_out,
                         combine=args.combine, lr=args.lr, good_enough=args.good_enough,
                         num_pop=args.num_pop, sigma=args.sigma, alpha=args.alpha,
                         max_seconds=args.max_seconds, restarts=args.restarts)
    start = draw.load_svg(args.start) if args.start else None
    if start is not None:
        cfg.system, cfg.strokes = start.system, len(start.strokes)
    # every check before minutes of work, and before any file is written
    find_class(args.target)
    check_config(cfg)
    base = output_base(args.out)
    check_writable(base.with_suffix(".svg"))
    with bar("perceive", enabled=False if (args.no_progress or args.json) else None) as cb:
        result = perceive(args.target, cfg, seed=args.seed, device=args.device, progress=cb,
                          animate=args.animate, start=start)
    paths = result.save(base, animate=args.animate)
    if args.json:
        record = result.record()
        record.pop("history")
        print_json({**record, "files": {k: str(v) for k, v in paths.items()}})
    else:
        print(verdict_table(result))
        print("wrote " + ", ".join(str(v) for v in paths.values()), file=sys.stderr)
    return 0


def run_render(args) -> int:
    from reverie.draw import drawing as draw
    from reverie.nets.classes import find_class
    from reverie.core.errors import ReverieError
    from reverie.io.images import check_writable, pil_to_tensor, save_image, write_sidecar
    from reverie.nets.zoo import weights_path
    from reverie.draw.engines import judge

    if args.size is not None and not 16 <= args.size <= 8192:
        raise ReverieError(f"--size {args.size} is out of range; use 16 to 8192 pixels")
    for m in args.models:
        weights_path(m)
    target = find_class(args.target) if args.target is not None else None
    check_writable(args.out)
    image = draw.render_svg_file(args.drawing, out_size=args.size)
    verdicts = judge(pil_to_tensor(image), target if target is not None else 0,
                     [(m, "judge") for m in args.models], args.device)
    record = {"mechanism": "perceive-render", "drawing": str(args.drawing), "size": image.size[0],
              "target": target, "verdicts": [v.to_dict() for v in verdicts]}
    if target is None:
        for v in record["verdicts"]:
            v.pop("prob"), v.pop("rank")
    save_image(image, args.out)
    write_sidecar(args.out, record)
    if args.json:
        print_json(record)
    else:
        for v in verdicts:
            extra = f"  p(target) {v.prob:.3f} rank {v.rank}" if target is not None else ""
            print(f"{v.model:<7}{extra}  " + ", ".join(f"{t['name']} {t['prob']:.2f}" for t in v.top5))
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
