"""DCGAN, with the options the field relies on for stability, trained on the user's images.

Read top to bottom:

1. `GANConfig`: every knob, named as the papers and best-known implementations name them
   (pytorch/examples dcgan/main.py: nz, ngf, ndf, beta1; Heusel et al. 2017's two
   time-scale rule: lr_g, lr_d; Miyato et al. 2018: spectral_norm; Zhao et al. 2020:
   diffaugment; Chen et al. 2016: categories, InfoGAN's code), and the shared training
   knobs of `reverie.train` (max_steps or minutes, eval_every for FD/KID, checkpoints,
   resume, init).
2. The networks (`gan.networks`: Radford, Metz & Chintala 2016), initialised as DCGAN's;
   or, with `discriminator` projected, Projected GAN's discriminator (`gan.projected`).
3. The data: the user's images, a held-out share the real side of FD/KID.
4. `train_gan`: the trainer every GAN shares (`gan.training`), on these.
5. `load_gan`: a trained generator (the EMA weights) for sampling, interpolation, inversion.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import torch

from reverie.core.config import ConfigError, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.gan.networks import AUGMENTS, Discriminator, Generator, dcgan_init, policy_ok
from reverie.gan.projected import BothDiscriminators, projected_discriminator
from reverie.gan.training import (GAN, GANParts, GANTrainConfig, GANTrainResult,
                                  load_generator, train, warmup_knob)
from reverie.train import eval_every_knob


# ---------------------------------------------------------------------------------------
# 1. Config
# ---------------------------------------------------------------------------------------

@dataclass
class GANConfig(GANTrainConfig):
    size: int = knob(32, "image side in pixels (the generator's output)", choices=[32, 64])
    nz: int = knob(100, "latent dimensions (DCGAN's nz)", min=1)
    ngf: int = knob(64, "generator width: channels of its last hidden layer (ngf)", min=4)
    ndf: int = knob(64, "discriminator width: channels of its first layer (ndf)", min=4)
    loss: str = knob("hinge", "hinge (Miyato et al. 2018, BigGAN) or nonsaturating "
                     "(Goodfellow et al. 2014)", choices=["hinge", "nonsaturating"])
    spectral_norm: bool = knob(True, "spectral normalisation on the discriminator's layers "
                               "(Miyato et al. 2018), in place of its BatchNorm")
    lr_g: float = knob(1e-4, "generator Adam learning rate (two time-scale rule: slower than "
                       "the discriminator's, as SAGAN)", above=0)
    lr_d: float = knob(4e-4, "discriminator Adam learning rate (TTUR, Heusel et al. 2017)",
                       above=0)
    beta1: float = knob(0.5, "Adam beta1 (DCGAN: 0.5)", min=0, below=1)
    beta2: float = knob(0.999, "Adam beta2", above=0, below=1)
    categories: int = knob(0, "InfoGAN's categorical code (Chen et al. 2016): the largest of "
                           "the latent's first N coordinates picks one of N values, given to "
                           "the generator one-hot beside z, and a head on the discriminator "
                           "must tell which; each value becomes a mode of its own (on digits, "
                           "often a class), so fewer samples blend two. 0: off", min=0)
    info_lambda: float = knob(1.0, "weight of InfoGAN's mutual-information term (its lambda; "
                              "1 for a categorical code)", min=0, advanced=True)
    ema: float = knob(0.999, "decay of the exponential moving average of the generator "
                      "that samples (0: off)", min=0, below=1)
    diffaugment: str = knob("color,translation,cutout", "DiffAugment policy (Zhao et al. "
                            "2020): comma-separated color, translation, cutout; empty: off")
    batch_size: int = knob(64, "images per step (DCGAN: 128)", min=2)
    sample_every: int = knob(250, "save a grid from fixed latents every N steps (a frame of "
                             "the training GIF)", min=1, advanced=True)
    fd_samples: int = knob(500, "generated (and held-out real) images per FD/KID figure",
                           min=20, advanced=True)
    val_frac: float = knob(0.1, "held-out share of the images: the real side of FD/KID",
                           min=0, below=0.5, advanced=True)

    warmup: int = warmup_knob(80_000, " (80,000 images, 1,250 steps of 64: measured on "
                                      "the bench's 400 shapes in 10 CPU minutes, docs/gan.md)")
    # the shared knobs (reverie.train): max_steps, minutes, eval_every, checkpoint_every,
    # resume, init, threads, seed, device
    eval_every: int = eval_every_knob(1000)
    seed: int = seed_knob()

    MODEL_FIELDS = ("size", "nz", "ngf", "ndf", "spectral_norm", "categories")

    def check(self) -> None:
        if self.categories == 1 or self.categories > self.nz:
            raise ConfigError("categories", f"must be 0 (off) or 2..nz ({self.nz}), got "
                                            f"{self.categories}: the code is read off the "
                                            f"latent's first coordinates")
        if not policy_ok(self.diffaugment):
            raise ConfigError("diffaugment", f"unknown policy {self.diffaugment!r}; use a "
                                             f"comma-separated subset of {', '.join(AUGMENTS)} "
                                             f"(empty: off)")


# ---------------------------------------------------------------------------------------
# 2. Networks
# ---------------------------------------------------------------------------------------

def build_dcgan(cfg: GANConfig) -> tuple[Generator, Discriminator]:
    g = Generator(cfg.nz, cfg.ngf, cfg.size, cfg.categories)
    if cfg.discriminator == "projected":  # its random projections keep their own init
        g.apply(dcgan_init)
        return g, projected_discriminator(cfg, cfg.categories)
    d = Discriminator(cfg.ndf, cfg.size, cfg.spectral_norm, cfg.categories)
    g.apply(dcgan_init)  # in this order: a seed draws the weights it always drew
    d.apply(dcgan_init)  # before spectral norm's power iteration vector matters: it adapts
    if cfg.discriminator == "both":
        return g, BothDiscriminators(d, projected_discriminator(cfg))
    return g, d


# ---------------------------------------------------------------------------------------
# 3. Data, and 4. training
# ---------------------------------------------------------------------------------------

def dcgan_parts(images, cfg: GANConfig) -> GANParts:
    """The DCGAN's networks and data: a held-out share of the images for FD/KID."""
    from reverie.gan.data import load_set

    data = load_set(images, cfg.size, seed=cfg.seed)
    x = data.images
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))
    n_val = int(len(x) * cfg.val_frac)
    if len(x) - n_val < 2:
        raise ReverieError(f"{len(x)} image(s) are too few to train a GAN; give at least a few "
                           f"dozen")
    val, train_x = x[perm[:n_val]], x[perm[n_val:]]
    if n_val < 20:  # too few to hold out: measure against the training images
        val = train_x
        data.notes.append("too few images to hold some out: FD/KID compare with the training "
                          "images themselves")
    g, d = build_dcgan(cfg)

    def real_batch(gen: torch.Generator, n: int) -> torch.Tensor:
        return train_x[torch.randint(len(train_x), (n,), generator=gen)]

    labels = None if data.labels is None else data.labels[perm[n_val:].numpy()].tolist()
    return GANParts("dcgan", g, d, (cfg.nz,), real_batch, val, train_x,
                    {"source": data.source, "images": len(x), "train": len(train_x),
                     "held_out": n_val, "labels": labels}, data.notes)


def train_gan(images=None, config: Optional[GANConfig] = None, *,
              out: str | os.PathLike | None = None, progress: Progress = silent,
              **overrides) -> GANTrainResult:
    """Train a DCGAN on `images`: a folder (recursively), `builtin:digits`,
    `builtin:textures`, or an (N, 3, H, W) tensor in [0, 1].

    With `out`, checkpoints go there every `checkpoint_every` steps and at the end (with a
    sample grid, the training GIF, the curves and the sidecar); `resume=True` continues
    the run whose checkpoint `out` is, and `init` starts from another model's weights."""
    from reverie.gan.data import record as record_images

    cfg = make_config(GANConfig, config, **overrides)
    return train(lambda c: dcgan_parts(images, c), cfg, kind="dcgan", out=out,
                 progress=progress, inputs={"images": record_images(images)},
                 mechanism="train_gan")


# ---------------------------------------------------------------------------------------
# 5. Loading a trained generator
# ---------------------------------------------------------------------------------------

def load_gan(path, device: str | None = None) -> GAN:
    """The sampling generator a `gan train` checkpoint holds, on `device` (a Config's device
    knob: auto, cpu, cuda...; none: the CPU)."""
    return load_generator(path, "dcgan", GANConfig, build_dcgan, device)
