"""The drawing systems: soft rasteriser gradients and convergence, exact SVG/PNG round trip."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reverie.draw import drawing as draw
from reverie.core.errors import ReverieError


def one_stroke(system):
    """A single small stroke left of centre on a 64 px white canvas."""
    if system == "lines":
        row = [0.3, 0.3, 0.3, 0.7, 0.3, 0, 0, 0]
    elif system == "curves":
        row = [0.3, 0.3, 0.25, 0.45, 0.25, 0.55, 0.3, 0.7, 0.3, 0, 0, 0]
    else:
        row = [0.3, 0.5, 0.2, 0.3, 0.0, 0, 0, 0]
    return draw.Drawing(system, 64, torch.ones(3), torch.tensor([row]))


@pytest.mark.parametrize("system", draw.SYSTEMS)
def test_moving_a_stroke_toward_a_pixel_covers_it_more(system):
    d = one_stroke(system)
    strokes = d.strokes.clone().requires_grad_(True)
    target = (32, 27)  # (row, column): right of the stroke
    ink = lambda s: 1 - draw.soft_render(draw.Drawing(system, 64, d.background, s), 1.0)[0, 0][target]
    ink(strokes).backward()
    # direction that moves every x coordinate of the stroke to the right, toward the pixel
    toward = torch.zeros_like(strokes)
    xs = {"lines": [0, 2], "curves": [0, 2, 4, 6], "blobs": [0]}[system]
    toward[0, xs] = 1.0
    assert float((strokes.grad * toward).sum()) > 0
    with torch.no_grad():
        assert ink(strokes + 0.05 * toward) > ink(strokes)


@pytest.mark.parametrize("system", draw.SYSTEMS)
def test_soft_render_converges_to_exact_render(system):
    g = torch.Generator().manual_seed(1)
    d = draw.random_drawing(system, 6, 64, g)
    exact = draw.render_tensor(d)
    errors = []
    for sharpness in (0.5, 2, 8, 32):
        # supersample the soft render as the exact renderer does, then compare
        soft = F.avg_pool2d(draw.soft_render(d, sharpness, scale=4), 4)[0]
        errors.append(float((soft - exact).abs().mean()))
    assert errors == sorted(errors, reverse=True), errors
    assert errors[-1] < (0.012 if system == "curves" else 0.006), errors
    assert errors[0] > 3 * errors[-1]


@pytest.mark.parametrize("system", draw.SYSTEMS)
def test_svg_parses_and_rerenders_to_the_same_png(system, tmp_path):
    g = torch.Generator().manual_seed(2)
    d = draw.random_drawing(system, 7, 96, g)
    path = draw.write_svg(d, tmp_path / "d.svg", title="test & <drawing>")
    root = ET.parse(path).getroot()  # well-formed XML
    assert root.get("viewBox") == "0 0 96 96"
    assert len(list(root)) == 1 + 1 + 7  # title, background, strokes
    png = np.asarray(draw.render_png(d))
    assert np.array_equal(np.asarray(draw.render_svg_file(path)), png)
    loaded = draw.load_svg(path)
    assert loaded.system == system and loaded.strokes.shape == d.strokes.shape
    assert np.array_equal(np.asarray(draw.render_png(loaded)), png)
    assert torch.allclose(loaded.strokes, d.strokes, atol=2e-3)
    big = draw.render_svg_file(path, out_size=192)  # resolution-independent
    assert big.size == (192, 192)
    assert np.array_equal(np.asarray(big), np.asarray(draw.render_png(d, out_size=192)))


def test_palette_fixes_colours():
    d = draw.random_drawing("lines", 5, 64, torch.Generator().manual_seed(0), palette="ink")
    assert d.background.tolist() == [1.0, 1.0, 1.0]
    assert d.strokes[:, 5:8].abs().sum() == 0
    assert draw.free_columns("lines", "ink").tolist() == [True] * 5 + [False] * 3
    assert draw.palette_colors("#fff,#000,#f00")[2] == (1.0, 0.0, 0.0)
    with pytest.raises(ReverieError, match="palette"):
        draw.palette_colors("mauve")


def test_bad_svg_is_a_reverie_error(tmp_path):
    bad = tmp_path / "bad.svg"
    bad.write_text("<svg><line x1='oops'/></svg")
    with pytest.raises(ReverieError, match="SVG"):
        draw.load_svg(bad)
    with pytest.raises(ReverieError, match="not found"):
        draw.load_svg(tmp_path / "missing.svg")


def test_cli_perceive_render_at_another_size(cli, tmp_path):
    import json

    d = draw.random_drawing("curves", 4, 64, torch.Generator().manual_seed(3))
    svg = draw.write_svg(d, tmp_path / "d.svg")
    out = tmp_path / "big.png"
    code, stdout, err = cli("perceive-render", svg, "--out", out, "--size", 128, "--target", "tick",
                            "--model", "lite0", "--json")
    assert code == 0, err
    from PIL import Image
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")),
                          np.asarray(draw.render_png(d, out_size=128)))
    record = json.loads(stdout)
    assert record["size"] == 128 and [v["model"] for v in record["verdicts"]] == ["lite0"]
    assert 1 <= record["verdicts"][0]["rank"] <= 1000


def test_cli_perceive_render_bad_size_is_one_line(cli, tmp_path):
    from conftest import assert_one_line_error

    d = draw.random_drawing("lines", 2, 64, torch.Generator().manual_seed(0))
    svg = draw.write_svg(d, tmp_path / "d.svg")
    code, _, err = cli("perceive-render", svg, "--out", tmp_path / "x.png", "--size", 4)
    assert_one_line_error(code, err)
    assert "--size" in err and not (tmp_path / "x.png").exists()
