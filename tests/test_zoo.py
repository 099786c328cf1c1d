"""The model zoo: a checkpoint stored as safetensors + JSON loads with no pickle, model:NAME
resolves in the library, the CLI and as an init, a changed file is refused, cards carry
every field, and the shipped zoo fits its size budget."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from reverie import zoo
from reverie.core.errors import ReverieError
from reverie.text.charlm import CharLMConfig, load_charlm
from reverie.text.train import train_charlm
from reverie.zoo import store
from trainers import SEED_TEXT

TINY = dict(rnn_size=16, n_embd=8, seq_length=16, batch_size=4, dropout=0.0, max_steps=40,
            eval_every=20, eval_iters=2, checkpoint_every=40, warmup_iters=2, threads=1)
CARD = {"title": "a tiny test model", "uses": "text sample", "data": "a planted text",
        "licence": "CC0", "recipe": "reverie text train X --out {out}", "hardware": "cpu",
        "steps": 40, "wall_seconds": 1.0, "figures": {"val_loss": 1.0},
        "short_budget": {}, "baseline": {}}
BUDGET_MB = 80


@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zoo")
    result = train_charlm(text=SEED_TEXT, config=CharLMConfig(**TINY),
                          out=folder / "tiny.pt")
    zoo.export(result.checkpoint, "tiny", folder, CARD)
    return folder, result


@pytest.fixture
def in_zoo(tiny_zoo, monkeypatch):
    monkeypatch.setenv("REVERIE_ZOO", str(tiny_zoo[0]))
    return tiny_zoo


def test_pack_and_unpack_give_the_checkpoint_back():
    ckpt = {"format": "x", "model": {"w": torch.randn(3, 2)}, "vocab": ["a", "b"],
            "run": {"step": 4, "frames": [torch.zeros(2, dtype=torch.uint8)]},
            "optimizer": {"state": {}, "param_groups": []}, "rng": {"torch": torch.zeros(3)}}
    tensors, skeleton = store.pack(ckpt)
    back = store.unpack(tensors, json.loads(json.dumps(skeleton)))
    torch.testing.assert_close(back["model"]["w"], ckpt["model"]["w"])
    assert back["run"]["frames"][0].dtype == torch.uint8 and back["vocab"] == ["a", "b"]
    assert "optimizer" not in back and "rng" not in back  # a resume's state is not shipped
    half, _ = store.pack(ckpt, fp16=True)
    assert half["model/w"].dtype == torch.float16
    assert store.unpack(half, skeleton)["model"]["w"].dtype == torch.float32


def test_model_name_resolves_in_the_library_and_the_cli(in_zoo, cli, tmp_path):
    _, trained = in_zoo
    lm = load_charlm("model:tiny")
    for k, v in trained.model.state_dict().items():
        torch.testing.assert_close(lm.model.state_dict()[k], v)
    code, out, err = cli("text", "sample", "model:tiny", "--length", "20", "--seed", "1",
                         "--out", tmp_path / "s.txt")
    assert code == 0, err
    side = json.loads((tmp_path / "s.json").read_text())
    assert side["inputs"]["model"]["source"] == "model:tiny" and side["inputs"]["model"]["sha256"]
    code, out, err = cli("models", "list", "--json")
    assert code == 0 and "tiny" in [m["name"] for m in json.loads(out)]
    code, out, _ = cli("models", "show", "model:tiny")
    assert code == 0 and "licence     CC0" in out
    code, out, _ = cli("models", "path", "tiny")
    assert code == 0 and Path(out.strip()) == in_zoo[0] / "tiny"


def test_an_unknown_name_and_a_changed_file_are_one_line(in_zoo, tmp_path, cli, monkeypatch):
    code, _, err = cli("models", "show", "model:tinyy")
    assert code == 2 and "did you mean model:tiny" in err and err.count("\n") == 1
    folder = tmp_path / "copy"
    import shutil
    shutil.copytree(in_zoo[0] / "tiny", folder / "tiny")
    data = bytearray((folder / "tiny" / "weights.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (folder / "tiny" / "weights.safetensors").write_bytes(bytes(data))
    monkeypatch.setenv("REVERIE_ZOO", str(folder))
    with pytest.raises(ReverieError) as err:
        load_charlm("model:tiny")
    assert "changed or damaged" in str(err.value) and "\n" not in str(err.value)


def test_init_from_the_zoo_starts_where_the_model_stopped(in_zoo, tmp_path):
    def first_loss(**kw):
        cfg = CharLMConfig(**{**TINY, "max_steps": 1, "eval_every": 1, "checkpoint_every": 1},
                           **kw)
        return train_charlm(text=SEED_TEXT, config=cfg).figures["history"][0]["train_loss"]
    fresh = first_loss()
    warm = first_loss(init="model:tiny")
    # the first step's loss is the zoo model's own, not a fresh model's
    final = in_zoo[1].figures["train_loss"]
    assert warm < fresh - 0.4 and abs(warm - final) < 0.25, (warm, fresh, final)


def test_every_card_carries_every_field_and_the_zoo_fits_its_budget():
    total = 0
    for name in zoo.names():
        card = zoo.card(name)  # raises on a missing field
        assert set(zoo.CARD_FIELDS) <= set(card)
        total += sum(p.stat().st_size for p in zoo.files(name))
    assert total <= BUDGET_MB * 2**20, f"the zoo is {total / 2**20:.1f} MB"
    with pytest.raises(ReverieError):
        zoo.check_card({"name": "x", "title": "no fields"})


def test_a_model_too_big_for_the_budget_fails_the_size_check(tmp_path):
    big = {"format": "x", "model": {"w": torch.zeros(BUDGET_MB * 2**18 + 1)}}  # > 80 MB fp32
    where = zoo.export(big, "big", tmp_path, CARD)
    size = sum(p.stat().st_size for p in (where / "weights.safetensors", where / "model.json"))
    assert size > BUDGET_MB * 2**20


def test_every_recipe_is_a_command_the_cli_takes_and_names_real_mechanisms():
    import shlex

    from reverie.cli import build_parser
    from reverie.core.registry import mechanisms
    from reverie.zoo.recipes import RECIPES

    for r in RECIPES.values():
        words = shlex.split(r.command.replace("{out}", "x.pt"))
        assert words[0] == "reverie"
        args, extras = build_parser(words[1:4]).parse_known_args(words[1:])
        assert not extras and getattr(args, "func", None), (r.name, extras)
        assert set(r.uses) <= set(mechanisms()), r.name


def test_resume_is_refused_in_one_line_for_a_recipe_that_trains_in_one_go(cli, tmp_path):
    # word2vec is one gensim call: nothing to resume, so say so before any training
    code, _, err = cli("models", "train", "words", "--folder", str(tmp_path), "--resume")
    assert code == 2 and "cannot resume" in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_every_shipped_model_has_a_recipe_and_loads_without_pickle(monkeypatch):
    """The package's own zoo: each model's files match its card and read as safetensors
    (torch.load is never called), and the loader of a mechanism it serves accepts it."""
    from reverie.zoo.recipes import RECIPES
    monkeypatch.delenv("REVERIE_ZOO", raising=False)

    def no_pickle(*a, **k):
        raise AssertionError("a zoo model was read with torch.load")
    monkeypatch.setattr(torch, "load", no_pickle)
    for name in zoo.names():
        card = zoo.card(name)
        assert name in RECIPES and card["recipe"] == RECIPES[name].command, name
        assert set(card["uses"]) == set(RECIPES[name].uses), name
        ckpt = zoo.checkpoint(name)
        assert ckpt["format"] == card["format"] and any(
            isinstance(v, torch.Tensor) for v in _tensors(ckpt)), name


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, list):
        for v in value:
            yield from _tensors(v)


def test_a_name_is_never_a_path_out_of_the_zoo(in_zoo):
    for name in ("model:../zoo/tiny", "model:/etc", "model:a/b"):
        with pytest.raises(ReverieError, match="not a zoo model name"):
            zoo.folder(name)


def test_a_shipped_history_keeps_every_evaluation_and_a_sample_of_losses():
    history = [{"step": s, "d_loss": 1.0, "g_loss": 2.0, **({"fd": 90.0} if s % 1000 == 0 else {})}
               for s in range(10, 17001, 10)]
    kept = zoo.thin_history(history)
    assert len(kept) <= 220 and kept[-1] == history[-1] and kept[0] == history[0]
    assert [r["step"] for r in kept if "fd" in r] == list(range(1000, 17001, 1000))
    assert zoo.thin_history(history[:50]) == history[:50]
