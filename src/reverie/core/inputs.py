"""Where a mechanism's inputs came from, so a sidecar can make the output again.

A source is a file path, `sample:NAME` (a bundled photo), `builtin:NAME` (a bundled data
set) or a typed value (a class name, a word). Each is recorded with the sha256 of the
bytes it named, and `check` refuses to rerun on an input whose bytes have changed.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable

from reverie.core.errors import ReverieError


def _resolver(prefix: str) -> Callable[[str], list[Path]] | None:
    """name -> the files behind `prefix:name` (builtin: a data set, sample: a bundled photo,
    model: a model in the zoo)."""
    if prefix == "builtin":
        from reverie.io.datasets import files
        return files
    if prefix == "sample":
        from reverie.io.images import sample_path
        return lambda name: [sample_path(name)]
    if prefix == "model":
        from reverie.zoo import files as model_files
        return model_files
    return None


def files_of(source: str) -> list[Path]:
    """The files a source names (a folder: every file in it, sorted)."""
    prefix, sep, name = source.partition(":")
    resolver = _resolver(prefix) if sep else None
    if resolver is not None:
        return resolver(name)
    path = Path(source)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file()
                      and not any(part.startswith(".") for part in p.relative_to(path).parts))
    return [path]


def sha256_of(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        if len(paths) > 1:
            h.update(p.name.encode() + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def record(source: Any) -> dict:
    """{"source": ..., "sha256": ...} for a file-like source, {"value": ...} for a typed
    value, {"source": None} for something handed over in memory (cannot be rerun)."""
    if source is None:
        return {"source": None}
    if isinstance(source, (list, tuple)):
        return {"many": [record(s) for s in source]}
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        files = files_of(text)
        if all(f.is_file() for f in files) and files:
            return {"source": text, "sha256": sha256_of(files)}
    if isinstance(source, (str, int, float, bool)):
        return {"value": source}
    return {"source": None, "note": f"given in memory ({type(source).__name__})"}


def value_of(name: str, rec: dict) -> Any:
    """The argument a recorded input gives back, after checking its bytes are unchanged."""
    if "many" in rec:
        return [value_of(name, r) for r in rec["many"]]
    if "value" in rec:
        return rec["value"]
    source = rec.get("source")
    if source is None:
        raise ReverieError(f"input {name!r} was given in memory, not as a file, so this output "
                           f"cannot be made again from its sidecar; run the mechanism with a file")
    files = files_of(source)
    missing = [f for f in files if not f.is_file()]
    if missing or not files:
        raise ReverieError(f"input {name!r} ({source}) is missing; put it back at that path "
                           f"or edit the sidecar's inputs")
    now = sha256_of(files)
    if rec.get("sha256") and now != rec["sha256"]:
        raise ReverieError(f"input {name!r} ({source}) has changed since the output was made "
                           f"(sha256 {now[:12]}..., recorded {rec['sha256'][:12]}...); restore "
                           f"the original file to make the same output")
    return source
