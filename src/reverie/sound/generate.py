"""Making sound with a trained model: `continue_sound` (a start, then the model's
continuation) and `sample_sound` (from a snippet of training sound, or from silence).

What the page shows is what GRUV's users reported: does the continuation keep sounding,
or decay into silence or noise? Loudness (RMS, dBFS), spectral centroid and spectral
flatness (1 is white noise, 0 a pure tone) every quarter second, beside the start's.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from reverie.core.config import Config, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.io.audio import as_audio, resample, save_audio
from reverie.sound import gruv, samplernn, wavenet
from reverie.sound.data import mu_law_decode, mu_law_encode
from reverie.sound.pitch import WINDOW_SECONDS, peak_hz, pitch_figures, quarters, yin
from reverie.sound.train import MU_LAW_MODELS, SoundModel, as_model

SILENT_DBFS = -40.0          # "still sounding" means louder than this
NOISY_FLATNESS = 0.35        # flatter than this reads as noise (white noise: about 0.56)
DEFAULT_TEMPERATURE = 0.9
DEFAULT_TOP_P = 0.95          # measured on held-out tones: see docs/sound.md


def temperature_knob():
    return knob(DEFAULT_TEMPERATURE, "wavenet, samplernn: divides the logits of the mu-law "
                "softmax before sampling (1: the model's distribution; lower: less of the "
                "noise band under the harmonics; 0: always the likeliest level). GRUV "
                "regresses and has none", min=0, max=2)


def top_p_knob():
    return knob(DEFAULT_TOP_P, "wavenet, samplernn: sample only from the likeliest mu-law "
                "levels holding this much of the probability (nucleus sampling, Holtzman et "
                "al. 2020; 1: all levels)", above=0, max=1)


def density_knob():
    return knob(False, "wavenet, samplernn: temperature and top_p act on the amplitude's "
                "density (each mu-law level's probability over its bin's width) instead of on "
                "the levels' probabilities, which favour the wide bins far from zero: "
                "sharpened that way the amplitude hardly narrows, and a continuation can grow "
                "louder than its start. On the chorales it keeps their loudness at "
                "temperature 1 with top_p 0.95, and turns to noise below temperature 0.9 "
                "(docs/sound.md)")


@dataclass
class SampleConfig(Config):
    seconds: float = knob(4.0, "seconds of sound to make", min=0.05, max=60, unit="s")
    temperature: float = temperature_knob()
    top_p: float = top_p_knob()
    density_sampling: bool = density_knob()
    prime: str = knob("training", "what the model starts from: training (a snippet of its "
                      "training sound kept in the model file, as GRUV's seed generator) or "
                      "silence", choices=("training", "silence"))
    seed: int = seed_knob()


@dataclass
class ContinueConfig(Config):
    seconds: float = knob(4.0, "seconds of continuation after the start", min=0.05, max=60,
                          unit="s")
    temperature: float = temperature_knob()
    top_p: float = top_p_knob()
    density_sampling: bool = density_knob()
    seed: int = seed_knob()


# ---------------------------------------------------------------------------------------
# The model's next samples
# ---------------------------------------------------------------------------------------

def continue_rows(model: SoundModel, starts: np.ndarray, n: int, temperature: float,
                  seed: int, top_p: float = 1.0, density: bool = False) -> np.ndarray:
    """(B, T) float starts at the model's rate -> (B, n) float continuations."""
    if model.config.model in MU_LAW_MODELS:
        module = wavenet if model.config.model == "wavenet" else samplernn
        q = module.generate(model.net, mu_law_encode(starts), n, temperature,
                            np.random.default_rng(seed), top_p=top_p, density=density)
        return mu_law_decode(q)
    return gruv.generate(model.net, starts, n, model.config.seed_blocks)


def _warm_up(model: SoundModel) -> None:
    if model.config.model == "wavenet":
        wavenet.warm_up()


# ---------------------------------------------------------------------------------------
# What the continuation does over time
# ---------------------------------------------------------------------------------------

def trajectory(x: np.ndarray, rate: int) -> dict[str, list]:
    """Loudness (dBFS), spectral centroid (Hz), flatness, dominant frequency (FFT peak,
    Hz) and fundamental (YIN, Hz; None where aperiodic) of each quarter second."""
    frames = quarters(x, rate)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, 1))
    power = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), axis=1)) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(frames.shape[1], 1.0 / rate)
    f0 = [yin(f, rate)[0] for f in frames]
    return {"loudness_dbfs": list(np.round(20 * np.log10(np.maximum(rms, 1e-6)), 2)),
            "centroid_hz": list(np.round((power * freqs).sum(1) / power.sum(1), 1)),
            "flatness": list(np.round(np.exp(np.log(power).mean(1)) / power.mean(1), 4)),
            "peak_hz": [round(peak_hz(f, rate), 1) for f in frames],
            "f0_hz": [None if v is None else round(v, 2) for v in f0]}


def verdict(start: dict, cont: dict) -> str:
    end = slice(-4, None)             # the last second
    loud = float(np.mean(cont["loudness_dbfs"][end]))
    flat = float(np.mean(cont["flatness"][end]))
    if loud < SILENT_DBFS:
        return f"decays into silence (the last second at {loud:.0f} dBFS)"
    before = float(np.mean(start["flatness"])) if start["flatness"] else None
    if flat > NOISY_FLATNESS and (before is None or flat > 2 * before):
        return f"turns to noise (the last second's spectral flatness {flat:.2f})"
    if before is not None and flat > 3 * before:    # the harmonic lines smear out
        return (f"keeps sounding at {loud:.0f} dBFS, but noisier than the start (spectral "
                f"flatness {flat:.2f} against {before:.2f})")
    return f"keeps sounding (the last second at {loud:.0f} dBFS, flatness {flat:.2f})"


# ---------------------------------------------------------------------------------------
# The result: sound, and a picture of it with the seam marked
# ---------------------------------------------------------------------------------------

@dataclass
class SoundResult(Result):
    audio: np.ndarray           # the whole sound: start (if any), then the model's
    rate: int
    seam: int                   # the sample where the model takes over
    suffixes = (".wav", ".flac", ".ogg")

    def write(self, path: Path) -> dict[str, Path]:
        return {"audio": save_audio(self.audio, self.rate, path),
                "spectrogram": self.plot(path.with_suffix(".png"))}

    def plot(self, path: Path) -> Path:
        """Spectrogram over loudness and centroid, one time axis, the seam a white line."""
        from reverie.io.figures import new_figure, save_figure
        fig, (a, b, c) = new_figure(7, 5.2, nrows=3, sharex=True,
                                    height_ratios=(2.2, 1, 1))
        n_fft, hop = 512, 128
        x = torch.from_numpy(self.audio)
        spec = torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True)
        db = 20 * torch.log10(spec.abs() + 1e-5).numpy()
        seconds = len(self.audio) / self.rate
        a.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=db.max() - 80,
                 extent=[0, seconds, 0, self.rate / 2000])
        a.set_ylabel("kHz")
        seam = self.seam / self.rate
        for part, offset in ((self.figures["start"], 0.0), (self.figures["continuation"], seam)):
            t = offset + (np.arange(len(part["loudness_dbfs"])) + 0.5) * WINDOW_SECONDS
            b.plot(t, part["loudness_dbfs"], color="#1f77b4")
            c.plot(t, part["centroid_hz"], color="#d62728")
        b.axhline(SILENT_DBFS, color="#999999", lw=0.7, ls=":")
        b.set_ylabel("dBFS")
        c.set_ylabel("centroid Hz")
        c.set_xlabel("seconds")
        for ax in (a, b, c):
            if self.seam > 0:
                ax.axvline(seam, color="white" if ax is a else "black", lw=1.2, ls="--")
        if self.seam > 0:
            a.text(seam, self.rate / 2000 * 0.95, "  model ->", color="white", va="top",
                   fontsize=8)
        a.set_title(self.figures.get("verdict", ""), fontsize=8, loc="left")
        return save_figure(fig, path)

    def summary(self) -> str:
        f = self.figures
        pitch = ""
        if f.get("f0_drift_percent") is not None:
            pitch = (f"; pitch within {f['f0_drift_percent']:.1f}% of the start's "
                     f"{f['start_f0_hz']:.0f} Hz over {f['pitch_seconds']:g} s")
        return (f"{f['seconds_made']:.1f} s made at {self.rate} Hz by {f['model']}: "
                f"{f['verdict']}{pitch}; {f['samples_per_second']:.0f} samples/s")


def _make(model: SoundModel, primer: np.ndarray, keep_primer: bool, config,
          mechanism: str, notes: list[str], progress: Progress) -> SoundResult:
    """`config.seconds` of the model's sound after `primer`; the result holds the primer
    too where `keep_primer` (a continuation), and times the sampling alone."""
    _warm_up(model)
    t0 = time.perf_counter()
    made = continue_rows(model, primer[None], int(round(config.seconds * model.rate)),
                         config.temperature, config.seed, config.top_p,
                         config.density_sampling)[0]
    seconds = time.perf_counter() - t0
    rate = model.rate
    start = primer if keep_primer else np.zeros(0, np.float32)
    audio = np.concatenate([start, made]).astype(np.float32)
    cont = trajectory(made, rate)
    begun = trajectory(start, rate) if len(start) >= rate * WINDOW_SECONDS else \
        {"loudness_dbfs": [], "centroid_hz": [], "flatness": []}
    figures = {"model": model.config.model, "rate": rate,
               "seconds_start": len(start) / rate, "seconds_made": len(made) / rate,
               "samples_per_second": len(made) / max(seconds, 1e-9),
               "verdict": verdict(begun, cont),
               "continuation": cont, "start": begun,
               "final_loudness_dbfs": float(np.mean(cont["loudness_dbfs"][-2:])),
               **pitch_figures(start, made, rate)}
    held = model.meta.get("valid")
    if held is not None:
        figures["held_out_" + ("bits_per_sample" if model.config.model in MU_LAW_MODELS
                               else "normalised_mse")] = held
    if model.config.model == "wavenet":
        figures["receptive_field_seconds"] = model.net.receptive_field / rate
    result = SoundResult(audio, rate, len(start), mechanism=mechanism, config=config,
                         figures=figures, notes=notes, timings={"generate": seconds})
    progress(1, 1, figures["verdict"])
    return result


def _check_start(model: SoundModel, start, notes: list[str]) -> np.ndarray:
    x, rate = as_audio(start, max_seconds=120.0, min_samples=1, notes=notes)
    if rate != model.rate:
        notes.append(f"the start was resampled from {rate} Hz to the model's {model.rate} Hz")
        x = resample(x, rate, model.rate)
    need = model.min_start
    if len(x) < need:
        what = {"wavenet": "one receptive field", "samplernn": "one frame",
                "gruv": "one block"}[model.config.model]
        raise ReverieError(f"the start is {len(x) / model.rate:.3f} s long; this model needs "
                           f"at least {need} samples ({need / model.rate:.3f} s at "
                           f"{model.rate} Hz, {what}); give a longer start")
    return np.clip(x, -1, 1).astype(np.float32)


def _record(source) -> dict:
    """Files are recorded (with their hash) so the output can be rerun; what was handed
    over in memory (a model, a (samples, rate) pair) is noted as such."""
    if isinstance(source, (str, os.PathLike)):
        return record_input(source)
    return {"source": None, "note": f"given in memory ({type(source).__name__})"}


def continue_sound(model=None, start=None, config: Optional[ContinueConfig] = None, *,
                   progress: Progress = silent, **overrides) -> SoundResult:
    """The start, then `seconds` of the model's continuation."""
    cfg = make_config(ContinueConfig, config, **overrides)
    if start is None:
        raise ReverieError("a start is needed: a WAV/FLAC/OGG file to continue")
    m = as_model(model)
    notes: list[str] = []
    x = _check_start(m, start, notes)
    progress(0, 1, f"continuing {len(x) / m.rate:.1f} s by {cfg.seconds:g} s")
    result = _make(m, x, True, cfg, "continue_sound", notes, progress)
    result.inputs = {"model": _record(model), "start": _record(start)}
    return result


def sample_sound(model=None, config: Optional[SampleConfig] = None, *,
                 progress: Progress = silent, **overrides) -> SoundResult:
    """`seconds` of sound from the model alone, primed with a snippet of its training sound
    (the seed picks which) or with silence; the primer is not part of the output."""
    cfg = make_config(SampleConfig, config, **overrides)
    m = as_model(model)
    notes: list[str] = []
    seeds = m.meta.get("seeds")
    if cfg.prime == "training" and seeds is not None and len(seeds):
        i = cfg.seed % len(seeds)
        primer = np.asarray(seeds[i], np.float32)
        notes.append(f"primed with {len(primer) / m.rate:.2f} s of training sound "
                     f"(snippet {i} of {len(seeds)} kept in the model file)")
    else:
        primer = np.zeros(m.min_start, np.float32)
        notes.append("primed with silence")
    progress(0, 1, f"sampling {cfg.seconds:g} s")
    result = _make(m, primer, False, cfg, "sample_sound", notes, progress)
    result.inputs = {"model": _record(model)}
    return result
