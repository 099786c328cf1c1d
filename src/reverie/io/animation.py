"""Writing frame sequences as GIF (Pillow via imageio) or MP4 (imageio-ffmpeg), atomically."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from reverie.core.errors import ReverieError
from reverie.io.files import atomic_path
from reverie.io.images import tensor_to_pil


def ffmpeg_exe() -> str:
    """The ffmpeg binary imageio-ffmpeg ships (every video Reverie reads or writes uses it)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ReverieError("video needs imageio-ffmpeg; install it with: pip install "
                           "imageio-ffmpeg") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def save_animation(frames: list[torch.Tensor], out: str | Path, fps: float = 12.0) -> Path:
    import imageio.v2 as imageio

    out = Path(out)
    arrays = [np.asarray(tensor_to_pil(f)) for f in frames]
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".gif":
            imageio.mimsave(tmp, arrays, format="GIF", duration=1000.0 / fps, loop=0)
        elif out.suffix.lower() == ".mp4":
            try:
                import imageio_ffmpeg  # noqa: F401
            except ImportError:
                raise ReverieError("MP4 output needs imageio-ffmpeg; install it with: "
                                   "pip install imageio-ffmpeg (or write a .gif)") from None
            # H.264 wants even sides
            h, w = arrays[0].shape[:2]
            arrays = [a[: h - h % 2, : w - w % 2] for a in arrays]
            imageio.mimsave(tmp, arrays, format="FFMPEG", fps=fps, codec="libx264",
                            quality=8, macro_block_size=1)
        else:
            raise ReverieError(f"cannot write an animation with suffix {out.suffix!r}; use .gif or .mp4")
    return out
