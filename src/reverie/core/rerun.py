"""Make an output again from its sidecar alone: the same mechanism, inputs (checked by
sha256) and Config, optionally with some fields changed."""
from __future__ import annotations

import inspect
import os
from pathlib import Path

from reverie.core import inputs as input_records
from reverie.core import registry, sidecar
from reverie.core.config import fields, parse_value
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent


def default_out(original: Path) -> Path:
    """dream.png -> dream-rerun.png (never the original: nothing is lost)."""
    return original.with_name(f"{original.stem}-rerun{original.suffix}")


def rerun(path: str | os.PathLike, out: str | os.PathLike | None = None,
          changes: dict[str, str] | None = None, progress: Progress = silent):
    """Returns (result, paths). `changes` are field=value texts, parsed by the field's type."""
    path = Path(path)
    record = sidecar.read(path)
    if out is None:
        registry.get(record["mechanism"])  # an unknown mechanism is the first thing to say
        outputs = record.get("outputs") or {}
        main = next(iter(outputs.values()), None)
        if main is None and "outputs" not in record:  # the record inside a picture
            main = path.name
        if main is None:
            raise ReverieError(f"{path} names no output; give an output path")
        out = default_out(path.parent / main)
    return run_record(record, out, changes, progress)


def config_of(mech: registry.Mechanism, recorded: dict, changes: dict[str, str] | None = None,
              written: bool = True):
    """The Config a record holds, with `changes` (field=value texts) parsed and applied;
    `written=False` for a config written by hand (its missing fields take defaults)."""
    config_cls = mech.config_class()
    config = config_cls.from_dict(recorded, recorded=written)
    if changes:
        infos = {f.name: f for f in fields(config_cls)}
        parsed = {}
        for name, text in changes.items():
            name = config_cls.ALIASES.get(name, name)  # a renamed field's old name
            if name not in infos:
                import difflib
                close = difflib.get_close_matches(name, infos, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ReverieError(f"{mech.name} has no field {name!r}{hint}; its fields: "
                                   f"{', '.join(infos)}")
            parsed[name] = parse_value(infos[name], text)
        config = config.replace(**parsed)
    return config


def input_args(mech: registry.Mechanism, recorded: dict) -> dict:
    """The keyword arguments recorded inputs give back, each checked by its sha256."""
    args = {}
    for inp in mech.inputs:
        rec = recorded.get(inp.name)
        if rec is None:
            if inp.required:
                raise ReverieError(f"the sidecar does not record input {inp.name!r}; it was "
                                   f"written by another version, rerun it with that one")
            continue
        if rec == {"source": None} and not inp.required:
            continue  # an optional input that was not given
        args[inp.name] = input_records.value_of(inp.name, rec)
    named = {inp.name for inp in mech.inputs}
    for name, rec in recorded.items():  # files a field named (weights, an init image)
        if name not in named and rec.get("sha256"):
            input_records.value_of(name, rec)
    return args


def run_record(record: dict, out: str | os.PathLike, changes: dict[str, str] | None = None,
               progress: Progress = silent):
    """Run what a record names (a sidecar's `mechanism`, `config` and `inputs`; a batch
    job has the same keys, and a sidecar copied as a job its schema) and save it to `out`.
    Returns (result, paths)."""
    mech = registry.get(record["mechanism"])
    config = config_of(mech, record["config"], changes, written="schema" in record)
    args = input_args(mech, record["inputs"])
    mech.check_output(config, Path(out))
    function = mech.load()
    if "out" in inspect.signature(function).parameters:  # a trainer or a batch writes as it goes
        args["out"] = Path(out)
    result = function(**args, config=config, progress=progress)
    return result, result.saved or result.save(out)
