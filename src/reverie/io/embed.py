"""Settings that travel with the picture: a sidecar record inside the output file.

- PNG: an iTXt chunk with keyword `reverie` (what Pillow reads as `im.text["reverie"]`),
  inserted before IEND so the pixels' bytes are untouched; read back by walking the chunks
  (lengths and CRCs checked), so a truncated file or a PNG from elsewhere is a clear error.
- SVG: a `<metadata id="reverie">` element holding the JSON.
- WAV: a LIST/INFO chunk whose ICMT (comment) is `reverie ` and the JSON, after the audio.
- MIDI: a text meta-event (`reverie ` and the JSON) at the start of the first track.
- MP4: the comment tag (`reverie ` and the JSON), put there by remuxing with imageio-ffmpeg's
  ffmpeg (streams copied, not re-encoded) and read back by the same ffmpeg; the top-level
  boxes are walked first, so a truncated file is named as such.

The record embedded is what `rerun` needs and nothing that changes from run to run
(no timings, environment, notes or output names), so a rerun writes the same bytes.
"""
from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

from reverie.core.errors import ReverieError
from reverie.io.files import atomic_path

KEYWORD = b"reverie"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EMBEDDED_KEYS = ("schema", "reverie_version", "mechanism", "inputs", "config", "resolved",
                 "deterministic")
SUFFIXES = (".png", ".svg", ".wav", ".mid", ".midi", ".mp4")
PREFIX = b"reverie "  # before the JSON in a WAV, MIDI or MP4 comment


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


def _compact(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _riff_chunks(data: bytes, name: str):
    """(kind, payload, start, end) of each chunk of a RIFF/WAVE file."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ReverieError(f"{name} is not a WAV file Reverie can read settings from")
    pos = 12
    while pos + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[pos:pos + 8])
        end = pos + 8 + length + (length & 1)
        if pos + 8 + length > len(data):
            raise ReverieError(f"{name} is truncated (its {kind.decode('latin-1')} chunk is cut "
                               f"short); copy the whole file again")
        yield kind, data[pos + 8:pos + 8 + length], pos, min(end, len(data))
        pos = end


def _ours(kind: bytes, payload: bytes) -> bytes | None:
    """The JSON in a LIST/INFO chunk with a `reverie ` comment, or None."""
    if kind != b"LIST" or payload[:4] != b"INFO":
        return None
    pos = 4
    while pos + 8 <= len(payload):
        sub, length = struct.unpack("<4sI", payload[pos:pos + 8])
        text = payload[pos + 8:pos + 8 + length].rstrip(b"\0")
        if sub == b"ICMT" and text.startswith(PREFIX):
            return text[len(PREFIX):]
        pos += 8 + length + (length & 1)
    return None


def wav_with_record(data: bytes, record: dict, name: str = "WAV") -> bytes:
    text = PREFIX + _compact(record) + b"\0"
    sub = b"ICMT" + struct.pack("<I", len(text)) + text + (b"\0" if len(text) & 1 else b"")
    payload = b"INFO" + sub
    body = b"".join(data[start:end] for kind, p, start, end in _riff_chunks(data, name)
                    if _ours(kind, p) is None)
    body += b"LIST" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _read_varlen(data: bytes, pos: int) -> tuple[int, int]:
    n = 0
    for _ in range(4):
        byte = data[pos]
        pos += 1
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return n, pos
    raise ValueError("a variable-length number over 4 bytes")


def _midi_first_track(data: bytes, name: str) -> tuple[int, int]:
    """(start, end) of the first MTrk's events."""
    if data[:4] != b"MThd":
        raise ReverieError(f"{name} is not a MIDI file Reverie can read settings from")
    pos = 8 + struct.unpack(">I", data[4:8])[0]
    while pos + 8 <= len(data):
        kind, length = struct.unpack(">4sI", data[pos:pos + 8])
        if pos + 8 + length > len(data):
            raise ReverieError(f"{name} is truncated (its {kind.decode('latin-1')} chunk is cut "
                               f"short); copy the whole file again")
        if kind == b"MTrk":
            return pos + 8, pos + 8 + length
        pos += 8 + length
    raise ReverieError(f"{name} is truncated (it has no track); copy the whole file again")


def _midi_ours(data: bytes, start: int) -> tuple[bytes, int] | None:
    """(JSON, end of the event) of a `reverie ` text event opening the track, or None."""
    if data[start:start + 3] != b"\0\xff\x01":
        return None
    length, pos = _read_varlen(data, start + 3)
    text = data[pos:pos + length]
    return (text[len(PREFIX):], pos + length) if text.startswith(PREFIX) else None


def midi_with_record(data: bytes, record: dict, name: str = "MIDI") -> bytes:
    start, end = _midi_first_track(data, name)
    ours = _midi_ours(data, start)
    events = data[ours[1] if ours else start:end]
    text = PREFIX + _compact(record)
    events = b"\0\xff\x01" + _varlen(len(text)) + text + events
    return data[:start - 4] + struct.pack(">I", len(events)) + events + data[end:]


def _is_mp4(head: bytes) -> bool:
    return head[4:8] == b"ftyp"  # an ISO media file opens with its ftyp box


def _mp4_check(path: Path, name: str) -> None:
    """Walk an MP4's top-level boxes: one that runs past the end means the file was cut."""
    size = path.stat().st_size
    pos = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                raise ReverieError(f"{name} is truncated (it ends inside a box header); copy the "
                                   f"whole file again")
            length, kind = struct.unpack(">I4s", head[:8])
            if length == 1 and len(head) == 16:  # a 64-bit size follows
                length, = struct.unpack(">Q", head[8:])
            elif length == 0:  # the last box runs to the end
                length = size - pos
            if length < 8 or pos + length > size:
                raise ReverieError(f"{name} is truncated (its {kind.decode('latin-1')} box is cut "
                                   f"short); copy the whole file again")
            pos += length


def mp4_with_record(path: Path, record: dict, out: Path) -> None:
    """`path` remuxed into `out` (every stream copied as it is) with `record` as its comment,
    replacing any earlier one. The record goes in an ffmetadata file, not on the command line,
    so no record is too long for it."""
    from reverie.io.animation import ffmpeg_exe
    text = (PREFIX + _compact(record)).decode("utf-8")
    escaped = re.sub(r"([=;#\\\n])", r"\\\1", text)  # ffmetadata's escapes
    with tempfile.TemporaryDirectory(prefix="reverie-embed-") as folder:
        meta = Path(folder) / "meta.txt"
        meta.write_text(f";FFMETADATA1\ncomment={escaped}\n", encoding="utf-8")
        done = subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-f",
                               "ffmetadata", "-i", str(meta), "-map", "0", "-map_metadata", "1",
                               "-c", "copy", "-f", "mp4", str(out)], capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["ffmpeg failed"]
        raise ReverieError(f"could not add the settings to {path.name} ({lines[-1][:160]})")


def _mp4_record(path: Path, name: str) -> dict | None:
    from reverie.io.animation import ffmpeg_exe
    _mp4_check(path, name)
    done = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True)
    if done.returncode != 0:
        raise ReverieError(f"{name} is not a video ffmpeg can read; give an MP4 Reverie wrote "
                           f"or its .json sidecar")
    text = done.stdout.decode("utf-8", "replace")
    for value in re.findall(r"^comment=((?:[^\\\n]|\\.)*)$", text, re.M | re.S):
        value = re.sub(r"\\(.)", r"\1", value, flags=re.S).encode("utf-8")
        if value.startswith(PREFIX):
            try:
                return json.loads(value[len(PREFIX):].decode("utf-8"))
            except ValueError:
                raise ReverieError(f"{name} has damaged Reverie settings; use its .json "
                                   f"sidecar") from None
    return None


def embed(path: str | os.PathLike, record: dict) -> bool:
    """Put `record` (its embedded part) inside the file at `path`, atomically, where the
    format has a place for it. True if it did."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES or not path.is_file():
        return False
    small = embedded(record)
    if suffix == ".mp4":
        with open(path, "rb") as f:
            if not _is_mp4(f.read(8)):
                return False
        try:
            with atomic_path(path) as tmp:
                mp4_with_record(path, small, tmp)
        except ReverieError:
            return False  # streams an MP4 cannot hold as they are: the .json has the record
        return True
    if suffix in (".wav", ".mid", ".midi"):
        data = path.read_bytes()
        writer = wav_with_record if suffix == ".wav" else midi_with_record
        try:
            new = writer(data, small, str(path))
        except ReverieError:
            return False  # a format this cannot extend (RF64, an odd MIDI): the .json has it
        with atomic_path(path) as tmp:
            tmp.write_bytes(new)
        return True
    if suffix == ".png":
        data = path.read_bytes()
        if not data.startswith(PNG_SIGNATURE):
            return False
        try:
            new = png_with_record(data, small, str(path))
        except ReverieError:
            return False  # a PNG this cannot walk: the .json beside it has the record
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
            head = f.read(8)
        return head == PNG_SIGNATURE or head[:4] in (b"RIFF", b"MThd") or _is_mp4(head)
    except OSError:
        return False


def read_record(path: str | os.PathLike, data: bytes | None = None) -> dict:
    """The record inside a PNG, SVG, WAV, MIDI or MP4 file Reverie wrote (at `path`, or its
    bytes `data` with `path` its name); a one-line ReverieError otherwise."""
    path = Path(path)
    name = str(path)
    if data is None:
        if not path.is_file():
            raise ReverieError(f"file not found: {path}; give a picture Reverie wrote or its .json sidecar")
        with open(path, "rb") as f:
            head = f.read(8)
        if _is_mp4(head):  # ffmpeg reads a video from its file, not from memory
            return _ours_or_refuse(_mp4_record(path, name), name)
        data = path.read_bytes()
    if not data:
        raise ReverieError(f"{name} is an empty file; give a picture Reverie wrote")
    if _is_mp4(data[:8]):  # a video's bytes (a studio drop): ffmpeg wants a file
        with tempfile.TemporaryDirectory(prefix="reverie-open-") as folder:
            copy = Path(folder) / "dropped.mp4"
            copy.write_bytes(data)
            return _ours_or_refuse(_mp4_record(copy, name), name)
    if data.startswith(PNG_SIGNATURE):
        try:
            record = _png_record(data, name)
        except ReverieError:
            raise
        except (ValueError, IndexError, zlib.error):
            raise ReverieError(f"{name} has a damaged Reverie settings chunk; use its .json sidecar") from None
    elif data[:4] in (b"RIFF", b"MThd"):
        try:
            if data[:4] == b"RIFF":
                text = next((t for k, p, _, _ in _riff_chunks(data, name)
                             if (t := _ours(k, p)) is not None), None)
            else:
                found = _midi_ours(data, _midi_first_track(data, name)[0])
                text = found[0] if found else None
            record = json.loads(text.decode("utf-8")) if text is not None else None
        except ReverieError:
            raise
        except (ValueError, IndexError, struct.error):
            raise ReverieError(f"{name} has damaged Reverie settings; use its .json sidecar") from None
    elif path.suffix.lower() == ".svg" or data.lstrip()[:5] in (b"<?xml", b"<svg "):
        try:
            record = _svg_record(data.decode("utf-8"))
        except ReverieError:
            raise
        except (ValueError, UnicodeDecodeError):
            raise ReverieError(f"{name} has damaged Reverie settings; use its .json sidecar") from None
    else:
        raise ReverieError(f"{name} is not a PNG, SVG, WAV, MIDI or MP4 file; give an output "
                           f"Reverie wrote or its .json sidecar")
    return _ours_or_refuse(record, name)


def _ours_or_refuse(record, name: str) -> dict:
    if not isinstance(record, dict) or "mechanism" not in record:
        raise ReverieError(f"{name} carries no Reverie settings (a file from elsewhere?); "
                           f"give an output Reverie wrote or its .json sidecar")
    return record
