"""A checkpoint as plain data: tensors in a safetensors file, everything else in JSON.

safetensors is the ecosystem's convention for shared weights: a header and raw tensors,
nothing that runs code when read. A Reverie checkpoint is a dict of tensors and plain
containers; `pack` splits it into {name: tensor} (each tensor's place in the structure is
its name, "model/lstm.weight_ih_l0") and a JSON skeleton where each tensor stood, and
`unpack` puts it back. What only a resumed run needs (optimizer moments, random streams, a
carried state) is left out: a zoo model starts runs and is used, it never resumes one.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from reverie.core.errors import ReverieError

TENSOR = "__tensor__"
# Checkpoint keys a shipped model does not need: a resume's state.
RESUME_ONLY = ("rng", "task", "carry")


def _is_optimizer(value: Any) -> bool:
    return isinstance(value, dict) and "state" in value and "param_groups" in value


def pack(ckpt: dict, fp16: bool = False) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, skeleton): fp16 stores float tensors at half precision."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any, where: str) -> Any:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu()
            if fp16 and t.dtype == torch.float32:
                t = t.half()
            tensors[where] = t.contiguous().clone()
            return {TENSOR: where, "dtype": str(value.dtype).removeprefix("torch.")}
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise ReverieError(f"{where or 'the checkpoint'} has a key that is not text "
                                   f"({bad[0]!r}); it cannot be stored as a zoo model")
            return {k: walk(v, f"{where}/{k}" if where else k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{where}/{i}") for i, v in enumerate(value)]
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        raise ReverieError(f"{where} holds a {type(value).__name__}; a zoo model holds "
                           f"tensors and plain data only")

    kept = {k: v for k, v in ckpt.items() if k not in RESUME_ONLY and not _is_optimizer(v)}
    return tensors, walk(kept, "")


def unpack(tensors: dict[str, torch.Tensor], skeleton: dict) -> dict:
    """The checkpoint `pack` split, every tensor back at its place and dtype."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if TENSOR in value:
                t = tensors[value[TENSOR]]
                return t.to(getattr(torch, value.get("dtype", "float32")))
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value
    return walk(skeleton)


def write(ckpt: dict, folder: Path, fp16: bool = False) -> dict[str, Path]:
    """weights.safetensors and model.json in `folder` (written atomically)."""
    from safetensors.torch import save
    from reverie.io.files import atomic_path, save_json

    tensors, skeleton = pack(ckpt, fp16)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "weights.safetensors"
    with atomic_path(weights) as tmp:
        tmp.write_bytes(save(tensors))
    return {"weights": weights, "model": save_json(skeleton, folder / "model.json")}


def read(folder: Path) -> dict:
    """The checkpoint in `folder`; a damaged or foreign file is a one-line error."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        skeleton = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        tensors = load((folder / "weights.safetensors").read_bytes())
        return unpack(tensors, skeleton)
    except (OSError, ValueError, KeyError, SafetensorError, AttributeError, TypeError):
        raise ReverieError(f"the zoo model in {folder} is damaged (its weights or model.json "
                           f"do not read); reinstall reverie or retrain it with `reverie "
                           f"models train {folder.name}`") from None
