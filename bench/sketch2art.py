"""Benchmark: pix2pix (sketch2art) on a built-in set (`--data`: clipart, the default, or
photo-tiles), against its baselines.

In one run on this machine (the load average is recorded: other work slows training):
- three models trained for `--minutes` each (default 30) on the training tiles: pix2pix
  with XDoG sketches, pix2pix with Canny sketches, and the same U-Net with XDoG sketches
  trained with L1 alone (lambda_GAN 0: pix2pix's ablation). 128 px (load 143, crop 128,
  unet_128, ngf/ndf `--ngf`, default 64), batch 1, Adam 2e-4 / 0.5, lambda_L1 100;
- on the held-out pictures (every 8th; no pixel of them is trained on), from the sketch each
  model's extractor draws of them: the perceptual distance to the true picture (LPIPS'
  uniform-weight form, Zhang et al. 2018: unit-normalised EfficientNet-Lite2 activations at
  five depths, squared differences averaged; Lite2 never saw these models train, which used
  no network features at all), the L1 distance, and FD on Lite0 pooled features against the
  true held-out pictures (reverie.gan.metrics' features and formula, computed through the
  small n x n form; with photo-tiles' 16 pictures FD is noisy and only ranks; clipart holds
  out 381);
- beside three baselines on the same sketches: the sketch itself; the training picture
  whose sketch is nearest (what a lookup would answer); and the L1-alone U-Net; and, for
  scale, the real-against-real floor: as many random training pictures as are held out;
- sketches no extractor made: 64 canvases of Hershey-font strokes (vpype's fonts: a few
  letters, randomly placed, scaled and weighted, drawn with Pillow), translated by each
  model and judged by FD against every real tile (there is no true picture); beside it the
  FD of the same models' answers to the extractors' own held-out sketches, and of the
  Hershey sketches themselves. Which extractor makes models that answer a hand's sketch
  best is the lower FD here.

Models are kept in bench/out/sketch2art/ and reused (delete them, or change --minutes or
--ngf, to train again); figures go to bench/out/sketch2art/results-DATA.json. The full run
takes 3 x --minutes plus a few minutes of measuring (about 95 minutes at the default).

    flock /tmp/rv/heavy.lock env OMP_NUM_THREADS=2 python bench/sketch2art.py [--minutes 30]
        [--ngf 64] [--data clipart|photo-tiles] [--json]

builtin:clipart needs Debian's openclipart-png (`sudo apt-get install openclipart-png`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from reverie.gan import metrics  # noqa: E402
from reverie.sketch2art.data import load_pairs, nearest_by_sketch  # noqa: E402
from reverie.sketch2art.edges import extract_all  # noqa: E402
from reverie.sketch2art.model import translate  # noqa: E402
from reverie.sketch2art.train import (Pix2PixConfig, load_sketch2art,  # noqa: E402
                                      train_sketch2art)

OUT = ROOT / "bench" / "out" / "sketch2art"
SIZE = 128
TAPS = ["stage1", "stage2", "stage3", "stage5", "head"]
MODELS = {"pix2pix-xdog": dict(edges="xdog"), "pix2pix-canny": dict(edges="canny"),
          "l1-alone-xdog": dict(edges="xdog", lambda_GAN=0.0)}


def config(minutes: float, ngf: int, **changes) -> Pix2PixConfig:
    return Pix2PixConfig(netG="unet_128", load_size=143, crop_size=SIZE, ngf=ngf, ndf=ngf,
                         minutes=minutes, eval_every=500, checkpoint_every=500, **changes)


@torch.no_grad()
def perceptual(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """LPIPS with uniform weights on Lite2: per image, the mean over taps of the spatially
    averaged squared distance between channel-normalised activations."""
    from reverie.nets.zoo import load_net
    net = load_net("lite2")
    fa, fb = net.features(a, TAPS), net.features(b, TAPS)
    total = torch.zeros(len(a))
    for t in TAPS:
        x = fa[t] / fa[t].norm(dim=1, keepdim=True).clamp_min(1e-10)
        y = fb[t] / fb[t].norm(dim=1, keepdim=True).clamp_min(1e-10)
        total += (x - y).pow(2).sum(1).mean((1, 2))
    return (total / len(TAPS)).numpy()


def hershey_sketches(count: int = 64, seed: int = 0) -> torch.Tensor:
    """Canvases of Hershey-font strokes (vpype's fonts), as a pen would draw them."""
    import vpype
    from PIL import Image, ImageDraw

    from reverie.io.strokes import GLYPH_FONTS

    rng = np.random.default_rng(seed)
    letters = "abcdefghkmnopqrsuvwxyzABCDEGHKMOPQRSW023456789&@"
    out = []
    for _ in range(count):
        text = "".join(rng.choice(list(letters), int(rng.integers(1, 4))))
        font = GLYPH_FONTS[int(rng.integers(len(GLYPH_FONTS)))]
        lc = vpype.text_line(text, font, size=100)
        lines = [np.c_[ln.real, ln.imag] for ln in lc if len(ln) >= 2]
        pts = np.concatenate(lines)
        lo, hi = pts.min(0), pts.max(0)
        scale = SIZE * rng.uniform(0.5, 0.85) / max(float((hi - lo).max()), 1e-6)
        offset = rng.uniform(0.05, 0.95 - (hi - lo) * scale / SIZE) * SIZE - lo * scale
        im = Image.new("L", (SIZE, SIZE), 255)
        draw = ImageDraw.Draw(im)
        width = int(rng.integers(1, 4))
        for ln in lines:
            draw.line([tuple(p) for p in ln * scale + offset], fill=0, width=width,
                      joint="curve")
        out.append(torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)[None])
    return torch.stack(out)


REAL: dict[str, np.ndarray] = {}   # Lite0 features of the real sets, computed once


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """metrics.frechet_distance (pytorch-fid's formula), exactly, for fewer samples than
    features: with A, B the centred rows scaled by 1/sqrt(n - 1), S_a = A'A and S_b = B'B,
    Tr (S_a S_b)^(1/2) is the sum of the singular values of A B' (n_a x n_b), so no
    1280 x 1280 matrix square root (minutes each on a busy 2-core machine) is needed."""
    if min(len(a), len(b)) >= a.shape[1]:
        return metrics.frechet_distance(a, b)
    mu_a, mu_b = a.mean(0), b.mean(0)
    A = (a - mu_a) / np.sqrt(len(a) - 1)
    B = (b - mu_b) / np.sqrt(len(b) - 1)
    nuclear = np.linalg.svd(A @ B.T, compute_uv=False).sum()
    d = mu_a - mu_b
    return float(d @ d + (A * A).sum() + (B * B).sum() - 2 * nuclear)


def fd(a: torch.Tensor, real: str) -> float:
    """FD between images `a` and the real set named `real` ("held_out" or "all")."""
    return frechet_distance(metrics.lite0_features(a), REAL[real])


def scores(answer: torch.Tensor, truth: torch.Tensor) -> dict:
    return {"perceptual": float(perceptual(answer, truth).mean()),
            "l1": float((answer - truth).abs().mean()), "fd": fd(answer, "held_out")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="training minutes per model")
    ap.add_argument("--ngf", type=int, default=64, help="ngf and ndf of every model")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--data", default="clipart", choices=("clipart", "photo-tiles"),
                    help="the built-in set trained on and held out from")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict = {"data": f"builtin:{args.data}", "minutes_per_model": args.minutes,
                     "ngf": args.ngf, "size": SIZE, "load_average_start": os.getloadavg(),
                     "models": {}}
    tiles = load_pairs(f"builtin:{args.data}", SIZE)
    held = tiles.held_out
    train = sorted(set(range(len(tiles.pictures))) - set(held))
    truth = tiles.pictures[held]
    sketches = {m: extract_all(tiles.pictures, m) for m in ("xdog", "canny")}
    hershey = hershey_sketches()
    REAL["held_out"] = metrics.lite0_features(truth)
    REAL["all"] = metrics.lite0_features(tiles.pictures)
    results["held_out"], results["train"] = len(held), len(train)

    baselines = {}
    for m, s in sketches.items():
        near = nearest_by_sketch(s[held], s[train])
        baselines[f"the {m} sketch itself"] = scores(s[held].repeat(1, 3, 1, 1), truth)
        baselines[f"nearest training picture by {m} sketch"] = scores(
            tiles.pictures[train][torch.from_numpy(near)], truth)
    floor = torch.tensor(train)[torch.randperm(len(train), generator=torch.Generator()
                                               .manual_seed(0))[:len(held)]]
    baselines["real against real: random training pictures"] = scores(tiles.pictures[floor],
                                                                      truth)
    results["baselines"] = baselines
    results["hershey_sketches_fd_vs_real"] = fd(hershey.repeat(1, 3, 1, 1), "all")

    for name in args.models:
        cfg = config(args.minutes, args.ngf, **MODELS[name])
        tag = "" if args.data == "photo-tiles" else f"-{args.data}"
        path = OUT / f"{name}{tag}-{args.minutes:g}min-ngf{args.ngf}.pt"
        if not path.exists():
            print(f"training {name} for {args.minutes:g} minutes ...", flush=True)
            r = train_sketch2art(f"builtin:{args.data}", cfg, out=path)
            train_fig = {k: v for k, v in r.figures.items() if k != "history"}
        else:
            train_fig = json.loads(path.with_suffix(".json").read_text())["figures"]
            train_fig.pop("history", None)
        net = load_sketch2art(path)
        s = sketches[net.config.edges]
        answer = translate(net.G, s[held])
        hand = translate(net.G, hershey)
        results["models"][name] = {
            "steps": train_fig.get("steps"),
            "seconds_per_step": 1 / train_fig["pairs_per_second"] if train_fig.get(
                "pairs_per_second") else None,
            "held_out": scores(answer, truth),
            "hershey_fd_vs_real": fd(hand, "all"),
            "held_out_fd_vs_real": fd(answer, "all")}
        (OUT / f"results-{args.data}.json").write_text(json.dumps(results, indent=1))
        from reverie.gan.networks import image_grid
        from reverie.io.images import save_image
        k = 8
        save_image(image_grid(torch.cat([s[held][:k].repeat(1, 3, 1, 1), answer[:k], truth[:k],
                                         hershey[:k].repeat(1, 3, 1, 1), hand[:k]]), nrow=k),
                   OUT / f"{name}{tag}.png")
    results["seconds"] = time.perf_counter() - started
    results["load_average_end"] = os.getloadavg()
    (OUT / f"results-{args.data}.json").write_text(json.dumps(results, indent=1))
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"builtin:{args.data}: held out {len(held)}, training {len(train)}; "
          f"{args.minutes:g} min per model, ngf {args.ngf}")
    print(f"{'':52s} {'perceptual':>10s} {'L1':>7s} {'FD':>8s}")
    for label, f in baselines.items():
        print(f"{label:52s} {f['perceptual']:10.4f} {f['l1']:7.4f} {f['fd']:8.1f}")
    for name, f in results["models"].items():
        h = f["held_out"]
        print(f"{name + ' (' + str(f['steps']) + ' steps)':52s} {h['perceptual']:10.4f} "
              f"{h['l1']:7.4f} {h['fd']:8.1f}")
    print("hand-like sketches (Hershey strokes), FD of the answers vs every real picture:")
    print(f"  the Hershey sketches themselves: {results['hershey_sketches_fd_vs_real']:.1f}")
    for name, f in results["models"].items():
        print(f"  {name}: {f['hershey_fd_vs_real']:.1f} (its answers to held-out extractor "
              f"sketches: {f['held_out_fd_vs_real']:.1f})")
    print(f"{results['seconds']:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
