"""Neural style transfer and texture synthesis (Gatys, Ecker and Bethge 2015/2016).

The content of one image (feature maps at a mid layer) and the style of others (Gram
matrices of feature maps, blind to position) are combined by optimising the pixels of a
new image:

    loss = content_weight * content + style_weight * style + tv_weight * total variation

What this implementation adds to the paper, each after the implementation that made it
common:
- every layer's loss is relative (squared error over the target's squared norm), so the
  weights mean the same for every network and layer (crowsonkb/style-transfer-pytorch
  scales its MSE for the same reason);
- coarse to fine: start at `min_size` and grow by sqrt(2) per scale to the output size
  (crowsonkb), which fixes large structures cheaply and keeps big outputs within memory;
- several styles blended by weight in Gram space (`style_weights`), "combining any number
  of artists";
- L-BFGS (Gatys, jcjohnson/neural-style) or Adam with clamping and a bias-corrected
  exponential moving average of the iterates (crowsonkb);
- colour control: `original_colors` keeps the content's chrominance (jcjohnson's
  -original_colors: the result's luminance on the content's YIQ chroma), `color_match`
  recolours the style images to the content's colour mean and covariance first (Gatys
  et al. 2017, "Controlling perceptual factors");
- style statistics: Gram (default), mean and covariance, or the Wasserstein-2 distance
  between Gaussians fitted to the features;
- the image is mirrored by `reflect_pad` pixels before the network sees it and the
  features are cropped back to the image, so border pixels get the gradient inside ones
  get (without it the top rows filled with rainbow noise: `optvis.transform.reflect_pad`);
- networks: the zoo's EfficientNet-Lite (default), with the remedies of Wang, Li and
  Vasconcelos (CVPR 2021) for residual networks' peaky activations: `swag` (a softmax
  that smooths activations before the statistics) and taps inside the blocks
  (`stage3.1/expand`, `stage3.1/dw`: post-ReLU6, before the residual sum);
  `random` (a seeded random multi-scale network, Ustyuzhaninov et al. 2016); `vgg19:PATH`
  (a user's torchvision VGG-19, the original papers' network).

    result = style_transfer("sample:chelsea", ["sample:gravel"], size=384)
    result.save("chelsea.png")
    texture("sample:brick", size=256)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent, wants_preview
from reverie.core.result import Result
from reverie.io.animation import save_animation
from reverie.io.images import as_image, save_image
from reverie.optvis.colour import edge_spread, keep_colors, match_colors
from reverie.optvis.losses import gram, sqrtm_psd, tv_loss
from reverie.optvis.transform import reflect_pad, resize

# -- configuration -----------------------------------------------------------------------------

MODEL_CHOICES = "lite0, lite1, lite2, random, random:SEED or vgg19:PATH"
STYLE_LOSSES = ("gram", "meancov", "w2")
INITS = ("content", "noise", "gray", "style")


def _init_file(value: str) -> str | None:
    """The file an `init` value names, if any (for the studio's folder check)."""
    return None if value in INITS or value.startswith("sample:") else value


def _model_file(value: str) -> str | None:
    """The weights file a `model` value names, if any."""
    return value[len("vgg19:"):] if value.startswith("vgg19:") else None


@dataclass
class StyleConfig(Config):
    model: str = knob("lite0", "feature network: lite0, lite1, lite2, random, random:SEED "
                      "(seeded random filters, Ustyuzhaninov et al.) or vgg19:PATH (a "
                      "torchvision VGG-19 state dict, the papers' network)", metavar="MODEL",
                      file=_model_file)
    content_layers: Optional[list[str]] = knob(
        None, "content layer (none: the network's own, stage4 for lite)", flag="content-layer",
        metavar="LAYER", resolved=True)
    style_layers: Optional[list[str]] = knob(
        None, "style layer, e.g. stage3 or stage3.1/dw (none: the network's own, stem to "
        "stage4 for lite)", flag="style-layer", metavar="LAYER", resolved=True)
    # The three weights are relative (see the module docstring); content 3 by bench/style.py
    # (1 gave a worse judged content distance than the baseline on 1 of 5 pairs).
    content_weight: float = knob(3.0, "weight of the content distance", min=0)
    style_weight: float = knob(30.0, "weight of the style distance", min=0)
    tv_weight: float = knob(1.0, "weight of total variation (smoothness)", min=0)
    style_loss: str = knob("gram", "style statistics: Gram matrices (Gatys), mean and "
                           "covariance, or Wasserstein-2 between Gaussians", choices=STYLE_LOSSES)
    swag: bool = knob(False, "softmax-smooth activations before the statistics (Wang et al. "
                      "2021, SWAG)")
    swag_temperature: float = knob(1.0, "SWAG's temperature, in standard deviations of the "
                                   "activations", above=0, advanced=True)
    style_weights: Optional[list[float]] = knob(None, "blend weights of several style images, "
                                                "one per style, normalised (none: equal)", min=0)
    init: str = knob("content", "starting image: content, noise (white noise, the papers'), "
                     "gray (crowsonkb's), style, or an image path or sample:NAME",
                     metavar="INIT", file=_init_file)
    optimizer: str = knob("lbfgs", "L-BFGS (Gatys) or Adam with an average of the iterates "
                          "(crowsonkb)", choices=("lbfgs", "adam"))
    iterations: int = knob(60, "loss evaluations at each scale after the first", min=1)
    initial_iterations: int = knob(150, "loss evaluations at the first, smallest scale", min=1)
    lr: float = knob(0.02, "Adam's step size (pixels in [0, 1])", above=0)
    ema_decay: float = knob(0.99, "Adam: decay of the average of the iterates", min=0, below=1,
                            advanced=True)
    size: int = knob(512, "the output's long side", min=16, unit="pixels")
    min_size: int = knob(128, "the first scale's long side (coarse to fine, sqrt(2) per scale)",
                         min=16, unit="pixels")
    scales: Optional[int] = knob(None, "number of scales (none: from min_size)", min=1)
    style_scale: float = knob(1.0, "style image size relative to the output", above=0)
    original_colors: bool = knob(False, "keep the content's colours (luminance-only transfer)")
    color_match: bool = knob(False, "recolour the style images to the content's colours first")
    pooling: str = knob("max", "VGG-19 only: its pooling", choices=("max", "avg"), advanced=True)
    reflect_pad: int = knob(16, "mirror this much of the image onto each side before the "
                            "network, so border pixels are seen like inside ones", min=0,
                            unit="pixels", advanced=True)
    max_seconds: Optional[float] = knob(None, "also stop at this wall time (the output then "
                                        "depends on the machine; none: iterations only)",
                                        above=0, unit="seconds")
    save_every: int = knob(0, "keep a progress frame every N evaluations, written as an "
                           "animation beside the image (OUT.gif); 0: none", min=0)
    fps: float = knob(8.0, "progress animation frame rate", above=0, unit="frames per second")
    seed: int = seed_knob()
    device: str = device_knob()

    def check(self) -> None:
        m = self.model
        if not (m in ("lite0", "lite1", "lite2", "random") or m.startswith("vgg19:")
                or (m.startswith("random:") and m[7:].isdigit())):
            hint = (" (the random network's seed must be a number, e.g. random:3)"
                    if m.startswith("random:") else "")
            raise ConfigError("model", f"unknown model {m!r}{hint}; choose {MODEL_CHOICES}")
        if self.style_weights is not None and sum(self.style_weights) <= 0:
            raise ConfigError("style_weights", "must not all be zero, e.g. 0.7 0.3")
        if (self.init not in INITS and not self.init.startswith("sample:")
                and not Path(self.init).is_file()):
            raise ConfigError("init", f"{self.init!r} is neither {', '.join(INITS)} nor an "
                              f"image file")


@dataclass
class TextureConfig(StyleConfig):
    """Texture synthesis: style only, from noise; the content fields are unused."""
    content_layers: Optional[list[str]] = knob(None, "unused by texture", cli=False, resolved=True)
    content_weight: float = knob(0.0, "unused by texture", min=0, cli=False)
    original_colors: bool = knob(False, "unused by texture", cli=False)
    color_match: bool = knob(False, "unused by texture", cli=False)
    init: str = knob("noise", "starting image: noise (white noise, the papers'), gray "
                     "(crowsonkb's), style, or an image path or sample:NAME", metavar="INIT",
                     file=_init_file)
    aspect: float = knob(1.0, "width / height of the texture (size is its long side)",
                         above=0)


@dataclass
class StyleResult(Result):
    image: torch.Tensor                                   # (3, H, W) in [0, 1]
    frames: list[torch.Tensor] = field(default_factory=list)  # progress, when save_every
    history: list[dict] = field(default_factory=list)    # loss at every evaluation

    suffixes = (".png", ".jpg", ".jpeg", ".webp")

    @property
    def losses(self) -> dict[str, float]:
        """Relative distances at the end: content, style, tv and each layer's."""
        return self.figures["losses"]

    def write(self, path: Path) -> dict[str, Path]:
        paths = {"image": save_image(self.image, path)}
        if self.frames:
            paths["animation"] = save_animation(self.frames, path.with_suffix(".gif"),
                                                fps=self.config.fps)
        return paths

    def explain(self, folder: Path) -> dict[str, Path]:
        """The total loss at every evaluation, one line per scale (coarse to fine)."""
        if not self.history:
            return {}
        from reverie.io.figures import plot_curves
        series: dict[str, list] = {}
        for h in self.history:
            series.setdefault(f"scale {h['scale']}", []).append((h["eval"], h["loss"]))
        return {"loss curve": plot_curves(series, Path(folder) / "loss-curve.png",
                                          xlabel="evaluation", ylabel="total loss")}

    def summary(self) -> str:
        w, h = self.figures["size"]
        line = f"{w}x{h} in {self.timings['total']:.1f} s: style distance {self.losses['style']:.4g}"
        if self.losses.get("content"):
            line += f", content distance {self.losses['content']:.4g}"
        return line


# -- feature networks --------------------------------------------------------------------------

def swag(f: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Wang et al. 2021 (SWAG): a softmax over each layer's activations raises their entropy,
    so one peaky channel no longer dominates the Gram matrix. The activations are first
    divided by their own standard deviation (so the temperature is in units of it), and the
    result is scaled by the number of entries to keep a mean of 1."""
    flat = f.flatten(1)
    z = flat / (temperature * flat.std(dim=1, keepdim=True).detach() + 1e-8)
    return (F.softmax(z, dim=1) * flat.shape[1]).view_as(f)


class LiteFeatures:
    """The zoo's EfficientNet-Lite with taps inside the blocks as well as between them.

    `stage3.1` is a block output (before activation, after the residual sum, as in the
    zoo); `stage3.1/expand` and `stage3.1/dw` are that block's expanded and depthwise
    activations after ReLU6: wider, and free of the residual path that Wang et al. found
    makes activations peaky.
    """

    def __init__(self, net, use_swag: bool = False, temperature: float = 1.0):
        self.net, self.use_swag, self.temperature = net, use_swag, temperature
        self.name = net.name + ("+swag" if use_swag else "")
        self.layers = dict(net.layers)
        from reverie.nets.zoo import LayerInfo
        for s, stage in enumerate(net.stages, 1):
            for b, block in enumerate(stage):
                info = net.layers[f"stage{s}.{b}"]
                aliases = [f"stage{s}.{b}"] + ([f"stage{s}"] if b == len(stage) - 1 else [])
                for part, conv in (("expand", block.expand), ("dw", block.depthwise)):
                    if conv is None:
                        continue
                    stride = info.stride // block.depthwise.stride[0] if part == "expand" else info.stride
                    for alias in aliases:
                        self.layers[f"{alias}/{part}"] = LayerInfo(f"{alias}/{part}", conv.out_channels,
                                                                   stride, info.hint)
        self.default_content_layers = ["stage4"]
        self.default_style_layers = ["stem", "stage1", "stage2", "stage3", "stage4"]

    def check_layer(self, name: str) -> str:
        if name not in self.layers:
            self.net.check_layer(name.split("/")[0])   # names the close matches
            raise ReverieError(f"unknown layer {name!r} for {self.net.name}; inner taps are "
                               f"BLOCK/expand or BLOCK/dw, e.g. stage3.1/dw")
        return name

    def features(self, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        for n in names:
            self.check_layer(n)
        captured: dict[str, torch.Tensor] = {}
        handles, base = [], []
        for n in names:
            if "/" not in n:
                base.append(n)
                continue
            block_name, part = n.split("/")
            s, b = self.net.canonical(block_name)[5:].split(".")
            block = self.net.stages[int(s) - 1][int(b)]
            module = block.expand if part == "expand" else block.depthwise
            handles.append(module.register_forward_hook(
                lambda m, i, o, n=n: captured.__setitem__(n, F.relu6(o))))
            base.append(block_name)
        try:
            out = self.net.features(x, list(dict.fromkeys(base)))
        finally:
            for h in handles:
                h.remove()
        found = {n: captured[n] if "/" in n else out[n] for n in names}
        if self.use_swag:
            found = {n: swag(f, self.temperature) for n, f in found.items()}
        return found


def load_feature_net(model: str, device: torch.device | str = "cpu", *, use_swag: bool = False,
                     swag_temperature: float = 1.0, pooling: str = "max"):
    """`lite0|lite1|lite2`, `random` / `random:SEED`, or `vgg19:PATH` as a feature network."""
    device = resolve_device(str(device))
    if model.startswith("vgg19:"):
        from reverie.nets.randnet import load_vgg19
        net = load_vgg19(Path(model[len("vgg19:"):]).expanduser(), pooling).to(device)
    elif model == "random" or model.startswith("random:"):
        from reverie.nets.randnet import RandomNet
        seed_text = model.partition(":")[2] or "0"
        if not seed_text.isdigit():
            raise ReverieError(f"bad model {model!r}: the random network's seed must be a "
                               f"number, e.g. random:3")
        net = RandomNet(int(seed_text)).to(device)
    elif model in ("lite0", "lite1", "lite2"):
        from reverie.nets.zoo import load_net
        return LiteFeatures(load_net(model, device), use_swag, swag_temperature)
    else:
        raise ReverieError(f"unknown model {model!r}; choose {MODEL_CHOICES}")
    if use_swag:
        net = _Swagged(net, swag_temperature)
    return net


class _Swagged:
    """SWAG on any feature network."""

    def __init__(self, net, temperature):
        self.net, self.temperature = net, temperature
        self.name, self.layers = net.name + "+swag", net.layers
        self.default_content_layers = net.default_content_layers
        self.default_style_layers = net.default_style_layers
        self.check_layer = net.check_layer

    def features(self, x, names):
        return {n: swag(f, self.temperature) for n, f in self.net.features(x, names).items()}


# -- statistics and losses ---------------------------------------------------------------------

def style_stats(f: torch.Tensor, kind: str) -> dict[str, torch.Tensor]:
    if kind == "gram":
        return {"gram": gram(f)}
    m = f.flatten(2)
    mean = m.mean(-1, keepdim=True)
    centred = m - mean
    cov = centred @ centred.transpose(1, 2) / m.shape[-1]
    return {"mean": mean, "cov": cov}


def blend_stats(stats: list[dict[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """Weighted average of several styles' statistics (weights already sum to 1)."""
    return {k: sum(w * s[k] for s, w in zip(stats, weights)) for k in stats[0]}


def _relative(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (x - target).pow(2).sum() / (target.pow(2).sum() + 1e-8)


def style_distance(f: torch.Tensor, target: dict[str, torch.Tensor], kind: str) -> torch.Tensor:
    """Relative distance between f's style statistics and the target's."""
    if kind == "gram":
        return _relative(gram(f), target["gram"])
    s = style_stats(f, kind)
    if kind == "meancov":
        return _relative(s["mean"], target["mean"]) + _relative(s["cov"], target["cov"])
    # W2 between Gaussians: |mu - mu_t|^2 + tr(S + S_t - 2 (S_t^1/2 S S_t^1/2)^1/2), over tr(S_t)+|mu_t|^2
    root_t = target.get("root")
    if root_t is None:
        root_t = target["root"] = sqrtm_psd(target["cov"])
    inner = root_t @ s["cov"] @ root_t
    eig = torch.linalg.eigvalsh(inner).clamp_min(1e-10)
    w2 = ((s["mean"] - target["mean"]).pow(2).sum() + s["cov"].diagonal(dim1=-2, dim2=-1).sum()
          + target["cov"].diagonal(dim1=-2, dim2=-1).sum() - 2 * eig.sqrt().sum())
    scale = target["cov"].diagonal(dim1=-2, dim2=-1).sum() + target["mean"].pow(2).sum()
    return w2.clamp_min(0) / (scale + 1e-8)


def content_distance(f: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _relative(f, target)


def range_penalty(x: torch.Tensor) -> torch.Tensor:
    """Keeps L-BFGS's iterates inside [0, 1] without clamping away its gradients."""
    return (F.relu(x - 1).pow(2) + F.relu(-x).pow(2)).mean()


# -- images and sizes --------------------------------------------------------------------------

def _resize(x: torch.Tensor, hw: Sequence[int]) -> torch.Tensor:
    """A picture at another size, kept in [0, 1]."""
    return resize(x, hw, shrink="bicubic").clamp(0, 1)


def fit_size(hw: Sequence[int], long_side: int) -> tuple[int, int]:
    """(h, w) scaled so the longer side is `long_side` (up or down)."""
    h, w = hw
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def scale_sizes(final_hw: tuple[int, int], min_size: int, count: int | None) -> list[tuple[int, int]]:
    """Coarse to fine: each scale sqrt(2) larger than the one before, ending at the output size."""
    h, w = final_hw
    long_side = max(h, w)
    sides = []
    i = 0
    while True:
        side = round(long_side / 2 ** (i / 2))
        if (count is None and side < min(min_size, long_side)) or (count is not None and i >= count):
            break
        sides.append(side)
        i += 1
    sides = sorted(set(sides)) or [long_side]
    return [(max(8, round(h * s / long_side)), max(8, round(w * s / long_side))) for s in sides]


def _image(source, max_side: int | None = None) -> torch.Tensor:
    return as_image(source, max_side).clamp(0, 1).cpu()


def _output_hw(cfg: StyleConfig, content: torch.Tensor | None, style: torch.Tensor) -> tuple[int, int]:
    if content is not None:
        return fit_size(content.shape[-2:], cfg.size)
    aspect = getattr(cfg, "aspect", style.shape[-1] / style.shape[-2])
    h, w = (cfg.size / aspect, cfg.size) if aspect >= 1 else (cfg.size, cfg.size * aspect)
    return max(16, round(h)), max(16, round(w))


def _features(net, x: torch.Tensor, names: list[str], pad: int) -> dict[str, torch.Tensor]:
    """The network's features of x mirrored by `pad` pixels (see `reflect_pad`), cropped
    back to the positions over x itself: border pixels are seen with their full context,
    and the statistics stay those of the image, not of its mirror (which flips the
    orientation of strokes: measured, uncropped mirrors raised bench/style.py's judged
    style distance by 20-50%)."""
    h, w = x.shape[-2:]
    padded = reflect_pad(x, pad)
    p = (padded.shape[-1] - w) // 2
    feats = net.features(padded, names)
    if not p:
        return feats
    out = {}
    for n, f in feats.items():
        s = net.layers[n].stride
        if f.dim() != 4 or not s:
            out[n] = f
            continue
        c = p // s
        out[n] = f[..., c:c + math.ceil(h / s), c:c + math.ceil(w / s)]
    return out


def _layers(net, cfg: StyleConfig, with_content: bool) -> tuple[list[str], list[str]]:
    """(content layers, style layers), checked against the network."""
    content = list(cfg.content_layers or net.default_content_layers) if with_content else []
    style = list(cfg.style_layers or net.default_style_layers)
    for name, flag, layers in (("content_layers", "content-layer", content),
                               ("style_layers", "style-layer", style)):
        for n in layers:
            try:
                net.check_layer(n)
            except ReverieError as exc:
                raise ConfigError(name, str(exc), flag=flag) from None
    return content, style


def _blend_weights(cfg: StyleConfig, n_styles: int) -> list[float]:
    if cfg.style_weights is None:
        return [1.0 / n_styles] * n_styles
    if len(cfg.style_weights) != n_styles:
        raise ConfigError("style_weights", f"{len(cfg.style_weights)} weight(s) for {n_styles} "
                          f"style image(s); give one weight per style image")
    total = sum(cfg.style_weights)
    return [w / total for w in cfg.style_weights]


# -- the optimisation --------------------------------------------------------------------------

def style_transfer(content, styles, config: StyleConfig | None = None, *,
                   progress: Progress = silent, **overrides) -> StyleResult:
    """Paint `content` (a path, `sample:NAME` or (3, H, W) tensor) in the style of `styles`
    (one or a list of the same). Config fields can be given as keywords: `size=384`."""
    cfg = make_config(StyleConfig, config, **overrides)
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    inputs = {"content": record_input(content), "styles": record_input(styles)}
    return _paint(content, styles, cfg, inputs, "style_transfer", progress)


def texture(style, config: TextureConfig | None = None, *, progress: Progress = silent,
            **overrides) -> StyleResult:
    """Texture synthesis (Gatys et al. 2015): the style of `style` (one image or a list to
    blend) from noise, `size` pixels on the long side, `aspect` = width / height."""
    cfg = make_config(TextureConfig, config, **overrides)
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    return _paint(None, styles, cfg, {"style": record_input(style)}, "texture", progress)


def with_original_colors(result: StyleResult, content) -> StyleResult:
    """`result`, a style transfer of `content`, as `original_colors` paints it. The colours
    are put back after the optimisation, so one painting gives both without a second run
    (the timings stay the painting's)."""
    painted = result.inputs.get("content") or {}
    # a photo given in memory is recorded without a source, and cannot be checked
    if result.mechanism != "style_transfer" or (painted.get("source") is not None
                                                and record_input(content) != painted):
        raise ReverieError("with_original_colors takes a style transfer and the content it "
                           "painted; give that photo, or paint with original_colors on")
    image = _content_colors(_image(content), result.image)
    return replace(result, image=image, frames=[*result.frames[:-1], image][:len(result.frames)],
                   config=result.config.replace(original_colors=True), saved=None,
                   figures={**result.figures, "edge_colour_spread": edge_spread(image)})


def _content_colors(content_img: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return keep_colors(_resize(content_img, image.shape[-2:]), image)


def _paint(content, styles: list, cfg: StyleConfig, inputs: dict, mechanism: str,
           progress: Progress) -> StyleResult:
    start = time.perf_counter()
    if not styles:
        raise ReverieError("give at least one style image")
    weights = _blend_weights(cfg, len(styles))
    # files named by fields (an init image, VGG weights) are inputs too: rerun checks them
    if cfg.init not in ("content", "noise", "gray", "style"):
        inputs["init"] = record_input(cfg.init)
    if cfg.model.startswith("vgg19:"):
        inputs["weights"] = record_input(str(Path(cfg.model[len("vgg19:"):]).expanduser()))
    dev = resolve_device(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)
    notes: list[str] = []

    content_img = _image(content) if content is not None else None
    style_imgs = [_image(s, max_side=2048) for s in styles]
    if cfg.color_match and content_img is not None:
        style_imgs = [match_colors(s, content_img) for s in style_imgs]
    net = load_feature_net(cfg.model, dev, use_swag=cfg.swag,
                           swag_temperature=cfg.swag_temperature, pooling=cfg.pooling)
    use_content = content_img is not None and cfg.content_weight > 0
    content_layers, style_layers = _layers(net, cfg, use_content)

    final_hw = _output_hw(cfg, content_img, style_imgs[0])
    sizes = scale_sizes(final_hw, cfg.min_size, cfg.scales)
    budgets = [cfg.initial_iterations] + [cfg.iterations] * (len(sizes) - 1)
    total = sum(budgets)
    x = _initial_image(cfg.init, content_img, style_imgs[0], sizes[0], gen)
    history: list[dict] = []
    frames: list[torch.Tensor] = []
    done = 0
    load_s = time.perf_counter() - start
    deadline = None if cfg.max_seconds is None else start + cfg.max_seconds

    def objective(img, targets, parts=None):
        feats = _features(net, img, list(dict.fromkeys(content_layers + style_layers)),
                          cfg.reflect_pad)
        c_terms = {n: content_distance(feats[n], targets["content"][n]) for n in content_layers}
        s_terms = {n: style_distance(feats[n], targets["style"][n], cfg.style_loss)
                   for n in style_layers}
        c = sum(c_terms.values(), torch.zeros((), device=img.device)) / max(1, len(c_terms))
        s = sum(s_terms.values()) / len(s_terms)
        tv = tv_loss(img)
        loss = cfg.content_weight * c + cfg.style_weight * s + cfg.tv_weight * tv
        if parts is not None:
            parts.update({"content": float(c), "style": float(s), "tv": float(tv)})
            parts.update({f"style:{n}": float(v) for n, v in s_terms.items()})
            parts.update({f"content:{n}": float(v) for n, v in c_terms.items()})
        return loss

    for scale_i, (hw, budget) in enumerate(zip(sizes, budgets)):
        if scale_i and deadline is not None and time.perf_counter() > deadline:
            notes.append(f"stopped before scale {hw[1]}x{hw[0]}: max_seconds reached")
            break
        x = _resize(x, hw).to(dev)
        targets = _targets(net, content_img, style_imgs, weights, hw, cfg, content_layers,
                           style_layers, dev)
        label = f"{hw[1]}x{hw[0]}"

        def on_eval(evals, loss_value, img, label=label):
            nonlocal done
            done += 1
            history.append({"scale": label, "eval": evals, "loss": loss_value})
            progress(done, total, f"{label} loss {loss_value:.4g}")
            if done % 10 == 0 and wants_preview(progress):
                show_preview(progress, img.detach().clamp(0, 1).cpu()[0])
            if cfg.save_every and done % cfg.save_every == 0:
                frames.append(_resize(img.detach().clamp(0, 1).cpu(), final_hw)[0])

        def f(img, targets=targets):
            return objective(img, targets)

        if cfg.optimizer == "lbfgs":
            x = _run_lbfgs(x, f, budget, on_eval, deadline)
        else:
            x = _run_adam(x, f, budget, cfg, on_eval, deadline)
        done = sum(budgets[:scale_i + 1])

    x = x.detach().clamp(0, 1)
    if x.shape[-2:] != tuple(final_hw):
        x = _resize(x, final_hw)
        targets = _targets(net, content_img, style_imgs, weights, final_hw, cfg, content_layers,
                           style_layers, dev)
    losses: dict[str, float] = {}
    with torch.no_grad():
        objective(x, targets, losses)
    image = x[0].cpu()
    if cfg.original_colors and content_img is not None:
        image = _content_colors(content_img, image)
    if frames:
        frames.append(image)
    seconds = time.perf_counter() - start
    figures = {"size": [int(image.shape[-1]), int(image.shape[-2])],
               "scales": [[w, h] for h, w in sizes], "evaluations": len(history),
               "loss_start": history[0]["loss"] if history else None,
               "loss_end": history[-1]["loss"] if history else None,
               "losses": losses, "edge_colour_spread": edge_spread(image)}
    deterministic = cfg.max_seconds is None
    if not deterministic:
        notes.append("max_seconds limits the run by wall time, so this output depends on the "
                     "machine and its load; rerun may differ")
    return StyleResult(image, frames, history, mechanism=mechanism, config=cfg, inputs=inputs,
                       figures=figures, notes=notes, deterministic=deterministic,
                       timings={"load": round(load_s, 3), "total": round(seconds, 3)},
                       resolved={"device": str(dev), "content_layers": content_layers,
                                 "style_layers": style_layers})


@torch.no_grad()
def evaluate(image, content, styles, config: StyleConfig | None = None, *, net=None,
             **overrides) -> dict[str, float]:
    """The relative content and style distances of `image` (per layer and averaged), measured
    the way `style_transfer` measures them, at the image's own size."""
    cfg = make_config(StyleConfig, config, **overrides)
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    weights = _blend_weights(cfg, len(styles))
    dev = resolve_device(cfg.device)
    net = net or load_feature_net(cfg.model, dev, use_swag=cfg.swag,
                                  swag_temperature=cfg.swag_temperature, pooling=cfg.pooling)
    x = _image(image)[None].to(dev)
    content_img = _image(content) if content is not None else None
    style_imgs = [_image(s, max_side=2048) for s in styles]
    content_layers, style_layers = _layers(net, cfg, content_img is not None)
    targets = _targets(net, content_img, style_imgs, weights, tuple(x.shape[-2:]), cfg,
                       content_layers, style_layers, dev)
    feats = _features(net, x, list(dict.fromkeys(content_layers + style_layers)), cfg.reflect_pad)
    out = {f"style:{n}": float(style_distance(feats[n], targets["style"][n], cfg.style_loss))
           for n in style_layers}
    out.update({f"content:{n}": float(content_distance(feats[n], targets["content"][n]))
                for n in content_layers})
    out["style"] = sum(out[f"style:{n}"] for n in style_layers) / len(style_layers)
    out["content"] = (sum(out[f"content:{n}"] for n in content_layers) / len(content_layers)
                      if content_layers else 0.0)
    return out


def _initial_image(init: str, content, style, hw, gen) -> torch.Tensor:
    h, w = hw
    if init == "content" and content is None:
        init = "noise"
    if init == "content":
        return _resize(content, hw)[None]
    if init == "noise":   # white noise, as in the papers
        return torch.rand(1, 3, h, w, generator=gen)
    if init == "gray":    # crowsonkb's: mid-grey with a whisper of noise
        return 0.5 + (torch.rand(1, 3, h, w, generator=gen) - 0.5) / 255
    if init == "style":
        return _resize(style, hw)[None]
    return _resize(_image(init), hw)[None]


@torch.no_grad()
def _targets(net, content, styles, weights, hw, cfg, content_layers, style_layers, dev):
    out = {"content": {}, "style": {}}
    if content_layers:
        c = _resize(content, hw)[None].to(dev)
        out["content"] = {n: f.detach() for n, f in
                          _features(net, c, content_layers, cfg.reflect_pad).items()}
    per_style = []
    for s in styles:
        side = round(max(hw) * cfg.style_scale)
        side = min(side, max(s.shape[-2:])) if cfg.style_scale <= 1 else side
        s_hw = fit_size(s.shape[-2:], max(side, 32))
        feats = _features(net, _resize(s, s_hw)[None].to(dev), style_layers, cfg.reflect_pad)
        per_style.append({n: style_stats(f, "gram" if cfg.style_loss == "gram" else "meancov")
                          for n, f in feats.items()})
    out["style"] = {n: blend_stats([p[n] for p in per_style], weights) for n in style_layers}
    return out


class _OutOfTime(Exception):
    pass


def _run_lbfgs(x, objective, budget, on_eval, deadline):
    x = x.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=budget, max_eval=budget, history_size=50,
                            tolerance_grad=1e-9, tolerance_change=1e-12,
                            line_search_fn="strong_wolfe")
    evals = 0

    def closure():
        nonlocal evals
        opt.zero_grad()
        if deadline is not None and time.perf_counter() > deadline:
            raise _OutOfTime
        loss = objective(x) + 1e3 * range_penalty(x)
        loss.backward()
        evals += 1
        on_eval(evals, float(loss.detach()), x.detach())
        return loss

    try:
        opt.step(closure)
    except _OutOfTime:
        pass
    return x.detach().clamp(0, 1)


def _run_adam(x, objective, budget, cfg, on_eval, deadline):
    x = x.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=cfg.lr)
    avg, accum = torch.zeros_like(x), 1.0    # bias-corrected EMA of the iterates
    for i in range(budget):
        if deadline is not None and time.perf_counter() > deadline:
            break
        opt.zero_grad()
        loss = objective(x)
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
            accum *= cfg.ema_decay
            avg.mul_(cfg.ema_decay).add_(x, alpha=1 - cfg.ema_decay)
        on_eval(i + 1, float(loss.detach()), avg / (1 - accum))
    return (avg / (1 - accum)).detach() if accum < 1 else x.detach()
