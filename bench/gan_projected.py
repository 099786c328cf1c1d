"""Benchmark: Projected GAN's discriminator against the plain one, on a small folder, digits
and textures (issue 34). bench/gan.py measures the plain DCGAN's recipe in depth.

In one run on this machine (the load average is recorded):
- three sets, each trained `--minutes` (default 10) with the plain discriminator, with the
  projected one (`discriminator=projected`, at Projected GAN's learning rates) and, on
  shapes and digits, with both together (`discriminator=both`, at the plain one's rates);
  the same generator and knobs otherwise:
  * shapes: 400 pictures of 32 px generated here (one filled square, triangle or diamond
    of a random colour, size, place and turn, on a grey field from dark to light; a
    quarter held out): the small folder an artist brings;
  * digits: builtin:digits with bench/gan.py's recipe (InfoGAN's code of 10 values), and
    the projected discriminator also without the code;
  * textures: the Spatial GAN on sample:brick, the library's crop (64) and depth (4) at
    half size, and its projected discriminator at interp_size 64 (the crop's own side);
- FD against the held-out pictures on Lite2 features, with Lite0 beside it (a projected
  discriminator on Lite0 could fool a Lite0 judge alone); beside them uniform noise's FD
  (shapes: the target is at most 0.35 of it) and the real-against-real floor (textures:
  at most twice it);
- shapes: the judge's scale, the FD of real pictures blurred or with pixel noise;
- shapes: a bright/dark vector from the brightest and darkest 48 training pictures,
  inverted (`gan vector --with --without`), applied at amounts -2..2: on how many of 10
  seeds, and of 10 inverted held-out pictures, brightness rises monotonically (target
  >= 9 of 10), and how much the rest of the picture moves (mean change of the
  brightness-normalised pixels, beside the change from seed to seed);
- digits: the share of 1,000 samples bench/gan.py's SVM labels with confidence >= 0.9
  (target >= 90%) and the classes found (10);
- seconds per step (2 threads, batch 64 at 32 px) for each discriminator, timed here on a
  quiet machine, and each model's own figure from its sidecar.

`--parallel` trains the models two at a time, one thread each (the same budget for every
model; each gets one core, not the target's two). Models are kept in
bench/out/gan_projected/ and reused (delete them to train again); results.json is written
as each part is measured.

    python bench/gan_projected.py [--minutes 10] [--sets shapes digits textures] [--parallel]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from zoo import seeded  # noqa: E402  (bench/zoo.py: samples of seeds first, first + 1, ...)

OUT = Path(os.environ.get("REVERIE_BENCH_OUT", ROOT / "bench" / "out")) / "gan_projected"
DIGITS = dict(size=32, ngf=32, ndf=32, batch_size=64, val_frac=0.25, eval_every=100_000,
              fd_samples=200, sample_every=500, checkpoint_every=1000,
              diffaugment="translation", lr_g=2e-4, lr_d=8e-4, categories=10)
SHAPES = dict(size=32, ngf=32, ndf=32, batch_size=64, val_frac=0.25, eval_every=100_000,
              fd_samples=100, sample_every=500, checkpoint_every=1000)
TEXTURES = dict(crop=64, depth=4, scale=0.5, batch_size=16, eval_every=100_000,
                fd_samples=100, sample_every=500, checkpoint_every=1000, max_steps=1_000_000)
# Projected GAN's own rates (pg's FastGAN config: 2e-4 for both networks)
PROJECTED = dict(discriminator="projected", lr_g=2e-4, lr_d=2e-4)


def shapes(n: int = 400, seed: int = 0) -> torch.Tensor:
    """n pictures of 32 px: one filled square, triangle or diamond, random colour, size,
    place and turn, on a grey field from dark to light."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        grey = int(rng.uniform(20, 235))
        im = Image.new("RGB", (128, 128), (grey,) * 3)
        d = ImageDraw.Draw(im)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        r, cx, cy = rng.uniform(22, 44), rng.uniform(44, 84), rng.uniform(44, 84)
        sides = int(rng.choice([3, 4, 4]))
        turn = rng.uniform(0, 2 * math.pi)
        pts = [(cx + r * math.cos(turn + 2 * math.pi * k / sides),
                cy + r * math.sin(turn + 2 * math.pi * k / sides)) for k in range(sides)]
        d.polygon(pts, fill=colour)
        im = im.resize((32, 32), Image.LANCZOS)  # drawn at 4x: smooth edges
        out.append(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float() / 255)
    return torch.stack(out)


def source(name: str):
    return {"shapes": lambda: shapes(), "digits": lambda: "builtin:digits",
            "textures": lambda: ["sample:brick"]}[name]()


def variants(name: str) -> dict[str, dict]:
    base = {"shapes": SHAPES, "digits": DIGITS, "textures": TEXTURES}[name]
    out = {"plain": dict(base), "projected": {**base, **PROJECTED}}
    if name != "textures":  # both: the plain discriminator's rates, as its part leads
        out["both"] = {**base, "discriminator": "both"}
    if name == "digits":  # does looking through ImageNet features make the code unnecessary?
        out["projected_no_code"] = {**base, **PROJECTED, "categories": 0}
    return out


def train_one(name: str, variant: str, minutes: float) -> Path:
    path = OUT / f"{name}-{variant}-{minutes:g}min.pt"
    if path.exists():
        return path
    knobs = {**variants(name)[variant], "minutes": minutes}
    if name == "textures":
        from reverie.gan.texture import train_texture as train
    else:
        from reverie.gan.dcgan import train_gan as train
    t = time.time()
    train(source(name), out=path, **knobs)
    print(f"  trained {path.name} in {time.time() - t:.0f} s", flush=True)
    return path


def load(name: str, path: Path):
    if name == "textures":
        from reverie.gan.texture import load_texture
        return load_texture(path)
    from reverie.gan.dcgan import load_gan
    return load_gan(path)


def held_out(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(training pictures, held-out pictures) exactly as the trainer splits them."""
    if name == "textures":
        from reverie.gan.texture import TextureConfig, texture_parts
        parts = texture_parts(["sample:brick"], TextureConfig(**{**TEXTURES, "fd_samples": 300}))
        return parts.real_batch(torch.Generator().manual_seed(5), 300), parts.real_eval
    from gan import split  # bench/gan.py: the trainer's own split
    data, train_idx, held_idx = split(source(name), seed=0, val_frac=0.25)
    return data.images[train_idx], data.images[held_idx]


def judges(held: torch.Tensor) -> dict:
    from reverie.gan import metrics
    return {net: metrics.lite0_features(held, net=net) for net in ("lite2", "lite0")}


def fds(feats: dict, images: torch.Tensor) -> dict:
    from reverie.gan import metrics
    return {f"fd_{net}": metrics.frechet_distance(f, metrics.lite0_features(images, net=net))
            for net, f in feats.items()}


def judge_scale(feats: dict, train_x: torch.Tensor, n: int) -> dict:
    """What the judge's figures mean: FD of real training pictures blurred (Gaussian, sigma
    in pixels) and with pixel noise (Gaussian, sd in [0, 1] units) against the held-out
    ones."""
    from reverie.image.enhance import gaussian_blur

    real, gen = train_x[:n], torch.Generator().manual_seed(4)
    out = {f"blur {s}": fds(feats, gaussian_blur(real, s)) for s in (0.7, 1.0, 1.5)}
    for sd in (0.05, 0.1):
        out[f"noise {sd}"] = fds(feats, (real + sd * torch.randn(real.shape, generator=gen))
                                 .clamp(0, 1))
    return out


def brightness(name: str, path: Path, train_x: torch.Tensor, held: torch.Tensor) -> dict:
    """The bright/dark vector from inverted pictures, applied to seeds and to inverted
    held-out pictures."""
    from reverie.gan.latent import InvertConfig, attribute_only, invert_latents
    from reverie.gan.networks import latent_for_seed

    gan = load(name, path)
    lum = train_x.mean((1, 2, 3))
    order = torch.argsort(lum)
    bright, dark = train_x[order[-48:]], train_x[order[:48]]
    cfg = InvertConfig(starts=4, steps=200, feature_weight=0.0)
    z, _, _ = invert_latents(gan, torch.cat([bright, dark]), cfg)
    v = attribute_only(z[:48].mean(0) - z[48:].mean(0), gan)
    zi, _, _ = invert_latents(gan, held[:10], cfg)
    amounts = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
    out = {}
    for kind, starts in (("seeds", [latent_for_seed(s, gan.latent_shape) for s in range(10)]),
                         ("inverted held-out pictures", list(zi))):
        mono, other = 0, []
        for z0 in starts:
            strip = gan.images(torch.stack([z0 + a * v for a in amounts]))
            lum_s = strip.mean((1, 2, 3))
            mono += bool(np.all(np.diff(lum_s.numpy()) > 0))
            flat = strip - strip.mean((1, 2, 3), keepdim=True)  # brightness taken out
            other.append(float((flat[1:] - flat[:-1]).abs().mean()))
        out[kind] = {"monotonic": mono, "of": len(starts),
                     "other_change_per_step": float(np.mean(other))}
    seeds = seeded(gan, 20, 50_000)
    flat = seeds - seeds.mean((1, 2, 3), keepdim=True)
    out["seed_to_seed_change"] = float((flat[1:] - flat[:-1]).abs().mean())
    return out


def digits_judged(paths: dict[str, Path]) -> dict:
    from gan import classifier_test, split

    data, train_idx, held_idx = split("builtin:digits", 0, 0.25)
    samples = {v: seeded(load("digits", p), 1000, 30_000) for v, p in paths.items()}
    judged = classifier_test(train_idx, held_idx, samples)
    return {k: {"confident_share": j["confident_share"], "classes_found": j["classes_found"]}
            for k, j in judged.items()}


def step_times() -> dict:
    """Seconds per step, 2 threads, batch 64 of 32 px images, for each discriminator."""
    from reverie.gan.dcgan import GANConfig, build_dcgan

    torch.set_num_threads(2)
    out = {}
    for label, knobs in (("plain", {}), ("projected", {"discriminator": "projected"}),
                         ("both", {"discriminator": "both"}),
                         ("projected, interp_size 64", {"discriminator": "projected",
                                                        "interp_size": 64})):
        g, d = build_dcgan(GANConfig(ngf=32, ndf=32, **knobs))
        opt = torch.optim.Adam([p for p in d.parameters() if p.requires_grad], 2e-4)
        times = []
        for _ in range(6):
            t = time.time()
            fake = g(torch.randn(64, 100))
            real = torch.rand(64, 3, 32, 32) * 2 - 1
            loss = torch.relu(1 - d(real)).mean() + torch.relu(1 + d(fake.detach())).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            (-d(fake).mean()).backward()
            times.append(time.time() - t)
        out[label] = float(np.median(times[1:]))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--sets", nargs="+", default=["shapes", "digits", "textures"])
    p.add_argument("--parallel", action="store_true",
                   help="train each set's models at once, one thread each")
    p.add_argument("--train-only", nargs=2, metavar=("SET", "VARIANT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.train_only:
        train_one(*args.train_only, args.minutes)
        return 0
    torch.set_num_threads(2)
    res_path = OUT / "results.json"
    results = json.loads(res_path.read_text()) if res_path.exists() else {}
    results.update(load_average=os.getloadavg(), minutes=args.minutes,
                   recipes={s: variants(s) for s in args.sets})

    def save():
        res_path.write_text(json.dumps(results, indent=1, default=float))
    results["seconds_per_step"] = step_times()
    print("seconds per step:", results["seconds_per_step"], flush=True)
    save()
    if args.parallel:  # every model not yet trained, two at a time, one thread each
        env = {**os.environ, "REVERIE_THREADS": "1", "OMP_NUM_THREADS": "1"}
        queue = [(s, v) for s in args.sets for v in variants(s)
                 if not (OUT / f"{s}-{v}-{args.minutes:g}min.pt").exists()]
        running: list[subprocess.Popen] = []
        while queue or running:
            while queue and len(running) < 2:
                s, v = queue.pop(0)
                running.append(subprocess.Popen([sys.executable, __file__, "--minutes",
                                                 str(args.minutes), "--train-only", s, v],
                                                env=env))
            time.sleep(5)
            running = [pr for pr in running if pr.poll() is None]
    for s in args.sets:
        names = list(variants(s))
        paths = {v: train_one(s, v, args.minutes) for v in names}
        train_x, held = held_out(s)
        feats = judges(held)
        r = results.setdefault(s, {})
        n = len(held)
        gen = torch.Generator().manual_seed(3)
        r["uniform_noise"] = fds(feats, torch.rand((n, *held.shape[1:]), generator=gen))
        r["real_vs_real"] = fds(feats, train_x[:n])
        r["held_out"] = n
        if s == "shapes":
            r["judge_scale"] = judge_scale(feats, train_x, n)
            print(s, "the judge's scale", r["judge_scale"], flush=True)
        for v, path in paths.items():
            side = json.loads(path.with_suffix(".json").read_text())["figures"]
            r[v] = {**fds(feats, seeded(load(s, path), n, 10_000)), "steps": side["steps"],
                    "seconds_per_step": side["seconds_per_step"]}
            r[v]["fd_lite2_over_noise"] = r[v]["fd_lite2"] / r["uniform_noise"]["fd_lite2"]
            r[v]["fd_lite2_over_floor"] = r[v]["fd_lite2"] / r["real_vs_real"]["fd_lite2"]
            print(s, v, r[v], flush=True)
            save()
        print(s, "noise", r["uniform_noise"], "real", r["real_vs_real"], flush=True)
        if s == "shapes":
            for v, path in paths.items():
                r[v]["bright_dark"] = brightness(s, path, train_x, held)
                print(s, v, "bright/dark", r[v]["bright_dark"], flush=True)
                save()
        if s == "digits":
            r["classifier"] = digits_judged(paths)
            print("digits classifier", r["classifier"], flush=True)
            save()
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
