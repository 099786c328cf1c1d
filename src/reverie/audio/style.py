"""Style transfer and texture synthesis for sound (Ulyanov and Lebedev 2016).

The log-magnitude spectrogram, log(1 + |STFT|), is treated as a 1-D signal in time whose
channels are the 1025 frequency bins. One convolution layer of random filters (width 11,
4096 of them, ReLU) turns it into features; their Gram matrix over time is the style, the
features themselves the content:

    weights = random filters (normal, He-style scale)      # never trained
    target  = gram(relu(conv1d(style spectrogram)))
    L-BFGS on a spectrogram S (from noise, or the content's):
        loss = style_weight * |gram(f(S)) - target|^2 + content_weight * |f(S) - f(content)|^2
    Griffin-Lim (fast, with momentum) finds a phase for S so it can be heard

    result = audio_style("speech.wav", "rain.wav")          # or (samples, rate) pairs
    result.save("out.wav")                                  # + out.spec.png, out.json

Defaults follow DmitryUlyanov/neural-style-audio-tf (N_FFT 2048, 4096 filters of width 11,
ALPHA = 1e-2, L-BFGS) except the number of L-BFGS evaluations, 50 rather than 300, so a
10 s clip finishes in about a minute on a CPU (bench/audio_style.py measures what that
costs in style loss). The Gram matrix is averaged over time frames, as Ulyanov's is.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from reverie.audio.spectral import griffin_lim, log_spectrogram, save_spectrogram_png
from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.io.audio import as_audio, resample, save_audio
from reverie.optvis.losses import gram

INITS = ("noise", "content")


@dataclass
class _SoundConfig(Config):
    """The knobs audio_style and audio_texture share."""
    style_weight: float = knob(1.0, "weight of the style loss: the squared difference of Gram "
                               "matrices", min=0)
    n_filters: int = knob(4096, "random 1-D filters in the one convolution layer "
                          "(Ulyanov: N_FILTERS=4096)", min=1, flag="filters")
    kernel_width: int = knob(11, "width of each filter (Ulyanov: 11)", min=1, unit="STFT frames")
    evaluations: int = knob(50, "L-BFGS function evaluations (Ulyanov: 300; 50 keeps a 10 s "
                            "clip near a minute on a CPU)", min=1)
    n_fft: int = knob(2048, "STFT size (Ulyanov: N_FFT=2048)", min=16, unit="samples")
    hop_length: int = knob(512, "STFT hop (n_fft / 4)", min=1, unit="samples")
    griffin_lim_iters: int = knob(50, "Griffin-Lim iterations that recover a phase", min=1)
    griffin_lim_momentum: float = knob(0.99, "fast Griffin-Lim momentum (Perraudin et al.)",
                                       min=0, below=1, advanced=True)
    sample_rate: Optional[int] = knob(None, "rate of the output (auto: the content's, or the "
                                      "style's for a texture)", min=1000, unit="Hz",
                                      resolved=True, metavar="HZ")
    max_seconds: float = knob(120.0, "refuse inputs longer than this", above=0, unit="seconds",
                              advanced=True)
    spectrograms: bool = knob(True, "also write pictures of the spectrograms beside the sound "
                              "(OUT.spec.png, OUT.style.spec.png, ...)")

    def check(self) -> None:
        if self.hop_length > self.n_fft:
            raise ConfigError("hop_length", f"must be at most n_fft ({self.n_fft}), or frames "
                              f"leave gaps in the sound")


@dataclass
class AudioStyleConfig(_SoundConfig):
    content_weight: float = knob(1e-2, "weight of the content's features (Ulyanov's ALPHA=1e-2); "
                                 "0 keeps only the style", min=0)
    init: str = knob("noise", "start from noise at the style's level, or from the content's "
                     "spectrogram", choices=INITS)
    seed: int = seed_knob()
    device: str = device_knob()


@dataclass
class AudioTextureConfig(_SoundConfig):
    seconds: Optional[float] = knob(None, "length of the texture (auto: the style's length)",
                                    above=0, unit="seconds")
    seed: int = seed_knob()
    device: str = device_knob()

    def check(self) -> None:
        super().check()
        if self.seconds is not None and self.seconds > self.max_seconds:
            raise ConfigError("seconds", f"{self.seconds:g} s is over max_seconds "
                              f"({self.max_seconds:g} s); ask for less or raise max_seconds")


@dataclass
class AudioResult(Result):
    audio: np.ndarray                   # (samples,) float32 in [-1, 1]
    sample_rate: int
    spectrogram: torch.Tensor           # (bins, frames) log(1 + |STFT|) that was optimised
    input_spectrograms: dict[str, torch.Tensor] = field(default_factory=dict)  # content, style
    history: list[float] = field(default_factory=list)  # the loss at every evaluation

    suffixes = (".wav", ".flac")

    def write(self, path: Path) -> dict[str, Path]:
        paths = {"audio": save_audio(self.audio, self.sample_rate, path)}
        if self.config.spectrograms:
            hop, n_fft = self.config.hop_length, self.config.n_fft
            heard = log_spectrogram(self.audio, n_fft, hop)  # what Griffin-Lim made audible
            paths["spectrogram"] = save_spectrogram_png(
                heard, self.sample_rate, path.with_name(f"{path.stem}.spec.png"), "result", hop)
            for name, spec in self.input_spectrograms.items():
                paths[f"{name}_spectrogram"] = save_spectrogram_png(
                    spec, self.sample_rate, path.with_name(f"{path.stem}.{name}.spec.png"), name, hop)
        return paths

    def summary(self) -> str:
        f = self.figures
        return (f"{f['seconds']:.2f} s of sound at {self.sample_rate} Hz; style (Gram) loss "
                f"{f['style_loss_initial']:.4g} -> {f['style_loss']:.4g} in "
                f"{self.timings['total']:.1f} s")


# -- the random network and its statistics -----------------------------------------------------

def random_filters(n_bins: int, n_filters: int, kernel_width: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Ulyanov's layer: normal weights, std sqrt(2) * sqrt(2 / ((bins + filters) * width))."""
    std = math.sqrt(2) * math.sqrt(2.0 / ((n_bins + n_filters) * kernel_width))
    return torch.randn(n_filters, n_bins, kernel_width, generator=generator) * std


def features(spec: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(bins, frames) -> (filters, frames - width + 1): one conv layer, ReLU."""
    return F.relu(F.conv1d(spec[None], weights))[0]


# -- the mechanisms ----------------------------------------------------------------------------

def audio_style(content, style, config: AudioStyleConfig | None = None, *,
                progress: Progress = silent, **overrides) -> AudioResult:
    """Sound with `content`'s features and `style`'s Gram statistics.

    `content` and `style` are file paths (WAV, FLAC, OGG) or in-memory (samples, rate)
    pairs; `config` fields can also be given as keywords: `audio_style(a, b, n_filters=512)`.
    """
    cfg = make_config(AudioStyleConfig, config, **overrides)
    inputs = {"content": _record(content), "style": _record(style)}
    notes: list[str] = []
    s_x, s_sr = as_audio(style, cfg.max_seconds, cfg.n_fft, notes)
    c_x, c_sr = as_audio(content, cfg.max_seconds, cfg.n_fft, notes)
    sr = cfg.sample_rate or c_sr
    if c_sr != sr:
        notes.append(f"content resampled from {c_sr} Hz to {sr} Hz")
    if s_sr != sr:
        notes.append(f"style resampled from {s_sr} Hz to {sr} Hz")
    c_x, s_x = resample(c_x, c_sr, sr), resample(s_x, s_sr, sr)
    return _synthesise(cfg, "audio_style", inputs, notes, s_x, c_x, sr, len(c_x),
                       cfg.content_weight, cfg.init, progress)


def audio_texture(style, config: AudioTextureConfig | None = None, *,
                  progress: Progress = silent, **overrides) -> AudioResult:
    """A sound texture: noise optimised to have `style`'s Gram statistics, `seconds` long
    (default: as long as the style). `style` is a path or a (samples, rate) pair."""
    cfg = make_config(AudioTextureConfig, config, **overrides)
    inputs = {"style": _record(style)}
    notes: list[str] = []
    s_x, s_sr = as_audio(style, cfg.max_seconds, cfg.n_fft, notes)
    sr = cfg.sample_rate or s_sr
    if s_sr != sr:
        notes.append(f"style resampled from {s_sr} Hz to {sr} Hz")
    s_x = resample(s_x, s_sr, sr)
    length = len(s_x) if cfg.seconds is None else int(round(cfg.seconds * sr))
    if length < 2 * cfg.n_fft:
        if cfg.seconds is not None:
            raise ConfigError("seconds", f"{cfg.seconds:.3g} s is too short for n_fft "
                              f"{cfg.n_fft}; give at least {2 * cfg.n_fft / sr:.2f} s")
        raise ReverieError(f"the style clip is {len(s_x) / sr:.3g} s, too short for n_fft "
                           f"{cfg.n_fft}; give a clip of at least {2 * cfg.n_fft / sr:.2f} s "
                           f"or a smaller n_fft")
    return _synthesise(cfg, "audio_texture", inputs, notes, s_x, None, sr, length, 0.0, "noise",
                       progress)


def _record(source) -> dict:
    """Where an input came from; an in-memory (samples, rate) pair cannot be rerun."""
    if isinstance(source, (str, os.PathLike)):
        return record_input(source)
    return {"source": None, "note": "given in memory ((samples, sample_rate))"}


def _synthesise(cfg, mechanism: str, inputs: dict, notes: list[str], s_x: np.ndarray,
                c_x: np.ndarray | None, sr: int, length: int, content_weight: float, init: str,
                progress: Progress) -> AudioResult:
    start = time.perf_counter()
    device = resolve_device(cfg.device)
    generator = torch.Generator().manual_seed(cfg.seed)  # filters, then noise, then phases

    s_spec = log_spectrogram(s_x, cfg.n_fft, cfg.hop_length)
    if s_spec.shape[1] < cfg.kernel_width:
        raise ReverieError(f"the style is {len(s_x) / sr:.2f} s, too short for filters "
                           f"{cfg.kernel_width} frames wide; give a longer style clip")
    n_bins = s_spec.shape[0]
    weights = random_filters(n_bins, cfg.n_filters, cfg.kernel_width, generator).to(device)
    pictures = {"style": s_spec}
    with torch.no_grad():
        target_gram = gram(features(s_spec.to(device), weights))
        target_content = None
        if c_x is not None:
            c_spec = log_spectrogram(c_x, cfg.n_fft, cfg.hop_length)
            if c_spec.shape[1] < cfg.kernel_width:
                raise ReverieError(f"the content is {len(c_x) / sr:.2f} s, too short for filters "
                                   f"{cfg.kernel_width} frames wide; give a longer content clip")
            pictures = {"content": c_spec, "style": s_spec}
            target_content = features(c_spec.to(device), weights)

    frames = length // cfg.hop_length + 1
    # Noise at the style's mean level per frequency. (Ulyanov starts from noise of 1e-3,
    # where ReLU features and their gradients almost vanish; torch's L-BFGS then stops.)
    noise = torch.rand(n_bins, frames, generator=generator) * 2 * s_spec.mean(1, keepdim=True)
    spec = c_spec.clone() if init == "content" and c_x is not None else noise
    spec = spec.to(device).contiguous().requires_grad_(True)
    use_content = target_content is not None and content_weight > 0
    setup = time.perf_counter() - start

    def objective():
        f = features(spec, weights)
        s_loss = (gram(f) - target_gram).pow(2).sum()
        c_loss = (f - target_content).pow(2).sum() if use_content else torch.zeros((), device=device)
        return cfg.style_weight * s_loss + content_weight * c_loss, s_loss, c_loss

    opt = torch.optim.LBFGS([spec], lr=1, max_iter=cfg.evaluations, max_eval=cfg.evaluations,
                            history_size=50, tolerance_grad=1e-12, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")
    history: list[float] = []
    first_style: list[float] = []
    total = cfg.evaluations + 1

    def closure():
        opt.zero_grad()
        loss, s_loss, _ = objective()
        loss.backward()
        if not history:
            first_style.append(float(s_loss.detach()))
        history.append(float(loss.detach()))
        progress(len(history), total, f"loss {history[-1]:.4g}")
        return loss

    opt.step(closure)
    optimise = time.perf_counter() - start - setup
    with torch.no_grad():
        _, s_loss, c_loss = objective()
    result_spec = spec.detach().clamp_min(0)
    audio = griffin_lim(result_spec, cfg.n_fft, cfg.hop_length, iters=cfg.griffin_lim_iters,
                        momentum=cfg.griffin_lim_momentum, length=length, generator=generator)
    peak = float(np.abs(audio).max())
    if peak > 0.9 or 0 < peak < 0.05:  # audible, and never clipped
        audio = audio * (0.9 / peak)
    progress(total, total, "done")
    elapsed = time.perf_counter() - start

    figures = {"seconds": length / sr, "sample_rate": sr, "style_loss": float(s_loss),
               "style_loss_initial": first_style[0] if first_style else float(s_loss),
               "content_loss": float(c_loss) if use_content else 0.0,
               "evaluations_used": len(history),
               "network": f"random conv1d: {cfg.n_filters} filters of width {cfg.kernel_width}, "
                          f"seed {cfg.seed}"}
    timings = {"setup": setup, "optimise": optimise, "griffin_lim": elapsed - setup - optimise,
               "total": elapsed}
    deterministic = device.type == "cpu"
    if not deterministic:
        notes.append(f"on {device.type}, convolution gradients may differ in the last bits from "
                     f"run to run, so a rerun can differ slightly")
    return AudioResult(audio=audio.astype(np.float32), sample_rate=sr, spectrogram=result_spec.cpu(),
                       input_spectrograms=pictures, history=history, mechanism=mechanism,
                       config=cfg, inputs=inputs, figures=figures, timings=timings, notes=notes,
                       resolved={"device": str(device), "sample_rate": sr},
                       deterministic=deterministic)
