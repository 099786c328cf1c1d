import json

import pytest
import torch

from conftest import assert_one_line_error
from reverie.image.deepdream import dream, keep_colors, laplacian_normalize
from reverie.io.images import load_image
from reverie.nets.zoo import load_net

FAST = dict(octaves=2, steps=5, step_size=3.0, tile=512)


@pytest.fixture(scope="module")
def photo():
    return load_image("sample:astronaut", max_side=96)


def test_dream_raises_the_layer_activation(photo):
    result = dream(photo, layers=["stage3"], **FAST)
    assert result.image.shape == photo.shape
    gain = result.figures["objective_gain"]
    assert gain > 1.25
    # control: a random change of the same size does far less
    from reverie.image.deepdream import layer_energy
    net = load_net("lite0")
    noise = torch.randn(photo.shape, generator=torch.Generator().manual_seed(0))
    noise = noise / noise.norm() * (result.image - photo).norm()
    noisy = (photo + noise).clamp(0, 1)
    control = layer_energy(net, ["stage3"], noisy) / layer_energy(net, ["stage3"], photo)
    assert gain - 1 > 3 * (control - 1)
    assert len(result.figures["top_channels"]) == 10
    assert result.figures["top_channels"][0]["growth"] > 0


def test_same_seed_same_image_other_seed_differs(photo):
    a = dream(photo, seed=3, **FAST).image
    b = dream(photo, seed=3, **FAST).image
    c = dream(photo, seed=4, **FAST).image
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_channel_objective_raises_that_channel_more_than_the_layer(photo):
    net = load_net("lite0")
    result = dream(photo, layers=["stage4:7"], **FAST)

    def means(img):
        a = net.features(img[None], ["stage4"])["stage4"][0]
        return a[7].mean(), a.mean()

    ch0, layer0 = means(photo)
    ch1, layer1 = means(result.image)
    assert (ch1 - ch0) > 3 * abs(layer1 - layer0)
    assert ch1 - ch0 > 0.5


def test_tiled_gradient_bounds_memory_and_still_dreams():
    photo = load_image("sample:coffee", max_side=160)
    result = dream(photo, layers=["stage2"], octaves=1, steps=3, tile=64)
    assert result.figures["objective_gain"] > 1.1


def test_guide_and_original_colors(photo):
    guide = load_image("sample:chelsea", max_side=64)
    guided = dream(photo, layers=["stage4"], **FAST, guide=guide)
    assert not torch.equal(guided.image, photo)
    kept = keep_colors(photo, guided.image)
    # chrominance (difference between channels) is the photo's
    inside = ((kept > 0.005) & (kept < 0.995)).all(0)
    assert inside.float().mean() > 0.8
    for a, b in [(0, 1), (1, 2)]:
        assert torch.allclose((kept[a] - kept[b])[inside], (photo[a] - photo[b])[inside], atol=1e-4)
    assert not torch.allclose(guided.image[0] - guided.image[1], photo[0] - photo[1], atol=1e-2)


def test_laplacian_normalisation_gives_unit_scale():
    g = torch.randn(1, 3, 64, 64) * 5 + torch.linspace(0, 50, 64)
    n = laplacian_normalize(g)
    assert n.shape == g.shape and 0.5 < n.std() < 5


def test_small_image_octaves_never_shrink_below_the_guard():
    tiny = load_image("sample:coins", max_side=40)
    result = dream(tiny, layers=["stage3"], octaves=6, steps=1)
    assert min(min(s) for s in result.figures["octave_sizes"]) >= 32


def test_zoom_animation_frame_count(photo):
    result = dream(photo, octaves=1, steps=2, frames=3, zoom=1.1, rotate=2)
    assert len(result.frames) == 3


def test_cli_dream_writes_image_and_sidecar(cli, tmp_path):
    out = tmp_path / "dream.png"
    code, stdout, err = cli("dream", "sample:astronaut", "--size", 80, "--out", out,
                            "--octaves", 2, "--steps", 2, "--layer", "stage3", "--layer", "stage4:3",
                            "--json", "--no-progress")
    assert code == 0, err
    assert out.exists()
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["config"]["layers"] == ["stage3", "stage4:3"] and side["config"]["seed"] == 0
    assert side["figures"]["objective_gain"] > 1
    assert json.loads(stdout)["outputs"]["image"] == str(out)


def test_cli_gif_animation(cli, tmp_path):
    from PIL import Image
    out = tmp_path / "zoom.gif"
    code, _, err = cli("dream", "sample:coins", "--size", 64, "--out", out, "--octaves", 1,
                       "--steps", 1, "--frames", 4, "--no-progress")
    assert code == 0, err
    assert Image.open(out).n_frames == 4


@pytest.mark.parametrize("args,needle", [
    (["--layer", "stage9"], "unknown layer"),
    (["--layer", "stage4:999"], "out of range"),
    (["--frames", "3"], "animation output"),
    (["--model", "lite0", "--preset", "objects", "--guide", "sample:nothing"], "unknown sample"),
])
def test_cli_dream_bad_input(cli, tmp_path, args, needle):
    out = tmp_path / "d.png"
    code, _, err = cli("dream", "sample:coins", "--size", 48, "--out", out, "--steps", 1, *args)
    assert_one_line_error(code, err)
    assert needle in err
    assert not out.exists()


def test_cli_unwritable_output(cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = cli("dream", "sample:coins", "--out", locked / "x.png", "--steps", 1)
        import os
        if os.geteuid() != 0:  # root writes anywhere; then check a file-in-place-of-folder
            assert_one_line_error(code, err)
    finally:
        locked.chmod(0o700)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = cli("dream", "sample:coins", "--out", blocker / "x.png", "--steps", 1)
    assert_one_line_error(code, err)
