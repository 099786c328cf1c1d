"""Benchmark: fine-tuning a zoo model on a small user-like set against the same minutes
from scratch, per domain (issue #38).

For each domain, the trainer runs twice on a small set the zoo model never saw, each for
`--minutes` of training time (default 2; evaluation does not count): once with
`init="model:NAME"` (the zoo's weights) and once from scratch with the same config, the
fields that give the model its shape (its Config's MODEL_FIELDS) set to the zoo model's so
both runs train the same architecture. Reported per run: the trainer's own held-out figure
on the set's held-out part at the end, and (from a one-step run of each, the same config)
the first step's training loss and the held-out figure after that one step; then the
difference, fine-tuned minus scratch (lower is better for every figure here).

    domain  zoo model           trainer         the user-like set
    text    model:shakespeare   train_charlm    the first 300 KB of the King James Bible
                                                (builtin:kjv, Debian bible-kjv), reduced
                                                to the model's characters (the model's
                                                vocabulary is fixed: init refuses others)
    draw    model:glyphs        train_sketch    500 of Aaron Koblin's sheep (train split of
                                                ../shared/data/aaron_sheep.npz), 100 valid
    gan     model:digits        train_gan       the 468 Hershey letters of builtin:glyphs
                                                (no digits) drawn white on black at 32 px,
                                                a fifth held out: FD on Lite0 features
    gan-freezed, gan-projected: the same letters, fine-tuned with FreezeD (freeze_d 2),
            and both runs with Projected GAN's discriminator (issue 34)
    music   model:chorales      train_coconet   30 chorales of the JSB test split
                                                (../shared/data/Jsb16thSeparated.npz) as
                                                four-part MIDI files in a folder; music21's
                                                Bach chorales, the zoo model's data, overlap
                                                the JSB set: some of these pieces (or their
                                                transpositions) it has seen

Figures: text val_loss (nats per character, the last tenth of the 300 KB); draw val_r
(sketch-rnn's reconstruction loss on the valid drawings, nats per point over max_seq_len,
both runs in the same units: a fine-tuned sketch-rnn scales new drawings by their own
spread); gan fd (Frechet distance on EfficientNet-Lite0 features between held-out letters
and as many samples; first-step loss: the discriminator's); music val_loss (nats per
erased cell on the held-out pieces, reverie's split by name).

The zoo models are found as everywhere ($REVERIE_ZOO, then the package's zoo/models/).
A full run takes 4 domains x 2 runs x M minutes of training (16 minutes at the default),
plus the one-step runs, evaluations and data preparation: about 2 minutes more on 2 busy
cores (measured in tiny runs; the GAN's FD features take most), so about 18 minutes.

    flock /tmp/rv/heavy.lock env OMP_NUM_THREADS=2 python bench/finetune.py \\
        [--minutes 2] [--domains text draw gan music] [--json]
    python bench/finetune.py --quick --minutes 0.1     # a smoke run: small sets, cheap evals

Results go to bench/out/finetune/results.json (and to stdout with --json).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out" / "finetune"
# how much each trainer trained on and held out, as its figures name it
SIZES = ("train_chars", "val_chars", "train_drawings", "valid_drawings", "train_images",
         "fd_images", "train_pieces", "valid_pieces")
NEVER = 10 ** 9   # eval_every / sample_every: only the final evaluation (it costs wall time)


@dataclass
class Domain:
    name: str
    model: str                          # the zoo model, model:NAME
    train: Callable                     # the trainer function
    config_class: type                  # its Config
    prepare: Callable[[Path, bool], tuple[dict, dict]]  # (folder, quick) -> (inputs, record)
    config: Callable[[bool], dict]      # quick -> the run's settings (not its shape)
    figure: str                         # the held-out figure in the result's figures
    first: str                          # the training loss whose first step is reported
    unit: str
    tuned: dict = None                  # settings of the fine-tuned run alone (FreezeD)


# ---------------------------------------------------------------------------------------
# The user-like sets
# ---------------------------------------------------------------------------------------

def text_set(folder: Path, quick: bool) -> tuple[dict, dict]:
    from reverie import zoo
    from reverie.text.corpus import Vocab, read_corpus
    from reverie.text.sentiment import clean_for_vocab

    size = 30_000 if quick else 300_000
    raw = read_corpus("builtin:kjv")[:size]
    vocab = Vocab(zoo.checkpoint("shakespeare")["vocab"])
    text = clean_for_vocab(raw, vocab)
    dropped = {c: raw.count(c) for c in sorted(set(raw) - set(text))}
    return {"text": text}, {"source": "builtin:kjv", "characters": len(text),
                            "dropped_characters": dropped}


def sheep_set(folder: Path, quick: bool) -> tuple[dict, dict]:
    from reverie.io import strokes as S

    data = S.read_strokes(DATA / "aaron_sheep.npz")
    n_train, n_held = (100, 30) if quick else (500, 100)
    subset = {"train": data["train"][:n_train], "valid": data["valid"][:n_held],
              "test": data["test"][:n_held]}
    path = S.write_strokes(subset, folder / "sheep.npz")
    return {"data": str(path)}, {"source": str(DATA / "aaron_sheep.npz"),
                                 **{k: len(v) for k, v in subset.items()}}


def letter_set(folder: Path, quick: bool) -> tuple[dict, dict]:
    """The Hershey letters (digits left out: the model's own subject) as 32 px PNGs, white
    strokes on black as builtin:digits draws them."""
    from PIL import ImageOps

    from reverie.draw.sketch_draw import grid_png
    from reverie.io import strokes as S

    glyphs = S.glyph_drawings(only=S.GLYPH_CHARS[:52])   # A-Z, a-z
    letters = [d for split in ("train", "valid", "test") for d in glyphs[split]]
    if quick:
        letters = letters[:120]
    out = folder / "letters"
    out.mkdir()
    for i, d in enumerate(letters):
        ImageOps.invert(grid_png([[d]], cell=32, line=2.2)).save(out / f"letter{i:03d}.png")
    return {"images": str(out)}, {"source": "builtin:glyphs letters, 32 px",
                                  "images": len(letters)}


def chorale_set(folder: Path, quick: bool) -> tuple[dict, dict]:
    from music import load_jsb  # bench/music.py: the JSB file, read once
    from reverie.music.score import write_midi

    pieces = load_jsb()["test"][:12 if quick else 30]
    out = folder / "chorales"
    out.mkdir()
    for p in pieces:
        write_midi(p, out / f"{p.name}.mid")
    return {"corpus": str(out)}, {"source": str(DATA / "Jsb16thSeparated.npz"), "split": "test",
                                  "pieces": len(pieces),
                                  "overlap": "music21's Bach chorales (the zoo model's data) "
                                             "overlap the JSB set"}


# ---------------------------------------------------------------------------------------
# The domains
# ---------------------------------------------------------------------------------------

def gan_settings(**extra) -> Callable[[bool], dict]:
    """The digits recipe's settings (zoo/recipes.py) for a letters run, with `extra`."""
    return lambda quick: {"batch_size": 64, "diffaugment": "translation", "lr_g": 2e-4,
                          "lr_d": 8e-4, "fd_samples": 40 if quick else 500, "val_frac": 0.2,
                          "eval_every": NEVER, "sample_every": NEVER, **extra}


def domains() -> dict[str, Domain]:
    from reverie.draw.sketch import SketchConfig
    from reverie.draw.sketch_train import train_sketch
    from reverie.gan.dcgan import GANConfig, train_gan
    from reverie.music.coconet import CoconetConfig
    from reverie.music.coconet_train import train_coconet
    from reverie.text.charlm import CharLMConfig
    from reverie.text.train import train_charlm

    return {d.name: d for d in [
        Domain("text", "model:shakespeare", train_charlm, CharLMConfig, text_set,
               lambda quick: {"eval_every": NEVER, "eval_iters": 2 if quick else 20},
               "val_loss", "train_loss", "nats/char"),
        # bench/drawing_strokes.py's batch: more updates in a short budget than 100
        Domain("draw", "model:glyphs", train_sketch, SketchConfig, sheep_set,
               lambda quick: {"batch_size": 32, "eval_every": NEVER},
               "val_r", "train_r", "nats/point"),
        # the digits recipe's settings (zoo/recipes.py), but for its shape
        Domain("gan", "model:digits", train_gan, GANConfig, letter_set, gan_settings(),
               "fd", "d_loss", "FD (Lite0)"),
        # the same, fine-tuned with FreezeD (Mo et al. 2020): the discriminator's first two
        # layers kept as the zoo model's
        Domain("gan-freezed", "model:digits", train_gan, GANConfig, letter_set,
               gan_settings(), "fd", "d_loss", "FD (Lite0)", tuned={"freeze_d": 2}),
        # both runs with Projected GAN's discriminator (issue 34) at its rates: the fine-tuned
        # one takes the zoo model's generator, its discriminator fresh
        Domain("gan-projected", "model:digits", train_gan, GANConfig, letter_set,
               gan_settings(discriminator="projected", lr_d=2e-4), "fd", "d_loss",
               "FD (Lite0)"),
        Domain("music", "model:chorales", train_coconet, CoconetConfig, chorale_set,
               lambda quick: {"eval_every": NEVER}, "val_loss", "train_loss", "nats/cell"),
    ]}


def shape_of(domain: Domain) -> dict:
    """The zoo model's shape fields, as its Config reads them back."""
    from reverie import zoo
    from reverie.io.checkpoints import saved_config

    ckpt = zoo.checkpoint(domain.model)
    cls = domain.config_class
    saved = saved_config(cls, ckpt["config"])
    return {n: getattr(saved, n) for n in cls.MODEL_FIELDS}


def run_pair(domain: Domain, folder: Path, minutes: float, quick: bool, threads: int | None
             ) -> dict:
    t0 = time.perf_counter()
    inputs, record = domain.prepare(folder, quick)
    prep_s = time.perf_counter() - t0
    shape = shape_of(domain)
    common = {**domain.config(quick), **({"threads": threads} if threads else {})}
    arms = {"fine-tuned": {"init": domain.model, **(domain.tuned or {})}, "scratch": shape}
    out: dict = {"model": domain.model, "data": record, "shape": shape,
                 "config": common, "prepare_seconds": round(prep_s, 1), "runs": {}}
    for arm, extra in arms.items():
        t = time.perf_counter()
        one = domain.train(**inputs, max_steps=1, **{**common, **extra})
        first = one.figures["history"][0]
        res = domain.train(**inputs, minutes=minutes, **{**common, **extra})
        f = res.figures
        out["runs"][arm] = {
            "figure": float(f[domain.figure]), "first_step_loss": float(first[domain.first]),
            "figure_after_one_step": float(one.figures[domain.figure]),
            "steps": int(f["steps"]), "wall_seconds": round(time.perf_counter() - t, 1),
            **{k: f[k] for k in SIZES if k in f},
            **({"fd_real_floor": float(f["fd_real_floor"])} if "fd_real_floor" in f else {}),
            "notes": [n for n in res.notes if "wall-clock" not in n]}
        _log(f"{domain.name} {arm}: {domain.figure} {f[domain.figure]:.4f} after "
             f"{f['steps']} steps; first step {domain.first} {first[domain.first]:.4f}")
    ft, sc = out["runs"]["fine-tuned"], out["runs"]["scratch"]
    out["difference"] = {k: ft[k] - sc[k] for k in ("figure", "first_step_loss",
                                                     "figure_after_one_step")}
    return out


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

def table(results: dict, all_domains: dict[str, Domain]) -> str:
    head = (f"{'domain':<7} {'figure (unit)':<22} {'fine-tuned':>10} {'scratch':>10} "
            f"{'diff':>9}   {'1st-step loss ft / scratch':>27}   {'after 1 step ft / scratch':>26}"
            f"   steps ft / scratch")
    rows = [head, "-" * len(head)]
    for name, r in results["domains"].items():
        d = all_domains[name]
        ft, sc, diff = r["runs"]["fine-tuned"], r["runs"]["scratch"], r["difference"]
        rows.append(f"{name:<7} {d.figure + ' (' + d.unit + ')':<22} {ft['figure']:>10.4f} "
                    f"{sc['figure']:>10.4f} {diff['figure']:>+9.4f}   "
                    f"{ft['first_step_loss']:>12.4f} / {sc['first_step_loss']:<12.4f}   "
                    f"{ft['figure_after_one_step']:>11.4f} / {sc['figure_after_one_step']:<12.4f}"
                    f"   {ft['steps']} / {sc['steps']}")
    notes = [f"{name}: {r['data']['overlap']}" for name, r in results["domains"].items()
             if "overlap" in r["data"]]
    notes += [f"{name}: dropped from the text (not in the model's vocabulary): "
              f"{r['data']['dropped_characters']}" for name, r in results["domains"].items()
              if r["data"].get("dropped_characters")]
    notes += [f"{name}: real-vs-real FD floor {r['runs']['scratch']['fd_real_floor']:.2f}"
              for name, r in results["domains"].items()
              if "fd_real_floor" in r["runs"]["scratch"]]
    return "\n".join(rows + [""] + notes)


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    all_domains = domains()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=2.0, help="training minutes per run")
    p.add_argument("--domains", nargs="+", choices=list(all_domains), default=list(all_domains))
    p.add_argument("--quick", action="store_true", help="small sets and cheap evaluations "
                                                        "(a smoke run, not a measurement)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per run (default: $REVERIE_THREADS, else the free cores)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    results: dict = {"minutes": args.minutes, "quick": args.quick,
                     "load_average_start": os.getloadavg()[0], "domains": {}}
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.domains:
            folder = Path(tmp) / name
            folder.mkdir()
            results["domains"][name] = run_pair(all_domains[name], folder, args.minutes,
                                                args.quick, args.threads)
    results["load_average_end"] = os.getloadavg()[0]
    results["wall_seconds"] = round(time.perf_counter() - t, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / ("results-quick.json" if args.quick else "results.json")).write_text(
        json.dumps(results, indent=1, default=str))
    print(table(results, all_domains))
    print(f"\n{args.minutes:g} minutes per run{' (quick: NOT a measurement)' if args.quick else ''}"
          f"; {results['wall_seconds']:.0f} s in all; load average "
          f"{results['load_average_start']:.1f} -> {results['load_average_end']:.1f}")
    if args.json:
        print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
