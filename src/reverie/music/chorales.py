"""Four-voice chorales on a sixteenth-note grid: the data every music mechanism reads.

Read top to bottom:

1. `Chorale`: a (T, 4) array of MIDI pitches (soprano, alto, tenor, bass; NaN = rest) on a
   sixteenth-note grid, onsets that tell a held note from a repeated one, the key, the
   fermatas. The same layout as Coconet's `Jsb16thSeparated.npz` (Huang et al. 2017),
   plus the onsets, key and fermatas that the .npz drops.
2. `VOICE_RANGES` and `transpose` / `shifts_in_range`: augmentation by transposition that
   keeps each voice inside its range (Coconet trains on all transpositions that fit).
3. `load_chorales`: the Bach chorales music21 ships (`corpus.chorales.Iterator`: 371
   Riemenschneider entries, 350 distinct files), those in four parts. Parsing takes
   over a minute, so the package ships the parse for the music21 it pins (a plain .npz,
   loaded without pickle; a test checks it against a fresh parse); any other music21 is
   parsed once and cached in the user cache ($REVERIE_CACHE or ~/.cache/reverie).
4. `split_chorales`: a deterministic train/valid/test split by chorale (by a hash of its
   name), made before any transposition, so no test chorale or transposition of one is
   ever trained on.
5. The user's scores: `read_score` (MIDI through pretty_midi, MusicXML through music21;
   parts or tracks become voices, highest first) and `from_notes` ("E4:4 E4:4 F4:4",
   durations in sixteenths, a melody for the soprano).
"""
from __future__ import annotations

import hashlib
import os
import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from reverie.core.errors import ReverieError

VOICES = ("soprano", "alto", "tenor", "bass")
FRAMES_PER_QUARTER = 4                   # a sixteenth-note grid
# MIDI pitch (lowest, highest) of each voice: the span of Bach's own voices in the chorales
# (measured on music21's chorales and on Jsb16thSeparated.npz, Coconet's data).
VOICE_RANGES: dict[str, tuple[int, int]] = {
    "soprano": (57, 81), "alto": (52, 74), "tenor": (46, 69), "bass": (36, 66)}
PITCH_LOW, PITCH_HIGH = 36, 81           # Coconet's pitch range for JSB (min_pitch, max_pitch)
CACHE_VERSION = 1

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


# ---------------------------------------------------------------------------------------
# 1. A chorale
# ---------------------------------------------------------------------------------------

@dataclass
class Chorale:
    """Four voices on a sixteenth-note grid.

    pitches: (T, 4) float32 MIDI pitch, NaN = rest; voices soprano, alto, tenor, bass.
    onsets: (T, 4) bool, True where a note starts (a repeated note starts again; a held
        one does not). Always False where the voice rests.
    key: e.g. "D major", "F# minor" ("" when unknown).
    fermatas: (T,) bool, True on the frames of a note that carries a fermata (any voice).
    """
    name: str
    pitches: np.ndarray
    onsets: np.ndarray
    key: str = ""
    fermatas: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self):
        self.pitches = np.asarray(self.pitches, dtype=np.float32).reshape(-1, 4)
        self.onsets = np.asarray(self.onsets, dtype=bool).reshape(-1, 4) & ~np.isnan(self.pitches)
        if self.fermatas is None:
            self.fermatas = np.zeros(len(self.pitches), dtype=bool)
        self.fermatas = np.asarray(self.fermatas, dtype=bool).reshape(-1)

    def __len__(self) -> int:
        return len(self.pitches)

    @property
    def notes(self) -> list[list[tuple[int, int, int]]]:
        """Per voice, the notes as (start frame, length in frames, MIDI pitch)."""
        return [voice_notes(self.pitches[:, v], self.onsets[:, v]) for v in range(4)]


def voice_notes(pitch: np.ndarray, onset: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, length, pitch) of each note in one voice's column."""
    notes: list[list[int]] = []
    prev = np.nan
    for t, p in enumerate(pitch):
        if np.isnan(p):
            prev = np.nan
            continue
        if onset[t] or p != prev or not notes:
            notes.append([t, 1, int(p)])
        else:
            notes[-1][1] += 1
        prev = p
    return [tuple(n) for n in notes]  # type: ignore[misc]


def onsets_from_pitches(pitches: np.ndarray) -> np.ndarray:
    """Onsets where only pitches are known (Coconet's .npz): a note starts where the pitch
    changes or follows a rest; repeated notes are read as held, as Coconet reads them."""
    p = np.asarray(pitches, dtype=np.float32)
    prev = np.vstack([np.full((1, p.shape[1]), np.nan, np.float32), p[:-1]])
    with np.errstate(invalid="ignore"):
        return ~np.isnan(p) & ((p != prev) | np.isnan(prev))


def from_array(pitches: np.ndarray, name: str = "chorale", key: str = "") -> Chorale:
    """A Chorale from a (T, 4) pitch array (onsets inferred; e.g. Jsb16thSeparated.npz)."""
    pitches = np.asarray(pitches, dtype=np.float32)
    return Chorale(name, pitches, onsets_from_pitches(pitches), key)


# ---------------------------------------------------------------------------------------
# 2. Keys, ranges and transposition
# ---------------------------------------------------------------------------------------

def parse_key(text: str) -> tuple[int, str]:
    """'D major', 'f# minor', 'Bb', 'c minor' -> (tonic pitch class, 'major'|'minor')."""
    m = re.fullmatch(r"\s*([A-Ga-g])\s*(#|b|-|♯|♭)?\s*(major|minor|maj|min)?\s*", text or "")
    if not m:
        raise ReverieError(f"unknown key {text!r}; give a tonic and a mode such as "
                           f"'D major' or 'F# minor'")
    letter, accidental, mode = m.groups()
    pc = _PC[letter.upper()] + {"#": 1, "♯": 1, "b": -1, "-": -1, "♭": -1}.get(accidental or "", 0)
    mode = "minor" if (mode or "").startswith("min") else "major"
    return pc % 12, mode


def key_name(pc: int, mode: str) -> str:
    return f"{(_MINOR_NAMES if mode == 'minor' else NOTE_NAMES)[pc % 12]} {mode}"


def transpose_key(key: str, semitones: int) -> str:
    if not key:
        return key
    pc, mode = parse_key(key)
    return key_name(pc + semitones, mode)


# Krumhansl-Kessler key profiles, C major and C minor
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(pitches: np.ndarray, final_weight: float = 0.0) -> str:
    """Krumhansl-Schmuckler: the key whose profile best correlates with the durations of
    the pitch classes (the same algorithm music21's analyze('key') uses by default). With
    `final_weight`, a key whose tonic triad holds the last note gains that much correlation
    (for a melody alone, whose last note is nearly always a tonic-chord tone: 0.2 puts 20 of
    the 21 tunes in bench/melodies.py in their printed key, profiles alone 18)."""
    p = pitches[~np.isnan(pitches)].astype(int)
    if p.size == 0:
        return ""
    hist = np.bincount(p % 12, minlength=12).astype(float)
    last = p[-1] % 12                    # for a melody (a (T,) or (T, 1) column), its last note
    best, name = -2.0, ""
    for mode, prof in (("major", _MAJOR), ("minor", _MINOR)):
        for tonic in range(12):
            r = np.corrcoef(hist, np.roll(prof, tonic))[0, 1]
            triad = (tonic, (tonic + (3 if mode == "minor" else 4)) % 12, (tonic + 7) % 12)
            r += final_weight * (last in triad)
            if r > best:
                best, name = r, key_name(tonic, mode)
    return name


def voice_range_violations(pitches: np.ndarray) -> list[tuple[int, int, int]]:
    """(frame, voice, pitch) of every sounding frame outside its voice's range."""
    out = []
    for v, name in enumerate(VOICES):
        lo, hi = VOICE_RANGES[name]
        col = pitches[:, v]
        bad = ~np.isnan(col) & ((col < lo) | (col > hi))
        out += [(int(t), v, int(col[t])) for t in np.flatnonzero(bad)]
    return out


def shifts_in_range(chorale: Chorale, max_shift: int = 6) -> list[int]:
    """Transpositions (semitones, -max_shift..max_shift) that keep every voice in range."""
    p = chorale.pitches
    out = []
    for s in range(-max_shift, max_shift + 1):
        q = p + s
        ok = True
        for v, name in enumerate(VOICES):
            col = q[:, v][~np.isnan(q[:, v])]
            lo, hi = VOICE_RANGES[name]
            if col.size and (col.min() < lo or col.max() > hi):
                ok = False
                break
        if ok:
            out.append(s)
    return out


def transpose(chorale: Chorale, semitones: int) -> Chorale:
    """The chorale moved by `semitones` (key renamed). It does not check the ranges: pick
    shifts from `shifts_in_range` for augmentation."""
    return replace(chorale, name=f"{chorale.name}{semitones:+d}" if semitones else chorale.name,
                   pitches=chorale.pitches + np.float32(semitones), onsets=chorale.onsets.copy(),
                   key=transpose_key(chorale.key, semitones), fermatas=chorale.fermatas.copy())


# ---------------------------------------------------------------------------------------
# 3. music21's Bach chorales, shipped parsed (or parsed once)
# ---------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """The user cache Reverie uses for things it derives once ($REVERIE_CACHE)."""
    return Path(os.environ.get("REVERIE_CACHE", Path.home() / ".cache" / "reverie"))


def chorale_files() -> list[Path]:
    """The music21 files behind builtin:chorales (for io.datasets and sidecar hashes)."""
    try:
        from music21 import corpus
    except ImportError:
        raise ReverieError("builtin:chorales needs music21; install it with: "
                           "pip install music21") from None
    root = Path(corpus.__file__).parent          # music21/corpus/bach/bwv269.mxl ...
    out = []
    for name in dict.fromkeys(corpus.chorales.Iterator(returnType="filename")):
        found = sorted((root / name).parent.glob((root / name).name + ".*"))
        if not found:                                  # the slow way, should the layout change
            got = corpus.getWork(name)
            found = [Path(str(f)) for f in (got if isinstance(got, list) else [got])]
        out.append(found[0])
    return sorted(out)


def record_source(source) -> dict:
    """record_input, knowing builtin:chorales even before io.datasets registers it."""
    from reverie.core.inputs import record, sha256_of
    if isinstance(source, (list, tuple)):
        return {"many": [record_source(s) for s in source]}
    if isinstance(source, str) and source in ("builtin:chorales", "chorales"):
        try:
            return record(source)
        except ReverieError:
            return {"source": "builtin:chorales", "sha256": sha256_of(chorale_files())}
    return record(source)


def _cache_name() -> str:
    import music21
    return f"chorales-m21-{music21.__version__}-v{CACHE_VERSION}.npz"


def _cache_file() -> Path:
    return cache_dir() / "music" / _cache_name()


def shipped_file() -> Path:
    """The parse shipped in the package (present for the music21 version pyproject pins)."""
    from importlib.resources import files
    return Path(str(files("reverie.data").joinpath(_cache_name())))


def _part_columns(part, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One music21 part -> (pitch column, onset column, fermata frames, voice's chord choice)."""
    pitch = np.full(frames, np.nan, np.float32)
    onset = np.zeros(frames, bool)
    ferm = np.zeros(frames, bool)
    for n in part.flatten().notes:
        start = int(round(float(n.offset) * FRAMES_PER_QUARTER))
        length = int(round(float(n.quarterLength) * FRAMES_PER_QUARTER))
        if length <= 0 or start >= frames:          # grace notes take no time
            continue
        ps = [p.midi for p in n.pitches]
        pitch[start:start + length] = max(ps)
        tie = getattr(n, "tie", None)
        onset[start] = not (tie is not None and tie.type in ("stop", "continue"))
        if any(type(e).__name__ == "Fermata" for e in n.expressions):
            ferm[start:start + length] = True
    return pitch, onset, ferm, 0


def _score_to_chorale(score, name: str, key: Optional[str] = None) -> Chorale:
    """A 4-part music21 score -> Chorale (parts in score order: S, A, T, B)."""
    parts = list(score.parts)
    end = max(float(p.flatten().highestTime) for p in parts)
    frames = int(round(end * FRAMES_PER_QUARTER))
    cols = [_part_columns(p, frames) for p in parts]
    pitches = np.stack([c[0] for c in cols], 1)
    onsets = np.stack([c[1] for c in cols], 1)
    fermatas = np.any(np.stack([c[2] for c in cols], 1), 1)
    if key is None:
        try:
            k = score.analyze("key")
            key = key_name(k.tonic.pitchClass, k.mode if k.mode in ("major", "minor") else "major")
        except Exception:  # noqa: BLE001 (an analysis failure only loses the key label)
            key = ""
    return Chorale(name, pitches, onsets, key, fermatas)


def _parse_corpus(progress=None) -> list[Chorale]:
    from music21 import corpus
    names = list(dict.fromkeys(corpus.chorales.Iterator(returnType="filename")))
    out = []
    for i, fname in enumerate(names):
        if progress:
            progress(i, len(names), f"parsing {fname}")
        score = corpus.parse(fname)
        if len(score.parts) != 4:       # a few carry instrumental parts: keep the SATB ones
            continue
        ch = _score_to_chorale(score, fname.split("/")[-1])
        if np.isnan(ch.pitches).all(0).any():
            continue
        out.append(ch)
    return out


def _save_cache(chorales: list[Chorale], path: Path) -> None:
    from reverie.io.files import atomic_path
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(c) for c in chorales], np.int64)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f, lengths=lengths,
                pitches=np.concatenate([c.pitches for c in chorales]),
                onsets=np.concatenate([c.onsets for c in chorales]),
                fermatas=np.concatenate([c.fermatas for c in chorales]),
                names=np.array([c.name for c in chorales], dtype=str),
                keys=np.array([c.key for c in chorales], dtype=str))


def _load_cache(path: Path) -> list[Chorale]:
    with np.load(path, allow_pickle=False) as d:   # our own file, still never unpickled
        bounds = np.concatenate([[0], np.cumsum(d["lengths"])])
        p, o, f = d["pitches"], d["onsets"], d["fermatas"]
        return [Chorale(str(n), p[a:b], o[a:b], str(k), f[a:b])
                for n, k, a, b in zip(d["names"], d["keys"], bounds[:-1], bounds[1:])]


def load_chorales(progress=None) -> list[Chorale]:
    """music21's Bach chorales in four parts, in corpus order (the shipped parse, or
    parsed once and cached for another music21)."""
    try:
        path = _cache_file()
    except ImportError:
        raise ReverieError("builtin:chorales needs music21; install it with: "
                           "pip install music21") from None
    for found in (shipped_file(), path):
        if found.is_file():
            try:
                return _load_cache(found)
            except (OSError, ValueError, KeyError):
                pass                     # a damaged cache is parsed again
    chorales = _parse_corpus(progress)
    try:
        _save_cache(chorales, path)
    except (OSError, ReverieError):
        pass                             # a read-only home still works, only slower
    return chorales


def name_bucket(name: str) -> float:
    """A name's fixed place in [0, 1): splits by it stay put when other items come or go."""
    return zlib.crc32(name.encode()) / 2 ** 32


def split_chorales(chorales: Iterable[Chorale], valid: float = 0.1, test: float = 0.1
                   ) -> tuple[list[Chorale], list[Chorale], list[Chorale]]:
    """Deterministic (train, valid, test) by chorale: a hash of the name picks the part, so
    the split does not depend on order or on which other chorales are present. Split
    before transposing: a test chorale's transpositions never reach training. Chorales
    whose names differ only by a transposition suffix (`bwv269+2`) share a part."""
    train, val, tst = [], [], []
    for c in chorales:
        u = name_bucket(re.sub(r"[+-]\d+$", "", c.name))
        (tst if u < test else val if u < test + valid else train).append(c)
    return train, val, tst


# ---------------------------------------------------------------------------------------
# 4. The user's scores
# ---------------------------------------------------------------------------------------

SCORE_SUFFIXES = (".mid", ".midi", ".musicxml", ".mxl", ".xml")


def _voices_from_parts(parts: list[tuple[str, list[tuple[float, float, int]]]], frames: int,
                       name: str) -> Chorale:
    """Parts (name, [(start frame, end frame, pitch)]) -> Chorale. Parts are ordered by mean
    pitch, highest first: one part is the soprano, two are soprano and bass, three are
    soprano, alto and bass, four are SATB; a part that holds chords is split top-down."""
    parts = [p for p in parts if p[1]]
    if not parts:
        raise ReverieError(f"{name} has no notes; give a MIDI or MusicXML file with at least "
                           f"one part that has notes")
    if len(parts) == 1:
        # one part with chords (a piano reduction): voices from the top of each chord down
        notes = parts[0][1]
        starts: dict[float, list] = {}
        for n in notes:
            starts.setdefault(n[0], []).append(n)
        if max(len(v) for v in starts.values()) > 1:
            width = min(4, max(len(v) for v in starts.values()))
            split: list[list] = [[] for _ in range(width)]
            for group in starts.values():
                group = sorted(group, key=lambda n: -n[2])[:width - 1] + \
                    sorted(group, key=lambda n: -n[2])[width - 1:][-1:]
                split[0].append(group[0])          # the top note is the melody
                if len(group) > 1:
                    split[width - 1].append(group[-1])   # the lowest is the bass
                for i, n in enumerate(group[1:-1]):
                    split[1 + i].append(n)
            parts = [(f"voice {i}", v) for i, v in enumerate(split) if v]
    named = [_voice_of(p[0]) for p in parts]
    if len(parts) <= 4 and None not in named and len(set(named)) == len(named):
        # parts named Soprano, Alto, Tenor, Bass (as Reverie and most editors write them)
        order = sorted(range(len(parts)), key=lambda i: named[i])
        parts = [parts[i] for i in order]
        slots_named = [named[i] for i in order]
    else:
        slots_named = None
        if len(parts) != 4:       # four unnamed parts keep the file's (SATB) order
            parts = sorted(parts, key=lambda p: -float(np.mean([n[2] for n in p[1]])))
    if len(parts) > 4:
        raise ReverieError(f"{name} has {len(parts)} parts with notes; give a score with at most "
                           f"four (soprano, alto, tenor, bass)")
    slots = slots_named or {1: [0], 2: [0, 3], 3: [0, 1, 3], 4: [0, 1, 2, 3]}[len(parts)]
    pitches = np.full((frames, 4), np.nan, np.float32)
    onsets = np.zeros((frames, 4), bool)
    for slot, (_, notes) in zip(slots, parts):
        for start, end, p in sorted(notes):
            a, b = int(round(start)), max(int(round(end)), int(round(start)) + 1)
            if a >= frames:
                continue
            if not np.isnan(pitches[a, slot]) and onsets[a, slot]:
                continue                  # two notes at once in one part: keep the first
            pitches[a:b, slot] = p
            onsets[a, slot] = True
    return Chorale(name, pitches, onsets, "")


def _voice_of(name: str) -> Optional[int]:
    n = (name or "").strip().lower()
    for i, stem in enumerate(("sop", "alt", "ten", "bas")):
        if n.startswith(stem):
            return i
    return None


def _read_midi(path: Path) -> Chorale:
    import pretty_midi
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # noqa: BLE001 (mido/pretty_midi raise many kinds on bad bytes)
        raise ReverieError(f"{path} is not a readable MIDI file ({type(exc).__name__}); give a "
                           f"Standard MIDI File (.mid)") from None
    per16 = pm.resolution / FRAMES_PER_QUARTER
    parts = []
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        notes = [(pm.time_to_tick(n.start) / per16, pm.time_to_tick(n.end) / per16, n.pitch)
                 for n in inst.notes]
        parts.append((inst.name, notes))
    frames = int(np.ceil(max((n[1] for _, ns in parts for n in ns), default=0) - 1e-6))
    return _voices_from_parts(parts, max(frames, 1), path.name)


def _read_musicxml(path: Path) -> Chorale:
    import music21
    try:
        score = music21.converter.parse(str(path), format="musicxml")
    except Exception as exc:  # noqa: BLE001 (music21 raises many kinds on bad files)
        raise ReverieError(f"{path} is not a readable MusicXML file ({type(exc).__name__}); "
                           f"give a .musicxml, .xml or .mxl score") from None
    parts_m21 = list(getattr(score, "parts", [])) or [score]
    parts = []
    end = 0.0
    for part in parts_m21:
        notes = []
        for n in part.flatten().stripTies().notes:
            if float(n.quarterLength) <= 0:
                continue
            s = float(n.getOffsetInHierarchy(part) if hasattr(n, "getOffsetInHierarchy") else n.offset)
            s *= FRAMES_PER_QUARTER
            e = s + float(n.quarterLength) * FRAMES_PER_QUARTER
            for p in n.pitches:
                notes.append((s, e, int(p.midi)))
            end = max(end, e)
        parts.append((str(part.partName or part.id), notes))
    if not any(p[1] for p in parts):
        raise ReverieError(f"{path.name} has no notes; give a MIDI or MusicXML file with at "
                           f"least one part that has notes")
    ch = _voices_from_parts(parts, int(np.ceil(end - 1e-6)), path.name)
    try:
        k = score.analyze("key")
        ch.key = key_name(k.tonic.pitchClass, k.mode if k.mode in ("major", "minor") else "major")
    except Exception:  # noqa: BLE001 (the key is a label only)
        pass
    return ch


def read_score(path: str | os.PathLike) -> Chorale:
    """A user's MIDI (.mid/.midi) or MusicXML (.musicxml/.xml/.mxl) file as a Chorale."""
    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"score {path} does not exist; give a MIDI or MusicXML file")
    suffix = path.suffix.lower()
    if suffix in (".mid", ".midi"):
        return _read_midi(path)
    if suffix in (".musicxml", ".mxl", ".xml"):
        return _read_musicxml(path)
    raise ReverieError(f"cannot read a score from {path.name}; give a MIDI (.mid) or MusicXML "
                       f"(.musicxml, .mxl, .xml) file, or notes such as 'E4:4 E4:4 F4:4'")


_NOTE = re.compile(r"^([A-Ga-g])(#|b|-|♯|♭)?(-?\d)(?::(\d+(?:\.\d+)?))?$")
_REST = re.compile(r"^[Rr](?::(\d+))?$")


def from_notes(text: str, name: str = "melody") -> Chorale:
    """A melody string for the soprano: 'E4:4 E4:4 F4:4 G4:4 R:4'.

    Each token is a note name with its octave (C4 = middle C = MIDI 60; # or b for sharp or
    flat) and optionally ':' and its length in sixteenth notes (4 = a quarter note, the
    default; 8 = a half note); R is a rest. The other three voices are empty."""
    tokens = (text or "").replace(",", " ").split()
    if not tokens:
        raise ReverieError("the melody is empty; give notes such as 'E4:4 E4:4 F4:4 G4:4'")
    col: list[float] = []
    ons: list[bool] = []
    for tok in tokens:
        m = _NOTE.match(tok)
        r = _REST.match(tok)
        if r:
            length = int(r.group(1) or 4)
            col += [np.nan] * length
            ons += [False] * length
            continue
        if not m:
            raise ReverieError(f"cannot read note {tok!r}; write notes as NAME OCTAVE:SIXTEENTHS "
                               f"such as 'E4:4' (a quarter note), 'F#4:8', 'Bb3:2' or a rest 'R:4'")
        letter, acc, octave, length = m.groups()
        midi = 12 * (int(octave) + 1) + _PC[letter.upper()] + \
            {"#": 1, "♯": 1, "b": -1, "-": -1, "♭": -1}.get(acc or "", 0)
        n = float(length) if length else 4.0
        if n != int(n) or n < 1:
            raise ReverieError(f"note {tok!r}: the length is counted in whole sixteenth notes "
                               f"(1 or more), e.g. 'E4:4' for a quarter note")
        col += [float(midi)] * int(n)
        ons += [True] + [False] * (int(n) - 1)
    pitches = np.full((len(col), 4), np.nan, np.float32)
    onsets = np.zeros((len(col), 4), bool)
    pitches[:, 0] = col
    onsets[:, 0] = ons
    return Chorale(name, pitches, onsets, "")


def content_digest(chorale: Chorale) -> str:
    h = hashlib.sha256(np.nan_to_num(chorale.pitches, nan=-1).tobytes())
    h.update(chorale.onsets.tobytes())
    return h.hexdigest()[:16]
