"""Synthetic sounds to try the audio mechanisms on (nothing ships as a recording): a
plucked melody and rain on a roof. The gallery and the benchmarks use them."""
from __future__ import annotations

import numpy as np


def melody(seconds: float, sr: int = 22050) -> np.ndarray:
    """A plucked arpeggio (A minor): tones with harmonics and decaying envelopes."""
    notes = [220.0, 261.63, 329.63, 440.0, 329.63, 261.63]
    step = 0.4
    t = np.arange(int(sr * seconds)) / sr
    x = np.zeros_like(t)
    for i, start in enumerate(np.arange(0, seconds, step)):
        f = notes[i % len(notes)]
        local = t - start
        env = np.where(local >= 0, np.exp(-local * 5), 0)
        x += env * sum(np.sin(2 * np.pi * f * k * t) / k for k in (1, 2, 3))
    return (0.4 * x / np.abs(x).max()).astype(np.float32)


def rain(seconds: float, sr: int = 22050, seed: int = 0) -> np.ndarray:
    """Band-passed hiss with random droplet clicks and a slow swell: rain on a roof."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spectrum *= np.exp(-((np.log(freqs + 1) - np.log(3000)) ** 2) / 0.8)
    hiss = np.fft.irfft(spectrum, n)
    hiss /= np.abs(hiss).max()
    drops = np.zeros(n)
    for pos in rng.integers(0, n - 400, int(seconds * 25)):
        k = np.arange(400)
        drops[pos:pos + 400] += (rng.uniform(0.3, 1) * np.exp(-k / 60)
                                 * np.sin(2 * np.pi * rng.uniform(1500, 5000) * k / sr))
    t = np.arange(n) / sr
    x = hiss * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)) + 0.5 * drops
    return (0.4 * x / np.abs(x).max()).astype(np.float32)
