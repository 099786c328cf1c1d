"""The checks a harmony teacher makes on a four-part chorale, counted per 100 steps.

A voice-leading step is the move from one sonority to the next, where a sonority is the
four sounding pitches at a frame where some voice starts a note (holds and rests make no
new step). On each step between two complete sonorities:

- parallel fifths / octaves: two voices a perfect fifth (or an octave or unison, counted
  modulo the octave) apart on both sides of the step, both moving, in the same direction
  (the textbook's "consecutive perfect consonances"; voices that stand still are not
  parallel);
- voice crossing: a lower voice above a higher one in the arriving sonority;
- out of range: a voice outside the textbook range of its part (`TEXTBOOK_RANGES`: S C4-G5,
  A G3-D5, T C3-G4, B E2-C4, as in Aldwell & Schachter), counted per voice;
- spacing: more than an octave between soprano and alto or alto and tenor.

Each figure is a count per 100 steps, so a short piece and a long one compare. `BACH`
holds the same figures for the chorales music21 ships, measured with this code
(`bach_figures()`, recomputed in bench/music.py).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

TEXTBOOK_RANGES = {"soprano": (60, 79), "alto": (55, 74), "tenor": (48, 67), "bass": (40, 60)}
_RANGES = [TEXTBOOK_RANGES[v] for v in ("soprano", "alto", "tenor", "bass")]
PAIRS = [(a, b) for a in range(4) for b in range(a + 1, 4)]   # (higher voice, lower voice)
KEYS = ("parallel_fifths", "parallel_octaves", "voice_crossings", "out_of_range", "spacing")

# Measured on music21's 331 four-part Bach chorales with `bach_figures()` (per 100 steps).
BACH = {"parallel_fifths": 0.155, "parallel_octaves": 0.064, "voice_crossings": 2.473,
        "out_of_range": 1.832, "spacing": 1.518, "steps": 26481}


def sonorities(pitches: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """(N, 4) pitches at each frame where some voice starts a note (a step's ends)."""
    pitches = np.asarray(pitches, dtype=np.float32)
    onsets = np.asarray(onsets, dtype=bool)
    frames = np.flatnonzero(onsets.any(1))
    return pitches[frames]


def counts(pitches: np.ndarray, onsets: np.ndarray) -> dict:
    """Raw counts and the number of steps of one piece."""
    s = sonorities(pitches, onsets)
    out = {k: 0 for k in KEYS}
    steps = 0
    where: list[tuple[str, int, int, int]] = []   # (rule, step, voice a, voice b) for display
    for i in range(1, len(s)):
        prev, cur = s[i - 1], s[i]
        if np.isnan(prev).any() or np.isnan(cur).any():
            continue
        steps += 1
        for a, b in PAIRS:
            i0, i1 = prev[a] - prev[b], cur[a] - cur[b]
            ma, mb = cur[a] - prev[a], cur[b] - prev[b]
            if ma == 0 or mb == 0 or np.sign(ma) != np.sign(mb):
                continue
            if i0 % 12 == 7 and i1 % 12 == 7 and i0 > 0 and i1 > 0:
                out["parallel_fifths"] += 1
                where.append(("parallel_fifths", i, a, b))
            elif i0 % 12 == 0 and i1 % 12 == 0:
                out["parallel_octaves"] += 1
                where.append(("parallel_octaves", i, a, b))
        if any(cur[v] < cur[v + 1] for v in range(3)):
            out["voice_crossings"] += 1
        out["out_of_range"] += sum(int(not lo <= cur[v] <= hi) for v, (lo, hi) in enumerate(_RANGES))
        if cur[0] - cur[1] > 12 or cur[1] - cur[2] > 12:
            out["spacing"] += 1
    out["steps"] = steps
    out["where"] = where
    return out


# Interval kinds by table lookup on integer pitches: the sampler calls this at every Gibbs
# step, and float modulo on NaN-bearing arrays was most of its cost.
_UNKNOWN = -1000                     # stands for NaN in integer pitch arithmetic
_W = 2 * -_UNKNOWN + 256
# interval (upper minus lower, offset by _W) -> 1 perfect fifth, 2 octave or unison, 0 other
_KIND = np.array([1 if (i % 12 == 7 and i > 0) else 2 if i % 12 == 0 else 0
                  for i in range(-_W, _W + 1)], np.int8)


def parallels_by_candidate(pitches: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """(T, 4, K): how many parallel fifths or octaves the note `candidates[k]` would make at
    frame t in voice v, with the other voices as `pitches` (T, 4; NaN where unknown or a
    rest) has them, on the steps into and out of frame t: what `counts` would find there
    (a sampler's onsets are its pitch changes, so each sonority step is a frame step). A
    step with any voice unknown on either side counts nothing; so it differs from `counts`
    only next to a rest, where the checker, a rest being no onset, may compare the notes
    either side of it."""
    unknown = np.isnan(pitches)
    P = np.where(unknown, _UNKNOWN, pitches).astype(np.int32)
    c = np.asarray(candidates, np.int32)[None, None, :]              # (1, 1, K)
    pad = np.full((1, 4), _UNKNOWN, np.int32)
    before, after = np.vstack([pad, P[:-1]]), np.vstack([P[1:], pad])
    V, U = np.array([(v, u) for v in range(4) for u in range(4) if u != v]).T
    up = np.where(V < U, 1, -1)[None, :, None]   # the checker measures upper minus lower
    # every voice but v known at t, and every voice known on the frame before / after
    others = (unknown.sum(1, keepdims=True) - unknown) == 0            # (T, 4)
    whole = ~unknown.any(1)
    into = (np.concatenate([[False], whole[:-1]])[:, None] & others[:, V])[..., None]
    out_of = (np.concatenate([whole[1:], [False]])[:, None] & others[:, V])[..., None]
    n = 0
    for p0v, p1v, p0u, p1u, known in (
            (before[:, V, None], c, before[:, U, None], P[:, U, None], into),
            (c, after[:, V, None], P[:, U, None], after[:, U, None], out_of)):
        mv, mu = p1v - p0v, p1u - p0u
        k0, k1 = _KIND[up * (p0v - p0u) + _W], _KIND[up * (p1v - p1u) + _W]
        n = n + (known & (mv * mu > 0) & (k0 == k1) & (k0 > 0))
    return n.reshape(len(P), 4, 3, -1).sum(2)                    # pairs are grouped by v


def per_100(total: dict) -> dict:
    steps = max(total["steps"], 1)
    return {**{k: round(100.0 * total[k] / steps, 3) for k in KEYS}, "steps": total["steps"]}


def check(pieces: Iterable) -> dict:
    """Rule figures per 100 voice-leading steps over Chorales (or (pitches, onsets) pairs)."""
    total = {k: 0 for k in KEYS}
    total["steps"] = 0
    for p in pieces:
        pitches, onsets = (p.pitches, p.onsets) if hasattr(p, "pitches") else p
        c = counts(pitches, onsets)
        for k in (*KEYS, "steps"):
            total[k] += c[k]
    return per_100(total)


def bach_figures() -> dict:
    """The figures for music21's Bach chorales (`load_chorales`)."""
    from reverie.music.chorales import load_chorales
    return check(load_chorales())


def beside_bach(figures: dict) -> dict:
    """{rule: {"this": x, "bach": y}} for a sidecar or a page."""
    return {k: {"this": figures[k], "bach": BACH[k]} for k in KEYS}
