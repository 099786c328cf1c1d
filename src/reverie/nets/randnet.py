"""Feature networks for style transfer beyond the zoo: a seeded random one and a user's VGG-19.

Both expose the interface style transfer needs from any network (the zoo's
EfficientNet-Lite has it too, wrapped in `style.py`):

    net.name, net.layers (name -> LayerInfo), net.check_layer(name),
    net.features(x, names) -> {name: (B, C, h, w)}     # x: (B, 3, H, W) in [0, 1]
    net.default_content_layers, net.default_style_layers

`RandomNet` follows Ustyuzhaninov, Brendel, Gatys and Bethge (2016), "Texture synthesis
using shallow convolutional networks with random filters": one layer of random filters at
many spatial scales is enough for Gram-based textures. Their filters are 3 to 55 pixels
wide on the full image; a 55x55 filter bank over a 512x512 image costs too much on a CPU,
so here the scales come from an image pyramid instead: filters of width 3 and 7 applied to
the image downsampled by 1, 2, 4, 8 and 16 (effective widths 3 ... 112). Seeded, so the
same seed is the same network on any machine.

`load_vgg19(path)` reads a torchvision-format VGG-19 state dict (`features.0.weight`, ...),
the network of the original Gatys et al. papers, with `torch.load(weights_only=True)`.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.errors import ReverieError
from reverie.nets.zoo import LayerInfo, NamedLayers


class _Named(NamedLayers):
    """These networks are not in `reverie layers`: the error lists their layers instead."""

    def layers_hint(self) -> str:
        return f"its layers: {', '.join(self.layers)}"


# -- the random multi-scale network ----------------------------------------------------------

RANDOM_LEVELS = (1, 2, 4, 8, 16)   # pyramid downsampling factors
RANDOM_KERNELS = (3, 7)            # filter widths at every level


class RandomNet(nn.Module, _Named):
    """One layer of seeded random filters over an image pyramid, ReLU, no training.

    Layer `scaleK` holds the responses on the image downsampled K times (`width` filters per
    kernel size), so `scale1` sees 3-7 px patterns and `scale16` sees 48-112 px ones.
    """

    def __init__(self, seed: int = 0, width: int = 64, levels=RANDOM_LEVELS, kernels=RANDOM_KERNELS):
        super().__init__()
        self.seed, self.width = seed, width
        self.name = f"random(seed={seed})"
        gen = torch.Generator().manual_seed(seed)
        self.levels, self.kernels = tuple(levels), tuple(kernels)
        self.convs = nn.ModuleDict()
        for level in self.levels:
            for k in self.kernels:
                conv = nn.Conv2d(3, width, k, padding=k // 2, padding_mode="reflect", bias=False)
                w = torch.rand(width, 3, k, k, generator=gen) * 2 - 1
                w = w - w.mean(dim=(1, 2, 3), keepdim=True)          # zero-mean: no DC response
                w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)   # unit norm per filter
                conv.weight.data.copy_(w)
                self.convs[f"{level}_{k}"] = conv
        self.eval().requires_grad_(False)
        self.layers = {f"scale{lv}": LayerInfo(f"scale{lv}", width * len(self.kernels), lv,
                                               f"{min(self.kernels) * lv}-{max(self.kernels) * lv} px patterns")
                       for lv in self.levels}
        self.default_content_layers = ["scale2"]
        self.default_style_layers = list(self.layers)

    def features(self, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        for n in names:
            self.check_layer(n)
        x = (x - 0.5) / 0.25
        found = {}
        for lv in self.levels:
            name = f"scale{lv}"
            if name not in names:
                continue
            h = F.avg_pool2d(x, lv, ceil_mode=True) if lv > 1 else x
            if min(h.shape[-2:]) < max(self.kernels):   # reflect padding needs room
                h = F.interpolate(h, size=(max(h.shape[-2], max(self.kernels)),
                                           max(h.shape[-1], max(self.kernels))), mode="bilinear")
            found[name] = torch.cat([F.relu(self.convs[f"{lv}_{k}"](h)) for k in self.kernels], 1)
        return {n: found[n] for n in names}


# -- VGG-19 from a user's torchvision state dict ---------------------------------------------

VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
             512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _vgg_plan() -> list[tuple[int, str, int, int, bool]]:
    """[(index in torchvision's `features`, our name, in channels, out channels, pool after)]."""
    plan, index, block, conv, cin = [], 0, 1, 1, 3
    for i, v in enumerate(VGG19_CFG):
        if v == "M":
            index, block, conv = index + 1, block + 1, 1
        else:
            pool_after = i + 1 < len(VGG19_CFG) and VGG19_CFG[i + 1] == "M"
            plan.append((index, f"conv{block}_{conv}", cin, v, pool_after))
            index, conv, cin = index + 2, conv + 1, v   # conv then ReLU
    return plan


class VGG19(nn.Module, _Named):
    """VGG-19's convolutional part with Gatys et al.'s layer names (conv1_1, relu1_1, pool1...)."""

    def __init__(self, state: dict[str, torch.Tensor], source: str, pooling: str = "max"):
        super().__init__()
        self.name, self.pooling = f"vgg19:{source}", pooling
        self.convs = nn.ModuleList()
        self.layers = {}
        stride = 1
        for index, name, cin, cout, pool_after in _vgg_plan():
            conv = nn.Conv2d(cin, cout, 3, padding=1)
            conv.weight.data.copy_(state[f"features.{index}.weight"])
            conv.bias.data.copy_(state[f"features.{index}.bias"])
            self.convs.append(conv)
            block = name[4:].split("_")[0]
            stride = 2 ** (int(block) - 1)
            self.layers[name] = LayerInfo(name, cout, stride, "")
            self.layers["relu" + name[4:]] = LayerInfo("relu" + name[4:], cout, stride, "")
            if pool_after:
                self.layers[f"pool{block}"] = LayerInfo(f"pool{block}", cout, stride * 2, "")
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.eval().requires_grad_(False)
        self.default_content_layers = ["relu4_2"]                      # Gatys et al. 2016
        self.default_style_layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
        self._order = list(self.layers)

    def features(self, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        for n in names:
            self.check_layer(n)
        deepest = max(self._order.index(n) for n in names)
        h = (x - self.mean) / self.std
        found = {}
        pool = F.max_pool2d if self.pooling == "max" else F.avg_pool2d
        for conv, (_, name, _, _, pool_after) in zip(self.convs, _vgg_plan()):
            if self._order.index(name) > deepest:
                break
            h = conv(h)
            found[name] = h
            h = F.relu(h)
            found["relu" + name[4:]] = h
            if pool_after:
                h = pool(h, 2, ceil_mode=True)
                found["pool" + name[4:].split("_")[0]] = h
        return {n: found[n] for n in names}


def load_vgg19(path: str | Path, pooling: str = "max") -> VGG19:
    """A torchvision-format VGG-19 state dict (e.g. `vgg19-dcbb9e9d.pth`) as a feature net."""
    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"VGG-19 weights not found: {path}; give the path of a torchvision "
                           f"vgg19 state dict, e.g. model vgg19:~/models/vgg19-dcbb9e9d.pth")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip, or weights_only refusals all mean the same to a user
        raise ReverieError(f"{path} is not a readable PyTorch state dict ({type(exc).__name__}); "
                           f"give torchvision's vgg19 weights file") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ReverieError(f"{path} holds a {type(state).__name__}, not a state dict; "
                           f"give torchvision's vgg19 weights file")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    for index, name, cin, cout, _ in _vgg_plan():
        for part, shape in (("weight", (cout, cin, 3, 3)), ("bias", (cout,))):
            key = f"features.{index}.{part}"
            value = state.get(key)
            if not isinstance(value, torch.Tensor):
                raise ReverieError(f"{path} is not a VGG-19 state dict (no {key}); give "
                                   f"torchvision's vgg19 weights (vgg19-dcbb9e9d.pth), not vgg16 or another net")
            if tuple(value.shape) != shape:
                raise ReverieError(f"{path} is not a VGG-19 state dict ({key} has shape "
                                   f"{tuple(value.shape)}, expected {shape}); give torchvision's vgg19 weights")
    return VGG19({k: v.float() for k, v in state.items() if k.startswith("features.")},
                 path.name, pooling)
