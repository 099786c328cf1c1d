"""Sound in and out: mono float32 samples and a sample rate.

- `load_audio(path)`: a WAV/FLAC/OGG file to (samples, rate), refusing what cannot be used
  (missing, not audio, damaged, empty, silent, too long, shorter than one STFT frame)
  with one line that says what to do.
- `as_audio(source)`: a path or an in-memory (samples, rate) pair, checked the same way.
- `save_audio(x, rate, path)`: written atomically; the format follows the suffix.
- `resample(x, from, to)`: polyphase resampling (scipy).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from reverie.core.errors import ReverieError
from reverie.io.files import atomic_path

SUFFIXES = (".wav", ".flac", ".ogg")


def load_audio(path: str | os.PathLike, max_seconds: float = 120.0, min_samples: int = 2048,
               notes: list[str] | None = None) -> tuple[np.ndarray, int]:
    """A WAV/FLAC/OGG file as mono float32 samples and its sample rate, or a ReverieError.
    Several channels are mixed to mono (and a note says so)."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"{path} is a folder; give a WAV or FLAC file" if path.is_dir()
                           else f"audio file not found: {path}; check the path")
    try:
        info = sf.info(str(path))
    except Exception:
        raise ReverieError(f"{path} is not audio soundfile can read; give a WAV, FLAC or OGG "
                           f"file") from None
    if info.frames == 0 or info.samplerate <= 0:
        raise ReverieError(f"{path} holds no samples; give a non-empty recording")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise ReverieError(f"{path} is {seconds:.1f} s long, over the {max_seconds:g} s limit "
                           f"(max_seconds); cut it shorter first (e.g. ffmpeg -t {max_seconds:g})")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ReverieError(f"{path} is damaged or truncated ({exc}); re-export it") from None
    if data.shape[1] > 1 and notes is not None:
        notes.append(f"{path.name}: {data.shape[1]} channels mixed to mono")
    return _checked(data.mean(1), int(rate), str(path), min_samples), int(rate)


def as_audio(source, max_seconds: float = 120.0, min_samples: int = 2048,
             notes: list[str] | None = None) -> tuple[np.ndarray, int]:
    """(samples, rate) from a path or an in-memory (samples, rate) pair (numpy or torch,
    mono or (samples, channels) / (channels, samples))."""
    if isinstance(source, (str, os.PathLike)):
        return load_audio(source, max_seconds, min_samples, notes)
    if not (isinstance(source, (tuple, list)) and len(source) == 2):
        raise ReverieError(f"give audio as a file path or a (samples, sample_rate) pair, not "
                           f"{type(source).__name__}")
    x, rate = source
    x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float32)
    if x.ndim == 2:  # channels are the shorter side
        x = x.mean(1) if x.shape[1] < x.shape[0] else x.mean(0)
    if x.ndim != 1:
        raise ReverieError(f"audio samples must be 1-D (or 2-D with channels), got shape {x.shape}")
    if int(rate) <= 0:
        raise ReverieError(f"sample rate must be positive, got {rate}")
    if len(x) / int(rate) > max_seconds:
        raise ReverieError(f"the audio is {len(x) / int(rate):.1f} s long, over the "
                           f"{max_seconds:g} s limit (max_seconds); give a shorter clip")
    return _checked(x, int(rate), "the audio", min_samples), int(rate)


def _checked(x: np.ndarray, rate: int, name: str, min_samples: int) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ReverieError(f"{name} contains NaN or infinite samples; re-export it")
    if len(x) < min_samples:
        raise ReverieError(f"{name} has {len(x)} samples, fewer than one {min_samples}-sample "
                           f"STFT frame; give at least {min_samples / rate:.2f} s of sound")
    if np.abs(x).max() < 1e-5:
        raise ReverieError(f"{name} is silent; give a recording with sound in it")
    return x


def resample(x: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    """Polyphase resampling; the same array when the rates agree."""
    if rate_from == rate_to:
        return x
    from scipy.signal import resample_poly
    g = math.gcd(rate_from, rate_to)
    return resample_poly(x, rate_to // g, rate_from // g).astype(np.float32)


def save_audio(x, sample_rate: int, path: str | os.PathLike) -> Path:
    """Write mono samples atomically (16-bit for WAV and FLAC); the suffix picks the format.
    Samples are clipped to [-1, 1] so nothing wraps around."""
    import soundfile as sf

    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ReverieError(f"cannot write audio as {path.suffix or 'a file without a suffix'}; "
                           f"use {', '.join(SUFFIXES)}")
    x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float32)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(x, -1.0, 1.0), int(sample_rate))
    return path
