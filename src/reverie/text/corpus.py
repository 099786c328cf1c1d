"""A text corpus for the language models: files, folders or `builtin:NAME` read as one
text (`read_corpus`), and the vocabulary (`Vocab`: characters, or raw bytes with
`bytes_mode`). The char LM and the n-gram both read their corpus here.
"""
from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from reverie.core.errors import ReverieError


def _sources(corpus) -> list[str]:
    if corpus is None or (isinstance(corpus, (list, tuple)) and not corpus):
        raise ReverieError("no corpus given; name text files, folders or builtin:shakespeare")
    return [os.fspath(c) for c in (corpus if isinstance(corpus, (list, tuple)) else [corpus])]


def corpus_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Files named, and every non-hidden file under folders named (sorted)."""
    files: list[Path] = []
    for p in map(Path, _sources(paths)):
        if not p.exists():
            raise ReverieError(f"corpus not found: {p}; check the path")
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise ReverieError(f"corpus folder {p} has no files; put text files in it")
            files.extend(found)
        else:
            files.append(p)
    return files


def _builtin_bytes(name: str) -> bytes:
    """The text of a `builtin:NAME` set (tiny-shakespeare, or a corpus set's files)."""
    from reverie.io import datasets
    ds = datasets.get(name)
    if ds.kind == "text":
        return datasets.read_text(name).encode("utf-8")
    if ds.kind == "labelled":
        raise ReverieError(f"builtin:{ds.name} is a labelled set, not a corpus; write its texts "
                           f"as one with `reverie sentiment corpus`, then train on that file")
    # running text (GCIDE, the KJV, Lee): read as `words train` reads it, markup removed
    from reverie.words.corpus import resolve_sources, source_paragraphs
    source = resolve_sources([f"builtin:{ds.name}"])[0]
    return "\n\n".join(source_paragraphs(source)).encode("utf-8")


def decode_text(raw: bytes, where: str) -> str:
    if b"\x00" in raw[:1 << 20]:
        raise ReverieError(f"{where} looks binary (it holds NUL bytes); train on raw bytes "
                           f"(bytes_mode), or give a text file")
    try:
        return raw.decode("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as exc:
        raise ReverieError(f"{where} is not UTF-8 text (byte {exc.start}); train on raw bytes "
                           f"(bytes_mode), or convert it to UTF-8") from None


def read_corpus(corpus, bytes_mode: bool = False) -> str | bytes:
    """The text of the corpus concatenated: files, folders and `builtin:NAME`, as a str,
    or bytes with `bytes_mode`. A file that is not UTF-8 text is refused unless `bytes_mode`."""
    parts = []
    for source in _sources(corpus):
        if source.startswith("builtin:"):
            raws = [(_builtin_bytes(source), source)]
        else:
            raws = [(f.read_bytes(), str(f)) for f in corpus_files([source])]
        for raw, where in raws:
            parts.append(raw if bytes_mode else decode_text(raw, where))
    data = b"".join(parts) if bytes_mode else "".join(parts)
    if len(data) == 0:
        raise ReverieError("the corpus is empty; give a text file with some text in it")
    return data


class Vocab:
    """Characters <-> ids. `chars` is None in bytes mode (ids are the 256 byte values)."""

    def __init__(self, chars: Optional[Sequence[str]] = None):
        self.chars = list(chars) if chars is not None else None
        self.stoi = {c: i for i, c in enumerate(self.chars)} if self.chars is not None else None

    @classmethod
    def from_data(cls, data: str | bytes) -> "Vocab":
        return cls(None) if isinstance(data, bytes) else cls(sorted(set(data)))

    @property
    def bytes_mode(self) -> bool:
        return self.chars is None

    def __len__(self) -> int:
        return 256 if self.chars is None else len(self.chars)

    def encode(self, data: str | bytes, what: str = "text",
               fix: str = "remove them, or train on raw bytes (bytes_mode)") -> torch.Tensor:
        if self.chars is None:
            raw = data.encode("utf-8") if isinstance(data, str) else data
            return torch.frombuffer(bytearray(raw), dtype=torch.uint8).long() if raw else torch.zeros(0, dtype=torch.long)
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="replace")
        try:
            return torch.tensor([self.stoi[c] for c in data], dtype=torch.long)
        except KeyError:
            missing = sorted({c for c in data if c not in self.stoi})
            shown = " ".join(repr(c) for c in missing[:10])
            raise ReverieError(f"the {what} has {len(missing)} character(s) the model never saw "
                               f"({shown}); {fix}") from None

    def decode(self, ids: Sequence[int]) -> str:
        if self.chars is None:
            return bytes(int(i) for i in ids).decode("utf-8", errors="replace")
        return "".join(self.chars[int(i)] for i in ids)

    def decoder(self) -> Callable[[int], str]:
        """An incremental decoder: feed one id at a time, get the text completed so far."""
        if self.chars is None:
            dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
            return lambda i: dec.decode(bytes([int(i)]))
        return lambda i: self.chars[int(i)]
