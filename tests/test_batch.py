"""Batch rendering on Dask (scale/batch): real worker processes on loopback, tiny jobs."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import assert_one_line_error

DOCTOR = Path(__file__).parents[1] / "src" / "reverie" / "chat" / "scripts" / "doctor.txt"
TINY_DREAM = {"size": 64, "octaves": 1, "steps": 1}


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 single-thread worker processes on 127.0.0.1; its address."""
    import logging

    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as c:
        yield c.scheduler_address


def write_jobs(path, jobs):
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return path


def six_jobs(tmp_path):
    """Five ELIZA conversations and a tiny dream; the fourth names a script that is not
    there when it runs, so it fails on its worker."""
    jobs = [{"mechanism": "chat", "inputs": {"say": [f"I am sad {i} times."]}} for i in range(4)]
    jobs[3]["inputs"]["script"] = str(tmp_path / "later.txt")
    jobs[3]["out"] = "later/eliza.txt"
    jobs.append({"mechanism": "dream", "config": TINY_DREAM, "inputs": {"image": "sample:coins"},
                 "out": "dream.png"})
    jobs.append({"mechanism": "chat", "inputs": {"say": "Men are all alike."}, "out": "men.json"})
    return write_jobs(tmp_path / "jobs.jsonl", jobs)


def test_six_jobs_one_fails_and_a_rerun_runs_only_it(cluster, tmp_path):
    from reverie.core import sidecar
    from reverie.scale.batch import done, read_jobs, run_batch

    jobs = read_jobs(six_jobs(tmp_path))
    out = tmp_path / "out"
    seen = []
    report = run_batch(jobs, out, cluster=cluster, retries=1,
                       progress=lambda d, t, m="": seen.append((d, t, m)))
    assert (report.jobs, report.skipped, report.done, report.workers) == (6, 0, 5, 2)
    [failure] = report.failed
    assert failure["line"] == 4 and failure["out"] == "later/eliza.txt"
    assert "later.txt" in failure["error"] and "missing" in failure["error"]
    assert "\n" not in failure["error"]
    assert seen[-1][:2] == (6, 6) and any("failed later/eliza.txt" in m for *_, m in seen)
    for name in ("0001-chat.txt", "0002-chat.txt", "0003-chat.txt", "dream.png", "men.json"):
        assert (out / name).is_file()
        record = json.loads(sidecar.sidecar_path(out / name).read_text())
        sidecar.validate(record)
    assert (out / "0001-chat.txt").read_text().startswith("> I am sad 0 times.\nELIZA: ")
    assert not (out / "later" / "eliza.txt").exists()
    assert [done(j, out) for j in jobs] == [True, True, True, False, True, True]

    shutil.copy(DOCTOR, tmp_path / "later.txt")  # the missing input arrives
    before = (out / "dream.png").stat().st_mtime_ns
    again = run_batch(jobs, out, cluster=cluster, retries=1)
    assert (again.skipped, again.done, again.failed) == (5, 1, [])
    assert [f["out"] for f in again.finished] == ["later/eliza.txt"]
    assert (out / "later" / "eliza.txt").is_file() and (out / "later" / "eliza.json").is_file()
    assert (out / "dream.png").stat().st_mtime_ns == before  # not made again
    assert run_batch(jobs, out, cluster=cluster).skipped == 6  # nothing left: no cluster needed
    # an edited job is not the one its output came from: it runs again
    said = dict(jobs[0], inputs={**jobs[0]["inputs"], "say": {"value": ["I am glad."]}})
    steps = dict(jobs[4], config={**jobs[4]["config"], "steps": 3})
    assert not done(said, out) and not done(steps, out)
    (tmp_path / "later.txt").write_text((tmp_path / "later.txt").read_text() + "\n")
    assert not done(jobs[3], out)  # its script changed since


def test_a_sidecar_on_one_line_is_a_job(tmp_path):
    """run_job runs in this process too; its sidecar, as a job, makes the same bytes."""
    from reverie.scale.batch import parse_job, run_job

    job = parse_job({"mechanism": "chat", "inputs": {"say": ["Hello there"]}}, 1)
    threads = torch.get_num_threads()
    info = run_job(job, tmp_path / "a")
    assert torch.get_num_threads() == threads  # one thread in the job, put back after
    text = Path(info["outputs"]["transcript"])
    record = json.loads(Path(info["outputs"]["sidecar"]).read_text())
    again = run_job({**parse_job(record, 1), "out": "copy.txt"}, tmp_path / "b")
    assert Path(again["outputs"]["transcript"]).read_bytes() == text.read_bytes()


def test_a_field_left_out_of_a_job_takes_its_default_and_of_a_record_its_added_value(tmp_path):
    # ChatConfig.ADDED: a conversation recorded before the cache ran without it, but a job
    # written by hand that leaves cache_lambda out asks for the default (0.15)
    from reverie.scale.batch import parse_job, run_job

    plain = parse_job({"mechanism": "chat", "inputs": {"say": ["Hello"]}}, 1)
    info = run_job(plain, tmp_path / "a")
    record = json.loads(Path(info["outputs"]["sidecar"]).read_text())
    assert record["config"]["cache_lambda"] == 0.15
    del record["config"]["cache_lambda"]
    info = run_job({**parse_job(record, 1), "out": "old.txt"}, tmp_path / "b")
    assert json.loads(Path(info["outputs"]["sidecar"]).read_text())["config"]["cache_lambda"] == 0


def test_a_local_batch_prints_no_dask_info_lines(tmp_path, capfd, caplog, monkeypatch):
    """Dask's scheduler, nanny and workers log INFO lines by the dozen; a batch (and the
    gallery's) keeps them out unless asked for with dask_logs."""
    import logging
    import re

    import distributed  # noqa: F401 (sets up its logging on import)
    from reverie.cli import main
    from reverie.scale.batch import dask_logs

    # where the root logger already had a handler when Dask was imported (a program that
    # set up logging first), Dask logs through the root's, not a handler of its own
    logger = logging.getLogger("distributed")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"mechanism": "chat", "inputs": {"say": "hi"}}])
    assert main(["batch", str(jobs), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    said = [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.name.startswith("distributed") and r.levelno < logging.WARNING]
    assert not said, said[:5]
    err = capfd.readouterr().err  # the worker processes' stderr too
    assert not re.search(r"\bINFO\b", err), err[:500]
    assert (tmp_path / "out" / "0001-chat.txt").is_file()
    # asked for, the INFO lines are there; the level is put back after
    before = logger.level
    with dask_logs("info"):
        assert logging.getLogger("distributed.scheduler").isEnabledFor(logging.INFO)
    with dask_logs():
        assert not logging.getLogger("distributed.scheduler").isEnabledFor(logging.INFO)
    assert logger.level == before


@pytest.mark.parametrize("line, words", [
    ('{"mechanism": "chat", "inputs": {"say": "hi"}', "not valid JSON"),
    ('{"mechanism": "chatt", "inputs": {"say": "hi"}}', "unknown mechanism 'chatt'"),
    ('{"mechanism": "chat", "inputs": {"say": "hi"}, "config": {"bott": "eliza"}}',
     "no config field 'bott' (did you mean bot?)"),
    ('{"mechanism": "chat", "inputs": {"say": "hi"}, "config": {"bot": "hal"}}', "bot"),
    ('{"mechanism": "chat", "inputs": {}}', "needs input 'say'"),
    ('{"mechanism": "chat", "inputs": {"say": "hi", "sayy": "x"}}', "no input 'sayy'"),
    ('{"mechanism": "chat", "inputs": {"say": "hi"}, "out": "../x.txt"}', "inside the output"),
    ('{"mechanism": "chat", "inputs": {"say": "hi"}, "out": "x.png"}', "not '.png'"),
    ('["chat"]', "a job is a JSON object"),
    ('{"mechanism": "chat", "inputs": {"say": "hi"}, "out": "0001-chat.json"}',
     "would overwrite '0001-chat.json' of line 1"),
    ('{"mechanism": "dream", "inputs": {"image": {"source": null, "note": "given in memory '
     '(Tensor)"}}}', "was given in memory (Tensor), not a file"),
])
def test_a_bad_line_is_one_line_naming_it(cli, tmp_path, line, words):
    good = '{"mechanism": "chat", "inputs": {"say": "hi"}}'
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(f"{good}\n\n{line}\n")
    code, out, err = cli("batch", jobs, "--out", tmp_path / "out")
    assert_one_line_error(code, err)
    assert "jobs.jsonl line 3: " in err and words in err, err
    assert not (tmp_path / "out").exists()


def test_cli_lists_a_failed_job_and_exits_1(cli, cluster, tmp_path):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"mechanism": "chat", "inputs": {"say": "hi"}, "out": "ok.txt"},
        {"mechanism": "chat", "inputs": {"say": "hi", "script": "nowhere.txt"}, "out": "no.txt"}])
    code, out, err = cli("batch", jobs, "--out", tmp_path / "out", "--cluster", cluster,
                         "--retries", "0", "--json")
    assert code == 1
    printed = json.loads(out)
    assert printed["figures"]["done"] == 1 and printed["figures"]["failed"][0]["line"] == 2
    assert any("failed: line 2 (no.txt): input 'script' (nowhere.txt) is missing" in n
               for n in printed["notes"])
    rows = [json.loads(r) for r in (tmp_path / "out" / "batch.jsonl").read_text().splitlines()]
    assert [(r["line"], r["status"]) for r in rows] == [(1, "done"), (2, "failed")]
    assert (tmp_path / "out" / "batch.json").exists()  # the batch's own sidecar
    code, _, err = cli("batch", jobs, "--out", tmp_path / "out", "--cluster", cluster,
                       "--workers", "2")
    assert_one_line_error(code, err)
    code, _, err = cli("batch", jobs, "--out", tmp_path / "out", "--cluster", "nowhere:1")
    assert_one_line_error(code, err)


def pixels(frame):
    from reverie.io.images import tensor_to_pil
    return np.asarray(tensor_to_pil(frame))


def test_zoom_runs_as_a_chain_of_chunks_and_resumes(cluster, tmp_path):
    from reverie.core import sidecar
    from reverie.image.deepdream import DreamConfig, dream, zoom_rotate
    from reverie.io.images import as_image, save_image
    from reverie.scale.batch import chunk_folder, dream_chain

    cfg = DreamConfig(**TINY_DREAM, frames=3)
    result, paths = dream_chain("sample:coins", cfg, tmp_path / "zoom.gif", cluster="local",
                                workers=1, chunk=2)
    assert paths["animation"].is_file() and paths["sidecar"].is_file()
    sidecar.validate(json.loads(paths["sidecar"].read_text()))
    assert len(result.frames) == 3 and result.figures["chunks"] == 2
    assert not (tmp_path / ".chunks").exists()  # cleaned up once the animation is written

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as on the worker
    try:  # chunk 0 is dream() itself; chunk 1 dreams on from its last frame, seed + 1
        first = dream("sample:coins", cfg.replace(frames=2))
        second = dream(zoom_rotate(result.frames[1], cfg.zoom, cfg.rotate),
                       cfg.replace(frames=1, seed=1))
    finally:
        torch.set_num_threads(threads)
    expected = first.frames + second.frames
    for got, want in zip(result.frames, expected):
        assert np.array_equal(pixels(got), pixels(want))

    # a run killed after chunk 0: its frames are on disk (black here, to see they are used)
    folder = chunk_folder(tmp_path / "again.gif", cfg, as_image("sample:coins", 64), 2)
    for i in range(2):
        save_image(torch.zeros_like(result.frames[0]), folder / f"{i:06d}.png")
    resumed, _ = dream_chain("sample:coins", cfg, tmp_path / "again.gif", cluster=cluster, chunk=2)
    assert resumed.figures["chunks_resumed"] == 1
    assert pixels(resumed.frames[0]).max() == 0 and pixels(resumed.frames[2]).max() > 0


def test_the_batch_seed_varies_jobs_that_name_none(tmp_path):
    from reverie.scale.batch import BatchConfig, _with_defaults
    job = {"mechanism": "dream", "config": {"size": 64}, "inputs": {}, "out": "a.png", "line": 3}
    named = {**job, "config": {"seed": 7}}
    assert _with_defaults(job, BatchConfig())["config"] == {"size": 64}
    assert _with_defaults(job, BatchConfig(seed=10, device="cpu"))["config"] == \
        {"size": 64, "seed": 13, "device": "cpu"}
    assert _with_defaults(named, BatchConfig(seed=10))["config"] == {"seed": 7}
    chat = {**job, "mechanism": "chat", "config": {}}  # ELIZA has a seed, and no device
    assert "device" not in _with_defaults(chat, BatchConfig(device="cpu"))["config"]


def test_a_job_may_name_a_zoo_model(small_zoo, tmp_path, monkeypatch):
    """model:NAME as a job's input: run, recorded with its files' sha256, then skipped."""
    from reverie.scale.batch import done, parse_job, run_job

    monkeypatch.setenv("REVERIE_ZOO", str(small_zoo))
    job = parse_job({"mechanism": "sample_text", "inputs": {"model": "model:tiny"},
                     "config": {"length": 8}, "out": "s.txt"}, 1)
    info = run_job(job, tmp_path)
    assert len(Path(info["outputs"]["text"]).read_text()) >= 8
    record = json.loads(Path(info["outputs"]["sidecar"]).read_text())
    assert record["inputs"]["model"]["source"] == "model:tiny"
    assert record["inputs"]["model"]["sha256"]
    assert done(job, tmp_path)
