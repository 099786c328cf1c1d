"""Projected GAN's discriminator (gan.projected): the frozen network and the random
projections stay as they were, and no gradient reaches them; the trained part separates
real pictures from noise within a few steps; with both, the projected one waits out the
warmup; fine-tuning from a plain model takes its
generator and says so; FreezeD keeps the lower layers; init with a model of another size
and freeze_d without init are one line each."""
from __future__ import annotations

import pytest
import torch

from reverie.cli import main
from reverie.core.config import ConfigError
from reverie.gan.dcgan import GANConfig, load_gan, train_gan
from reverie.gan.projected import ProjectedDiscriminator
from reverie.gan.training import load_checkpoint, lower_layers
from reverie.nets.zoo import load_net

SMALL = dict(size=32, nz=8, ngf=8, ndf=8, batch_size=8, diffaugment="translation",
             fd_samples=20, eval_every=10_000, sample_every=10_000,
             checkpoint_every=10_000, val_frac=0.0, seed=0, device="cpu")


def squares(n: int = 32, seed: int = 0) -> torch.Tensor:
    """Bright squares of random size and place on dark fields: structure noise lacks."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.full((n, 3, 32, 32), 0.1)
    for i in range(n):
        s = int(torch.randint(8, 16, (1,), generator=gen))
        r, c = (int(v) for v in torch.randint(0, 32 - s, (2,), generator=gen))
        x[i, :, r:r + s, c:c + s] = torch.rand(3, 1, 1, generator=gen) * 0.5 + 0.5
    return x


def test_frozen_network_and_projections_stay_frozen(tmp_path):
    net = load_net("lite0")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    out = tmp_path / "p.pt"
    train_gan(squares(), discriminator="projected", max_steps=3, out=out, **SMALL)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    # the random projections are saved with the discriminator and never move: a run of 1
    # step and one of 3 from the same seed hold the same ones, while the trained part moved
    one = tmp_path / "one.pt"
    train_gan(squares(), discriminator="projected", max_steps=1, out=one, **SMALL)
    d1, d3 = load_checkpoint(one)["d"], load_checkpoint(out)["d"]
    fixed = [k for k in d1 if k.startswith(("ccm.", "csm."))]
    assert len(fixed) == 16 and all(torch.equal(d1[k], d3[k]) for k in fixed)
    assert any(not torch.equal(d1[k], d3[k]) for k in d1 if k.startswith("discs."))
    # a gradient step through the discriminator reaches the image and no frozen weight
    d = ProjectedDiscriminator(ndf=8)
    frozen = [p for p in [*d.ccm.parameters(), *d.csm.parameters()]]
    ccm_before = [p.clone() for p in frozen]
    x = (torch.rand(4, 3, 32, 32) * 2 - 1).requires_grad_(True)
    d(x).mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in frozen)
    assert all(p.grad is None for p in net.parameters())
    assert any(p.grad is not None for p in d.discs.parameters())
    opt = torch.optim.Adam([p for p in d.parameters() if p.requires_grad], 1e-2)
    opt.step()
    assert all(torch.equal(a, b) for a, b in zip(frozen, ccm_before))


def test_both_warms_up_on_the_plain_discriminator_alone(tmp_path):
    """Vision-aided GAN's warmup: for `warmup` images only the pixel discriminator judges
    and learns; the projected one is as it was built until then, and learns after."""
    runs, notes = {}, {}
    warm = dict(discriminator="both", warmup=2 * SMALL["batch_size"], **SMALL)
    for steps in (1, 2, 4):
        out = tmp_path / f"{steps}.pt"
        notes[steps] = train_gan(squares(), max_steps=steps, out=out, **warm).notes
        runs[steps] = load_checkpoint(out)["d"]
    projected = [k for k in runs[1] if k.startswith("projected.discs.")]
    plain = [k for k in runs[1] if k.startswith("plain.")]
    assert projected and plain
    # steps 0 and 1 are the warmup: the plain part moved, the projected part did not
    assert any(not torch.equal(runs[1][k], runs[2][k]) for k in plain)
    assert all(torch.equal(runs[1][k], runs[2][k]) for k in projected)
    # steps 2 and 3 judge with both
    assert any(not torch.equal(runs[2][k], runs[4][k]) for k in projected)
    # a budget within the warmup says so; one past it does not
    assert any("never joins" in n for n in notes[2]) and not any("never joins" in n
                                                                 for n in notes[4])
    # fine-tuning a model whose discriminator is both already: no warmup
    tuned = tmp_path / "tuned.pt"
    train_gan(squares(seed=5), init=str(tmp_path / "4.pt"), max_steps=1, out=tuned, **warm)
    assert any(not torch.equal(runs[4][k], load_checkpoint(tuned)["d"][k]) for k in projected)


def test_projected_discriminator_tells_real_from_noise_in_a_few_steps():
    torch.manual_seed(0)
    d = ProjectedDiscriminator(ndf=8)
    opt = torch.optim.Adam([p for p in d.parameters() if p.requires_grad], 2e-4,
                           betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(1)
    real = squares(64, seed=1) * 2 - 1
    for step in range(10):
        idx = torch.randint(64, (16,), generator=gen)
        noise = torch.rand(16, 3, 32, 32, generator=gen) * 2 - 1
        loss = torch.relu(1 - d(real[idx])).mean() + torch.relu(1 + d(noise)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    d.eval()
    with torch.no_grad():
        new_real = squares(32, seed=2) * 2 - 1
        new_noise = torch.rand(32, 3, 32, 32, generator=gen) * 2 - 1
        r, n = d(new_real).mean(1), d(new_noise).mean(1)
    # every new real picture scored above every new noise field
    assert float(r.min()) > float(n.max()), (r, n)


def test_fine_tuning_a_plain_model_with_a_projected_discriminator(tmp_path):
    plain = tmp_path / "plain.pt"
    train_gan(squares(), max_steps=2, out=plain, **SMALL)
    tuned = train_gan(squares(seed=3), discriminator="projected", init=str(plain),
                      max_steps=1, **SMALL)
    assert any("only its generator was taken" in n for n in tuned.notes)
    g0 = load_gan(plain).generator.state_dict()
    # the tuned generator started from the plain one: one small step away from it
    g1 = tuned.generator.state_dict()
    diffs = [float((g0[k].float() - g1[k].float()).abs().max()) for k in g0
             if k.endswith("weight")]
    assert max(diffs) < 0.05
    # FreezeD needs a discriminator of the same kind, and an init at all
    with pytest.raises(ConfigError, match="freeze_d"):
        train_gan(squares(), discriminator="projected", init=str(plain), freeze_d=1,
                  max_steps=1, **SMALL)
    with pytest.raises(ConfigError, match="freeze_d.*init"):
        train_gan(squares(), freeze_d=1, max_steps=1, **SMALL)


@pytest.mark.parametrize("discriminator", ["plain", "projected"])
def test_freeze_d_keeps_the_lower_layers(discriminator, tmp_path):
    first = tmp_path / "first.pt"
    train_gan(squares(), discriminator=discriminator, max_steps=2, out=first, **SMALL)
    tuned_path = tmp_path / "tuned.pt"
    train_gan(squares(seed=4), discriminator=discriminator, init=str(first), freeze_d=1,
              max_steps=3, out=tuned_path, **SMALL)
    d0, d1 = load_checkpoint(first)["d"], load_checkpoint(tuned_path)["d"]
    cfg = GANConfig(discriminator=discriminator, **{k: v for k, v in SMALL.items()})
    from reverie.gan.dcgan import build_dcgan
    _, d = build_dcgan(cfg)
    frozen_ids = {id(p) for m in lower_layers(d, 1) for p in m.parameters()}
    names = {id(p): n for n, p in d.named_parameters()}
    frozen = [names[i] for i in frozen_ids]
    trained = [n for n, p in d.named_parameters() if id(p) not in frozen_ids
               and p.requires_grad and n.endswith(("weight", "weight.original", "original"))]
    assert frozen and trained
    assert all(torch.equal(d0[n], d1[n]) for n in frozen)
    assert any(not torch.equal(d0[n], d1[n]) for n in trained)


def test_init_with_a_model_of_another_size_is_one_line(tmp_path, capsys):
    first = tmp_path / "g32.pt"
    train_gan(squares(), discriminator="projected", max_steps=1, out=first, **SMALL)
    code = main(["gan", "train", "builtin:digits", "--discriminator", "projected", "--init",
                 str(first), "--size", "64", "--max-steps", "1",
                 "--out", str(tmp_path / "g64.pt")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "size" in err and "32" in err
    assert not (tmp_path / "g64.pt").exists()
