"""Where tensors live: CPU by default, CUDA when asked for or when `auto` finds one."""
from __future__ import annotations

import torch

from .errors import ReverieError


def resolve_device(name: str | None = "auto") -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ReverieError(f"device {name!r} asked for but no CUDA GPU is available; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ReverieError(f"unknown device {name!r}; use cpu, cuda, cuda:N or auto") from None
