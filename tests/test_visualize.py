import json

import torch

from conftest import assert_one_line_error, assert_rerun_identical
from reverie.image.featurevis import power_spectrum_slope, visualize
from reverie.nets.verdicts import verdicts
from reverie.optvis.param import FourierImage


def test_class_visualisation_raises_probability_from_noise():
    start = FourierImage(1, 128, 128, generator=torch.Generator().manual_seed(0))()
    before = verdicts(start.detach(), "lite0", target=1)[0]["target_prob"]
    result = visualize("goldfish", size=128, steps=40, transforms=2, lr=0.08, judges=[])
    assert result.target.index == 1 and set(result.figures["verdicts"]) == {"lite0"}
    after = result.figures["verdicts"]["lite0"][0]["target_prob"]
    assert before < 0.01
    assert after > 0.9, result.figures
    assert result.figures["clipped_share"] < 0.05


def test_channel_target_beats_the_layer_average():
    result = visualize("stage4:11", size=96, steps=20, transforms=2, lr=0.08)
    assert result.figures["channel_mean"][0] > result.figures["layer_mean"][0] + 1.0
    assert "verdicts" not in result.figures


def test_spectrum_slope_tells_photos_from_noise():
    from reverie.io.images import load_image
    photo = load_image("sample:astronaut", max_side=128)
    noise = torch.rand(3, 128, 128, generator=torch.Generator().manual_seed(0))
    assert power_spectrum_slope(photo) < -1.5
    assert power_spectrum_slope(noise) > -0.5


def test_same_seed_same_image_other_seed_differs():
    a = visualize("stage3:2", size=64, steps=3, transforms=1, seed=5).images
    b = visualize("stage3:2", size=64, steps=3, transforms=1, seed=5).images
    c = visualize("stage3:2", size=64, steps=3, transforms=1, seed=6).images
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_rerun_is_identical_for_a_batch(tmp_path):
    result = visualize("goldfish", size=48, steps=2, transforms=1, batch=2, diversity=0.5,
                       judges=["lite1"])
    assert result.inputs["target"] == {"value": "goldfish"}
    paths = result.save(tmp_path / "v.png")
    from PIL import Image
    assert Image.open(paths["image"]).size == (96, 48)   # the batch side by side
    assert_rerun_identical(paths, tmp_path)


def test_cli_visualize_sidecar_and_bad_targets(cli, tmp_path):
    out = tmp_path / "v.png"
    code, _, err = cli("visualize", "stage3:2", "--out", out, "--size", 64, "--steps", 2,
                       "--batch", 2, "--diversity", 0.5, "--no-fft", "--scale", 0.8,
                       "--scale", 1.2, "--no-progress")
    assert code == 0, err
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["config"]["batch"] == 2 and side["config"]["fft"] is False
    assert side["config"]["scale"] == [0.8, 1.2] and len(side["figures"]["spectrum_slope"]) == 2
    for bad, needle in [("hamerhead shark", "did you mean"), ("stage4:999", "out of range"),
                        ("stage99:1", "unknown layer"), ("1000", "out of range")]:
        code, _, err = cli("visualize", bad, "--out", tmp_path / "bad.png", "--steps", 1)
        assert_one_line_error(code, err)
        assert needle in err
    for flags, flag in [(["--steps", 0], "--steps"), (["--scale", 1.2, "--scale", 0.8], "--scale"),
                        (["--diversity", 1], "--diversity"), (["--size", 16], "--size")]:
        code, _, err = cli("visualize", "goldfish", "--out", tmp_path / "bad.png", *flags)
        assert_one_line_error(code, err)
        assert flag in err
    assert not (tmp_path / "bad.png").exists()
