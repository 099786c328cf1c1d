"""Benchmark: image style transfer quality (judged by networks that took no part) and speed.

Quality. Five content/style pairs (scikit-image photos; style images this file draws). For
each, Reverie's default `style_transfer` and, with the same wall-time budget, the PyTorch
tutorial's recipe (L-BFGS from the content image, one scale, plain Gram loss with its
weights 1e6 / 1, clamping in the closure, the same network and layers). Both results are
judged by
  - style distance: |G - G_style|_F / |G_style|_F on a seeded random multi-scale layer
    (RandomNet, seed 12345, not used by the optimisation), averaged over its scales;
  - content distance: |F - F_content| / |F_content| at lite2's stage4 (lite2 is not used).
Target: lower judged style distance than the baseline at equal or lower content distance,
on every pair.

Speed: a 512x512 result with default settings (target <= 60 s) and 1024x1024 (target
<= 240 s and <= 4 GB peak memory), each in a child process so peak memory is its own.

    python bench/style.py                 # everything
    python bench/style.py --quality --pairs 2 --size 256
    python bench/style.py --speed 512 --json
    python bench/style.py --quality --variants swag in-block swag+in-block random lite1
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch

from reverie.io.images import load_image
from reverie.image.style import StyleConfig, load_feature_net, style_transfer


def style_images(size: int) -> dict[str, torch.Tensor]:
    from reverie.image.samples import mosaic_image, strokes_image, waves_image
    return {"strokes": strokes_image(size), "waves": waves_image(size), "mosaic": mosaic_image(size),
            "gravel": load_image("sample:gravel", max_side=size), "strokes2": strokes_image(size, seed=5)}


# Wang et al. (CVPR 2021) remedies for residual networks, and the other networks, measured
# beside the default with `--variants` (each judged like the default, on the same pairs)
IN_BLOCK = ["stem", "stage1/dw", "stage2/expand", "stage3/expand", "stage4/expand"]
VARIANTS = {
    "swag": dict(swag=True),
    "in-block": dict(style_layers=IN_BLOCK),
    "swag+in-block": dict(swag=True, style_layers=IN_BLOCK),
    "random": dict(model="random"),
    "lite1": dict(model="lite1"),
}

PAIRS = [("sample:chelsea", "strokes"), ("sample:astronaut", "waves"), ("sample:coffee", "mosaic"),
         ("sample:rocket", "gravel"), ("sample:motorcycle_left", "strokes2")]


# -- the judges -----------------------------------------------------------------------------

class Judge:
    def __init__(self):
        from reverie.nets.zoo import load_net
        from reverie.nets.randnet import RandomNet
        self.random = RandomNet(seed=12345)
        self.lite2 = load_net("lite2")

    @torch.no_grad()
    def style(self, image, style) -> float:
        layers = list(self.random.layers)
        g = {k: _gram(v) for k, v in self.random.features(image[None], layers).items()}
        s_img = torch.nn.functional.interpolate(style[None], size=image.shape[-2:], mode="bilinear",
                                                antialias=True) if style.shape[-1] > image.shape[-1] else style[None]
        gs = {k: _gram(v) for k, v in self.random.features(s_img, layers).items()}
        return sum(float((g[k] - gs[k]).norm() / gs[k].norm()) for k in layers) / len(layers)

    @torch.no_grad()
    def content(self, image, content) -> float:
        a = self.lite2.features(image[None], ["stage4"])["stage4"]
        b = self.lite2.features(content[None], ["stage4"])["stage4"]
        return float((a - b).norm() / b.norm())


def _gram(f):
    m = f.flatten(2)
    return m @ m.transpose(1, 2) / m.shape[-1]


# -- the baseline: the PyTorch tutorial's recipe on the same network --------------------------

def tutorial_baseline(content, style, seconds: float, model="lite0", style_weight=1e6, content_weight=1.0):
    net = load_feature_net(model)
    c_layers, s_layers = net.default_content_layers, net.default_style_layers

    def gram(f):   # the tutorial's: divided by the number of elements
        a, b, c, d = f.shape
        m = f.view(a * b, c * d)
        return m @ m.T / (a * b * c * d)

    with torch.no_grad():
        c_t = {k: v for k, v in net.features(content[None], c_layers).items()}
        s_img = torch.nn.functional.interpolate(style[None], size=content.shape[-2:], mode="bilinear", antialias=True)
        s_t = {k: gram(v) for k, v in net.features(s_img, s_layers).items()}
    x = content[None].clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x])
    start, evals = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        def closure():
            nonlocal evals
            with torch.no_grad():
                x.clamp_(0, 1)
            opt.zero_grad()
            f = net.features(x, list(dict.fromkeys(c_layers + s_layers)))
            s = sum(torch.nn.functional.mse_loss(gram(f[k]), s_t[k]) for k in s_layers)
            c = sum(torch.nn.functional.mse_loss(f[k], c_t[k]) for k in c_layers)
            loss = style_weight * s + content_weight * c
            loss.backward()
            evals += 1
            return loss
        opt.step(closure)
    return x.detach().clamp(0, 1)[0], evals


def quality(size: int, n_pairs: int, log, variants: list[str] = ()) -> dict:
    judge = Judge()
    styles = style_images(size)
    rows = []
    by_variant = {v: [] for v in variants}
    for content_name, style_name in PAIRS[:n_pairs]:
        content = load_image(content_name, max_side=size)
        style = styles[style_name]
        t = time.perf_counter()
        ours = style_transfer(content, [style], StyleConfig(size=size))
        ours_s = time.perf_counter() - t
        base, base_evals = tutorial_baseline(content, style, ours_s)
        row = {"content": content_name, "style": style_name, "seconds": round(ours_s, 1),
               "baseline_evals": base_evals,
               "ours_style": judge.style(ours.image, style), "ours_content": judge.content(ours.image, content),
               "base_style": judge.style(base, style), "base_content": judge.content(base, content),
               "start_style": judge.style(content, style)}
        row["style_ratio"] = row["ours_style"] / row["base_style"]
        row["content_ratio"] = row["ours_content"] / max(row["base_content"], 1e-9)
        row["pass"] = row["ours_style"] < row["base_style"] and row["ours_content"] <= row["base_content"]
        for v in variants:
            t = time.perf_counter()
            other = style_transfer(content, [style], StyleConfig(size=size, **VARIANTS[v]))
            vrow = {"content": content_name, "style": style_name, "seconds": round(time.perf_counter() - t, 1),
                    "style_distance": judge.style(other.image, style),
                    "content_distance": judge.content(other.image, content)}
            vrow["pass"] = vrow["style_distance"] < row["base_style"] and vrow["content_distance"] <= row["base_content"]
            by_variant[v].append(vrow)
            log(f"    {v:14s} {vrow['seconds']:6.1f}s  style {vrow['style_distance']:.3f}  "
                f"content {vrow['content_distance']:.3f}  {'PASS' if vrow['pass'] else 'FAIL'}")
        rows.append(row)
        log(f"{content_name:24s} {style_name:8s} {ours_s:6.1f}s  style {row['ours_style']:.3f} vs "
            f"{row['base_style']:.3f} (start {row['start_style']:.3f}, ratio {row['style_ratio']:.2f})  "
            f"content {row['ours_content']:.3f} vs {row['base_content']:.3f}  "
            f"{'PASS' if row['pass'] else 'FAIL'}  load {os.getloadavg()[0]:.1f}")
    mean = lambda xs: round(sum(xs) / max(len(xs), 1), 4)  # noqa: E731
    summary = {"default": {"mean_style": mean([r["ours_style"] for r in rows]),
                           "mean_content": mean([r["ours_content"] for r in rows]),
                           "passed": sum(r["pass"] for r in rows)},
               "baseline": {"mean_style": mean([r["base_style"] for r in rows]),
                            "mean_content": mean([r["base_content"] for r in rows])}}
    for v, vrows in by_variant.items():
        summary[v] = {"mean_style": mean([r["style_distance"] for r in vrows]),
                      "mean_content": mean([r["content_distance"] for r in vrows]),
                      "passed": sum(r["pass"] for r in vrows), "settings": VARIANTS[v]}
    for name, m in summary.items():
        log(f"{name:14s} mean judged style {m['mean_style']:.3f}, content {m['mean_content']:.3f}"
            + (f", beats the baseline on {m['passed']}/{len(rows)} pairs" if "passed" in m else ""))
    return {"size": size, "pairs": rows, "passed": sum(r["pass"] for r in rows), "of": len(rows),
            "variants": by_variant, "summary": summary}


# -- speed ----------------------------------------------------------------------------------

def speed_child(size: int) -> dict:
    content = load_image("sample:astronaut")                    # 512x512
    style = style_images(512)["strokes"]
    t = time.perf_counter()
    result = style_transfer(content, [style], StyleConfig(size=size))
    seconds = time.perf_counter() - t
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    return {"size": size, "seconds": round(seconds, 1), "peak_gb": round(peak_gb, 2),
            "result": list(result.image.shape), "load": os.getloadavg()}


def speed(size: int, log) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_child", str(size)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    limit_s, limit_gb = (60, None) if size <= 512 else (240, 4.0)
    row["target_s"], row["target_gb"] = limit_s, limit_gb
    row["pass"] = row["seconds"] <= limit_s and (limit_gb is None or row["peak_gb"] <= limit_gb)
    log(f"speed {size}x{size}: {row['seconds']} s (target {limit_s}), peak {row['peak_gb']} GB, "
        f"load {row['load'][0]:.1f}  {'PASS' if row['pass'] else 'FAIL'}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quality", action="store_true", help="only the quality comparison")
    ap.add_argument("--speed", type=int, nargs="*", help="only speed, at these sizes (default 512 1024)")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--size", type=int, default=384, help="quality comparison size (default 384)")
    ap.add_argument("--variants", nargs="*", default=[], choices=sorted(VARIANTS),
                    help="also judge these settings on the same pairs: " + ", ".join(VARIANTS))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--_child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_grad_enabled(True)
    if args._child:
        print(json.dumps(speed_child(args._child)))
        return
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    report = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}
    do_all = not args.quality and args.speed is None
    if args.quality or do_all:
        report["quality"] = quality(args.size, args.pairs, log, args.variants)
    if args.speed is not None or do_all:
        report["speed"] = [speed(s, log) for s in (args.speed or [512, 1024])]
    report["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(report))
    else:
        q = report.get("quality")
        if q:
            print(f"quality: {q['passed']}/{q['of']} pairs beat the tutorial baseline on both measures")
        print(f"load average before {report['load_before'][0]:.1f}, after {report['load_after'][0]:.1f} "
              f"on {report['cpus']} cpus")


if __name__ == "__main__":
    main()
