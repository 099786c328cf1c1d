"""Distributed training with real processes on the loopback: torchrun, gloo, two ranks."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from reverie.text.charlm import load_checkpoint

TINY = ["--rnn-size", "32", "--n-embd", "16", "--batch-size", "4", "--seq-length", "24",
        "--dropout", "0", "--threads", "1", "--seed", "3", "--warmup-iters", "2",
        "--no-progress", "--json"]


@pytest.fixture
def corpus(tmp_path):
    from reverie.io.datasets import read_text
    path = tmp_path / "plays.txt"
    path.write_text(read_text("shakespeare")[:30_000], encoding="utf-8")
    return path


def env():
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        e.pop(k, None)
    return e


def train(corpus, out, processes, *extra, wait=True):
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc-per-node={processes}", "-m", "reverie"] if processes > 1
                else [sys.executable, "-m", "reverie"])
    cmd = launcher + ["text", "train", str(corpus), "--out", str(out), *TINY, *extra]
    if not wait:
        return subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    p = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    return p


def weights(path):
    return load_checkpoint(path)["model"]


def assert_same_model(a, b, tol=2e-4):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=tol, rtol=0), (k, (wa[k] - wb[k]).abs().max())


def test_two_processes_train_the_model_one_process_trains(corpus, tmp_path):
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    args = ["--max-steps", "12", "--eval-every", "4"]
    p1 = train(corpus, one, 1, *args)
    p2 = train(corpus, two, 2, *args)
    h1 = json.loads(p1.stdout)["figures"]["history"]
    h2 = json.loads(p2.stdout)["figures"]["history"]  # printed once: rank 0 alone reports
    # (the loop evaluates once at the last step: the final figure is the last entry)
    assert [h["step"] for h in h1] == [h["step"] for h in h2] == [4, 8, 12]
    for a, b in zip(h1, h2):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-4)
    assert h2[-1]["val_loss"] < h2[0]["val_loss"] + 0.5  # it trained, not diverged
    assert_same_model(one, two)
    side = json.loads(two.with_suffix(".json").read_text())
    assert side["resolved"]["processes"] == 2
    # only rank 0 wrote: one model, one sidecar, no stray temporary files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.json", "one.pt", "plays.txt",
                                                           "two.json", "two.pt"]


def kill_job(launcher: subprocess.Popen) -> None:
    """SIGKILL a torchrun job whole, as a lost node would: torchrun starts each worker in a
    session of its own, so killing the launcher's group alone leaves the workers training
    (and writing checkpoints beside the resumed run)."""
    def stat(pid_dir):  # (state, parent pid) from /proc
        try:
            fields = (pid_dir / "stat").read_text().rsplit(")", 1)[1].split()
            return fields[0], int(fields[1])
        except (OSError, IndexError, ValueError):
            return "X", None
    workers = [int(d.name) for d in Path("/proc").iterdir()
               if d.name.isdigit() and stat(d)[1] == launcher.pid]
    os.killpg(launcher.pid, signal.SIGKILL)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    launcher.wait()
    deadline = time.time() + 30
    while any(stat(Path(f"/proc/{pid}"))[0] not in "XZ" for pid in workers) and time.time() < deadline:
        time.sleep(0.05)


def test_a_killed_two_process_run_resumes_in_one_process(corpus, tmp_path):
    whole, cut = tmp_path / "whole.pt", tmp_path / "cut.pt"
    args = ["--max-steps", "400", "--eval-every", "400", "--checkpoint-every", "5"]
    run = train(corpus, cut, 2, *args, wait=False)
    deadline = time.time() + 120
    while not cut.exists() and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    kill_job(run)
    assert cut.exists(), run.stderr.read().decode()[-2000:]
    step = load_checkpoint(cut)["run"]["step"]
    assert 0 < step < 400
    train(corpus, cut, 1, *args, "--resume")
    assert load_checkpoint(cut)["run"]["step"] == 400
    train(corpus, whole, 1, *args)
    assert_same_model(whole, cut, tol=1e-3)


def test_a_batch_that_does_not_split_is_refused(corpus, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           "-m", "reverie", "text", "train", str(corpus), "--out", str(tmp_path / "m.pt"),
           "--batch-size", "5", "--max-steps", "2", "--no-progress"]
    p = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "batch_size 5 does not split evenly over 2 processes" in p.stderr
    # each rank gives the one-line error (torchrun then reports the failed ranks its own way)
    assert "reverie/text" not in p.stderr and "ReverieError" not in p.stderr


def test_a_group_torchrun_restarts_resumes_from_its_checkpoint(corpus, tmp_path, monkeypatch):
    from reverie.text.train import train_charlm
    out = tmp_path / "m.pt"
    tiny = dict(rnn_size=16, n_embd=8, batch_size=2, seq_length=16, max_steps=6,
                checkpoint_every=3, eval_every=6, threads=1)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "bard")
    train_charlm([corpus], out=out, **tiny)
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    again = train_charlm([corpus], out=out, **dict(tiny, max_steps=9))
    assert again.figures["steps"] == 9
    assert any("resumed from m.pt at step 6" in n for n in again.notes)
    # another job's restart finds a file it did not write: it starts afresh over it
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "other")
    fresh = train_charlm([corpus], out=out, **dict(tiny, rnn_size=12))
    assert not any("resumed" in n for n in fresh.notes)
    assert fresh.config.rnn_size == 12
