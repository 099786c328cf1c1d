"""Benchmark: WaveNet, SampleRNN and GRUV on builtin:chorale-audio (8 kHz), beside
baselines that need no training, in one run on this machine.

- Each model trained for `--minutes` (default 20) on the built-in training chorales (kept
  in bench/out/sound/ and reused; delete to retrain): WaveNet, WaveNet under SampleRNN's
  frame tier (tier_dim 256, reading 2 s before each segment), SampleRNN and GRUV;
- held-out bits per sample for WaveNet and SampleRNN (8 is chance for 8-bit mu-law) on
  the test chorales, which no model saw, with the same figure for a unigram of mu-law levels
  (the levels' entropy: what a model that ignores context scores);
- 10 held-out starts (2 s of each test chorale, from 10 s in), continued 4 s by each model
  (once per seed of `SEEDS`) and by three baselines (repeat the last second; loop its last
  quarter, the chord held; silence): the log-spectral distance (dB) of the first second of
  continuation to the true continuation, and the fraction still above -40 dBFS at 4 s (its
  last half second);
- generation speed in samples per second, one stream and ten at once (target: faster than
  real time at 8 kHz, i.e. over 8000 a stream);
- the continuation's spectral flatness over its last second against the start's (target:
  within 2x), beside the baselines';
- steady tones (issue #35, a user's recipe): forty 3-s harmonic tones (fundamental
  150-500 Hz and three overtones) at 8 kHz, WaveNet trained for `--tone-steps` (the
  user's run: 653 steps in 6 minutes) with the defaults (the user's recipe) and with
  pitch_shift 2 and f0_conditioning, validated on the last tenth of each (as `sound
  train` does for a set too small to hold files out: the held-out figure must fall with
  training's); ten held-out tones (pitches never trained on) continued 2 s from 1 s of
  each. Target: the fundamental (YIN) of every quarter second of the first 2 s within 3%
  of the start's on 10 of 10, at the default sampling, beside temperature 1 and
  repeating the last second.

    flock /tmp/rv/heavy.lock env OMP_NUM_THREADS=2 python bench/sound.py [--minutes 20]
        [--tone-steps 650] [--part all|tones|chorales] [--json]
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
from reverie.sound.data import builtin_clips, mu_law_encode, tail_split  # noqa: E402
from reverie.sound.pitch import pitch_figures  # noqa: E402

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


# a sampled continuation's distance moves by 0.1-0.2 dB between seeds (docs/sound.md), so
# a model is judged on several seeds' continuations of every start
SEEDS = (0, 1, 2)


def continuations(model: tr.SoundModel, starts: np.ndarray, n: int,
                  sampling: gen.ContinueConfig, seeds=SEEDS) -> np.ndarray:
    """Every start continued `n` samples at `sampling`'s settings, once per seed (the rows
    seed by seed, as `judge` reads them); GRUV regresses, so once."""
    if model.config.model not in tr.MU_LAW_MODELS:
        seeds = seeds[:1]
    return np.concatenate([gen.continue_rows(model, starts, n, sampling.temperature, seed=s,
                                             top_p=sampling.top_p,
                                             density=sampling.density_sampling)
                           for s in seeds])


def judge(name: str, conts: np.ndarray, truth: np.ndarray) -> dict:
    """The continuations' figures against the truth; `conts` may hold several seeds'
    continuations of the same starts, one after another (`continuations`)."""
    seeds = len(conts) // len(truth)
    assert seeds and len(conts) == seeds * len(truth), "whole seeds' rows of every start"
    lsd = [log_spectral_distance(c[:RATE], t[:RATE])
           for c, t in zip(conts, np.tile(truth, (seeds, 1)))]
    per_seed = np.mean(np.reshape(lsd, (seeds, -1)), axis=1)
    loud = [tail_dbfs(c) for c in conts]
    return {"name": name, "lsd_first_second_db": float(np.mean(lsd)),
            "flatness_last_second": float(np.mean([flatness(c[-RATE:]) for c in conts])),
            "lsd_sd": float(np.std(lsd)), "seeds": seeds,
            "lsd_seed_se": (float(np.std(per_seed, ddof=1) / np.sqrt(seeds)) if seeds > 1
                            else None),
            "above_-40dBFS_at_4s": float(np.mean([v > -40 for v in loud])),
            "tail_dbfs_median": float(np.median(loud))}


def held_out_starts(clips, count: int = 10, cont_s: float = CONT_S
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(starts, true continuations): `START_S` seconds of each of the first `count` test
    chorales long enough, ending `START_AT` seconds in, and the `cont_s` seconds after."""
    a, s, c = int(START_AT * RATE), int(START_S * RATE), int(cont_s * RATE)
    tests = [x for x in clips.test if len(x) >= a + s + c][:count]
    return np.stack([x[a - s:a] for x in tests]), np.stack([x[a:a + c] for x in tests])


# the models compared: SampleRNN's frame tier, alone and under WaveNet's layers
MODELS = {"wavenet": {"model": "wavenet"},
          "wavenet-tier": {"model": "wavenet", "tier_dim": 256, "tier_context": 2.0},
          "samplernn": {"model": "samplernn"}, "gruv": {"model": "gruv"}}


def trained(name: str, minutes: float, clips) -> tr.SoundModel:
    path = OUT / f"{name}-{minutes:g}min.pt"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"training {name} for {minutes:g} minutes ...", flush=True)
        r = tr.train_sound(clips=clips, **MODELS[name], minutes=minutes, out=path,
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


def flatness(x: np.ndarray) -> float:
    """Spectral flatness of x (mean over quarter seconds; 1 white noise, 0 a pure tone)."""
    return float(np.mean(gen.trajectory(x, RATE)["flatness"]))


def mean_flatness(clips: np.ndarray) -> float:
    return float(np.mean([flatness(x) for x in clips]))


# ---------------------------------------------------------------------------------------
# Steady tones: does a continuation keep its pitch?
# ---------------------------------------------------------------------------------------

TONE_TRAIN, TONE_HELD, TONE_S, TONE_START_S, TONE_CONT_S = 40, 10, 3.0, 1.0, 2.0
PITCH_TOLERANCE = 3.0          # percent


def harmonic_tone(f0: float, seconds: float, phase: float = 0.0) -> np.ndarray:
    """A fundamental and three overtones (amplitudes 1, 1/2, 1/3, 1/4), peak about 0.5."""
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * k * f0 * t + k * phase) / k for k in range(1, 5))
    return (0.5 * x / 2.08).astype(np.float32)


def tone_set(seed: int = 0) -> tuple[list, list]:
    """(name, tone) to train on and held-out (f0, tone), fundamentals uniform in 150-500 Hz."""
    rng = np.random.default_rng(seed)
    f0s = rng.uniform(150, 500, TONE_TRAIN + TONE_HELD)
    phases = rng.uniform(0, 2 * np.pi, len(f0s))
    tones = [harmonic_tone(f, TONE_S, p) for f, p in zip(f0s, phases)]
    return ([(f"tone{i:02d}-{f0s[i]:.0f}hz", tones[i]) for i in range(TONE_TRAIN)],
            [(f0s[i], tones[i]) for i in range(TONE_TRAIN, len(tones))])


def pitch_row(name: str, starts: np.ndarray, conts: np.ndarray) -> dict:
    drifts = [pitch_figures(s, c, RATE, TONE_CONT_S).get("f0_drift_percent")
              for s, c in zip(starts, conts)]
    worst = [np.inf if d is None else d for d in drifts]
    return {"name": name, "within_3pct": int(sum(d <= PITCH_TOLERANCE for d in worst)),
            "drift_percent_median": float(np.median(worst)),
            "drift_percent_max": float(np.max(worst)),
            "flatness": float(np.mean([flatness(c) for c in conts]))}


RECIPES = {"the defaults (the user's recipe)": {},
           "pitch_shift 2, f0_conditioning": {"pitch_shift": 2.0, "f0_conditioning": True}}


def tone_model(steps: int, clips, tag: str, knobs: dict) -> tr.SoundModel:
    path = OUT / f"tones-wavenet-{tag}-{steps}steps.pt"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"training wavenet ({tag}) on {TONE_TRAIN} tones for {steps} steps ...",
              flush=True)
        r = tr.train_sound(clips=clips, model="wavenet", max_steps=steps, eval_every=50,
                           checkpoint_every=50, out=path, **knobs)
        print("  " + r.summary(), flush=True)
    return tr.load_sound(path)


def tones_part(steps: int) -> dict:
    named, held = tone_set()
    clips = tail_split(named, RATE, "bench: forty harmonic tones")
    s = int(TONE_START_S * RATE)
    starts = np.stack([x[:s] for _, x in held])
    n = int(TONE_CONT_S * RATE)
    rows = [pitch_row("repeat the last second", starts,
                      np.tile(starts[:, -RATE:], (1, int(np.ceil(TONE_CONT_S))))[:, :n])]
    cfg = gen.ContinueConfig()
    histories = {}
    for recipe, knobs in RECIPES.items():
        tag = "plain" if not knobs else "pitch"
        m = tone_model(steps, clips, tag, knobs)
        histories[recipe] = [(h["step"], h["train"], h.get("valid"))
                             for h in m.meta.get("history", [])]
        for t, p in ((cfg.temperature, cfg.top_p), (1.0, 1.0)):
            t0 = time.perf_counter()
            conts = gen.continue_rows(m, starts, n, t, seed=0, top_p=p)
            row = pitch_row(f"{recipe}, temperature {t:g} top_p {p:g}", starts, conts)
            row["samples_per_second_10_streams"] = conts.size / (time.perf_counter() - t0)
            rows.append(row)
    return {"steps": steps, "histories": histories, "rows": rows,
            "held_out_f0s": [round(f, 1) for f, _ in held]}


def print_tones(t: dict) -> None:
    print(f"steady tones: {TONE_TRAIN} harmonic tones of {TONE_S:g} s at {RATE} Hz, "
          f"wavenet ({t['steps']} steps); held-out bits per sample beside training's:")
    for recipe, h in t["histories"].items():
        print(f"  {recipe}: " + ", ".join(
            f"{s}: {a:.2f}/{'-' if b is None else f'{b:.2f}'}" for s, a, b in h))
    print(f"{TONE_HELD} held-out tones (f0 {min(t['held_out_f0s']):.0f}-"
          f"{max(t['held_out_f0s']):.0f} Hz) continued {TONE_CONT_S:g} s: "
          f"target pitch within {PITCH_TOLERANCE:g}% on {TONE_HELD} of {TONE_HELD}")
    print(f"{'continuation':<70} {'within 3%':>9} {'drift % median/max':>19} "
          f"{'flatness':>9} {'samples/s':>10}")
    for r in t["rows"]:
        print(f"{r['name']:<70} {r['within_3pct']:>6}/{TONE_HELD} "
              f"{r['drift_percent_median']:>9.2f} / {r['drift_percent_max']:<7.2f} "
              f"{r['flatness']:>9.4f} {r.get('samples_per_second_10_streams', 0):>10.0f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--tone-steps", type=int, default=650)
    ap.add_argument("--part", choices=("all", "tones", "chorales"), default="all")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    gen.wavenet.warm_up()
    tones = tones_part(args.tone_steps) if args.part in ("all", "tones") else None
    if args.part == "tones":
        print(json.dumps(tones, indent=1)) if args.json else print_tones(tones)
        return
    clips = builtin_clips("chorale-audio", RATE)
    c = int(CONT_S * RATE)
    starts, truth = held_out_starts(clips)
    figures: dict = {"train_seconds_of_sound": clips.seconds("train"),
                     "held_out_starts": len(starts), "rows": [], "tones": tones,
                     "start_flatness": mean_flatness(starts)}
    figures["rows"].append(judge("repeat the last second",
                                 np.tile(starts[:, -RATE:], (1, int(CONT_S))), truth))
    # the last chord held: what a continuation that only sustains would score
    figures["rows"].append(judge("loop the last quarter second",
                                 np.tile(starts[:, -RATE // 4:], (1, int(4 * CONT_S))), truth))
    figures["rows"].append(judge("silence", np.zeros_like(truth), truth))
    figures["unigram_bits_per_sample"] = unigram_bits(clips.train, clips.test)
    sampling = gen.ContinueConfig()
    for name in MODELS:
        m = trained(name, args.minutes, clips)
        figures[name] = {"steps": m.meta.get("step"), "held_out_valid": m.meta.get("valid")}
        if m.config.model in tr.MU_LAW_MODELS:
            figures[name]["test_bits_per_sample"] = bits_on(m, clips.test)
        t0 = time.perf_counter()
        conts = continuations(m, starts, c, sampling)
        seconds = time.perf_counter() - t0
        row = judge(f"{name} (temperature {sampling.temperature:g}, top_p "
                    f"{sampling.top_p:g})" if m.config.model in tr.MU_LAW_MODELS else name,
                    conts, truth)
        row["samples_per_second_10_streams"] = conts.size / seconds
        t0 = time.perf_counter()
        continuations(m, starts[:1], RATE * 2, sampling, seeds=(1,))
        row["samples_per_second_1_stream"] = RATE * 2 / (time.perf_counter() - t0)
        figures["rows"].append(row)
        OUT.mkdir(parents=True, exist_ok=True)
        from reverie.io.audio import save_audio
        save_audio(np.concatenate([starts[0], conts[0]]), RATE, OUT / f"{name}-continuation.wav")
    if args.json:
        print(json.dumps(figures, indent=1))
        return
    print(f"builtin:chorale-audio at {RATE} Hz: {figures['train_seconds_of_sound'] / 60:.1f} "
          f"minutes of training sound; {len(starts)} held-out starts of {START_S:g} s")
    print(f"held-out bits per sample (test chorales), chance 8, a unigram of mu-law levels "
          f"{figures['unigram_bits_per_sample']:.3f}:")
    for name in MODELS:
        w = figures[name]
        if "test_bits_per_sample" not in w:
            continue
        print(f"  {name:<13} {w['test_bits_per_sample']:.3f} (validation "
              f"{w['held_out_valid']:.3f}) after {w['steps']} steps")
    print(f"GRUV: held-out normalised MSE {figures['gruv']['held_out_valid']:.3f} "
          f"({figures['gruv']['steps']} steps; 1 = predicting the mean block)")
    print(f"LSD: mean over the starts and, for a sampling model, over {len(SEEDS)} seeds' "
          f"continuations (± its standard error over the seeds; sd over the continuations "
          f"in brackets)")
    print(f"{'continuation':<40} {'LSD 1st s (dB)':>20} {'>-40 dBFS at 4 s':>17} "
          f"{'tail dBFS':>10} {'flatness/start':>15} {'samples/s (1 / 10 streams)':>28}")
    for r in figures["rows"]:
        speed = (f"{r['samples_per_second_1_stream']:.0f} / "
                 f"{r['samples_per_second_10_streams']:.0f}"
                 if "samples_per_second_1_stream" in r else "")
        se = f"± {r['lsd_seed_se']:.2f}" if r["lsd_seed_se"] is not None else ""
        print(f"{r['name']:<40} {r['lsd_first_second_db']:>6.2f} {se:>6} "
              f"{'(%.1f)' % r['lsd_sd']:<6} "
              f"{r['above_-40dBFS_at_4s']:>17.0%} {r['tail_dbfs_median']:>10.1f} "
              f"{r['flatness_last_second'] / figures['start_flatness']:>15.2f} {speed:>28}")
    print("targets: LSD of the first second 1 dB under repeating the last second; above "
          "-40 dBFS at 4 s; flatness within 2x the start's; faster than real time at 8 kHz "
          "(over 8000 samples/s a stream)")
    if tones:
        print_tones(tones)


if __name__ == "__main__":
    main()
