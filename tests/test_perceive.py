"""Perception Engines: the planners raise the target's probability; the CLI writes the
drawing, its exact render and the sidecar; bad input is one line and exit 2."""
import json

import numpy as np
import pytest
import torch

from reverie.draw import drawing as draw
from reverie.cli import main
from reverie.nets.zoo import load_net
from reverie.draw.engines import PerceiveConfig, perceive, score_exact

TARGET = 4  # hammerhead shark
TINY = dict(size=64, ensemble=("lite0",), held_out=("lite1",), check_every=10, min_steps=1)


def start_prob(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    start = draw.random_drawing(cfg.system, cfg.strokes, cfg.size, g, cfg.palette)
    _, prob = score_exact([start], [load_net("lite0")], TARGET, "mean-log", 4, "cpu")
    return start, float(prob[0])


def test_short_grad_run_raises_ensemble_probability():
    cfg = PerceiveConfig(strokes=8, steps=40, batch=2, plan_size=96, lr=0.03, **TINY)
    start, before = start_prob(cfg, seed=0)
    result = perceive(TARGET, cfg, seed=0, start=start)
    assert result.ensemble_prob > 20 * before, (before, result.ensemble_prob)
    assert [v.role for v in result.verdicts] == ["ensemble", "held-out"]
    assert result.verdicts[0].prob == pytest.approx(result.ensemble_prob, rel=1e-4)
    assert result.history[-1]["step"] == 40


def test_es_planner_improves_its_objective():
    cfg = PerceiveConfig(planner="es", strokes=4, steps=4, num_pop=8, init_size=2, init_step=2,
                         sigma=0.05, alpha=0.02, **TINY)
    result = perceive(TARGET, cfg, seed=0)
    first = result.history[0]
    # the greedy random start beats the random drawings it chose from ...
    assert first["objective"] > first["random_objective"]
    # ... and the planner never ends below where it started
    nes = [h["objective"] for h in result.history if h["step"] >= 1]
    assert max(nes) >= result.history[1]["objective"]
    assert max(h["objective"] for h in result.history) > first["random_objective"]


def test_cli_writes_svg_exact_png_sidecar_and_gif(tmp_path, capsys):
    out = tmp_path / "shark.svg"
    code = main(["perceive", "hammerhead shark", "--out", str(out), "--size", "64", "--strokes", "5",
                 "--steps", "3", "--ensemble", "lite0", "--held-out", "lite1", "--animate", "--json"])
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert record["target"]["index"] == 4
    assert {v["model"] for v in record["verdicts"]} == {"lite0", "lite1"}
    for suffix in (".svg", ".png", ".json", ".gif"):
        assert out.with_suffix(suffix).exists(), suffix
    from PIL import Image
    png = np.asarray(Image.open(out.with_suffix(".png")).convert("RGB"))
    assert np.array_equal(png, np.asarray(draw.render_svg_file(out)))
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["config"]["strokes"] == 5 and sidecar["seed"] == 0
    assert len(sidecar["drawing"]["strokes"]) == 5


@pytest.mark.parametrize("args, words", [
    (["hammerhed"], "hammerhead shark"),
    (["hammerhead shark", "--strokes", "0"], "at least 1 stroke"),
    (["hammerhead shark", "--size", "16"], "too small"),
    (["hammerhead shark", "--ensemble", "lite0,lite2"], "held out"),
    (["hammerhead shark", "--ensemble", "lite9"], "unknown model"),
    (["hammerhead shark", "--system", "squiggles"], "drawing system"),
    (["hammerhead shark", "--palette", "mauve"], "palette"),
    (["hammerhead shark", "--planner", "annealing"], "planner"),
    (["hammerhead shark", "--restarts", "-1"], "restarts"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, tmp_path, capsys):
    out = tmp_path / "d.svg"
    assert main(["perceive", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and words in err, err
    assert not any(tmp_path.iterdir())


def test_same_seed_same_drawing():
    cfg = PerceiveConfig(strokes=3, steps=2, batch=1, plan_size=64, random_start=2, **TINY)
    a, b = perceive(TARGET, cfg, seed=3), perceive(TARGET, cfg, seed=3)
    assert torch.equal(a.drawing.strokes, b.drawing.strokes)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    c = perceive(TARGET, cfg, seed=4)
    assert not torch.equal(a.drawing.strokes, c.drawing.strokes)


def test_a_stalled_run_restarts_from_a_fresh_start_and_keeps_the_best():
    # stall_prob 1.0: every attempt counts as stalled, so all restarts are used
    cfg = PerceiveConfig(strokes=3, steps=30, batch=1, plan_size=64, random_start=2, restarts=2,
                         stall_steps=10, stall_prob=1.0, **TINY)
    result = perceive(TARGET, cfg, seed=0)
    attempts = sorted({h["attempt"] for h in result.history})
    assert attempts == [0, 1, 2]
    assert result.steps_run == 30  # the attempts share the step budget
    assert [h["step"] for h in result.history] == [10, 20, 30]
    assert "2 restart(s)" in result.stopped
    best = max(h["objective"] for h in result.history)
    _, prob = score_exact([result.drawing], [load_net("lite0")], TARGET, "mean-log", 4, "cpu")
    assert float(prob[0]) == pytest.approx(np.exp(best), rel=1e-4)  # the kept drawing is the best seen
    # a drawing the user gave is never thrown away
    given = perceive(TARGET, cfg, seed=0, start=result.drawing)
    assert {h["attempt"] for h in given.history} == {0} and given.steps_run == 30
