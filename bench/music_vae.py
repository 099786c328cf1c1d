"""MusicVAE on two-bar chorale fragments: held-out reconstruction and KL, an interpolation,
and whether attribute vectors move what they claim to.

    flock /tmp/rv/heavy.lock env OMP_NUM_THREADS=2 python bench/music_vae.py --minutes 8
    python bench/music_vae.py --model bench/out/music/vae.pt        # evaluate only

Figures printed beside baselines measured in the same run:
- reconstruction (argmax decoding from the fragment's own code, no teacher forcing) beside
  decoding from another fragment's code (what the decoder does without the information
  in z) and beside the share of "no event" tokens (always predicting a hold);
- attribute vectors: mean notes per decoded fragment at each amount of the density
  vector, beside a random direction of the same length (a vector that means nothing
  should not move density); the major vector's effect on the estimated mode, likewise.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from reverie.music import chorales as ch
from reverie.music import vae as mv
from reverie.music.chorales import estimate_key
from reverie.music.vae_latent import apply_attribute, interpolate
from reverie.music.vae_train import evaluate_tokens, train_vae

OUT = Path(__file__).parent / "out" / "music"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(OUT / "vae.pt"))
    ap.add_argument("--minutes", type=float, default=None, help="train first for this long")
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--fragments", type=int, default=200, help="test fragments for attributes")
    ap.add_argument("--free-bits", type=float, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    if args.minutes or args.max_steps:
        t = time.time()
        budget = {"minutes": args.minutes} if args.minutes else {"max_steps": args.max_steps}
        if args.free_bits is not None:
            budget["free_bits"] = args.free_bits
        last = [0.0]

        def progress(done, total, msg):
            if time.time() - last[0] > 30:
                last[0] = time.time()
                print(f"  {done}/{total} {msg}", file=sys.stderr, flush=True)
        res = train_vae("builtin:chorales", out=args.model, progress=progress,
                        checkpoint_every=100, **budget)
        report["train"] = {"seconds": time.time() - t, "steps": res.figures["steps"],
                           "fragments_per_second": res.figures["fragments_per_second"],
                           "train_fragments": res.figures["train_fragments"],
                           "params": res.figures["params"]}
    vae = mv.load_vae(args.model)
    report["held_out"] = vae.meta["evaluation"]
    report["steps"] = vae.meta.get("step")

    # test chorales (never trained on): fragments one bar apart
    _, _, test = ch.split_chorales(ch.load_chorales())
    frags = mv.make_fragments(test, hop=16, limit=0)
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(frags))[:args.fragments]
    tok = torch.from_numpy(frags.tokens[pick]).long()
    report["test"] = evaluate_tokens(vae.net, tok, sampled=len(tok))
    z = mv.encode_tokens(vae.net, tok)
    notes_in = mv.note_count(frags.tokens[pick])

    # interpolation between two test fragments, one sparse and one dense
    a, b = int(np.argmin(notes_in)), int(np.argmax(notes_in))
    fa, fb = (mv.from_tokens(frags.tokens[pick][i], n) for i, n in ((a, "A"), (b, "B")))
    res = interpolate(vae, fa, fb, steps=5, temperature=0.0)
    stem = Path(args.model).stem
    res.save(OUT / f"{stem}-interpolation.mid")
    report["interpolation"] = {"notes": [f["notes"] for f in res.figures["fragments"]],
                               "inputs_notes": res.figures["input_notes"],
                               "agreement_with_A": res.figures["agreement_with_A"],
                               "agreement_with_B": res.figures["agreement_with_B"]}

    # attribute vectors against a random direction of the same length
    amounts = [-2.0, -1.0, 0.0, 1.0, 2.0]
    g = np.random.default_rng(1)

    def sweep(vector):
        out = []
        for amt in amounts:
            dec = vae.net.sample(torch.from_numpy(z + amt * vector), 0.0, None).numpy()
            out.append(dec)
        return out

    for name in ("density", "major"):
        if name not in vae.attributes:
            continue
        v = vae.attributes[name]
        rand = g.standard_normal(v.shape).astype(np.float32)
        rand *= np.linalg.norm(v) / np.linalg.norm(rand)
        row = {}
        for label, vec in (("attribute", v), ("random", rand)):
            decs = sweep(vec)
            if name == "density":
                row[label] = [float(mv.note_count(d).mean()) for d in decs]
            else:
                row[label] = [float(np.mean([estimate_key(mv.from_tokens(t).pitches)
                                             .endswith("major") for t in d])) for d in decs]
        report[f"attribute_{name}"] = {"amounts": amounts, **row,
                                       "what": "mean notes per fragment" if name == "density"
                                       else "share of fragments whose estimated key is major"}
    ex = apply_attribute(vae, fa, attribute="density", temperature=0.0)
    ex.save(OUT / f"{stem}-density.mid")
    report["attribute_example_notes"] = ex.figures["notes_by_amount"]
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        h, t = report["held_out"], report["test"]
        print(f"model {args.model}: {report['steps']} steps")
        for name, f in (("held-out (valid)", h), ("test chorales", t)):
            print(f"{name}: r_loss {f['r_loss']:.1f} nats/fragment, KL {f['kl_bits']:.1f} bits; "
                  f"teacher-forced acc {f['teacher_forced_accuracy']:.3f} (notes "
                  f"{f['teacher_forced_note_accuracy']:.3f}); argmax reconstruction acc "
                  f"{f.get('sampled_accuracy', 0):.3f} (notes {f.get('sampled_note_accuracy', 0):.3f})"
                  f" | baselines: another fragment's code {f.get('other_code_accuracy', 0):.3f} "
                  f"(notes {f.get('other_code_note_accuracy', 0):.3f}), always-hold "
                  f"{f['hold_baseline']:.3f}")
        print("interpolation notes:", report["interpolation"]["notes"],
              "agreement with A:", [round(x, 2) for x in report["interpolation"]["agreement_with_A"]],
              "with B:", [round(x, 2) for x in report["interpolation"]["agreement_with_B"]])
        for name in ("density", "major"):
            r = report.get(f"attribute_{name}")
            if r:
                print(f"{name} vector ({r['what']}) at amounts {amounts}: "
                      f"{[round(x, 2) for x in r['attribute']]} | random direction, same length: "
                      f"{[round(x, 2) for x in r['random']]}")
        print("example (density on the sparse fragment A):", report["attribute_example_notes"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
