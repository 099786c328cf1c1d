"""Sound style transfer (Ulyanov and Lebedev): round trip, texture statistics, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from reverie.audio.style import (AudioStyleConfig, audio_style, audio_texture, dominant_frequency,
                                 griffin_lim, load_audio, log_spectrogram, spectral_centroid)
from reverie.cli import main
from reverie.core.errors import ReverieError

SR = 22050


def tone(freq=440.0, seconds=1.0, sr=SR):
    t = np.arange(int(sr * seconds)) / sr
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def band_noise(lo=2500.0, hi=4500.0, seconds=1.5, sr=SR, seed=0):
    """White noise band-passed in the FFT domain: a hiss with a known centroid."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spectrum[(freqs < lo) | (freqs > hi)] = 0
    x = np.fft.irfft(spectrum, n)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def test_round_trip_of_a_tone_keeps_its_pitch():
    cfg = AudioStyleConfig(griffin_lim_iters=30)
    x = tone(440.0)
    y = griffin_lim(log_spectrogram(x, cfg), cfg, length=len(x))
    assert abs(dominant_frequency(y, SR) - 440.0) < 440.0 * 0.01
    assert np.abs(y).max() > 0.1


def test_audio_texture_has_the_style_spectral_centroid():
    style = band_noise()
    result = audio_texture((style, SR), seconds=1.0, n_filters=256, iterations=25, griffin_lim_iters=20)
    target = spectral_centroid(style, SR)
    assert abs(spectral_centroid(result.audio, SR) - target) < 0.15 * target
    assert len(result.audio) == SR


def test_style_moves_a_low_tone_towards_the_style_centroid():
    """From the content's spectrogram (a 200 Hz tone), style alone pulls the centroid towards the hiss's."""
    content, style = tone(200.0, 1.0), band_noise()
    before = spectral_centroid(content, SR)
    result = audio_style((content, SR), (style, SR), n_filters=256, iterations=30, init="content",
                         content_weight=0.0, griffin_lim_iters=20)
    target = spectral_centroid(style, SR)
    after = spectral_centroid(result.audio, SR)
    assert abs(after - target) < 0.6 * abs(before - target)
    assert result.losses["style"] < 0.2 * result.losses["style_initial"]


def test_load_audio_mixes_to_mono_and_notes_it(tmp_path):
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([tone(), tone(660.0)], 1), 16000)
    notes = []
    x, sr = load_audio(path, notes=notes)
    assert x.ndim == 1 and sr == 16000 and "mono" in notes[0]


@pytest.fixture
def clips(tmp_path):
    sf.write(tmp_path / "tone.wav", tone(seconds=0.5), SR)
    sf.write(tmp_path / "hiss.wav", band_noise(seconds=0.5), SR)
    sf.write(tmp_path / "silent.wav", np.zeros(SR // 2, np.float32), SR)
    sf.write(tmp_path / "short.wav", tone(seconds=0.01), SR)
    sf.write(tmp_path / "long.wav", tone(seconds=3.0), SR)
    (tmp_path / "text.wav").write_text("this is not audio")
    (tmp_path / "empty.wav").write_bytes(b"")
    return tmp_path


def test_cli_audio_style_writes_sound_spectrograms_and_sidecar(clips):
    out = clips / "out" / "mix.wav"
    code = main(["audio-style", str(clips / "tone.wav"), str(clips / "hiss.wav"), "--out", str(out),
                 "--filters", "64", "--iterations", "4", "--griffin-lim-iters", "4", "--no-progress"])
    assert code == 0 and out.exists()
    for name in ("mix.spec.png", "mix.content.spec.png", "mix.style.spec.png"):
        assert (out.parent / name).exists()
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["config"]["n_filters"] == 64 and record["losses"]["style"] >= 0
    data, sr = sf.read(out)
    assert sr == SR and len(data) == len(tone(seconds=0.5))


@pytest.mark.parametrize("case,extra", [
    ("text", []), ("empty", []), ("silent", []), ("short", []), ("missing", []),
    ("long", ["--max-seconds", "1"]),
])
def test_cli_bad_audio_is_one_line_exit_2(clips, capsys, case, extra):
    out = clips / "o.wav"
    code = main(["audio-texture", str(clips / f"{case}.wav"), "--out", str(out), "--filters", "16",
                 "--iterations", "1", "--no-progress", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error:") and "\n" not in err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_cli_bad_audio_output_suffix(clips, capsys):
    out = clips / "o.mp4"
    assert main(["audio-texture", str(clips / "hiss.wav"), "--out", str(out)]) == 2
    assert not out.exists()


def test_texture_too_long_or_short_is_refused():
    with pytest.raises(ReverieError):
        audio_texture((band_noise(), SR), seconds=0.05, n_filters=8, iterations=1)
