"""What the studio reads from users and serves back, checked.

- `safe_path`: a path inside the studio's folder, or None: no `..`, no absolute paths, no
  symlink that leads out (resolved, then checked to lie under the folder).
- `store_upload`: an uploaded file kept only if it is what its input expects (an image
  Pillow opens within the decompression-bomb limit, an SVG sketch with strokes on it, a
  sound soundfile reads, UTF-8 text, a checkpoint torch loads with weights_only), else a
  ReverieError saying what was wrong.
"""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from reverie.core.errors import ReverieError

SUFFIXES = {  # input kind -> accepted upload suffixes
    "image": {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"},
    "audio": {".wav", ".flac", ".ogg"},
    "text": {".txt", ".md", ".csv", ".tsv"},
    "corpus": {".txt", ".md", ".csv", ".tsv", ".yml", ".yaml"},
    "model": {".pt", ".json"},
    "vectors": {".bin", ".txt", ".vec"},
    "drawing": {".svg"},
    "jobs": {".jsonl"},
    "score": {".mid", ".midi", ".musicxml", ".mxl", ".xml"},
    "strokes": {".npz"},
    "video": {".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v"},
}
SUFFIXES["sketch"] = SUFFIXES["image"] | {".svg"}   # a picture of lines, or SVG strokes


def safe_path(root: Path, relative: str) -> Path | None:
    """`relative` resolved inside `root`, or None if it would leave it."""
    if not relative or "\0" in relative or relative.startswith(("/", "\\")) or ":" in relative:
        return None
    parts = Path(relative).parts
    if any(p in ("..", "") for p in parts):
        return None
    root = root.resolve()
    path = (root / relative).resolve()
    try:
        path.relative_to(root)
    except ValueError:  # a symlink out of the folder
        return None
    return path


def clean_name(name: str) -> str:
    """A file name safe to keep: its last component, odd characters replaced."""
    base = os.path.basename(name.replace("\\", "/")) or "upload"
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".") or "upload"
    return base[:120]


@contextlib.contextmanager
def _as_uploaded(path: Path, name: str) -> Iterator[None]:
    """A reader's one-line error about the stored upload, told with the name the user gave."""
    try:
        yield
    except ReverieError as exc:
        raise ReverieError(str(exc).replace(str(path), name).replace(path.name, name)) from None


def check_upload(kind: str, path: Path, name: str | None = None) -> None:
    """Refuse a file that is not what `kind` expects (by its content, not its name)."""
    name = name or path.name
    suffix = Path(name).suffix.lower()
    allowed = SUFFIXES.get(kind)
    if allowed is not None and suffix not in allowed:
        raise ReverieError(f"{name}: a {kind} input takes {', '.join(sorted(allowed))} files")
    if kind == "sketch" and suffix == ".svg":  # strokes: drawn as sketch2art would draw them
        from reverie.sketch2art.edges import read_sketch
        with _as_uploaded(path, name):
            read_sketch(path, 64)
    elif kind in ("image", "sketch"):
        from reverie.io.images import open_pil
        with _as_uploaded(path, name):
            open_pil(path)  # Pillow, with the decompression-bomb and damage checks
    elif kind == "audio":
        import soundfile
        try:
            soundfile.info(str(path))
        except Exception:
            raise ReverieError(f"{name} is not a sound file soundfile can read; give a "
                               f"WAV, FLAC or OGG file") from None
    elif kind == "jobs":
        check_jobs(path, name)
    elif kind == "score":
        from reverie.music.chorales import read_score
        with _as_uploaded(path, name):
            read_score(path)
    elif kind == "strokes":
        from reverie.io.strokes import read_strokes
        with _as_uploaded(path, name):
            read_strokes(path)  # never unpickles anything but numpy arrays
    elif kind in ("text", "corpus", "drawing"):
        raw = path.read_bytes()
        if b"\0" in raw[:65536]:
            raise ReverieError(f"{name} is not text (it holds NUL bytes)")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ReverieError(f"{name} is not UTF-8 text; convert it to UTF-8") from None
    elif kind == "video":
        from reverie.image.video import read_video
        with _as_uploaded(path, name):
            read_video(path, max_frames=1)[0].close()  # ffmpeg decodes a frame of it
    elif kind == "model" and suffix == ".pt":
        import torch
        try:
            torch.load(path, map_location="cpu", weights_only=True)  # never unpickles code
        except Exception:
            raise ReverieError(f"{name} is not a checkpoint Reverie can load safely "
                               f"(weights only); give a .pt written by `reverie text train`") from None


# names a job may not write in a studio job's folder: the job's record and its report
RESERVED_OUTS = {"job.json", "batch.jsonl", "batch.json"}


def check_jobs(path: Path, name: str | None = None) -> None:
    """A batch run from a page: every line a valid job (read as `reverie batch` reads it),
    with inputs given as plain values only: built-in samples and corpora (`sample:NAME`,
    `builtin:NAME`) or typed words. A page may not make the studio read other files on this
    machine, so a sidecar's records (which name files) are refused here."""
    import json

    from reverie.core import registry
    from reverie.scale.batch import read_jobs

    name = name or path.name
    with _as_uploaded(path, name):
        jobs = read_jobs(path)
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
           if line.strip() and not line.lstrip().startswith("#")]
    for job, data in zip(jobs, raw):
        where = f"{name} line {job['line']}"
        if job["out"] in RESERVED_OUTS:
            raise ReverieError(f"{where}: out {job['out']!r} is the studio's own; name it otherwise")
        kinds = {inp.name: inp.kind for inp in registry.get(job["mechanism"]).inputs}
        for input_name, value in (data.get("inputs") or {}).items():
            values = value if isinstance(value, list) else [value]
            if input_name not in kinds or not all(isinstance(v, str) for v in values):
                raise ReverieError(f"{where}: input {input_name!r} must be a name or a list of "
                                   f"names (in the studio: sample:NAME, builtin:NAME, "
                                   f"model:NAME or words)")
            if kinds[input_name] == "value":
                continue
            for v in values:
                if v.startswith("model:"):
                    try:
                        zoo_model(v)
                    except ReverieError as exc:
                        raise ReverieError(f"{where}: {exc}") from None
                elif not v.startswith(("sample:", "builtin:")):
                    raise ReverieError(
                        f"{where}: input {input_name!r} is {v!r}; in the studio a job's inputs "
                        f"are sample:NAME, builtin:NAME, model:NAME or typed values (for files "
                        f"on this machine run `reverie batch` in a terminal)")
        from reverie.core.config import fields
        for f in fields(registry.get(job["mechanism"]).config_class()):
            value = (data.get("config") or {}).get(f.name)
            if f.file is not None and isinstance(value, str) and f.file(value) is not None:
                raise ReverieError(f"{where}: config {f.name!r} names a file ({value!r}); in the "
                                   f"studio a job's settings may not (run `reverie batch` in a "
                                   f"terminal for that)")


def zoo_model(text: str) -> str:
    """`model:NAME` if NAME is a model in the zoo (a name from its list, never a path), else
    a ReverieError naming the models there are."""
    from reverie import zoo

    name = text.removeprefix(zoo.PREFIX)
    if name not in zoo.names():
        zoo.folder(name)  # raises, with the names there are
        raise ReverieError(f"{text!r} is not a model in the zoo; `reverie models list` shows "
                           f"them")
    return text


def store_upload(folder: Path, kind: str, name: str, data: bytes) -> Path:
    """Write an upload into `folder` and check it; a bad one is removed again."""
    if not data:
        raise ReverieError(f"{name or 'the upload'} is empty; choose a file with something in it")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / clean_name(name)
    tmp = folder / f".part-{path.name}"
    tmp.write_bytes(data)
    try:
        check_upload(kind, tmp, path.name)  # content checks read the temp file
    except ReverieError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception:
        tmp.unlink(missing_ok=True)
        raise ReverieError(f"{path.name} could not be read as a {kind} file") from None
    tmp.replace(path)
    return path
