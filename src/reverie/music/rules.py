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

As a teacher reads a chorale, beat by beat (`beat_counts`): the sonority sounding on each
quarter-note beat (each voice's note at that moment, whether it starts there or is held
into it), and parallel fifths / octaves between successive beats by the same rule. So a
parallel that a passing note or a note moving a sixteenth later hides from the frame-to-frame
check is still found. Counted per 100 beat changes (successive beats, all four voices
sounding on both, some voice starting a note in between).

The voices' own lines (`leaps`): in the voices a harmonisation writes (alto, tenor, bass),
leaps larger than an octave and tritone leaps, per 100 moves from one note to the next.

Sounding: the share of the melody's beats (beats where the soprano sounds) with all four
voices sounding.

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
BEAT_KEYS = ("beat_parallel_fifths", "beat_parallel_octaves")      # per 100 beat changes
LEAP_KEYS = ("leaps_over_octave", "tritone_leaps")                  # per 100 moves (A, T, B)
ALL_KEYS = (*KEYS, *BEAT_KEYS, "beat_parallels", *LEAP_KEYS, "four_voices_sounding")
BEAT = 4                           # frames per quarter-note beat (a sixteenth-note grid)
WRITTEN = (1, 2, 3)                # the voices a harmonisation writes: alto, tenor, bass

# Measured on music21's 331 four-part Bach chorales with `bach_figures()` (per 100 steps).
BACH = {"parallel_fifths": 0.155, "parallel_octaves": 0.064, "voice_crossings": 2.473,
        "out_of_range": 1.832, "spacing": 1.518, "steps": 26481,
        "beat_parallel_fifths": 1.376, "beat_parallel_octaves": 0.585, "beat_parallels": 1.961,
        "beat_steps": 15554, "leaps_over_octave": 0.055, "tritone_leaps": 0.451, "moves": 57694,
        "four_voices_sounding": 0.9981}


def _parallel(prev: np.ndarray, cur: np.ndarray, a: int, b: int) -> str:
    """'parallel_fifths', 'parallel_octaves' or '' for voices a (upper) and b across a step."""
    i0, i1 = prev[a] - prev[b], cur[a] - cur[b]
    ma, mb = cur[a] - prev[a], cur[b] - prev[b]
    if ma == 0 or mb == 0 or np.sign(ma) != np.sign(mb):
        return ""
    if i0 % 12 == 7 and i1 % 12 == 7 and i0 > 0 and i1 > 0:
        return "parallel_fifths"
    if i0 % 12 == 0 and i1 % 12 == 0:
        return "parallel_octaves"
    return ""


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
            kind = _parallel(prev, cur, a, b)
            if kind:
                out[kind] += 1
                where.append((kind, i, a, b))
        if any(cur[v] < cur[v + 1] for v in range(3)):
            out["voice_crossings"] += 1
        out["out_of_range"] += sum(int(not lo <= cur[v] <= hi) for v, (lo, hi) in enumerate(_RANGES))
        if cur[0] - cur[1] > 12 or cur[1] - cur[2] > 12:
            out["spacing"] += 1
    out["steps"] = steps
    out["where"] = where
    out.update(beat_counts(pitches, onsets))
    out.update(leaps(pitches, onsets))
    return out


def beat_counts(pitches: np.ndarray, onsets: np.ndarray, beat: int = BEAT) -> dict:
    """Parallels between successive beats, as a teacher reads a chorale: the sonority at
    each beat is what sounds there (held notes included); a beat change is a pair of
    successive beats, all four voices sounding on both, with some voice starting a note
    after the first and by the second. Also: beats where the soprano sounds and, of those,
    the beats where all four voices sound."""
    pitches = np.asarray(pitches, np.float32)
    onsets = np.asarray(onsets, bool)
    frames = np.arange(0, len(pitches), beat)
    s = pitches[frames]
    complete = ~np.isnan(s).any(1)
    out = {"beat_parallel_fifths": 0, "beat_parallel_octaves": 0, "beat_steps": 0,
           "melody_beats": int((~np.isnan(s[:, 0])).sum()), "four_voice_beats": int(complete.sum())}
    where = []
    for i in range(1, len(frames)):
        if not (complete[i - 1] and complete[i]) or not onsets[frames[i - 1] + 1: frames[i] + 1].any():
            continue
        out["beat_steps"] += 1
        for a, b in PAIRS:
            kind = _parallel(s[i - 1], s[i], a, b)
            if kind:
                out["beat_" + kind] += 1
                where.append(("beat_" + kind, int(frames[i]), a, b))
    out["beat_where"] = where          # (rule, frame of the arriving beat, voice a, voice b)
    return out


def _is_leap(d) -> np.ndarray:
    d = np.abs(d)
    return d > 12, d == 6


def leaps(pitches: np.ndarray, onsets: np.ndarray, voices=WRITTEN) -> dict:
    """Leaps over an octave and tritone leaps in `voices` (from one note to the next with no
    rest between), and the number of such moves."""
    p = np.asarray(pitches, np.float32)[:, list(voices)]
    prev, cur = p[:-1], p[1:]
    with np.errstate(invalid="ignore"):
        move = ~np.isnan(prev) & ~np.isnan(cur) & np.asarray(onsets, bool)[1:, list(voices)]
        d = np.where(move, cur - prev, 0)
    over, tritone = _is_leap(d)
    return {"leaps_over_octave": int(over.sum()), "tritone_leaps": int(tritone.sum()),
            "moves": int(move.sum())}


# Interval kinds by table lookup on integer pitches: the sampler calls this at every Gibbs
# step, and float modulo on NaN-bearing arrays was most of its cost.
_UNKNOWN = -1000                     # stands for NaN in integer pitch arithmetic
_W = 2 * -_UNKNOWN + 256
# interval (upper minus lower, offset by _W) -> 1 perfect fifth, 2 octave or unison, 0 other
_KIND = np.array([1 if (i % 12 == 7 and i > 0) else 2 if i % 12 == 0 else 0
                  for i in range(-_W, _W + 1)], np.int8)


def parallels_by_candidate(pitches: np.ndarray, candidates: np.ndarray,
                           beat: int = BEAT) -> np.ndarray:
    """(T, 4, K): how many parallel fifths or octaves the note `candidates[k]` would make at
    frame t in voice v, with the other voices as `pitches` (T, 4; NaN where unknown or a
    rest) has them: on the steps into and out of frame t (what `counts` would find there:
    a sampler's onsets are its pitch changes, so each sonority step is a frame step) and,
    where t is a beat, on the beat changes into and out of it (what `beat_counts` would
    find). A step with any voice unknown on either side counts nothing; so it differs from
    `counts` only next to a rest, where the checker, a rest being no onset, may compare the
    notes either side of it."""
    unknown = np.isnan(pitches)
    P = np.where(unknown, _UNKNOWN, pitches).astype(np.int32)
    c = np.asarray(candidates, np.int32)[None, None, :]              # (1, 1, K)
    n = _by_candidate(P, unknown, c, 1, np.arange(len(P)))
    if beat:
        rows = np.arange(0, len(P), beat)
        n[rows] += _by_candidate(P, unknown, c, beat, rows)
    return n


_V, _U = np.array([(v, u) for v in range(4) for u in range(4) if u != v]).T
_UP = np.where(_V < _U, 1, -1)[None, :, None]    # the checker measures upper minus lower


def _by_candidate(P: np.ndarray, unknown: np.ndarray, c: np.ndarray, lag: int,
                  rows: np.ndarray) -> np.ndarray:
    """`parallels_by_candidate` on the steps between frames t - lag, t and t + lag, for the
    frames `rows`: (len(rows), 4, K)."""
    T = len(P)
    pad = np.full((lag, 4), _UNKNOWN, np.int32)
    before = np.vstack([pad, P])[:T][rows]
    after = np.vstack([P, pad])[lag:lag + T][rows]
    V, U = _V, _U
    # every voice but v known at t, and every voice known on the frame before / after
    others = ((unknown.sum(1, keepdims=True) - unknown) == 0)[rows]     # (R, 4)
    whole = ~unknown.any(1)
    no = np.zeros(lag, bool)
    into = (np.concatenate([no, whole])[:T][rows][:, None] & others[:, V])[..., None]
    out_of = (np.concatenate([whole, no])[lag:lag + T][rows][:, None] & others[:, V])[..., None]
    Pr = P[rows]
    n = 0
    for p0v, p1v, p0u, p1u, known in (
            (before[:, V, None], c, before[:, U, None], Pr[:, U, None], into),
            (c, after[:, V, None], Pr[:, U, None], after[:, U, None], out_of)):
        mv, mu = p1v - p0v, p1u - p0u
        k0, k1 = _KIND[_UP * (p0v - p0u) + _W], _KIND[_UP * (p1v - p1u) + _W]
        n = n + (known & (mv * mu > 0) & (k0 == k1) & (k0 > 0))
    return n.reshape(len(rows), 4, 3, -1).sum(2)                 # pairs are grouped by v


def leaps_by_candidate(pitches: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """(T, 4, K): the leaps over an octave or by a tritone that `candidates[k]` at frame t
    in voice v would make from the note before it and to the note after it (what `leaps`
    would count there, in any voice)."""
    p = np.asarray(pitches, np.float32)
    c = np.asarray(candidates, np.float32)[None, None, :]
    nan = np.full((1, 4), np.nan, np.float32)
    n = 0
    for other in (np.vstack([nan, p[:-1]]), np.vstack([p[1:], nan])):
        with np.errstate(invalid="ignore"):
            over, tritone = _is_leap(c - other[..., None])
        n = n + (over | tritone)
    return n.astype(np.int32)


SUMS = (*KEYS, "steps", *BEAT_KEYS, "beat_steps", "melody_beats", "four_voice_beats",
        *LEAP_KEYS, "moves")


def per_100(total: dict) -> dict:
    """Frame rules per 100 steps, beat parallels per 100 beat changes, leaps per 100 moves,
    and the share of the melody's beats with four voices sounding."""
    def rate(x, n):
        return round(100.0 * x / max(n, 1), 3)
    out = {k: rate(total[k], total["steps"]) for k in KEYS}
    out.update({k: rate(total[k], total["beat_steps"]) for k in BEAT_KEYS})
    out["beat_parallels"] = round(out["beat_parallel_fifths"] + out["beat_parallel_octaves"], 3)
    out.update({k: rate(total[k], total["moves"]) for k in LEAP_KEYS})
    out["four_voices_sounding"] = round(total["four_voice_beats"] / max(total["melody_beats"], 1), 4)
    out.update({k: total[k] for k in ("steps", "beat_steps", "moves")})
    return out


def check(pieces: Iterable) -> dict:
    """Rule figures over Chorales (or (pitches, onsets) pairs): see `per_100`."""
    total = dict.fromkeys(SUMS, 0)
    for p in pieces:
        pitches, onsets = (p.pitches, p.onsets) if hasattr(p, "pitches") else p
        c = counts(pitches, onsets)
        for k in SUMS:
            total[k] += c[k]
    return per_100(total)


def bach_figures() -> dict:
    """The figures for music21's Bach chorales (`load_chorales`)."""
    from reverie.music.chorales import load_chorales
    return check(load_chorales())


def beside_bach(figures: dict) -> dict:
    """{rule: {"this": x, "bach": y}} for a sidecar or a page."""
    return {k: {"this": figures[k], "bach": BACH[k]} for k in ALL_KEYS}


# Roman numerals: a teacher names the final chord (I, V, ...) in the key.
_SHAPES = (((0, 4, 7), ""), ((0, 3, 7), "m"), ((0, 3, 6), "o"), ((0, 4, 8), "+"),
           ((0, 4, 7, 10), "7"), ((0, 3, 7, 10), "m7"), ((0, 3, 6, 10), "ø7"),
           ((0, 3, 6, 9), "o7"), ((0, 4, 7, 11), "M7"))
_NUMERALS = ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII")
# a triad with no third takes the quality the scale gives its degree
_SCALE_QUALITY = {"major": {2: "m", 4: "m", 9: "m", 11: "o"},
                  "minor": {0: "m", 5: "m", 2: "o", 11: "o"}}


def roman_numeral(sonority, key: str) -> str:
    """The chord's Roman numeral in `key` ('D major', 'b minor'): 'I', 'V7', 'ii6', 'IV64'
    (lower case minor, ° diminished, + augmented; figures for inversions); '' if no key or
    no notes, '?' if the notes make no tertian chord."""
    from reverie.music.chorales import parse_key
    notes = sorted(int(p) for p in np.asarray(sonority, np.float64) if not np.isnan(p))
    if not notes or not key:
        return ""
    tonic, mode = parse_key(key)
    pcs, bass = {p % 12 for p in notes}, notes[0] % 12
    best = None
    for root in pcs:
        iv = {(p - root) % 12 for p in pcs}
        for shape, quality in _SHAPES:
            if iv <= set(shape):
                score = (len(shape) - len(iv), root != bass, len(shape))
                if best is None or score < best[0]:
                    best = (score, root, shape, quality, iv)
    if best is None:
        return "?"
    _, root, shape, quality, iv = best
    degree = (root - tonic) % 12
    if len(shape) == 3 and not iv & {3, 4}:
        quality = _SCALE_QUALITY[mode].get(degree, "")
    name = _NUMERALS[degree]
    if quality.startswith(("m", "o", "ø")):
        name = name.lower()
    name += {"o": "°", "o7": "°7", "ø7": "ø7", "+": "+", "7": "7", "m7": "7", "M7": "M7"}.get(quality, "")
    up = (bass - root) % 12
    if up:
        seventh = len(shape) == 4
        name = name.replace("7", "") + ({3: "65", 4: "65", 6: "43", 7: "43", 8: "43"}.get(up, "42")
                                        if seventh else {3: "6", 4: "6"}.get(up, "64"))
    return name


def final_chord(pitches: np.ndarray, key: str) -> str:
    """The Roman numeral of the last sonority with all four voices sounding."""
    complete = np.flatnonzero(~np.isnan(np.asarray(pitches, np.float32)).any(1))
    return roman_numeral(pitches[complete[-1]], key) if len(complete) else ""
