"""GANs: a tiny DCGAN on a two-mode toy set covers both modes; losses finite; sampling
deterministic per seed; Jacobian rejection drops the blends between modes; InfoGAN's
code picks the mode; slerp keeps norms; inversion finds a generated image; an attribute
vector from two planted groups moves ink the right way; bad inputs. (Resume, init and
torchrun: the training contract, tests/test_train.py.)"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from reverie.cli import main
from reverie.core.errors import ReverieError
from reverie.gan.dcgan import GANConfig, load_gan, train_gan
from reverie.gan.networks import diff_augment, latent_for_seed
from reverie.gan.training import GAN, load_checkpoint
from reverie.gan.latent import apply, invert, jacobian_norms, sample, slerp_path, vector
from reverie.gan.networks import diff_augment, latent_for_seed
from reverie.io.images import save_image

# On this toy a tiny spectrally normalised D lets G collapse onto one mode within a few
# hundred steps; BatchNorm in D sees the whole batch and catches it (measured, 300 steps).
TINY = GANConfig(size=32, nz=8, ngf=8, ndf=8, batch_size=32, max_steps=300, diffaugment="",
                 lr_g=2e-3, lr_d=2e-3, ema=0.0, loss="nonsaturating", spectral_norm=False,
                 fd_samples=20, eval_every=10_000,
                 sample_every=10_000, checkpoint_every=10_000, val_frac=0.0, seed=0,
                 device="cpu")


def toy(n: int = 128) -> torch.Tensor:
    """Two modes: dark images (0.15) and bright ones (0.85), a little noise."""
    gen = torch.Generator().manual_seed(0)
    level = torch.tensor([0.15, 0.85]).repeat(n // 2)[:, None, None, None]
    return (level + 0.03 * torch.randn(n, 3, 32, 32, generator=gen)).clamp(0, 1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("gan") / "toy.pt"
    result = train_gan(toy(), TINY, out=out)
    return result, out


def test_covers_both_modes_and_losses_finite(trained):
    result, out = trained
    gan = load_gan(out)
    z = torch.stack([latent_for_seed(s, gan.latent_shape) for s in range(200)])
    means = gan.images(z).mean((1, 2, 3))
    bright = float((means > 0.5).float().mean())
    # measured over seeds 0-4 at 1 and 2 threads: 41% to 50% bright, the median sample
    # 0.04 to 0.10 off its mode
    assert 0.15 < bright < 0.85, f"one mode only: {bright:.2f} bright"
    near_a_mode = torch.minimum((means - 0.15).abs(), (means - 0.85).abs())
    assert float(near_a_mode.median()) < 0.15
    hist = result.figures["history"]
    assert len(hist) >= 10
    assert all(math.isfinite(h["d_loss"]) and math.isfinite(h["g_loss"]) for h in hist)
    assert math.isfinite(result.figures["fd"]) and result.figures["fd_curve"]
    for role in ("model", "samples", "training", "curves", "sidecar"):
        assert result.saved[role].exists()


def test_sample_deterministic_per_seed(trained):
    _, out = trained
    with pytest.raises(ReverieError, match="no categorical code"):
        sample(out, n=2, code=0)
    a = sample(out, n=4, seed=3)
    b = sample(out, n=4, seed=3)
    assert torch.equal(a.image, b.image)
    assert not torch.equal(a.image, sample(out, n=4, seed=4).image)
    c = sample(out, n=2, seed=5)  # image i of seed s is seed s + i
    assert c.figures["seeds"] == [5, 6]
    assert "verdict" in a.figures and len(a.figures["nearest_train_mse"]) == 4
    # the device knob is read: the sidecar says where it ran, and a GPU asked for on a
    # machine without one is refused, not silently ignored
    assert sample(out, n=1, device="cpu").resolved["device"] == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ReverieError, match="no CUDA GPU"):
            sample(out, n=2, device="cuda")
    gan = load_gan(out)
    assert load_gan(gan, device="cpu") is gan


def test_jacobian_norm_estimate_of_a_linear_map():
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 40, bias=False)  # J = W everywhere
    est = jacobian_norms(lin, torch.zeros(3, 5), probes=400)
    assert torch.allclose(est, lin.weight.norm().detach().expand(3), rtol=0.15)


def test_jacobian_reject_draws_more_and_keeps_n_by_their_norms(trained):
    _, out = trained
    r = sample(out, n=60, jacobian_reject=0.3, seed=0)
    kept = r.figures["seeds"]
    dropped = [d["seed"] for d in r.figures["jacobian"]["rejected"]]
    assert len(kept) == 60 and len(dropped) == 26 and not set(kept) & set(dropped)
    assert set(dropped) != set(range(60, 86))  # chosen by the norms, not the last seeds
    norms = [d["norm"] for d in r.figures["jacobian"]["rejected"]]
    assert norms == sorted(norms, reverse=True)  # the most stretched first
    assert min(norms) >= round(r.figures["jacobian"]["threshold"], 4)
    assert r.saved is None and "rejected" in r.extra


class Ramp(torch.nn.Module):
    """A generator whose answer is known: flat images, dark (0.15) where z's first
    coordinate is below 0 and bright (0.85) above, through a steep ramp of blends, where it
    stretches most. (What blends a trained toy GAN makes depends on its run: over seeds 0-4
    at 1 and 2 threads, 15% to 53% of its samples, and the share of blends among the latents
    rejection dropped went from 0.73 above the share among those it kept to 0.22 below it;
    two of the ten runs failed the test this one replaces, as a user's run did.)"""

    def __init__(self):
        super().__init__()
        self.steep = torch.nn.Parameter(torch.tensor(4.0), requires_grad=False)

    def forward(self, z):
        level = 0.5 + 0.35 * torch.tanh(self.steep * z[:, 0])
        return (2 * level - 1)[:, None, None, None].expand(-1, 3, 8, 8)


@pytest.mark.parametrize("seed", [0, 100])
def test_jacobian_reject_drops_the_blends_between_modes(seed):
    gan = GAN(Ramp(), GANConfig(nz=8), "dcgan", (8,), None, {})
    r = sample(gan, n=60, jacobian_reject=0.3, seed=seed)
    dropped = [d["seed"] for d in r.figures["jacobian"]["rejected"]]

    def off_mode(seeds):  # how far each image is from the nearer mode
        m = gan.images(torch.stack([latent_for_seed(s, (8,)) for s in seeds])).mean((1, 2, 3))
        return torch.minimum((m - 0.15).abs(), (m - 0.85).abs())
    # every blend (over 0.1 off) is dropped, and what is kept lies near a mode (measured:
    # 9 to 17 blends among the 86 drawn, the kept at most 0.055 off, for seeds 0, 100, 200)
    assert int((off_mode(dropped) > 0.1).sum()) >= 5
    assert float(off_mode(r.figures["seeds"]).max()) < 0.1


def test_infogan_code_picks_the_mode(tmp_path):
    # the code is read off the latent, so a seed still names an image; Q must recover it from
    # the image, and on the toy the only thing to tell apart is the mode: each value takes one
    result = train_gan(toy(), TINY.replace(categories=2), out=tmp_path / "info.pt")
    assert "info_loss" in result.figures["history"][-1]
    assert result.figures["info_loss"] < 0.3  # Q reads the code (chance: ln 2 = 0.69)
    r = sample(tmp_path / "info.pt", n=100, seed=0)
    codes = torch.tensor(r.figures["codes"])
    assert 20 < int((codes == 0).sum()) < 80  # the code is uniform over its values
    gan = load_gan(tmp_path / "info.pt")
    z = torch.stack([latent_for_seed(s, gan.latent_shape) for s in r.figures["seeds"]])
    bright = gan.images(z).mean((1, 2, 3)) > 0.5
    share = [float(bright[codes == k].float().mean()) for k in (0, 1)]
    assert abs(share[0] - share[1]) > 0.7, share
    # the generator is given the code: a step across the border between the two values
    # (z0 = z1) changes the image; the same step elsewhere in z barely does. Over 8 latents
    # on the border: one alone crossed with as little as 0.27 (their mean: 0.58 at the
    # least, in four runs of seeds 0-2 at 1 and 2 threads; the step elsewhere: under 0.0001)
    z0 = torch.stack([latent_for_seed(s, gan.latent_shape) for s in range(8)])
    z0[:, 1] = z0[:, 0]
    step, elsewhere = torch.zeros(8), torch.zeros(8)
    step[0], elsewhere[7] = 1e-3, 2e-3

    def ink(z):
        return gan.images(z).mean((1, 2, 3))
    across = (ink(z0 + step) - ink(z0 - step)).abs()
    along = (ink(z0 + step) - ink(z0 + step + elsewhere)).abs()
    assert float(across.mean()) > 0.3 and float(along.max()) < 0.05, (across, along)
    # a vector applied keeps the base latent's code: all on its code coordinates, it would
    # flip the mode halfway along the strip; applied, the strip stays in one mode
    push = np.zeros(8, dtype=np.float32)
    push[:2] = [-3.0, 3.0]
    ink = apply(tmp_path / "info.pt", push, seed=0, amounts=[-2, -1, 0, 1, 2]).figures["ink"]
    assert len({x > 0.5 for x in ink}) == 1, ink
    # --code holds it: every sample of the grid from that value's mode
    held = sample(tmp_path / "info.pt", n=20, seed=0, code=1)
    assert held.figures["codes"] == [1] * 20
    mean = held.image.mean().item()  # the grid of 20 bright (or dark) images, padding aside
    assert (mean > 0.5) == (share[1] > 0.5)
    with pytest.raises(ReverieError, match="code"):
        sample(tmp_path / "info.pt", n=4, code=2)
    with pytest.raises(ReverieError, match="categories"):
        GANConfig(nz=8, categories=9)


def test_slerp_keeps_norms():
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(512, generator=gen).numpy(), torch.randn(512, generator=gen).numpy()
    path = slerp_path([a, b], 21)
    norms = np.linalg.norm(path, axis=1)
    lo, hi = sorted([np.linalg.norm(a), np.linalg.norm(b)])
    assert norms.min() > 0.98 * lo and norms.max() < 1.02 * hi
    assert np.allclose(path[0], a) and np.allclose(path[-1], b)
    linear = slerp_path([a, b], 21, method="linear")
    assert np.linalg.norm(linear[10]) < 0.8 * lo  # the straight line dips inside the sphere


def test_inversion_finds_a_generated_image(trained, tmp_path):
    _, out = trained
    gan = load_gan(out)
    target = gan.images(latent_for_seed(11, gan.latent_shape)[None])[0]
    path = save_image(target, tmp_path / "target.png")
    # 8 starts of 160 steps: with 4 of 80, three toy models of ten (seeds 0-4 at 1 and 2
    # threads) were left at 0.0052 to 0.029; with these the worst of the ten was 0.0019
    result = invert(out, str(path), starts=8, steps=160, lr=0.1, feature_weight=0.0)
    assert result.figures["pixel_mse"] < 0.005, result.figures
    # nearer than a typical other sample of the same toy (whose modes are nearly flat images,
    # so the margin is small; bench/gan.py measures inversion on real digits)
    others = gan.images(torch.stack([latent_for_seed(s, gan.latent_shape)
                                     for s in range(12, 52)]))
    typical = float(((others - target) ** 2).flatten(1).mean(1).median())
    assert result.figures["pixel_mse"] < typical
    # sphere: the latent stays where sampled latents lie, and still finds the image, far
    # nearer than a typical other sample (over the ten models: at most 0.068 of that median;
    # on one the projected steps stop at 0.029, which is why not an absolute bound)
    on_shell = invert(out, str(path), starts=8, steps=160, lr=0.1, feature_weight=0.0,
                      sphere=True)
    assert abs(on_shell.figures["latent_norm"] - math.sqrt(gan.nz)) < 1e-3
    assert on_shell.figures["pixel_mse"] < typical / 4, (on_shell.figures, typical)


def test_attribute_vector_moves_ink(trained, tmp_path):
    _, out = trained
    x = toy(16)
    (tmp_path / "heavy").mkdir()
    (tmp_path / "light").mkdir()
    for i, im in enumerate(x):
        save_image(im, tmp_path / ("heavy" if im.mean() > 0.5 else "light") / f"{i}.png")
    # 4 starts of 80 steps: with 2 of 40 the vector came out short on one toy model of ten
    # (seeds 0-4 at 1 and 2 threads) and left a dark seed dark; with these the smallest
    # change on the ten was 0.53
    v = vector(out, str(tmp_path / "heavy"), str(tmp_path / "light"), starts=4, steps=80,
               lr=0.1, feature_weight=0.0)
    assert v.vector.shape == (8,) and v.figures["with_count"] == 8
    v.save(tmp_path / "thick.npy")
    for seed in range(4):  # removing the vector darkens, adding it brightens, from any seed
        ink = apply(out, str(tmp_path / "thick.npy"), seed=seed, amounts=[-2, 2]).figures["ink"]
        assert ink[0] < ink[1] - 0.2, (seed, ink)
    # the same from the command line, spelled as in the issue and README
    args = ["--starts", "4", "--steps", "80", "--lr", "0.1", "--feature-weight", "0"]
    assert main(["gan", "vector", str(out), "--with", str(tmp_path / "heavy"), "--without",
                 str(tmp_path / "light"), *args, "--out", str(tmp_path / "cli.npy")]) == 0
    assert main(["gan", "apply", str(out), "--vector", str(tmp_path / "cli.npy"), "--amounts",
                 "-2", "-1", "0", "1", "2", "--out", str(tmp_path / "strip.png")]) == 0
    ink = json.loads((tmp_path / "strip.json").read_text())["figures"]["ink"]
    assert len(ink) == 5 and ink[0] < ink[-1] - 0.2, ink


def test_diffaugment_keeps_shape_and_is_seeded():
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    a = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(0))
    b = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_bad_inputs(tmp_path, trained, capsys):
    _, out = trained
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReverieError, match="empty"):
        train_gan(str(empty), TINY)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"not an image")
    with pytest.raises(ReverieError, match="none of the 1 files"):
        train_gan(str(junk), TINY)
    # mixed sizes: resized and said so; too few for the size: a warning with the number;
    # unreadable files listed and skipped
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i in range(6):
        save_image(torch.rand(3, 20 + 10 * (i % 2), 24), mixed / f"{i}.png")
    (mixed / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    from reverie.gan.data import load_set
    s = load_set(str(mixed), 32)
    assert len(s.images) == 6 and len(s.skipped) == 1
    assert any("resized to 32x32" in n for n in s.notes)
    assert any("only 6 images" in n for n in s.notes)
    assert any("broken.jpg" in n for n in s.notes)
    # a checkpoint of another kind
    other = tmp_path / "other.pt"
    torch.save({"format": "reverie-charlm", "model": {}}, other)
    with pytest.raises(ReverieError, match="not a Reverie GAN"):
        load_gan(other)
    # a vector of the wrong dimension: one line, exit 2, nothing written
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros(5, dtype=np.float32))
    target = tmp_path / "strip.png"
    assert main(["gan", "apply", str(out), "--vector", str(bad), "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "5 dimensions" in err and "8" in err and len(err.strip().splitlines()) == 1
    assert not target.exists() and not target.with_suffix(".json").exists()
    assert main(["gan", "sample", str(other), "--out", str(target)]) == 2
    assert not target.exists()
    assert main(["gan", "train", "builtin:nope", "--out", str(tmp_path / "g.pt")]) == 2
    assert "builtin:digits" in capsys.readouterr().err
    assert not (tmp_path / "g.pt").exists()
    with pytest.raises(ReverieError, match="diffaugment"):
        GANConfig(diffaugment="flip")


def test_texture_paints_any_size_and_morphs(tmp_path):
    from reverie.gan.texture import paint, train_texture
    out = tmp_path / "tex.pt"
    train_texture(["sample:brick"], crop=32, depth=3, nz=4, ngf=8, ndf=8, max_steps=5,
                  batch_size=4, fd_samples=20, sample_every=100, out=out, device="cpu")
    p = paint(out, width=100, height=52, seed=1)
    assert p.image.shape == (3, 52, 100)
    m = paint(out, width=100, height=52, seed=1, morph_seed=2)
    assert torch.allclose(m.image[:, :, :8], p.image[:, :, :8], atol=0.05)  # left: seed 1
    assert not torch.allclose(m.image[:, :, -8:], p.image[:, :, -8:], atol=0.05)
    with pytest.raises(ReverieError, match="texture GAN"):
        sample(out, n=1)
