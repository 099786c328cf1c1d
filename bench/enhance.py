"""Enhancement by low-level dreaming, measured against classical restoration (issue #19).

Clean photos (scikit-image samples, 256 px long side) are degraded by a known amount and
restored three ways: (a) nothing, (b) a classical method made for that degradation, (c)
`reverie enhance` with its shipped defaults for the mode. Scored against the clean photo
with scikit-image's PSNR and SSIM, plus a no-reference sharpness figure (variance of the
Laplacian of the grey image, x1000; the clean photo's is printed beside it).

    degradation   how                           (a) nothing   (b) classical                 (c) enhance
    blur          Gaussian, sigma 1.5           as degraded   unsharp mask; Richardson-Lucy  mode blur
                                                              with the known PSF
    noise         Gaussian, sigma 0.05          as degraded   non-local means; TV smoothing   mode noise
    jpeg          JPEG quality 20               as degraded   total-variation smoothing       mode jpeg
    down2         2x bicubic downscale          bilinear up   Lanczos up                      mode blur, upscale 2

The photos are split in half: TUNING chose enhance's defaults and the classical
methods' parameters (`--tune` reruns that search and prints what won); REPORT is what the
table shows. Runs one thread; about a minute for the report, a few for `--tune`.

    python bench/enhance.py [--json]          # the report half, one table
    python bench/enhance.py --tune [--json]   # the search on the tuning half
"""
from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import sys
import time

import numpy as np

TUNING = ["astronaut", "coffee", "motorcycle_left", "grass"]
REPORT = ["chelsea", "rocket", "camera", "brick"]
SIDE = 256
DEGRADATIONS = ["blur", "noise", "jpeg", "down2"]
BLUR_SIGMA, NOISE_SIGMA, JPEG_QUALITY = 1.5, 0.05, 20
ENHANCE_MODE = {"blur": {"mode": "blur"}, "noise": {"mode": "noise"}, "jpeg": {"mode": "jpeg"},
                "down2": {"mode": "blur", "upscale": 2.0}}

# The classical methods' parameters, chosen by `--tune` on the tuning half (the grids).
CLASSICAL = {
    "blur": {"unsharp mask": {"radius": 1.0, "amount": 4.0},
             "Richardson-Lucy": {"num_iter": 160}},
    "noise": {"non-local means": {"h": 0.8}, "TV smoothing": {"weight": 0.02}},
    "jpeg": {"TV smoothing": {"weight": 0.02}},
    "down2": {"Lanczos": {}},
}
CLASSICAL_GRID = {
    "unsharp mask": {"radius": [0.5, 1.0, 2.0, 3.0], "amount": [0.5, 1.0, 2.0, 3.0, 4.0]},
    "Richardson-Lucy": {"num_iter": [5, 10, 20, 40, 80, 160]},
    "non-local means": {"h": [0.6, 0.8, 1.0, 1.2]},
    "TV smoothing": {"weight": [0.01, 0.02, 0.05, 0.1]},
    "Lanczos": {},
}
ENHANCE_GRID = {"layers": [["stem"], ["stage1"], ["stage2"], ["stage3"]],
                "step_size": [0.5, 1.0, 2.0], "grad_blur": [0.7, 1.2]}
STRENGTHS = [0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0]   # a blend after the run: no rerun needed
PREFILTERS = [0.0, 0.5, 0.7, 1.0, 1.5]  # noise and jpeg, on the stage-one winner


def photos(names: list[str]) -> dict[str, np.ndarray]:
    """(H, W, 3) float64 in [0, 1], even sides (so 2x down and up comes back the same)."""
    from reverie.io.images import load_image
    out = {}
    for name in names:
        x = load_image(f"sample:{name}", max_side=SIDE).permute(1, 2, 0).double().numpy()
        out[name] = x[: x.shape[0] // 2 * 2, : x.shape[1] // 2 * 2]
    return out


def degrade(clean: np.ndarray, kind: str, seed: int) -> np.ndarray:
    from PIL import Image
    from skimage import filters, transform
    if kind == "blur":
        return filters.gaussian(clean, sigma=BLUR_SIGMA, channel_axis=-1)
    if kind == "noise":
        rng = np.random.default_rng(seed)
        return np.clip(clean + rng.normal(0, NOISE_SIGMA, clean.shape), 0, 1)
    if kind == "jpeg":
        buf = io.BytesIO()
        Image.fromarray((clean * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=JPEG_QUALITY)
        return np.asarray(Image.open(buf).convert("RGB"), dtype=np.float64) / 255
    if kind == "down2":
        h, w = clean.shape[:2]
        return np.clip(transform.resize(clean, (h // 2, w // 2), order=3, anti_aliasing=True), 0, 1)
    raise ValueError(kind)


def tensor(x: np.ndarray):
    import torch
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).float()


def array(t) -> np.ndarray:
    return t.permute(1, 2, 0).double().numpy()


def nothing(degraded: np.ndarray, kind: str, shape) -> np.ndarray:
    from skimage import transform
    if kind == "down2":  # what a viewer shows: bilinear
        return np.clip(transform.resize(degraded, shape[:2], order=1), 0, 1)
    return degraded


def classical(degraded: np.ndarray, kind: str, method: str, params: dict, shape) -> np.ndarray:
    from skimage import filters, restoration
    if method == "unsharp mask":  # image + amount * (image - Gaussian(image, radius))
        soft = filters.gaussian(degraded, sigma=params["radius"], channel_axis=-1)
        out = degraded + params["amount"] * (degraded - soft)
    elif method == "Richardson-Lucy":  # the known PSF; mirrored borders (no dark-edge ringing)
        r = 7
        t = np.arange(-r, r + 1)
        psf = np.exp(-0.5 * (t[:, None] ** 2 + t[None] ** 2) / BLUR_SIGMA ** 2)
        psf /= psf.sum()
        padded = np.pad(degraded, ((2 * r, 2 * r), (2 * r, 2 * r), (0, 0)), mode="reflect")
        out = np.stack([restoration.richardson_lucy(padded[..., c], psf, clip=True, **params)
                        for c in range(3)], -1)[2 * r:-2 * r, 2 * r:-2 * r]
    elif method == "non-local means":
        out = restoration.denoise_nl_means(degraded, h=params["h"] * NOISE_SIGMA, sigma=NOISE_SIGMA,
                                           patch_size=5, patch_distance=6, fast_mode=True,
                                           channel_axis=-1)
    elif method == "TV smoothing":
        out = restoration.denoise_tv_chambolle(degraded, channel_axis=-1, **params)
    elif method == "Lanczos":
        from reverie.image.enhance import lanczos_upscale
        out = array(lanczos_upscale(tensor(degraded), shape[0] / degraded.shape[0]))
    else:
        raise ValueError(method)
    return np.clip(out, 0, 1)


def scores(clean: np.ndarray, restored: np.ndarray) -> dict:
    from skimage import metrics
    return {"psnr": float(metrics.peak_signal_noise_ratio(clean, restored, data_range=1)),
            "ssim": float(metrics.structural_similarity(clean, restored, data_range=1,
                                                        channel_axis=-1)),
            "sharpness": sharpness(restored)}


def sharpness(x: np.ndarray) -> float:
    """No-reference: variance of the Laplacian of the grey image, x1000."""
    from skimage import color, filters
    return float(filters.laplace(color.rgb2gray(x)).var() * 1000)


def run_enhance(degraded: np.ndarray, kind: str, **config) -> np.ndarray:
    from reverie.image.enhance import enhance
    return array(enhance(tensor(degraded), **{**ENHANCE_MODE[kind], **config}).image)


def prefilter_only(degraded: np.ndarray, kind: str) -> np.ndarray:
    """What enhance's mode does without the dream: its Gaussian prefilter, blended at its
    strength (shows how much of a noise or jpeg score the dream itself earns)."""
    from reverie.image.enhance import MODES, gaussian_blur
    mode = MODES[ENHANCE_MODE[kind]["mode"]]
    x = tensor(degraded)
    smooth = gaussian_blur(x[None], mode["prefilter"])[0]
    return array((x + mode["strength"] * (smooth - x)).clamp(0, 1))


# -- the report ------------------------------------------------------------------------
def report() -> dict:
    rows = []
    for i, (name, clean) in enumerate(photos(REPORT).items()):
        for kind in DEGRADATIONS:
            degraded = degrade(clean, kind, seed=i)
            base = {"photo": name, "degradation": kind}
            rows.append({**base, "method": "nothing", **scores(clean, nothing(degraded, kind, clean.shape))})
            for method, params in CLASSICAL[kind].items():
                t = time.perf_counter()
                out = classical(degraded, kind, method, params, clean.shape)
                rows.append({**base, "method": method, **scores(clean, out),
                             "seconds": time.perf_counter() - t})
            t = time.perf_counter()
            out = run_enhance(degraded, kind)
            rows.append({**base, "method": "reverie enhance", **scores(clean, out),
                         "seconds": time.perf_counter() - t})
            if kind in ("noise", "jpeg"):  # ablation: enhance's prefilter and blend, no dream
                rows.append({**base, "method": "prefilter only", **scores(clean, prefilter_only(degraded, kind))})
        rows.append({"photo": name, "degradation": "-", "method": "clean photo",
                     "psnr": None, "ssim": None, "sharpness": sharpness(clean)})
    return {"photos": REPORT, "rows": rows, "means": means(rows), "verdict": verdict(rows)}


def means(rows: list[dict]) -> list[dict]:
    out = []
    for kind in DEGRADATIONS:
        methods = dict.fromkeys(r["method"] for r in rows if r["degradation"] == kind)
        for m in methods:
            rs = [r for r in rows if r["degradation"] == kind and r["method"] == m]
            out.append({"degradation": kind, "method": m,
                        **{k: float(np.mean([r[k] for r in rs])) for k in ("psnr", "ssim", "sharpness")}})
    return out


def verdict(rows: list[dict]) -> dict:
    """Per degradation: how many photos enhance beats nothing and the best classical
    method on, by PSNR and by SSIM."""
    out = {}
    for kind in DEGRADATIONS:
        v = {"photos": 0, "psnr_beats_nothing": 0, "ssim_beats_nothing": 0,
             "psnr_beats_classical": 0, "ssim_beats_classical": 0}
        for name in REPORT:
            rs = {r["method"]: r for r in rows if r["photo"] == name and r["degradation"] == kind}
            e, n = rs["reverie enhance"], rs["nothing"]
            cl = [r for m, r in rs.items() if m not in ("nothing", "reverie enhance", "prefilter only")]
            v["photos"] += 1
            for k in ("psnr", "ssim"):
                v[f"{k}_beats_nothing"] += e[k] > n[k]
                v[f"{k}_beats_classical"] += e[k] > max(r[k] for r in cl)
        out[kind] = v
    return out


# -- the search on the tuning half ------------------------------------------------------
def tune() -> dict:
    """Stage one: layer x step size x gradient blur (steps 10, the mode's prefilter), each
    run blended at every strength; stage two, for noise and jpeg: the prefilter on the
    winner. Criterion: mean PSNR over the tuning photos (SSIM printed beside). The
    classical methods get the same treatment over their grids."""
    clean = photos(TUNING)
    cases = {(name, kind): degrade(c, kind, seed=i)
             for i, (name, c) in enumerate(clean.items()) for kind in DEGRADATIONS}
    result = {"photos": TUNING, "enhance": {}, "classical": {}}

    def mean_scores(outs):  # {photo: array} -> mean psnr, ssim
        s = [scores(clean[n], o) for n, o in outs.items()]
        return float(np.mean([x["psnr"] for x in s])), float(np.mean([x["ssim"] for x in s]))

    for kind in DEGRADATIONS:
        trials = []

        def trial(config):
            runs = {n: run_enhance(cases[(n, kind)], kind, strength=1.0, **config) for n in TUNING}
            starts = {n: nothing(cases[(n, kind)], kind, clean[n].shape) if kind != "down2"
                      else classical(cases[(n, kind)], kind, "Lanczos", {}, clean[n].shape)
                      for n in TUNING}
            for s in STRENGTHS:
                outs = {n: np.clip(starts[n] + s * (runs[n] - starts[n]), 0, 1) for n in TUNING}
                psnr, ssim = mean_scores(outs)
                trials.append({**config, "strength": s, "psnr": psnr, "ssim": ssim})

        keys = list(ENHANCE_GRID)
        for values in itertools.product(*ENHANCE_GRID.values()):
            trial(dict(zip(keys, values)))
        best = max(trials, key=lambda t: t["psnr"])
        if kind in ("noise", "jpeg"):
            fixed = {k: best[k] for k in keys}
            for p in PREFILTERS:
                trial({**fixed, "prefilter": p})
            best = max(trials, key=lambda t: t["psnr"])
        starts = {n: nothing(cases[(n, kind)], kind, clean[n].shape) for n in TUNING}
        psnr0, ssim0 = mean_scores(starts)
        by_layer = {str(l): max((t for t in trials if t["layers"] == l), key=lambda t: t["psnr"])
                    for l in ENHANCE_GRID["layers"]}
        result["enhance"][kind] = {"best": best, "nothing": {"psnr": psnr0, "ssim": ssim0},
                                   "best_per_layer": by_layer, "trials": len(trials),
                                   "all": trials}
        shipped = {n: run_enhance(cases[(n, kind)], kind) for n in TUNING}
        psnr, ssim = mean_scores(shipped)
        result["enhance"][kind]["shipped_defaults"] = {"psnr": psnr, "ssim": ssim}
        result["classical"][kind] = {}
        for method in CLASSICAL[kind]:
            grid = CLASSICAL_GRID[method]
            tried = []
            for values in itertools.product(*grid.values()) if grid else [()]:
                params = dict(zip(grid, values))
                outs = {n: classical(cases[(n, kind)], kind, method, params, clean[n].shape)
                        for n in TUNING}
                psnr, ssim = mean_scores(outs)
                tried.append({**params, "psnr": psnr, "ssim": ssim})
            result["classical"][kind][method] = max(tried, key=lambda t: t["psnr"])
        print(json.dumps({kind: {"enhance": result["enhance"][kind]["best"],
                                 "classical": result["classical"][kind]}}), file=sys.stderr)
    return result


# -- printing --------------------------------------------------------------------------
def fmt(v, digits):
    return "-" if v is None else f"{v:.{digits}f}"


def print_report(r: dict) -> None:
    print(f"report half: {', '.join(r['photos'])}; {SIDE} px; PSNR dB / SSIM vs the clean photo; "
          f"sharpness = var(Laplacian) x1000")
    print(f"{'photo':<16}{'degradation':<12}{'method':<18}{'PSNR':>7}{'SSIM':>7}{'sharp':>8}{'s':>6}")
    for row in r["rows"]:
        print(f"{row['photo']:<16}{row['degradation']:<12}{row['method']:<18}"
              f"{fmt(row['psnr'], 2):>7}{fmt(row['ssim'], 3):>7}{fmt(row['sharpness'], 2):>8}"
              f"{fmt(row.get('seconds'), 1):>6}")
    print("\nmeans over the report photos")
    for row in r["means"]:
        print(f"{row['degradation']:<12}{row['method']:<18}{row['psnr']:>7.2f}{row['ssim']:>7.3f}"
              f"{row['sharpness']:>8.2f}")
    print("\nphotos where enhance wins (of " + str(len(r["photos"])) + ")")
    for kind, v in r["verdict"].items():
        print(f"{kind:<8} vs nothing: PSNR {v['psnr_beats_nothing']}, SSIM {v['ssim_beats_nothing']}; "
              f"vs best classical: PSNR {v['psnr_beats_classical']}, SSIM {v['ssim_beats_classical']}")


def print_tune(r: dict) -> None:
    print(f"tuning half: {', '.join(r['photos'])}; mean PSNR / SSIM")
    for kind in DEGRADATIONS:
        e = r["enhance"][kind]
        b = e["best"]
        print(f"\n{kind}: nothing {e['nothing']['psnr']:.2f} / {e['nothing']['ssim']:.3f}; "
              f"enhance best of {e['trials']}: {b['psnr']:.2f} / {b['ssim']:.3f} with "
              + ", ".join(f"{k} {v}" for k, v in b.items() if k not in ("psnr", "ssim")))
        print(f"    the shipped defaults: {e['shipped_defaults']['psnr']:.2f} / "
              f"{e['shipped_defaults']['ssim']:.3f}")
        for layer, t in e["best_per_layer"].items():
            print(f"    best with {layer}: {t['psnr']:.2f} / {t['ssim']:.3f} ("
                  + ", ".join(f"{k} {v}" for k, v in t.items() if k not in ("psnr", "ssim", "layers"))
                  + ")")
        for method, t in r["classical"][kind].items():
            print(f"  {method}: {t['psnr']:.2f} / {t['ssim']:.3f} with "
                  + (", ".join(f"{k} {v}" for k, v in t.items() if k not in ("psnr", "ssim")) or "defaults"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tune", action="store_true", help="the search on the tuning half")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    start = time.perf_counter()
    out = tune() if args.tune else report()
    out["seconds"] = round(time.perf_counter() - start, 1)
    out["threads"] = torch.get_num_threads()
    if args.json:
        print(json.dumps(out))
        return
    (print_tune if args.tune else print_report)(out)
    print(f"\n{out['seconds']} s on {out['threads']} thread(s)")


if __name__ == "__main__":
    main()
