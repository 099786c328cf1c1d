"""Fast style networks and styled video: the network learns its style, a mix of (1, 0) is the
first style exactly, tiles agree with one piece, the flow and occlusion mask recover a known
pan, the audio survives byte for byte, and a bad clip is one line (exit 2)."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from reverie.cli import main
from reverie.core.errors import ReverieError
from reverie.image.fast_style import (FORMAT, FORMAT_VERSION, TransformerNet, apply_fast_style,
                                      load_fast_style, stylize)
from reverie.image.video import (audio_md5, ffmpeg_exe, occlusion_mask, optical_flow,
                                 style_video, warp, warping_error)
from reverie.io.checkpoints import save_checkpoint


def _model(path, styles=("starry", "scream"), width=4, seed=0):
    """A random (untrained) network with per-style scales and shifts that differ."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = TransformerNet(len(styles), width)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(("gamma", "beta")):
                p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    save_checkpoint({"format": FORMAT, "format_version": FORMAT_VERSION, "styles": list(styles),
                     "width": width, "model": net.state_dict(), "config": {}}, path)
    return path


def _texture(h, w, seed=0):
    """A smooth random colour texture (flow has something to hold on to)."""
    import cv2
    rng = np.random.default_rng(seed)
    noise = rng.random((h // 4 + 2, w // 4 + 2, 3)).astype(np.float32)
    return cv2.resize(noise, (w + 8, h + 8), interpolation=cv2.INTER_CUBIC)[4:4 + h, 4:4 + w]


def _clip(path, frames, fps=10, audio=True):
    """Frames ((H, W, 3) uint8) as an H.264 .mp4, with a sine tone as its audio."""
    raw = path.with_suffix(".rgb")
    raw.write_bytes(b"".join(np.ascontiguousarray(f).tobytes() for f in frames))
    h, w = frames[0].shape[:2]
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
           f"{w}x{h}", "-r", str(fps), "-i", str(raw)]
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050",
                "-t", str(len(frames) / fps), "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv444p" if w % 2 or h % 2 else "yuv420p",
            str(path)]
    subprocess.run(cmd, check=True)
    return path


def _pan(n=6, h=48, w=64, shift=3):
    """A camera panning left over a texture: the content moves right by `shift` a frame."""
    tex = _texture(h, w + shift * n)
    return [(tex[:, shift * (n - t):shift * (n - t) + w] * 255).astype(np.uint8)
            for t in range(n)]


# -- the network --------------------------------------------------------------------------------

def test_a_few_steps_lower_the_style_loss():
    from reverie.image.fast_style_train import train_fast_style
    kw = dict(width=8, image_size=48, batch_size=2, style_size=48, held_out=["chelsea"],
              learning_rate=1e-2, eval_every=100, checkpoint_every=100, threads=1)
    fresh = train_fast_style("sample:gravel", max_steps=1, **kw)
    trained = train_fast_style("sample:gravel", max_steps=25, **kw)
    assert trained.figures["val_style"] < 0.8 * fresh.figures["val_style"]
    assert trained.figures["train_photos"] and "chelsea" not in trained.figures["train_photos"]


def test_a_mix_of_one_and_zero_is_the_first_style_exactly(tmp_path):
    model = _model(tmp_path / "two.pt")
    first = apply_fast_style(str(model), "sample:coffee", size=64, device="cpu").image
    mixed = apply_fast_style(str(model), "sample:coffee", size=64, mix=["starry=1", "scream=0"],
                             device="cpu").image
    assert torch.equal(first, mixed)
    second = apply_fast_style(str(model), "sample:coffee", size=64, mix=["scream"],
                              device="cpu").image
    half = apply_fast_style(str(model), "sample:coffee", size=64,
                            mix=["starry=0.5", "scream=0.5"], device="cpu").image
    assert (first - second).abs().mean() > 0.01
    assert 0 < (half - first).abs().mean() < (second - first).abs().mean()


def test_mix_names_a_style_the_model_has(tmp_path):
    model = _model(tmp_path / "two.pt")
    with pytest.raises(ReverieError) as err:
        apply_fast_style(str(model), "sample:coffee", size=64, mix=["monet=1"])
    assert "starry, scream" in str(err.value) and "\n" not in str(err.value)


def test_tiles_agree_with_one_piece(tmp_path):
    fs = load_fast_style(_model(tmp_path / "one.pt", styles=("a",)))
    image = torch.from_numpy(_texture(96, 120)).permute(2, 0, 1)
    mix = fs.mix(None)
    whole = stylize(fs.net, image, mix)
    tiled = stylize(fs.net, image, mix, tile=96, overlap=32)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().mean() < 0.02


def test_the_fused_norm_is_instance_norm_with_each_rows_mix():
    """The one-pass norm (batch norm over B*C channels) against the textbook formula, for a
    batch whose rows mix the styles differently, and against the kept-statistics path."""
    from reverie.image.fast_style import CondInstanceNorm, Norms
    torch.manual_seed(0)
    norm = CondInstanceNorm(6, 3)
    with torch.no_grad():
        norm.gamma.uniform_(0.5, 2)
        norm.beta.normal_()
    x, mix = torch.randn(2, 6, 10, 12) * 3 + 1, torch.tensor([[1., 0, 0], [0.2, 0.3, 0.5]])
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    textbook = ((x - mean) / torch.sqrt(var + 1e-5) * (mix @ norm.gamma)[:, :, None, None]
                + (mix @ norm.beta)[:, :, None, None])
    kept = Norms(record=True)
    assert torch.allclose(norm(x, mix, None), textbook, atol=1e-5)
    assert torch.allclose(norm(x, mix, kept), textbook, atol=1e-5)
    assert torch.allclose(norm(x, mix, Norms(fixed=kept.kept)), textbook, atol=1e-5)


def test_freed_memory_is_kept_for_the_next_tensor():
    import platform
    from reverie.core.memory import reuse_freed_memory
    took = reuse_freed_memory()
    assert took == (platform.libc_ver()[0] == "glibc")


def test_the_cli_trains_and_applies(tmp_path, capsys):
    out = tmp_path / "m.pt"
    # a photo and a bundled painting as the styles
    assert main(["fast-style", "train", "sample:gravel", "sample:starry-night", "--out", str(out),
                 "--max-steps", "2", "--width", "4", "--image-size", "32", "--batch-size", "1",
                 "--held-out", "chelsea", "--threads", "1", "--no-progress"]) == 0
    assert load_fast_style(out).styles == ["gravel", "starry-night"]
    png = tmp_path / "c.png"
    assert main(["fast-style", "apply", str(out), "sample:chelsea", "--out", str(png), "--size",
                 "64", "--mix", "gravel=0.7", "starry-night=0.3", "--no-progress"]) == 0
    assert png.is_file() and (tmp_path / "c.json").is_file()


# -- video --------------------------------------------------------------------------------------

def test_flow_and_occlusion_recover_a_known_pan():
    frames = _pan(n=2, shift=3)
    prev, cur = frames[0], frames[1]
    backward = optical_flow(cur, prev)
    forward = optical_flow(prev, cur)
    inner = backward[8:-8, 10:-8]
    assert np.median(inner[..., 0]) == pytest.approx(-3, abs=0.3)
    assert np.abs(np.median(inner[..., 1])) < 0.3
    mask = occlusion_mask(backward, forward)
    assert mask[:, :3].mean() < 0.05            # the strip the pan uncovered
    assert mask[8:-8, 10:-8].mean() > 0.9
    warped = warp(prev.astype(np.float32) / 255, backward)
    err = warping_error(cur.astype(np.float32) / 255, prev.astype(np.float32) / 255, backward, mask)
    assert err < 1e-3
    assert np.abs(warped - cur / 255.0)[8:-8, 10:-8].mean() < 0.02


def test_styled_video_flickers_less_and_keeps_its_audio(tmp_path, capsys):
    clip = _clip(tmp_path / "pan.mp4", _pan(n=8))
    model = _model(tmp_path / "m.pt")
    out = tmp_path / "styled.mp4"
    assert main(["style-video", str(clip), "--model", str(model), "--out", str(out),
                 "--no-progress", "--json"]) == 0
    import json
    report = json.loads(capsys.readouterr().out)
    f = report["figures"]
    assert f["frames"] == 8 and f["audio"] == "copied"
    assert f["warping_error"] < f["baseline_warping_error"]
    assert audio_md5(out) == audio_md5(clip) is not None
    sidecar = json.loads((tmp_path / "styled.json").read_text())
    assert sidecar["figures"]["flicker_ratio"] < 1


def test_gatys_video_starts_from_the_warped_frame(tmp_path):
    clip = _clip(tmp_path / "pan.mp4", _pan(n=2, h=32, w=32), audio=False)
    result = style_video(str(clip), style="sample:gravel", iterations=2, initial_iterations=3,
                         device="cpu")
    assert result.figures["painter"] == "gatys" and result.figures["frames"] == 2
    paths = result.save(tmp_path / "g.mp4")
    assert paths["video"].is_file() and result.figures["audio"] == "none"


def test_an_odd_sized_clip_is_painted_cropped_to_even_sides(tmp_path):
    clip = _clip(tmp_path / "odd.mp4", [f[:33, :35] for f in _pan(n=3)], audio=False)
    result = style_video(str(clip), model=str(_model(tmp_path / "m.pt")), device="cpu")
    assert result.figures["size"] == [34, 32]
    result.save(tmp_path / "o.mp4")


def _no_frames(tmp_path):
    path = tmp_path / "silence.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=300:sample_rate=8000", "-t", "0.5", "-c:a", "aac",
                    str(path)], check=True)
    return path


@pytest.mark.parametrize("bad", ["text", "no frames", "tiny", "missing"])
def test_a_bad_clip_is_one_line(bad, tmp_path, capsys):
    if bad == "text":
        clip = tmp_path / "notes.mp4"
        clip.write_text("not a video at all")
    elif bad == "no frames":
        clip = _no_frames(tmp_path)
    elif bad == "tiny":
        clip = _clip(tmp_path / "tiny.mp4", [np.zeros((8, 10, 3), np.uint8)] * 2, audio=False)
    else:
        clip = tmp_path / "gone.mp4"
    model = _model(tmp_path / "m.pt")
    code = main(["style-video", str(clip), "--model", str(model), "--out",
                 str(tmp_path / "o.mp4"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err
    assert "Traceback" not in err


def test_style_video_wants_a_model_or_a_style(tmp_path):
    clip = _clip(tmp_path / "pan.mp4", _pan(n=2), audio=False)
    with pytest.raises(ReverieError):
        style_video(str(clip))


def test_the_studio_takes_a_video_upload(tmp_path):
    from reverie.studio.files import check_upload
    clip = _clip(tmp_path / "pan.mp4", _pan(n=2), audio=False)
    check_upload("video", clip)
    bad = tmp_path / "x.mp4"
    bad.write_text("no")
    with pytest.raises(ReverieError):
        check_upload("video", bad)


def test_init_from_a_network_with_other_styles_keeps_all_but_their_scales(tmp_path):
    from reverie.image.fast_style_train import train_fast_style
    kw = dict(width=4, image_size=32, batch_size=1, style_size=32, held_out=["chelsea"],
              eval_every=100, checkpoint_every=100, threads=1)
    one = train_fast_style("sample:gravel", out=tmp_path / "one.pt", max_steps=2, **kw)
    two = train_fast_style(["sample:gravel", "sample:brick"], out=tmp_path / "two.pt",
                           max_steps=1, learning_rate=1e-12, init=str(tmp_path / "one.pt"), **kw)
    assert any("started from the weights" in n for n in two.notes)
    a, b = one.model.state_dict(), two.model.state_dict()
    torch.testing.assert_close(b["down.0.conv.weight"], a["down.0.conv.weight"], atol=1e-6, rtol=0)
    assert b["down_norms.0.gamma"].shape[0] == 2


def test_the_studio_paints_an_uploaded_clip_with_an_uploaded_model(tmp_path):
    pytest.importorskip("fastapi")
    from conftest import studio_client
    from reverie.studio.app import Settings, create_app
    clip = _clip(tmp_path / "pan.mp4", _pan(n=3), audio=True)
    model = _model(tmp_path / "m.pt")
    app = create_app(Settings(tmp_path / "studio", workers=1))
    with studio_client(app) as client:
        files = {"clip__file": ("pan.mp4", clip.read_bytes(), "video/mp4"),
                 "model__file": ("m.pt", model.read_bytes(), "application/octet-stream")}
        r = client.post("/m/style_video/run", data={"blend": "0.5"}, files=files,
                        headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        job = app.state.jobs.wait(r.json()["job"], 120)
        assert job.status == "done", job.error
        assert any(n.endswith(".mp4") for n in job.outputs.values())
    app.state.jobs.stop()


def test_a_styled_video_carries_its_settings_and_reruns_from_a_copy(tmp_path, capsys):
    from reverie.io.embed import read_record
    clip = _clip(tmp_path / "pan.mp4", _pan(n=3, h=32, w=32), audio=True)
    out = tmp_path / "styled.mp4"
    assert main(["style-video", str(clip), "--model", str(_model(tmp_path / "m.pt")), "--out",
                 str(out), "--blend", "0.25", "--no-progress"]) == 0
    inside = read_record(out)  # the MP4's comment tag, read back by ffmpeg
    assert inside["mechanism"] == "style_video" and inside["config"]["blend"] == 0.25
    assert "timings" not in inside  # nothing that changes from run to run
    assert audio_md5(out) == audio_md5(clip) is not None  # adding it copied the streams
    away = tmp_path / "elsewhere"
    away.mkdir()
    copy = away / "clip.mp4"
    copy.write_bytes(out.read_bytes())
    assert main(["rerun", str(copy), "--no-progress"]) == 0
    assert (away / "clip-rerun.mp4").read_bytes() == out.read_bytes()
    capsys.readouterr()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(out.read_bytes()[:-40])
    for bad, words in [(clip, "carries no Reverie settings"), (cut, "truncated")]:
        assert main(["rerun", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and words in err and "\n" not in err, err

