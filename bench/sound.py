"""Benchmark: WaveNet, SampleRNN and GRUV on builtin:chorale-audio (8 kHz), beside
baselines that need no training, in one run on this machine.

- Each model trained for `--minutes` (default 20) on the built-in training chorales (kept
  in bench/out/sound/ and reused; delete to retrain);
- held-out bits per sample for WaveNet and SampleRNN (8 is chance for 8-bit mu-law) on
  the test chorales, which no model saw, with the same figure for a unigram of mu-law levels
  (the levels' entropy: what a model that ignores context scores);
- 10 held-out starts (2 s of each test chorale, from 10 s in), continued 4 s by each model
  and by two baselines (repeat the last second; silence): the log-spectral distance (dB)
  of the first second of continuation to the true continuation, and the fraction still
  above -40 dBFS at 4 s (its last half second);
- generation speed in samples per second, one stream and ten at once (target: faster than
  real time at 8 kHz, i.e. over 8000 a stream).

    flock /tmp/rv/heavy.lock env OMP_NUM_THREADS=2 python bench/sound.py [--minutes 20] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reverie.sound import generate as gen  # noqa: E402
from reverie.sound import train as tr  # noqa: E402
from reverie.sound.data import builtin_clips, mu_law_encode  # noqa: E402

RATE = 8000
OUT = ROOT / "bench" / "out" / "sound"
START_AT, START_S, CONT_S = 10.0, 2.0, 4.0


def log_spectral_distance(a: np.ndarray, b: np.ndarray, n_fft: int = 512) -> float:
    """Mean over frames of the RMS difference of log power spectra (dB), power floored
    at -80 dB so silence has a finite distance."""
    def db(x):
        s = torch.stft(torch.from_numpy(np.ascontiguousarray(x, np.float32)), n_fft, n_fft // 4,
                       window=torch.hann_window(n_fft), return_complex=True)
        return 10 * torch.log10(s.abs() ** 2 / n_fft + 1e-8).numpy()
    A, B = db(a), db(b)
    return float(np.mean(np.sqrt(np.mean((A - B) ** 2, axis=0))))


def tail_dbfs(x: np.ndarray) -> float:
    last = x[-RATE // 2:]
    return float(20 * np.log10(max(np.sqrt(np.mean(last ** 2)), 1e-6)))


def judge(name: str, conts: np.ndarray, truth: np.ndarray) -> dict:
    lsd = [log_spectral_distance(c[:RATE], t[:RATE]) for c, t in zip(conts, truth)]
    loud = [tail_dbfs(c) for c in conts]
    return {"name": name, "lsd_first_second_db": float(np.mean(lsd)),
            "lsd_sd": float(np.std(lsd)),
            "above_-40dBFS_at_4s": float(np.mean([v > -40 for v in loud])),
            "tail_dbfs_median": float(np.median(loud))}


def trained(model: str, minutes: float, clips) -> tr.SoundModel:
    path = OUT / f"{model}-{minutes:g}min.pt"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"training {model} for {minutes:g} minutes ...", flush=True)
        r = tr.train_sound(clips=clips, model=model, minutes=minutes, out=path,
                           eval_every=50, checkpoint_every=50)
        print("  " + r.summary(), flush=True)
    return tr.load_sound(path)


def bits_on(model: tr.SoundModel, clips: list[np.ndarray], segments: int = 32) -> float:
    """Bits per sample on `segments` one-second segments of `clips` (fixed seed)."""
    cfg = model.config.replace(sample_size=RATE)
    x = tr.training_batch(model.net, clips, cfg, segments, torch.Generator().manual_seed(7))
    return tr.held_out(model.net, x, cfg, "cpu")


def unigram_bits(train: list[np.ndarray], test: list[np.ndarray]) -> float:
    counts = np.bincount(np.concatenate([mu_law_encode(c) for c in train]), minlength=256) + 1
    p = counts / counts.sum()
    q = np.concatenate([mu_law_encode(c) for c in test])
    return float(-np.mean(np.log2(p[q])))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    clips = builtin_clips("chorale-audio", RATE)
    a, s, c = int(START_AT * RATE), int(START_S * RATE), int(CONT_S * RATE)
    tests = [x for x in clips.test if len(x) >= a + s + c][:10]
    starts = np.stack([x[a - s:a] for x in tests])
    truth = np.stack([x[a:a + c] for x in tests])
    figures: dict = {"train_seconds_of_sound": clips.seconds("train"),
                     "held_out_starts": len(tests), "rows": []}
    figures["rows"].append(judge("repeat the last second",
                                 np.tile(starts[:, -RATE:], (1, int(CONT_S))), truth))
    figures["rows"].append(judge("silence", np.zeros_like(truth), truth))
    figures["unigram_bits_per_sample"] = unigram_bits(clips.train, clips.test)
    for name in ("wavenet", "samplernn", "gruv"):
        m = trained(name, args.minutes, clips)
        figures[name] = {"steps": m.meta.get("step"), "held_out_valid": m.meta.get("valid")}
        if name in tr.MU_LAW_MODELS:
            figures[name]["test_bits_per_sample"] = bits_on(m, clips.test)
        t0 = time.perf_counter()
        conts = gen.continue_rows(m, starts, c, 0.9, seed=0)
        seconds = time.perf_counter() - t0
        row = judge(f"{name} (temperature 0.9)" if name in tr.MU_LAW_MODELS else name, conts,
                    truth)
        row["samples_per_second_10_streams"] = conts.size / seconds
        t0 = time.perf_counter()
        gen.continue_rows(m, starts[:1], RATE * 2, 0.9, seed=1)
        row["samples_per_second_1_stream"] = RATE * 2 / (time.perf_counter() - t0)
        figures["rows"].append(row)
        OUT.mkdir(parents=True, exist_ok=True)
        from reverie.io.audio import save_audio
        save_audio(np.concatenate([starts[0], conts[0]]), RATE, OUT / f"{name}-continuation.wav")
    if args.json:
        print(json.dumps(figures, indent=1))
        return
    print(f"builtin:chorale-audio at {RATE} Hz: {figures['train_seconds_of_sound'] / 60:.1f} "
          f"minutes of training sound; {len(tests)} held-out starts of {START_S:g} s")
    print(f"held-out bits per sample (test chorales), chance 8, a unigram of mu-law levels "
          f"{figures['unigram_bits_per_sample']:.3f}:")
    for name in tr.MU_LAW_MODELS:
        w = figures[name]
        print(f"  {name:<10} {w['test_bits_per_sample']:.3f} (validation "
              f"{w['held_out_valid']:.3f}) after {w['steps']} steps")
    print(f"GRUV: held-out normalised MSE {figures['gruv']['held_out_valid']:.3f} "
          f"({figures['gruv']['steps']} steps; 1 = predicting the mean block)")
    print(f"{'continuation':<28} {'LSD 1st s (dB)':>15} {'>-40 dBFS at 4 s':>17} "
          f"{'tail dBFS':>10} {'samples/s (1 / 10 streams)':>28}")
    for r in figures["rows"]:
        speed = (f"{r['samples_per_second_1_stream']:.0f} / "
                 f"{r['samples_per_second_10_streams']:.0f}"
                 if "samples_per_second_1_stream" in r else "")
        print(f"{r['name']:<28} {r['lsd_first_second_db']:>9.2f} ± {r['lsd_sd']:<4.1f} "
              f"{r['above_-40dBFS_at_4s']:>17.0%} {r['tail_dbfs_median']:>10.1f} {speed:>28}")
    print("target: generation faster than real time at 8 kHz (over 8000 samples/s a stream)")


if __name__ == "__main__":
    main()
