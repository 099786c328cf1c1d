"""Reverie: the creative mechanisms of deep neural networks, offline on a laptop CPU.

The library is the product; the `reverie` command and the studio are thin layers over
these functions. Heavy modules load on first use, so `import reverie` stays fast.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from reverie.core.errors import ReverieError  # noqa: E402

# Every registered mechanism is `reverie.<name>` (its function) and its Config class by
# name (`reverie.DreamConfig`), both from the registry; these are the other public names.
_LAZY = {
    "load_net": "reverie.nets.zoo",
    "classify": "reverie.nets.verdicts",
    "load_image": "reverie.io.images",
    "save_image": "reverie.io.images",
    "rerun": "reverie.core.rerun",
    "mechanisms": "reverie.core.registry",
    "build_gallery": "reverie.gallery",
    "load_words": "reverie.words.train",
    "load_vectors": "reverie.words.vectors",
    "save_vectors": "reverie.words.vectors",
    "load_charlm": "reverie.text.charlm",
    "load_lm": "reverie.text.lm",
    "NGramLM": "reverie.text.ngram",
    "Drawing": "reverie.draw.drawing",
    "load_svg": "reverie.draw.drawing",
    "render_png": "reverie.draw.drawing",
    "soft_render": "reverie.draw.drawing",
    "VectorSet": "reverie.latent.analogy",
    "Codec": "reverie.latent.analogy",
}


def _registered(name: str):
    from reverie.core.registry import _attr, mechanisms
    for mech in mechanisms().values():
        if name == mech.name:
            return mech.load()
        if name == mech.config.rpartition(":")[2]:
            return _attr(mech.config)
    return None


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is not None:
        return getattr(importlib.import_module(module), name)
    found = _registered(name) if not name.startswith("_") else None
    if found is None:
        raise AttributeError(f"module 'reverie' has no attribute {name!r}")
    return found


__all__ = ["ReverieError", "__version__", *_LAZY]
