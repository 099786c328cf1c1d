import json

import torch

from conftest import assert_one_line_error
from reverie.nets.zoo import load_net
from reverie.optvis.param import FourierImage
from reverie.image.featurevis import judge, parse_target, power_spectrum_slope, visualize


def test_class_visualisation_raises_probability_from_noise():
    net = load_net("lite0")
    start = FourierImage(1, 128, 128, generator=torch.Generator().manual_seed(0))()
    target = parse_target(net, "goldfish")
    before = judge(start.detach(), target, ["lite0"], "cpu")["lite0"][0]["target_prob"]
    result = visualize("goldfish", size=128, steps=40, transforms=2, lr=0.08, judges=[])
    after = result.figures["verdicts"]["lite0"][0]["target_prob"]
    assert before < 0.01
    assert after > 0.9, result.figures
    assert result.figures["clipped_share"] < 0.05


def test_channel_target_beats_the_layer_average():
    result = visualize("stage4:11", size=96, steps=20, transforms=2, lr=0.08)
    assert result.figures["channel_mean"][0] > result.figures["layer_mean"][0] + 1.0


def test_spectrum_slope_tells_photos_from_noise():
    from reverie.io.images import load_image
    photo = load_image("sample:astronaut", max_side=128)
    noise = torch.rand(3, 128, 128, generator=torch.Generator().manual_seed(0))
    assert power_spectrum_slope(photo) < -1.5
    assert power_spectrum_slope(noise) > -0.5


def test_same_seed_same_image():
    a = visualize("stage3:2", size=64, steps=3, transforms=1, seed=5).images
    b = visualize("stage3:2", size=64, steps=3, transforms=1, seed=5).images
    assert torch.equal(a, b)


def test_cli_visualize_sidecar_and_bad_targets(cli, tmp_path):
    out = tmp_path / "v.png"
    code, _, err = cli("visualize", "stage3:2", "--out", out, "--size", 64, "--steps", 2,
                       "--batch", 2, "--diversity", 0.5, "--no-progress")
    assert code == 0, err
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["config"]["batch"] == 2 and len(side["figures"]["spectrum_slope"]) == 2
    for bad, needle in [("hamerhead shark", "did you mean"), ("stage4:999", "out of range"),
                        ("stage99:1", "unknown layer"), ("1000", "out of range")]:
        code, _, err = cli("visualize", bad, "--out", tmp_path / "bad.png", "--steps", 1)
        assert_one_line_error(code, err)
        assert needle in err
    assert not (tmp_path / "bad.png").exists()
