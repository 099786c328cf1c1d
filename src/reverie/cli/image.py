"""Image commands that are not generated from the registry: `layers`, `classes`, `classify`,
and `visualize` (until it moves to the registry)."""
from __future__ import annotations

import dataclasses

from reverie.core.errors import ReverieError
from reverie.cli.common import (add_device, add_json, add_progress, add_seed, positive_float,
                     positive_int, print_json)

MODELS = ["lite0", "lite1", "lite2"]


def register(sub) -> None:
    p = sub.add_parser("layers", help="list a network's named layers with shapes and depth hints")
    p.add_argument("--model", default="lite0", choices=MODELS)
    p.add_argument("--size", type=positive_int, default=None, help="input size for the shapes "
                   "(default: the network's own)")
    add_json(p)
    p.set_defaults(func=run_layers)

    p = sub.add_parser("classes", help="list or search the ImageNet class names")
    p.add_argument("query", nargs="?", default=None, help="show only names containing this")
    add_json(p)
    p.set_defaults(func=run_classes)

    p = sub.add_parser("classify", help="top-5 ImageNet labels for an image")
    p.add_argument("image", help="image path or sample:NAME (e.g. sample:chelsea)")
    p.add_argument("--model", default="lite0", choices=MODELS + ["all"])
    p.add_argument("--top", type=positive_int, default=5)
    add_device(p)
    add_json(p)
    p.set_defaults(func=run_classify)

    p = sub.add_parser("visualize", help="activation maximisation: what a class or unit looks for")
    p.add_argument("target", help="class name or index (goldfish, 1) or layer:channel (stage5:37)")
    p.add_argument("--out", required=True, help="output .png (a batch is tiled side by side)")
    p.add_argument("--model", default="lite0", choices=MODELS)
    p.add_argument("--size", type=positive_int)
    p.add_argument("--steps", type=positive_int)
    p.add_argument("--lr", type=positive_float)
    p.add_argument("--batch", type=positive_int)
    p.add_argument("--transforms", type=positive_int, help="random transforms per step")
    p.add_argument("--diversity", type=float)
    p.add_argument("--no-fft", action="store_true", help="optimise pixels, not a spectrum")
    p.add_argument("--no-decorrelate", action="store_true", help="plain RGB, not decorrelated colour")
    p.add_argument("--jitter", type=float)
    p.add_argument("--rotate", type=float)
    p.add_argument("--judge", action="append", dest="judges", choices=MODELS,
                   help="held-out network to judge with (repeatable; default: the other two)")
    add_seed(p)
    add_device(p)
    add_progress(p)
    add_json(p)
    p.set_defaults(func=run_visualize)


def run_layers(args) -> int:
    import torch
    from reverie.nets.zoo import load_net

    net = load_net(args.model)
    size = args.size or net.input_size
    with torch.no_grad():
        feats = net.features(torch.zeros(1, 3, size, size), list(net.layers))
    rows = [{"name": n, "shape": list(feats[n].shape[1:]), "hint": info.hint}
            for n, info in net.layers.items()]
    if args.json:
        print_json({"model": args.model, "input_size": size, "layers": rows})
        return 0
    print(f"{args.model} at {size}x{size} (blocks counted from 0; `stageN` is its last block; "
          f"a channel is `stageN:C`)")
    for r in rows:
        print(f"  {r['name']:<10} {'x'.join(map(str, r['shape'])):<14} {r['hint']}")
    return 0


def run_classes(args) -> int:
    from reverie.nets.classes import class_names

    rows = [(i, n) for i, n in enumerate(class_names())
            if not args.query or args.query.lower() in n.lower()]
    if args.json:
        print_json([{"index": i, "name": n} for i, n in rows])
    else:
        for i, n in rows:
            print(f"{i:4d}  {n}")
    return 0


def run_classify(args) -> int:
    from reverie.io.images import load_image
    from reverie.nets.zoo import classify

    image = load_image(args.image)
    models = MODELS if args.model == "all" else [args.model]
    result = {m: classify(image, m, args.top, args.device) for m in models}
    if args.json:
        print_json({"image": args.image, "predictions": result})
        return 0
    for m, preds in result.items():
        print(f"{m}:")
        for p in preds:
            print(f"  {p['prob']:6.1%}  {p['index']:4d} {p['name']}")
    return 0


def _overrides(args, names: dict[str, str]) -> dict:
    return {field: getattr(args, flag) for flag, field in names.items()
            if getattr(args, flag, None) is not None}


def run_visualize(args) -> int:
    import torch
    from reverie.io.images import check_writable, save_image, write_sidecar
    from reverie.core.progress import bar
    from reverie.image.featurevis import VisualizeConfig, visualize

    out = check_writable(args.out)
    fields = _overrides(args, {"model": "model", "size": "size", "steps": "steps", "lr": "lr",
                               "batch": "batch", "transforms": "transforms",
                               "diversity": "diversity", "jitter": "jitter", "rotate": "rotate",
                               "judges": "judges", "seed": "seed"})
    fields.update(fft=not args.no_fft, decorrelate=not args.no_decorrelate, device=args.device)
    config = VisualizeConfig(**fields)
    with bar("visualize", enabled=None if not args.no_progress else False) as progress:
        result = visualize(args.target, config, progress=progress)
    save_image(torch.cat(list(result.images), dim=2), out)  # a batch side by side
    write_sidecar(out, {"command": "visualize", "target": args.target,
                        "config": dataclasses.asdict(config), "figures": result.figures})
    if args.json:
        print_json({"out": str(out), **result.figures})
        return 0
    f = result.figures
    print(f"wrote {out} ({f['seconds']:.1f} s), target {f['target']}")
    for model, rows in f.get("verdicts", {}).items():
        for i, row in enumerate(rows):
            top = ", ".join(f"{t['name']} {t['prob']:.2f}" for t in row["top5"][:3])
            print(f"  {model}{'' if len(rows) == 1 else f'[{i}]'}: p(target) {row['target_prob']:.3f}, "
                  f"rank {row['target_rank']}; sees {top}")
    if "channel_mean" in f:
        print(f"  channel mean {f['channel_mean']} vs layer mean {f['layer_mean']}")
    return 0
