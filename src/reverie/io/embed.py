"""Settings that travel with the picture: a sidecar record inside the output file.

- PNG: an iTXt chunk with keyword `reverie` (what Pillow reads as `im.text["reverie"]`),
  inserted before IEND so the pixels' bytes are untouched; read back by walking the chunks
  (lengths and CRCs checked), so a truncated file or a PNG from elsewhere is a clear error.
- SVG: a `<metadata id="reverie">` element holding the JSON.

The record embedded is what `rerun` needs and nothing that changes from run to run
(no timings, environment, notes or output names), so a rerun writes the same bytes.
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

from reverie.core.errors import ReverieError
from reverie.io.files import atomic_path

KEYWORD = b"reverie"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EMBEDDED_KEYS = ("schema", "reverie_version", "mechanism", "inputs", "config", "resolved",
                 "deterministic")
SUFFIXES = (".png", ".svg")


def embedded(record: dict) -> dict:
    """The part of a sidecar record that goes inside the file."""
    return {k: record[k] for k in EMBEDDED_KEYS if k in record}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _chunks(data: bytes, name: str):
    """(kind, payload) for each chunk of a PNG's bytes; raises on anything that is not one."""
    if not data.startswith(PNG_SIGNATURE):
        raise ReverieError(f"{name} is not a PNG file; give a PNG Reverie wrote or its .json sidecar")
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise ReverieError(f"{name} is truncated (it ends before its IEND chunk); "
                               f"copy the whole file again")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ReverieError(f"{name} is truncated (its {kind.decode('latin-1')} chunk is cut "
                               f"short); copy the whole file again")
        payload = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[end - 4:end])
        if crc != zlib.crc32(kind + payload):
            raise ReverieError(f"{name} is damaged (the {kind.decode('latin-1')} chunk fails its "
                               f"checksum); copy the whole file again")
        yield kind, payload, pos
        if kind == b"IEND":
            return
        pos = end


def png_with_record(data: bytes, record: dict, name: str = "PNG") -> bytes:
    """The PNG's bytes with `record` in an iTXt chunk (any earlier one replaced)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")
    itxt = _chunk(b"iTXt", KEYWORD + b"\0\0\0" + b"\0" + b"\0" + text)
    out = bytearray(data[:len(PNG_SIGNATURE)])
    for kind, payload, _ in _chunks(data, name):
        if kind == b"iTXt" and payload.startswith(KEYWORD + b"\0"):
            continue
        if kind == b"IEND":
            out += itxt
        out += _chunk(kind, payload)
    return bytes(out)


def _png_record(data: bytes, name: str) -> dict | None:
    for kind, payload, _ in _chunks(data, name):
        if kind == b"iTXt" and payload.startswith(KEYWORD + b"\0"):
            rest = payload[len(KEYWORD) + 1:]
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            if compressed:
                text = zlib.decompress(text)
            return json.loads(text.decode("utf-8"))
    return None


def svg_with_record(text: str, record: dict) -> str:
    blob = escape(json.dumps(record, sort_keys=True, separators=(",", ":")))
    start = text.find("<svg")
    close = text.find(">", start) if start >= 0 else -1
    if close < 0:
        return text
    return f'{text[:close + 1]}\n<metadata id="reverie">{blob}</metadata>{text[close + 1:]}'


def _svg_record(text: str) -> dict | None:
    import html
    start = text.find('<metadata id="reverie">')
    if start < 0:
        return None
    start += len('<metadata id="reverie">')
    end = text.find("</metadata>", start)
    return json.loads(html.unescape(text[start:end]))


def embed(path: str | os.PathLike, record: dict) -> bool:
    """Put `record` (its embedded part) inside the file at `path`, atomically, where the
    format has a place for it. True if it did."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES or not path.is_file():
        return False
    small = embedded(record)
    if suffix == ".png":
        data = path.read_bytes()
        if not data.startswith(PNG_SIGNATURE):
            return False
        new = png_with_record(data, small, str(path))
        with atomic_path(path) as tmp:
            tmp.write_bytes(new)
    else:
        text = path.read_text(encoding="utf-8")
        with atomic_path(path) as tmp:
            tmp.write_text(svg_with_record(text, small), encoding="utf-8")
    return True


def is_embedding(path: str | os.PathLike) -> bool:
    """Whether a path names a file that may carry a record (rather than a .json sidecar)."""
    path = Path(path)
    if path.suffix.lower() in SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            return f.read(8) == PNG_SIGNATURE
    except OSError:
        return False


def read_record(path: str | os.PathLike, data: bytes | None = None) -> dict:
    """The record inside a PNG or SVG Reverie wrote; a one-line ReverieError otherwise."""
    path = Path(path)
    name = str(path)
    if data is None:
        if not path.is_file():
            raise ReverieError(f"file not found: {path}; give a picture Reverie wrote or its .json sidecar")
        data = path.read_bytes()
    if not data:
        raise ReverieError(f"{name} is an empty file; give a picture Reverie wrote")
    if data.startswith(PNG_SIGNATURE):
        try:
            record = _png_record(data, name)
        except ReverieError:
            raise
        except (ValueError, IndexError, zlib.error):
            raise ReverieError(f"{name} has a damaged Reverie settings chunk; use its .json sidecar") from None
    elif path.suffix.lower() == ".svg" or data.lstrip()[:5] in (b"<?xml", b"<svg "):
        try:
            record = _svg_record(data.decode("utf-8"))
        except ReverieError:
            raise
        except (ValueError, UnicodeDecodeError):
            raise ReverieError(f"{name} has damaged Reverie settings; use its .json sidecar") from None
    else:
        raise ReverieError(f"{name} is not a PNG or SVG; give a picture Reverie wrote or its .json sidecar")
    if not isinstance(record, dict) or "mechanism" not in record:
        raise ReverieError(f"{name} carries no Reverie settings (a picture from elsewhere?); "
                           f"give a picture Reverie wrote or its .json sidecar")
    return record
