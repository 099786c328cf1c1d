"""Reverie: the creative mechanisms of deep neural networks, offline on a laptop CPU.

The library is the product; the `reverie` command and the studio are thin layers over
these functions. Heavy modules load on first use, so `import reverie` stays fast.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from reverie.core.errors import ReverieError  # noqa: E402

# public name -> module that defines it (loaded on first access)
_LAZY = {
    "load_net": "reverie.nets.zoo",
    "classify": "reverie.nets.zoo",
    "load_image": "reverie.io.images",
    "save_image": "reverie.io.images",
    "dream": "reverie.image.deepdream",
    "DreamConfig": "reverie.image.deepdream",
    "visualize": "reverie.image.featurevis",
    "VisualizeConfig": "reverie.image.featurevis",
    "build_gallery": "reverie.gallery",
    "train_words": "reverie.words.train",
    "WordsConfig": "reverie.words.train",
    "load_vectors": "reverie.words.train",
    "save_vectors": "reverie.words.train",
    "CharLMConfig": "reverie.text.charlm",
    "train_charlm": "reverie.text.charlm",
    "load_charlm": "reverie.text.charlm",
    "sample_text": "reverie.text.charlm",
    "NGramLM": "reverie.text.ngram",
    "train_ngram": "reverie.text.ngram",
    "ProbeConfig": "reverie.text.sentiment",
    "fit_sentiment": "reverie.text.sentiment",
    "generate_clamped": "reverie.text.sentiment",
    "perceive": "reverie.draw.engines",
    "PerceiveConfig": "reverie.draw.engines",
    "Perception": "reverie.draw.engines",
    "Drawing": "reverie.draw.drawing",
    "load_svg": "reverie.draw.drawing",
    "render_png": "reverie.draw.drawing",
    "soft_render": "reverie.draw.drawing",
    "style_transfer": "reverie.image.style",
    "texture": "reverie.image.style",
    "StyleConfig": "reverie.image.style",
    "audio_style": "reverie.audio.style",
    "audio_texture": "reverie.audio.style",
    "AudioStyleConfig": "reverie.audio.style",
    "VectorSet": "reverie.latent.analogy",
    "Codec": "reverie.latent.analogy",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reverie' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["ReverieError", "__version__", *_LAZY]
