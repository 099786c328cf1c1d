"""The training contract, for every registered trainer (reverie.train): a run killed
mid-way and resumed reaches the same model and held-out figure as one left alone; the same
trainer runs under torchrun on two processes; init starts from another run's weights."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reverie.core import registry
from reverie.core.errors import ReverieError
from reverie.draw.sketch_train import train_sketch
from reverie.text.train import train_charlm
from reverie.train import TrainConfig
from trainers import CASES

TESTS = Path(__file__).parent


class Killed(Exception):
    pass


def trainers() -> dict:
    return {name: m for name, m in registry.mechanisms().items()
            if issubclass(m.config_class(), TrainConfig)}


def test_every_trainer_has_a_case():
    assert set(trainers()) == set(CASES), "add a Case to tests/trainers.py for each trainer"


def run(name: str, out: Path, progress=None, **changes):
    mech = trainers()[name]
    case = CASES[name]
    cfg = mech.config_class()(**{**case.config, **changes})
    kw = {"progress": progress} if progress else {}
    return mech.load()(**case.inputs(out.parent), config=cfg, out=out, **kw)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_killed_run_resumes_to_the_uninterrupted_figure(name, tmp_path):
    case = CASES[name]
    whole = run(name, tmp_path / "whole.pt")

    def kill(done, total, message=""):
        if done == case.kill_at:
            raise Killed()
    with pytest.raises(Killed):
        run(name, tmp_path / "cut.pt", progress=kill)
    saved = torch.load(tmp_path / "cut.pt", weights_only=True)
    assert 0 < saved["run"]["step"] < whole.figures["steps"]
    resumed = run(name, tmp_path / "cut.pt", resume=True)
    assert resumed.figures["steps"] == whole.figures["steps"]
    assert any("resumed" in n for n in resumed.notes)
    assert resumed.figures[case.figure] == pytest.approx(whole.figures[case.figure], abs=1e-5)
    for key, tensor in whole.checkpoint.items():
        if isinstance(tensor, dict) and all(isinstance(v, torch.Tensor) for v in tensor.values()):
            for k, v in tensor.items():
                torch.testing.assert_close(resumed.checkpoint[key][k], v, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_init_starts_from_another_runs_weights(name, tmp_path):
    first = run(name, tmp_path / "first.pt")
    # one step from the first model: its held-out figure, not a fresh model's
    again = run(name, tmp_path / "again.pt", init=str(tmp_path / "first.pt"), max_steps=1,
                eval_every=1, checkpoint_every=1)
    fresh = run(name, tmp_path / "fresh.pt", max_steps=1, eval_every=1, checkpoint_every=1)
    f = CASES[name].figure
    assert abs(again.figures[f] - first.figures[f]) < abs(fresh.figures[f] - first.figures[f])
    assert any("started from the weights" in n for n in again.notes)


def test_init_refuses_a_model_of_another_kind(tmp_path):
    name = "train_charlm"
    run(name, tmp_path / "m.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"format": "something-else"}, bad)
    with pytest.raises(ReverieError) as err:
        run(name, tmp_path / "x.pt", init=str(bad))
    assert "\n" not in str(err.value)


def test_init_refuses_a_shape_asked_for_that_the_model_does_not_have(tmp_path):
    run("train_gan", tmp_path / "g32.pt")  # a 32 px model
    with pytest.raises(ReverieError) as err:
        run("train_gan", tmp_path / "x.pt", init=str(tmp_path / "g32.pt"), size=64)
    assert str(err.value).startswith("size:") and "32" in str(err.value)
    assert "\n" not in str(err.value)


def test_init_names_the_fix_for_characters_outside_the_models_vocabulary(tmp_path):
    run("train_charlm", tmp_path / "m.pt")
    case = CASES["train_charlm"]
    with pytest.raises(ReverieError) as err:
        train_charlm(text=case.inputs(tmp_path)["text"] + "{}" * 100,
                     init=str(tmp_path / "m.pt"), **case.config)
    msg = str(err.value)
    assert "'{'" in msg and "without init" in msg and "bytes_mode" not in msg
    assert "\n" not in msg


def test_init_scales_new_drawings_by_their_own_spread(tmp_path):
    from reverie.io.strokes import scale_factor
    first = run("train_sketch", tmp_path / "s.pt")
    data = CASES["train_sketch"].inputs(tmp_path)["data"]
    big = {k: [d * [3, 3, 1] for d in v] for k, v in data.items()}  # the same, 3x larger
    tuned = train_sketch(big, init=str(tmp_path / "s.pt"), **CASES["train_sketch"].config)
    assert tuned.figures["scale_factor"] == pytest.approx(scale_factor(big["train"]))
    assert tuned.figures["scale_factor"] == pytest.approx(3 * first.figures["scale_factor"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_runs_under_torchrun_on_two_processes(name, tmp_path):
    out = tmp_path / "ddp.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(TESTS), str(TESTS.parent / "src"), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           str(TESTS / "torchrun_trainer.py"), name, str(out)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    saved = torch.load(out, weights_only=True)
    assert saved["run"]["step"] == CASES[name].torchrun.get("max_steps", 4)
    assert "processes: 2" in p.stdout


def test_the_old_knob_names_still_work_for_one_release(cli, tmp_path):
    from reverie.draw.sketch import SketchConfig
    from reverie.gan.dcgan import GANConfig
    from reverie.text.charlm import CharLMConfig

    with pytest.warns(DeprecationWarning, match="max_iters is now called max_steps"):
        cfg = CharLMConfig(max_iters=7, eval_interval=3)
    assert (cfg.max_steps, cfg.eval_every, cfg.max_iters) == (7, 3, 7)
    with pytest.warns(DeprecationWarning):
        assert SketchConfig(num_steps=9).max_steps == 9
    with pytest.warns(DeprecationWarning):
        assert GANConfig(fd_every=11).eval_every == 11
    with pytest.warns(DeprecationWarning):  # a sidecar or checkpoint written before the rename
        assert CharLMConfig.from_dict({"max_iters": 5}).max_steps == 5
    out = tmp_path / "m.pt"
    (tmp_path / "c.txt").write_text(CASES["train_charlm"].inputs(tmp_path)["text"])
    code, _, err = cli("text", "train", tmp_path / "c.txt", "--out", out, "--max-iters", "2",
                       "--rnn-size", "8", "--n-embd", "4", "--seq-length", "8", "--batch-size",
                       "2", "--no-progress")
    assert code == 0, err
    assert torch.load(out, weights_only=True)["run"]["step"] == 2


def test_ema_update_warms_up_then_averages_with_its_decay():
    from reverie.train import ema_update
    model, average = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
        average.weight.fill_(0.0)
    ema_update(average, model, 0.999, done=1)      # warm-up: decay (1 + 1) / (10 + 1)
    assert torch.allclose(average.weight, torch.full_like(model.weight, 1 - 2 / 11))
    average.weight.data.fill_(0.0)
    ema_update(average, model, 0.9, done=10_000)   # past the warm-up: the decay itself
    assert torch.allclose(average.weight, torch.full_like(model.weight, 0.1))
    ema_update(average, model, 0.0, done=5)        # 0: the average is the model
    assert torch.equal(average.weight, model.weight)
