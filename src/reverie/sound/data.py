"""Sound to train on and to start from: clips of mono float32 samples at one rate.

- `builtin:chorale-audio`: Bach chorales (music21's) rendered through the General MIDI
  soundfont pretty_midi ships (FluidSynth, choir), split by chorale as the music models
  split them (`chorales.split_chorales`), so held-out clips are chorales never trained on.
  Rendered once per sample rate and cached as int16 .npz in the user cache.
- `builtin:speech`: sentences from tiny-shakespeare spoken by espeak-ng (Debian's
  `espeak-ng`), cached the same way.
- A folder (read recursively) or files of WAV/FLAC/OGG, resampled to the model's rate.

Also mu-law companding (ITU-T G.711, as WaveNet quantises), which the model works in.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reverie.core.errors import ReverieError
from reverie.io.audio import SUFFIXES, load_audio, resample
from reverie.music.chorales import name_bucket

BUILTINS = ("chorale-audio", "speech")
CACHE_VERSION = 1
# How many chorales the built-in set renders: enough sound for a 20-minute CPU run (about
# 45 minutes of training audio) without a large cache.
CHORALES = {"train": 48, "valid": 8, "test": 10}
SPEECH_SENTENCES = {"train": 240, "valid": 24, "test": 24}
# Context kept before each held-out tail of a set too small to hold files out: more than
# any receptive field the knobs make at 8 kHz (WaveNet's default 0.26 s).
TAIL_CONTEXT_SECONDS = 2.0


# ---------------------------------------------------------------------------------------
# mu-law: 8 bits that spend their levels where the ear needs them
# ---------------------------------------------------------------------------------------

def mu_law_encode(x: np.ndarray, channels: int = 256) -> np.ndarray:
    """Samples in [-1, 1] -> integers 0..channels-1 (WaveNet eq. 2, then uniform bins)."""
    mu = channels - 1
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.clip(np.floor((y + 1) / 2 * mu + 0.5), 0, mu).astype(np.int64)


def mu_law_decode(q: np.ndarray, channels: int = 256) -> np.ndarray:
    """Integers 0..channels-1 -> samples in [-1, 1] (the centre of each bin)."""
    mu = channels - 1
    y = 2 * (np.asarray(q, dtype=np.float64) / mu) - 1
    return (np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu).astype(np.float32)


def dequantise(q):
    """mu-law levels (a tensor) as a frame tier's input, in [-2, 2] (SampleRNN's
    linear_dequantize)."""
    return q.float() / (256 / 2) * 2 - 2


@functools.lru_cache(maxsize=4)
def level_log_widths(channels: int = 256) -> np.ndarray:
    """log of the width in amplitude of each mu-law level's bin (narrow near zero, wide near
    full scale): what turns a level's probability into the amplitude's density. Cached (read
    only): SampleRNN's sampler asks for it at every sample."""
    mu = channels - 1
    y = np.clip((2 * np.arange(channels + 1) - 1) / mu - 1, -1, 1)   # bin edges, companded
    x = np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu
    out = np.log(np.diff(x)).astype(np.float32)
    out.flags.writeable = False
    return out


def density_logit(logit, logw, temperature):
    """A level's logit after tempering the amplitude's density p / w instead of the levels'
    probabilities p: log(w (p / w) ** (1 / T)); at T 0 the density's own log, for its
    argmax. Tempering the levels favours the wide bins far from zero, so the amplitude
    hardly narrows and a continuation sampled below temperature 1 can grow louder."""
    if temperature <= 0:
        return logit - logw
    return logit / temperature + (1.0 - 1.0 / temperature) * logw


def random_segments(clips: list[np.ndarray], length: int, n: int, gen,
                    semitones: float = 0.0) -> np.ndarray:
    """n random segments of `length` samples, (n, length): clips picked in proportion to
    the places a segment can start in them; a clip too short is padded with silence in
    front. With `semitones`, each segment is played faster or slower by a random factor
    of up to that many semitones (linear interpolation), so pitches between the
    recordings' are heard too. `gen` is the run's torch.Generator."""
    import torch
    factors = [1.0] * n
    if semitones > 0:
        u = torch.rand(n, generator=gen, dtype=torch.float64).numpy() * 2 - 1
        factors = list(2.0 ** (u * semitones / 12))
    need = [int(np.ceil((length - 1) * f)) + 1 for f in factors]
    sizes = torch.tensor([max(0, len(c) - max(need)) + 1 for c in clips], dtype=torch.float64)
    rows = []
    picks = torch.multinomial(sizes, n, replacement=True, generator=gen).tolist()
    for i, f, m in zip(picks, factors, need):
        c = clips[i]
        if len(c) < m:
            c = np.concatenate([np.zeros(m - len(c), np.float32), c])
        start = int(torch.randint(0, len(c) - m + 1, (1,), generator=gen))
        piece = c[start:start + m]
        rows.append(piece if m == length else
                    np.interp(np.arange(length) * f, np.arange(m), piece))
    return np.stack(rows).astype(np.float32)


def held_out_segments(clips: list[np.ndarray], held_from: list[int], context: int,
                      targets: int, n: int, gen) -> tuple[np.ndarray, np.ndarray]:
    """n segments of `context + targets` samples for scoring held-out sound, and a
    (n, targets) mask of the targets that count: held-out samples (clip i's from
    held_from[i] on; before it is context only) whose `context` samples before them are
    all real sound of the clip, as every target of training is. Padding, in front where a
    clip is too short for one full context and behind where it ends within a segment, is
    never scored; only a clip too short for any full context is scored after silence (as
    training pads such clips). `gen` is a torch.Generator, so the draw is fixed by it."""
    import torch
    firsts, weights = [], []
    for x, h in zip(clips, held_from):
        lo = max(h, context)
        lo = lo if lo < len(x) else min(h, len(x) - 1)      # too short: scored after padding
        firsts.append(lo)
        weights.append(max(1, len(x) - lo))
    segs = np.zeros((n, context + targets), np.float32)
    mask = np.zeros((n, targets), bool)
    picks = torch.multinomial(torch.tensor(weights, dtype=torch.float64), n, replacement=True,
                              generator=gen).tolist()
    for row, i in enumerate(picks):
        x, lo, h = clips[i], firsts[i], held_from[i]
        a = lo + int(torch.randint(0, max(1, len(x) - targets - lo + 1), (1,), generator=gen))
        s, e = max(0, a - context), min(len(x), a + targets)
        segs[row, s - (a - context): e - (a - context)] = x[s:e]
        t = a + np.arange(targets)
        mask[row] = (t < len(x)) & (t >= h) & ((t - context >= 0) | (lo < context))
    return segs, mask


# ---------------------------------------------------------------------------------------
# Clip sets
# ---------------------------------------------------------------------------------------

@dataclass
class Clips:
    """Named clips at one rate, split by clip: train, valid (validation during training)
    and test (kept for benchmarks; never trained on). `valid_context[i]` samples at the
    start of valid clip i are context only (the sound before a held-out tail, from the
    training part of the same file): read before the held-out sound, never scored."""
    rate: int
    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray] = field(default_factory=list)
    names: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""
    notes: list[str] = field(default_factory=list)
    valid_context: list[int] = field(default_factory=list)

    def held_from(self, part: str = "valid") -> list[int]:
        """Where each clip's held-out sound begins (0 but for tails of training files)."""
        clips = getattr(self, part)
        if part != "valid" or not self.valid_context:
            return [0] * len(clips)
        return list(self.valid_context)

    def held_out(self, part: str = "valid") -> list[np.ndarray]:
        """The clips without their context: the held-out sound alone."""
        return [c[h:] for c, h in zip(getattr(self, part), self.held_from(part))]

    def seconds(self, part: str = "train") -> float:
        return sum(len(c) for c in self.held_out(part)) / self.rate


def _split(named: list[tuple[str, np.ndarray]], rate: int, source: str,
           notes: list[str]) -> Clips:
    """By a hash of each name (10% valid, 10% test), so adding files moves none. A set too
    small to split keeps its last tenth of sound for validation (`tail_split`)."""
    parts: dict[str, list] = {"train": [], "valid": [], "test": []}
    for name, x in named:
        u = name_bucket(name)
        parts["test" if u < 0.1 else "valid" if u < 0.2 else "train"].append((name, x))
    if not parts["train"] or not parts["valid"]:
        return tail_split(named, rate, source, notes)
    return Clips(rate, *([x for _, x in parts[p]] for p in ("train", "valid", "test")),
                 names={p: [n for n, _ in v] for p, v in parts.items()}, source=source,
                 notes=notes)


def tail_split(named: list[tuple[str, np.ndarray]], rate: int, source: str = "",
               notes: list[str] | None = None) -> Clips:
    """The first nine tenths of every clip to train on, the last tenth held out, each tail
    with up to TAIL_CONTEXT_SECONDS of the sound before it as context (read, never
    scored), so a held-out tail is heard as training hears sound: after sound, not after
    silence."""
    notes = list(notes or [])
    train, valid, context, names = [], [], [], {"train": [], "valid": [], "test": []}
    for name, x in named:
        cut = int(len(x) * 0.9)
        before = min(cut, int(TAIL_CONTEXT_SECONDS * rate))
        train.append(x[:cut])
        valid.append(x[cut - before:])
        context.append(before)
        names["train"].append(name)
        names["valid"].append(name + "@90%")
    notes.append("too few files to hold some out: the last tenth of each is the "
                 "validation sound")
    return Clips(rate, train, valid, [], names, source, notes, valid_context=context)


def read_folder(sources, rate: int) -> Clips:
    """Files and folders of WAV/FLAC/OGG as clips at `rate` (mixed to mono, resampled)."""
    files: list[Path] = []
    for src in sources:
        p = Path(os.fspath(src))
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES)
            if not found:
                raise ReverieError(f"{p} holds no WAV, FLAC or OGG files; give a folder of "
                                   f"recordings or builtin:chorale-audio")
            files += found
        else:
            files.append(p)
    notes: list[str] = []
    named, rates = [], set()
    for f in files:
        x, r = load_audio(f, max_seconds=3600.0, min_samples=256, notes=notes)
        rates.add(r)
        named.append((f.name, resample(x, r, rate)))
    if rates - {rate}:
        notes.append(f"resampled from {', '.join(f'{r} Hz' for r in sorted(rates - {rate}))} "
                     f"to the model's {rate} Hz")
    return _split(named, rate, ", ".join(os.fspath(s) for s in sources), notes)


def load_clips(corpus, rate: int, progress=None) -> Clips:
    """builtin:chorale-audio, builtin:speech, or files/folders of sound, at `rate`."""
    sources = [s for s in (corpus if isinstance(corpus, (list, tuple)) else [corpus])
               if s is not None]
    if not sources:
        raise ReverieError("no sound to train on; give builtin:chorale-audio, "
                           "builtin:speech or a folder of WAV/FLAC/OGG files")
    builtin = [os.fspath(s) for s in sources if os.fspath(s).startswith("builtin:")]
    if builtin:
        if len(sources) > 1:
            raise ReverieError("give one built-in set alone, or your own files and folders")
        name = builtin[0].split(":", 1)[1]
        if name not in BUILTINS:
            raise ReverieError(f"unknown sound set {builtin[0]}; the built-in ones are "
                               + ", ".join(f"builtin:{b}" for b in BUILTINS))
        return builtin_clips(name, rate, progress)
    return read_folder(sources, rate)


# ---------------------------------------------------------------------------------------
# Built-in sets, rendered offline and cached
# ---------------------------------------------------------------------------------------

def builtin_clips(name: str, rate: int, progress=None, counts: dict | None = None) -> Clips:
    from reverie.music.chorales import cache_dir
    from reverie.music.score import SINE_ENGINE, fluidsynth_loads
    counts = counts or (CHORALES if name == "chorale-audio" else SPEECH_SENTENCES)
    tag = "-".join(str(counts[p]) for p in ("train", "valid", "test"))
    path = cache_dir() / "sound" / f"{name}-{rate}hz-{tag}-v{CACHE_VERSION}.npz"
    if path.exists():
        try:
            # chorales sung by sines because FluidSynth was missing then are sung again
            # by the choir once it loads: they are not the sound the zoo's model learned
            if not (_cached_engine(path) == SINE_ENGINE and fluidsynth_loads()):
                return _load_cache(path, rate, f"builtin:{name}")
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is made again
    make = _render_chorales if name == "chorale-audio" else _speak_sentences
    parts, names, engine = make(rate, counts, progress)
    _save_cache(path, parts, names, engine)
    # read back: the first run hears the same 16-bit sound as every later one
    return _load_cache(path, rate, f"builtin:{name}")


def _save_cache(path: Path, parts: dict, names: dict, engine: str) -> None:
    from reverie.io.files import atomic_path
    arrays = {}
    for p, clips in parts.items():
        arrays[f"{p}_audio"] = (np.concatenate(clips) * 32767).astype(np.int16) if clips \
            else np.zeros(0, np.int16)
        arrays[f"{p}_lengths"] = np.array([len(c) for c in clips], np.int64)
        arrays[f"{p}_names"] = np.array(names[p], dtype=str)
    arrays["engine"] = np.array(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def _cached_engine(path: Path) -> str:
    """Which synthesiser made a cache (read alone: the audio stays on disk)."""
    with np.load(path, allow_pickle=False) as z:
        return str(z["engine"])


def _load_cache(path: Path, rate: int, source: str) -> Clips:
    with np.load(path, allow_pickle=False) as z:
        parts, names = {}, {}
        for p in ("train", "valid", "test"):
            audio = z[f"{p}_audio"].astype(np.float32) / 32767
            bounds = np.cumsum(z[f"{p}_lengths"])[:-1]
            parts[p] = [c for c in np.split(audio, bounds) if len(c)] if len(audio) else []
            names[p] = [str(n) for n in z[f"{p}_names"]]
        engine = str(z["engine"])
    return Clips(rate, parts["train"], parts["valid"], parts["test"], names, source,
                 [f"made with {engine}"])


def _render_chorales(rate: int, counts: dict, progress) -> tuple[dict, dict, str]:
    from reverie.music import chorales as ch
    from reverie.music.score import render_audio
    train, valid, test = ch.split_chorales(ch.load_chorales())
    chosen = {"train": train[:counts["train"]], "valid": valid[:counts["valid"]],
              "test": test[:counts["test"]]}
    total = sum(len(v) for v in chosen.values())
    parts, names, engine, done = {}, {}, "", 0
    for p, pieces in chosen.items():
        parts[p], names[p] = [], []
        for c in pieces:
            audio, engine = render_audio(c, rate=rate)
            parts[p].append(audio)
            names[p].append(c.name)
            done += 1
            if progress:
                progress(done, total, f"rendering {c.name} at {rate} Hz")
    return parts, names, engine


def espeak() -> str:
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        raise ReverieError("builtin:speech is spoken by espeak-ng, which is not installed; "
                           "install it (Debian/Ubuntu: sudo apt install espeak-ng; macOS: brew "
                           "install espeak-ng) or train on builtin:chorale-audio")
    return exe


def _sentences(n: int) -> list[str]:
    """Lines of tiny-shakespeare (shipped in the package) of 6 to 16 words, in order."""
    import gzip
    from importlib.resources import files
    with gzip.open(files("reverie.data").joinpath("tinyshakespeare.txt.gz").open("rb")) as f:
        text = f.read().decode("utf-8")
    lines = [ln.strip() for ln in text.splitlines()]
    good = [ln for ln in lines if 6 <= len(ln.split()) <= 16 and not ln.endswith(":")]
    return good[:n]


def _speak_sentences(rate: int, counts: dict, progress) -> tuple[dict, dict, str]:
    exe = espeak()
    total = sum(counts.values())
    sentences = _sentences(total)
    parts, names, i = {}, {}, 0
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "s.wav"
        for p in ("train", "valid", "test"):
            parts[p], names[p] = [], []
            for _ in range(counts[p]):
                s = sentences[i]
                # voices vary by sentence so the set is not one speaker
                voice = ("en-us", "en", "en-us+f3", "en+m3")[i % 4]
                subprocess.run([exe, "-v", voice, "-s", "160", "-w", str(wav), s], check=True,
                               capture_output=True, timeout=60)
                x, r = load_audio(wav, min_samples=256)
                parts[p].append(resample(x, r, rate) * 0.8 / max(1e-6, np.abs(x).max()))
                names[p].append(s)
                i += 1
                if progress:
                    progress(i, total, f"speaking sentence {i} at {rate} Hz")
    return parts, names, f"{Path(exe).name} (voices en-us, en, en-us+f3, en+m3)"
