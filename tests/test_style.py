"""Style transfer and texture synthesis: behaviour on tiny images, few evaluations."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import assert_one_line_error, assert_rerun_identical
from reverie.core.config import ConfigError
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.image.style import (StyleConfig, TextureConfig, evaluate, style_transfer, texture,
                                 with_original_colors)
from reverie.nets.randnet import RandomNet, _vgg_plan, load_vgg19
from reverie.optvis.colour import match_colors, rgb_to_yiq

TINY = dict(size=64, min_size=64, scales=1, iterations=12, initial_iterations=12)


def _stripes(h=64, w=64, period=8, colors=((0.9, 0.2, 0.1), (0.1, 0.2, 0.8))):
    """A style image: coloured diagonal stripes."""
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    band = (((xx + yy) // (period // 2)) % 2).float()
    a, b = (torch.tensor(c).view(3, 1, 1) for c in colors)
    return a * band + b * (1 - band)


@pytest.fixture(scope="module")
def content():
    from reverie.io.images import load_image
    return load_image("sample:chelsea", max_side=64)


def test_style_loss_falls_and_content_stays_bounded(content, tmp_path):
    style = _stripes()
    before = evaluate(content, content, [style])
    result = style_transfer(content, [style], StyleConfig(**TINY))
    after = evaluate(result.image, content, [style])
    assert after["style"] < 0.75 * before["style"]
    assert after["content"] < 1.0           # relative: the content is still there
    assert set(result.losses) >= {"style", "content", "tv", "style:stage2", "content:stage4"}
    assert result.image.shape == (3, content.shape[1], content.shape[2])
    assert result.resolved["style_layers"] == ["stem", "stage1", "stage2", "stage3", "stage4"]
    # the explanation: the loss at every evaluation, falling
    curve = result.explain(tmp_path)["loss curve"]
    assert curve.read_bytes()[:4] == b"\x89PNG"
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_top_rows_are_no_noisier_than_the_inside():
    """The border bug: TF-"same" padding gave the top rows half the gradient, and L-BFGS
    filled them with rainbow noise. Mirroring the image before the network fixes it; the
    control (no mirror) shows the test can fail."""
    small = dict(size=128, min_size=64, initial_iterations=30, iterations=20)
    fixed = style_transfer("sample:chelsea", ["sample:gravel"], **small)
    spread = fixed.figures["edge_colour_spread"]
    for side in ("top", "bottom", "left", "right"):
        assert spread[side] < 1.25 * spread["inside"], spread
    control = style_transfer("sample:chelsea", ["sample:gravel"], **small, reflect_pad=0)
    bad = control.figures["edge_colour_spread"]
    assert bad["top"] > 1.5 * bad["inside"], bad


def test_blend_with_weights_one_zero_equals_single_style(content):
    a, b = _stripes(), _stripes(period=16, colors=((0.1, 0.9, 0.1), (0.9, 0.9, 0.2)))
    cfg = StyleConfig(**{**TINY, "iterations": 4, "initial_iterations": 4}, seed=1)
    single = style_transfer(content, [a], cfg)
    blend = style_transfer(content, [a, b], cfg, style_weights=[1.0, 0.0])
    assert torch.allclose(single.image, blend.image, atol=1e-5)
    both = style_transfer(content, [a, b], cfg, style_weights=[0.5, 0.5])
    assert not torch.allclose(single.image, both.image, atol=1e-3)
    with pytest.raises(ConfigError, match="one weight per style"):
        style_transfer(content, [a, b], cfg, style_weights=[1.0])


def test_original_colors_keeps_content_chrominance(content):
    result = style_transfer(content, [_stripes()], StyleConfig(**TINY, original_colors=True))
    iq_out, iq_content = rgb_to_yiq(result.image)[1:], rgb_to_yiq(content)[1:]
    assert (iq_out - iq_content).abs().mean() < 0.01
    plain = style_transfer(content, [_stripes()], StyleConfig(**TINY))
    assert (rgb_to_yiq(plain.image)[1:] - iq_content).abs().mean() > 0.02
    # the colours go back after the optimisation, so recolouring a plain painting is the
    # same picture, and its sidecar's config reruns to it
    kept = with_original_colors(plain, content)
    assert torch.equal(kept.image, result.image) and kept.config == result.config
    assert kept.figures["edge_colour_spread"] == result.figures["edge_colour_spread"]
    from dataclasses import replace
    for other in (replace(plain, mechanism="texture"),
                  replace(plain, inputs={"content": record_input("sample:coffee")})):
        with pytest.raises(ReverieError, match="the content it painted"):
            with_original_colors(other, content)


def test_color_match_moves_style_colours_to_content(content):
    recoloured = match_colors(_stripes(), content)
    assert torch.allclose(recoloured.flatten(1).mean(1), content.flatten(1).mean(1), atol=0.03)


def test_random_network_is_deterministic_per_seed():
    x = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    a = RandomNet(seed=3).features(x, ["scale1", "scale4"])
    b = RandomNet(seed=3).features(x, ["scale1", "scale4"])
    c = RandomNet(seed=4).features(x, ["scale1", "scale4"])
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.allclose(a["scale1"], c["scale1"])


def test_random_network_texture_runs():
    result = texture(_stripes(), TextureConfig(model="random:2", **{**TINY, "size": 48,
                     "iterations": 6, "initial_iterations": 6}))
    assert result.image.shape == (3, 48, 48)
    assert result.losses["style"] < result.history[0]["loss"]
    assert result.inputs["style"]["source"] is None   # in memory: recorded as such


def _vgg_state(bad_shape=False, drop=None):
    gen = torch.Generator().manual_seed(0)
    state = {}
    for index, _, cin, cout, _ in _vgg_plan():
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=gen) * (2 / (9 * cin)) ** 0.5
        state[f"features.{index}.bias"] = torch.zeros(cout)
    state["classifier.0.weight"] = torch.zeros(8, 8)   # torchvision has a classifier too
    if bad_shape:
        state["features.2.weight"] = torch.zeros(32, 64, 3, 3)
    if drop:
        del state[drop]
    return state


def test_vgg19_loader_accepts_torchvision_state_dict(tmp_path, content):
    path = tmp_path / "vgg19-random.pth"
    torch.save(_vgg_state(), path)
    net = load_vgg19(path)
    feats = net.features(torch.rand(1, 3, 64, 64), ["relu1_1", "relu4_2", "pool2"])
    assert feats["relu4_2"].shape == (1, 512, 8, 8) and feats["pool2"].shape == (1, 128, 16, 16)
    result = style_transfer(content, [_stripes()], StyleConfig(model=f"vgg19:{path}", **{
        **TINY, "iterations": 3, "initial_iterations": 3}))
    assert result.resolved["style_layers"] == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@pytest.mark.parametrize("kind", ["shape", "missing", "garbage"])
def test_vgg19_loader_rejects_wrong_files(tmp_path, kind, cli):
    path = tmp_path / "vgg.pth"
    if kind == "garbage":
        path.write_bytes(b"not a checkpoint")
    else:
        torch.save(_vgg_state(bad_shape=kind == "shape",
                              drop="features.34.weight" if kind == "missing" else None), path)
    with pytest.raises(ReverieError):
        load_vgg19(path)
    out = tmp_path / "o.png"
    code, _, err = cli("style", "sample:chelsea", "sample:brick", "--model", f"vgg19:{path}",
                       "--out", out)
    assert_one_line_error(code, err)
    assert not out.exists()


def test_style_rerun_is_identical_with_progress_animation(cli, tmp_path):
    out = tmp_path / "s.png"
    code, stdout, err = cli("style", "sample:chelsea", "sample:gravel", "sample:brick",
                            "--style-weights", 0.7, "--style-weights", 0.3, "--size", 48,
                            "--min-size", 32, "--iterations", 3, "--initial-iterations", 3,
                            "--save-every", 2, "--out", out, "--json", "--no-progress")
    assert code == 0, err
    outputs = {k: Path(v) for k, v in json.loads(stdout)["outputs"].items()}
    assert set(outputs) == {"image", "animation", "sidecar"}
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["config"]["style_weight"] == StyleConfig().style_weight
    assert record["config"]["style_layers"] == ["stem", "stage1", "stage2", "stage3", "stage4"]
    assert len(record["inputs"]["styles"]["many"]) == 2 and record["deterministic"]
    assert "style:stage3" in record["figures"]["losses"] and record["timings"]["total"] > 0
    assert_rerun_identical(outputs, tmp_path)


def test_texture_rerun_is_identical_and_sized(tmp_path):
    from PIL import Image
    result = texture("sample:brick", size=40, aspect=1.25, min_size=32, iterations=2,
                     initial_iterations=3)
    paths = result.save(tmp_path / "t.png")
    assert Image.open(paths["image"]).size == (40, 32)
    assert_rerun_identical(paths, tmp_path)


def test_max_seconds_is_not_deterministic(content):
    result = style_transfer(content, [_stripes()], StyleConfig(**TINY, max_seconds=60))
    assert not result.deterministic and any("max_seconds" in n for n in result.notes)


@pytest.mark.parametrize("args,flag", [
    (["style", "sample:chelsea", "sample:gravel", "sample:brick", "--style-weights", "1"],
     "--style-weights"),
    (["style", "sample:chelsea", "sample:gravel", "--style-weights", "-1"], "--style-weights"),
    (["style", "sample:chelsea", "sample:gravel", "--style-layer", "stage9"], "--style-layer"),
    (["style", "sample:chelsea", "sample:gravel", "--content-layer", "stage3.1/nope"],
     "--content-layer"),
    (["style", "sample:chelsea", "sample:gravel", "--model", "lite9"], "--model"),
    (["style", "sample:chelsea", "sample:gravel", "--model", "random:x"], "--model"),
    (["style", "sample:chelsea", "sample:gravel", "--init", "nothing.png"], "--init"),
    (["style", "sample:chelsea", "sample:gravel", "--size", "8"], "--size"),
    (["style", "missing.png", "sample:gravel"], None),
    (["texture", "sample:nope"], None),
    (["texture", "sample:brick", "--aspect", "0"], "--aspect"),
])
def test_cli_bad_input_is_one_line_exit_2(cli, tmp_path, args, flag):
    out = tmp_path / "o.png"
    code, _, err = cli(*args, "--out", out, "--iterations", 1, "--initial-iterations", 1)
    assert_one_line_error(code, err)
    if flag:
        assert flag in err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_bad_image_files(cli, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out = tmp_path / "o.png"
    code, _, err = cli("style", "sample:chelsea", bad, "--out", out)
    assert_one_line_error(code, err)
    assert not out.exists()
