"""Benchmark: fast style networks and styled video against Gatys's optimisation, in one run.

Training. One two-style network (conditional instance norm) on the style images
bench/style.py draws (brush strokes, waves), `--steps` steps with the defaults (256-pixel
crops, batch 4, lite0 as the loss network), the photos `held_out` kept out.

Speed. A 1024x1024 photo (sample:astronaut, enlarged) through the network (the median of
three runs after a warm-up) and through `style_transfer` at the same size with its
defaults, measured here. Targets: the network <= 1.5 s and >= 50x faster.

Quality. The held-out photos (chelsea, coffee, rocket), each in each style, by the network
and by Gatys (`style_transfer` defaults, same size), judged as bench/style.py judges (style:
Gram distance on a seeded random network; content: lite2's stage4; neither trained nor
optimised with). Targets (means over the pairs): the network's judged style distance within
1.5x of Gatys's, its content distance within 1.2x.

Video. A clip panned and zoomed across a photo, with a sine tone as its AAC audio, through
`style_video` with the network: the warping error (consecutive styled frames, over the
pixels the flow holds) against per-frame styling's, measured in the same run. Targets:
<= 0.5x, and the audio packets' MD5 unchanged.

    python bench/fast_style.py                     # train 2000 steps, then everything
    python bench/fast_style.py --model two.pt      # a trained network: skip training
    python bench/fast_style.py --quick             # a smoke run: tiny network, small sizes

The full run trains for 2000 x the seconds a step takes (estimated 1-1.5 s on a 4-core
laptop: 35-50 minutes; not measured), then Gatys at 1024 (87 s in bench/style.py's
measurement), 6 Gatys results at 384 (about 10 s each) and the 72-frame clip: about an hour
in all. `--quick` takes about 2.5 minutes on 2 busy cores.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from style import Judge, style_images  # noqa: E402  (bench/style.py's judges and styles)

from reverie.core.memory import reuse_freed_memory  # noqa: E402
from reverie.image.fast_style import apply_fast_style, load_fast_style, stylize  # noqa: E402
from reverie.image.fast_style_train import HELD_OUT, train_fast_style  # noqa: E402
from reverie.image.style import StyleConfig, style_transfer  # noqa: E402
from reverie.image.video import audio_md5, ffmpeg_exe, style_video  # noqa: E402
from reverie.io.images import load_image, save_image  # noqa: E402
from reverie.optvis.transform import resize  # noqa: E402

STYLES = ["strokes", "waves"]
PARTS = ("speed", "quality", "video")


def train(folder: Path, steps: int, width: int, quick: bool, log) -> Path:
    paths = []
    for name in STYLES:
        paths.append(save_image(style_images(512)[name], folder / f"{name}.png"))
    out = folder / "two.pt"
    extra = dict(width=8, image_size=64, batch_size=2) if quick else dict(width=width)
    t = time.perf_counter()
    result = train_fast_style([str(p) for p in paths], out=out, max_steps=steps,
                              eval_every=max(1, steps // 10), checkpoint_every=max(1, steps // 4),
                              progress=lambda d, n, m="": log(f"  step {d}/{n}: {m}")
                              if d % max(1, n // 10) == 0 else None, **extra)
    log(f"trained {steps} steps in {time.perf_counter() - t:.0f} s: {result.summary()}")
    return out


def gatys_config(size: int, quick: bool) -> StyleConfig:
    """Gatys's defaults (a smoke run: a few evaluations, to check the bench runs)."""
    return StyleConfig(size=size, **(dict(min_size=size, initial_iterations=5, iterations=3)
                                     if quick else {}))


def speed(model: Path | str, side: int, quick: bool, log) -> dict:
    """Both on the free cores (`cpu_threads`: all of an idle machine's), as the commands run."""
    from reverie.core.threads import cpu_threads
    fs = load_fast_style(model)
    photo = resize(load_image("sample:astronaut")[None], (side, side))[0].clamp(0, 1)
    mix = fs.mix(None)
    with cpu_threads() as threads:
        stylize(fs.net, photo, mix, tile=0)  # warm-up
        times = []
        for _ in range(3):
            t = time.perf_counter()
            stylize(fs.net, photo, mix, tile=0)
            times.append(time.perf_counter() - t)
        net_s = sorted(times)[1]
        t = time.perf_counter()
        style_transfer(photo, [style_images(512)[STYLES[0]]], gatys_config(side, quick))
        gatys_s = time.perf_counter() - t
    row = {"side": side, "network_s": round(net_s, 3), "gatys_s": round(gatys_s, 1),
           "speedup": round(gatys_s / net_s, 1), "threads": threads, "load": os.getloadavg()[0]}
    row["pass"] = net_s <= 1.5 and row["speedup"] >= 50
    log(f"speed {side}x{side} on {threads} thread(s): network {net_s:.2f} s, Gatys "
        f"{gatys_s:.1f} s: {row['speedup']}x faster  {'PASS' if row['pass'] else 'FAIL'} "
        f"(<= 1.5 s, >= 50x)")
    return row


def quality(model: Path | str, size: int, quick: bool, log, styles: dict | None = None) -> dict:
    """The network's styles (`styles`: name -> image; bench/style.py's drawn ones by
    default) on the held-out photos, judged beside Gatys's optimisation of the same pairs."""
    judge = Judge()
    fs = load_fast_style(model)
    styles = styles or style_images(size)
    rows = []
    for photo in HELD_OUT:
        content = load_image(f"sample:{photo}", max_side=size)
        for name in fs.styles:
            style = styles[name]
            ours = apply_fast_style(fs, content, mix=[name]).image
            gatys = style_transfer(content, [style], gatys_config(size, quick)).image
            row = {"photo": photo, "style": name,
                   "ours_style": judge.style(ours, style), "gatys_style": judge.style(gatys, style),
                   "ours_content": judge.content(ours, content),
                   "gatys_content": judge.content(gatys, content)}
            rows.append(row)
            log(f"  {photo:10s} {name:8s} style {row['ours_style']:.3f} vs Gatys "
                f"{row['gatys_style']:.3f}, content {row['ours_content']:.3f} vs "
                f"{row['gatys_content']:.3f}")
    mean = lambda k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
    out = {"size": size, "pairs": rows,
           "style_ratio": mean("ours_style") / mean("gatys_style"),
           "content_ratio": mean("ours_content") / max(mean("gatys_content"), 1e-9)}
    out["pass"] = out["style_ratio"] <= 1.5 and out["content_ratio"] <= 1.2
    log(f"quality on held-out photos: style x{out['style_ratio']:.2f} of Gatys's (<= 1.5), "
        f"content x{out['content_ratio']:.2f} (<= 1.2)  {'PASS' if out['pass'] else 'FAIL'}")
    return out


def panning_clip(path: Path, frames: int, size: tuple[int, int], fps: int = 24) -> Path:
    """A slow pan and zoom across sample:astronaut, with a 440 Hz tone as AAC audio."""
    h, w = size
    photo = load_image("sample:astronaut")
    raw = path.with_suffix(".rgb")
    with open(raw, "wb") as f:
        for t in range(frames):
            s = 1.0 - 0.25 * t / max(1, frames - 1)       # zooming in
            ch, cw = int(photo.shape[1] * s * h / w), int(photo.shape[2] * s)
            y0 = int((photo.shape[1] - ch) * 0.5)
            x0 = int((photo.shape[2] - cw) * t / max(1, frames - 1))
            crop = resize(photo[None, :, y0:y0 + ch, x0:x0 + cw], (h, w))[0].clamp(0, 1)
            f.write((crop.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8).tobytes())
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{w}x{h}", "-r", str(fps), "-i", str(raw), "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=44100", "-t", str(frames / fps),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
                   check=True)
    raw.unlink()
    return path


def video(model: Path | str, folder: Path, frames: int, size: tuple[int, int], log) -> dict:
    clip = panning_clip(folder / "pan.mp4", frames, size)
    t = time.perf_counter()
    result = style_video(str(clip), model=str(model))
    result.save(folder / "styled.mp4")
    f = result.figures
    row = {"frames": f["frames"], "seconds": round(time.perf_counter() - t, 1),
           "warping_error": f["warping_error"], "per_frame_warping_error": f["baseline_warping_error"],
           "ratio": f["flicker_ratio"], "flow_held": f["flow_held"],
           "audio_kept": audio_md5(folder / "styled.mp4") == audio_md5(clip) is not None}
    row["pass"] = row["ratio"] <= 0.5 and row["audio_kept"]
    log(f"video: {row['frames']} frames in {row['seconds']} s, warping error "
        f"{row['warping_error']:.5f} vs per-frame {row['per_frame_warping_error']:.5f} "
        f"(x{row['ratio']:.2f}, <= 0.5), audio kept byte for byte: {row['audio_kept']}  "
        f"{'PASS' if row['pass'] else 'FAIL'}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="a trained two-style network (strokes, waves): skip training")
    ap.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    ap.add_argument("--width", type=int, default=32,
                    help="the network's first-layer channels (default 32, Johnson's; 16 needs "
                         "about a quarter of the operations)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: tiny network and sizes")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                    help="what to measure (default: all; speed and video take any network, "
                         "model:paintings too; quality needs one of the bench's styles)")
    ap.add_argument("--out-dir", help="keep the model, clips and outputs here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    reuse_freed_memory()  # as the commands run
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    folder = Path(args.out_dir or tempfile.mkdtemp(prefix="fast-style-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    steps = 20 if args.quick and args.model is None and args.steps == 2000 else args.steps
    report = {"load_before": os.getloadavg(), "cpus": os.cpu_count(),
              "threads": torch.get_num_threads()}
    model = args.model or train(folder, steps, args.width, args.quick, log)
    if "speed" in args.parts:
        report["speed"] = speed(model, 128 if args.quick else 1024, args.quick, log)
    if "quality" in args.parts:
        report["quality"] = quality(model, 96 if args.quick else 384, args.quick, log)
    if "video" in args.parts:
        report["video"] = video(model, folder, 12 if args.quick else 72,
                                (64, 96) if args.quick else (240, 320), log)
    report["load_after"] = os.getloadavg()
    report["passed"] = all(report[k]["pass"] for k in args.parts)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"all targets met: {report['passed']}; load average before "
              f"{report['load_before'][0]:.1f}, after {report['load_after'][0]:.1f} on "
              f"{report['cpus']} cpus; files in {folder}")


if __name__ == "__main__":
    main()
