"""The one top-k judge: what an ImageNet network sees in images, and where a target ranks.

Used by `classify`, activation maximisation (held-out judges) and Perception Engines.
"""
from __future__ import annotations

import torch

from reverie.nets.classes import class_name
from reverie.nets.zoo import load_net, preprocess


@torch.no_grad()
def verdicts(images: torch.Tensor, model: str, device="cpu", target: int | None = None,
             top: int = 5) -> list[dict]:
    """For each image (B, 3, H, W) or (3, H, W) in [0, 1]: {"top": [{index, name, prob}],
    and with `target`: "target_prob", "target_rank" (1 = the network's top label)}."""
    if images.dim() == 3:
        images = images[None]
    net = load_net(model, device)
    dev = next(net.parameters()).device
    x = torch.cat([preprocess(img, net.input_size) for img in images]).to(dev)
    probs = net(x).softmax(-1).cpu()
    rows = []
    for p in probs:
        values, indices = p.topk(top)
        row = {"top": [{"index": int(i), "name": class_name(int(i)), "prob": float(q)}
                       for q, i in zip(values, indices)]}
        if target is not None:
            row["target_prob"] = float(p[target])
            row["target_rank"] = int((p > p[target]).sum()) + 1
        rows.append(row)
    return rows


def classify(image: torch.Tensor, model: str = "lite0", top: int = 5,
             device: str | torch.device = "cpu") -> list[dict]:
    """Top-k ImageNet labels for an image tensor (3, H, W) in [0, 1]: [{index, name, prob}]."""
    return verdicts(image, model, device, top=top)[0]["top"]
