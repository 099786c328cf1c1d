"""Training fast style networks (reverie.image.fast_style) through `reverie.train`.

Johnson et al.'s recipe with Dumoulin et al.'s conditional instance norm: each step a batch
of photos, randomly cropped at several scales, flipped and colour-jittered, is painted in
one of the styles (drawn at random), and the network learns from the perceptual loss of
Gatys's transfer, measured by the same functions (`reverie.image.style`) on the shipped
EfficientNet-Lite:

    loss = content_weight * content + style_weight * style (Gram) + tv_weight * TV

The photos are the scikit-image ones that ship offline; `held_out` keeps some of them out
of training, and the held-out figures (`val_style`, `val_content`, `val_loss`) are measured
on those alone, so they say how well the network paints photos it never saw.

    result = train_fast_style(["starry.jpg", "scream.jpg"], out="two.pt", max_steps=2000)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from reverie.core.config import ConfigError, knob, make_config
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.image.fast_style import (FORMAT, FORMAT_VERSION, CondInstanceNorm, TransformerNet,
                                      count_params, load_checkpoint)
from reverie.image.style import (_features, _layers, content_distance, load_feature_net,
                                 style_distance, style_stats)
from reverie.io.checkpoints import ModelFileResult
from reverie.io.images import SAMPLES, as_image
from reverie.optvis.losses import tv_loss
from reverie.optvis.transform import resize
from reverie.train import (Env, Task, TrainConfig, checkpoint_every_knob, eval_every_knob, fit,
                           max_steps_knob, model_path, optimize)

HELD_OUT = ["chelsea", "coffee", "rocket"]


@dataclass
class FastStyleConfig(TrainConfig):
    """Named as Johnson's fast-neural-style and PyTorch's examples name them; the weights
    are relative, as in `StyleConfig` (each distance over its target's norm)."""
    MODEL_FIELDS = ("width",)

    # Content 30, not Gatys's 3: a network starts from nothing, not from the photo. Measured
    # (one style, 128-pixel crops, width 16): at 3 the held-out content distance stayed at
    # 1.19-1.26 over 150 steps (texture, the photo lost); at 30 it fell 1.01 -> 0.82 in 100.
    content_weight: float = knob(30.0, "weight of the content distance", min=0)
    style_weight: float = knob(30.0, "weight of the style distance (Gram)", min=0)
    tv_weight: float = knob(1.0, "weight of total variation (smoothness)", min=0)
    image_size: int = knob(256, "side of the square training crops", min=32, unit="pixels")
    batch_size: int = knob(4, "photos per step", min=1)
    learning_rate: float = knob(1e-3, "Adam's learning rate", above=0)
    style_size: Optional[int] = knob(None, "style images' long side for their Gram matrices "
                                     "(none: image_size)", min=32, unit="pixels")
    style_layers: Optional[list[str]] = knob(
        None, "style layers of the loss network (none: its own, stem to stage4 for lite)",
        flag="style-layer", metavar="LAYER", resolved=True)
    content_layers: Optional[list[str]] = knob(
        None, "content layer of the loss network (none: its own, stage4 for lite)",
        flag="content-layer", metavar="LAYER", resolved=True)
    loss_network: str = knob("lite0", "the network that measures the losses",
                             choices=("lite0", "lite1", "lite2"))
    width: int = knob(32, "channels of the network's first layer (Johnson: 32; the middle has "
                      "4x); fewer paint faster", min=4)
    held_out: list[str] = knob(HELD_OUT, "scikit-image photos kept out of training, to measure "
                               "how the network paints photos it never saw", choices=SAMPLES)
    min_crop: float = knob(0.35, "smallest random crop, as a share of a photo's short side "
                           "(crops at several scales)", above=0, max=1, advanced=True)
    jitter: float = knob(0.2, "colour jitter: brightness, contrast and saturation scaled by "
                         "up to 1 +/- this", min=0, below=1, advanced=True)
    max_steps: int = max_steps_knob(2000)
    eval_every: int = eval_every_knob(200)
    checkpoint_every: int = checkpoint_every_knob(200)

    def check(self) -> None:
        if not self.held_out:
            raise ConfigError("held_out", "keep at least one photo out, to measure the network on")
        if len(set(self.held_out)) >= len(SAMPLES) - 1:
            raise ConfigError("held_out", "leave at least two photos to train on")


# -- the photos --------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _photo(name: str, max_side: int) -> torch.Tensor:
    return as_image(f"sample:{name}", max_side=max_side).clamp(0, 1)


def random_crops(photos: list[torch.Tensor], n: int, size: int, gen: torch.Generator,
                 min_crop: float, jitter: float) -> torch.Tensor:
    """n square crops (n, 3, size, size): a random photo, side a random share in
    [min_crop, 1] of its short side, flipped half the time, colour-jittered."""
    out = []
    for _ in range(n):
        r = torch.rand(8, generator=gen)
        img = photos[int(r[0] * len(photos)) % len(photos)]
        h, w = img.shape[-2:]
        side = max(8, int(min(h, w) * (min_crop + (1 - min_crop) * float(r[1]))))
        y0, x0 = int((h - side) * float(r[2])), int((w - side) * float(r[3]))
        crop = resize(img[None, :, y0:y0 + side, x0:x0 + side], (size, size), shrink="bilinear")
        if r[4] < 0.5:
            crop = crop.flip(-1)
        b, c, s = (1 + jitter * (2 * r[5:8] - 1)).tolist()
        crop = crop * b
        mean = crop.mean(dim=(1, 2, 3), keepdim=True)
        crop = (crop - mean) * c + mean
        gray = crop.mean(dim=1, keepdim=True)
        crop = (crop - gray) * s + gray
        out.append(crop.clamp(0, 1))
    return torch.cat(out)


def held_out_batch(names: list[str], size: int) -> torch.Tensor:
    """The held-out photos, centre-cropped square at `size`."""
    out = []
    for name in names:
        img = _photo(name, 2 * size)
        h, w = img.shape[-2:]
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        out.append(resize(img[None, :, y0:y0 + s, x0:x0 + s], (size, size), shrink="bilinear"))
    return torch.cat(out).clamp(0, 1)


def style_names(styles: list) -> list[str]:
    """A name per style image: its file's stem or sample name, made unique."""
    names: list[str] = []
    for i, s in enumerate(styles):
        base = (s.split(":", 1)[1] if isinstance(s, str) and s.startswith(("sample:", "builtin:"))
                else Path(s).stem if isinstance(s, (str, os.PathLike)) else f"style{i}")
        base = base.replace("=", "-").replace(",", "-").strip() or f"style{i}"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


# -- the task ----------------------------------------------------------------------------------

class StyleTask(Task):
    """One network for all the styles: each step one style (drawn at random) on a batch of
    augmented photos."""
    format, version = FORMAT, FORMAT_VERSION

    def __init__(self, style_images: list[torch.Tensor], names: list[str], env: Env):
        cfg = self.cfg = env.cfg
        self.env, self.names = env, names
        dev = env.device
        self.model = self.net = TransformerNet(len(style_images), cfg.width).to(dev)
        with torch.random.fork_rng(devices=[]):  # a first load (once a process) draws from it
            self.lossnet = load_feature_net(cfg.loss_network, dev)
        for p in self.lossnet.net.parameters():
            p.requires_grad_(False)
        self.content_layers, self.style_layers = _layers(self.lossnet, cfg, True)
        self.layers = list(dict.fromkeys(self.content_layers + self.style_layers))
        held = set(cfg.held_out)
        self.train_names = [n for n in SAMPLES if n not in held]
        self.photos = [_photo(n, 2 * cfg.image_size) for n in self.train_names]
        side = cfg.style_size or cfg.image_size
        with torch.no_grad():
            self.targets = []
            for img in style_images:
                h, w = img.shape[-2:]
                s = side / max(h, w)
                x = resize(img[None], (max(16, round(h * s)), max(16, round(w * s))),
                           shrink="bicubic").clamp(0, 1).to(dev)
                feats = _features(self.lossnet, x, self.style_layers, 0)
                self.targets.append({n: style_stats(f, "gram") for n, f in feats.items()})
        self.valid = held_out_batch(list(cfg.held_out), cfg.image_size).to(dev)
        self.rows = env.rows(cfg.batch_size)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}

    def losses(self, net, x: torch.Tensor, style: int) -> dict[str, torch.Tensor]:
        """The perceptual loss of painting x in style `style` (averaged over the batch)."""
        cfg = self.cfg
        mix = F.one_hot(torch.tensor([style]), len(self.targets)).float().expand(x.shape[0], -1)
        y = net(x, mix)
        fy = _features(self.lossnet, y, self.layers, 0)
        with torch.no_grad():
            fx = _features(self.lossnet, x, self.content_layers, 0)
        c = sum(content_distance(fy[n], fx[n]) for n in self.content_layers) / len(self.content_layers)
        target = self.targets[style]
        s = sum(style_distance(fy[n], target[n], "gram") for n in self.style_layers) \
            / (len(self.style_layers) * x.shape[0])  # a sum over the batch: its mean
        tv = tv_loss(y)
        loss = cfg.content_weight * c + cfg.style_weight * s + cfg.tv_weight * tv
        return {"loss": loss, "content": c, "style": s, "tv": tv}

    def step(self, step: int) -> dict:
        cfg, gen = self.cfg, self.env.gen
        style = int(torch.randint(len(self.targets), (1,), generator=gen))
        batch = random_crops(self.photos, cfg.batch_size, cfg.image_size, gen, cfg.min_crop,
                             cfg.jitter)[self.rows].to(self.env.device)
        parts = self.losses(self.net, batch, style)
        optimize(parts["loss"], self.optimizer)
        return {f"train_{k}": float(v.detach()) for k, v in parts.items()}

    @torch.no_grad()
    def evaluate(self, final: bool) -> dict:
        self.model.eval()
        figures = {"val_loss": 0.0, "val_content": 0.0, "val_style": 0.0}
        for style in range(len(self.targets)):
            parts = self.losses(self.model, self.valid, style)
            for k in ("loss", "content", "style"):
                figures[f"val_{k}"] += float(parts[k]) / len(self.targets)
        self.model.train()
        return figures

    def header(self) -> dict:
        return {"styles": list(self.names), "width": self.cfg.width}

    def distribute(self, wrap) -> None:
        self.net = wrap(self.model)

    def init_from(self, ckpt: dict, path: str) -> None:
        """Start from another network; with another number of styles, everything but the
        per-style scales and shifts (Dumoulin et al.: a new style needs only those)."""
        if len(ckpt.get("styles", [])) == len(self.names):
            return super().init_from(ckpt, path)
        own = self.model.state_dict()
        cin = {f"{n}.{p}" for n, m in self.model.named_modules()
               if isinstance(m, CondInstanceNorm) for p in ("gamma", "beta")}
        weights = {k: v for k, v in ckpt.get("model", {}).items() if k not in cin}
        if set(weights) != set(own) - cin or any(v.shape != own[k].shape for k, v in weights.items()):
            raise ReverieError(f"init: {path} is a network of another shape; start from one of "
                               f"the same width, or without init")
        self.model.load_state_dict({**own, **weights})

    def describe(self, losses: dict, figures: dict) -> str:
        text = (f"loss {losses['train_loss']:.3f} (content {losses['train_content']:.3f}, "
                f"style {losses['train_style']:.4f})")
        if "val_style" in figures:
            text += f", held out: style {figures['val_style']:.4f}, content {figures['val_content']:.3f}"
        return text


@dataclass
class FastStyleTrainResult(ModelFileResult):
    model: TransformerNet
    styles: list
    checkpoint: dict

    def explain(self, folder: Path) -> dict[str, Path]:
        from reverie.io.figures import plot_curves
        h = self.figures["history"]
        series = {k: [(r["step"], r[k]) for r in h if r.get(k) is not None]
                  for k in ("train_loss", "val_loss")}
        return {"loss curves": plot_curves(series, path=Path(folder) / "loss-curves.png",
                                           xlabel="step", ylabel="perceptual loss")}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps, {len(self.styles)} style(s) ({', '.join(self.styles)}): "
                f"held-out style {f['val_style']:.4f}, content {f['val_content']:.3f}; "
                f"{f['images_per_second']:.1f} images/s")


def train_fast_style(styles, config: Optional[FastStyleConfig] = None, *,
                     out: str | os.PathLike | None = None, progress: Progress = silent,
                     **overrides) -> FastStyleTrainResult:
    """Train one network on the style image(s) `styles` (paths, sample:NAME or (3, H, W)
    tensors); several give a multi-style network whose styles blend (`fast_style`)."""
    cfg = make_config(FastStyleConfig, config, **overrides)
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not styles:
        raise ReverieError("give at least one style image")
    out = model_path(out, "starry.pt")
    inputs = {"styles": record_input(styles)}
    images = [as_image(s, max_side=2048).clamp(0, 1) for s in styles]
    names = style_names(styles)
    run = fit(lambda env: StyleTask(images, names, env), cfg, out=out, load=load_checkpoint,
              progress=progress)
    task, rec = run.task, run.record
    figures = {"steps": rec["step"], **rec["losses"], **rec["figures"], "styles": names,
               "images_per_second": task.cfg.batch_size / max(run.timings["per_step"], 1e-9),
               "params": count_params(task.model), "train_photos": task.train_names,
               "held_out": list(task.cfg.held_out), "history": run.history,
               "content_layers": task.content_layers, "style_layers": task.style_layers}
    result = FastStyleTrainResult(task.model, names, run.checkpoint,
                                  mechanism="train_fast_style", figures=figures,
                                  **run.result_fields())
    return run.save(result, out, inputs)
