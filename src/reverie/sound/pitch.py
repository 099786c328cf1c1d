"""Pitch of a sound: the fundamental by YIN (de Cheveigne & Kawahara 2002), implemented in
a few lines of NumPy rather than taking librosa (and its numba/soundfile/audioread stack
of dependencies) for one function, and the dominant frequency by an FFT peak. Used for the
figures of every continuation (does it keep the start's pitch?) and by WaveNet's
f0_conditioning."""
from __future__ import annotations

import numpy as np

PITCH_RANGE = (50.0, 1000.0)  # where YIN looks for a fundamental (Hz)
APERIODIC = 0.35             # YIN's d'(tau) above this: no fundamental (unvoiced, noise)
PITCH_SECONDS = 2.0          # a continuation's pitch is followed for this long
WINDOW_SECONDS = 0.25


def yin(frame: np.ndarray, rate: int, fmin: float = PITCH_RANGE[0],
        fmax: float = PITCH_RANGE[1], threshold: float = 0.1) -> tuple[float | None, float]:
    """The fundamental of `frame` by YIN (de Cheveigne & Kawahara 2002): the difference
    function (step 2, by FFT), its cumulative mean normalisation (3), the first dip under
    `threshold` followed to its minimum, else the global minimum (4), and parabolic
    interpolation on d (5). Returns (f0 in Hz, or None where the frame is aperiodic, and the
    aperiodicity d'(tau): near 0 for a steady tone, near 1 for noise)."""
    x = np.asarray(frame, np.float64)
    tau_max = min(int(rate / fmin), len(x) // 2)
    tau_min = max(2, int(rate / fmax))
    W = len(x) - tau_max
    if tau_max <= tau_min + 2 or W < tau_max or not np.any(x):
        return None, 1.0
    # d(tau) = sum_j (x_j - x_{j+tau})^2 over j < W: energies minus twice the correlation
    n = 1 << int(np.ceil(np.log2(len(x) + W)))
    corr = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(x[:W], n)), n)[:tau_max + 1]
    sq = np.concatenate([[0.0], np.cumsum(x ** 2)])
    energy = sq[np.arange(tau_max + 1) + W] - sq[np.arange(tau_max + 1)]
    d = np.maximum(sq[W] + energy - 2 * corr, 0.0)
    cmnd = np.ones_like(d)
    cmnd[1:] = d[1:] * np.arange(1, tau_max + 1) / np.maximum(np.cumsum(d[1:]), 1e-12)
    below = np.nonzero(cmnd[tau_min:tau_max] < threshold)[0]
    if len(below):
        tau = tau_min + below[0]
        while tau + 1 < tau_max and cmnd[tau + 1] < cmnd[tau]:
            tau += 1
    else:
        tau = tau_min + int(np.argmin(cmnd[tau_min:tau_max]))
    aperiodicity = float(cmnd[tau])
    if aperiodicity > APERIODIC:
        return None, aperiodicity
    # the raw difference function's parabola: d' is biased by its own normalisation
    a, b, c = d[tau - 1], d[tau], d[min(tau + 1, tau_max)]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c > 0 else 0.0
    return float(rate / (tau + np.clip(shift, -1, 1))), aperiodicity


def peak_hz(frame: np.ndarray, rate: int) -> float:
    """The dominant frequency: the loudest bin of a Hann-windowed, 4x zero-padded FFT,
    refined by a parabola through the log magnitudes around it."""
    n = 4 * len(frame)
    mag = np.log(np.abs(np.fft.rfft(frame * np.hanning(len(frame)), n)) + 1e-12)
    k = int(np.argmax(mag[1:-1])) + 1
    a, b, c = mag[k - 1], mag[k], mag[k + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
    return float((k + shift) * rate / n)


def quarters(x: np.ndarray, rate: int) -> np.ndarray:
    """x cut into whole quarter seconds (n, rate / 4); all of x if shorter than one."""
    w = max(1, int(rate * WINDOW_SECONDS))
    return x[: len(x) // w * w].reshape(-1, w) if len(x) >= w else x[None]


def pitch_figures(start: np.ndarray, made: np.ndarray, rate: int,
                  seconds: float = PITCH_SECONDS) -> dict:
    """How far the continuation's pitch wanders from the start's: the start's fundamental
    (YIN over its last second) and dominant frequency, and over the continuation's first
    `seconds` the largest departure of any quarter second's fundamental (YIN; an
    aperiodic quarter counts as lost) and dominant frequency, in percent."""
    tail = start[-rate:]
    if len(tail) < rate * WINDOW_SECONDS or not len(made):
        return {}
    f0, aperiodicity = yin(tail, rate)
    peak = peak_hz(tail, rate)
    frames = quarters(made[: int(seconds * rate)], rate)
    cont = {"peak_hz": [peak_hz(f, rate) for f in frames],
            "f0_hz": [yin(f, rate)[0] for f in frames]}
    out = {"start_f0_hz": f0, "start_peak_hz": round(peak, 2),
           "start_aperiodicity": round(aperiodicity, 4), "pitch_seconds": seconds,
           "peak_drift_percent": round(max(abs(p / peak - 1) * 100
                                           for p in cont["peak_hz"]), 2)}
    if f0 is not None:
        drift = [abs(v / f0 - 1) * 100 if v is not None else None for v in cont["f0_hz"]]
        out["f0_drift_percent"] = (None if None in drift else round(max(drift), 2))
        out["f0_lost_quarters"] = drift.count(None)
    return out
