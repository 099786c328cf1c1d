"""Reading every odd and bad image the way a user hands it to us."""
import io

import numpy as np
import pytest
from PIL import Image

from conftest import assert_one_line_error
from reverie.core.errors import ReverieError
from reverie.io.images import load_image, save_image
from reverie.io.files import atomic_path


def _save(im, path, **kw):
    im.save(path, **kw)
    return path


def test_sample_images_load():
    x = load_image("sample:chelsea")
    assert x.shape[0] == 3 and x.min() >= 0 and x.max() <= 1
    assert load_image("sample:astronaut", max_side=64).shape[1:] == (64, 64)


def test_unknown_sample_suggests_close_name():
    with pytest.raises(ReverieError, match="sample:chelsea"):
        load_image("sample:chelsey")


def test_bundled_paintings_are_small_readable_and_public_domain():
    from reverie.io.images import PAINTINGS_DIR, painting_sources, paintings, sample_names

    names = paintings()
    assert len(names) >= 4 and set(names) <= set(sample_names())
    # every shipped image has a sources entry, and every entry its image
    assert {p.stem for p in PAINTINGS_DIR.glob("*.jpg")} == set(names)
    for name, src in painting_sources().items():
        x = load_image(f"sample:{name}")
        assert x.shape[0] == 3 and max(x.shape[1:]) <= 512, name
        assert (PAINTINGS_DIR / f"{name}.jpg").stat().st_size <= 150_000, name
        # public domain: the painter died more than 70 years before 2026
        assert src["painter_died"] < 1956 and src["year"] <= src["painter_died"], name
        for field in ("title", "painter", "repository", "path"):
            assert src[field], (name, field)
        assert len(src["commit"]) == 40, name


def test_painting_sample_is_recorded_and_suggested():
    from reverie.core.inputs import record, value_of

    rec = record("sample:starry-night")
    assert len(rec["sha256"]) == 64
    assert value_of("styles", rec) == "sample:starry-night"
    with pytest.raises(ReverieError, match="sample:starry-night"):
        load_image("sample:starry_night")


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "I;16", "LA", "1"])
def test_odd_modes_become_rgb(tmp_path, mode):
    rgb = Image.fromarray((np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8))
    if mode == "I;16":
        im = Image.fromarray((np.arange(600).reshape(20, 30) * 100).astype(np.uint16))
    else:
        im = rgb.convert(mode)
    suffix = ".tif" if mode == "CMYK" else ".png"
    x = load_image(_save(im, tmp_path / f"img{suffix}"))
    assert x.shape == (3, 20, 30)
    if mode == "I;16":  # 16-bit range is scaled, not clipped to white
        assert 0.0 <= x.min() < 0.1 and x.max() > 0.9


def test_rgba_transparent_goes_on_white(tmp_path):
    im = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    x = load_image(_save(im, tmp_path / "a.png"))
    assert x.min() > 0.99


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (10, 10), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    x = load_image(path)
    assert x[0].mean() > 0.9 and x[2].mean() < 0.1


def test_exif_rotation_is_applied(tmp_path):
    im = Image.new("RGB", (40, 20), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rot.jpg"
    im.save(path, exif=exif)
    assert load_image(path).shape == (3, 40, 20)


@pytest.mark.parametrize("maker,needle", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("hello, not an image"), "not an image"),
    (lambda p: p.write_bytes(_png_bytes()[:200]), "truncated"),
])
def test_bad_files_raise_one_line(tmp_path, maker, needle):
    path = tmp_path / "bad.png"
    maker(path)
    with pytest.raises(ReverieError, match=needle):
        load_image(path)


def _png_bytes():
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_huge_image_is_refused(tmp_path):
    path = _save(Image.new("1", (9000, 9000)), tmp_path / "huge.png")
    with pytest.raises(ReverieError, match="resize"):
        load_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ReverieError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ReverieError, match="folder"):
        load_image(tmp_path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    save_image(load_image("sample:coins", max_side=16), target)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize("content", [b"", b"GIF89a garbage", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_cli_bad_image_exit_2_no_output(cli, tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    out = tmp_path / "out.png"
    code, _, err = cli("dream", bad, "--out", out, "--steps", 1, "--octaves", 1)
    assert_one_line_error(code, err)
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_checkpoints_load_only_our_own_files(tmp_path):
    import pickle
    import torch
    from reverie.io.checkpoints import load_checkpoint, save_checkpoint

    def load(p):
        return load_checkpoint(p, "reverie-x", 2, "an X model", "train one with `reverie x`")

    good = save_checkpoint({"format": "reverie-x", "format_version": 2, "w": torch.ones(2)},
                           tmp_path / "good.pt")
    assert torch.equal(load(good)["w"], torch.ones(2))

    class Evil:
        def __reduce__(self):
            return (print, ("ran code",))
    evil = tmp_path / "evil.pt"
    torch.save({"format": "reverie-x", "x": Evil()}, evil, pickle_module=pickle)
    cases = {evil: "must not", tmp_path / "missing.pt": "not found", tmp_path: "folder"}
    (tmp_path / "junk.pt").write_bytes(b"junk")
    cases[tmp_path / "junk.pt"] = "not a readable model"
    other = save_checkpoint({"format": "reverie-y"}, tmp_path / "other.pt")
    cases[other] = r"not an X model \(it is a reverie-y file\)"
    newer = save_checkpoint({"format": "reverie-x", "format_version": 3}, tmp_path / "new.pt")
    cases[newer] = "newer Reverie"
    for path, message in cases.items():
        with pytest.raises(ReverieError, match=message) as e:
            load(path)
        assert "\n" not in str(e.value)
