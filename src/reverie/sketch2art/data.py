"""Pairs to learn from: (sketch, picture), at the model's `load_size`.

- a folder of the user's pictures: each one's central square, resized; its sketch is made
  by the edge extractor the run names (`edges`), so any pictures make a training set;
- a folder of ready pairs, as pix2pix takes them: side-by-side AB images (the sketch A on
  the left, the picture B on the right, each image twice as wide as high), or A/ and B/
  subfolders whose files share names;
- `builtin:photo-tiles`: non-overlapping tiles of the colour and texture photos that ship
  inside scikit-image;
- `builtin:clipart`: the drawings of Debian's openclipart-png (CC0 clip art: animals,
  people, food, vehicles ...), each on white paper, padded to a square.

Every set comes back as pictures (N, 3, L, L) in [0, 1], sketches (N, 1, L, L) or None
(to be extracted), names and notes. Bad folders are one line each.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reverie.core.errors import ReverieError
from reverie.gan.data import _resize, record  # noqa: F401  (record: how a set is recorded)

TILE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "ihc",
               "hubble_deep_field", "camera", "coins", "moon", "brick", "grass", "gravel")
TILE_SOURCE = 128     # photo pixels per tile side, after the photo's short side is set to
TILES_ACROSS = 3      # three tiles
HELD_OUT_EVERY = 8    # every 8th tile is held out (the bench's test pictures)
BUILTIN = ("photo-tiles", "clipart")  # declared in reverie.sketch2art's DATASETS

# Debian's openclipart-png (CC0, 131 MB): its drawings, without the folders of icons, flags,
# signs and geometric borders, which are not what a person sketches (8,121 files -> ~3,100)
CLIPART_ROOT = "/usr/share/openclipart/png"
CLIPART_LEFT_OUT = ("computer", "shapes", "signs_and_symbols", "buttons", "logos")
CLIPART_MIN_SIDE = 48            # smaller files are bullets and specks
CLIPART_MAX_PIXELS = 16_000_000  # a few posters rendered at 13,000 px a side: minutes each
CLIPART_VERSION = 1              # bump when the preparation changes (the cache's key)


@dataclass
class PairSet:
    pictures: torch.Tensor                 # (N, 3, L, L) in [0, 1]
    sketches: torch.Tensor | None          # (N, 1, L, L) in [0, 1], or None: extract them
    names: list[str]
    source: str
    held_out: list[int] = field(default_factory=list)   # indices a built-in set holds out
    notes: list[str] = field(default_factory=list)


def _square(im):
    side = min(im.size)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    return im.crop((left, top, left + side, top + side))


def photo_tiles(size: int) -> PairSet:
    """The built-in set: each photo's short side set to 3 x 128 px, cut into 128-px tiles
    (no overlap), each resized to `size`; every 8th held out."""
    from PIL import Image

    from reverie.io.images import open_pil, pil_to_tensor

    tiles, names = [], []
    for name in TILE_PHOTOS:
        im = open_pil(f"sample:{name}")
        scale = TILE_SOURCE * TILES_ACROSS / min(im.size)
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
        x = pil_to_tensor(im)
        for r in range(x.shape[1] // TILE_SOURCE):
            for c in range(x.shape[2] // TILE_SOURCE):
                tiles.append(x[:, r * TILE_SOURCE:(r + 1) * TILE_SOURCE,
                               c * TILE_SOURCE:(c + 1) * TILE_SOURCE])
                names.append(f"{name}@{r},{c}")
    pictures = _resize(torch.stack(tiles), size)
    held = [i for i in range(len(tiles)) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    return PairSet(pictures, None, names, "builtin:photo-tiles", held_out=held)


def _clipart_root() -> Path:
    return Path(os.environ.get("REVERIE_OPENCLIPART", CLIPART_ROOT))


def clipart_files() -> list[Path]:
    """The drawings builtin:clipart reads, sorted (what its sha256 covers)."""
    root = _clipart_root()
    if not root.is_dir():
        raise ReverieError(f"builtin:clipart needs Debian's CC0 clip art, not found at {root}; "
                           f"install it with: sudo apt-get install openclipart-png")
    return sorted(p for p in root.rglob("*.png")
                  if p.relative_to(root).parts[0] not in CLIPART_LEFT_OUT)


def _on_paper(im, size: int):
    """A drawing cut to its ink (its alpha's bounding box, so a small figure on a big canvas
    fills the frame), flattened onto white paper and padded to a square: `size` px."""
    from PIL import Image

    rgba = im.convert("RGBA")
    box = rgba.getchannel("A").getbbox()
    if box:
        rgba = rgba.crop(box)
    side = max(rgba.size) + 2 * max(1, max(rgba.size) // 32)   # a margin of paper
    paper = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    paper.alpha_composite(rgba, ((side - rgba.width) // 2, (side - rgba.height) // 2))
    return paper.convert("RGB").resize((size, size), Image.LANCZOS, reducing_gap=3.0)


def _read_clipart(files: list[Path], root: Path, size: int) -> tuple[np.ndarray, list[str], int]:
    """(N, 3, size, size) uint8 drawings, their names, and how many files were left out."""
    import warnings

    from PIL import Image

    pictures, names, left_out = [], [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # left out below
        for f in files:
            try:
                with Image.open(f) as im:
                    if (min(im.size) < CLIPART_MIN_SIDE
                            or im.width * im.height > CLIPART_MAX_PIXELS):
                        left_out += 1
                        continue
                    x = np.asarray(_on_paper(im, size)).transpose(2, 0, 1)
            except (OSError, ValueError, Image.DecompressionBombError):
                left_out += 1
                continue
            if (x < 230).any(0).mean() < 0.01:  # blank once on paper
                left_out += 1
                continue
            pictures.append(x)
            names.append(str(f.relative_to(root)))
    return (np.stack(pictures) if pictures else np.zeros((0, 3, size, size), np.uint8),
            names, left_out)


def clipart(size: int) -> PairSet:
    """The built-in drawings at `size`; every 8th held out. Files that do not open, are
    smaller than CLIPART_MIN_SIDE, huge renders or blank are left out (counted in the
    notes). Decoding ~3,000 PNGs takes minutes, so the set is kept in the user cache
    ($REVERIE_CACHE) per size."""
    import hashlib

    from reverie.io.files import atomic_path
    from reverie.music.chorales import cache_dir

    files = clipart_files()
    root = _clipart_root()
    key = hashlib.sha1(json.dumps([str(root), len(files), CLIPART_LEFT_OUT, CLIPART_MIN_SIDE,
                                   CLIPART_MAX_PIXELS, CLIPART_VERSION]).encode()).hexdigest()[:10]
    cached = cache_dir() / "sketch2art" / f"clipart-{size}px-{key}.npz"
    try:
        with np.load(cached) as z:
            x, names, left_out = z["pictures"], [str(n) for n in z["names"]], int(z["left_out"])
    except (OSError, KeyError, ValueError):   # absent or damaged: read the files again
        x, names, left_out = _read_clipart(files, root, size)
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp:
            np.savez_compressed(tmp, pictures=x, names=np.array(names), left_out=left_out)
    if len(names) < 2:
        raise ReverieError(f"builtin:clipart found {len(names)} drawings under {root}; "
                           f"reinstall it with: sudo apt-get install --reinstall openclipart-png")
    held = [i for i in range(len(names)) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    notes = [f"{len(names)} drawings of openclipart-png (CC0)"
             + (f"; {left_out} tiny, huge, blank or unreadable files left out" if left_out else "")]
    return PairSet(torch.from_numpy(x).float() / 255, None, names, "builtin:clipart",
                   held_out=held, notes=notes)


def _image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _open_all(files: list[Path], root: Path) -> tuple[list, list[str], list[str]]:
    from reverie.io.images import open_pil

    images, names, skipped = [], [], []
    for f in files:
        try:
            images.append(open_pil(f))
            names.append(str(f.relative_to(root)))
        except ReverieError as exc:
            skipped.append(f"{f.relative_to(root)}: {exc}")
    return images, names, skipped


def _gray(im, size: int) -> torch.Tensor:
    """A sketch image -> (1, size, size), dark lines on light (inverted if it is not)."""
    from reverie.io.images import pil_to_tensor
    x = _resize(pil_to_tensor(_square(im))[None], size)[0].mean(0, keepdim=True)
    return 1.0 - x if float(x.median()) < 0.5 else x


def _pictures(images, size: int) -> torch.Tensor:
    from reverie.io.images import pil_to_tensor
    return torch.stack([_resize(pil_to_tensor(_square(im))[None], size)[0] for im in images])


def folder(path: str | os.PathLike, size: int) -> PairSet:
    root = Path(path)
    if not root.exists():
        raise ReverieError(f"folder not found: {root}; give a folder of pictures (or of "
                           f"pix2pix pairs), or builtin:photo-tiles")
    if not root.is_dir():
        raise ReverieError(f"{root} is a file; give a folder of pictures (at least 2)")
    if (root / "A").is_dir() and (root / "B").is_dir():
        return _ab_folders(root, size)
    files = _image_files(root)
    if not files:
        raise ReverieError(f"{root} is empty; put some pictures in it (PNG, JPEG ...)")
    images, names, skipped = _open_all(files, root)
    if not images:
        raise ReverieError(f"none of the {len(files)} files in {root} is an image Pillow can "
                           f"read (first: {skipped[0]}); give PNG or JPEG files")
    if len(images) < 2:
        raise ReverieError(f"{root} holds one picture; give at least 2 (one to learn from, "
                           f"one to check on), ideally hundreds")
    notes = []
    if skipped:
        notes.append(f"skipped {len(skipped)} unreadable file(s): " + "; ".join(skipped[:3])
                     + (" ..." if len(skipped) > 3 else ""))
    if _side_by_side(images):
        sketches = torch.stack([_gray(im.crop((0, 0, im.width // 2, im.height)), size)
                                for im in images])
        pictures = _pictures([im.crop((im.width // 2, 0, im.width, im.height))
                              for im in images], size)
        notes.append(f"read {len(images)} side-by-side pairs (pix2pix's AB images: the "
                     f"sketch on the left, the picture on the right)")
        return PairSet(pictures, sketches, names, str(root), notes=notes)
    sizes = {im.size for im in images}
    if len(sizes) > 1 or next(iter(sizes)) != (size, size):
        notes.append(f"pictures of {len(sizes)} size(s) were cropped to their central square "
                     f"and resized to {size}x{size}")
    return PairSet(_pictures(images, size), None, names, str(root), notes=notes)


def _side_by_side(images) -> bool:
    """pix2pix's AB images: every one twice as wide as high, the left half a sketch
    (mostly paper) and the right half not."""
    from reverie.io.images import pil_to_tensor
    if not all(abs(im.width - 2 * im.height) <= 1 for im in images):
        return False
    for im in images[:8]:
        x = pil_to_tensor(im.resize((64, 32))).mean(0)
        left, right = x[:, :32], x[:, 32:]
        if not (float((left > 0.8).float().mean()) > 0.7 > float((right > 0.8).float().mean())):
            return False
    return True


def _ab_folders(root: Path, size: int) -> PairSet:
    a_files = {p.stem: p for p in _image_files(root / "A")}
    b_files = {p.stem: p for p in _image_files(root / "B")}
    common = sorted(set(a_files) & set(b_files))
    if not common:
        raise ReverieError(f"{root}/A and {root}/B share no file names; pix2pix's pairs are "
                           f"A/NAME.png (the sketch) beside B/NAME.png (the picture)")
    a_imgs, names, skipped = _open_all([a_files[n] for n in common], root)
    b_imgs, _, skipped_b = _open_all([b_files[n] for n in common], root)
    if skipped or skipped_b:
        raise ReverieError(f"{root}: cannot read {(skipped + skipped_b)[0]}; fix or remove it")
    if len(common) < 2:
        raise ReverieError(f"{root} holds one pair; give at least 2")
    notes = [f"read {len(common)} pairs from A/ (sketches) and B/ (pictures)"]
    unmatched = len(a_files) + len(b_files) - 2 * len(common)
    if unmatched:
        notes.append(f"{unmatched} file(s) without a partner in the other folder were left out")
    sketches = torch.stack([_gray(im, size) for im in a_imgs])
    return PairSet(_pictures(b_imgs, size), sketches, names, str(root), notes=notes)


def load_pairs(source, size: int) -> PairSet:
    """A training set from a folder, `builtin:photo-tiles`, `builtin:clipart`, or a
    (N, 3, H, W) tensor."""
    if isinstance(source, torch.Tensor):
        x = source.detach().float()
        if x.dim() != 4 or x.shape[1] != 3 or len(x) < 2:
            raise ReverieError(f"a picture tensor must be (N >= 2, 3, H, W), got "
                               f"{tuple(x.shape)}")
        return PairSet(_resize(x.clamp(0, 1), size), None, [f"picture{i}" for i in range(len(x))],
                       "in memory")
    if isinstance(source, (list, tuple)):
        if len(source) != 1:
            raise ReverieError("give one folder of pictures (or builtin:photo-tiles)")
        source = source[0]
    if source is None:
        raise ReverieError("no pictures given; name a folder of pictures or builtin:photo-tiles")
    text = os.fspath(source)
    if text.startswith("builtin:"):
        name = text[len("builtin:"):]
        if name not in BUILTIN:
            raise ReverieError(f"unknown picture set builtin:{name}; sketch2art knows "
                               f"builtin:photo-tiles and builtin:clipart, or a folder of "
                               f"pictures")
        return clipart(size) if name == "clipart" else photo_tiles(size)
    return folder(text, size)


def tile_files() -> list[Path]:
    """The photos the tiles are cut from (what builtin:photo-tiles' sha256 covers)."""
    from reverie.io.images import sample_path
    return [sample_path(n) for n in TILE_PHOTOS]


def thumbnails(x: torch.Tensor, side: int = 64) -> torch.Tensor:
    """uint8 thumbnails (N, C, side, side), for the model file's nearest-picture search."""
    return (_resize(x, side) * 255 + 0.5).clamp(0, 255).to(torch.uint8)


def sketch_features(sketches: torch.Tensor) -> torch.Tensor:
    """What "nearest by sketch" compares: the ink, blurred and shrunk to 16x16, unit
    length (so a sketch with more lines is not nearer to everything)."""
    ink = 1.0 - sketches.float()
    if ink.shape[-1] != 32:
        ink = F.interpolate(ink, size=(32, 32), mode="area")
    ink = F.avg_pool2d(ink, 3, 1, 1)
    f = F.interpolate(ink, size=(16, 16), mode="area").flatten(1)
    return f / f.norm(dim=1, keepdim=True).clamp_min(1e-6)


def nearest_by_sketch(query: torch.Tensor, pool: torch.Tensor) -> np.ndarray:
    """For each query sketch (N, 1, S, S), the index of the most alike pool sketch."""
    q, p = sketch_features(query), sketch_features(pool)
    return (q @ p.T).argmax(1).numpy()
