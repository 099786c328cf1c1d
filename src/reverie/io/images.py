"""Images in and out.

- `load_image`: any path or `sample:NAME` (a scikit-image photo or one of the public-domain
  paintings shipped in reverie/data/paintings) to a float RGB tensor in [0, 1], shape (3, H, W),
  with every way an image file can be odd handled (EXIF rotation, palette, RGBA, 16-bit,
  CMYK, grayscale, animated) and every way it can be bad turned into a ReverieError.
- `save_image`: atomic (through `reverie.io.files.atomic_path`).
"""
from __future__ import annotations

import json
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from reverie.core.errors import ReverieError
from reverie.io.files import atomic_path

# The scikit-image photos that ship inside the package (others in skimage.data download).
SAMPLES = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina", "ihc",
           "motorcycle_left", "motorcycle_right", "camera", "brick", "grass", "gravel", "horse",
           "coins", "moon", "page", "text"]

PAINTINGS_DIR = Path(__file__).resolve().parent.parent / "data" / "paintings"

MAX_PIXELS = 64_000_000  # 8000x8000; larger is almost surely a mistake (or a decompression bomb)


@lru_cache(maxsize=1)
def painting_sources() -> dict[str, dict]:
    """name -> where each bundled painting came from (title, painter, year, painter_died,
    repository, path, commit): SOURCES.json beside them, the one list of the paintings."""
    with open(PAINTINGS_DIR / "SOURCES.json", encoding="utf-8") as f:
        return json.load(f)["paintings"]


def paintings() -> list[str]:
    """The public-domain paintings shipped with Reverie, as `sample:` names: style images.
    Kept apart from `SAMPLES`, the photos a fast style network learns to paint."""
    return list(painting_sources())


def sample_names() -> list[str]:
    """Every `sample:` name: the scikit-image photos, then the paintings."""
    return SAMPLES + paintings()


def sample_path(name: str) -> Path:
    """The file of a bundled scikit-image photo or painting."""
    import skimage.data

    if name in painting_sources():
        return PAINTINGS_DIR / f"{name}.jpg"
    if name not in SAMPLES:
        import difflib
        names = sample_names()
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" (did you mean {', '.join('sample:' + c for c in close)}?)" if close else ""
        raise ReverieError(f"unknown sample image 'sample:{name}'{hint}; "
                           f"available: {', '.join(names)}")
    folder = Path(skimage.data.__file__).parent
    for ext in (".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff"):
        for candidate in (folder / f"{name}{ext}", folder / f"{name.replace('_', '')}{ext}"):
            if candidate.exists():
                return candidate
    matches = sorted(folder.glob(f"{name}*"))
    if matches:
        return matches[0]
    raise ReverieError(f"sample image '{name}' is missing from scikit-image; reinstall it "
                       f"with: pip install --force-reinstall scikit-image")


def open_pil(source: str | os.PathLike) -> Image.Image:
    """Open an image path or `sample:NAME` as an RGB PIL image, upright."""
    source = str(source)
    if source.startswith("sample:"):
        path = sample_path(source[len("sample:"):])
    else:
        path = Path(source)
        if not path.exists():
            raise ReverieError(f"image not found: {source}; check the path "
                               f"(or use a bundled photo such as sample:chelsea)")
        if path.is_dir():
            raise ReverieError(f"{source} is a folder, not an image; give an image file")
        if path.stat().st_size == 0:
            raise ReverieError(f"{source} is an empty file; give a PNG, JPEG or other image file")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():  # we raise our own error for oversized images
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)  # animated: the first frame
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise ReverieError(f"{source} is {w}x{h}, over the {MAX_PIXELS // 1_000_000} MP limit; "
                                   f"resize it first")
            im.load()
            im = ImageOps.exif_transpose(im)
            return _to_rgb(im)
    except ReverieError:
        raise
    except Image.DecompressionBombError:
        raise ReverieError(f"{source} is too large to be a sensible image (over "
                           f"{MAX_PIXELS // 1_000_000} MP); resize it first") from None
    except UnidentifiedImageError:
        raise ReverieError(f"{source} is not an image Pillow can read; give a PNG, JPEG, "
                           f"GIF, TIFF, BMP or WebP file") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ReverieError(f"{source} is damaged or truncated ({exc}); re-export or "
                           f"re-download the image") from None


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.width == 0 or im.height == 0:
        raise ReverieError("the image has zero width or height; give a real image")
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16/32-bit grayscale: scale by the actual range, Pillow's convert('L') would clip.
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        im = Image.fromarray(arr, "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Transparent pixels go on white, as a viewer shows them.
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, im)
    return im.convert("RGB")


def pil_to_tensor(im: Image.Image) -> torch.Tensor:
    arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """(3, H, W) or (1, 3, H, W) in [0, 1] to an 8-bit RGB image."""
    if x.dim() == 4:
        x = x[0]
    arr = (x.detach().float().clamp(0, 1).cpu().permute(1, 2, 0).numpy() * 255.0 + 0.5)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def load_image(source: str | os.PathLike, max_side: int | None = None) -> torch.Tensor:
    """Image path or `sample:NAME` to a (3, H, W) float tensor in [0, 1].

    `max_side` shrinks (never enlarges) so the longer side is at most that many pixels.
    """
    im = open_pil(source)
    if max_side and max(im.size) > max_side:
        scale = max_side / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                       Image.LANCZOS)
    return pil_to_tensor(im)


def as_image(image: "torch.Tensor | str | os.PathLike", max_side: int | None = None) -> torch.Tensor:
    """A mechanism's image input: a path or `sample:NAME` (loaded), or a (3, H, W) tensor
    in [0, 1]; shrunk so its longer side is at most `max_side`."""
    if isinstance(image, torch.Tensor):
        x = image.detach().float()
        if x.dim() == 4 and x.shape[0] == 1:
            x = x[0]
        if x.dim() != 3 or x.shape[0] != 3:
            raise ReverieError(f"an image tensor must be (3, H, W), got {tuple(image.shape)}")
        if max_side and max(x.shape[-2:]) > max_side:
            from reverie.optvis.transform import resize
            scale = max_side / max(x.shape[-2:])
            x = resize(x[None], (max(1, round(x.shape[-2] * scale)),
                                 max(1, round(x.shape[-1] * scale))))[0]
        return x
    return load_image(image, max_side=max_side)


def save_image(x: torch.Tensor | Image.Image, path: str | os.PathLike) -> Path:
    im = x if isinstance(x, Image.Image) else tensor_to_pil(x)
    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            im.save(tmp, format=Image.registered_extensions().get(path.suffix.lower()))
        except (KeyError, ValueError):
            raise ReverieError(f"cannot write an image with suffix {path.suffix!r}; "
                               f"use .png, .jpg or .webp") from None
    return path
