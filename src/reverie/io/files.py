"""Writing outputs so nothing is lost: atomically, with the user's umask.

- `atomic_path`: write to a temp file beside the target, rename on success, so a crash
  never leaves half a file; the file gets the permissions any new file would (umask).
- `save_json`, `save_text`: the usual outputs, atomic.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from reverie.core.errors import ReverieError


def _umask() -> int:
    mask = os.umask(0o022)  # read it (the only way is to set it), then put it back
    os.umask(mask)
    return mask


_UMASK = _umask()  # once: os.umask is process-wide, so not from threads later


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
                               f"choose another output path") from None
    if not folder.is_dir():
        raise ReverieError(f"cannot write into {folder}: it is a file, not a folder; choose another output path")
    if not os.access(folder, os.W_OK):
        raise ReverieError(f"output folder {folder} is not writable; choose another output path")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path` (same suffix, so writers detect the format);
    rename it onto `path` only if the block finishes."""
    path = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; an output is an ordinary file
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def jsonable(obj: Any, digits: int | None = None) -> Any:
    """Plain JSON types; floats rounded to `digits` only when asked (figures, never
    configs or model data, which must read back exactly)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, digits) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if type(obj).__module__.startswith("torch") and hasattr(obj, "tolist"):
        return jsonable(obj.tolist(), digits)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float):
        return round(obj, digits) if digits is not None else obj
    return obj


def save_json(data: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(jsonable(data), indent=2) + "\n")
    return path


def save_text(text: str, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
