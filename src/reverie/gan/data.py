"""Image sets for the GANs: `builtin:digits`, `builtin:textures`, or a folder of the user's.

- `builtin:digits`: scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels),
  upsampled bilinearly to the model's size, white ink on black (as MNIST), as RGB.
- `builtin:textures`: random square crops of scikit-image's brick, grass and gravel
  photos (512x512 each, shipped with the package), at half resolution, as RGB.
- a folder: every file under it (recursively, hidden ones skipped) that Pillow reads; the
  ones it cannot read are listed and skipped. Each image's central square is resized to the
  model's size, and images of mixed sizes are said to be resized.

Every set comes back as a float tensor (N, 3, S, S) in [0, 1], with notes for the user.
The two built-in names are resolved here; `reverie.io.datasets` does not know them yet.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reverie.core.errors import ReverieError

BUILTIN = {"digits": "scikit-learn's 1,797 handwritten digits (8x8), upsampled",
           "textures": "random crops of scikit-image's brick, grass and gravel photos"}
TEXTURE_PHOTOS = ("brick", "grass", "gravel")
# Fewer images than this for a size and the warning names the count: DiffAugment (Zhao et
# al. 2020) trains on 100 images, plain DCGAN wants thousands.
ENOUGH = {32: 100, 64: 200}


@dataclass
class ImageSet:
    images: torch.Tensor                       # (N, 3, S, S) in [0, 1]
    source: str
    names: list[str] = field(default_factory=list)
    labels: np.ndarray | None = None           # digits: the class of each image
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, size, size), antialiased (bilinear, as Pillow resizes)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)


def digits(size: int) -> ImageSet:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
    # bilinear without antialias from 8 px: smooth strokes, not blocky ones
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return ImageSet(x.repeat(1, 3, 1, 1).contiguous(), "builtin:digits",
                    [f"digit{i}-{t}" for i, t in enumerate(d.target)], labels=d.target.copy())


def textures(size: int, count: int = 900, seed: int = 0, photos=TEXTURE_PHOTOS) -> ImageSet:
    """`count` random crops, a third from each photo, at half the photo's resolution (so a
    32-pixel crop spans 64 photo pixels: a few bricks, not a smear)."""
    import skimage.data

    rng = np.random.default_rng(seed)
    crops, names = [], []
    per = max(1, count // len(photos))
    for name in photos:
        photo = np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255.0
        half = torch.from_numpy(photo)[None, None]
        half = F.interpolate(half, scale_factor=0.5, mode="bilinear", antialias=True,
                             align_corners=False)[0, 0]
        h, w = half.shape
        if min(h, w) < size:
            raise ReverieError(f"size {size} is larger than the {name} photo at half "
                               f"resolution ({w}x{h}); use size 32 or 64")
        for _ in range(per):
            top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            crops.append(half[top:top + size, left:left + size])
            names.append(f"{name}@{left},{top}")
    x = torch.stack(crops)[:, None].repeat(1, 3, 1, 1).clamp(0, 1).contiguous()
    return ImageSet(x, "builtin:textures", names)


def folder(path: str | os.PathLike, size: int) -> ImageSet:
    from reverie.io.images import open_pil, pil_to_tensor

    root = Path(path)
    if not root.exists():
        raise ReverieError(f"image folder not found: {root}; give a folder of images, "
                           f"builtin:digits or builtin:textures")
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        raise ReverieError(f"{root} is empty; put some images in it (PNG, JPEG ...)")
    images, names, skipped, sizes = [], [], [], set()
    for f in files:
        try:
            im = open_pil(f)
        except ReverieError as exc:
            skipped.append(f"{f.relative_to(root) if root.is_dir() else f}: {exc}")
            continue
        sizes.add(im.size)
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        sq = pil_to_tensor(im.crop((left, top, left + side, top + side)))
        images.append(_resize(sq[None], size)[0])
        names.append(str(f.relative_to(root)) if root.is_dir() else f.name)
    if not images:
        raise ReverieError(f"none of the {len(files)} files in {root} is an image Pillow can "
                           f"read (first: {skipped[0]}); give PNG or JPEG files")
    out = ImageSet(torch.stack(images), str(root), names, skipped=skipped)
    if skipped:
        out.notes.append(f"skipped {len(skipped)} unreadable file(s): "
                         + "; ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
    if len(sizes) > 1 or (sizes and next(iter(sizes)) != (size, size)):
        out.notes.append(f"images of {len(sizes)} different size(s) "
                         f"({', '.join(f'{w}x{h}' for w, h in sorted(sizes)[:4])}"
                         f"{' ...' if len(sizes) > 4 else ''}) were cropped to their central "
                         f"square and resized to {size}x{size}")
    return out


def record(source) -> dict:
    """How an image set is recorded in a sidecar: a built-in name as a value (io.datasets
    does not resolve it yet), a folder with its files' sha256, a tensor as in memory."""
    if isinstance(source, torch.Tensor):
        return {"source": None, "note": "given in memory (tensor)"}
    if isinstance(source, (list, tuple)) and len(source) == 1:
        source = source[0]
    if isinstance(source, str) and source.startswith("builtin:"):
        return {"value": source}
    from reverie.core.inputs import record as record_input
    return record_input(source)


def load_set(source, size: int, seed: int = 0) -> ImageSet:
    """A training set from `builtin:digits`, `builtin:textures`, a folder or a tensor."""
    if isinstance(source, torch.Tensor):
        x = source.detach().float()
        if x.dim() != 4 or x.shape[1] != 3:
            raise ReverieError(f"an image set tensor must be (N, 3, H, W), got {tuple(x.shape)}")
        return ImageSet(_resize(x.clamp(0, 1), size), "in memory",
                        [f"image{i}" for i in range(len(x))])
    if isinstance(source, (list, tuple)):
        if len(source) != 1:
            raise ReverieError("give one image folder (or builtin:digits / builtin:textures)")
        source = source[0]
    if source is None:
        raise ReverieError("no images given; name a folder of images, builtin:digits or "
                           "builtin:textures")
    text = os.fspath(source)
    if text.startswith("builtin:"):
        name = text[len("builtin:"):]
        if name == "digits":
            out = digits(size)
        elif name == "textures":
            out = textures(size, seed=seed)
        else:
            import difflib
            close = difflib.get_close_matches(name, BUILTIN, n=1)
            hint = f" (did you mean builtin:{close[0]}?)" if close else ""
            raise ReverieError(f"unknown image set builtin:{name}{hint}; the GANs know "
                               f"builtin:digits and builtin:textures, or a folder of images")
    else:
        out = folder(text, size)
    enough = ENOUGH.get(size, 100)
    if len(out.images) < enough:
        out.notes.append(f"only {len(out.images)} images for size {size}: GANs usually need "
                         f"at least {enough} even with DiffAugment; expect copies or "
                         f"collapse, or add images")
    return out
