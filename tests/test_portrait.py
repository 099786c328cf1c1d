"""AIKON-style plotter portraits and the shared plotting module."""
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from reverie.core.errors import ReverieError
from reverie.draw import plot
from reverie.draw.portrait import (PortraitConfig, detect_face, hatch_lines, portrait,
                                   tone_segments)

FAST = dict(resolution=96, edges="none", order="greedy")


def _astronaut():
    from skimage import data
    return data.astronaut() / 255.0


def test_detector_finds_the_astronauts_face():
    top, left, h, w = detect_face(_astronaut().mean(2))
    # her face: roughly rows 60-170, columns 170-280 of the 512x512 photo
    cy, cx = top + h / 2, left + w / 2
    assert 80 < cy < 160 and 180 < cx < 270 and 60 < w < 160


def test_tones_are_ordered_by_lightness():
    rgb = _astronaut()[::4, ::4]
    labels, lightness, colors = tone_segments(rgb, 5, seed=0)
    assert np.all(np.diff(lightness) < 0)                      # tone 0 the lightest
    gray = [colors[t].mean() for t in range(5) if (labels == t).any()]
    assert gray == sorted(gray, reverse=True)
    assert set(np.unique(labels)) <= set(range(5))


def test_hatching_density_rises_with_darkness():
    from reverie.draw.portrait import shade
    labels = np.repeat(np.arange(4)[None, :], 40, axis=0).repeat(40, axis=1)  # 4 bands
    cfg = PortraitConfig(tones=4, cross=1)
    paths = shade(labels, 4, cfg, px_per_mm=4.0, rng=np.random.default_rng(0))
    ink = np.zeros(4)
    for p in paths:
        x = p[:, 0].mean()
        ink[int(np.clip(x // 40, 0, 3))] += np.linalg.norm(np.diff(p, axis=0), axis=1).sum()
    assert ink[0] == 0 and ink[1] < ink[2] < ink[3]


def test_hatch_lines_stay_in_the_mask():
    mask = np.zeros((50, 50), bool)
    mask[10:40, 10:40] = True
    for p in hatch_lines(mask, 30, 3.0):
        assert p.min() >= 9 and p.max() <= 41


@pytest.mark.parametrize("method", ["vpype", "greedy", "auto"])
def test_ordering_cuts_travel_and_keeps_every_segment(method):
    rng = np.random.default_rng(1)
    paths = [rng.uniform(0, 100, (rng.integers(2, 5), 2)) for _ in range(150)]
    out, info = plot.order_paths(paths, method, merge_tolerance=0)
    assert plot.pen_up_travel(out) <= plot.pen_up_travel(paths)
    assert plot.segments(out) == plot.segments(paths)
    # merging within a tolerance may add joins but never loses a segment
    merged, _ = plot.order_paths(paths, method, merge_tolerance=0.5)
    assert plot.segments(paths) <= plot.segments(merged)
    assert plot.pen_up_travel(merged) <= plot.pen_up_travel(paths)


def test_plot_figures():
    paths = [np.array([[0, 0], [10, 0]], float), np.array([[10, 10], [0, 10]], float)]
    f = plot.plot_figures(paths, speed_down=10, speed_up=10, lift_time=0)
    assert f["pen_down_mm"] == 20 and f["lifts"] == 2
    assert f["pen_up_mm"] == pytest.approx(10 + 10)       # origin->start, gap, end->origin
    assert f["plot_minutes"] == pytest.approx(40 / 10 / 60, abs=0.01)


def test_portrait_svg_is_physical_and_parses(tmp_path):
    r = portrait("sample:astronaut", paper="A3", animate=True, **FAST)
    paths = r.save(tmp_path / "p.svg")
    root = ET.parse(paths["svg"]).getroot()
    assert root.get("width") == "297mm" and root.get("height") == "420mm"
    assert root.get("viewBox") == "0 0 297 420"
    layers = [g for g in root if g.tag.endswith("g")]
    assert len(layers) == 2
    assert all(g.get("{http://www.inkscape.org/namespaces/inkscape}groupmode") == "layer"
               for g in layers)
    assert paths["png"].exists() and paths["tones"].exists() and paths["gif"].exists()
    f = r.figures
    assert f["face_box"] is not None
    assert f["plot_after"]["pen_up_mm"] <= f["plot_before"]["pen_up_mm"]
    pts = np.vstack([p for v in r.layers.values() for p in v])
    assert pts.min() >= 15 - 1e-6 and pts[:, 0].max() <= 297 - 15 + 1e-6


def test_no_face_draws_the_whole_picture(tmp_path):
    from skimage import data
    from reverie.io.images import save_image
    import torch
    img = tmp_path / "coffee.png"
    save_image(torch.from_numpy(data.coffee() / 255.0).float().permute(2, 0, 1), img)
    r = portrait(str(img), **FAST)
    assert r.figures["face_box"] is None and any("no face" in n for n in r.notes)
    r = portrait("sample:astronaut", no_face=True, **FAST)
    assert r.figures["frame_box"] == [0, 0, 512, 512]


def test_bad_inputs(tmp_path):
    with pytest.raises(ReverieError, match="tones"):
        PortraitConfig(tones=13)
    with pytest.raises(ReverieError, match="tones"):
        PortraitConfig(tones=1)
    with pytest.raises(ReverieError, match="cannot fit"):
        PortraitConfig(margin=101)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ReverieError) as e:
        portrait(str(bad), **FAST)
    assert "\n" not in str(e.value)
    import torch
    with pytest.raises(ReverieError, match="too small"):
        portrait(torch.rand(3, 20, 30), **FAST)
    with pytest.raises(ReverieError, match="cannot fit"):
        plot.write_plot_svg([np.array([[0, 0], [300, 5]], float)], tmp_path / "x.svg",
                            (210, 297), 10)
    assert not (tmp_path / "x.svg").exists()


@pytest.mark.parametrize("args", [["--tones", "13"], ["--margin", "101"]])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, args):
    out = tmp_path / "p.svg"
    r = subprocess.run([sys.executable, "-m", "reverie", "portrait", "sample:astronaut",
                        "--out", str(out), *args], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "error" in r.stderr
    assert not list(tmp_path.iterdir())


def test_cli_unreadable_photo(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    out = tmp_path / "p.svg"
    r = subprocess.run([sys.executable, "-m", "reverie", "portrait", str(bad), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and not out.exists()
