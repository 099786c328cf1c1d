"""The Coconet mechanisms (magenta's coconet_sample.py): compose, harmonize, continue.

Each sets up a piano roll and the cells to write, then samples them by blocked Gibbs
sampling (`gibbs`). `compose` writes all four voices (with `key`, the first and last
chords are fixed to the tonic triad: a cadence the model writes towards), `harmonize`
clamps the soprano (HarmonizationMasker), `continue_chorale` clamps a beginning. Each
returns a `MusicResult`: MIDI, MusicXML, WAV, a piano roll, the Gibbs animation and the
rule checks a harmony teacher makes, beside Bach's.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from reverie.core.config import ConfigError, knob, make_config
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.core.threads import cpu_threads
from reverie.music import chorales as ch
from reverie.music import rules
from reverie.music.chorales import Chorale, estimate_key
from reverie.music.coconet import (FRAMES_PER_BAR, HIGH, LOW, NUM_PITCHES, Coconet, as_model,
                                   from_roll, to_roll)
from reverie.music.gibbs import GibbsConfig, gibbs


def _check_key(key: str) -> None:
    if key:
        try:
            ch.parse_key(key)
        except ReverieError as exc:
            raise ConfigError("key", str(exc)) from None


@dataclass
class ComposeConfig(GibbsConfig):
    bars: int = knob(8, "bars of 4/4 to write", min=1, max=64)
    key: str = knob("", "the key, e.g. 'D major' or 'F# minor': the first and last chords "
                    "are its tonic triad (empty: any key)")

    def check(self) -> None:
        super().check()
        _check_key(self.key)


@dataclass
class HarmonizeConfig(GibbsConfig):
    key: str = knob("", "the key to harmonise in, e.g. 'D major' or 'b minor' (empty: the key "
                    "the melody implies, by Krumhansl-Schmuckler key profiles)")
    cadence: bool = knob(True, "end on a cadence that fits the melody's last note: the tonic "
                         "chord (I or i) with the bass on the tonic when that note belongs to "
                         "it, else V with the bass on the dominant (a half cadence) when it "
                         "belongs to V")

    def check(self) -> None:
        super().check()
        _check_key(self.key)


@dataclass
class ContinueConfig(GibbsConfig):
    bars: int = knob(4, "bars of 4/4 to add", min=1, max=64)



def tonic_chord(key: str) -> list[int]:
    """A root-position tonic triad for S, A, T, B, each voice in its range."""
    pc, mode = ch.parse_key(key)
    third = pc + (3 if mode == "minor" else 4)
    fifth = pc + 7

    def below(pcls: int, limit: int) -> int:     # the highest pitch of a class <= limit
        return limit - ((limit - pcls) % 12)
    s = below(pc, 78)
    if s < 67:
        s += 12
    a = below(third, s - 1)
    t = below(fifth, a - 1)
    b = below(pc, t - 1)
    if b < ch.VOICE_RANGES["bass"][0] + 2:
        b += 12
    return [s, a, t, b]


@dataclass
class MusicResult(Result):
    """A chorale Coconet wrote: .mid, .musicxml, .wav, a piano-roll .png and the Gibbs .gif."""
    chorale: Chorale
    given: np.ndarray                    # (T, 4) True where a cell was given, not written
    frames: list = field(default_factory=list, repr=False)
    suffixes = (".mid", ".midi")

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.music import score
        qpm = getattr(self.config, "qpm", 80.0)
        paths = {"midi": score.write_midi(self.chorale, path, qpm)}
        paths["musicxml"] = score.write_musicxml(self.chorale, path.with_suffix(".musicxml"))
        paths["audio"], engine = score.write_wav(self.chorale, path.with_suffix(".wav"), qpm)
        self.figures["synthesiser"] = engine
        paths["piano_roll"] = score.write_piano_roll(
            self.chorale, path.with_suffix(".png"), title=self.summary(), clamped=self.given)
        if self.frames:
            paths["animation"] = write_gibbs_gif(self.frames, path.with_suffix(".gif"))
        return paths

    def summary(self) -> str:
        f = self.figures
        r = f.get("rules", {})
        return (f"{f.get('bars', 0):g} bars in {f.get('key_estimated', '?')}, "
                f"{f.get('gibbs_steps', 0)} Gibbs steps; per 100 steps: "
                f"{r.get('parallel_fifths', 0):.2f} parallel fifths, "
                f"{r.get('parallel_octaves', 0):.2f} octaves (Bach: "
                f"{rules_bach('parallel_fifths'):.2f}, {rules_bach('parallel_octaves'):.2f})")


def rules_bach(k: str) -> float:
    return rules.BACH[k]


def write_gibbs_gif(frames: list, path: Path) -> Path:
    from reverie.io.animation import save_animation
    from reverie.music.score import gibbs_frame
    imgs = []
    for roll, conf, erased in frames:
        pitches = from_roll(roll)
        imgs.append(gibbs_frame(pitches, conf.T, erased.T, LOW, HIGH, cell=4))
    imgs += [imgs[-1]] * 8                      # hold the last frame
    return save_animation(imgs, path, fps=8)


def _finish(model: Coconet, roll: np.ndarray, given: np.ndarray, onsets_given: np.ndarray,
            conf: np.ndarray, steps: int, cfg: GibbsConfig, name: str, frames: list,
            started: float, mechanism: str, inputs: dict, notes: list[str],
            key: str = "") -> MusicResult:
    pitches = from_roll(roll)
    given_cells = given.T                                   # (T, 4)
    onsets = ch.onsets_from_pitches(pitches)
    onsets = np.where(given_cells, onsets_given, onsets)   # given voices keep their onsets
    key = key or estimate_key(pitches)
    chorale = Chorale(name, pitches, onsets, key)
    fig_rules = rules.check([chorale])
    figures = {"bars": len(pitches) / FRAMES_PER_BAR, "frames": len(pitches),
               "gibbs_steps": steps, "key_estimated": key, "rules": fig_rules,
               "rules_bach": {k: rules.BACH[k] for k in rules.ALL_KEYS},
               "final_chord": rules.final_chord(pitches, key),
               "mean_confidence": float(conf[~given].mean()) if (~given).any() else 1.0,
               "seconds": time.perf_counter() - started}
    if model.meta.get("val_loss") is not None:
        figures["model_val_loss"] = model.meta["val_loss"]
    return MusicResult(chorale, given_cells, frames if cfg.animation else [],
                       mechanism=mechanism, config=cfg, inputs=inputs, figures=figures,
                       notes=notes, timings={"sample": time.perf_counter() - started},
                       resolved={"device": str(_device(cfg.device))})


def _device(name: str):
    from reverie.core.device import resolve_device
    return resolve_device(name)


def _model_record(model) -> dict:
    """A model file is recorded (a rerun reads it again); one in memory is not."""
    return record_input(model if isinstance(model, (str, os.PathLike)) else None)


def compose(model=None, config: Optional[ComposeConfig] = None, *, progress: Progress = silent,
            **overrides) -> MusicResult:
    """A chorale from nothing: every cell written by blocked Gibbs sampling."""
    cfg = make_config(ComposeConfig, config, **overrides)
    started = time.perf_counter()
    inputs = {"model": _model_record(model)}
    m = as_model(model)
    T = cfg.bars * FRAMES_PER_BAR
    roll = np.zeros((4, T, NUM_PITCHES), np.float32)
    outer = np.ones((4, T), bool)
    onsets = np.zeros((T, 4), bool)
    notes = []
    if cfg.key:
        chord = tonic_chord(cfg.key)
        first, last = min(4, T), min(8, T)
        for v, p in enumerate(chord):
            roll[v, :first, p - LOW] = 1.0
            roll[v, T - last:, p - LOW] = 1.0
        outer[:, :first] = False
        outer[:, T - last:] = False
        onsets[0] = True
        onsets[T - last] = True
        notes.append(f"the first and last chords are the tonic triad of {cfg.key}; the model "
                     f"wrote everything between")
    frames: list = []
    with cpu_threads():
        roll, conf, steps = gibbs(m.net, roll, outer, cfg, progress,
                                  frames if cfg.animation else None)
    res = _finish(m, roll, ~outer, onsets, conf, steps, cfg, "composed chorale", frames,
                  started, "compose_music", inputs, notes)
    if cfg.key:
        res.chorale.key = cfg.key
        res.chorale.fermatas[T - min(8, T):] = True
        res.figures["key"] = cfg.key
    return res


def melody_of(melody) -> Chorale:
    """A melody from a MIDI/MusicXML file (its highest part) or a note string."""
    if isinstance(melody, Chorale):
        return melody
    if melody is None:
        raise ReverieError("give a melody: a MIDI or MusicXML file, or notes such as "
                           "'E4:4 E4:4 F4:4 G4:4'")
    text = os.fspath(melody)
    if Path(text).suffix.lower() in (".txt", ".notes") and Path(text).is_file():
        return ch.from_notes(Path(text).read_text(encoding="utf-8", errors="replace"),
                             Path(text).stem)
    if Path(text).suffix.lower() in ch.SCORE_SUFFIXES or Path(text).is_file():
        return ch.read_score(text)
    return ch.from_notes(text)


def check_soprano(chorale: Chorale) -> None:
    import pretty_midi
    lo, hi = ch.VOICE_RANGES["soprano"]
    sop = chorale.pitches[:, 0]
    if np.isnan(sop).all():
        raise ReverieError("the melody has no notes; give notes such as 'E4:4 E4:4 F4:4 G4:4'")
    if len(sop) > 64 * FRAMES_PER_BAR:
        raise ReverieError(f"the melody is {len(sop) / FRAMES_PER_BAR:.0f} bars long; harmonise "
                           f"at most 64 bars at a time")
    bad = []
    for start, _, p in ch.voice_notes(sop, chorale.onsets[:, 0]):
        if not lo <= p <= hi:
            bad.append(f"{pretty_midi.note_number_to_name(p)} (bar {start // FRAMES_PER_BAR + 1})")
    if bad:
        shown = ", ".join(bad[:6]) + (f" and {len(bad) - 6} more" if len(bad) > 6 else "")
        raise ReverieError(
            f"melody notes outside the soprano's range "
            f"{pretty_midi.note_number_to_name(lo)}-{pretty_midi.note_number_to_name(hi)} "
            f"(MIDI {lo}-{hi}): {shown}; transpose the melody into that range")


def harmonize(model=None, melody=None, config: Optional[HarmonizeConfig] = None, *,
              progress: Progress = silent, **overrides) -> MusicResult:
    """Alto, tenor and bass under a given soprano, which comes out exactly as given
    (coconet_sample's HarmonizeMidiMelodyStrategy: HarmonizationMasker + Gibbs)."""
    cfg = make_config(HarmonizeConfig, config, **overrides)
    started = time.perf_counter()
    given_melody = melody_of(melody)
    check_soprano(given_melody)
    inputs = {"model": _model_record(model),
              "melody": record_input(melody) if not isinstance(melody, Chorale)
              else {"source": None}}
    m = as_model(model)
    sop = given_melody.pitches[:, 0]
    T = len(sop)
    pitches = np.full((T, 4), np.nan, np.float32)
    pitches[:, 0] = sop
    roll = to_roll(pitches)
    outer = np.ones((4, T), bool)
    outer[0] = False                        # the soprano is clamped (a rest stays a rest)
    onsets = np.zeros((T, 4), bool)
    onsets[:, 0] = given_melody.onsets[:, 0]
    estimated = estimate_key(sop, final_weight=0.2)
    key = cfg.key and ch.key_name(*ch.parse_key(cfg.key))
    key = key or estimated
    notes = [f"harmonised in {key} ({'given' if cfg.key else 'estimated from the melody'})"]
    allowed, cadence = None, ""
    if cfg.cadence:
        allowed, cadence = cadence_cells(sop, given_melody.onsets[:, 0], key)
        if cadence:
            notes.append(f"the last chord is held to {cadence} (the melody ends on "
                         f"{'a tonic' if cadence.lower() == 'i' else 'a dominant'}-chord tone)")
    frames: list = []
    with cpu_threads():
        roll, conf, steps = gibbs(m.net, roll, outer, cfg, progress,
                                  frames if cfg.animation else None, allowed_cells=allowed)
    res = _finish(m, roll, ~outer, onsets, conf, steps, cfg, "harmonised melody", frames,
                  started, "harmonize_music", inputs, notes, key=key)
    res.chorale.pitches[:, 0] = sop         # exactly as given, rests included
    res.chorale.onsets[:, 0] = given_melody.onsets[:, 0]
    res.figures["soprano_preserved"] = bool(np.array_equal(
        np.nan_to_num(res.chorale.pitches[:, 0], nan=-1), np.nan_to_num(sop, nan=-1)))
    res.figures.update({"key": key, "key_estimated": estimated, "cadence_asked": cadence})
    return res


def cadence_cells(sop: np.ndarray, onsets: np.ndarray, key: str
                  ) -> tuple[Optional[np.ndarray], str]:
    """(allowed (4, T, P), 'I'/'i'/'V' or '') for the melody's last note: the tonic chord with
    the bass on the tonic if that note is a tonic-chord tone, else V with the bass on the
    dominant if it is a tone of V; else no constraint."""
    last = ch.voice_notes(sop, onsets)
    if not last:
        return None, ""
    start, length, pitch = last[-1]
    tonic, mode = ch.parse_key(key)
    tonic_chord = {tonic, (tonic + (3 if mode == "minor" else 4)) % 12, (tonic + 7) % 12}
    dominant = {(tonic + 7) % 12, (tonic + 11) % 12, (tonic + 2) % 12}
    if pitch % 12 in tonic_chord:
        chord, root, name = tonic_chord, tonic, "i" if mode == "minor" else "I"
    elif pitch % 12 in dominant:
        chord, root, name = dominant, (tonic + 7) % 12, "V"
    else:
        return None, ""
    pcs = (np.arange(LOW, HIGH + 1) % 12)
    allowed = np.ones((4, len(sop), NUM_PITCHES), bool)
    span = slice(start, start + length)
    allowed[1:3, span] = np.isin(pcs, sorted(chord))
    allowed[3, span] = pcs == root
    return allowed, name


def continue_chorale(model=None, start=None, config: Optional[ContinueConfig] = None, *,
                     progress: Progress = silent, **overrides) -> MusicResult:
    """The next `bars` bars after a beginning (MIDI or MusicXML), which stays as given;
    voices missing from the beginning are written too."""
    cfg = make_config(ContinueConfig, config, **overrides)
    started = time.perf_counter()
    if start is None:
        raise ReverieError("give the beginning: a MIDI or MusicXML file of a chorale")
    begin = start if isinstance(start, Chorale) else ch.read_score(start)
    lo, hi = np.nanmin(begin.pitches), np.nanmax(begin.pitches)
    if lo < LOW or hi > HIGH:
        raise ReverieError(f"the beginning has notes outside MIDI {LOW}-{HIGH}, the chorales' "
                           f"range; transpose it into that range")
    inputs = {"model": _model_record(model),
              "start": record_input(start) if not isinstance(start, Chorale) else {"source": None}}
    m = as_model(model)
    P0 = len(begin)
    new = cfg.bars * FRAMES_PER_BAR
    pitches = np.vstack([begin.pitches, np.full((new, 4), np.nan, np.float32)])
    roll = to_roll(pitches)
    outer = np.zeros((4, P0 + new), bool)
    outer[:, P0:] = True
    missing = np.isnan(begin.pitches).all(0)       # a voice absent from the start: write it
    outer[missing, :P0] = True
    # only the frames the net can see from the new ones take part (same result, faster)
    keep_from = 0 if missing.any() else max(0, P0 - 2 * m.net.radius)
    onsets = np.vstack([begin.onsets, np.zeros((new, 4), bool)])
    frames: list = []
    with cpu_threads():
        part, conf, steps = gibbs(m.net, roll[:, keep_from:], outer[:, keep_from:], cfg,
                                  progress, frames if cfg.animation else None)
    roll[:, keep_from:] = part
    full_conf = np.ones((4, P0 + new), np.float32)
    full_conf[:, keep_from:] = conf
    res = _finish(m, roll, ~outer, onsets, full_conf, steps, cfg, "continued chorale", frames,
                  started, "continue_music", inputs, [])
    res.chorale.pitches[:P0][:, ~missing] = begin.pitches[:, ~missing]
    res.chorale.onsets[:P0][:, ~missing] = begin.onsets[:, ~missing]
    res.chorale.fermatas[:P0] = begin.fermatas
    res.figures["given_frames"] = P0
    return res
