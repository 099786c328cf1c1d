"""Word-vector files: gensim's .kv, word2vec's text and binary formats and Reverie's
checkpoint (.pt, the form a zoo model is stored in), read and written.

Every way a vectors file can be wrong (missing, empty, another format than its name says,
a short row, NaN) is a ReverieError that says what to do. Writes are atomic. `.kv` files
are Python pickles: load only files you trust (word2vec text/binary and the checkpoint,
read with `weights_only`, are plain data). `model:NAME` reads vectors from the zoo.
"""
from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from reverie.core.errors import ReverieError
from reverie.io.files import atomic_path, save_json
from reverie.latent.analogy import VectorSet

FORMATS = ("kv", "text", "binary", "checkpoint")
SUFFIX_FORMAT = {".kv": "kv", ".model": "kv", ".txt": "text", ".vec": "text", ".w2v": "text",
                 ".bin": "binary", ".pt": "checkpoint"}
# The checkpoint: {"format", "format_version", "vectors": (V, D) float tensor, "words" in
# the vocabulary's order (most frequent first), "counts" (when known), "config"}.
FORMAT = "reverie-word-vectors"
FORMAT_VERSION = 1
_FIX = ("train vectors with `reverie words train CORPUS --out NAME.pt` or give a .kv/.txt/.bin "
        "path")


def _suffixes(path: str | os.PathLike) -> list[str]:
    """The suffixes that say the format (a trailing .gz is compression, not format)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    return suffixes[:-1] if suffixes and suffixes[-1] == ".gz" else suffixes


def format_for(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format to write `path` in: `fmt` if given, else from the suffix."""
    if fmt:
        if fmt not in FORMATS:
            raise ReverieError(f"unknown vectors format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    suffixes = _suffixes(path)
    found = SUFFIX_FORMAT.get(suffixes[-1] if suffixes else "")
    if found is None:
        raise ReverieError(f"cannot tell the vectors format of {path} from its suffix; name it "
                           f".kv (gensim), .txt/.vec (word2vec text), .bin (word2vec binary) or "
                           f".pt (Reverie checkpoint), or give the format (kv, text, binary or "
                           f"checkpoint)")
    if found == "checkpoint" and len(_suffixes(path)) < len(Path(path).suffixes):
        raise ReverieError(f"{path}: a .pt checkpoint is compressed already; name it "
                           f"{Path(path).stem}")
    return found


def to_checkpoint(vectors: Any, config: dict | None = None) -> dict:
    """KeyedVectors as a checkpoint dict of a tensor and plain data (what the zoo stores);
    `config`: the training settings it records."""
    import torch

    kv = as_vectors(vectors)
    ckpt = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "vectors": torch.from_numpy(np.asarray(kv.vectors, dtype=np.float32).copy()),
            "words": [str(w) for w in kv.index_to_key], "config": dict(config or {})}
    counts = kv.expandos.get("count")
    if counts is not None:
        ckpt["counts"] = [int(c) for c in counts]
    return ckpt


def from_checkpoint(ckpt: dict, what: str = "the checkpoint") -> Any:
    """The KeyedVectors a `to_checkpoint` dict holds (words in their stored order)."""
    import torch
    from gensim.models import KeyedVectors

    vectors, words = ckpt.get("vectors"), ckpt.get("words")
    counts = ckpt.get("counts")
    if (not isinstance(vectors, torch.Tensor) or vectors.dim() != 2
            or not isinstance(words, list) or len(words) != vectors.shape[0]
            or not all(isinstance(w, str) for w in words)
            or (counts is not None and len(counts) != len(words))):
        raise ReverieError(f"{what} is damaged (its vectors, words and counts do not match); "
                           f"{_FIX}")
    kv = KeyedVectors(vector_size=int(vectors.shape[1]))
    kv.add_vectors(words, vectors.float().numpy())
    if counts is not None:  # add_vectors' `extras` fails in gensim 4 (iterates a dict as pairs)
        kv.allocate_vecattrs(["count"], [np.int64])
        kv.expandos["count"][:] = np.asarray(counts, dtype=np.int64)
    return kv


def save_vectors(vectors: Any, path: str | os.PathLike, fmt: str | None = None,
                 config: dict | None = None) -> Path:
    """Write KeyedVectors atomically as gensim .kv, word2vec text, word2vec binary or a
    Reverie checkpoint (which also records `config`)."""
    path = Path(path)
    fmt = format_for(path, fmt)
    if fmt == "checkpoint":
        from reverie.io.checkpoints import save_checkpoint
        return save_checkpoint(to_checkpoint(vectors, config), path)
    with atomic_path(path) as tmp:
        if fmt == "kv":
            # gensim logs dates, paths and the platform into the pickle ("lifecycle events"):
            # left out, the same vectors make the same bytes
            events = getattr(vectors, "lifecycle_events", None)
            vectors.lifecycle_events = None
            try:
                with open(tmp, "wb") as f:
                    vectors.save(f)  # one pickle file, no side .npy files
            finally:
                vectors.lifecycle_events = events
        else:
            vectors.save_word2vec_format(str(tmp), binary=(fmt == "binary"))
    return path


def _sniff(path: Path) -> str:
    """Guess a vectors file's format from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:1] == b"\x80":
        return "kv"
    if head[:2] == b"PK":  # torch.save's zip archive
        return "checkpoint"
    first, _, rest = head.partition(b"\n")
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        body = rest[:1024]
        try:
            body.decode("utf-8")
            printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in body) / max(1, len(body))
        except UnicodeDecodeError:
            printable = 0.0
        return "text" if printable > 0.97 else "binary"
    if b"\x00" in head:
        return "unknown"
    return "text-noheader" if len(parts) >= 2 else "unknown"


def load_vectors(path: str | os.PathLike, fmt: str | None = None,
                 expect_dim: int | None = None) -> Any:
    """Load word vectors (gensim .kv or Word2Vec model, word2vec text with or without its
    header line, i.e. GloVe files too, word2vec binary, a Reverie checkpoint or `model:NAME`
    from the zoo) as gensim KeyedVectors."""
    from gensim.models import KeyedVectors

    if str(path).startswith("model:") or fmt == "checkpoint" or (
            not fmt and _suffixes(path)[-1:] == [".pt"]):
        from reverie.io.checkpoints import load_checkpoint
        ckpt = load_checkpoint(path, FORMAT, FORMAT_VERSION, "word vectors", _FIX)
        return _checked(from_checkpoint(ckpt, str(path)), path, expect_dim)
    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"vectors file not found: {path}; train one with `reverie words train` "
                           f"or give a .kv/.txt/.bin path")
    if path.stat().st_size == 0:
        raise ReverieError(f"vectors file {path} is empty; retrain or re-export it")
    sniffed = _sniff(path)
    suffixes = _suffixes(path)
    declared = fmt or (SUFFIX_FORMAT.get(suffixes[-1]) if suffixes else None)
    if declared is None and sniffed == "gzip":
        raise ReverieError(f"cannot tell the format of the compressed {path.name}; name it "
                           f"NAME.txt.gz or NAME.bin.gz, or give the format (text or binary)")
    kind = declared or sniffed
    if sniffed != "gzip" and declared and sniffed != "unknown":
        if declared == "kv" and sniffed != "kv":
            raise ReverieError(f"{path} is not a gensim .kv file (it looks like word2vec "
                               f"{sniffed.replace('-noheader', '')} vectors); rename it .txt/.bin "
                               f"or give its format")
        if sniffed == "checkpoint":
            raise ReverieError(f"{path} is a Reverie checkpoint, not {declared} vectors; name it "
                               f".pt or give the format checkpoint")
        if declared in ("text", "binary") and sniffed == "kv":
            raise ReverieError(f"{path} is a gensim .kv file, not word2vec {declared}; name it "
                               f".kv or give the format kv")
        if declared == "text" and sniffed == "binary":
            raise ReverieError(f"{path} is word2vec binary, not text; name it .bin or give the "
                               f"format binary")
        if declared == "binary" and sniffed.startswith("text"):
            raise ReverieError(f"{path} is word2vec text, not binary; name it .txt or give the "
                               f"format text")
        kind = sniffed if declared == "text" else declared
    if sniffed == "unknown" or kind == "unknown":
        raise ReverieError(f"{path} is not a vectors file reverie can read; give gensim .kv, "
                           f"word2vec text (.txt/.vec) or word2vec binary (.bin)")
    try:
        if kind == "kv":
            obj = KeyedVectors.load(str(path))
            kv = getattr(obj, "wv", obj)
            if not isinstance(kv, KeyedVectors):
                raise ReverieError(f"{path} holds a {type(obj).__name__}, not word vectors; give a "
                                   f"file saved by `reverie words train` or gensim")
        else:
            kv = KeyedVectors.load_word2vec_format(str(path), binary=(kind == "binary"),
                                                   no_header=(kind == "text-noheader"))
    except ReverieError:
        raise
    except (ValueError, IndexError, EOFError, UnicodeDecodeError, OSError, AttributeError,
            ImportError, TypeError, KeyError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        message = "".join(ch for ch in message if ch.isprintable())[:100]
        raise ReverieError(f"{path} is not valid {kind.replace('-noheader', '')} vectors "
                           f"({message}); every line must be a word and the same number of "
                           f"numbers as the header's dimension: re-export the file") from None
    except Exception as exc:  # unpickling garbage raises anything
        raise ReverieError(f"{path} could not be read as {kind} vectors ({type(exc).__name__}); "
                           f"re-export it from the tool that made it") from None
    return _checked(kv, path, expect_dim)


def _checked(kv: Any, path: str | os.PathLike, expect_dim: int | None) -> Any:
    if len(kv) == 0:
        raise ReverieError(f"{path} holds no vectors; retrain or re-export it")
    if not np.isfinite(kv.vectors).all():
        raise ReverieError(f"{path} holds NaN or infinite values; retrain or re-export it")
    if expect_dim is not None and kv.vector_size != expect_dim:
        raise ReverieError(f"{path} has {kv.vector_size}-dimensional vectors, expected {expect_dim}; "
                           f"give vectors of the same dimension")
    return kv


def convert(source: str | os.PathLike, out: str | os.PathLike, from_format: str | None = None,
            to_format: str | None = None, expect_dim: int | None = None) -> dict:
    """Convert a vectors file to another format. A small record of the conversion goes
    beside it (OUT.json, or OUT.bin.json when OUT.json is another output's sidecar, such as
    the training record of lee.kv beside lee.bin: that one is never overwritten)."""
    from reverie.core.inputs import record
    from reverie.core.sidecar import sidecar_path
    import reverie

    fmt = format_for(out, to_format)
    kv = load_vectors(source, fmt=from_format, expect_dim=expect_dim)
    out = save_vectors(kv, out, fmt)
    info = {"format": fmt, "vocabulary": len(kv), "vector_size": int(kv.vector_size)}
    save_json({"reverie_version": reverie.__version__, "command": "words convert",
               "output": out.name, "input": record(os.fspath(source)), **info},
              sidecar_path(out))
    return {"input": str(source), "out": str(out), **info}


def as_vectors(vectors: Any) -> Any:
    """KeyedVectors from KeyedVectors, a Word2Vec model, a TrainResult or a path."""
    if isinstance(vectors, (str, os.PathLike)):
        return load_vectors(vectors)
    from reverie.core.result import Result
    if isinstance(vectors, Result):  # a TrainResult
        return vectors.vectors
    return getattr(vectors, "wv", vectors)


_SETS: "weakref.WeakKeyDictionary[Any, VectorSet]" = weakref.WeakKeyDictionary()


def vector_set(vectors: Any) -> VectorSet:
    """The latent-space arithmetic's view of word vectors (cached per KeyedVectors)."""
    if isinstance(vectors, VectorSet):
        return vectors
    kv = as_vectors(vectors)
    try:
        cached = _SETS.get(kv)
    except TypeError:
        cached = None
    if cached is None or len(cached) != len(kv):
        cached = VectorSet.from_keyed_vectors(kv, kind="word")
        try:
            _SETS[kv] = cached
        except TypeError:
            pass
    return cached


def key(vs: VectorSet, word: str) -> str:
    """The vocabulary's spelling of a word (exact, else lower-case); unknown: an error."""
    return vs.keys[vs.row(word)]
