"""Spectrograms and back: the STFT, Ulyanov's log(1 + |STFT|), fast Griffin-Lim to hear a
magnitude again, two measures of where a sound's energy lies, and a picture of it."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch


def _tensor(x) -> torch.Tensor:
    return x.float() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float32))


def stft(x: torch.Tensor, n_fft: int = 2048, hop_length: int = 512) -> torch.Tensor:
    """(samples,) -> complex (n_fft/2 + 1, frames), Hann window, centred frames."""
    window = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, hop_length, window=window, center=True, return_complex=True)


def log_spectrogram(x, n_fft: int = 2048, hop_length: int = 512) -> torch.Tensor:
    """(samples,) -> (n_fft/2 + 1, frames): log(1 + |STFT|), Ulyanov's representation."""
    return torch.log1p(stft(_tensor(x), n_fft, hop_length).abs())


def griffin_lim(log_spec: torch.Tensor, n_fft: int = 2048, hop_length: int = 512, *,
                iters: int = 50, momentum: float = 0.99, length: int | None = None,
                generator: torch.Generator | None = None) -> np.ndarray:
    """A waveform whose STFT magnitude is exp(log_spec) - 1: fast Griffin-Lim (Perraudin,
    Balazs and Søndergaard 2013: the projection with momentum), from random phases."""
    mag = torch.expm1(log_spec.detach().float()).clamp_min(0)
    phase = torch.rand(mag.shape, generator=generator).to(mag.device)  # drawn on the CPU: seeded
    angles = torch.exp(2j * math.pi * phase)
    window = torch.hann_window(n_fft, device=mag.device)
    prev = torch.zeros_like(angles)
    for _ in range(iters):
        x = torch.istft(mag * angles, n_fft, hop_length, window=window, length=length)
        rebuilt = torch.stft(x, n_fft, hop_length, window=window, return_complex=True)
        accel = rebuilt - (momentum / (1 + momentum)) * prev
        prev = rebuilt
        angles = accel / accel.abs().clamp_min(1e-8)
    x = torch.istft(mag * angles, n_fft, hop_length, window=window, length=length)
    return x.cpu().numpy().astype(np.float32)


# -- where the energy lies ---------------------------------------------------------------------

def spectral_centroid(x, sample_rate: int, n_fft: int = 2048) -> float:
    """Magnitude-weighted mean frequency in Hz over the whole clip."""
    mag = stft(_tensor(x), n_fft, n_fft // 4).abs().sum(1).cpu().numpy()
    freqs = np.linspace(0, sample_rate / 2, len(mag))
    return float((mag * freqs).sum() / max(mag.sum(), 1e-12))


def dominant_frequency(x, sample_rate: int) -> float:
    """The loudest frequency in Hz (one windowed FFT of the whole clip)."""
    x = np.asarray(x, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sample_rate / len(x))


# -- a picture ---------------------------------------------------------------------------------

def save_spectrogram_png(log_spec, sample_rate: int, path: str | os.PathLike, title: str = "",
                         hop_length: int = 512) -> Path:
    """A log spectrogram drawn with time across and frequency up, written atomically."""
    from reverie.io.figures import new_figure, save_figure

    s = np.asarray(log_spec.detach().cpu() if isinstance(log_spec, torch.Tensor) else log_spec)
    seconds = s.shape[1] * hop_length / sample_rate
    fig, ax = new_figure(6, 3)
    ax.imshow(s, origin="lower", aspect="auto", cmap="magma",
              extent=[0, seconds, 0, sample_rate / 2000])
    ax.set_xlabel("seconds")
    ax.set_ylabel("kHz")
    if title:
        ax.set_title(title)
    return save_figure(fig, path, dpi=100)
