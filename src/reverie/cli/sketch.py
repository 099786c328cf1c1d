"""`reverie sketch`: sketch-rnn (Ha & Eck 2017), drawings as pen strokes.

    reverie sketch train DATA.npz --minutes 20 --out sheep.pt            (generated)
    reverie sketch sample sheep.pt --out samples.svg                      (generated)
    reverie sketch reconstruct sheep.pt DATA.npz --index 3 --out r.svg    (generated)
    reverie sketch interpolate sheep.pt DATA.npz:test:3 DATA.npz:test:7 --out i.svg (generated)
    reverie sketch analogy sheep.pt DATA.npz DATA.npz DATA.npz --a-index 0 --b-index 1 \\
        --c-index 2 --out a.svg                                           (generated)
    reverie sketch evaluate sheep.pt DATA.npz --json    L_R and L_KL on the test split,
                                                        beside the untrained model
"""
from __future__ import annotations

from reverie.cli.common import add_json, group, print_json


def register(sub) -> None:
    sk = group(sub, "sketch", "sketch-rnn: train a stroke model on sketch-rnn .npz drawings; "
                              "sample, reconstruct, interpolate, analogies; evaluate a model")
    p = sk.add_parser("evaluate", help="reconstruction (L_R) and KL (L_KL) loss on a split, "
                                       "in the paper's unit, beside the untrained model")
    p.add_argument("model", help="a model from `reverie sketch train` (.pt)")
    p.add_argument("data", help="stroke data: a sketch-rnn .npz")
    p.add_argument("--split", default="test", help="which array to score (default: test)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent draws (default: 0)")
    add_json(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from reverie.draw.sketch_draw import evaluate_sketch
    f = evaluate_sketch(args.model, args.data, args.split, args.seed)
    if args.json:
        print_json(f)
        return 0
    u = f["untrained"]
    print(f"{f['drawings']} drawings of {f['split']!r} (nats per step, sums / max_seq_len):")
    print(f"  model     L_R {f['r_loss']:.3f} (offsets {f['offset_loss']:.3f}, pen "
          f"{f['pen_loss']:.3f}), L_KL {f['kl_loss']:.3f} (unfloored {f['kl_raw']:.3f})")
    print(f"  untrained L_R {u['r_loss']:.3f}, L_KL {u['kl_loss']:.3f}")
    return 0
