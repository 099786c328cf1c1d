"""Sketch to artwork: a trained pix2pix answers a sketch, and shows why it answered so.

`sketch2art(model, sketch)` reads the sketch (a PNG from the studio's canvas or a scan;
SVG strokes from Reverie's portraits or sketch-rnn), translates it at the model's size, and
returns the picture with the evidence beside it ("seeing why"):

- the sketch as the network saw it (squared, resized, dark on light);
- the nearest training picture by sketch: the pair whose sketch is most like this one (its
  blurred ink, 16x16, cosine): what the network most likely recalls;
- the discriminator's patch map: for every 70x70 patch of (sketch, output), its
  probability that the patch is real, drawn in red where it still finds the output fake.

`sketch_edges(picture)` is the extractor alone: the sketch a model trains on.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from reverie.core.config import Config, device_knob, knob, make_config, seed_knob
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.sketch2art import edges as sketch_edges

IMAGE_SUFFIXES = (".png", ".jpg", ".webp")


@dataclass
class ApplyConfig(Config):
    seed: int = seed_knob()   # the answer draws nothing at random (dropout is off)
    device: str = device_knob()


@dataclass
class Sketch2ArtResult(Result):
    image: torch.Tensor                  # (3, S, S) in [0, 1]
    sketch: torch.Tensor                 # (1, S, S), as the network saw it
    nearest: torch.Tensor                # (3, S, S): the training picture nearest by sketch
    patches: torch.Tensor                # (h, w): probability each patch is real
    suffixes = IMAGE_SUFFIXES

    def why(self) -> torch.Tensor:
        """sketch | output | nearest training picture | patch map, one strip."""
        from reverie.gan.networks import image_grid
        return image_grid(torch.stack([self.sketch.repeat(3, 1, 1), self.image, self.nearest,
                                       self.patch_overlay()]), nrow=4, pad=4)

    def patch_overlay(self) -> torch.Tensor:
        """The output, greyed, with red where the discriminator finds it fake."""
        s = self.image.shape[-1]
        fake = F.interpolate((1 - self.patches)[None, None], size=(s, s), mode="nearest")[0, 0]
        grey = self.image.mean(0, keepdim=True).repeat(3, 1, 1) * 0.6 + 0.2
        red = torch.stack([torch.ones_like(fake), torch.zeros_like(fake), torch.zeros_like(fake)])
        return (grey * (1 - 0.7 * fake) + red * 0.7 * fake).clamp(0, 1)

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.images import save_image
        return {"image": save_image(self.image, path),
                "why": save_image(self.why(), path.with_name(path.stem + ".why.png"))}

    def explain(self, folder: Path) -> dict[str, Path]:
        from reverie.io.images import save_image
        folder = Path(folder)
        return {"the sketch, as the network saw it":
                    save_image(self.sketch.repeat(3, 1, 1), folder / "why-sketch.png"),
                "the nearest training picture by sketch":
                    save_image(self.nearest, folder / "why-nearest.png"),
                "the discriminator's patch map (red: still fake)":
                    save_image(self.patch_overlay(), folder / "why-patches.png")}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['size']}x{f['size']} picture from the sketch; the discriminator finds "
                f"{f['fake_patches']:.0%} of its patches fake; nearest training picture "
                f"{f['nearest']}")


def sketch2art(model=None, sketch=None, config: Optional[ApplyConfig] = None, *,
               progress: Progress = silent, **overrides) -> Sketch2ArtResult:
    """Turn `sketch` (an image, SVG strokes, or a tensor) into a picture with `model` (a
    .pt from `reverie sketch2art train`, or a loaded Pix2Pix)."""
    import time

    from reverie.core.device import resolve_device
    from reverie.sketch2art.data import nearest_by_sketch
    from reverie.sketch2art.model import patch_map, translate
    from reverie.sketch2art.train import Pix2Pix, load_sketch2art

    cfg = make_config(ApplyConfig, config, **overrides)
    inputs = {"model": record_input(model if not isinstance(model, Pix2Pix) else None),
              "sketch": record_input(sketch)}
    start = time.perf_counter()
    device = resolve_device(cfg.device)
    net = load_sketch2art(model)
    s, notes = sketch_edges.read_sketch(sketch, net.size)
    progress(0, 2, "translating")
    g, d = net.G.to(device), net.D.to(device)
    image = translate(g, s[None].to(device))
    patches = patch_map(d, s[None].to(device), image)[0].cpu()
    image = image[0].cpu()
    idx = int(nearest_by_sketch(s[None], net.thumb_sketches.float() / 255)[0])
    nearest = F.interpolate(net.thumbs[idx:idx + 1].float() / 255, size=s.shape[-2:],
                            mode="bilinear", align_corners=False)[0].clamp(0, 1)
    progress(2, 2, "done")
    if net.config.lambda_GAN == 0:
        notes.append("this model was trained with L1 alone: its discriminator never trained, "
                     "so the patch map says nothing")
    figures = {"size": net.size, "fake_patches": float((patches < 0.5).float().mean()),
               "patch_real_mean": float(patches.mean()), "nearest": net.names[idx],
               "ink": float((s < 0.5).float().mean()), "edges": net.config.edges,
               "trained_on": net.data.get("source", "")}
    return Sketch2ArtResult(image, s, nearest, patches, mechanism="sketch2art", config=cfg,
                            inputs=inputs, figures=figures, notes=notes,
                            timings={"total": time.perf_counter() - start},
                            resolved={"device": str(device)})


# ---------------------------------------------------------------------------------------

@dataclass
class EdgesConfig(Config):
    method: str = knob("xdog", "xdog (Winnemöller 2012: pen-like strokes) or canny (Canny "
                       "1986: thin contours)", choices=list(sketch_edges.METHODS))
    size: int = knob(256, "side of the square sketch (the picture's central square, resized)",
                     min=32, max=2048, unit="px")
    seed: int = seed_knob()   # the extractors draw nothing at random


@dataclass
class EdgesResult(Result):
    sketch: torch.Tensor
    suffixes = IMAGE_SUFFIXES

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.images import save_image
        return {"sketch": save_image(self.sketch.repeat(3, 1, 1), path)}

    def summary(self) -> str:
        return f"{self.figures['method']} sketch, {self.figures['ink']:.1%} ink"


def sketch_edges_of(picture=None, config: Optional[EdgesConfig] = None, *,
                    progress: Progress = silent, **overrides) -> EdgesResult:
    """The sketch an extractor draws of `picture`: what sketch2art trains on."""
    from reverie.io.images import as_image
    from reverie.sketch2art.data import _resize

    cfg = make_config(EdgesConfig, config, **overrides)
    x = as_image(picture)
    side = min(x.shape[-2:])
    top, left = (x.shape[-2] - side) // 2, (x.shape[-1] - side) // 2
    x = _resize(x[None, :, top:top + side, left:left + side], cfg.size)[0]
    s = sketch_edges.extract(x, cfg.method)
    return EdgesResult(s, mechanism="sketch_edges", config=cfg,
                       inputs={"picture": record_input(picture)},
                       figures={"method": cfg.method, "ink": float((s < 0.5).float().mean())})

