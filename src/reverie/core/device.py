"""Where tensors live: CPU by default, CUDA when asked for or when `auto` finds one."""
from __future__ import annotations

import torch

from reverie.core.errors import ReverieError


def resolve_device(name: str | None = "auto") -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ReverieError(f"device {name!r} asked for but no CUDA GPU is available; set device to cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ReverieError(f"unknown device {name!r}; use cpu, cuda, cuda:N or auto") from None


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 autocast is faster than float32 here: on CUDA, and on CPUs with
    native bf16 instructions (AVX512-BF16 or AMX); elsewhere it is emulated and slower."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast(device: torch.device, precision: str):
    """Context for the chosen precision: "fp32", "bf16", or "auto" (bf16 where fast)."""
    if precision not in ("fp32", "bf16", "auto"):
        raise ReverieError(f"unknown precision {precision!r}; use fp32, bf16 or auto")
    use = precision == "bf16" or (precision == "auto" and fast_bf16(device))
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=use)


def resolve_precision(device: torch.device, precision: str) -> str:
    """What `auto` precision becomes on this device: bf16 where it is fast, else fp32."""
    if precision == "auto":
        return "bf16" if fast_bf16(device) else "fp32"
    return precision
