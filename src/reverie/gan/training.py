"""How every Reverie GAN trains, and the checkpoint it leaves.

Read top to bottom:

1. Losses: hinge (Lim & Ye 2017; Miyato et al. 2018; the SAGAN/BigGAN default) or the
   non-saturating loss of Goodfellow et al. 2014; InfoGAN's mutual-information term
   (Chen et al. 2016) when the latent carries a categorical code.
2. `GANTask`, what `reverie.train.fit` trains: both networks updated once per step, Adam
   with two time-scale learning rates (Heusel et al. 2017); an exponential moving average
   of the generator's weights for sampling (Karras et al. 2018; Yazıcı et al. 2019), with
   BatchNorm's statistics recomputed for the averaged weights ("standing statistics",
   Brock et al. 2019, BigGAN). A grid from fixed latents every `sample_every` steps (the
   frames of a GIF of training); the Fréchet and kernel distances on Lite0 features
   (`gan.metrics`) every `eval_every` steps. The loop owns the budget, checkpoints, resume,
   init and DDP.
3. `train`, the entry `train_gan` (`gan.dcgan`) and `train_texture` (`gan.texture`) share:
   each hands it its networks, its latent's shape and where real images come from
   (`GANParts`), and gets a `GANTrainResult`.
4. Checkpoints, and `load_generator`: a trained generator (the EMA weights) for sampling,
   interpolation, inversion.
"""
from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, knob
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, show_preview
from reverie.core.result import Result
from reverie.gan.networks import (code_of, diff_augment, generate, image_grid,
                                  latent_for_seed, lower_layers, standing_stats, to_u8,
                                  truncated_normal)
from reverie.io import checkpoints
from reverie.io.checkpoints import save_checkpoint, saved_config
from reverie.train import (Env, Task, TrainConfig, ema_copy, ema_update, fit, model_path,
                           optimize)

FORMAT = "reverie-gan"
FORMAT_VERSION = 1


def warmup_knob(default: int, measured: str = "") -> int:
    return knob(default, "both: images the plain discriminator judges alone before the "
                "projected one joins (Vision-aided GAN's warmup; its authors use about 5e5 "
                "from scratch on a GPU): the pixel discriminator first spreads the "
                "colours, then the features sharpen the shapes. The plain logit's weight "
                "in the loss halves when they join. Skipped when init gives this run a "
                "trained discriminator of the same kind; 0: both from the first step"
                + measured, min=0)


@dataclass
class GANTrainConfig(TrainConfig):
    """What both GANs' configs share beyond the shared training knobs: FD/KID is their
    held-out figure (`eval_every`, once `fd_every`), and a resumed run takes a new
    `sample_every` too."""
    ALIASES = {**TrainConfig.ALIASES, "fd_every": "eval_every"}
    BUDGET_FIELDS = TrainConfig.BUDGET_FIELDS + ("sample_every",)

    # the discriminator: the GAN's own on pixels, or Projected GAN's (`gan.projected`)
    discriminator: str = knob("plain", "plain: the GAN's own convolutional discriminator on "
                              "pixels; projected: Projected GAN's (Sauer et al. 2021), small "
                              "discriminators on a frozen ImageNet network's features, mixed "
                              "by fixed random projections (blind to overall brightness and "
                              "colour, as ImageNet features are); both: the two together, "
                              "their losses summed (Vision-aided GAN, Kumari et al. 2022)",
                              choices=["plain", "projected", "both"])
    backbone: str = knob("lite0", "projected: the frozen feature network (the paper's best: "
                         "EfficientNet-Lite0)", choices=["lite0", "lite1", "lite2"])
    interp_size: int = knob(32, "projected: images are resized to this side before the "
                            "feature network (the paper's interp224: 224; each doubling costs "
                            "about 3x the time per step on a CPU)", choices=[32, 64, 96, 128,
                                                                             224])
    num_discs: int = knob(4, "projected: discriminators, one per feature scale from the "
                          "finest (the paper: 4)", min=1, max=4, advanced=True)
    cout: int = knob(64, "projected: channels of the finest random projection (CCM; the "
                     "paper: 64, doubling per scale)", min=8, advanced=True)
    warmup: int = warmup_knob(0)
    freeze_d: int = knob(0, "with init: keep the discriminator's first N layers as the "
                         "model's (FreezeD, Mo et al. 2020: fine-tuning on few images "
                         "overfits less); 0: all train", min=0, advanced=True)

    DISCRIMINATOR_FIELDS = ("discriminator", "backbone", "interp_size", "num_discs", "cout")
    ADDED = {"warmup": 0}   # a run recorded before the warmup judged with both from step 0

    @property
    def fd_every(self) -> int:  # read access under the old name
        return self.eval_every


# ---------------------------------------------------------------------------------------
# 1. Losses
# ---------------------------------------------------------------------------------------

def d_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def judged(d: nn.Module, x: torch.Tensor, categories: int):
    """D's logits for x and, with a categorical code, its Q head's logits for the code."""
    return d(x, with_code=True) if categories else (d(x), None)


def info_loss(q: torch.Tensor | None, code: torch.Tensor | None, weight: float):
    """InfoGAN's mutual-information term (a lower bound, up to the code's entropy): how
    badly Q recovers the code the fake was made from. D (with Q) and G both minimise it."""
    return weight * F.cross_entropy(q, code) if q is not None else torch.zeros(())


def g_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return -fake.mean()
    return F.softplus(-fake).mean()  # -log D(G(z)): the non-saturating form


# ---------------------------------------------------------------------------------------
# 2. The task the loop trains
# ---------------------------------------------------------------------------------------

@dataclass
class GANParts:
    """What a GAN brings to training: its networks, the latent's shape, where real images
    come from. `gan.dcgan` and `gan.texture` each make one."""
    kind: str                                   # "dcgan" | "spatial"
    g: nn.Module
    d: nn.Module
    latent_shape: tuple                         # (nz,) or (nz, h, w)
    real_batch: Callable[[torch.Generator, int], torch.Tensor]  # [0, 1] on the CPU
    real_eval: torch.Tensor                     # held-out real images for FD/KID, [0, 1]
    train_images: torch.Tensor | None           # for nearest-neighbour checks, [0, 1]
    data: dict                                  # recorded in the checkpoint (source, counts)
    notes: list[str] = field(default_factory=list)


class GANTask(Task):
    """One step: D on real and fake (augmented alike), then G through D; the EMA after."""
    format, version = FORMAT, FORMAT_VERSION
    smoothing = 0.9     # of the losses progress shows and the history records
    log_every = 10      # a row of the loss history every 10 steps

    def __init__(self, parts: GANParts, env: Env):
        from reverie.gan import metrics

        cfg = self.cfg = env.cfg
        if cfg.freeze_d and not cfg.init:
            raise ConfigError("freeze_d", "FreezeD keeps an init model's layers; give init "
                                          "(a model to fine-tune), or set freeze_d to 0")
        self.env, self.parts = env, parts
        self.g, self.d = parts.g.to(env.device), parts.d.to(env.device)
        self.g_ema = ema_copy(self.g)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr_d, betas=betas)
        self.models = {"g": self.g, "d": self.d, "g_ema": self.g_ema}
        self.optimizers = {"opt_g": self.opt_g, "opt_d": self.opt_d}
        self.net_g, self.net_d = self.g, self.d  # DDP's wrappers under torchrun
        self.rows = env.rows(cfg.batch_size)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)  # batches, latents, augmentations
        self.fixed_z = latent_for_seed(cfg.seed + 2, (16, *parts.latent_shape))  # the GIF's
        self.categories = getattr(cfg, "categories", 0)  # the texture GAN has no code
        self.info_weight = getattr(cfg, "info_lambda", 0.0)
        self.train_u8 = to_u8(parts.train_images[:2000]) if parts.train_images is not None \
            else None
        # the real side of FD/KID, and the floor: one half of the held-out images against the other
        self.n_eval = min(cfg.fd_samples, len(parts.real_eval))
        self.real_feats = metrics.lite0_features(parts.real_eval[:self.n_eval], env.device)
        half = len(self.real_feats) // 2
        self.floor = metrics.distances(self.real_feats[:half], self.real_feats[half:2 * half])
        self.warmup = cfg.warmup   # images; 0 once init gives a trained discriminator
        if not cfg.init:           # with init, init_from knows whether the warmup stays
            self.note_short_budget()
        self.frames: list[torch.Tensor] = []
        if env.resumed is None:
            self.snapshot()  # the untrained generator: the GIF's first frame

    def note_short_budget(self) -> None:
        cfg = self.cfg
        if (cfg.discriminator == "both" and self.warmup and cfg.minutes is None
                and cfg.max_steps * cfg.batch_size <= self.warmup):
            self.parts.notes.append(f"max_steps x batch_size ({cfg.max_steps * cfg.batch_size:,} "
                                    f"images) is within the warmup ({self.warmup:,}): the "
                                    f"projected discriminator never joins; lower warmup")

    def step(self, step: int) -> dict:
        cfg, gen, n, rows = self.cfg, self.gen, self.cfg.batch_size, self.rows
        device, policy, categories = self.env.device, cfg.diffaugment, self.categories
        if hasattr(self.d, "projected_on"):  # both: the projected one joins after the warmup
            self.d.projected_on = step * n >= self.warmup
        # the global batch from the shared stream; this process trains on its rows
        real = self.parts.real_batch(gen, n)[rows].to(device) * 2 - 1
        z = torch.randn((n, *self.parts.latent_shape), generator=gen)[rows].to(device)
        code = code_of(z, categories) if categories else None
        # discriminator: real up, fake down (on augmented copies of both); Q: the fake's code
        fake = self.net_g(z)
        d_real = self.net_d(diff_augment(real, policy, gen, rows, n))
        d_fake, q = judged(self.net_d, diff_augment(fake.detach(), policy, gen, rows, n),
                           categories)
        ld = d_loss(d_real, d_fake, cfg.loss)
        li = info_loss(q, code, self.info_weight)
        optimize(ld + li, self.opt_d)
        # generator: fool the discriminator (through the same kind of augmentation), and
        # make its code plain to Q
        d_fake, q = judged(self.net_d, diff_augment(fake, policy, gen, rows, n), categories)
        lg = g_loss(d_fake, cfg.loss)
        optimize(lg + info_loss(q, code, self.info_weight), self.opt_g)
        # the EMA, with a warm-up (short runs would sample an old generator)
        ema_update(self.g_ema, self.g, self.cfg.ema, step + 1)
        return {"d_loss": ld.detach(), "g_loss": lg.detach(),
                **({"info_loss": li.detach()} if categories else {})}

    def evaluate(self, final: bool) -> dict:
        from reverie.gan import metrics

        shape = self.parts.latent_shape
        standing_stats(self.g_ema, shape)
        z = truncated_normal((self.n_eval, *shape), torch.Generator().manual_seed(7), None)
        fake = metrics.lite0_features(generate(self.g_ema, z), self.env.device)
        return metrics.distances(self.real_feats, fake)

    def snapshot(self) -> None:
        """A frame of the training GIF: the EMA generator's grid from the fixed latents."""
        standing_stats(self.g_ema, self.parts.latent_shape)
        grid = image_grid(generate(self.g_ema, self.fixed_z), nrow=4)
        self.frames.append(to_u8(grid))
        if len(self.frames) > 80:  # a long run: keep every other frame
            self.frames = self.frames[::2]
        show_preview(self.env.progress, grid)

    def after_step(self, step: int, finished: bool) -> None:
        if step % self.cfg.sample_every == 0 or finished:
            self.snapshot()

    def init_from(self, ckpt: dict, path: str) -> None:
        """The generator always; the discriminator when it is of the same kind, its first
        `freeze_d` layers then kept as they are (FreezeD)."""
        cfg = self.cfg
        saved = saved_config(type(cfg), ckpt.get("config", {}))
        same_d = all(getattr(saved, n) == getattr(cfg, n) for n in cfg.DISCRIMINATOR_FIELDS)
        if not same_d:
            ckpt = {k: v for k, v in ckpt.items() if k != "d"}
            self.parts.notes.append(f"{path} was trained with another discriminator "
                                    f"({saved.discriminator}): only its generator was "
                                    f"taken; the discriminator starts fresh")
        super().init_from(ckpt, path)
        if same_d:   # a trained discriminator needs no warmup (Vision-aided GAN: 0 to fine-tune)
            self.warmup = 0
        self.note_short_budget()
        if cfg.freeze_d:
            if not same_d:
                raise ConfigError("freeze_d", f"{path}'s discriminator is not this run's "
                                              f"({cfg.discriminator}), so there is nothing to "
                                              f"freeze; set freeze_d to 0")
            for layer in lower_layers(self.d, cfg.freeze_d):
                layer.requires_grad_(False)
        self.frames = []
        self.snapshot()  # the first frame is the generator it starts from

    def state(self) -> dict:
        return {"frames": list(self.frames), "gen": self.gen.get_state()}

    def load_state(self, state: dict) -> None:
        self.frames = list(state["frames"])
        self.gen.set_state(state["gen"])

    def header(self) -> dict:
        p = self.parts
        return {"kind": p.kind, "latent_shape": list(p.latent_shape), "data": dict(p.data),
                "train_images": self.train_u8}

    def distribute(self, wrap) -> None:
        # during a warmup the projected discriminator's weights get no gradient
        self.net_g = wrap(self.g)
        self.net_d = wrap(self.d, find_unused=hasattr(self.d, "projected_on")
                          and self.warmup > 0)

    def describe(self, losses: dict, figures: dict) -> str:
        fd = figures.get("fd")
        return (f"D {losses['d_loss']:.3f}, G {losses['g_loss']:.3f}" +
                (f", FD {fd:.1f}" if fd is not None else ""))

    def preview(self, history: list[dict]):
        return self.frames[-1].float() / 255  # the studio keeps showing the samples


# ---------------------------------------------------------------------------------------
# 3. The entry both GANs train through
# ---------------------------------------------------------------------------------------

def train(make_parts: Callable[[TrainConfig], GANParts], cfg: GANTrainConfig, *, kind: str,
          out, progress: Progress, inputs: dict, mechanism: str) -> GANTrainResult:
    """Train the GAN `make_parts` builds (under `cfg`, after seeding) through
    `reverie.train.fit`, and make its result; with `out`, save it there."""
    from reverie.gan import metrics

    out = model_path(out, "g.pt")
    run = fit(lambda env: GANTask(make_parts(env.cfg), env), cfg, out=out,
              load=lambda path: load_checkpoint(path, kind), progress=progress)
    task, rec = run.task, run.record
    final, data = rec["figures"], task.parts.data
    figures = {"steps": rec["step"], **rec["losses"],
               "fd": final["fd"], "kid": final["kid"], "fd_real_floor": task.floor["fd"],
               "kid_real_floor": task.floor["kid"], "fd_images": task.n_eval,
               "fd_features": f"EfficientNet-Lite0 pooled head (1280-d) at "
                              f"{metrics.FEATURE_SIZE} px: NOT comparable to published "
                              f"Inception-v3 FID/KID",
               "images": data.get("images"), "train_images": data.get("train"),
               "history": run.history,
               "fd_curve": [{"step": h["step"], "fd": h["fd"], "kid": h["kid"]}
                            for h in run.history if "fd" in h],
               "params_g": sum(p.numel() for p in task.g.parameters()),
               "params_d": sum(p.numel() for p in task.d.parameters()),
               "seconds_per_step": run.timings["per_step"]}
    fields = run.result_fields()
    fields["notes"] = [*fields["notes"], *task.parts.notes]
    result = GANTrainResult(task.g_ema, run.checkpoint, mechanism=mechanism, figures=figures,
                            **fields)
    return run.save(result, out, inputs)


# ---------------------------------------------------------------------------------------
# 4. Checkpoints, the result, and loading a trained generator
# ---------------------------------------------------------------------------------------

def load_checkpoint(path: str | os.PathLike, kind: str | None = None) -> dict:
    """A Reverie GAN checkpoint; with `kind`, one of that kind (dcgan or spatial)."""
    what = "`reverie gan train`" if kind != "spatial" else "`reverie gan texture`"
    ckpt = checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a Reverie GAN",
                                       f"use a model made by {what}")
    if kind is not None and ckpt.get("kind") != kind:
        other = {"dcgan": "an image GAN (`gan train`)",
                 "spatial": "a texture GAN (`gan texture`)"}.get(ckpt.get("kind"), "another kind")
        raise ReverieError(f"{path} is {other}; this command needs a model made by {what}")
    return ckpt


@dataclass
class GANTrainResult(Result):
    generator: nn.Module                # the EMA generator, eval mode, on the CPU
    checkpoint: dict
    suffixes = (".pt",)

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.animation import save_animation
        from reverie.io.images import save_image

        paths = {"model": save_checkpoint(self.checkpoint, path)}
        frames = self.checkpoint["task"]["frames"]
        if frames:
            last = frames[-1].float() / 255
            paths["samples"] = save_image(last, path.with_name(path.stem + ".samples.png"))
            paths["training"] = save_animation([f.float() / 255 for f in frames],
                                               path.with_name(path.stem + ".training.gif"), fps=4)
        paths["curves"] = self._curves(path.with_name(path.stem + ".curves.png"))
        return paths

    def _curves(self, path: Path) -> Path:
        from reverie.io.figures import new_figure, save_figure
        hist = self.figures["history"]
        fig, a = new_figure(9.0, 3.2)
        fig.clf()
        a, b = fig.subplots(1, 2)
        a.plot([h["step"] for h in hist], [h["d_loss"] for h in hist], label="discriminator")
        a.plot([h["step"] for h in hist], [h["g_loss"] for h in hist], label="generator")
        if "info_loss" in hist[-1]:  # InfoGAN: how badly Q reads the code (0: always right)
            a.plot([h["step"] for h in hist], [h["info_loss"] for h in hist],
                   label="code (InfoGAN)")
        a.set_xlabel("step")
        coded = "info_loss" in hist[-1]
        a.set_ylabel(f"{self.config.loss} loss" + ("; code: cross-entropy" if coded else ""))
        a.legend()
        a.grid(alpha=0.3)
        fd = self.figures["fd_curve"]
        b.plot([h["step"] for h in fd], [h["fd"] for h in fd], marker=".", label="FD (Lite0)")
        b.axhline(self.figures["fd_real_floor"], color="grey", ls="--", label="real vs real")
        b.set_xlabel("step")
        b.set_ylabel("Fréchet distance, Lite0 features")
        b.legend()
        b.grid(alpha=0.3)
        return save_figure(fig, path)

    def explain(self, folder: Path) -> dict[str, Path]:
        return {"losses and FD": self._curves(Path(folder) / "gan-curves.png")}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps: FD {f['fd']:.2f}, KID {f['kid']:.4f} on Lite0 features "
                f"(real vs real: FD {f['fd_real_floor']:.2f}, KID {f['kid_real_floor']:.4f}); "
                f"D loss {f['d_loss']:.3f}, G loss {f['g_loss']:.3f}")


@dataclass
class GAN:
    """A trained generator (the EMA weights, standing statistics, eval mode)."""
    generator: nn.Module
    config: Config
    kind: str
    latent_shape: tuple
    train_images: torch.Tensor | None   # [0, 1], for nearest-neighbour checks
    data: dict

    @property
    def nz(self) -> int:
        return self.latent_shape[0]

    @property
    def categories(self) -> int:
        """Values of its InfoGAN code (0: none; the texture GAN has none)."""
        return getattr(self.config, "categories", 0)

    @property
    def radius(self) -> float:
        """sqrt of the latent's size: the norm a Gaussian latent's samples lie close to."""
        return math.sqrt(math.prod(self.latent_shape))

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def images(self, z: torch.Tensor) -> torch.Tensor:
        return generate(self.generator, z)

    def to(self, device: torch.device) -> GAN:
        """This GAN with its generator on `device`: a copy, so one a caller holds (the
        studio's, the gallery's) stays where it is."""
        if self.device == torch.empty(0, device=device).device:  # cuda is cuda:0
            return self
        return replace(self, generator=copy.deepcopy(self.generator).to(device))


def load_generator(path, kind: str, config_class: type[Config], build: Callable,
                   device: str | None = None, stats_shape: Callable | None = None) -> GAN:
    """The sampling generator a checkpoint of `kind` holds, built by `build(config)` and on
    `device` (a Config's device knob; none: the CPU). Its BatchNorm statistics are
    recomputed on latents of `stats_shape(latent_shape)` (default: the latent's shape)."""
    if isinstance(path, GAN):
        return path.to(resolve_device(device)) if device else path
    ckpt = load_checkpoint(path, kind)
    try:
        cfg = config_class.from_dict(ckpt["config"])
        with torch.random.fork_rng(devices=[]):  # building draws initial weights: not ours to move
            g, _ = build(cfg)
        g.load_state_dict(ckpt["g_ema"])
    except (RuntimeError, KeyError, TypeError, AttributeError, ReverieError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"train it again") from None
    shape = tuple(ckpt["latent_shape"])
    standing_stats(g, stats_shape(shape) if stats_shape else shape)
    g.eval().requires_grad_(False)
    train_images = ckpt.get("train_images")
    return GAN(g.to(resolve_device(device)) if device else g, cfg, ckpt["kind"], shape,
               train_images.float() / 255 if train_images is not None else None,
               ckpt.get("data", {}))
