"""The sidecar: OUT.json beside every output, one versioned schema for every mechanism.

It holds what is needed to make the output again (`reverie rerun OUT.json`): the
mechanism, its inputs with their sha256, the full Config with every `auto` resolved to what
it became, and the library versions and CPU features that change results; and what was
measured (figures, timings, notes). The schema ships as `sidecar.schema.json`.
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from reverie.core.errors import ReverieError
from reverie.io.files import jsonable, save_json

SCHEMA = "reverie.sidecar/1"
SCHEMA_FILE = Path(__file__).with_name("sidecar.schema.json")


def sidecar_path(out: str | os.PathLike) -> Path:
    """OUT.png -> OUT.json, unless OUT.json already records another output (a converted
    file beside its source: lee.kv's lee.json stays, lee.bin gets lee.bin.json)."""
    out = Path(out)
    plain = out.with_suffix(".json")
    if out.suffix.lower() == ".json":
        return out.with_name(out.name + ".sidecar.json")
    if plain.exists():
        try:
            data = json.loads(plain.read_text())
            names = set(_output_names(data))
        except (OSError, ValueError):
            names = set()
        if names and out.name not in names:
            return out.with_name(out.name + ".json")
    return plain


def _output_names(data: dict) -> list[str]:
    outs = data.get("outputs") or {}
    names = list(outs.values()) if isinstance(outs, dict) else list(outs)
    if data.get("output"):
        names.append(data["output"])
    return [str(n) for n in names]


def environment() -> dict:
    """What besides the config can change the bytes of an output."""
    import numpy
    import torch

    from reverie.core.device import fast_bf16
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "platform": platform.platform(),
            "machine": platform.machine(), "threads": torch.get_num_threads(),
            "cpu_bf16": fast_bf16(torch.device("cpu")),
            "cuda": torch.version.cuda if torch.cuda.is_available() else None}


def build(result, outputs: dict[str, Path]) -> dict:
    """The sidecar record of a Result whose outputs were written to `outputs`."""
    import reverie
    from reverie.core.config import fields

    config = result.config.to_dict() if result.config is not None else {}
    for info in fields(result.config) if result.config is not None else []:
        if info.resolved and info.name in result.resolved:
            config[info.name] = result.resolved[info.name]
    return {
        "schema": SCHEMA,
        "reverie_version": reverie.__version__,
        "mechanism": result.mechanism,
        "inputs": result.inputs,
        "config": config,
        "resolved": result.resolved,
        "figures": jsonable(result.figures, 6),
        "timings": jsonable(result.timings, 4),
        "notes": list(result.notes),
        "outputs": {k: p.name for k, p in outputs.items()},
        "deterministic": bool(result.deterministic),
        "environment": environment(),
    }


def write(result, outputs: dict[str, Path], main: Path) -> Path:
    """OUT.json beside the outputs, and the settings inside every PNG, SVG, WAV, MIDI
    and MP4 file among them (`reverie rerun picture.png` then works from the picture alone)."""
    from reverie.io.embed import embed
    record = build(result, outputs)
    for out in outputs.values():
        embed(out, record)
    path = sidecar_path(main)
    save_json(record, path)
    return path


def write_sidecar(out: str | os.PathLike, data: dict) -> Path:
    """A plain record beside an output that is not a mechanism's (not for rerun)."""
    import reverie
    record = {"reverie_version": reverie.__version__, "output": str(Path(out).name), **data}
    return save_json(record, sidecar_path(out))


def read(path: str | os.PathLike) -> dict:
    """A sidecar (or the record inside a PNG, SVG, WAV, MIDI or MP4 file Reverie wrote), checked
    to be one this version can rerun."""
    from reverie.io import embed
    path = Path(path)
    if path.is_file() and embed.is_embedding(path):
        data = embed.read_record(path)
        return check_schema(path, data)
    if not path.is_file():
        raise ReverieError(f"sidecar not found: {path}; give the .json written beside an output")
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ReverieError(f"{path} is not valid JSON ({exc}); give a sidecar Reverie wrote") from None
    if not isinstance(data, dict) or "mechanism" not in data:
        raise ReverieError(f"{path} is not a Reverie sidecar (no 'mechanism'); give the .json "
                           f"written beside an output")
    return check_schema(path, data)


def check_schema(path: Path, data: dict) -> dict:
    if data.get("schema") != SCHEMA:
        raise ReverieError(f"{path} has sidecar schema {data.get('schema')!r}, this version "
                           f"reads {SCHEMA!r}; rerun it with the reverie version that wrote it")
    return data


def validate(data: dict) -> None:
    """Check a record against the shipped JSON Schema (needs the jsonschema package)."""
    import jsonschema
    jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))
