import contextlib
import os

import pytest
import torch

# Every test runs on a fixed number of torch threads, never on what the load average leaves
# free: another thread count sums in another order and trains another model. 1 unless
# REVERIE_THREADS says otherwise (tests/check_suite.py runs the suite at 1 and at 2).
# Set in the environment, `threads=auto` resolves to it here and in every process a test
# starts (the CLI, torchrun, Dask workers).
os.environ.setdefault("REVERIE_THREADS", "1")
from reverie.core.threads import free_cores  # noqa: E402

THREADS = free_cores()  # REVERIE_THREADS, being set
torch.set_num_threads(THREADS)


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from reverie.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def assert_one_line_error(code, err):
    assert code == 2, err
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


def assert_rerun_identical(paths: dict, tmp_path, changes: dict | None = None) -> dict:
    """The sidecar validates against the schema, and `rerun` makes every output again,
    byte for byte. Returns the rerun's paths."""
    import json
    from reverie.core import sidecar
    from reverie.core.rerun import rerun

    record = json.loads(paths["sidecar"].read_text())
    sidecar.validate(record)
    main = next(p for k, p in paths.items() if k != "sidecar")
    _, again = rerun(paths["sidecar"], out=tmp_path / f"rerun{main.suffix}", changes=changes)
    for role, path in paths.items():
        if role != "sidecar":
            assert again[role].read_bytes() == path.read_bytes(), f"{role} differs on rerun"
    return again


class Previews:
    """A progress callback that keeps what a mechanism shows as it works (`show_preview`)."""

    def __init__(self):
        self.seen = []

    def __call__(self, done, total, message=""):
        pass

    def preview(self, value):
        self.seen.append(value)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(app):
    """A studio app served by uvicorn on a free loopback port, in a thread: yields its URL,
    stops the server and the app's workers after."""
    import threading
    import time

    import uvicorn
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.jobs.stop()


def studio_client(app):
    """A TestClient that addresses a studio app as a script of the user's does: an allowed
    Host, the studio's Origin and its token in a header (for tests of other domains' pages)."""
    from fastapi.testclient import TestClient

    own = "http://127.0.0.1:7860"
    return TestClient(app, base_url=own, headers={
        "Origin": own, "X-Reverie-Token": app.state.settings.token})


# -- a tiny model zoo (the studio's model choices, batch jobs naming model:NAME) -----------

ZOO_CARD = {"title": "a tiny test model", "uses": ["sample_text"], "data": "a planted text",
            "licence": "CC0", "recipe": "reverie text train X --out {out}", "hardware": "cpu",
            "steps": 6, "wall_seconds": 60.0, "figures": {"val_loss": 2.5},
            "short_budget": {"val_loss": 3.25}, "baseline": {"val_loss": 4.125}}


@pytest.fixture(scope="session")
def small_zoo(tmp_path_factory):
    """A zoo of three, made in seconds: model:tiny for sample_text, model:other for chat
    only, and a model whose card does not read. Set REVERIE_ZOO to it (monkeypatch)."""
    from reverie import zoo
    from reverie.text.charlm import CharLMConfig
    from reverie.text.train import train_charlm
    from trainers import SEED_TEXT

    folder = tmp_path_factory.mktemp("zoo")
    cfg = CharLMConfig(rnn_size=8, n_embd=4, seq_length=8, batch_size=2, max_steps=6,
                       eval_every=6, eval_iters=1, checkpoint_every=6, warmup_iters=1,
                       threads=1)
    ckpt = train_charlm(text=SEED_TEXT, config=cfg).checkpoint
    zoo.export(ckpt, "tiny", folder, ZOO_CARD)
    zoo.export(ckpt, "other", folder, {**ZOO_CARD, "title": "chat only", "uses": ["chat"]})
    (folder / "broken").mkdir()
    (folder / "broken" / "card.json").write_text("{not json")
    return folder
