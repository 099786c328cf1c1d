"""Reverie Studio over HTTP: pages generated from the registry, jobs, uploads, safety."""
import io
import json
import os

import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from conftest import assert_one_line_error  # noqa: E402
from reverie.core.config import fields  # noqa: E402
from reverie.core.registry import mechanisms  # noqa: E402
from reverie.studio.app import Settings, create_app  # noqa: E402

TINY_DREAM = {"image": "sample:coins", "size": "64", "octaves": "1", "steps": "2", "jitter": "4"}


@pytest.fixture
def studio(tmp_path):
    app = create_app(Settings(tmp_path / "studio", workers=1, max_upload_mb=1))
    with TestClient(app) as client:
        client.jobs = app.state.jobs
        client.folder = tmp_path / "studio"
        yield client
    app.state.jobs.stop()


def submit(client, name, data, files=None):
    r = client.post(f"/m/{name}/run", data=data, files=files or {},
                    headers={"Accept": "application/json"})
    return r


def finished(client, job_id, timeout=60):
    return client.jobs.wait(job_id, timeout)


def test_every_mechanism_has_a_page_with_every_field(studio):
    index = studio.get("/").text
    for mech in mechanisms().values():
        assert f'href="/m/{mech.name}"' in index
        page = studio.get(f"/m/{mech.name}")
        assert page.status_code == 200
        for f in fields(mech.config_class()):
            if f.cli and f.studio and f.name != "device":  # a field added to a Config appears by itself
                assert f'name="{f.name}"' in page.text, (mech.name, f.name)
        for inp in mech.inputs:
            assert f'name="{inp.name}"' in page.text
    assert "objects" in studio.get("/m/dream").text  # presets


def test_built_in_choices_suit_the_input(studio):
    probe = studio.get("/m/fit_sentiment").text
    assert "builtin:airline-tweets" in probe and "builtin:shakespeare" not in probe
    train = studio.get("/m/train_chat").text
    assert "builtin:chatterbot" in train and "builtin:tweets" not in train


def test_pages_load_nothing_from_elsewhere(studio):
    for url in ["/", "/m/dream", "/history"]:
        text = studio.get(url).text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
        r = studio.get(url)
        assert "default-src 'self'" in r.headers["content-security-policy"]


def test_a_dream_runs_and_explains_itself(studio):
    r = submit(studio, "dream", TINY_DREAM)
    assert r.status_code == 200, r.text
    job = finished(studio, r.json()["job"])
    assert job.status == "done", job.error
    page = studio.get(f"/jobs/{job.id}").text
    assert 'id="output"' in page and "top channels" in page and "stage5:" in page
    assert "Use these settings again" in page
    out = studio.get(f"/files/jobs/{job.id}/{job.outputs['image']}")
    assert out.status_code == 200 and out.content[:8] == b"\x89PNG\r\n\x1a\n"
    side = json.loads(studio.get(f"/files/jobs/{job.id}/{job.outputs['sidecar']}").text)
    assert side["mechanism"] == "dream" and side["config"]["steps"] == 2
    again = studio.get(f"/m/dream?again={job.id}").text
    assert 'name="steps" value="2"' in again
    assert job.id in studio.get("/history?mechanism=dream").text


def test_a_conversation_with_eliza_one_line_per_turn(studio):
    r = submit(studio, "chat", {"say": "Men are all alike.\nMy mother takes care of me.",
                                "bot": "eliza"})
    assert r.status_code == 200, r.text
    job = finished(studio, r.json()["job"])
    assert job.status == "done", job.error
    text = studio.get(f"/files/jobs/{job.id}/{job.outputs['transcript']}").text
    assert "IN WHAT WAY" in text and "TELL ME MORE ABOUT YOUR FAMILY" in text
    assert "IN WHAT WAY" in studio.get(f"/jobs/{job.id}").text


def test_a_batch_runs_on_a_local_cluster_with_progress_and_safe_inputs(studio):
    lines = [{"mechanism": "chat", "inputs": {"say": [line]}, "out": f"talk{i}.txt"}
             for i, line in enumerate(["Men are all alike.", "I am unhappy.", "My mother."])]
    jobs = "".join(json.dumps(line) + "\n" for line in lines).encode()
    r = submit(studio, "batch", {"workers": "1", "cluster": "tcp://10.9.9.9:8786"},  # not a page's to set
               files={"jobs__file": ("jobs.jsonl", io.BytesIO(jobs), "application/jsonl")})
    assert r.status_code == 200, r.text
    job = finished(studio, r.json()["job"], timeout=120)
    assert job.status == "done", job.error
    assert job.done == job.total == 3  # one step a job
    assert "3 done" in job.summary
    talk = studio.get(f"/files/jobs/{job.id}/talk0.txt").text
    assert "IN WHAT WAY" in talk
    # a page may not make the studio read other files of this machine through a batch
    sneaky = json.dumps({"mechanism": "chat", "inputs": {"say": ["hi"], "script": "/etc/passwd"}})
    r = submit(studio, "batch", {},
               files={"jobs__file": ("jobs.jsonl", io.BytesIO(sneaky.encode()), "text/plain")})
    assert r.status_code == 400 and "line 1: input 'script' is '/etc/passwd'" in r.json()["error"]
    for inputs in ({"say": ["hi"], "script": {"value": "/etc/passwd"}},   # a record
                   {"say": ["hi"], "script": [["/etc/passwd"]]}):        # nested
        sneaky = json.dumps({"mechanism": "chat", "inputs": inputs})
        r = submit(studio, "batch", {},
                   files={"jobs__file": ("jobs.jsonl", io.BytesIO(sneaky.encode()), "text/plain")})
        assert r.status_code == 400 and "line 1: input 'script'" in r.json()["error"], r.text
    sneaky = json.dumps({"mechanism": "style_transfer", "inputs": {"content": "sample:coins",
                         "styles": ["sample:brick"]}, "config": {"init": "/etc/hostname"}})
    r = submit(studio, "batch", {},
               files={"jobs__file": ("jobs.jsonl", io.BytesIO(sneaky.encode()), "text/plain")})
    assert r.status_code == 400 and "config 'init' names a file" in r.json()["error"], r.text


def test_settings_that_name_files_read_only_the_studios_folder(studio):
    """A Config field that may name a file (style's init image, VGG weights) takes only a file
    inside the studio's folder from a page; keywords pass as they are."""
    style = {"content": "sample:coins", "styles": "sample:brick", "size": "32"}
    for field, value in (("init", "/etc/hostname"), ("init", "../../etc/hostname"),
                         ("model", "vgg19:/etc/hostname")):
        r = submit(studio, "style_transfer", {**style, field: value})
        assert r.status_code == 400 and "not a file in the studio's folder" in r.json()["error"], r.text
    from reverie.core.registry import get
    from reverie.studio.forms import config_from_form
    (studio.folder / "mine.png").write_bytes(b"x")
    config = config_from_form(get("style_transfer"), {"init": "mine.png", "model": "random:3"}, studio.folder)
    assert config["init"] == str((studio.folder / "mine.png").resolve())
    assert config["model"] == "random:3"
    assert config_from_form(get("style_transfer"), {"init": "noise"}, studio.folder)["init"] == "noise"


def test_bad_settings_and_inputs_are_refused_before_a_job(studio):
    r = submit(studio, "dream", {**TINY_DREAM, "steps": "0"})
    assert r.status_code == 400 and "steps" in r.json()["error"] and "at least 1" in r.json()["error"]
    r = submit(studio, "dream", {**TINY_DREAM, "image": "/etc/passwd"})
    assert r.status_code == 400 and "not a file in the studio's folder" in r.json()["error"]
    assert studio.jobs.newest_first() == []


def test_uploads_are_checked_by_content_and_size(studio):
    r = submit(studio, "dream", {**TINY_DREAM, "image": ""},
               files={"image__file": ("photo.png", io.BytesIO(b"this is not a picture"), "image/png")})
    assert r.status_code == 400 and "not an image" in r.json()["error"]
    assert "photo.png" in r.json()["error"] and ".part" not in r.json()["error"]
    big = io.BytesIO(b"\0" * (1024 * 1024 + 10))
    r = submit(studio, "dream", {**TINY_DREAM, "image": ""},
               files={"image__file": ("big.png", big, "image/png")})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    uploads = studio.folder / "uploads"
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_a_real_upload_is_used(studio):
    from reverie.io.images import load_image, save_image
    buffer = studio.folder / "x.png"
    save_image(load_image("sample:coffee", max_side=64), buffer)
    r = submit(studio, "dream", {**TINY_DREAM, "image": ""},
               files={"image__file": ("my photo.png", buffer.open("rb"), "image/png")})
    job = finished(studio, r.json()["job"])
    assert job.status == "done" and job.inputs["image"].endswith("my_photo.png")


@pytest.mark.parametrize("path", ["../secret.txt", "%2e%2e/secret.txt", "..%2fsecret.txt",
                                  "%2fetc%2fpasswd", "/etc/passwd", "jobs/../../secret.txt",
                                  "link/secret.txt"])
def test_nothing_outside_the_folder_is_served(studio, path):
    (studio.folder.parent / "secret.txt").write_text("do not serve")
    link = studio.folder / "link"
    if not link.exists():
        os.symlink(studio.folder.parent, link)
    r = studio.get(f"/files/{path}")
    assert r.status_code == 404 and "do not serve" not in r.text


def test_jobs_queue_and_finish_in_order(studio):
    ids = [submit(studio, "dream", {**TINY_DREAM, "seed": str(i)}).json()["job"] for i in range(3)]
    jobs = [finished(studio, i) for i in ids]
    assert all(j.status == "done" for j in jobs)
    starts = [j.started for j in jobs]
    assert starts == sorted(starts) and jobs[0].finished <= jobs[1].started + 1e-3


def test_a_failing_job_leaves_the_studio_running(studio, monkeypatch):
    import reverie.image.deepdream as deepdream

    def boom(*a, **k):
        raise RuntimeError("a bug")
    monkeypatch.setattr(deepdream, "dream", boom)
    bad = finished(studio, submit(studio, "dream", TINY_DREAM).json()["job"])
    assert bad.status == "failed" and "internal error" in bad.error
    monkeypatch.undo()
    good = finished(studio, submit(studio, "dream", TINY_DREAM).json()["job"])
    assert good.status == "done"


def test_cancel_a_queued_job(studio):
    first = submit(studio, "dream", {**TINY_DREAM, "steps": "30", "size": "128"}).json()["job"]
    second = submit(studio, "dream", TINY_DREAM).json()["job"]
    assert studio.post(f"/jobs/{second}/cancel").status_code in (200, 303)
    assert finished(studio, second).status == "cancelled"
    assert finished(studio, first).status == "done"


def test_finished_jobs_survive_a_restart(tmp_path):
    settings = Settings(tmp_path / "s")
    app = create_app(settings)
    with TestClient(app) as client:
        job_id = submit(client, "dream", TINY_DREAM).json()["job"]
        app.state.jobs.wait(job_id)
    app.state.jobs.stop()
    app2 = create_app(Settings(tmp_path / "s"))
    with TestClient(app2) as client:
        assert app2.state.jobs.get(job_id).status == "done"
        assert job_id in client.get("/history").text
    app2.state.jobs.stop()


def test_events_stream_reports_progress(studio):
    job_id = submit(studio, "dream", TINY_DREAM).json()["job"]
    finished(studio, job_id)
    with studio.stream("GET", f"/jobs/{job_id}/events") as r:
        body = "".join(r.iter_text())
    state = json.loads(body.strip().split("data: ")[-1])
    assert state["status"] == "done" and state["done"] == state["total"] > 0


TINY_LM = {"rnn_size": "16", "n_embd": "8", "seq_length": "16", "batch_size": "4",
           "max_steps": "40", "eval_every": "10", "eval_iters": "2", "checkpoint_every": "10",
           "warmup_iters": "2", "threads": "1"}
PLAY = ("ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
        "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n") * 40


def test_training_checkpoints_shows_curves_resumes_and_feeds_other_pages(studio, monkeypatch):
    from reverie.studio import jobs as studio_jobs
    upload = {"corpus__file": ("play.txt", PLAY.encode(), "text/plain")}
    # cut the run short after step 25, as a user pressing Cancel would
    original = studio_jobs.Reporter.__call__

    def cancel_at_25(self, done, total, message=""):
        if (self.job.mechanism == "train_charlm" and done >= 25
                and self.job.config.get("resume") is not True):
            self.jobs._cancel[self.job.id].set()
        return original(self, done, total, message)
    monkeypatch.setattr(studio_jobs.Reporter, "__call__", cancel_at_25)
    job_id = submit(studio, "train_charlm", TINY_LM, upload).json()["job"]
    job = finished(studio, job_id)
    assert job.status == "cancelled" and job.preview == "preview.png"  # the live loss curve
    page = studio.get(f"/jobs/{job_id}").text
    assert "Resume from the checkpoint" in page  # a checkpoint at step 20 is on disk
    assert studio.post(f"/jobs/{job_id}/resume").status_code in (200, 303)
    job = finished(studio, job_id)
    assert job.status == "done", job.error
    assert any("resumed from train_charlm.pt at step 20" in n for n in job.notes)
    side = json.loads((studio.folder / "jobs" / job_id / job.outputs["sidecar"]).read_text())
    assert side["figures"]["steps"] == 40
    page = studio.get(f"/jobs/{job_id}").text
    assert "loss curves" in page and job.explanations["loss curves"] == "loss-curves.png"
    # the trained model is a choice on the pages that take one; sampling it explains itself
    model = f"jobs/{job_id}/train_charlm.pt"
    assert model in studio.get("/m/sample_text").text
    sample_id = submit(studio, "sample_text", {"model": model, "length": "80"}).json()["job"]
    sample = finished(studio, sample_id)
    assert sample.status == "done" and "unit trace" in sample.explanations
    trace = studio.get(f"/files/jobs/{sample_id}/{sample.explanations['unit trace']}")
    assert trace.status_code == 200 and "<span" in trace.text
    csp = trace.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp  # a framed page runs nothing
    assert "<iframe" in studio.get(f"/jobs/{sample_id}").text


def test_history_exports_as_a_static_page(studio):
    import zipfile
    job = finished(studio, submit(studio, "dream", TINY_DREAM).json()["job"])
    assert 'href="/history/export"' in studio.get("/history").text
    r = studio.get("/history/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(z.namelist())
    index = z.read("history/index.html").decode()
    image = f"jobs/{job.id}/{job.outputs['image']}"
    assert f"history/{image}" in names and "history/static/studio.css" in names
    assert f'src="{image}"' in index and "/files/" not in index and "<script" not in index
    assert not any("upload" in n or "job.json" in n for n in names)


def test_auth_when_asked(tmp_path):
    app = create_app(Settings(tmp_path / "a", auth="ada:lovelace"))
    with TestClient(app) as client:
        assert client.get("/").status_code == 401
        assert client.get("/", auth=("ada", "wrong")).status_code == 401
        assert client.get("/", auth=("ada", "lovelace")).status_code == 200
    app.state.jobs.stop()


def test_a_public_host_needs_a_password(cli):
    code, _, err = cli("studio", "--host", "0.0.0.0", "--no-browser")
    assert_one_line_error(code, err)
    assert "--auth" in err
