"""Stroke data in the sketch-rnn format, read safely, and its conversions.

A sketch-rnn `.npz` (Ha & Eck 2017; the Quick, Draw! downloads; magenta's
`magenta/models/sketch_rnn` data) holds arrays `train`, `valid`, `test`, each an object
array of drawings, each drawing an int16 array of rows `(dx, dy, pen_lifted)` ("stroke-3":
the offset from the previous point, and 1 where the pen leaves the paper after this point).

Object arrays are pickles, and unpickling runs code: `np.load(allow_pickle=True)` on a
user's file is never done here. `read_strokes` opens the zip members itself, reads plain
`.npy` headers with numpy's format module, and unpickles object arrays with an Unpickler
that can build only numpy arrays and dtypes (anything else: a one-line ReverieError).

Conversions follow magenta's `sketch_rnn/utils.py`: `to_stroke5` is `to_big_strokes`
(rows `(dx, dy, p1, p2, p3)`: pen down, pen up, end of drawing, padded with end rows),
`to_stroke3` is `to_normal_strokes`, `scale_factor` is
`calculate_normalizing_scale_factor` (the standard deviation of every offset), and
`to_polylines` is `strokes_to_lines` (absolute points, one list per pen-down stroke).
"""
from __future__ import annotations

import codecs
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from reverie.core.errors import ReverieError

SPLITS = ("train", "valid", "test")
MAX_MEMBER_BYTES = 1 << 30   # a zip bomb stops here, not in memory


# ---------------------------------------------------------------------------------------
# Safe reading
# ---------------------------------------------------------------------------------------

def _safe_encode(obj, encoding="latin1"):
    """Python 3 pickles of bytes at protocol 2 call `_codecs.encode(text, 'latin1')`:
    allowed for that one codec only."""
    if encoding not in ("latin1", "latin-1", "iso-8859-1") or not isinstance(obj, str):
        raise pickle.UnpicklingError("codec not allowed")
    return codecs.encode(obj, "latin1")


def _reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct as r  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct as r
    return r


class _ArrayUnpickler(pickle.Unpickler):
    """Builds numpy arrays and dtypes, nothing else (the classes an object array of
    numeric arrays pickles to: `_reconstruct`, `ndarray`, `dtype`, and `scalar` for a
    0-d element)."""

    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            if name == "_reconstruct":
                return _reconstruct()
            if name == "scalar":
                return np._core.multiarray.scalar if hasattr(np, "_core") else np.core.multiarray.scalar
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module == "_codecs" and name == "encode":
            return _safe_encode
        raise pickle.UnpicklingError(f"{module}.{name}")


def _read_npy(raw: bytes, where: str) -> np.ndarray:
    f = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(f)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f, max_header_size=1 << 16)
    except Exception:
        raise ReverieError(f"{where} is not a numpy array (damaged file?); give a sketch-rnn "
                           f".npz") from None
    if not dtype.hasobject:
        try:
            return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
        except Exception:
            raise ReverieError(f"{where} is damaged (truncated array); give a sketch-rnn "
                               f".npz") from None
    try:  # python 2 pickles (sketch-rnn's own files) need latin1 for their byte strings
        arr = _ArrayUnpickler(f, encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise ReverieError(f"{where} holds objects other than numeric arrays ({exc}); a "
                           f"sketch-rnn .npz holds only arrays, so it was not read") from None
    except Exception:
        raise ReverieError(f"{where} is damaged (an unreadable object array); give a "
                           f"sketch-rnn .npz") from None
    if not isinstance(arr, np.ndarray):
        raise ReverieError(f"{where} is not an array; give a sketch-rnn .npz")
    return arr


def _as_drawing(a, where: str) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "iuf":
        raise ReverieError(f"{where} is not a numeric array; each drawing must be an (N, 3) "
                           f"array of (dx, dy, pen_lifted)")
    if a.ndim != 2 or a.shape[1] != 3:
        raise ReverieError(f"{where} has shape {a.shape}; each drawing must be an (N, 3) "
                           f"array of (dx, dy, pen_lifted)")
    if len(a) == 0:
        raise ReverieError(f"{where} is empty; each drawing needs at least one point")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ReverieError(f"{where} holds NaN or infinite values; each drawing must be finite")
    return a


def _drawings(arr: np.ndarray, name: str) -> list[np.ndarray]:
    if arr.dtype.hasobject:
        if arr.ndim != 1:
            raise ReverieError(f"array {name!r} has shape {arr.shape}; expected a 1-d list of "
                               f"drawings")
        return [_as_drawing(d, f"drawing {i} of {name!r}") for i, d in enumerate(arr)]
    if arr.ndim == 3:   # a regular stack (M, N, 3)
        return [_as_drawing(d, f"drawing {i} of {name!r}") for i, d in enumerate(arr)]
    raise ReverieError(f"array {name!r} has shape {arr.shape}; expected a list of (N, 3) "
                       f"drawings (dx, dy, pen_lifted)")


def read_strokes(path: str | os.PathLike, splits: Sequence[str] | None = None,
                 require: Iterable[str] = ("train",)) -> dict[str, list[np.ndarray]]:
    """The drawings of a sketch-rnn `.npz`, by split: `{"train": [(N, 3) arrays], ...}`.

    Reads only numeric arrays (never runs a pickle's code); checks that the arrays in
    `require` are there and every drawing is (N, 3). Any problem: a one-line ReverieError.
    `splits` limits what is read (default: every array in the file)."""
    p = Path(path)
    if not p.exists():
        raise ReverieError(f"stroke file not found: {p}; check the path")
    if p.is_dir():
        raise ReverieError(f"{p} is a folder; give a sketch-rnn .npz file")
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError):
        raise ReverieError(f"{p} is not an .npz archive; give a sketch-rnn .npz (arrays train, "
                           f"valid, test of stroke-3 drawings)") from None
    out: dict[str, list[np.ndarray]] = {}
    with zf:
        members = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
        missing = [s for s in require if s not in members]
        if missing:
            have = ", ".join(sorted(members)) or "none"
            raise ReverieError(f"{p.name} has no array {missing[0]!r} (arrays: {have}); a "
                               f"sketch-rnn .npz holds train, valid and test")
        for name in (splits or list(members)):
            if name not in members:
                continue
            info = zf.getinfo(members[name])
            if info.file_size > MAX_MEMBER_BYTES:
                raise ReverieError(f"array {name!r} of {p.name} is over 1 GB; split the data")
            try:
                raw = zf.read(members[name])
            except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile):
                raise ReverieError(f"array {name!r} of {p.name} is damaged; give a readable "
                                   f".npz") from None
            out[name] = _drawings(_read_npy(raw, f"array {name!r} of {p.name}"), name)
    for s in require:
        if not out.get(s):
            raise ReverieError(f"array {s!r} of {p.name} holds no drawings; give some")
    return out


def write_strokes(data: dict[str, list[np.ndarray]], path: str | os.PathLike) -> Path:
    """Write drawings as a sketch-rnn `.npz` (object arrays of int16 (N, 3) arrays), atomically."""
    from reverie.io.files import atomic_path
    arrays = {}
    for name, drawings in data.items():
        arr = np.empty(len(drawings), dtype=object)
        for i, d in enumerate(drawings):
            arr[i] = np.asarray(d).astype(np.int16)
        arrays[name] = arr
    buf = io.BytesIO()
    np.savez(buf, **arrays)   # writing our own arrays: pickling them is safe
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return Path(path)


# ---------------------------------------------------------------------------------------
# Conversions (magenta sketch_rnn/utils.py)
# ---------------------------------------------------------------------------------------

def clean(strokes: np.ndarray, limit: float = 1000.0) -> np.ndarray:
    """Float32 with offsets clipped to +-limit (magenta DataLoader.preprocess: removes the
    large gaps some Quick, Draw! drawings carry)."""
    s = np.asarray(strokes, dtype=np.float32).copy()
    s[:, :2] = np.clip(s[:, :2], -limit, limit)
    s[:, 2] = (s[:, 2] > 0.5).astype(np.float32)
    return s


def scale_factor(drawings: Sequence[np.ndarray], max_seq_len: int | None = None) -> float:
    """The standard deviation of every (dx, dy) (magenta calculate_normalizing_scale_factor);
    dividing offsets by it gives them unit spread."""
    use = [d for d in drawings if max_seq_len is None or len(d) <= max_seq_len]
    data = np.concatenate([np.asarray(d, dtype=np.float64)[:, :2].ravel() for d in use or drawings])
    std = float(np.std(data))
    return std if std > 0 else 1.0


def normalize(drawings: Sequence[np.ndarray], factor: float) -> list[np.ndarray]:
    """Offsets divided by the data's scale factor (pen column untouched)."""
    out = []
    for d in drawings:
        s = clean(d)
        s[:, :2] /= factor
        out.append(s)
    return out


def to_stroke5(strokes: np.ndarray, max_len: int | None = None) -> np.ndarray:
    """stroke-3 (N, 3) -> stroke-5 (max_len, 5): (dx, dy, p1 pen down, p2 pen up, p3 end),
    rows after the drawing are end rows (magenta to_big_strokes)."""
    s = np.asarray(strokes, dtype=np.float32)
    n = len(s)
    max_len = n if max_len is None else max_len
    if n > max_len:
        raise ReverieError(f"a drawing of {n} points is longer than max_seq_len ({max_len}); "
                           f"raise max_seq_len or simplify the drawing")
    out = np.zeros((max_len, 5), dtype=np.float32)
    out[:n, :2] = s[:, :2]
    out[:n, 3] = s[:, 2]
    out[:n, 2] = 1 - s[:, 2]
    out[n:, 4] = 1
    return out


def to_stroke3(big: np.ndarray) -> np.ndarray:
    """stroke-5 -> stroke-3, stopping at the first end row (magenta to_normal_strokes)."""
    b = np.asarray(big, dtype=np.float32)
    end = np.nonzero(b[:, 4] > 0.5)[0]
    n = int(end[0]) if len(end) else len(b)
    out = np.zeros((n, 3), dtype=np.float32)
    out[:, :2] = b[:n, :2]
    out[:, 2] = b[:n, 3]
    return out


def to_polylines(strokes: np.ndarray, scale: float = 1.0) -> list[np.ndarray]:
    """stroke-3 -> absolute polylines, one (K, 2) array per pen-down stroke (magenta
    strokes_to_lines). A stroke ends after a row whose pen_lifted is 1."""
    s = np.asarray(strokes, dtype=np.float64)
    if len(s) == 0:
        return []
    pts = np.cumsum(s[:, :2], axis=0) * scale
    # the pen starts lifted: the first row moves to where the first stroke begins, and a
    # row with pen_lifted 1 ends its stroke (the next row is a move)
    lines, current = [], []
    for i in range(len(s)):
        current.append(pts[i])
        if s[i, 2] > 0.5:
            if len(current) >= 2:
                lines.append(np.array(current))
            current = []
    if len(current) >= 2:
        lines.append(np.array(current))
    return lines


def bounds(strokes: np.ndarray) -> tuple[float, float, float, float]:
    """(min_x, min_y, max_x, max_y) of the drawing's absolute points (the origin included)."""
    pts = np.vstack([np.zeros((1, 2)), np.cumsum(np.asarray(strokes, dtype=np.float64)[:, :2], axis=0)])
    return (float(pts[:, 0].min()), float(pts[:, 1].min()),
            float(pts[:, 0].max()), float(pts[:, 1].max()))


# ---------------------------------------------------------------------------------------
# builtin:glyphs: stroke drawings made offline from the Hershey single-stroke fonts
# ---------------------------------------------------------------------------------------

# Hershey fonts as vpype ships them (vpype: MIT; the Hershey glyphs: the US National Bureau
# of Standards' public-domain data, via fogleman/axi). Single-stroke faces only: each glyph
# is a few pen strokes, as a hand would write it.
GLYPH_FONTS = ("futural", "futuram", "rowmans", "rowmand", "scripts", "scriptc", "cursive",
               "timesr", "timesi")
GLYPH_CHARS = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
GLYPH_SIZE = 40.0   # units per em: offsets of a few units, like Quick, Draw!'s


def polylines_to_strokes(lines: Sequence[np.ndarray], start=(0.0, 0.0)) -> np.ndarray:
    """Absolute polylines -> stroke-3 (the inverse of `to_polylines`): each point's offset
    from the previous one, pen_lifted 1 on each polyline's last point (the next row is a
    move with the pen up)."""
    rows = []
    prev = np.asarray(start, dtype=np.float64)
    for ln in lines:
        ln = np.asarray(ln, dtype=np.float64)
        for j, pt in enumerate(ln):
            rows.append((pt[0] - prev[0], pt[1] - prev[1], 1.0 if j == len(ln) - 1 else 0.0))
            prev = pt
    return np.array(rows, dtype=np.float32).reshape(-1, 3)


def glyph_font_files() -> list[Path]:
    """The vpype font files builtin:glyphs is made from (what a sidecar records)."""
    import importlib.util
    spec = importlib.util.find_spec("vpype")
    if spec is None or not spec.submodule_search_locations:
        raise ReverieError("builtin:glyphs needs vpype (its Hershey fonts); install it with: "
                           "pip install vpype")
    folder = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    return [folder / f"{f}.pickle" for f in GLYPH_FONTS]


def glyph_drawings(max_len: int = 250, only: str | None = None
                   ) -> dict[str, list[np.ndarray]]:
    """builtin:glyphs: every letter and digit of nine Hershey single-stroke fonts as an int16
    stroke-3 drawing (y down, as in Quick, Draw!), split by character: most characters train,
    a fixed tenth of them are valid and another tenth test (so valid and test hold letters
    the model never saw in any font). Made from vpype's fonts through its text_line.
    `only`: just these characters (each in the split it has in the whole set)."""
    try:
        import vpype
    except ImportError:
        raise ReverieError("builtin:glyphs needs vpype (its Hershey fonts); install it with: "
                           "pip install vpype") from None
    out = {"train": [], "valid": [], "test": []}
    for font in GLYPH_FONTS:
        for ch in GLYPH_CHARS:
            if only is not None and ch not in only:
                continue
            lc = vpype.text_line(ch, font, size=GLYPH_SIZE)
            lines = [np.c_[ln.real, ln.imag] for ln in lc if len(ln) >= 2]
            if not lines:
                continue
            first = lines[0][0]
            # whole units, rounded on absolute points so the errors never add up
            d = _integer_strokes(lines, first)
            if len(d) > max_len or len(d) < 2:
                continue
            out[glyph_split(ch)].append(d)
    return out


def glyph_split(ch: str) -> str:
    """The split of builtin:glyphs a character's glyphs are in (a fixed tenth valid,
    another tenth test)."""
    i = GLYPH_CHARS.index(ch)
    return "valid" if i % 10 == 7 else "test" if i % 10 == 3 else "train"


def _integer_strokes(lines, first) -> np.ndarray:
    absolute = [np.round(np.asarray(ln, dtype=np.float64)) for ln in lines]
    d = polylines_to_strokes(absolute, start=np.round(first))
    keep = (np.abs(d[:, :2]).sum(axis=1) > 0) | (d[:, 2] > 0)   # repeated points say nothing
    keep[0] = True
    return d[keep].astype(np.int16)
