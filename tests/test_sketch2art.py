"""sketch2art (pix2pix): the extractor, training, apply with its evidence, bad inputs, the
CLI, and the studio's canvas (in a real browser where chromium is installed). Resume, init
and torchrun are the contract test's (tests/test_train.py -k sketch2art)."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import assert_one_line_error, assert_rerun_identical
from reverie.core.errors import ReverieError
from trainers import _pictures

TINY = dict(netG="unet_128", load_size=128, crop_size=128, ngf=4, ndf=4, n_layers_D=2,
            batch_size=2, lr=5e-3, eval_every=100, checkpoint_every=100, threads=1)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from reverie.sketch2art.train import train_sketch2art
    out = tmp_path_factory.mktemp("s2a") / "tiny.pt"
    result = train_sketch2art(_pictures(), out=out, max_steps=4, **TINY)
    return out, result


def _square_picture(size=128) -> torch.Tensor:
    x = torch.ones(3, size, size)
    x[:, 40:90, 40:90] = 0.0
    return x


def _sketch_png(path, lines=True):
    im = Image.new("RGB", (200, 160), "white")
    if lines:
        from PIL import ImageDraw
        d = ImageDraw.Draw(im)
        d.line([(20, 20), (180, 140)], fill="black", width=3)
        d.ellipse([60, 30, 140, 110], outline="black", width=3)
    im.save(path)
    return path


# -- the extractors ------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["xdog", "canny"])
def test_extractor_is_deterministic_and_finds_a_planted_squares_edges(method):
    from reverie.sketch2art.edges import extract
    x = _square_picture()
    a, b = extract(x, method), extract(x, method)
    assert torch.equal(a, b) and a.shape == (1, 128, 128)
    ink = a[0] < 0.5
    ys, xs = np.nonzero(ink.numpy())
    assert len(ys) > 100
    # every line lies on the square's outline (within 3 px), and the outline is drawn
    dist = np.minimum.reduce([np.abs(ys - 40), np.abs(ys - 89), np.abs(xs - 40), np.abs(xs - 89)])
    inside = (ys > 35) & (ys < 95) & (xs > 35) & (xs < 95)
    assert inside.all() and (dist <= 3).all()
    for side in (ink[40:90, 36:44], ink[40:90, 86:94], ink[36:44, 40:90], ink[86:94, 40:90]):
        assert side.any(1 if side.shape[0] == 50 else 0).float().mean() > 0.8


def test_augmentation_loosens_sketches_reproducibly():
    from reverie.sketch2art.edges import augment, extract, strokes
    s = extract(_square_picture(), "xdog")[None].repeat(4, 1, 1, 1)
    labels = torch.stack([strokes(q) for q in s])
    a = augment(s, labels, torch.Generator().manual_seed(3), drop=0.3, jitter=0.02, thicken=2)
    b = augment(s, labels, torch.Generator().manual_seed(3), drop=0.3, jitter=0.02, thicken=2)
    assert torch.equal(a, b) and a.shape == s.shape
    assert not torch.equal(a, s)


def test_svg_strokes_are_rasterised(tmp_path):
    from reverie.sketch2art.edges import read_sketch
    svg = tmp_path / "s.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
                   '<rect width="100" height="100" fill="white"/>'
                   '<path d="M 10 10 L 90 10 C 90 50 50 90 10 90" stroke="black" fill="none"/>'
                   '<polyline points="20,80 50,20 80,80" stroke="black" fill="none"/></svg>')
    s, _ = read_sketch(str(svg), 128)
    assert s.shape == (1, 128, 128)
    ink = (s[0] < 0.5).float().mean()
    assert 0.005 < ink < 0.2


def test_svg_transforms_are_applied(tmp_path):
    """A tall ellipse turned a quarter: drawn wide (svgelements keeps a shape's transform
    beside it; the rasteriser must apply it)."""
    from reverie.sketch2art.edges import rasterise_svg
    svg = tmp_path / "turned.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200">'
                   '<ellipse cx="100" cy="100" rx="10" ry="60" transform="rotate(90 100 100)" '
                   'stroke="black" fill="none"/><path d="M 100 180 L 102 180" stroke="black"/>'
                   '</svg>')
    ink = rasterise_svg(svg, 128)[0] < 0.5
    cols = ink[:100].any(0).nonzero()
    assert cols.max() - cols.min() > 3 * 24   # the ellipse spans 120 of the 200 across


# -- training ------------------------------------------------------------------------------

def test_a_few_steps_lower_the_l1_loss(tmp_path):
    from reverie.sketch2art.train import train_sketch2art
    cfg = dict(TINY, val_frac=0.0)
    before = train_sketch2art(_pictures(), max_steps=1, **cfg)
    after = train_sketch2art(_pictures(), max_steps=12, **cfg)
    assert after.figures["val_l1"] < before.figures["val_l1"] - 0.01
    assert after.figures["val_l1"] < after.figures["val_l1_sketch"]


def test_l1_alone_has_no_discriminator_losses():
    from reverie.sketch2art.train import train_sketch2art
    r = train_sketch2art(_pictures(), max_steps=2, lambda_GAN=0.0, **TINY)
    assert "D" not in r.figures and "G_L1" in r.figures


def test_ready_pairs_side_by_side_and_in_a_and_b_folders(tmp_path):
    from reverie.sketch2art.data import load_pairs
    pics = _pictures(3, 64)
    ab = tmp_path / "ab"
    ab.mkdir()
    a_dir, b_dir = tmp_path / "sep" / "A", tmp_path / "sep" / "B"
    a_dir.mkdir(parents=True)
    b_dir.mkdir(parents=True)
    from reverie.io.images import tensor_to_pil
    for i, p in enumerate(pics):
        sketch = torch.ones(3, 64, 64)
        sketch[:, 10:12, :] = 0
        both = torch.cat([sketch, p], 2)
        tensor_to_pil(both).save(ab / f"{i}.png")
        tensor_to_pil(sketch).save(a_dir / f"{i}.png")
        tensor_to_pil(p).save(b_dir / f"{i}.png")
    for folder in (ab, tmp_path / "sep"):
        s = load_pairs(str(folder), 64)
        assert s.sketches is not None and len(s.pictures) == 3
        assert (s.sketches[:, 0, 10] < 0.5).all() and torch.allclose(s.pictures, pics, atol=0.02)


def test_bad_folders_are_one_line_each(tmp_path):
    from reverie.sketch2art.data import load_pairs
    empty = tmp_path / "empty"
    empty.mkdir()
    one = tmp_path / "one"
    one.mkdir()
    _sketch_png(one / "a.png")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_text("not a picture")
    (junk / "b.txt").write_text("nor this")
    for folder, words in ((empty, "is empty"), (one, "one picture"), (junk, "none of the 2"),
                          (tmp_path / "missing", "not found")):
        with pytest.raises(ReverieError) as err:
            load_pairs(str(folder), 64)
        assert words in str(err.value) and "\n" not in str(err.value)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _sketch_png(mixed / "a.png")
    Image.new("RGB", (50, 90), "red").save(mixed / "b.png")
    s = load_pairs(str(mixed), 64)
    assert s.pictures.shape == (2, 3, 64, 64) and any("resized" in n for n in s.notes)


def test_builtin_clipart_puts_each_drawing_on_paper_and_leaves_out_the_rest(tmp_path,
                                                                           monkeypatch):
    """Drawings are cut to their ink, flattened on white and padded square; icons' folders,
    specks, blank and broken files are left out; every 8th is held out; a second read comes
    from the cache."""
    from PIL import ImageDraw

    from reverie.sketch2art.data import clipart, load_pairs
    root = tmp_path / "png"
    for folder in ("animals", "food", "computer"):
        (root / folder).mkdir(parents=True)
    for i in range(9):  # a small red disc on a big transparent canvas
        im = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
        ImageDraw.Draw(im).ellipse([150 + i, 100, 250 + i, 200], fill=(200, 30, 30, 255),
                                   outline=(0, 0, 0, 255), width=4)
        im.save(root / ("animals" if i % 2 else "food") / f"disc{i}.png")
    Image.new("RGBA", (300, 300), (0, 0, 0, 255)).save(root / "computer" / "icon.png")
    Image.new("RGBA", (20, 20), (0, 0, 0, 255)).save(root / "animals" / "speck.png")
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(root / "animals" / "blank.png")
    (root / "food" / "broken.png").write_bytes(b"not a png")
    monkeypatch.setenv("REVERIE_OPENCLIPART", str(root))
    monkeypatch.setenv("REVERIE_CACHE", str(tmp_path / "cache"))
    s = load_pairs("builtin:clipart", 64)
    assert len(s.names) == 9 and not any(n.startswith("computer") for n in s.names)
    assert s.held_out == [7] and "3 tiny, huge, blank or unreadable" in s.notes[0]
    x = s.pictures[0]
    assert x.shape == (3, 64, 64) and (x[:, 0, 0] > 0.99).all()       # paper, not black
    ink = (x < 0.9).any(0)
    rows, cols = ink.any(1).nonzero(), ink.any(0).nonzero()
    assert rows.max() - rows.min() > 48 and cols.max() - cols.min() > 48  # fills the frame
    assert list((tmp_path / "cache" / "sketch2art").glob("clipart-64px-*.npz"))
    assert torch.equal(clipart(64).pictures, s.pictures)
    monkeypatch.setenv("REVERIE_OPENCLIPART", str(tmp_path / "nowhere"))
    with pytest.raises(ReverieError) as err:
        load_pairs("builtin:clipart", 64)
    assert "apt-get install openclipart-png" in str(err.value) and "\n" not in str(err.value)


# -- apply ---------------------------------------------------------------------------------

def test_apply_shows_the_sketch_output_nearest_and_patch_map(model, tmp_path):
    from reverie.sketch2art.mechanisms import sketch2art
    path, _ = model
    sketch = _sketch_png(tmp_path / "s.png")
    r = sketch2art(str(path), str(sketch))
    assert r.image.shape == (3, 128, 128) and r.nearest.shape == (3, 128, 128)
    assert r.patches.dim() == 2 and 0 <= r.figures["fake_patches"] <= 1
    paths = r.save(tmp_path / "art.png")
    assert paths["why"].is_file()
    why = r.explain(tmp_path)
    assert len(why) == 3 and all(p.is_file() for p in why.values())
    assert_rerun_identical(paths, tmp_path)


def test_bad_sketches_and_models_are_one_line(model, tmp_path):
    from reverie.sketch2art.mechanisms import sketch2art
    path, _ = model
    blank = _sketch_png(tmp_path / "blank.png", lines=False)
    notimg = tmp_path / "notes.png"
    notimg.write_text("a shopping list")
    other = tmp_path / "other.pt"
    torch.save({"format": "reverie-charlm", "format_version": 1}, other)
    cases = [(str(path), str(blank), "empty"), (str(path), str(notimg), "not an image"),
             (str(other), str(blank), "not a sketch2art model")]
    for m, s, words in cases:
        with pytest.raises(ReverieError) as err:
            sketch2art(m, s)
        assert words in str(err.value) and "\n" not in str(err.value)


def test_cli_train_apply_and_edges(model, cli, tmp_path):
    path, _ = model
    sketch = _sketch_png(tmp_path / "s.png")
    code, out, err = cli("sketch2art", "apply", path, sketch, "--out", tmp_path / "a.png", "--json")
    assert code == 0, err
    assert json.loads(out)["figures"]["size"] == 128 and (tmp_path / "a.why.png").is_file()
    code, out, err = cli("sketch2art", "edges", "sample:coins", "--size", "96", "--out",
                         tmp_path / "e.png")
    assert code == 0, err and (tmp_path / "e.png").is_file()
    assert_one_line_error(*cli("sketch2art", "apply", path, tmp_path / "missing.png",
                               "--out", tmp_path / "b.png")[::2])
    assert_one_line_error(*cli("sketch2art", "train", tmp_path / "nothing", "--out",
                               tmp_path / "m.pt")[::2])


# -- the studio's canvas -------------------------------------------------------------------

def _studio(tmp_path, model_path):
    from reverie.studio.app import Settings, create_app
    folder = tmp_path / "studio"
    (folder / "models").mkdir(parents=True)
    shutil.copyfile(model_path, folder / "models" / "tiny.pt")
    return folder, create_app(Settings(folder, workers=1, max_upload_mb=1))


def test_canvas_endpoint_answers_a_drawing(model, tmp_path):
    from conftest import studio_client
    folder, app = _studio(tmp_path, model[0])
    with studio_client(app) as client:
        page = client.get("/canvas/sketch2art?model=models/tiny.pt")
        assert page.status_code == 200 and 'name="_token"' in page.text
        png = _sketch_png(tmp_path / "c.png").read_bytes()
        r = client.post("/canvas/sketch2art/draw", data={"model": "models/tiny.pt"},
                        files={"sketch": ("c.png", png, "image/png")})
        assert r.status_code == 200, r.text
        assert r.json()["image"].startswith("data:image/png;base64,")
        bad = client.post("/canvas/sketch2art/draw", data={"model": "../../etc/passwd"},
                          files={"sketch": ("c.png", png, "image/png")})
        assert bad.status_code == 400 and "model" in bad.json()["error"]
        blank = _sketch_png(tmp_path / "b.png", lines=False).read_bytes()
        empty = client.post("/canvas/sketch2art/draw", data={"model": "models/tiny.pt"},
                            files={"sketch": ("b.png", blank, "image/png")})
        assert empty.status_code == 400 and "empty" in empty.json()["error"]
    app.state.jobs.stop()


def test_the_studio_form_takes_svg_strokes_and_refuses_an_svg_without_any(model, tmp_path):
    from conftest import studio_client
    folder, app = _studio(tmp_path, model[0])
    strokes = ('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
               '<path d="M 10 10 L 90 10 C 90 50 50 90 10 90" stroke="black" fill="none"/></svg>')
    blank = '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"></svg>'
    with studio_client(app) as client:
        page = client.get("/m/sketch2art").text
        assert ".svg" in page  # the upload's accept list
        run = lambda svg: client.post(  # noqa: E731
            "/m/sketch2art/run", data={"model": "models/tiny.pt"},
            files={"sketch__file": ("my drawing.svg", svg.encode(), "image/svg+xml")},
            headers={"Accept": "application/json"})
        refused = run(blank)
        assert refused.status_code == 400
        assert refused.json()["error"].startswith("my_drawing.svg has no strokes")
        r = run(strokes)
        assert r.status_code == 200, r.text
        job = app.state.jobs.wait(r.json()["job"], 60)
        assert job.status == "done" and job.inputs["sketch"].endswith("my_drawing.svg")
        assert job.outputs and "picture from the sketch" in job.summary
    app.state.jobs.stop()


def test_canvas_in_a_browser_draws_strokes_and_sees_a_picture(model, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium (.ci/run installs it)", pytrace=False)
        pytest.skip("no chromium here (apt-get install chromium)")
    import socket
    import threading
    import time

    import uvicorn
    folder, app = _studio(tmp_path, model[0])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/canvas/sketch2art?model=models/tiny.pt")
            box = page.locator("#sketch").bounding_box()
            page.click("#tool-pen")
            page.mouse.move(box["x"] + 60, box["y"] + 60)
            page.mouse.down()
            for k in range(1, 12):
                page.mouse.move(box["x"] + 60 + 25 * k, box["y"] + 60 + 18 * k)
            page.mouse.up()
            page.mouse.move(box["x"] + 300, box["y"] + 80)
            page.mouse.down()
            page.mouse.move(box["x"] + 120, box["y"] + 320, steps=8)
            page.mouse.up()
            page.wait_for_selector("#art[src^='data:image/png']", state="attached",
                                   timeout=60_000)
            assert page.locator("#art").evaluate("img => img.naturalWidth") == 128
            assert page.inner_text("#fake-share").endswith("%")
            assert page.is_hidden("#canvas-error")
            page.click("#save")
            page.wait_for_url("**/jobs/*", timeout=30_000)
            page.wait_for_selector("#explain", timeout=60_000)
            assert "nearest training picture" in page.content()
            browser.close()
    finally:
        srv.should_exit = True
        thread.join(10)
        app.state.jobs.stop()
