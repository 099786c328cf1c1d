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
- networks: the zoo's EfficientNet-Lite (default), with the remedies of Wang, Li and
  Vasconcelos (CVPR 2021) for residual networks' peaky activations: `swag` (a softmax
  that smooths activations before the statistics) and taps inside the blocks
  (`stage3.1/expand`, `stage3.1/dw`: post-ReLU6, before the residual sum);
  `random` (a seeded random multi-scale network, Ustyuzhaninov et al. 2016); `vgg19:PATH`
  (a user's torchvision VGG-19, the original papers' network).

    result = style_transfer("sample:chelsea", ["sample:gravel"], StyleConfig(size=384))
    texture("sample:brick", size=(256, 256))
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent

# -- configuration -----------------------------------------------------------------------------

MODEL_CHOICES = "lite0, lite1, lite2, random, random:SEED or vgg19:PATH"


@dataclass
class StyleConfig:
    model: str = "lite0"
    content_layers: list[str] | None = None    # None: the network's default
    style_layers: list[str] | None = None
    content_weight: float = 3.0                # all three are relative: see the module docstring;
                                               # 3 by bench/style.py (1 gave a worse judged content
                                               # distance than the baseline on 1 of 5 pairs)
    style_weight: float = 30.0
    tv_weight: float = 1.0
    style_loss: str = "gram"                   # gram | meancov | w2
    swag: bool = False                         # Wang et al. 2021 softmax smoothing of activations
    swag_temperature: float = 1.0
    style_weights: list[float] | None = None   # blend weights of several styles (normalised)
    init: str = "content"                      # content | noise | gray | style | PATH
    optimizer: str = "lbfgs"                   # lbfgs | adam
    iterations: int = 60                       # per scale (function evaluations)
    initial_iterations: int = 150              # at the first, smallest scale
    lr: float = 0.02                           # Adam step size (pixels in [0, 1])
    ema_decay: float = 0.99                    # Adam: average of the iterates
    size: int | tuple[int, int] = 512          # long side, or (width, height)
    min_size: int = 128                        # coarse-to-fine starts here
    scales: int | None = None                  # number of scales; None: from min_size
    style_scale: float = 1.0                   # style image size relative to the output
    original_colors: bool = False
    color_match: bool = False
    pooling: str = "max"                       # VGG-19 only: max | avg
    max_seconds: float | None = None           # stop early at this wall time
    save_every: int = 0                        # write a progress frame every N evaluations


@dataclass
class StyleResult:
    image: torch.Tensor                        # (3, H, W) in [0, 1]
    losses: dict[str, float]                   # per layer, relative, at the end
    history: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    config: StyleConfig | None = None
    frames: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict:
        """Everything for the sidecar: parameters, model, timings, per-layer losses."""
        return {"config": asdict(self.config), "losses": self.losses, "timings": self.timings,
                "history": self.history[-50:], "notes": self.notes,
                "size": [int(self.image.shape[-1]), int(self.image.shape[-2])]}


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
    from reverie.core.device import resolve_device
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

def gram(f: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C), averaged over positions so image size does not matter."""
    m = f.flatten(2)
    return m @ m.transpose(1, 2) / m.shape[-1]


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


def _sqrtm_psd(a: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(a)
    return vecs @ torch.diag_embed(vals.clamp_min(0).sqrt()) @ vecs.transpose(-1, -2)


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
        root_t = target["root"] = _sqrtm_psd(target["cov"])
    inner = root_t @ s["cov"] @ root_t
    eig = torch.linalg.eigvalsh(inner).clamp_min(1e-10)
    w2 = ((s["mean"] - target["mean"]).pow(2).sum() + s["cov"].diagonal(dim1=-2, dim2=-1).sum()
          + target["cov"].diagonal(dim1=-2, dim2=-1).sum() - 2 * eig.sqrt().sum())
    scale = target["cov"].diagonal(dim1=-2, dim2=-1).sum() + target["mean"].pow(2).sum()
    return w2.clamp_min(0) / (scale + 1e-8)


def content_distance(f: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return _relative(f, target)


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """L2 total variation (Mahendran and Vedaldi), as a mean so size does not matter."""
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def range_penalty(x: torch.Tensor) -> torch.Tensor:
    """Keeps L-BFGS's iterates inside [0, 1] without clamping away its gradients."""
    return (F.relu(x - 1).pow(2) + F.relu(-x).pow(2)).mean()


# -- colour ------------------------------------------------------------------------------------

_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", _YIQ.to(x), x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(_YIQ).to(x), x)


def keep_original_colors(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The result's luminance with the content's chrominance (I and Q of YIQ)."""
    if content.shape[-2:] != result.shape[-2:]:
        content = _resize(content, result.shape[-2:])
    r, c = rgb_to_yiq(result), rgb_to_yiq(content)
    return yiq_to_rgb(torch.cat([r[..., :1, :, :], c[..., 1:, :, :]], -3)).clamp(0, 1)


def match_colors(source: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Recolour `source` (3, H, W) so its RGB mean and covariance are the reference's
    (the linear colour transfer of Gatys et al. 2017)."""
    def moments(x):
        m = x.flatten(1)
        mu = m.mean(1, keepdim=True)
        c = (m - mu) @ (m - mu).T / m.shape[1] + eps * torch.eye(3, dtype=x.dtype)
        return m, mu, c
    m, mu_s, cov_s = moments(source.double())
    _, mu_r, cov_r = moments(reference.double())
    vals, vecs = torch.linalg.eigh(cov_s)
    inv_root_s = vecs @ torch.diag(vals.rsqrt()) @ vecs.T
    transform = _sqrtm_psd(cov_r) @ inv_root_s
    out = transform @ (m - mu_s) + mu_r
    return out.view_as(source).clamp(0, 1).to(source.dtype)


# -- images and sizes --------------------------------------------------------------------------

def _resize(x: torch.Tensor, hw: Sequence[int]) -> torch.Tensor:
    squeeze = x.dim() == 3
    x4 = x.unsqueeze(0) if squeeze else x
    down = hw[0] < x4.shape[-2]
    y = F.interpolate(x4, size=tuple(int(v) for v in hw), mode="bicubic", align_corners=False,
                      antialias=down).clamp(0, 1)
    return y[0] if squeeze else y


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


def _as_image(source, max_side: int | None = None) -> torch.Tensor:
    if isinstance(source, torch.Tensor):
        x = source.detach().float()
        if x.dim() == 4:
            x = x[0]
        if x.dim() != 3 or x.shape[0] != 3:
            raise ReverieError(f"an image tensor must be (3, H, W) in [0, 1], got {tuple(x.shape)}")
        return x.clamp(0, 1).cpu()
    from reverie.io.images import load_image
    return load_image(source, max_side=max_side)


def _output_hw(config: StyleConfig, content: torch.Tensor | None, style: torch.Tensor) -> tuple[int, int]:
    if isinstance(config.size, (tuple, list)):
        w, h = (int(v) for v in config.size)
        if w < 16 or h < 16:
            raise ReverieError(f"size {w}x{h} is too small; give at least 16x16")
        return h, w
    if config.size < 16:
        raise ReverieError(f"size {config.size} is too small; give at least 16")
    return fit_size((content if content is not None else style).shape[-2:], int(config.size))


def check_config(config: StyleConfig, n_styles: int) -> StyleConfig:
    if config.optimizer not in ("lbfgs", "adam"):
        raise ReverieError(f"unknown optimizer {config.optimizer!r}; choose lbfgs or adam")
    if config.style_loss not in ("gram", "meancov", "w2"):
        raise ReverieError(f"unknown style loss {config.style_loss!r}; choose gram, meancov or w2")
    if config.style_weights is not None:
        if len(config.style_weights) != n_styles:
            raise ReverieError(f"{len(config.style_weights)} style weights for {n_styles} style "
                               f"image(s); give one weight per style image")
        if any(w < 0 for w in config.style_weights) or sum(config.style_weights) <= 0:
            raise ReverieError("style weights must be non-negative and not all zero, e.g. 0.7 0.3")
    for name in ("content_weight", "style_weight", "tv_weight"):
        if getattr(config, name) < 0:
            raise ReverieError(f"{name} must be 0 or more")
    if config.iterations < 1 or config.initial_iterations < 1:
        raise ReverieError("iterations must be at least 1")
    if config.style_scale <= 0:
        raise ReverieError("style scale must be above 0, e.g. 1.0")
    if config.scales is not None and config.scales < 1:
        raise ReverieError("scales must be at least 1")
    return config


# -- the optimisation --------------------------------------------------------------------------

def style_transfer(content, styles, config: StyleConfig | None = None, *, seed: int = 0,
                   device: str | torch.device = "cpu", progress: Progress = silent,
                   frames_dir: str | Path | None = None, net=None, **overrides) -> StyleResult:
    """Paint `content` (path, `sample:NAME` or (3, H, W) tensor; None for a texture) in the
    style of `styles` (one or a list). Keyword overrides change single config fields."""
    from reverie.core.device import resolve_device

    start = time.perf_counter()
    config = replace(config or StyleConfig(), **overrides)
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not styles:
        raise ReverieError("give at least one style image")
    check_config(config, len(styles))
    dev = resolve_device(str(device))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    notes: list[str] = []

    content_img = _as_image(content) if content is not None else None
    style_imgs = [_as_image(s, max_side=2048) for s in styles]
    if config.color_match and content_img is not None:
        style_imgs = [match_colors(s, content_img) for s in style_imgs]
    weights = config.style_weights or [1.0] * len(styles)
    weights = [w / sum(weights) for w in weights]

    net = net or load_feature_net(config.model, dev, use_swag=config.swag,
                                  swag_temperature=config.swag_temperature, pooling=config.pooling)
    content_layers = list(config.content_layers or net.default_content_layers)
    style_layers = list(config.style_layers or net.default_style_layers)
    for n in content_layers + style_layers:
        net.check_layer(n)
    use_content = content_img is not None and config.content_weight > 0
    if not use_content:
        content_layers = []

    final_hw = _output_hw(config, content_img, style_imgs[0])
    sizes = scale_sizes(final_hw, config.min_size, config.scales)
    budgets = [config.initial_iterations] + [config.iterations] * (len(sizes) - 1)
    total = sum(budgets)
    x = _initial_image(config.init, content_img, style_imgs[0], sizes[0], gen)
    history: list[dict] = []
    frames: list[Path] = []
    done = 0
    load_s = time.perf_counter() - start

    for scale_i, (hw, budget) in enumerate(zip(sizes, budgets)):
        if config.max_seconds is not None and time.perf_counter() - start > config.max_seconds and scale_i:
            notes.append(f"stopped before scale {hw[1]}x{hw[0]}: max_seconds reached")
            final_hw = tuple(x.shape[-2:])
            break
        x = _resize(x, hw).to(dev)
        targets = _targets(net, content_img, style_imgs, weights, hw, config, content_layers,
                           style_layers, dev)

        def objective(img, parts=None):
            feats = net.features(img, list(dict.fromkeys(content_layers + style_layers)))
            c = sum((content_distance(feats[n], targets["content"][n]) for n in content_layers),
                    torch.zeros((), device=dev)) / max(1, len(content_layers))
            s_terms = {n: style_distance(feats[n], targets["style"][n], config.style_loss)
                       for n in style_layers}
            s = sum(s_terms.values()) / len(style_layers)
            tv = tv_loss(img)
            loss = (config.content_weight * c if content_layers else 0) + config.style_weight * s \
                + config.tv_weight * tv
            if parts is not None:
                parts.update({"content": float(c), "style": float(s), "tv": float(tv)})
                parts.update({f"style:{n}": float(v) for n, v in s_terms.items()})
                parts.update({f"content:{n}": float(content_distance(feats[n], targets["content"][n]))
                              for n in content_layers})
            return loss

        def on_eval(evals, loss_value, img):
            nonlocal done
            done += 1
            history.append({"scale": f"{hw[1]}x{hw[0]}", "eval": evals, "loss": loss_value})
            progress(done, total, f"{hw[1]}x{hw[0]} loss {loss_value:.4g}")
            if config.save_every and frames_dir is not None and done % config.save_every == 0:
                frames.append(_save_frame(img, final_hw, frames_dir, len(frames)))

        deadline = None if config.max_seconds is None else start + config.max_seconds
        if config.optimizer == "lbfgs":
            x = _run_lbfgs(x, objective, budget, on_eval, deadline)
        else:
            x = _run_adam(x, objective, budget, config, on_eval, deadline)
        done = sum(budgets[:scale_i + 1])

    x = x.detach().clamp(0, 1)
    if x.shape[-2:] != tuple(final_hw):
        x = _resize(x, final_hw)
    losses: dict[str, float] = {}
    with torch.no_grad():
        objective(x, losses)
    image = x[0].cpu()
    if config.original_colors and content_img is not None:
        image = keep_original_colors(image, content_img)
    elif config.original_colors:
        notes.append("original_colors needs a content image; ignored")
    if frames and frames_dir is not None:
        frames.append(_save_frame(image[None], final_hw, frames_dir, len(frames)))
    timings = {"load_s": round(load_s, 3), "total_s": round(time.perf_counter() - start, 3)}
    config = replace(config, content_layers=content_layers, style_layers=style_layers,
                     style_weights=weights)
    return StyleResult(image, losses, history, timings, config, frames, notes)


@torch.no_grad()
def evaluate(image, content, styles, config: StyleConfig | None = None, *, net=None,
             device: str | torch.device = "cpu", **overrides) -> dict[str, float]:
    """The relative content and style distances of `image` (per layer and averaged), measured
    the way `style_transfer` measures them, at the image's own size."""
    from reverie.core.device import resolve_device
    config = replace(config or StyleConfig(), **overrides)
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    check_config(config, len(styles))
    dev = resolve_device(str(device))
    net = net or load_feature_net(config.model, dev, use_swag=config.swag,
                                  swag_temperature=config.swag_temperature, pooling=config.pooling)
    x = _as_image(image)[None].to(dev)
    content_img = _as_image(content) if content is not None else None
    style_imgs = [_as_image(s, max_side=2048) for s in styles]
    weights = config.style_weights or [1.0] * len(styles)
    weights = [w / sum(weights) for w in weights]
    content_layers = list(config.content_layers or net.default_content_layers) if content_img is not None else []
    style_layers = list(config.style_layers or net.default_style_layers)
    targets = _targets(net, content_img, style_imgs, weights, tuple(x.shape[-2:]), config,
                       content_layers, style_layers, dev)
    feats = net.features(x, list(dict.fromkeys(content_layers + style_layers)))
    out = {f"style:{n}": float(style_distance(feats[n], targets["style"][n], config.style_loss))
           for n in style_layers}
    out.update({f"content:{n}": float(content_distance(feats[n], targets["content"][n]))
                for n in content_layers})
    out["style"] = sum(out[f"style:{n}"] for n in style_layers) / len(style_layers)
    out["content"] = (sum(out[f"content:{n}"] for n in content_layers) / len(content_layers)
                      if content_layers else 0.0)
    return out


def texture(style, size: tuple[int, int] = (512, 512), config: StyleConfig | None = None, **kwargs) -> StyleResult:
    """Texture synthesis (Gatys et al. 2015): style only, from noise. `size` is (width, height)."""
    config = replace(config or StyleConfig(), size=tuple(size), content_weight=0.0,
                     init=(config.init if config and config.init != "content" else "noise"))
    return style_transfer(None, style, config, **kwargs)


def _initial_image(init: str, content, style, hw, gen) -> torch.Tensor:
    h, w = hw
    if init == "content":
        if content is None:
            init = "noise"
        else:
            return _resize(content, hw)[None]
    if init == "noise":   # white noise, as in the papers
        return torch.rand(1, 3, h, w, generator=gen)
    if init == "gray":    # crowsonkb's: mid-grey with a whisper of noise
        return 0.5 + (torch.rand(1, 3, h, w, generator=gen) - 0.5) / 255
    if init == "style":
        return _resize(style, hw)[None]
    if Path(init).exists() or init.startswith("sample:"):
        return _resize(_as_image(init), hw)[None]
    raise ReverieError(f"unknown init {init!r}; choose content, noise, gray, style or an image path")


@torch.no_grad()
def _targets(net, content, styles, weights, hw, config, content_layers, style_layers, dev):
    out = {"content": {}, "style": {}}
    if content_layers:
        c = _resize(content, hw)[None].to(dev)
        out["content"] = {n: f.detach() for n, f in net.features(c, content_layers).items()}
    per_style = []
    for s in styles:
        side = round(max(hw) * config.style_scale)
        side = min(side, max(s.shape[-2:])) if config.style_scale <= 1 else side
        s_hw = fit_size(s.shape[-2:], max(side, 32))
        feats = net.features(_resize(s, s_hw)[None].to(dev), style_layers)
        per_style.append({n: style_stats(f, "gram" if config.style_loss == "gram" else "meancov")
                          for n, f in feats.items()})
    out["style"] = {n: blend_stats([p[n] for p in per_style], weights) for n in style_layers}
    return out


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


class _OutOfTime(Exception):
    pass


def _run_adam(x, objective, budget, config, on_eval, deadline):
    x = x.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=config.lr)
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
            accum *= config.ema_decay
            avg.mul_(config.ema_decay).add_(x, alpha=1 - config.ema_decay)
        on_eval(i + 1, float(loss.detach()), avg / (1 - accum))
    return (avg / (1 - accum)).detach() if accum < 1 else x.detach()


def _save_frame(img, final_hw, frames_dir, index) -> Path:
    from reverie.io.images import save_image
    folder = Path(frames_dir)
    folder.mkdir(parents=True, exist_ok=True)
    frame = _resize(img.detach().clamp(0, 1).cpu(), final_hw)
    return save_image(frame, folder / f"frame_{index:04d}.png")


def write_gif(frames: list[Path], out: str | Path, ms_per_frame: int = 120) -> Path:
    """The optimisation as an animated GIF (last frame held a second)."""
    from PIL import Image
    from reverie.io.images import atomic_path
    images = [Image.open(f).convert("RGB") for f in frames]
    if not images:
        raise ReverieError("no frames to animate; set save_every (--save-every N)")
    durations = [ms_per_frame] * (len(images) - 1) + [1000]
    with atomic_path(out) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations, loop=0)
    return Path(out)
