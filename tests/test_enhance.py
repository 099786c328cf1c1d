import json

import pytest
import torch

from conftest import assert_one_line_error
from reverie.image import enhance as enh
from reverie.image.enhance import (enhance, gaussian_blur, high_frequency_energy,
                                   low_frequency_change, pad_to_grid)
from reverie.io.images import load_image

FAST = dict(steps=4, model="lite0", precision="fp32")


@pytest.fixture(scope="module")
def blurred():
    photo = load_image("sample:astronaut", max_side=96)
    return gaussian_blur(photo[None], 1.5)[0]


def test_enhancing_a_blurred_image_raises_high_frequencies_and_keeps_low_ones(blurred, tmp_path):
    result = enhance(blurred, **FAST)
    out = result.image
    assert out.shape == blurred.shape
    assert high_frequency_energy(out) > 1.05 * high_frequency_energy(blurred)
    # low frequencies (what fidelity holds) move by under 1.5/255 RMS ...
    assert low_frequency_change(blurred, out) < 1.5
    # ... while without fidelity the same dream moves them far more
    free = enhance(blurred, fidelity=0.0, **FAST).image
    assert low_frequency_change(blurred, free) > 2 * low_frequency_change(blurred, out)
    assert result.figures["high_frequency_gain"] > 1.05
    assert result.figures["top_channels"][0]["growth"] > 0
    shown = result.explain(tmp_path)
    assert set(shown) == {"difference", "input"} and all(p.exists() for p in shown.values())


def test_strength_zero_returns_the_input(blurred):
    result = enhance(blurred, strength=0.0, **FAST)
    assert torch.equal(result.image, blurred)


def test_tiled_and_untiled_agree_at_tile_borders(monkeypatch):
    photo = gaussian_blur(load_image("sample:coffee", max_side=150)[None], 1.5)[0]
    whole = enhance(photo, tile=512, layers=["stage2"], **FAST).image
    tiled = enhance(photo, tile=64, layers=["stage2"], **FAST).image
    # the rows and columns on either side of each tile border (tiles of 64 on the padded image)
    _, (top, left) = pad_to_grid(photo[None])
    rows = [r for b in range(64, 256, 64) for r in (b - top - 1, b - top) if 0 <= r < photo.shape[1]]
    cols = [c for b in range(64, 256, 64) for c in (b - left - 1, b - left) if 0 <= c < photo.shape[2]]
    assert rows and cols

    def border_gap(a, b):
        return max(float((a[:, rows] - b[:, rows]).abs().max()),
                   float((a[:, :, cols] - b[:, :, cols]).abs().max()))

    assert border_gap(whole, tiled) < 1 / 255
    # control: tiles without their halo leave seams a tolerance this size would catch
    monkeypatch.setattr(enh, "halo_for", lambda net, objective: 0)
    seamed = enhance(photo, tile=64, layers=["stage2"], **FAST).image
    assert border_gap(whole, seamed) > 4 / 255


def test_cli_writes_image_and_sidecar(cli, tmp_path):
    out = tmp_path / "sharp.png"
    code, stdout, err = cli("enhance", "sample:coins", "--size", 64, "--steps", 2, "--out", out,
                            "--json", "--no-progress")
    assert code == 0, err
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["mechanism"] == "enhance" and len(side["figures"]["top_channels"]) == 10
    assert json.loads(stdout)["outputs"]["image"] == str(out)


@pytest.mark.parametrize("args,needle", [
    (["missing.png"], "not found"),
    (["NOTIMAGE"], "not an image"),
    (["sample:coins", "--steps", "0"], "at least 1"),
    (["sample:coins", "--strength", "-1"], "at least 0"),
    (["sample:coins", "--mode", "sharpen"], "unknown value"),
    (["sample:coins", "--layer", "stage9"], "unknown layer"),
    (["sample:coins", "--upscale", "0.5"], "at least 1"),
])
def test_cli_enhance_bad_input(cli, tmp_path, args, needle):
    junk = tmp_path / "junk.png"
    junk.write_text("not a picture")
    args = [str(junk) if a == "NOTIMAGE" else str(tmp_path / a) if a == "missing.png" else a
            for a in args]
    out = tmp_path / "e.png"
    code, _, err = cli("enhance", *args, "--size", 48, "--out", out, "--no-progress")
    assert_one_line_error(code, err)
    assert needle in err
    assert not out.exists()
