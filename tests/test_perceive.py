"""Perception Engines: the planners raise the target's probability; the CLI writes the
drawing, its exact render and the sidecar; a rerun makes them again byte for byte; the
default budget is steps, not seconds; bad input is one line and exit 2."""
import json

import numpy as np
import pytest
import torch

from conftest import assert_one_line_error, assert_rerun_identical
from reverie.draw import drawing as draw
from reverie.draw.engines import DEFAULT_STEPS, PerceiveConfig, perceive, score_exact
from reverie.nets.zoo import load_net

TARGET = 4  # hammerhead shark
TINY = dict(size=64, ensemble=["lite0"], held_out=["lite1"], check_every=10, min_steps=1)
FAST = dict(strokes=3, steps=2, batch=1, plan_size=64, random_start=2, **TINY)


def start_prob(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    start = draw.random_drawing(cfg.system, cfg.strokes, cfg.size, g, cfg.palette)
    _, prob = score_exact([start], [load_net("lite0")], TARGET, "mean-log", 4, "cpu")
    return start, float(prob[0])


def test_short_grad_run_raises_ensemble_probability():
    cfg = PerceiveConfig(strokes=8, steps=40, batch=2, plan_size=96, lr=0.03, **TINY)
    start, before = start_prob(cfg, seed=0)
    result = perceive(TARGET, cfg, start=start)
    assert result.ensemble_prob > 20 * before, (before, result.ensemble_prob)
    assert [v.role for v in result.verdicts] == ["ensemble", "held-out"]
    assert result.verdicts[0].prob == pytest.approx(result.ensemble_prob, rel=1e-4)
    assert result.history[-1]["step"] == 40
    assert result.image.shape == (3, 64, 64)


def test_es_planner_improves_its_objective():
    cfg = PerceiveConfig(planner="es", strokes=4, steps=4, num_pop=8, init_size=2, init_step=2,
                         sigma=0.05, alpha=0.02, **TINY)
    result = perceive(TARGET, cfg)
    first = result.history[0]
    # the greedy random start beats the random drawings it chose from ...
    assert first["objective"] > first["random_objective"]
    # ... and the planner never ends below where it started
    nes = [h["objective"] for h in result.history if h["step"] >= 1]
    assert max(nes) >= result.history[1]["objective"]
    assert max(h["objective"] for h in result.history) > first["random_objective"]


def test_cli_writes_svg_exact_png_sidecar_and_gif(cli, tmp_path):
    out = tmp_path / "shark.svg"
    code, stdout, err = cli("perceive", "hammerhead shark", "--out", out, "--size", 64,
                            "--strokes", 5, "--steps", 3, "--ensemble", "lite0", "--held-out",
                            "lite1", "--animate", "--json", "--no-progress")
    assert code == 0, err
    record = json.loads(stdout)
    assert record["figures"]["target"]["index"] == 4
    assert {v["model"] for v in record["figures"]["verdicts"]} == {"lite0", "lite1"}
    for suffix in (".svg", ".png", ".json", ".gif"):
        assert out.with_suffix(suffix).exists(), suffix
    from PIL import Image
    png = np.asarray(Image.open(out.with_suffix(".png")).convert("RGB"))
    assert np.array_equal(png, np.asarray(draw.render_svg_file(out)))
    assert Image.open(out.with_suffix(".gif")).n_frames > 1
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["config"]["strokes"] == 5 and sidecar["config"]["seed"] == 0
    assert sidecar["inputs"]["target"] == {"value": "hammerhead shark"}
    assert draw.load_svg(out).strokes.shape == (5, 8)


def test_cli_prints_the_verdict_table(cli, tmp_path):
    code, stdout, err = cli("perceive", "4", "--out", tmp_path / "d.png", "--size", 64,
                            "--strokes", 2, "--steps", 1, "--random-start", 1, "--ensemble",
                            "lite0", "--held-out", "lite1", "--no-progress")
    assert code == 0, err
    assert "held-out" in stdout and "p(target)" in stdout
    assert (tmp_path / "d.svg").exists() and (tmp_path / "d.png").exists()


def test_rerun_makes_the_same_svg_png_and_gif(tmp_path):
    result = perceive(TARGET, PerceiveConfig(animate=True, **FAST), seed=1)
    paths = result.save(tmp_path / "d.svg")
    assert set(paths) == {"svg", "png", "gif", "sidecar"}
    assert_rerun_identical(paths, tmp_path)


def test_default_budget_is_steps_not_the_clock(tmp_path):
    # the library and the CLI agree on the budget when none is given: per planner
    assert PerceiveConfig().budget() == DEFAULT_STEPS["grad"]
    assert PerceiveConfig(planner="es").budget() == DEFAULT_STEPS["es"] == 100
    cfg = PerceiveConfig(**FAST)
    a, b = perceive(TARGET, cfg), perceive(TARGET, cfg)
    pa, pb = a.save(tmp_path / "a.svg"), b.save(tmp_path / "b.svg")
    assert pa["svg"].read_bytes() == pb["svg"].read_bytes()
    assert pa["png"].read_bytes() == pb["png"].read_bytes()
    side = json.loads(pa["sidecar"].read_text())
    assert side["deterministic"] is True and side["config"]["max_seconds"] is None
    assert side["figures"]["time_limited"] is False
    assert not any("time limit" in n for n in side["notes"])


def test_es_without_steps_records_its_budget(tmp_path):
    cfg = PerceiveConfig(planner="es", strokes=2, num_pop=2, init_size=2, max_dry_period=1, **TINY)
    assert cfg.steps is None
    paths = perceive(TARGET, cfg).save(tmp_path / "es.svg")
    side = json.loads(paths["sidecar"].read_text())
    assert side["config"]["steps"] == 100 and side["resolved"]["steps"] == 100


def test_a_time_limit_is_recorded_as_machine_dependent():
    result = perceive(TARGET, PerceiveConfig(**{**FAST, "steps": 50}), max_seconds=1e-3)
    assert result.deterministic is False
    assert result.stopped.startswith("time limit") and result.figures["time_limited"]
    assert any("time limit" in n and "machine" in n for n in result.notes)


@pytest.mark.parametrize("args, words", [
    (["hammerhed"], "hammerhead shark"),
    (["hammerhead shark", "--strokes", "0"], "--strokes"),
    (["hammerhead shark", "--size", "16"], "--size"),
    (["hammerhead shark", "--ensemble", "lite0", "--ensemble", "lite2"], "--held-out"),
    (["hammerhead shark", "--palette", "mauve"], "--palette"),
    (["hammerhead shark", "--restarts", "-1"], "--restarts"),
    (["hammerhead shark", "--max-width", "0.001"], "--min-width"),
    (["hammerhead shark", "--max-seconds", "0"], "--max-seconds"),
    (["hammerhead shark", "--start", "missing.svg"], "not found"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, cli, tmp_path):
    out = tmp_path / "d.svg"
    code, _, err = cli("perceive", *args, "--out", out, "--no-progress")
    assert_one_line_error(code, err)
    assert words in err, err
    assert not any(tmp_path.iterdir())


def test_same_seed_same_drawing():
    cfg = PerceiveConfig(**FAST)
    a, b = perceive(TARGET, cfg, seed=3), perceive(TARGET, cfg, seed=3)
    assert torch.equal(a.drawing.strokes, b.drawing.strokes)
    assert torch.equal(a.image, b.image)
    c = perceive(TARGET, cfg, seed=4)
    assert not torch.equal(a.drawing.strokes, c.drawing.strokes)


def test_a_stalled_run_restarts_from_a_fresh_start_and_keeps_the_best(tmp_path):
    # stall_prob 1.0: every attempt counts as stalled, so all restarts are used
    cfg = PerceiveConfig(strokes=3, steps=30, batch=1, plan_size=64, random_start=2, restarts=2,
                         stall_steps=10, stall_prob=1.0, **TINY)
    result = perceive(TARGET, cfg)
    attempts = sorted({h["attempt"] for h in result.history})
    assert attempts == [0, 1, 2]
    assert result.steps_run == 30  # the attempts share the step budget
    assert [h["step"] for h in result.history] == [10, 20, 30]
    assert "2 restart(s)" in result.stopped
    best = max(h["objective"] for h in result.history)
    _, prob = score_exact([result.drawing], [load_net("lite0")], TARGET, "mean-log", 4, "cpu")
    assert float(prob[0]) == pytest.approx(np.exp(best), rel=1e-4)  # the kept drawing is the best seen
    # a drawing the user gave is never thrown away; given as a file, it is recorded
    svg = result.save(tmp_path / "first.svg")["svg"]
    given = perceive(TARGET, cfg, start=str(svg))
    assert {h["attempt"] for h in given.history} == {0} and given.steps_run == 30
    assert given.inputs["start"]["source"] == str(svg) and len(given.inputs["start"]["sha256"]) == 64
