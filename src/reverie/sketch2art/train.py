"""Training pix2pix (Isola et al. 2017) on sketch -> picture pairs, through `reverie.train`.

`Pix2PixConfig` names every knob as pix2pix's options do (load_size, crop_size, netG,
ngf, ndf, n_layers_D, norm, gan_mode, lambda_L1, lr, beta1; no_dropout and no_flip as
positive `dropout` and `flip`), plus the sketch side: which extractor draws the training
sketches (`edges`) and how much looser the augmented ones get.

`Pix2PixTask` is what the model gives the one loop: each step a random batch of pairs,
randomly cropped from load_size to crop_size and flipped (pix2pix's jitter), the sketches
augmented (`edges.augment`); then pix2pix's `optimize_parameters`: the discriminator on
(sketch, real) against (sketch, generated), then the generator on the GAN loss plus
lambda_L1 times the L1 distance to the real picture. With lambda_GAN 0 it is pix2pix's "L1
alone" ablation. The learning rate is constant for the first half of the budget and falls
linearly to 0 over the second (pix2pix's n_epochs = n_epochs_decay). The held-out figure is
the L1 distance of the generated pictures to the true ones on held-out pairs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Optional

import torch
import torch.nn as nn

from reverie.core.config import ConfigError, knob, make_config
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.io.checkpoints import ModelFileResult, load_checkpoint as _load
from reverie.sketch2art import data as pairs_data
from reverie.sketch2art import edges as sketch_edges
from reverie.sketch2art.model import (DOWNS, GANLoss, build_discriminator, build_generator,
                                      patch_map, translate)
from reverie.train import Env, Task, TrainConfig, fit, model_path, optimize
from reverie.train.config import checkpoint_every_knob, eval_every_knob, max_steps_knob

FORMAT = "reverie-pix2pix"
FORMAT_VERSION = 1
THUMB = 64            # side of the training thumbnails a model file keeps
KEEP = 512            # at most this many training pairs kept for "nearest by sketch"
EVAL_PAIRS = 16       # held-out pairs measured mid-run (all, up to 64, at the end)


@dataclass
class Pix2PixConfig(TrainConfig):
    MODEL_FIELDS: ClassVar[tuple[str, ...]] = ("netG", "ngf", "ndf", "n_layers_D", "norm",
                                               "dropout", "load_size", "crop_size")
    edges: str = knob("xdog", "the extractor that draws each picture's training sketch: xdog "
                      "(Winnemöller 2012: pen-like strokes) or canny (thin contours)",
                      choices=list(sketch_edges.METHODS))
    load_size: int = knob(286, "pictures are resized to this side, then randomly cropped to "
                          "crop_size (pix2pix's jitter: 286 -> 256)", min=32, unit="px")
    crop_size: int = knob(256, "the side the network works at (a multiple of 128 for "
                          "unet_128, 256 for unet_256)", min=32, unit="px")
    netG: str = knob("unet_256", "the U-Net generator: unet_128 (7 down-samplings) or "
                     "unet_256 (8)", choices=["unet_128", "unet_256"])
    ngf: int = knob(64, "generator filters in its first layer (ngf)", min=4)
    ndf: int = knob(64, "discriminator filters in its first layer (ndf)", min=4)
    n_layers_D: int = knob(3, "PatchGAN depth: 3 sees 70x70 patches, 2 34x34, 1 16x16",
                           min=1, max=5)
    norm: str = knob("batch", "normalisation: batch (pix2pix) or instance",
                     choices=["batch", "instance"])
    dropout: bool = knob(True, "dropout 0.5 in the U-Net's innermost decoder layers (pix2pix's "
                         "noise; off at inference)")
    gan_mode: str = knob("vanilla", "the GAN loss: vanilla (cross-entropy, pix2pix) or lsgan "
                         "(least squares)", choices=["vanilla", "lsgan"])
    lambda_L1: float = knob(100.0, "weight of the L1 distance to the real picture (pix2pix: "
                            "100)", min=0)
    lambda_GAN: float = knob(1.0, "weight of the conditional GAN loss; 0: L1 alone, pix2pix's "
                             "ablation (no discriminator)", min=0, advanced=True)
    lr: float = knob(2e-4, "Adam learning rate of both networks (pix2pix: 0.0002), constant "
                     "for the first half, then falling linearly to 0", above=0)
    beta1: float = knob(0.5, "Adam beta1 (pix2pix: 0.5)", min=0, below=1)
    batch_size: int = knob(1, "pairs per step (pix2pix: 1)", min=1)
    flip: bool = knob(True, "flip pairs left-right at random (pix2pix without --no_flip)")
    stroke_drop: float = knob(0.15, "augmentation: drop each stroke of a training sketch with "
                              "this probability", min=0, below=1, advanced=True)
    jitter: float = knob(0.01, "augmentation: warp the sketch smoothly by up to this share of "
                         "its side", min=0, max=0.1, advanced=True)
    thicken: int = knob(2, "augmentation: dilate the lines by 0..N pixels (per 128)", min=0,
                        max=6, advanced=True)
    val_frac: float = knob(0.1, "share of the pictures held out to measure (a built-in set "
                           "holds out its own)", min=0, below=0.5, advanced=True)
    max_steps: int = max_steps_knob(5000)
    eval_every: int = eval_every_knob(250)
    checkpoint_every: int = checkpoint_every_knob(500)

    def check(self) -> None:
        if self.load_size < self.crop_size:
            raise ConfigError("load_size", f"must be at least crop_size ({self.crop_size}), "
                                           f"got {self.load_size}")
        step = 2 ** DOWNS[self.netG]
        if self.crop_size % step:
            raise ConfigError("crop_size", f"{self.netG} needs a multiple of {step}, got "
                                           f"{self.crop_size}; use netG unet_128 at 128 px")


# ---------------------------------------------------------------------------------------

class Pix2PixTask(Task):
    format, version = FORMAT, FORMAT_VERSION

    def __init__(self, pairs: pairs_data.PairSet, env: Env):
        cfg = self.cfg = env.cfg
        self.env = env
        self.notes = list(pairs.notes)
        x = pairs.pictures
        sketches = pairs.sketches
        self.extracted = sketches is None
        if sketches is None:
            sketches = sketch_edges.extract_all(x, cfg.edges)
        n = len(x)
        if pairs.held_out:
            val = list(pairs.held_out)
        elif cfg.val_frac > 0:
            every = max(2, round(1 / cfg.val_frac))
            val = [i for i in range(n) if i % every == every - 1] or [n - 1]
        else:
            val = []
        train = sorted(set(range(n)) - set(val))
        if not val:
            self.notes.append("no pictures held out (val_frac 0): the held-out figure is the "
                              "training set's")
            val = train
        self.train_x, self.train_s = x[train], sketches[train]
        self.labels = torch.stack([sketch_edges.strokes(s) for s in self.train_s])
        c = cfg.crop_size
        top = (cfg.load_size - c) // 2
        self.val_x = x[val][:, :, top:top + c, top:top + c]
        self.val_s = sketches[val][:, :, top:top + c, top:top + c]
        self.record = {"source": pairs.source, "pairs": n, "train": len(train),
                       "held_out": len(val), "sketches": "extracted by " + cfg.edges
                       if self.extracted else "given (ready pairs)"}
        keep = train[::-(-len(train) // KEEP)][:KEEP]  # spread over the set, not its first files
        self.thumbs = pairs_data.thumbnails(x[keep], THUMB)
        self.thumb_sketches = pairs_data.thumbnails(sketches[keep], THUMB)
        self.thumb_names = [pairs.names[i] for i in keep]
        self.rows = env.rows(cfg.batch_size)
        dev = env.device
        self.G = build_generator(cfg.netG, cfg.ngf, cfg.norm, cfg.dropout).to(dev)
        self.D = build_discriminator(cfg.ndf, cfg.n_layers_D, cfg.norm).to(dev)
        betas = (cfg.beta1, 0.999)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)
        self.models = {"G": self.G, "D": self.D}
        self.optimizers = {"opt_G": self.opt_G, "opt_D": self.opt_D}
        self.g_net, self.d_net = self.G, self.D
        self.gan_loss = GANLoss(cfg.gan_mode)
        self.grid: torch.Tensor | None = None

    def distribute(self, wrap) -> None:
        self.g_net = wrap(self.G)
        if self.cfg.lambda_GAN > 0:
            self.d_net = wrap(self.D)

    def learning_rate(self, frac_done: float, step: int) -> float:
        return self.cfg.lr * min(1.0, 2.0 * (1.0 - frac_done))

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The global batch drawn from the shared stream (jittered, augmented); this
        rank's rows of it, on the device, in [-1, 1]."""
        cfg, gen = self.cfg, self.env.gen
        b, c, span = cfg.batch_size, cfg.crop_size, cfg.load_size - cfg.crop_size + 1
        idx = torch.randint(len(self.train_x), (b,), generator=gen)
        tops = torch.randint(span, (b,), generator=gen)
        lefts = torch.randint(span, (b,), generator=gen)
        flips = torch.rand(b, generator=gen) < 0.5
        sketches = sketch_edges.augment(self.train_s[idx], self.labels[idx], gen,
                                        cfg.stroke_drop, cfg.jitter, cfg.thicken)
        xs, ss = [], []
        for k in range(b):
            t, l = int(tops[k]), int(lefts[k])
            x = self.train_x[idx[k], :, t:t + c, l:l + c]
            s = sketches[k, :, t:t + c, l:l + c]
            if cfg.flip and flips[k]:
                x, s = x.flip(-1), s.flip(-1)
            xs.append(x)
            ss.append(s)
        dev = self.env.device
        return (torch.stack(ss)[self.rows].to(dev) * 2 - 1,
                torch.stack(xs)[self.rows].to(dev) * 2 - 1)

    def step(self, step: int) -> dict[str, Any]:
        cfg = self.cfg
        sketch, real = self.batch()
        fake = self.g_net(sketch)
        losses: dict[str, Any] = {}
        use_gan = cfg.lambda_GAN > 0
        if use_gan:  # D: real pairs up, generated pairs down
            self.D.requires_grad_(True)
            pred_fake = self.d_net(torch.cat([sketch, fake.detach()], 1))
            pred_real = self.d_net(torch.cat([sketch, real], 1))
            loss_d = 0.5 * (self.gan_loss(pred_fake, False) + self.gan_loss(pred_real, True))
            optimize(loss_d, self.opt_D)
            losses["D"] = loss_d.detach()
            self.D.requires_grad_(False)  # G's step: through D, without its gradients
            loss_gan = self.gan_loss(self.D(torch.cat([sketch, fake], 1)), True)
            losses["G_GAN"] = loss_gan.detach()
        else:
            loss_gan = torch.zeros((), device=fake.device)
        loss_l1 = nn.functional.l1_loss(fake, real)
        loss_g = cfg.lambda_GAN * loss_gan + cfg.lambda_L1 * loss_l1
        optimize(loss_g, self.opt_G)
        losses["G_L1"] = loss_l1.detach()
        return losses

    def evaluate(self, final: bool) -> dict[str, Any]:
        count = min(len(self.val_x), 64 if final else EVAL_PAIRS)
        s, x = self.val_s[:count], self.val_x[:count]
        fake = translate(self.G, s.to(self.env.device)).cpu()
        out = {"val_l1": float((fake - x).abs().mean())}
        if final and self.cfg.lambda_GAN > 0:
            out["val_patch_real"] = float(patch_map(self.D, s.to(self.env.device),
                                                    fake.to(self.env.device)).mean())
        from reverie.gan.networks import image_grid
        k = min(4, count)
        self.grid = image_grid(torch.cat([s[:k].repeat(1, 3, 1, 1), fake[:k], x[:k]]), nrow=k)
        return out

    def header(self) -> dict:
        return {"data": self.record, "thumbs": self.thumbs,
                "thumb_sketches": self.thumb_sketches, "thumb_names": self.thumb_names}

    def describe(self, losses: dict, figures: dict) -> str:
        parts = [f"{k} {v:.3f}" for k, v in losses.items() if v is not None]
        if figures.get("val_l1") is not None:
            parts.append(f"held-out L1 {figures['val_l1']:.3f}")
        return ", ".join(parts)

    def preview(self, history: list[dict]):
        return self.grid if self.grid is not None else super().preview(history)


# ---------------------------------------------------------------------------------------

@dataclass
class TrainResult(ModelFileResult):
    G: nn.Module
    checkpoint: dict
    grid: Optional[torch.Tensor] = None

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.images import save_image
        paths = super().write(path)
        if self.grid is not None:
            paths["held-out sketches, outputs and truths"] = save_image(
                self.grid, path.with_name(path.stem + ".samples.png"))
        return paths

    def explain(self, folder: Path) -> dict[str, Path]:
        from reverie.io.figures import plot_curves
        h = self.figures["history"]
        series = {k: [(r["step"], r[k]) for r in h if r.get(k) is not None]
                  for k in ("G_L1", "G_GAN", "D", "val_l1")}
        return {"loss curves": plot_curves({k: v for k, v in series.items() if v},
                                           path=Path(folder) / "loss-curves.png")}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps on {f['train_pairs']} pairs: held-out L1 "
                f"{f['val_l1']:.3f} (the sketch alone: {f['val_l1_sketch']:.3f})")


def load_checkpoint(path) -> dict:
    return _load(path, FORMAT, FORMAT_VERSION, "a sketch2art model",
                 "train one with `reverie sketch2art train FOLDER --out art.pt`")


def train_sketch2art(images=None, config: Optional[Pix2PixConfig] = None, *,
                     out: str | os.PathLike | None = None, progress: Progress = silent,
                     **overrides) -> TrainResult:
    """Train pix2pix to turn sketches into pictures like `images`: a folder of pictures
    (each one's sketch drawn by the `edges` extractor), a folder of pix2pix pairs (AB
    side-by-side, or A/ and B/), `builtin:photo-tiles`, or an (N, 3, H, W) tensor."""
    cfg = make_config(Pix2PixConfig, config, **overrides)
    out = model_path(out, "art.pt")
    inputs = {"images": pairs_data.record(images)}
    start_cfg = cfg
    if cfg.resume and out is not None and out.exists():   # the data at the saved size
        start_cfg = Pix2PixConfig.from_dict({k: v for k, v in load_checkpoint(out)["config"]
                                             .items() if k in cfg.to_dict()})
    elif cfg.init:
        saved = load_checkpoint(cfg.init)["config"]
        start_cfg = cfg.replace(**{k: saved[k] for k in cfg.MODEL_FIELDS if k in saved})
    pairs = pairs_data.load_pairs(images, start_cfg.load_size)
    run = fit(lambda env: Pix2PixTask(pairs, env), cfg, out=out, load=load_checkpoint,
              progress=progress)
    task, rec = run.task, run.record
    run.notes.extend(task.notes)
    sketch_l1 = float((task.val_s.repeat(1, 3, 1, 1) - task.val_x).abs().mean())
    figures = {"steps": rec["step"], **rec["losses"], **rec["figures"],
               "val_l1_sketch": sketch_l1, "train_pairs": len(task.train_x),
               "held_out_pairs": len(task.val_x),
               "pairs_per_second": task.cfg.batch_size / max(run.timings["per_step"], 1e-9),
               "params_G": sum(p.numel() for p in task.G.parameters()),
               "params_D": sum(p.numel() for p in task.D.parameters()),
               "history": run.history}
    result = TrainResult(task.G, run.checkpoint, task.grid, mechanism="train_sketch2art",
                         figures=figures, **run.result_fields())
    return run.save(result, out, inputs)


# ---------------------------------------------------------------------------------------

@dataclass
class Pix2Pix:
    """A trained model, ready to translate: generator, discriminator, and what it saw."""
    G: nn.Module
    D: nn.Module
    config: Pix2PixConfig
    thumbs: torch.Tensor            # (N, 3, 64, 64) uint8 training pictures
    thumb_sketches: torch.Tensor    # (N, 1, 64, 64) uint8 their sketches
    names: list[str]
    data: dict

    @property
    def size(self) -> int:
        return self.config.crop_size


def load_sketch2art(path, device: str | None = None) -> Pix2Pix:
    if isinstance(path, Pix2Pix):
        return path
    ckpt = load_checkpoint(path)
    try:
        cfg = Pix2PixConfig.from_dict({k: v for k, v in ckpt["config"].items()
                                       if k in Pix2PixConfig().to_dict()})
        with torch.random.fork_rng(devices=[]):
            g = build_generator(cfg.netG, cfg.ngf, cfg.norm, cfg.dropout)
            d = build_discriminator(cfg.ndf, cfg.n_layers_D, cfg.norm)
        g.load_state_dict(ckpt["G"])
        d.load_state_dict(ckpt["D"])
        model = Pix2Pix(g.eval().requires_grad_(False), d.eval().requires_grad_(False), cfg,
                        ckpt["thumbs"], ckpt["thumb_sketches"], list(ckpt["thumb_names"]),
                        dict(ckpt.get("data", {})))
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"train it again") from None
    if device:
        from reverie.core.device import resolve_device
        dev = resolve_device(device)
        model.G.to(dev)
        model.D.to(dev)
    return model
