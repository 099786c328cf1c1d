"""What is maximised (after lucid's `objectives`): functions of a feature dict.

An objective is a tap list (the layers the network must return) plus a function from
those activations to a scalar. Objectives are sums over positions, so the gradient of a
tiled image is the sum of its tiles' gradients.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from reverie.core.errors import ReverieError
from reverie.nets.zoo import EfficientNetLite, check_tap


@dataclass
class Objective:
    taps: list[str]                                   # layers to compute
    fn: Callable[[dict[str, torch.Tensor]], torch.Tensor]
    description: str

    def __call__(self, feats: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.fn(feats)


def layers_and_channels(net: EfficientNetLite, specs: list[str]) -> Objective:
    """Each spec is `layer` (sum of squared activations: the original DeepDream L2
    objective) or `layer:channel` (sum of that channel's activation)."""
    if not specs:
        raise ReverieError("no layer given; name one in layers, e.g. stage4")
    parsed = [check_tap(net, s) for s in specs]
    taps = sorted({name for name, _ in parsed})

    def fn(feats):
        total = 0.0
        for name, channel in parsed:
            a = feats[name]
            # Normalise by channel count so several layers weigh alike.
            total = total + (a[:, channel].sum() if channel is not None
                             else a.pow(2).sum() / a.shape[1])
        return total

    return Objective(taps, fn, " + ".join(specs))


def guide(net: EfficientNetLite, layer: str, guide_image: torch.Tensor) -> Objective:
    """Mordvintsev's guided dream: at each position, the dot product with the guide's
    best-matching feature vector, so the photo grows what the guide shows."""
    name, channel = check_tap(net, layer)
    if channel is not None:
        raise ReverieError("a guide works on a whole layer; give a layer without :channel")
    with torch.no_grad():
        g = net.features(guide_image, [name])[name][0]        # (C, h, w)
    g = g.flatten(1)                                           # (C, M)

    def fn(feats):
        x = feats[name][0].flatten(1)                          # (C, N)
        scores = x.t() @ g                                     # (N, M)
        return scores.max(dim=1).values.sum() / x.shape[0]

    return Objective([name], fn, f"guide at {name}")


def class_logit(net: EfficientNetLite, index: int) -> Objective:
    """Mean pre-softmax logit of a class over the batch (lucid's choice). Unlike the
    log-probability it does not saturate once the class wins, so the image keeps gaining
    contrast and features, and held-out networks agree far more often (measured:
    goldfish from noise, lite2 p 0.97 with the logit vs 0.20 with log p)."""
    return Objective(["logits"], lambda f: f["logits"][:, index].mean(), f"logit of class {index}")


def channel_mean(net: EfficientNetLite, spec: str) -> Objective:
    name, channel = check_tap(net, spec)
    if channel is None:
        return Objective([name], lambda f: f[name].pow(2).mean(), f"mean square of {name}")
    return Objective([name], lambda f: f[name][:, channel].mean(), f"mean of {spec}")


def diversity(feats: torch.Tensor) -> torch.Tensor:
    """Lucid's diversity term: minus the mean cosine similarity between the Gram
    matrices of the batch's images (higher is more diverse). feats: (B, C, H, W)."""
    b = feats.shape[0]
    flat = feats.flatten(2)
    grams = flat @ flat.transpose(1, 2)
    grams = torch.nn.functional.normalize(grams.flatten(1), dim=1)
    sim = grams @ grams.t()
    return -(sim.sum() - sim.diagonal().sum()) / max(b * (b - 1), 1)
