"""The one shape: Configs, the generated CLI, sidecars, rerun, the registry, file modes."""
import argparse
import dataclasses
import json
import os
import stat
from dataclasses import dataclass

import pytest

from conftest import assert_one_line_error, assert_rerun_identical
from reverie.cli import build_parser
from reverie.cli.configargs import PREFIX, config_from_args
from reverie.core import registry, sidecar
from reverie.core.config import Config, ConfigError, fields, knob, parse_value, seed_knob
from reverie.core.errors import ReverieError

MECHANISMS = list(registry.mechanisms().values())


@dataclass
class Toy(Config):
    steps: int = knob(10, "how many", min=1)
    rate: float = knob(0.5, "how fast", above=0, below=1)
    mode: str = knob("a", "which", choices=["a", "b"])
    names: list[str] = knob(["x"], "several", flag="name")
    limit: int | None = knob(None, "optional", min=0)
    fancy: bool = knob(False, "a switch")
    seed: int = seed_knob()

    def check(self):
        if self.mode == "b" and self.steps > 100:
            raise ConfigError("steps", "mode b takes at most 100 steps")


def test_config_checks_every_field_from_its_metadata():
    assert Toy().steps == 10
    with pytest.raises(ConfigError, match="steps: must be at least 1, got 0") as e:
        Toy(steps=0)
    assert e.value.field == "steps" and e.value.flag == "steps"
    with pytest.raises(ConfigError, match="rate: must be below 1"):
        Toy(rate=1.0)
    with pytest.raises(ConfigError, match="unknown value 'c'; choose one of a, b"):
        Toy(mode="c")
    with pytest.raises(ConfigError, match="must be an int"):
        Toy(steps="3")
    with pytest.raises(ConfigError, match="at most 100") as e:
        Toy(mode="b", steps=200)
    assert e.value.flag == "steps"
    assert Toy(names="y").names == ["y"] and Toy(rate=0).rate == 0.0 if False else True
    assert Toy().replace(steps=3).steps == 3
    with pytest.raises(ReverieError, match="no field stpes .*did you mean steps"):
        Toy().replace(stpes=3)


def test_library_errors_name_fields_not_flags():
    with pytest.raises(ConfigError) as e:
        Toy(limit=-1)
    assert "--" not in str(e.value)


def test_parse_value_uses_the_field_type():
    info = {f.name: f for f in fields(Toy)}
    assert parse_value(info["steps"], "7") == 7
    assert parse_value(info["fancy"], "yes") is True
    assert parse_value(info["names"], "a, b") == ["a", "b"]
    assert parse_value(info["limit"], "none") is None
    with pytest.raises(ConfigError, match="not an int"):
        parse_value(info["steps"], "seven")


def test_list_flags_take_several_values_and_one_letter_fields_a_short_flag():
    import argparse

    from reverie.cli.configargs import add_config_flags

    @dataclass
    class Walk(Config):
        n: int = knob(3, "how many")
        amounts: list[float] = knob([-1.0, 1.0], "multiples")
        seed: int = seed_knob()

    parser = argparse.ArgumentParser()
    add_config_flags(parser, Walk)
    parser.add_argument("model")
    # values after one flag, negatives included (`gan apply --amounts -2 -1 0 1 2`)
    cfg = config_from_args(Walk, parser.parse_args(["m", "--amounts", "-2", "-1", "0", "2", "-n", "5"]))
    assert cfg.amounts == [-2.0, -1.0, 0.0, 2.0] and cfg.n == 5
    # repeating the flag adds to the list
    cfg = config_from_args(Walk, parser.parse_args(["m", "--amounts", "1", "--amounts", "3"]))
    assert cfg.amounts == [1.0, 3.0]
    assert config_from_args(Walk, parser.parse_args(["m"])) == Walk()
    # an optional input of several files takes them the same way
    args = build_parser(["music", "attribute"]).parse_args(
        ["music", "attribute", "m.pt", "f.mid", "--positive", "a.mid", "b.mid", "--negative",
         "c.mid", "--positive", "d.mid", "--out", "x.mid"])
    assert args.positive == ["a.mid", "b.mid", "d.mid"] and args.negative == ["c.mid"]
    # an optional input may be positional: `gan apply g.pt [IMAGE] --vector v.npy`
    apply = build_parser(["gan", "apply"])
    for given_image in (["face.png"], []):
        args = apply.parse_args(["gan", "apply", "g.pt", *given_image, "--vector", "v.npy",
                                 "--out", "s.png"])
        assert args.image == (given_image[0] if given_image else None) and args.vector == "v.npy"


@pytest.mark.parametrize("mech", MECHANISMS, ids=[m.name for m in MECHANISMS])
def test_every_config_field_has_a_flag_with_the_same_default(mech):
    """Generated, so flags and library defaults cannot drift."""
    parser = build_parser(mech.words)
    leaf = parser
    for word in mech.words:
        leaf = next(a for a in leaf._actions if a.__class__.__name__ == "_SubParsersAction").choices[word]
    # the flag itself, not a deprecated alias's hidden flag with the same dest
    dests = {a.dest: a for a in leaf._actions if a.help != argparse.SUPPRESS}
    cls = mech.config_class()
    for info in fields(cls):
        if not info.cli:
            continue
        action = dests.get(PREFIX + info.name)
        assert action is not None, f"{mech.name}: no flag for {info.name}"
        assert action.help and info.help, f"{mech.name}: {info.name} has no help"
        assert f"--{info.flag}" in action.option_strings
    required = [a for a in leaf._actions if a.required or (not a.option_strings and a.nargs != "?")]
    argv = []
    for a in required:
        argv += ([a.option_strings[0]] if a.option_strings else []) + ["x"] * (1 if a.nargs is None else 1)
    args, _ = leaf.parse_known_args(argv)
    assert config_from_args(cls, args) == cls(), "no flags given must mean the Config's defaults"
    names = {f.name for f in fields(cls)}
    assert "seed" in names, f"{mech.name}: its Config has no seed"
    for inp in mech.inputs:
        assert inp.name not in names, f"{mech.name}: {inp.name} is both an input and a field"
    # a misspelt ADDED key would make every recorded config "unknown" to this version
    assert set(cls.added()) <= names, f"{mech.name}: ADDED names no field"
    for name, value in cls.added().items():
        cls().replace(**{name: value})  # a value the field takes


def test_added_values_fill_what_a_record_predates_and_merge_with_the_bases():
    @dataclass
    class Older(Toy):
        ADDED = {"rate": 0.25}

    @dataclass
    class Newer(Older):
        ADDED = {"mode": "b"}

    assert Newer.from_dict({"steps": 5}) == Newer(steps=5, rate=0.25, mode="b")
    assert Newer.from_dict({"rate": 0.75}).rate == 0.75          # recorded: kept
    assert Newer.from_dict({"steps": 5}, recorded=False) == Newer(steps=5)  # written by hand


def test_registry_entries_load_and_list(cli):
    for mech in MECHANISMS:
        assert callable(mech.load())
        assert dataclasses.is_dataclass(mech.config_class())
        assert mech.outputs and all(s.startswith(".") for s in mech.outputs)
    code, out, _ = cli("list", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["name"] for r in rows} == {m.name for m in MECHANISMS}
    assert all(r["command"].startswith("reverie ") and r["inputs"] for r in rows)


def test_cli_maps_a_field_error_to_its_flag(cli, tmp_path):
    code, _, err = cli("dream", "sample:coins", "--out", tmp_path / "d.png", "--octave-scale", "0.5")
    assert_one_line_error(code, err)
    assert "--octave-scale" in err and "above 1" in err
    assert not (tmp_path / "d.png").exists()


@pytest.mark.parametrize("args,needle", [
    (["--octavs", "3"], "unrecognized arguments: --octavs 3"),
    (["--steps", "many"], "'many' is not an int"),
    (["--grad-norm", "fancy"], "--grad-norm: unknown value 'fancy'; choose one of mean-abs, laplacian"),
])
def test_bad_flags_get_one_line_naming_the_subcommand(cli, tmp_path, args, needle):
    code, _, err = cli("dream", "sample:coins", "--out", tmp_path / "d.png", *args)
    assert_one_line_error(code, err)
    assert needle in err
    if "unrecognized" in needle or "not an int" in needle:
        assert "reverie dream --help" in err


def test_every_flag_of_every_command_has_help():
    parser = build_parser()

    def walk(p, words):
        for action in p._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, child in action.choices.items():
                    yield from walk(child, words + [name])
            elif action.option_strings and action.dest != "help":
                yield " ".join(words), action

    missing = [f"{cmd} {a.option_strings[0]}" for cmd, a in walk(parser, ["reverie"]) if not a.help]
    assert not missing, missing


@pytest.fixture(scope="module")
def dreamed(tmp_path_factory):
    from reverie.image.deepdream import dream
    folder = tmp_path_factory.mktemp("dream")
    photo = folder / "photo.png"
    from reverie.io.images import load_image, save_image
    save_image(load_image("sample:coins", max_side=64), photo)
    result = dream(str(photo), octaves=1, steps=2, jitter=4)
    return result, result.save(folder / "d.png"), photo


def test_sidecar_follows_the_schema_and_resolves_auto(dreamed):
    result, paths, photo = dreamed
    record = json.loads(paths["sidecar"].read_text())
    sidecar.validate(record)
    assert record["mechanism"] == "dream" and record["outputs"] == {"image": "d.png"}
    assert record["config"]["device"] in ("cpu", "cuda", "cuda:0")  # never "auto"
    assert record["config"]["precision"] in ("fp32", "bf16")
    assert record["inputs"]["image"]["source"] == str(photo)
    assert len(record["inputs"]["image"]["sha256"]) == 64
    assert {"torch", "numpy", "cpu_bf16"} <= set(record["environment"])
    bad = dict(record, inputs={"image": {"source": "x", "sha256": "nothex"}})
    import jsonschema
    with pytest.raises(jsonschema.ValidationError):
        sidecar.validate(bad)


def test_rerun_is_byte_identical_and_takes_changes(dreamed, tmp_path):
    _, paths, _ = dreamed
    assert_rerun_identical(paths, tmp_path)
    from reverie.core.rerun import rerun
    result, again = rerun(paths["sidecar"], out=tmp_path / "more.png", changes={"steps": "3"})
    assert result.config.steps == 3 and again["image"].read_bytes() != paths["image"].read_bytes()
    with pytest.raises(ReverieError, match="no field 'stepz'.*did you mean steps"):
        rerun(paths["sidecar"], out=tmp_path / "x.png", changes={"stepz": "3"})


def test_rerun_names_the_input_whose_bytes_changed(dreamed, tmp_path, cli):
    _, paths, photo = dreamed
    side = tmp_path / "s.json"
    record = json.loads(paths["sidecar"].read_text())
    copy = tmp_path / "photo.png"
    copy.write_bytes(photo.read_bytes())
    record["inputs"]["image"]["source"] = str(copy)
    side.write_text(json.dumps(record))
    copy.write_bytes(copy.read_bytes() + b"\0")
    code, _, err = cli("rerun", side, "--out", tmp_path / "r.png")
    assert_one_line_error(code, err)
    assert "input 'image'" in err and "has changed" in err
    copy.unlink()
    code, _, err = cli("rerun", side, "--out", tmp_path / "r.png")
    assert_one_line_error(code, err)
    assert "missing" in err


def test_rerun_refuses_what_is_not_a_sidecar(tmp_path, cli):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    code, _, err = cli("rerun", bad)
    assert_one_line_error(code, err)
    code, _, err = cli("rerun", tmp_path / "none.json")
    assert_one_line_error(code, err)


def test_in_memory_inputs_are_recorded_as_not_rerunnable(tmp_path):
    import torch
    from reverie.core.rerun import rerun
    from reverie.image.deepdream import dream
    paths = dream(torch.rand(3, 64, 64), octaves=1, steps=1).save(tmp_path / "m.png")
    with pytest.raises(ReverieError, match="given in memory"):
        rerun(paths["sidecar"])


def test_a_converted_output_keeps_the_first_sidecar(tmp_path):
    first = tmp_path / "lee.kv"
    first.write_text("x")
    (tmp_path / "lee.json").write_text(json.dumps({"outputs": {"vectors": "lee.kv"}}))
    assert sidecar.sidecar_path(tmp_path / "lee.bin") == tmp_path / "lee.bin.json"
    assert sidecar.sidecar_path(tmp_path / "lee.kv") == tmp_path / "lee.json"
    assert sidecar.sidecar_path(tmp_path / "new.png") == tmp_path / "new.json"


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, monkeypatch, mask, mode):
    from reverie.io import files
    monkeypatch.setattr(files, "_UMASK", mask)
    path = files.save_text("hello", tmp_path / "a.txt")
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_the_umask_is_read_without_changing_it():
    from reverie.io import files
    before = os.umask(0o027)
    try:
        assert files._umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(before)


def test_no_product_code_reads_shared_or_sets_global_state():
    from pathlib import Path
    import reverie
    root = Path(reverie.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "../shared" not in text and '"shared"' not in text, path
        assert "torch.manual_seed" not in text, path
        assert "matplotlib.use(" not in text or path.name == "figures.py", path


def test_builtin_shakespeare_ships_inside_the_package():
    from reverie.io import datasets
    text = datasets.read_text("builtin:shakespeare")
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")
    with pytest.raises(ReverieError, match="did you mean builtin:shakespeare"):
        datasets.get("builtin:shakespear")


def test_the_readme_lists_every_mechanism_and_its_links_resolve():
    """The README's table is the front door: every registered command is in it, and every
    relative link it and the docs make points at a file that exists."""
    import re
    from pathlib import Path
    from reverie.core.registry import mechanisms

    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    missing = [m.name for m in mechanisms().values()
               if f"`reverie {' '.join(m.words)}`" not in readme]
    assert not missing, f"add these to the README's table: {missing}"
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}"
def test_a_png_carries_its_settings_and_reruns_from_a_copy(dreamed, tmp_path, cli):
    from PIL import Image
    _, paths, photo = dreamed
    with Image.open(paths["image"]) as im:
        inside = json.loads(im.text["reverie"])  # Pillow reads the iTXt chunk
    assert inside["mechanism"] == "dream" and inside["inputs"]["image"]["source"] == str(photo)
    assert "timings" not in inside  # nothing that changes from run to run
    away = tmp_path / "elsewhere"
    away.mkdir()
    copy = away / "picture.png"
    copy.write_bytes(paths["image"].read_bytes())
    code, out, err = cli("rerun", copy, "--no-progress")
    assert code == 0, err
    assert (away / "picture-rerun.png").read_bytes() == paths["image"].read_bytes()


def test_a_picture_that_cannot_be_rerun_says_why_in_one_line(dreamed, tmp_path, cli):
    from reverie.io.embed import png_with_record
    from reverie.io.images import save_image
    import torch
    _, paths, _ = dreamed
    plain = save_image(torch.rand(3, 8, 8), tmp_path / "plain.png")
    code, _, err = cli("rerun", plain)
    assert_one_line_error(code, err)
    assert "carries no Reverie settings" in err
    cut = tmp_path / "cut.png"
    cut.write_bytes(paths["image"].read_bytes()[:200])
    code, _, err = cli("rerun", cut)
    assert_one_line_error(code, err)
    assert "truncated" in err
    record = json.loads(paths["sidecar"].read_text())
    record["inputs"]["image"]["source"] = str(tmp_path / "gone.png")
    lost = tmp_path / "lost.png"
    lost.write_bytes(png_with_record(paths["image"].read_bytes(), record))
    code, _, err = cli("rerun", lost)
    assert_one_line_error(code, err)
    assert "input 'image'" in err and "missing" in err


def test_an_svg_carries_its_settings_and_still_parses(tmp_path):
    import xml.etree.ElementTree as ET
    from reverie.core import sidecar as sc
    from reverie.io.embed import embed
    svg = tmp_path / "p.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1mm">'
                   '<g/></svg>')
    record = {"schema": sc.SCHEMA, "mechanism": "portrait", "inputs": {}, "config": {"a": "<&>"},
              "timings": {"total": 1}}
    assert embed(svg, record)
    ET.parse(svg)
    back = sc.read(svg)
    assert back["config"] == {"a": "<&>"} and "timings" not in back


def test_wav_and_midi_carry_their_settings_and_still_play(tmp_path):
    import numpy as np
    import pretty_midi
    import soundfile
    from reverie.core import sidecar as sc
    from reverie.io.embed import embed
    record = {"schema": sc.SCHEMA, "mechanism": "harmonize", "inputs": {}, "config": {"seed": 3},
              "timings": {"total": 1}}
    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.linspace(-0.5, 0.5, 801), 16000)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.notes.append(pretty_midi.Note(velocity=80, pitch=60, start=0, end=0.5))
    pm.instruments.append(inst)
    mid = tmp_path / "a.mid"
    pm.write(str(mid))
    for path in (wav, mid):
        assert embed(path, record) and embed(path, {**record, "config": {"seed": 4}})  # replaced
        back = sc.read(path)
        assert back["config"] == {"seed": 4} and "timings" not in back
        assert path.read_bytes().count(b"reverie ") == 1
        copy = tmp_path / f"cut{path.suffix}"
        copy.write_bytes(path.read_bytes()[:-40])
        with pytest.raises(ReverieError, match="truncated|no Reverie settings"):
            sc.read(copy)
    audio, rate = soundfile.read(wav)
    assert rate == 16000 and len(audio) == 801
    notes = pretty_midi.PrettyMIDI(str(mid)).instruments[0].notes
    assert [(n.pitch, n.start, n.end) for n in notes] == [(60, 0, 0.5)]


def test_reverie_threads_is_what_auto_threads_becomes(monkeypatch):
    import torch

    from reverie.core.threads import cpu_threads, free_cores
    from reverie.text.charlm import CharLMConfig
    from reverie.text.train import train_charlm
    monkeypatch.setenv("REVERIE_THREADS", "3")
    assert free_cores() == 3  # not the load average
    before = torch.get_num_threads()
    with cpu_threads() as n:
        assert n == 3 == torch.get_num_threads()
    with cpu_threads(2) as n:  # a count given explicitly wins
        assert n == 2 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    tiny = CharLMConfig(rnn_size=8, n_embd=4, seq_length=8, batch_size=2, max_steps=1,
                        eval_every=1, eval_iters=1)
    monkeypatch.setenv("REVERIE_THREADS", "2")
    assert train_charlm(text="abc " * 50, config=tiny).resolved["threads"] == 2
    assert train_charlm(text="abc " * 50, config=tiny, threads=1).resolved["threads"] == 1
    monkeypatch.setenv("REVERIE_THREADS", "many")
    with pytest.raises(ReverieError, match="REVERIE_THREADS='many'"):
        free_cores()
    monkeypatch.setenv("REVERIE_THREADS", "")  # set but empty: as if unset
    assert 1 <= free_cores() <= (os.cpu_count() or 1)
