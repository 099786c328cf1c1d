"""`reverie music`: Bach chorales with Coconet.

    reverie music train builtin:chorales --minutes 20 --out bach.pt      (generated)
    reverie music compose bach.pt --bars 8 --key "D major" --out chorale.mid   (generated)
    reverie music harmonize bach.pt "E4:4 E4:4 F4:4 G4:4" --out h.mid     (generated)
    reverie music continue bach.pt start.mid --bars 4 --out more.mid      (generated)
    reverie music evaluate bach.pt --json     held-out NLL per frame and per note, with the
                                              chord Markov baseline measured beside it
"""
from __future__ import annotations

from reverie.cli.common import add_json, group, print_json


def register(sub) -> None:
    ms = group(sub, "music", "Bach chorales: Coconet composes, harmonises and continues "
                             "them; evaluate a model")
    p = ms.add_parser("evaluate", help="held-out negative log-likelihood per frame and per "
                                       "note, beside the chord Markov baseline")
    p.add_argument("model", help="a model from `reverie music train` (.pt)")
    p.add_argument("--data", default="builtin:chorales",
                   help="builtin:chorales (its held-out test chorales, never trained on) or a "
                        "folder of four-part MIDI/MusicXML scored whole (default: "
                        "builtin:chorales)")
    p.add_argument("--frames", type=int, default=64,
                   help="random frames scored per piece, each with its own random context "
                        "(0: every frame; slower) (default: 64)")
    p.add_argument("--order", type=int, default=3, help="the Markov baseline's order (default: 3)")
    p.add_argument("--seed", type=int, default=0, help="(default: 0)")
    add_json(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from reverie.music.evaluation import evaluate_model
    figures = evaluate_model(args.model, args.data, frames=args.frames or None,
                             order=args.order, seed=args.seed)
    if args.json:
        print_json(figures)
        return 0
    print(f"{figures['pieces']} held-out pieces ({figures['data']}):")
    print(f"  Coconet   {figures['nll_per_frame']:.3f} nats/frame (random order), "
          f"{figures['nll_per_frame_chronological']:.3f} (chronological); chain rule within "
          f"the frame: {figures['nll_per_frame_chain_rule']:.3f} (random order), "
          f"{figures['nll_per_frame_chronological_chain_rule']:.3f} (chronological); "
          f"{figures['nll_per_note']:.3f} nats/note")
    print(f"  Markov-{args.order} {figures['markov_nll_per_frame']:.3f} nats/frame "
          f"(chronological, chords)")
    print(f"  {figures['method']}")
    return 0
