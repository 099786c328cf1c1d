"""Reverie: the creative mechanisms of deep neural networks, offline on a laptop CPU.

The library is the product; the `reverie` command and the studio are thin layers over
these functions. Heavy modules load on first use, so `import reverie` stays fast.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .errors import ReverieError  # noqa: E402

# public name -> module that defines it (loaded on first access)
_LAZY = {
    "load_net": "reverie.nets",
    "classify": "reverie.nets",
    "load_image": "reverie.io",
    "save_image": "reverie.io",
    "dream": "reverie.deepdream",
    "DreamConfig": "reverie.deepdream",
    "visualize": "reverie.featurevis",
    "VisualizeConfig": "reverie.featurevis",
    "build_gallery": "reverie.gallery",
    "train_words": "reverie.words",
    "WordsConfig": "reverie.words",
    "load_vectors": "reverie.words",
    "save_vectors": "reverie.words",
    "CharLMConfig": "reverie.charlm",
    "train_charlm": "reverie.charlm",
    "load_charlm": "reverie.charlm",
    "sample_text": "reverie.charlm",
    "NGramLM": "reverie.ngram",
    "train_ngram": "reverie.ngram",
    "ProbeConfig": "reverie.sentiment",
    "fit_sentiment": "reverie.sentiment",
    "generate_clamped": "reverie.sentiment",
    "perceive": "reverie.perception_engines",
    "PerceiveConfig": "reverie.perception_engines",
    "Perception": "reverie.perception_engines",
    "Drawing": "reverie.draw",
    "load_svg": "reverie.draw",
    "render_png": "reverie.draw",
    "soft_render": "reverie.draw",
    "style_transfer": "reverie.style",
    "texture": "reverie.style",
    "StyleConfig": "reverie.style",
    "audio_style": "reverie.audio_synthesis",
    "audio_texture": "reverie.audio_synthesis",
    "AudioStyleConfig": "reverie.audio_synthesis",
    "VectorSet": "reverie.analogy",
    "Codec": "reverie.analogy",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reverie' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["ReverieError", "__version__", *_LAZY]
