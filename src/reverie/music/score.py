"""A chorale out: MIDI (pretty_midi), MusicXML (music21), a piano roll (PNG), sound (WAV),
and the frames of a Gibbs-sampling animation.

Reading scores in lives in `chorales` (`read_score`, `from_notes`); this module writes.
Sound: FluidSynth (pyfluidsynth over Debian's libfluidsynth) through the General MIDI
soundfont pretty_midi ships (TimGM6mb.sf2); where FluidSynth cannot load, pretty_midi's
own additive sine synthesiser. `write_wav` returns which one it used, for the sidecar.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from reverie.io.files import atomic_path
from reverie.music.chorales import FRAMES_PER_QUARTER, VOICES, Chorale

# one colour per voice (soprano, alto, tenor, bass), the same on the roll and the animation
COLOURS = ("#d62728", "#2ca02c", "#1f77b4", "#9467bd")
RGB = np.array([[214, 39, 40], [44, 160, 44], [31, 119, 180], [148, 103, 189]], np.float32) / 255
PROGRAMS = (52, 52, 52, 52)    # General MIDI "Choir Aahs" for every voice
SAMPLE_RATE = 22050


def to_pretty_midi(chorale: Chorale, qpm: float = 80.0):
    import pretty_midi
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    sec = 60.0 / qpm / FRAMES_PER_QUARTER       # seconds per sixteenth
    for v, notes in enumerate(chorale.notes):
        inst = pretty_midi.Instrument(program=PROGRAMS[v], name=VOICES[v].capitalize())
        for start, length, pitch in notes:
            inst.notes.append(pretty_midi.Note(velocity=80, pitch=int(pitch),
                                               start=start * sec, end=(start + length) * sec))
        pm.instruments.append(inst)
    return pm


def write_midi(chorale: Chorale, path: str | os.PathLike, qpm: float = 80.0) -> Path:
    pm = to_pretty_midi(chorale, qpm)
    buf = io.BytesIO()
    pm.write(buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return Path(path)


def to_music21(chorale: Chorale):
    """A music21 Score: four parts, 4/4, the key signature, fermatas on the soprano."""
    from music21 import clef, expressions, key, meter, note, stream
    from reverie.music.chorales import parse_key
    score = stream.Score()
    clefs = (clef.TrebleClef, clef.TrebleClef, clef.Treble8vbClef, clef.BassClef)
    for v, notes in enumerate(chorale.notes):
        part = stream.Part(id=VOICES[v])
        part.partName = VOICES[v].capitalize()
        part.insert(0, clefs[v]())
        part.insert(0, meter.TimeSignature("4/4"))
        if chorale.key:
            try:
                pc, mode = parse_key(chorale.key)
                part.insert(0, key.Key(key.Key(["C", "C#", "D", "E-", "E", "F", "F#", "G",
                                                "A-", "A", "B-", "B"][pc]).tonic.name, mode))
            except Exception:  # noqa: BLE001 (the key signature is a courtesy)
                pass
        for start, length, pitch in notes:
            n = note.Note(int(pitch), quarterLength=length / FRAMES_PER_QUARTER)
            if v == 0 and chorale.fermatas[start: start + length].any():
                n.expressions.append(expressions.Fermata())
            part.insert(start / FRAMES_PER_QUARTER, n)
        end = len(chorale) / FRAMES_PER_QUARTER
        if part.highestTime < end:                       # keep the parts equally long
            part.insert(part.highestTime, note.Rest(quarterLength=end - part.highestTime))
        score.insert(0, part)
    return score


def write_musicxml(chorale: Chorale, path: str | os.PathLike) -> Path:
    """MusicXML through music21, made repeatable: music21 names parts with random ids and
    stamps the date, so the same chorale would never give the same bytes; the ids become
    P1..P4 and the date goes."""
    import re
    import tempfile
    score = to_music21(chorale).makeNotation()
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(score.write("musicxml", fp=str(Path(folder) / "score.musicxml"))).read_text(
            encoding="utf-8")
    ids: dict[str, str] = {}
    raw = re.sub(r'"(P[0-9a-f]{32})"',
                 lambda m: '"' + ids.setdefault(m.group(1), f"P{len(ids) + 1}") + '"', raw)
    raw = re.sub(r"\s*<encoding-date>[^<]*</encoding-date>", "", raw)
    with atomic_path(path) as tmp:
        tmp.write_text(raw, encoding="utf-8")
    return Path(path)


SINE_ENGINE = "built-in sine synthesiser (pretty_midi.synthesize; fluidsynth could not load)"


def fluidsynth_loads() -> bool:
    """Whether pyfluidsynth finds Debian's libfluidsynth (it raises ImportError when not)."""
    import importlib
    try:
        importlib.import_module("fluidsynth")
    except (ImportError, OSError):
        return False
    return True


def render_audio(chorale: Chorale, qpm: float = 80.0,
                 rate: int = SAMPLE_RATE) -> tuple[np.ndarray, str]:
    """(mono samples at `rate`, which synthesiser made them)."""
    pm = to_pretty_midi(chorale, qpm)
    try:
        audio = pm.fluidsynth(fs=rate)
        engine = "fluidsynth (pretty_midi's TimGM6mb.sf2 General MIDI soundfont, choir)"
        if audio.size == 0 or not np.isfinite(audio).all():
            raise RuntimeError("no samples")
    except Exception:  # noqa: BLE001 (missing library, soundfont or driver: fall back)
        audio = pm.synthesize(fs=rate)   # pretty_midi's sine-wave synthesiser
        engine = SINE_ENGINE
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio / peak * 0.8
    return audio.astype(np.float32), engine


def write_wav(chorale: Chorale, path: str | os.PathLike, qpm: float = 80.0) -> tuple[Path, str]:
    from reverie.io.audio import save_audio
    audio, engine = render_audio(chorale, qpm)
    return save_audio(audio, SAMPLE_RATE, path), engine


def write_piano_roll(chorale: Chorale, path: str | os.PathLike, title: str = "",
                     clamped: np.ndarray | None = None) -> Path:
    """Notes as bars, one colour per voice; notes that were given (clamped) are outlined."""
    from reverie.io.figures import new_figure, save_figure
    T = len(chorale)
    fig, ax = new_figure(max(6.0, min(16.0, T / 16.0)), 3.6)
    for v, notes in enumerate(chorale.notes):
        for start, length, pitch in notes:
            given = clamped is not None and clamped[start, v]
            ax.add_patch(_rect(start, pitch - 0.45, length, 0.9, COLOURS[v], given))
    pitches = chorale.pitches[~np.isnan(chorale.pitches)]
    lo, hi = (int(pitches.min()) - 2, int(pitches.max()) + 2) if pitches.size else (36, 81)
    ax.set_xlim(0, max(T, 1))
    ax.set_ylim(lo, hi)
    for bar in range(0, T + 1, 4 * FRAMES_PER_QUARTER):
        ax.axvline(bar, color="#bbbbbb", lw=0.6, zorder=0)
    ax.set_xlabel("sixteenth notes (bar lines every 16)")
    ax.set_ylabel("MIDI pitch")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=c, label=n) for c, n in zip(COLOURS, VOICES)],
              loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=7, ncol=4, frameon=False)
    if title:
        ax.set_title(title, fontsize=8, loc="left")
    return save_figure(fig, path)


def _rect(x, y, w, h, colour, outlined):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="black" if outlined else colour,
                     linewidth=1.0 if outlined else 0.0)


def gibbs_frame(pitches: np.ndarray, confidence: np.ndarray, erased: np.ndarray,
                low: int, high: int, cell: int = 4):
    """One animation frame as a (3, H, W) tensor: each sounding cell in its voice's colour,
    as bright as the model's confidence in it; the cells erased and rewritten at this step
    are white-rimmed."""
    import torch
    T = pitches.shape[0]
    P = high - low + 1
    img = np.ones((P, T, 3), np.float32) * 0.08
    for v in range(4):
        col = pitches[:, v]
        ok = ~np.isnan(col)
        t = np.flatnonzero(ok)
        row = high - col[ok].astype(int)
        c = np.clip(confidence[t, v], 0.15, 1.0)[:, None]
        shade = RGB[v][None] * c + (1 - c) * 0.08
        edge = erased[t, v]
        img[row, t] = np.where(edge[:, None], 1.0, shade)
    img = np.repeat(np.repeat(img, cell, 0), cell, 1)
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()
