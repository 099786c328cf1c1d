"""Sound style transfer (Ulyanov and Lebedev): round trip, texture statistics, rerun, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import assert_one_line_error, assert_rerun_identical
from reverie.audio.spectral import dominant_frequency, griffin_lim, log_spectrogram, spectral_centroid
from reverie.audio.style import AudioTextureConfig, audio_style, audio_texture
from reverie.core.config import ConfigError
from reverie.core.errors import ReverieError
from reverie.io.audio import load_audio, save_audio

SR = 22050
TINY = dict(n_filters=32, evaluations=3, griffin_lim_iters=3, n_fft=512, hop_length=128)


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
    x = tone(440.0)
    y = griffin_lim(log_spectrogram(x), iters=30, length=len(x),
                    generator=torch.Generator().manual_seed(0))
    assert abs(dominant_frequency(y, SR) - 440.0) < 440.0 * 0.01
    assert np.abs(y).max() > 0.1


def test_audio_texture_has_the_style_spectral_centroid():
    style = band_noise()
    result = audio_texture((style, SR), seconds=1.0, n_filters=256, evaluations=25,
                           griffin_lim_iters=20)
    target = spectral_centroid(style, SR)
    assert abs(spectral_centroid(result.audio, SR) - target) < 0.15 * target
    assert len(result.audio) == SR
    assert result.inputs["style"]["source"] is None  # in memory: cannot be rerun


def test_style_moves_a_low_tone_towards_the_style_centroid():
    """From the content's spectrogram (a 200 Hz tone), style alone pulls the centroid towards the hiss's."""
    content, style = tone(200.0, 1.0), band_noise()
    before = spectral_centroid(content, SR)
    result = audio_style((content, SR), (style, SR), n_filters=256, evaluations=30, init="content",
                         content_weight=0.0, griffin_lim_iters=20)
    target = spectral_centroid(style, SR)
    after = spectral_centroid(result.audio, SR)
    assert abs(after - target) < 0.6 * abs(before - target)
    assert result.figures["style_loss"] < 0.2 * result.figures["style_loss_initial"]


def test_same_seed_same_sound_other_seed_differs():
    style = (band_noise(seconds=0.5), SR)
    a = audio_texture(style, seed=1, **TINY).audio
    b = audio_texture(style, AudioTextureConfig(seed=1, **TINY)).audio
    c = audio_texture(style, seed=2, **TINY).audio
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_load_audio_mixes_to_mono_and_notes_it(tmp_path):
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([tone(), tone(660.0)], 1), 16000)
    notes = []
    x, sr = load_audio(path, notes=notes)
    assert x.ndim == 1 and sr == 16000 and "mono" in notes[0]


def test_save_audio_is_atomic_and_clips(tmp_path):
    path = save_audio(np.array([0.0, 2.0, -3.0] * 1000, np.float32), SR, tmp_path / "c.wav")
    data, _ = sf.read(path)
    assert np.abs(data).max() <= 1.0 and data[1] > 0.99 and data[2] < -0.99
    assert [p.name for p in tmp_path.iterdir()] == ["c.wav"]  # no temp file left
    with pytest.raises(ReverieError, match="use .wav"):
        save_audio(np.zeros(10, np.float32), SR, tmp_path / "c.mp3")


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


def test_audio_style_rerun_is_byte_identical(clips, tmp_path):
    result = audio_style(clips / "tone.wav", clips / "hiss.wav", **TINY)
    paths = result.save(tmp_path / "out" / "mix.wav")
    assert set(paths) == {"audio", "spectrogram", "content_spectrogram", "style_spectrogram", "sidecar"}
    assert assert_rerun_identical(paths, tmp_path)["audio"].name == "rerun.wav"


def test_audio_texture_rerun_is_byte_identical(clips, tmp_path):
    result = audio_texture(str(clips / "hiss.wav"), seconds=0.4, spectrograms=False, **TINY)
    paths = result.save(tmp_path / "out" / "tex.flac")
    assert set(paths) == {"audio", "sidecar"}
    assert sf.info(paths["audio"]).frames == round(0.4 * SR)
    assert_rerun_identical(paths, tmp_path)


def test_cli_audio_style_writes_sound_spectrograms_and_sidecar(cli, clips):
    out = clips / "out" / "mix.wav"
    code, stdout, err = cli("audio-style", clips / "tone.wav", clips / "hiss.wav", "--out", out,
                            "--filters", 64, "--evaluations", 4, "--griffin-lim-iters", 4,
                            "--no-progress", "--json")
    assert code == 0, err
    for name in ("mix.spec.png", "mix.content.spec.png", "mix.style.spec.png"):
        assert (out.parent / name).exists()
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["mechanism"] == "audio_style" and record["config"]["n_filters"] == 64
    assert record["config"]["sample_rate"] == SR and record["figures"]["style_loss"] >= 0
    assert json.loads(stdout)["outputs"]["audio"] == str(out)
    data, sr = sf.read(out)
    assert sr == SR and len(data) == len(tone(seconds=0.5))


@pytest.mark.parametrize("case,extra", [
    ("text", []), ("empty", []), ("silent", []), ("short", []), ("missing", []),
    ("long", ["--max-seconds", "1"]),
])
def test_cli_bad_audio_is_one_line_exit_2(cli, clips, case, extra):
    out = clips / "o.wav"
    code, _, err = cli("audio-texture", clips / f"{case}.wav", "--out", out, "--filters", 16,
                       "--evaluations", 1, "--no-progress", *extra)
    assert_one_line_error(code, err)
    assert not out.exists() and not out.with_suffix(".json").exists()


@pytest.mark.parametrize("args,flag", [
    (["--hop-length", "4096"], "--hop-length"),       # a rule across fields
    (["--filters", "0"], "--filters"),               # a field's own range
    (["--seconds", "0.01"], "--seconds"),            # too short for the STFT
    (["--seconds", "5", "--max-seconds", "2"], "--seconds"),
])
def test_cli_bad_setting_names_the_flag(cli, clips, args, flag):
    out = clips / "o.wav"
    code, _, err = cli("audio-texture", clips / "hiss.wav", "--out", out, "--no-progress", *args)
    assert_one_line_error(code, err)
    assert err.startswith(f"error: {flag}:"), err
    assert not out.exists()


def test_cli_bad_audio_output_suffix(cli, clips):
    out = clips / "o.mp4"
    code, _, err = cli("audio-texture", clips / "hiss.wav", "--out", out)
    assert_one_line_error(code, err)
    assert not out.exists()


def test_library_errors_name_fields_not_flags():
    with pytest.raises(ConfigError) as exc:
        audio_texture((band_noise(), SR), seconds=0.05, n_filters=8, evaluations=1)
    assert exc.value.field == "seconds" and "--" not in str(exc.value)
    with pytest.raises(ReverieError, match="no field"):
        audio_style((tone(), SR), (band_noise(), SR), iterations=3)
