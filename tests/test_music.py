"""Music: chorale data, Coconet (training, harmonising, composing), the chord Markov
baseline, the rule checker, scores in and out, and the CLI's bad-input errors.

Small and fast: six chorales parsed straight from music21 (not the whole corpus) and nets
of a few layers trained for a few dozen steps."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import THREADS, assert_one_line_error
from reverie.cli import main
from reverie.core.errors import ReverieError
from reverie.music import chorales as ch
from reverie.music import coconet, rules
from reverie.music.coconet_train import train_coconet
from reverie.music.evaluation import evaluate
from reverie.music.harmonize import compose, continue_chorale, harmonize
from reverie.music.markov import ChordMarkov
from reverie.music.score import write_midi, write_musicxml

NAMES = ["bach/bwv269", "bach/bwv347", "bach/bwv153.1", "bach/bwv86.6", "bach/bwv267",
         "bach/bwv281"]
MELODY = "E4:4 E4:4 F4:4 G4:4 G4:4 F4:4 E4:4 D4:4 C4:4 C4:4 D4:4 E4:4 E4:6 D4:2 D4:8"


def tiny(**kw) -> coconet.CoconetConfig:
    base = dict(num_layers=4, num_filters=8, batch_size=8, crop_piece_len=16, max_steps=40,
                eval_every=10, checkpoint_every=10, learning_rate=5e-3, threads=THREADS)
    base.update(kw)
    return coconet.CoconetConfig(**base)


@pytest.fixture(scope="module")
def pieces() -> list[ch.Chorale]:
    from music21 import corpus
    return [ch._score_to_chorale(corpus.parse(n), n.split("/")[-1], key="") for n in NAMES]


@pytest.fixture(scope="module")
def model(pieces, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("music") / "tiny.pt"
    train_coconet(pieces=(pieces[:5], pieces[5:]), config=tiny(max_steps=30), out=path)
    return str(path)


def test_chorales_hold_four_voices_with_onsets(pieces):
    c = pieces[0]
    assert c.pitches.shape[1] == 4 and c.pitches.dtype == np.float32
    assert c.onsets.shape == c.pitches.shape and c.fermatas.shape == (len(c),)
    assert c.fermatas.any()                        # bwv269 has fermatas
    # a held note is one onset, not one per sixteenth
    assert c.onsets.sum() < (~np.isnan(c.pitches)).sum() / 2
    shifts = ch.shifts_in_range(c)
    assert 0 in shifts and all(not ch.voice_range_violations(ch.transpose(c, s).pitches)
                               for s in shifts)
    assert ch.transpose(ch.Chorale("x", c.pitches, c.onsets, "D major"), 2).key == "E major"


def test_the_shipped_parse_equals_a_fresh_one(pieces, tmp_path, monkeypatch):
    # builtin:chorales loads the parse the package ships (no minute of parsing) ...
    monkeypatch.setenv("REVERIE_CACHE", str(tmp_path))
    monkeypatch.setattr(ch, "_parse_corpus", lambda progress=None: pytest.fail("parsed"))
    shipped = {c.name: c for c in ch.load_chorales()}
    assert len(shipped) > 300 and ch.shipped_file().is_file()
    # ... and it is what music21 gives today, note for note
    for p in pieces:
        s = shipped[p.name]
        np.testing.assert_array_equal(s.pitches, p.pitches)   # NaN rests compare equal
        np.testing.assert_array_equal(s.onsets, p.onsets)
        np.testing.assert_array_equal(s.fermatas, p.fermatas)
    from music21 import corpus
    assert shipped["bwv269"].key == ch._score_to_chorale(corpus.parse(NAMES[0]), "bwv269").key


def test_split_is_by_piece_and_stable(pieces):
    a = ch.split_chorales(pieces)
    moved = [ch.transpose(p, 2) for p in pieces]
    b = ch.split_chorales(moved)                   # transpositions land with their original
    assert [[p.name for p in part] for part in a] == \
           [[p.name[:-2] for p in part] for part in b]


def test_training_lowers_held_out_loss(pieces):
    before = train_coconet(pieces=(pieces[:5], pieces[5:]), config=tiny(max_steps=1))
    after = train_coconet(pieces=(pieces[:5], pieces[5:]), config=tiny(max_steps=60))
    assert after.figures["val_loss"] < before.figures["val_loss"] - 0.3


def test_harmonisation_keeps_the_soprano_exactly(model, tmp_path):
    result = harmonize(model, MELODY, gibbs_steps=20, seed=1)
    given = ch.from_notes(MELODY)
    got = result.chorale
    assert np.array_equal(got.pitches[:, 0], given.pitches[:, 0])
    assert np.array_equal(got.onsets[:, 0], given.onsets[:, 0])   # repeated notes stay repeated
    assert not np.isnan(got.pitches[:, 1:]).any()                  # the model wrote the rest
    paths = result.save(tmp_path / "h.mid")
    assert {"midi", "musicxml", "audio", "piano_roll", "animation", "sidecar"} <= set(paths)
    back = ch.read_score(paths["midi"])
    assert np.array_equal(back.pitches[: len(got), 0], given.pitches[:, 0])
    record = json.loads(paths["sidecar"].read_text())
    assert record["figures"]["soprano_preserved"] is True
    assert "synthesiser" in record["figures"] and "rules_bach" in record["figures"]


def test_harmonisation_sounds_four_voices_in_the_key_and_ends_on_a_cadence(model, pieces):
    result = harmonize(model, MELODY.replace("D4:8", "C4:8"), gibbs_steps=30, seed=3,
                       animation=False)
    f = result.figures
    assert f["key"] == f["key_estimated"] == "C major" and f["cadence_asked"] == "I"
    assert f["rules"]["four_voices_sounding"] == 1.0
    assert not np.isnan(result.chorale.pitches).any()
    last = result.chorale.pitches[-1]
    assert int(last[3]) % 12 == 0 and {int(x) % 12 for x in last} <= {0, 4, 7}
    assert f["final_chord"] == "I" and "beat_parallels" in f["rules"]
    # a melody ending on the second degree closes on V (a half cadence); the key given wins
    half = harmonize(model, "E4:4 F4:4 G4:4 D4:8", key="c minor", gibbs_steps=10,
                     animation=False)
    assert half.figures["key"] == "C minor" and half.figures["cadence_asked"] == "V"
    assert int(half.chorale.pitches[-1, 3]) % 12 == 7
    # the chord Markov baseline harmonises too, keeping the soprano
    sop = ch.from_notes(MELODY).pitches[:, 0]
    p = ChordMarkov(order=2).fit(pieces[:3]).harmonize(sop, seed=0)
    assert np.array_equal(p[:, 0], sop) and not np.isnan(p).any()


def test_composed_voices_stay_in_range_and_key_is_kept(model):
    result = compose(model, bars=2, key="D major", gibbs_steps=30, seed=2,
                     animation=False)
    p = result.chorale.pitches
    assert p.shape == (32, 4) and not np.isnan(p).any()
    assert ch.voice_range_violations(p) == []
    assert result.figures["rules"]["steps"] > 0 and not result.given[4:-8].any()
    first = {int(x) % 12 for x in p[0]}
    assert first == {2, 6, 9}                      # the tonic triad of D major: D, F#, A


def test_midi_and_musicxml_round_trip(pieces, tmp_path):
    c = pieces[1]
    for path, writer in ((tmp_path / "x.mid", write_midi), (tmp_path / "x.musicxml", write_musicxml)):
        writer(c, path)
        back = ch.read_score(path)
        n = len(c)
        assert np.array_equal(np.nan_to_num(back.pitches[:n], nan=-1), np.nan_to_num(c.pitches, nan=-1))
        assert np.array_equal(back.onsets[:n], c.onsets)


def test_note_strings():
    c = ch.from_notes("C4:4 R:2 Bb3:2 F#5")
    assert c.notes[0] == [(0, 4, 60), (6, 2, 58), (8, 4, 78)]
    with pytest.raises(ReverieError):
        ch.from_notes("C4:0")


def test_markov_fits_its_training_data_better_than_order_0(pieces):
    m = ChordMarkov(order=2).fit(pieces[:4])
    assert m.nll(pieces[:4]) < m.nll(pieces[:4], order=0) - 1.0
    # probabilities of every chord sum to one (here: over a small closed set is impossible,
    # so check a held-out piece gets a finite likelihood)
    assert np.isfinite(m.nll(pieces[4:]))


def _piece(chords):
    p = np.array(chords, np.float32)
    return ch.Chorale("t", np.repeat(p, 4, 0), np.tile(np.array([[1, 1, 1, 1], [0, 0, 0, 0],
                      [0, 0, 0, 0], [0, 0, 0, 0]], bool), (len(chords), 1)))


def test_rule_checker_finds_a_planted_parallel_fifth():
    # C major to D major with bass and tenor a fifth apart both times (C3-G3 to D3-A3)
    bad = _piece([[72, 64, 55, 48], [71, 67, 57, 50]])
    c = rules.counts(bad.pitches, bad.onsets)
    assert c["parallel_fifths"] == 1 and c["parallel_octaves"] == 0
    assert c["where"] == [("parallel_fifths", 1, 2, 3)]
    # I - IV - V - I, voiced as a textbook would: nothing to flag
    good = _piece([[72, 64, 55, 48], [72, 65, 57, 53], [71, 62, 55, 43], [72, 64, 55, 48]])
    figures = rules.check([good])
    assert figures["steps"] == 3
    assert all(figures[k] == 0 for k in rules.KEYS)


def test_parallels_by_candidate_counts_what_the_checker_would(pieces):
    # the sampler's second expert must count exactly the checker's parallels: put each
    # candidate note into a real chorale and count the parallels the checker then finds
    # on the steps into and out of that frame involving that voice
    rng = np.random.default_rng(0)
    real = pieces[0].pitches[:48].copy()
    candidates = np.arange(36, 82)
    for _ in range(12):
        t, v = int(rng.integers(1, 47)), int(rng.integers(0, 4))
        counted = rules.parallels_by_candidate(real, candidates, beat=0)[t, v]
        for k, note in enumerate(candidates):
            q = real.copy()
            q[t, v] = note
            onsets = ch.onsets_from_pitches(q)
            frames = np.flatnonzero(onsets.any(1))
            found = [w for w in rules.counts(q, onsets)["where"]
                     if v in w[2:] and frames[w[1]] in (t, t + 1)]
            assert counted[k] == len(found), (t, v, note)
    # ... and on a beat, the beat changes into and out of it as the beat checker finds them
    for t in (8, 20, 32):
        for v in range(4):
            beat_only = (rules.parallels_by_candidate(real, candidates)[t, v]
                         - rules.parallels_by_candidate(real, candidates, beat=0)[t, v])
            for k, note in enumerate(candidates):
                q = real.copy()
                q[t, v] = note
                found = [w for w in rules.beat_counts(q, ch.onsets_from_pitches(q))["beat_where"]
                         if v in w[2:] and w[1] in (t, t + rules.BEAT)]
                assert beat_only[k] == len(found), (t, v, note)
    every = rules.parallels_by_candidate(real, candidates, beat=0)
    assert every.sum() > 0                                            # it can find some
    # an unknown alto (a cell not yet written) silences the steps it stands on
    t = int(np.flatnonzero(every[:, 0].sum(1) > 0)[0])
    real[t, 1] = np.nan
    assert rules.parallels_by_candidate(real, candidates, beat=0)[t, [0, 2, 3]].sum() == 0


def test_the_beat_checker_finds_a_parallel_fifth_across_a_passing_note():
    # C major to D major on successive beats, tenor and bass a fifth apart on both (C3-G3
    # to D3-A3), but the tenor moves through a passing G#3 a sixteenth before the beat:
    # frame to frame nothing is parallel, beat to beat the teacher finds the fifth
    p = np.repeat(np.array([[72, 64, 55, 48], [71, 67, 57, 50]], np.float32), 4, 0)
    p[3, 2] = 56                                       # the passing note
    on = ch.onsets_from_pitches(p)
    c = rules.counts(p, on)
    assert c["parallel_fifths"] == 0 and c["beat_parallel_fifths"] == 1
    assert c["beat_where"] == [("beat_parallel_fifths", 4, 2, 3)]
    assert rules.check([(p, on)])["beat_parallels"] == 100.0
    # the sampler's counter sees it too, at the beat
    assert rules.parallels_by_candidate(p, np.array([50]))[4, 3, 0] == 1
    assert rules.parallels_by_candidate(p, np.array([50]), beat=0)[4, 3, 0] == 0
    # I - IV - V - I with passing notes, voiced as a textbook would: nothing to flag
    good = _piece([[72, 64, 55, 48], [72, 65, 57, 53], [71, 62, 55, 43], [72, 64, 55, 48]])
    good.pitches[3, 1], good.pitches[7, 2] = 65, 56
    f = rules.check([ch.Chorale("g", good.pitches, ch.onsets_from_pitches(good.pitches))])
    assert f["beat_steps"] == 3 and f["beat_parallels"] == 0 and f["parallel_fifths"] == 0
    assert f["four_voices_sounding"] == 1.0


def test_leaps_and_roman_numerals():
    p = np.repeat(np.array([[72, 64, 55, 48], [72, 70, 55, 35], [72, 64, 55, 48]], np.float32),
                  4, 0)                                # alto leaps a tritone, bass an octave+
    f = rules.leaps(p, ch.onsets_from_pitches(p))
    assert f == {"leaps_over_octave": 2, "tritone_leaps": 2, "moves": 4}
    n = rules.leaps_by_candidate(p, np.array([64, 70]))
    assert n[4, 1].tolist() == [1, 1] and n[6, 1].tolist() == [2, 0]
    assert rules.roman_numeral([74, 66, 57, 50], "D major") == "I"
    assert rules.roman_numeral([69, 61, 52, 45], "D major") == "V"
    assert rules.roman_numeral([65, 59, 55, 43], "C major") == "V7"
    assert rules.roman_numeral([67, 64, 60, 52], "C major") == "I6"
    assert rules.roman_numeral([71, 62, 59, 47], "b minor") == "i"
    assert rules.final_chord(p, "C major") == "I"


@pytest.mark.parametrize("key", ["D major", "B minor", "Eb major", "F# minor"])
def test_the_key_estimate_finds_a_planted_scale(key):
    tonic, mode = ch.parse_key(key)
    steps = [0, 2, 3, 5, 7, 8, 11, 12] if mode == "minor" else [0, 2, 4, 5, 7, 9, 11, 12]
    base = 60 + tonic
    scale = [base + s for s in steps] + [base + s for s in steps[::-1]] + [base]
    notes = " ".join(f"{ch.NOTE_NAMES[p % 12]}{p // 12 - 1}:4" for p in scale)
    melody = ch.from_notes(notes)
    assert ch.estimate_key(melody.pitches[:, 0], final_weight=0.2) == key
    assert ch.estimate_key(melody.pitches[:, 0]) == key


def test_the_parallel_penalty_steers_the_sampler_away_from_parallels(model):
    def parallels(penalty):              # counts over eight harmonisations (~500 steps)
        made = [harmonize(model, MELODY, seed=s, animation=False,
                          parallel_penalty=penalty).chorale for s in range(8)]
        found = [rules.counts(c.pitches, c.onsets) for c in made]
        return sum(f["parallel_fifths"] + f["parallel_octaves"] for f in found)
    unguided, guided = parallels(0.0), parallels(8.0)
    # seeds 1337 and 0 (the same at 1 and 2 threads): 7 and 9 unguided, 1 and 1 guided
    assert unguided >= 5 and guided <= unguided / 3


def test_the_range_penalty_keeps_voices_in_their_textbook_ranges(model):
    def out_of_range(penalty):
        made = [compose(model, bars=2, gibbs_steps=40, seed=s, animation=False,
                        range_penalty=penalty).chorale for s in range(4)]
        lows, highs = np.array(list(rules.TEXTBOOK_RANGES.values())).T
        p = np.concatenate([c.pitches for c in made])
        return int(((p < lows) | (p > highs)).sum())
    unguided = out_of_range(0.0)
    assert unguided >= 10 and out_of_range(8.0) <= unguided / 4


def test_evaluation_scores_frames_and_notes(model, pieces):
    figures = evaluate(model, pieces[5:], frames_per_piece=8)
    assert figures["frames_scored"] == 8
    assert 0 < figures["nll_per_note"] < figures["nll_per_frame"]


def test_continue_keeps_the_beginning(model, pieces, tmp_path):
    start = ch.Chorale("s", pieces[0].pitches[:32], pieces[0].onsets[:32])
    write_midi(start, tmp_path / "start.mid")
    result = continue_chorale(model, str(tmp_path / "start.mid"), bars=1,
                              gibbs_steps=10, animation=False)
    assert len(result.chorale) == 48
    assert np.array_equal(result.chorale.pitches[:32], start.pitches)


def test_cli_compose_and_train(model, pieces, tmp_path, capsys):
    out = tmp_path / "c.mid"
    assert main(["music", "compose", model, "--bars", "1", "--gibbs-steps", "5", "--out",
                 str(out), "--no-progress", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["figures"]
    assert out.exists() and out.with_suffix(".wav").exists() and "rules" in figures
    folder = tmp_path / "scores"
    folder.mkdir()
    for i, c in enumerate(pieces):
        write_midi(c, folder / f"p{i}.mid")
    m = tmp_path / "m.pt"
    assert main(["music", "train", str(folder), "--out", str(m), "--max-steps", "3",
                 "--num-layers", "4", "--num-filters", "8", "--crop-piece-len", "16",
                 "--no-progress"]) == 0
    assert coconet.load_coconet(m).config.num_layers == 4


@pytest.mark.parametrize("case", ["corrupt_midi", "empty_musicxml", "out_of_range", "unknown_key",
                                  "other_model", "bad_note", "empty_melody", "bad_duration",
                                  "bad_harmony_key"])
def test_bad_inputs_give_one_line_and_write_nothing(case, model, tmp_path, capsys):
    out = tmp_path / "out" / "x.mid"
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    empty = tmp_path / "empty.musicxml"
    empty.write_text('<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1">'
                     '<part-list><score-part id="P1"><part-name>S</part-name></score-part>'
                     '</part-list><part id="P1"><measure number="1"><attributes><divisions>1'
                     '</divisions></attributes><note><rest/><duration>4</duration></note>'
                     '</measure></part></score-partwise>')
    other = tmp_path / "other.pt"
    torch.save({"format": "reverie-charlm", "model": {}}, other)
    args = {"corrupt_midi": ["harmonize", model, str(corrupt)],
            "empty_musicxml": ["harmonize", model, str(empty)],
            "out_of_range": ["harmonize", model, "C6:4 D4:4 G3:4"],
            "unknown_key": ["compose", model, "--key", "H major"],
            "other_model": ["compose", str(other)],
            "bad_note": ["harmonize", model, "X4:4"],
            "empty_melody": ["harmonize", model, " "],
            "bad_duration": ["harmonize", model, "E4:4 F4:1.5 G4:4"],
            "bad_harmony_key": ["harmonize", model, "E4:4", "--key", "H minor"]}[case]
    code = main(["music", *args, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert_one_line_error(code, err)
    if case == "out_of_range":
        assert "C6" in err and "G3" in err and "A3-A5" in err
    assert not out.parent.exists() or not any(out.parent.iterdir())   # nothing written


def test_harmonisation_reruns_byte_identical(model, tmp_path):
    from conftest import assert_rerun_identical
    result = harmonize(model, "E4:4 F4:4 G4:8", gibbs_steps=10, seed=4)
    paths = result.save(tmp_path / "h.mid")
    assert_rerun_identical(paths, tmp_path)
