"""Style transfer and texture synthesis for sound (Ulyanov and Lebedev 2016).

The log-magnitude spectrogram, log(1 + |STFT|), is treated as a 1-D signal in time whose
channels are the 1025 frequency bins. One convolution layer of random filters (width 11,
4096 of them in the original, ReLU) turns it into features; their Gram matrix over time is
the style, the features themselves the content. L-BFGS optimises a spectrogram, and
Griffin-Lim (the fast variant with momentum, Perraudin et al. 2013) recovers a phase so it
can be heard.

    result = audio_style("speech.wav", "rain.wav")
    save_audio(result.audio, result.sample_rate, "out.wav")

Defaults follow DmitryUlyanov/neural-style-audio-tf (N_FFT 2048, hop 512, 4096 filters of
width 11, He-style weight scale, content weight ALPHA = 1e-2, L-BFGS), except the filter
count and iteration count, which are set for a 10 s clip to finish in a minute on a CPU
(see bench/audio_style.py for what that costs in style loss).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent

# -- configuration -----------------------------------------------------------------------------


@dataclass
class AudioStyleConfig:
    n_fft: int = 2048
    hop_length: int = 512
    n_filters: int = 4096          # Ulyanov's 4096
    kernel_width: int = 11         # frames
    content_weight: float = 1e-2   # Ulyanov's ALPHA; 0 makes a texture
    style_weight: float = 1.0
    iterations: int = 50           # L-BFGS function evaluations (Ulyanov: 300 iterations)
    init: str = "noise"            # noise | content
    griffin_lim_iters: int = 50
    griffin_lim_momentum: float = 0.99
    sample_rate: int | None = None # None: the content's (or the style's, for a texture)
    max_seconds: float = 120.0     # longer inputs are refused


@dataclass
class AudioResult:
    audio: np.ndarray              # (samples,) float32 in [-1, 1]
    sample_rate: int
    spectrogram: torch.Tensor      # (bins, frames) log(1 + |STFT|) that was optimised
    losses: dict[str, float]
    timings: dict[str, float]
    config: AudioStyleConfig
    notes: list[str] = field(default_factory=list)
    history: list[float] = field(default_factory=list)

    def record(self) -> dict:
        return {"config": asdict(self.config), "sample_rate": self.sample_rate,
                "seconds": round(len(self.audio) / self.sample_rate, 3), "losses": self.losses,
                "timings": self.timings, "notes": self.notes, "loss_history": self.history[::5]}


# -- reading and writing sound -----------------------------------------------------------------

def load_audio(path: str | Path, max_seconds: float = 120.0, min_samples: int = 2048,
               notes: list[str] | None = None) -> tuple[np.ndarray, int]:
    """A WAV/FLAC/OGG file to mono float32 samples and its sample rate, or a ReverieError."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"audio file not found: {path}; check the path" if not path.is_dir()
                           else f"{path} is a folder; give a WAV or FLAC file")
    try:
        info = sf.info(str(path))
    except Exception:
        raise ReverieError(f"{path} is not audio soundfile can read; give a WAV, FLAC or OGG file") from None
    if info.frames == 0 or info.samplerate <= 0:
        raise ReverieError(f"{path} holds no samples; give a non-empty recording")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise ReverieError(f"{path} is {seconds:.0f} s long, over the {max_seconds:.0f} s limit; "
                           f"cut it shorter first (e.g. ffmpeg -t {max_seconds:.0f})")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ReverieError(f"{path} is damaged or truncated ({exc}); re-export it") from None
    if data.shape[1] > 1:
        if notes is not None:
            notes.append(f"{path.name}: {data.shape[1]} channels mixed to mono")
        data = data.mean(1, keepdims=True)
    x = np.ascontiguousarray(data[:, 0])
    if not np.all(np.isfinite(x)):
        raise ReverieError(f"{path} contains NaN or infinite samples; re-export it")
    if len(x) < min_samples:
        raise ReverieError(f"{path} has {len(x)} samples, fewer than one {min_samples}-sample STFT "
                           f"frame; give at least {min_samples / sr:.2f} s of sound")
    if np.abs(x).max() < 1e-5:
        raise ReverieError(f"{path} is silent; give a recording with sound in it")
    return x, int(sr)


def resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    if sr_from == sr_to:
        return x
    from scipy.signal import resample_poly
    g = math.gcd(sr_from, sr_to)
    return resample_poly(x, sr_to // g, sr_from // g).astype(np.float32)


def save_audio(x: np.ndarray, sample_rate: int, path: str | Path) -> Path:
    """Write atomically; the format follows the suffix (.wav, .flac, .ogg)."""
    import soundfile as sf
    from reverie.io.images import atomic_path

    path = Path(path)
    if path.suffix.lower() not in (".wav", ".flac", ".ogg"):
        raise ReverieError(f"cannot write audio with suffix {path.suffix!r}; use .wav, .flac or .ogg")
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.asarray(x, dtype=np.float32), sample_rate)
    return path


# -- spectrograms ------------------------------------------------------------------------------

def _window(config: AudioStyleConfig) -> torch.Tensor:
    return torch.hann_window(config.n_fft)


def stft(x: torch.Tensor, config: AudioStyleConfig) -> torch.Tensor:
    return torch.stft(x, config.n_fft, config.hop_length, window=_window(config), center=True,
                      return_complex=True)


def log_spectrogram(x: np.ndarray | torch.Tensor, config: AudioStyleConfig) -> torch.Tensor:
    """(samples,) -> (n_fft/2 + 1, frames): log(1 + |STFT|), Ulyanov's representation."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    return torch.log1p(stft(x, config).abs())


def griffin_lim(log_spec: torch.Tensor, config: AudioStyleConfig, length: int | None = None,
                seed: int = 0) -> np.ndarray:
    """A waveform whose STFT magnitude is exp(log_spec) - 1: fast Griffin-Lim (momentum)."""
    mag = torch.expm1(log_spec.detach().float().cpu()).clamp_min(0)
    gen = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * math.pi * torch.rand(mag.shape, generator=gen))
    window = _window(config)
    prev = torch.zeros_like(angles)
    for _ in range(config.griffin_lim_iters):
        x = torch.istft(mag * angles, config.n_fft, config.hop_length, window=window, length=length)
        rebuilt = torch.stft(x, config.n_fft, config.hop_length, window=window, return_complex=True)
        accel = rebuilt - (config.griffin_lim_momentum / (1 + config.griffin_lim_momentum)) * prev
        prev = rebuilt
        angles = accel / accel.abs().clamp_min(1e-8)
    x = torch.istft(mag * angles, config.n_fft, config.hop_length, window=window, length=length)
    return x.numpy().astype(np.float32)


# -- the random network and its statistics -----------------------------------------------------

def random_filters(n_bins: int, config: AudioStyleConfig, seed: int = 0) -> torch.Tensor:
    """Ulyanov's layer: normal weights, std sqrt(2) * sqrt(2 / ((bins + filters) * width))."""
    gen = torch.Generator().manual_seed(seed)
    std = math.sqrt(2) * math.sqrt(2.0 / ((n_bins + config.n_filters) * config.kernel_width))
    return torch.randn(config.n_filters, n_bins, config.kernel_width, generator=gen) * std


def features(spec: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(bins, frames) -> (filters, frames - width + 1): one conv layer, ReLU."""
    return F.relu(F.conv1d(spec[None], weights))[0]


def gram(f: torch.Tensor) -> torch.Tensor:
    return f @ f.T / f.shape[1]


def style_loss(spec: torch.Tensor, target_gram: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Ulyanov's style loss: the summed squared difference of Gram matrices."""
    return (gram(features(spec, weights)) - target_gram).pow(2).sum()


# -- the optimisation --------------------------------------------------------------------------

def audio_style(content, style, config: AudioStyleConfig | None = None, *, seconds: float | None = None,
                seed: int = 0, progress: Progress = silent, **overrides) -> AudioResult:
    """Sound with `content`'s features and `style`'s Gram statistics.

    `content` and `style` are paths or (samples, sample_rate) pairs; `content=None` makes a
    texture of `seconds` seconds (default: the style's length)."""
    start = time.perf_counter()
    config = replace(config or AudioStyleConfig(), **overrides)
    if config.n_filters < 1 or config.kernel_width < 1 or config.iterations < 1:
        raise ReverieError("n_filters, kernel_width and iterations must be at least 1")
    notes: list[str] = []
    s_x, s_sr = _read(style, config, notes)
    if content is not None:
        c_x, c_sr = _read(content, config, notes)
        sr = config.sample_rate or c_sr
        c_x = resample(c_x, c_sr, sr)
    else:
        c_x, sr = None, config.sample_rate or s_sr
    if s_sr != sr:
        notes.append(f"style resampled from {s_sr} Hz to {sr} Hz")
    s_x = resample(s_x, s_sr, sr)

    torch.manual_seed(seed)
    s_spec = log_spectrogram(s_x, config)
    n_bins = s_spec.shape[0]
    if s_spec.shape[1] < config.kernel_width:
        raise ReverieError(f"the style is {len(s_x) / sr:.2f} s, too short for the "
                           f"{config.kernel_width}-frame filters; give a longer style clip")
    weights = random_filters(n_bins, config, seed)
    with torch.no_grad():
        target_gram = gram(features(s_spec, weights))
        if c_x is not None:
            c_spec = log_spectrogram(c_x, config)
            if c_spec.shape[1] < config.kernel_width:
                raise ReverieError(f"the content is {len(c_x) / sr:.2f} s, too short for the "
                                   f"{config.kernel_width}-frame filters; give a longer clip")
            target_content = features(c_spec, weights)
            length = len(c_x)
        else:
            seconds = seconds if seconds is not None else len(s_x) / sr
            if not 0 < seconds <= config.max_seconds:
                raise ReverieError(f"seconds must be above 0 and at most {config.max_seconds:.0f}")
            length = int(round(seconds * sr))
            if length < config.n_fft * 2:
                raise ReverieError(f"{seconds} s is too short; give at least {config.n_fft * 2 / sr:.2f} s")
            target_content = None
    frames = length // config.hop_length + 1
    gen = torch.Generator().manual_seed(seed)
    if config.init == "content" and c_x is not None:
        spec = c_spec.clone()
    elif config.init in ("noise", "content"):
        # Noise at the style's mean level per frequency. (Ulyanov starts from noise of 1e-3,
        # where ReLU features and their gradients almost vanish; torch's L-BFGS then stops.)
        spec = torch.rand(n_bins, frames, generator=gen) * 2 * s_spec.mean(1, keepdim=True)
    else:
        raise ReverieError(f"unknown init {config.init!r}; choose noise or content")
    spec = spec.contiguous().requires_grad_(True)
    use_content = target_content is not None and config.content_weight > 0
    setup_s = time.perf_counter() - start

    def objective():
        f = features(spec, weights)
        s_loss = (gram(f) - target_gram).pow(2).sum()
        c_loss = (f - target_content).pow(2).sum() if use_content else torch.zeros(())
        return config.style_weight * s_loss + config.content_weight * c_loss, s_loss, c_loss

    opt = torch.optim.LBFGS([spec], lr=1, max_iter=config.iterations, max_eval=config.iterations,
                            history_size=50, tolerance_grad=1e-12, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")
    history: list[float] = []
    first_style: list[float] = []

    def closure():
        opt.zero_grad()
        loss, s_loss, _ = objective()
        loss.backward()
        if not history:
            first_style.append(float(s_loss.detach()))
        history.append(float(loss.detach()))
        progress(len(history), config.iterations + 1, f"loss {history[-1]:.4g}")
        return loss

    opt.step(closure)
    optimise_s = time.perf_counter() - start - setup_s
    with torch.no_grad():
        _, s_loss, c_loss = objective()
    result_spec = spec.detach().clamp_min(0)
    audio = griffin_lim(result_spec, config, length=length, seed=seed)
    peak = float(np.abs(audio).max())
    if peak > 0:
        audio = audio * (0.9 / peak) if peak > 0.9 or peak < 0.05 else audio
    progress(config.iterations + 1, config.iterations + 1, "done")
    losses = {"style": float(s_loss), "content": float(c_loss) if use_content else 0.0,
              "style_initial": first_style[0] if first_style else float(s_loss)}
    timings = {"setup_s": round(setup_s, 3), "optimise_s": round(optimise_s, 3),
               "griffin_lim_s": round(time.perf_counter() - start - setup_s - optimise_s, 3),
               "total_s": round(time.perf_counter() - start, 3)}
    return AudioResult(audio.astype(np.float32), sr, result_spec, losses, timings,
                       replace(config, sample_rate=sr), notes, history)


def audio_texture(style, seconds: float | None = None, config: AudioStyleConfig | None = None,
                  **kwargs) -> AudioResult:
    """Sound texture (style only, from noise) of `seconds` seconds."""
    return audio_style(None, style, config, seconds=seconds, **kwargs)


def _read(source, config, notes) -> tuple[np.ndarray, int]:
    if isinstance(source, tuple):
        x, sr = source
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 2:
            x = x.mean(1) if x.shape[1] < x.shape[0] else x.mean(0)
        if len(x) < config.n_fft:
            raise ReverieError(f"audio of {len(x)} samples is shorter than one STFT frame ({config.n_fft})")
        if np.abs(x).max() < 1e-5:
            raise ReverieError("the audio is silent; give a recording with sound in it")
        return x, int(sr)
    return load_audio(source, config.max_seconds, config.n_fft, notes)


# -- measures and pictures ---------------------------------------------------------------------

def spectral_centroid(x: np.ndarray, sr: int, n_fft: int = 2048) -> float:
    """Magnitude-weighted mean frequency in Hz over the whole clip."""
    cfg = AudioStyleConfig(n_fft=n_fft, hop_length=n_fft // 4)
    mag = stft(torch.as_tensor(np.asarray(x, dtype=np.float32)), cfg).abs().sum(1).numpy()
    freqs = np.linspace(0, sr / 2, len(mag))
    return float((mag * freqs).sum() / max(mag.sum(), 1e-12))


def dominant_frequency(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sr / len(x))


def save_spectrogram_png(log_spec: torch.Tensor | np.ndarray, sample_rate: int, path: str | Path,
                         title: str = "", hop_length: int = 512) -> Path:
    """A picture of a log spectrogram (time across, frequency up), written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from reverie.io.images import atomic_path

    s = np.asarray(log_spec.detach().cpu() if isinstance(log_spec, torch.Tensor) else log_spec)
    seconds = s.shape[1] * hop_length / sample_rate
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.imshow(s, origin="lower", aspect="auto", cmap="magma",
              extent=[0, seconds, 0, sample_rate / 2000])
    ax.set_xlabel("seconds")
    ax.set_ylabel("kHz")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)
