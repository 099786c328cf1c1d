"""Reading inputs and writing outputs safely.

- `load_image`: any path or `sample:NAME` to a float RGB tensor in [0, 1], shape (3, H, W),
  with every way an image file can be odd handled (EXIF rotation, palette, RGBA, 16-bit,
  CMYK, grayscale, animated) and every way it can be bad turned into a ReverieError.
- `atomic_path`: write to a temp file beside the target, rename on success, so a crash
  never leaves half a file.
- `save_image`, `save_json`, `write_sidecar`: the usual outputs, all atomic.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from reverie.core.errors import ReverieError

# The scikit-image photos that ship inside the package (others in skimage.data download).
SAMPLES = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina", "ihc",
           "motorcycle_left", "motorcycle_right", "camera", "brick", "grass", "gravel", "horse",
           "coins", "moon", "page", "text"]

MAX_PIXELS = 64_000_000  # 8000x8000; larger is almost surely a mistake (or a decompression bomb)


def sample_path(name: str) -> Path:
    """The file of a bundled scikit-image photo."""
    import skimage.data

    if name not in SAMPLES:
        import difflib
        close = difflib.get_close_matches(name, SAMPLES, n=3)
        hint = f" (did you mean {', '.join('sample:' + c for c in close)}?)" if close else ""
        raise ReverieError(f"unknown sample image 'sample:{name}'{hint}; "
                           f"available: {', '.join(SAMPLES)}")
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


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, before minutes of work, if the output cannot be written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ReverieError(f"output {path} is a folder; give a file name such as {path / 'out.png'}")
    if not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReverieError(f"cannot create output folder {folder} ({exc.strerror}); "
                               f"choose another --out") from None
    if not folder.is_dir():
        raise ReverieError(f"cannot write into {folder}: it is a file, not a folder; choose another --out")
    if not os.access(folder, os.W_OK):
        raise ReverieError(f"output folder {folder} is not writable; choose another --out")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path` (same suffix, so writers detect the format);
    rename it onto `path` only if the block finishes."""
    path = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


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


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float):
        return round(obj, 6)
    return obj


def save_json(data: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(data), indent=2) + "\n")
    return path


def sidecar_path(out: str | os.PathLike) -> Path:
    """OUT.png -> OUT.json: where an output's parameters and figures are recorded."""
    return Path(out).with_suffix(".json")


def write_sidecar(out: str | os.PathLike, data: dict) -> Path:
    import reverie
    record = {"reverie_version": reverie.__version__, "output": str(Path(out).name), **data}
    return save_json(record, sidecar_path(out))
