"""Benchmark: sound style transfer (Ulyanov and Lebedev) on a 10-second clip at 22.05 kHz.

Content: a plucked arpeggio; style: rain (band-passed noise with droplets), both synthesised
by reverie.audio.samples. Reported:
  - wall time of Reverie's default `audio_style` (target <= 60 s);
  - the style (Gram) loss of its result under a seeded 4096-filter network of Ulyanov's
    setting (width 11, seed 1234: not the network either run optimised), measured on the
    optimised spectrogram and on the spectrogram of the audio after Griffin-Lim;
  - the same for a reference run in Ulyanov's own setting (4096 filters, 300 L-BFGS
    evaluations), made here in the same run. Target: ours within 10% of the reference.
  - per-iteration cost of 4096 / 2048 / 1024 filters, for context.

    python bench/audio_style.py                  # everything (the reference takes minutes)
    python bench/audio_style.py --reference-iters 100 --json
    python bench/audio_style.py --variants 2048:100 1024:150:content   # other settings too
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from reverie.audio.samples import melody, rain
from reverie.audio.spectral import log_spectrogram
from reverie.audio.style import AudioStyleConfig, audio_style, features, random_filters
from reverie.optvis.losses import gram

SR = 22050
JUDGE_SEED = 1234


class Judge:
    def __init__(self, config: AudioStyleConfig, style):
        self.n_fft, self.hop_length = config.n_fft, config.hop_length
        self.weights = random_filters(self.n_fft // 2 + 1, 4096, 11,
                                      torch.Generator().manual_seed(JUDGE_SEED))
        with torch.no_grad():
            self.target = gram(features(self.spectrogram(style), self.weights))

    def spectrogram(self, x):
        return log_spectrogram(x, self.n_fft, self.hop_length)

    @torch.no_grad()
    def __call__(self, spec) -> float:
        return float((gram(features(spec, self.weights)) - self.target).pow(2).sum())


def run(content, style, judge, log, label, **overrides) -> dict:
    t = time.perf_counter()
    result = audio_style((content, SR), (style, SR), seed=0, spectrograms=False, **overrides)
    seconds = time.perf_counter() - t
    row = {"label": label, "settings": overrides, "seconds": round(seconds, 1),
           "timings": result.timings, "own_style_loss": result.figures["style_loss"],
           "judged_style_spec": judge(result.spectrogram),
           "judged_style_audio": judge(judge.spectrogram(result.audio)),
           "load": os.getloadavg()[0]}
    log(f"{label:28s} {seconds:6.1f} s   judged Gram loss: spectrogram {row['judged_style_spec']:.4g}, "
        f"after Griffin-Lim {row['judged_style_audio']:.4g}   load {row['load']:.1f}")
    return row


def per_iteration(content) -> dict:
    spec = log_spectrogram(content)
    out = {}
    for n in (4096, 2048, 1024):
        w = random_filters(spec.shape[0], n, 11, torch.Generator().manual_seed(0))
        x = spec.clone().requires_grad_(True)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            gram(features(x, w)).pow(2).sum().backward()
            times.append(time.perf_counter() - t)
        out[n] = round(min(times), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--reference-iters", type=int, default=300, help="0 skips the reference run")
    ap.add_argument("--variants", nargs="*", default=[],
                    help="extra FILTERS:ITERATIONS[:INIT] settings to time, e.g. 1024:250 2048:120:content")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    content, style = melody(args.seconds, SR), rain(args.seconds, SR, seed=1)
    judge = Judge(AudioStyleConfig(), style)
    report = {"load_before": os.getloadavg(), "cpus": os.cpu_count(), "clip_seconds": args.seconds,
              "per_iteration_s": per_iteration(content)}
    log(f"seconds per L-BFGS evaluation by filter count: {report['per_iteration_s']}")
    d = AudioStyleConfig()
    report["default"] = run(content, style, judge, log, f"default ({d.n_filters} filters, {d.evaluations} evals)")
    report["default"]["pass_time"] = report["default"]["seconds"] <= 60
    for v in args.variants:
        n, it, *init = v.split(":")
        extra = {"init": init[0]} if init else {}
        report.setdefault("variants", []).append(
            run(content, style, judge, log, f"{n} filters, {it} evals{' ' + init[0] if init else ''}",
                n_filters=int(n), evaluations=int(it), **extra))
    if args.reference_iters:
        ref = run(content, style, judge, log, f"reference (4096, {args.reference_iters} evals)",
                  n_filters=4096, evaluations=args.reference_iters)
        report["reference"] = ref
        for key in ("judged_style_spec", "judged_style_audio"):
            report[f"ratio_{key}"] = report["default"][key] / ref[key]
        report["pass_quality"] = max(report["ratio_judged_style_spec"], report["ratio_judged_style_audio"]) <= 1.10
        log(f"default / reference judged Gram loss: spectrogram {report['ratio_judged_style_spec']:.3f}, "
            f"after Griffin-Lim {report['ratio_judged_style_audio']:.3f} (target <= 1.10)")
    report["load_after"] = os.getloadavg()
    log(f"load average before {report['load_before'][0]:.1f}, after {report['load_after'][0]:.1f}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
