"""Model files: written atomically, read with `torch.load(weights_only=True)` and checked.

Every trained model (char LM, Coconet, MusicVAE, sketch-rnn, the GANs) is one dict of
tensors and plain containers with a `format` name and `format_version`; these functions
are the one place that writes and reads them, so a bad file gets the same one-line errors
everywhere and no model file can run code when it is loaded.
"""
from __future__ import annotations

import dataclasses
import io
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from reverie.core.errors import ReverieError
from reverie.core.result import Result
from reverie.io.files import atomic_path


def save_checkpoint(ckpt: dict, path: str | os.PathLike) -> Path:
    """Atomically, through a buffer: torch names the archive's inner folder after the file,
    so writing to the path itself would make the bytes depend on the name."""
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return Path(path)


class ModelFileResult(Result):
    """What a training run returns: a subclass holds the trained model and `checkpoint`
    (everything a resumed run needs), and `save` writes that checkpoint as the .pt file."""
    checkpoint: dict
    suffixes = (".pt",)

    def write(self, path: Path) -> dict[str, Path]:
        return {"model": save_checkpoint(self.checkpoint, path)}

    def curves(self) -> dict | None:
        """The training curves `explain` draws, as `plot_curves` takes them (None: none)."""
        return None

    def explain(self, folder: Path) -> dict[str, Path]:
        curves = self.curves()
        if not curves:
            return {}
        from reverie.io.figures import plot_curves
        return {"loss curves": plot_curves(**curves, path=Path(folder) / "loss-curves.png")}


def load_checkpoint(path: str | os.PathLike, fmt: str, version: int, what: str,
                    fix: str) -> dict:
    """The checkpoint at `path`, which must be a `fmt` file no newer than `version`.
    `what` names the model in errors ("a Coconet music model"); `fix` says how to make one
    ("train one with `reverie music train`")."""
    if str(path).startswith("model:"):  # the zoo's, stored without pickle
        from reverie.zoo import checkpoint
        ckpt = checkpoint(str(path))
        if ckpt.get("format") != fmt:
            raise ReverieError(f"{path} is not {what} (it is a {ckpt.get('format')} model); "
                               f"{fix}")
        return ckpt
    path = Path(path)
    if not path.exists():
        raise ReverieError(f"model not found: {path}; {fix}")
    if path.is_dir():
        raise ReverieError(f"{path} is a folder, not a model file; {fix}")
    with open(path, "rb") as f:
        if f.read(2) != b"PK":  # torch.save writes a zip archive; anything else is not ours
            raise ReverieError(f"{path} is not a readable model file (damaged or another "
                               f"format); {fix}")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles; we raise our own error
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ReverieError(f"{path} holds objects a model file must not (a tampered or foreign "
                           f"pickle); {fix}") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, AttributeError):
        raise ReverieError(f"{path} is not a readable model file (damaged or another format); "
                           f"{fix}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != fmt:
        other = ckpt.get("format") if isinstance(ckpt, dict) else None
        raise ReverieError(f"{path} is not {what}"
                           + (f" (it is a {other} file)" if isinstance(other, str) else "")
                           + f"; {fix}")
    if ckpt.get("format_version", 0) > version:
        raise ReverieError(f"{path} was made by a newer Reverie; upgrade with "
                           f"pip install -U reverie")
    return ckpt


def saved_config(config_cls, recorded: dict, **missing):
    """The Config a checkpoint recorded: fields this version no longer has are dropped,
    fields it gained take `missing`, their `ADDED` value or their defaults, and `resume` is
    never carried over."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    # a renamed field keeps its value
    values = {**config_cls.added(), **missing, **config_cls.unalias(recorded)}
    return config_cls(**{k: v for k, v in values.items() if k in names and k != "resume"})
