"""Image commands that are not mechanisms: `layers`, `classes`, `classify`. (`dream`,
`visualize`, `style` and `texture` are generated from the registry.)"""
from __future__ import annotations

from reverie.cli.common import add_device, add_json, positive_int, print_json

MODELS = ["lite0", "lite1", "lite2"]


def register(sub) -> None:
    p = sub.add_parser("layers", help="list a network's named layers with shapes and depth hints")
    p.add_argument("--model", default="lite0", choices=MODELS, help="the network")
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
    p.add_argument("--model", default="lite0", choices=MODELS + ["all"],
                   help="the network, or all three")
    p.add_argument("--top", type=positive_int, default=5, help="how many labels to show")
    add_device(p)
    add_json(p)
    p.set_defaults(func=run_classify)


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
    from reverie.nets.verdicts import classify

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
