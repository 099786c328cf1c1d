"""Reverie Studio over HTTP: pages generated from the registry, jobs, uploads, safety."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from conftest import assert_one_line_error, free_port, serve_app  # noqa: E402
from reverie.core.config import fields  # noqa: E402
from reverie.core.registry import mechanisms  # noqa: E402
from reverie.studio.app import Settings, create_app  # noqa: E402
from reverie.studio.jobs import FINISHED  # noqa: E402

TINY_DREAM = {"image": "sample:coins", "size": "64", "octaves": "1", "steps": "2", "jitter": "4"}
OWN = "http://127.0.0.1:7860"  # the studio as its own pages address it


def own_client(app):
    """A client as the studio's own pages are: an allowed Host, its Origin on every request."""
    client = TestClient(app, base_url=OWN, headers={"Origin": OWN})
    client.jobs, client.token = app.state.jobs, app.state.settings.token
    client.folder = app.state.settings.folder
    return client


@pytest.fixture
def studio(tmp_path):
    app = create_app(Settings(tmp_path / "studio", workers=1, max_upload_mb=1))
    with own_client(app) as client:
        yield client
    app.state.jobs.stop()


def submit(client, name, data, files=None):
    """POST the mechanism's form as its page does: the fields and the page's token."""
    return client.post(f"/m/{name}/run", data={**data, "_token": client.token},
                       files=files or {}, headers={"Accept": "application/json"})


def write(client, url, **kw):
    """A POST of one of the page's buttons (cancel, resume, run again, export)."""
    return client.post(url, data={"_token": client.token}, **kw)


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
    import re

    def choices(name):  # the datalists' options (a zoo card's recipe may name other data)
        page = studio.get(f"/m/{name}").text
        return re.findall(r'<option value="([^"]*)">', page)
    probe = choices("fit_sentiment")
    assert "builtin:airline-tweets" in probe and "builtin:shakespeare" not in probe
    train = studio.get("/m/train_chat").text
    assert "builtin:chatterbot" in train and "builtin:tweets" not in train
    style = choices("style_transfer")  # the photos and the public-domain paintings
    assert "sample:chelsea" in style and "sample:starry-night" in style


def test_pages_load_nothing_from_elsewhere(studio):
    for url in ["/", "/m/dream", "/history"]:
        text = studio.get(url).text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
        r = studio.get(url)
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]  # no framing


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
    assert write(studio, f"/jobs/{second}/cancel").status_code in (200, 303)
    assert finished(studio, second).status == "cancelled"
    assert finished(studio, first, timeout=300).status == "done"  # slow on a loaded machine


def test_finished_jobs_survive_a_restart(tmp_path):
    settings = Settings(tmp_path / "s")
    app = create_app(settings)
    with own_client(app) as client:
        job_id = submit(client, "dream", TINY_DREAM).json()["job"]
        app.state.jobs.wait(job_id)
    app.state.jobs.stop()
    app2 = create_app(Settings(tmp_path / "s"))
    with own_client(app2) as client:
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
    assert write(studio, f"/jobs/{job_id}/resume").status_code in (200, 303)
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
    assert 'action="/history/export"' in studio.get("/history").text
    r = write(studio, "/history/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(z.namelist())
    index = z.read("history/index.html").decode()
    image = f"jobs/{job.id}/{job.outputs['image']}"
    assert f"history/{image}" in names and "history/static/studio.css" in names
    assert f'src="{image}"' in index and "/files/" not in index and "<script" not in index
    assert not any("upload" in n or "job.json" in n for n in names)
    assert studio.token not in index and "_token" not in index  # nothing of this server


def test_auth_when_asked(tmp_path):
    app = create_app(Settings(tmp_path / "a", auth="ada:lovelace"))
    with own_client(app) as client:
        assert client.get("/").status_code == 401
        assert client.get("/", auth=("ada", "wrong")).status_code == 401
        assert client.get("/", auth=("ada", "lovelace")).status_code == 200
    app.state.jobs.stop()


def test_a_public_host_needs_a_password(cli):
    code, _, err = cli("studio", "--host", "0.0.0.0", "--no-browser")
    assert_one_line_error(code, err)
    assert "--auth" in err


# -- other web pages may not use the studio ---------------------------------------------------

ELIZA = {"say": "Men are all alike.", "bot": "eliza"}


def refused_in_one_line(r, status=403):
    body = r.text if r.headers["content-type"].startswith("text/plain") else r.json()["error"]
    assert r.status_code == status and body.startswith("refused") and "\n" not in body, r.text


@pytest.mark.parametrize("host", ["evil.example:7860", "evil.example", "127.0.0.1.evil.example",
                                  "localhost.evil.example:7860", "127.0.0.1:7860@evil.example",
                                  "0.0.0.0:7860", "[::2]:7860", ""])
def test_a_foreign_host_is_refused(studio, host):
    """DNS rebinding: a page on a name its attacker controls, pointed at 127.0.0.1."""
    for url in ("/", "/history", "/m/dream", "/static/studio.css"):
        refused_in_one_line(studio.get(url, headers={"Host": host}))


@pytest.mark.parametrize("host", ["127.0.0.1:7860", "localhost:7860", "[::1]:7860", "LOCALHOST",
                                  "127.0.0.1:9000"])  # the port a tunnel forwards from
def test_loopback_names_are_served(studio, host):
    assert studio.get("/", headers={"Host": host}).status_code == 200


def test_allow_host_admits_a_named_one(tmp_path, cli):
    app = create_app(Settings(tmp_path / "s", allow_hosts=["Studio.Example"]))
    with own_client(app) as client:
        assert client.get("/history", headers={"Host": "studio.example"}).status_code == 200
        assert client.get("/history", headers={"Host": "studio.example:443"}).status_code == 200
        refused_in_one_line(client.get("/history", headers={"Host": "evil.example"}))
    app.state.jobs.stop()
    for bad in (["--allow-host", "studio.example:443"], ["--allow-host", "a b"],
                ["--token", "short"]):
        code, _, err = cli("studio", "--no-browser", "--folder", tmp_path / "f", *bad)
        assert_one_line_error(code, err)
    assert not (tmp_path / "f").exists()


def post_routes(app) -> list[str]:
    """Every POST the studio has, with its path's parameters filled in."""
    paths = [r.path for r in app.routes if "POST" in getattr(r, "methods", ())]
    return [p.replace("{name}", "chat").replace("{job_id}", "20250101-000000-abcdef")
            for p in paths]


FOREIGN = [{"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:9999"},
           {"Origin": "null"}, {"Origin": "https://evil.example:7860"},
           {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}]


@pytest.mark.parametrize("headers", FOREIGN)
def test_a_cross_origin_post_is_refused_and_makes_no_job(studio, headers):
    app = studio.app
    routes = post_routes(app)
    assert {"/m/chat/run", "/history/export"} <= set(routes) and len(routes) >= 5
    with TestClient(app, base_url=OWN) as attacker:  # even one that knows the token
        for url in routes:
            r = attacker.post(url, data={**ELIZA, "_token": studio.token},
                              headers={**headers, "X-Reverie-Token": studio.token})
            refused_in_one_line(r)
    assert studio.jobs.newest_first() == [] and not (studio.folder / "exports").exists()


def test_a_post_without_the_token_is_refused(studio):
    for token in (None, "", "wrong-token-1234", studio.token[:-1], "é" * 12):
        for url in post_routes(studio.app):
            data = ELIZA if token is None else {**ELIZA, "_token": token}
            refused_in_one_line(studio.post(url, data=data))
        if token:
            refused_in_one_line(studio.post("/m/chat/run", data=ELIZA,
                                            headers={"X-Reverie-Token": token.encode()}))
    assert studio.jobs.newest_first() == [] and not (studio.folder / "exports").exists()


def test_the_studios_own_pages_and_scripts_with_the_token_still_work(studio):
    page = studio.get("/m/chat").text
    assert f'name="_token" value="{studio.token}"' in page  # the form carries it
    ids = [submit(studio, "chat", ELIZA).json()["job"]]  # Origin: the studio's own
    with TestClient(studio.app, base_url=OWN) as other:
        ids.append(other.post("/m/chat/run", data={**ELIZA, "_token": studio.token},
                              headers={"Sec-Fetch-Site": "same-origin",
                                       "Accept": "application/json"}).json()["job"])
        # a script (no Origin, no Sec-Fetch-Site) with the token printed at start
        ids.append(other.post("/m/chat/run", data=ELIZA, headers={
            "X-Reverie-Token": studio.token, "Accept": "application/json"}).json()["job"])
    assert [finished(studio, i).status for i in ids] == ["done"] * 3


HOSTILE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
<script>document.documentElement.setAttribute("data-ran", "inline")</script>
<script href="/files/uploads/x/evil.js"></script><rect width="10" height="10"/></svg>"""
HOSTILE_HTML = """<html><body><script src="/files/uploads/x/evil.js"></script>
<script>document.documentElement.setAttribute("data-ran", "inline")</script>hi</body></html>"""


def plant_hostile_files(folder):
    """An SVG and an HTML page that run script if they can, as a user might upload them,
    beside a script of the studio's origin they try to load."""
    up = folder / "uploads" / "x"
    up.mkdir(parents=True, exist_ok=True)
    (up / "evil.svg").write_text(HOSTILE_SVG)
    (up / "evil.html").write_text(HOSTILE_HTML)
    (up / "evil.js").write_text('document.documentElement.setAttribute("data-ran", "src")')
    return ["uploads/x/evil.svg", "uploads/x/evil.html"]


def test_uploaded_html_or_svg_cannot_run_script(studio):
    for name in plant_hostile_files(studio.folder):
        r = studio.get(f"/files/{name}")
        assert r.status_code == 200
        policy = {d.split()[0]: d.split()[1:] for d in
                  r.headers["content-security-policy"].split(";") if d.strip()}
        assert policy["default-src"] == ["'none'"] and "script-src" not in policy
        assert policy["sandbox"] == []  # an origin of its own: no scripts, no forms


# -- queued work survives a restart ------------------------------------------------------------

def test_a_killed_studio_runs_its_queue_after_a_restart(tmp_path):
    """SIGKILL `reverie studio` with a training job running and two jobs queued: after a
    restart the two run, in their order, and the first is interrupted, offering Resume."""
    import httpx
    folder, port, token = tmp_path / "s", free_port(), "a-token-for-this-test"
    log = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "reverie", "studio", "--no-browser",
                             "--port", str(port), "--folder", str(folder), "--token", token,
                             "--allow-host", "studio.example"], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, headers={"X-Reverie-Token": token,
                                                 "Accept": "application/json"}) as c:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if c.get("/static/studio.css").status_code == 200:
                        break
                time.sleep(0.1)
            assert c.get("/", headers={"Host": "studio.example"}).status_code == 200
            assert c.get("/", headers={"Host": "evil.example"}).status_code == 403
            train = {**TINY_LM, "corpus": "builtin:shakespeare", "max_steps": "100000",
                     "checkpoint_every": "5"}
            first = c.post("/m/train_charlm/run", data=train).json()["job"]
            queued = [c.post("/m/chat/run", data={"say": f"I am job {i}.", "bot": "eliza"})
                      .json()["job"] for i in (2, 3)]
            checkpoint = folder / "jobs" / first / "train_charlm.pt"
            for _ in range(1200):
                if c.get(f"/jobs/{first}/state").json()["done"] > 5 and checkpoint.exists():
                    break
                time.sleep(0.1)
            assert [c.get(f"/jobs/{i}/state").json()["status"] for i in [first, *queued]] == \
                ["running", "queued", "queued"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        log.close()
    assert token in (tmp_path / "stderr.txt").read_text()  # printed at start for scripts

    app = create_app(Settings(folder))
    with own_client(app) as client:
        done = [client.jobs.wait(i, 60) for i in queued]
        assert [j.status for j in done] == ["done", "done"]
        assert done[0].finished <= done[1].started  # in their old order
        job = client.jobs.get(first)
        assert job.status == "interrupted" and not job.outputs
        page = client.get(f"/jobs/{first}").text
        assert "the studio stopped while this job ran" in page
        assert "Resume from the checkpoint" in page and 'id="output"' not in page
    app.state.jobs.stop()


def test_an_interrupted_job_shows_nothing_half_made_and_runs_again(tmp_path):
    folder = tmp_path / "s"
    app = create_app(Settings(folder))
    with own_client(app) as client:
        job = finished(client, submit(client, "chat", ELIZA).json()["job"])
    app.state.jobs.stop()
    # as the studio leaves a job it is killed in: the record says running, half-made files
    record_path = folder / "jobs" / job.id / "job.json"
    record = json.loads(record_path.read_text())
    record.update(status="running", outputs={}, summary="", finished=None, preview="preview.txt",
                  message="turn 1 of 1")
    record_path.write_text(json.dumps(record))
    (folder / "jobs" / job.id / "preview.txt").write_text("HALF MADE")
    app = create_app(Settings(folder))
    with own_client(app) as client:
        page = client.get(f"/jobs/{job.id}").text
        assert client.jobs.get(job.id).status == "interrupted"
        assert "Run again" in page and "Resume" not in page
        assert 'id="output"' not in page and "preview" not in page and "IN WHAT WAY" not in page
        assert job.id not in client.get("/history").text
        r = write(client, f"/jobs/{job.id}/again", headers={"Accept": "application/json"})
        again = finished(client, r.json()["job"])
        assert again.id != job.id and again.status == "done", again.error
        assert (again.mechanism, again.inputs, again.config) == (job.mechanism, job.inputs, job.config)
        assert json.loads(record_path.read_text())["status"] == "interrupted"  # recorded
    app.state.jobs.stop()


def test_twenty_clients_at_once_leave_every_job_done_in_order(tmp_path):
    """Load: twenty clients submit and poll at once (on loopback, each bounded); the server
    answers every page and runs every job, in the order it took them. Timings: bench/studio.py."""
    import httpx
    app = create_app(Settings(tmp_path / "s"))
    ids, pages, errors = [], [], []

    def client(i, url):
        try:
            with httpx.Client(base_url=url, timeout=30, headers={
                    "Origin": url, "X-Reverie-Token": app.state.settings.token,
                    "Accept": "application/json"}) as c:
                r = c.post("/m/chat/run", data={"say": f"I am client {i}.", "bot": "eliza"})
                job_id = r.json()["job"]
                ids.append(job_id)
                for _ in range(400):  # at most 20 s
                    pages.append(c.get("/").status_code)
                    if c.get(f"/jobs/{job_id}/state").json()["status"] in FINISHED:
                        return
                    time.sleep(0.05)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    with serve_app(app) as url:
        threads = [threading.Thread(target=client, args=(i, url)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        jobs = sorted((app.state.jobs.get(i) for i in ids), key=lambda j: j.queued)
    assert errors == [] and len(jobs) == 20
    assert [j.status for j in jobs] == ["done"] * 20
    assert all(a.finished <= b.started for a, b in zip(jobs, jobs[1:]))
    assert len(pages) >= 20 and set(pages) == {200}


def api_client(studio):
    """A script: no Origin, the token in the header."""
    return TestClient(studio.app, base_url=OWN, headers={"X-Reverie-Token": studio.token})


def test_the_api_describes_submits_and_reads_a_job(studio):
    with api_client(studio) as api:
        mechs = {m["name"]: m for m in api.get("/api/mechanisms").json()}
        assert set(mechs) == set(mechanisms())
        steps = mechs["dream"]["config"]["properties"]["steps"]
        assert steps["type"] == "integer" and steps["minimum"] == 1 and steps["description"]
        assert "enum" in mechs["dream"]["config"]["properties"]["precision"]
        r = api.post("/api/jobs", json={"mechanism": "chat", "inputs": {"say": "Men are all alike."},
                                        "config": {"bot": "eliza"}})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        assert finished(studio, job_id).status == "done"
        state = api.get(f"/api/jobs/{job_id}").json()
        assert state["status"] == "done" and job_id in [j["id"] for j in api.get("/api/jobs").json()]
        listed = api.get(f"/api/jobs/{job_id}/files").json()
        main = next(f for f in listed if f["role"] != "sidecar")
        assert api.get(main["url"]).status_code == 200
        r = api.post("/api/jobs", data={"mechanism": "chat", **ELIZA})  # multipart, as the form
        assert r.status_code == 201, r.text
        assert finished(studio, r.json()["id"]).status == "done"
        bad = api.post("/api/jobs", json={"mechanism": "chat", "config": {"stepz": 1}})
        assert bad.status_code == 400 and "stepz" in bad.json()["error"]
        assert api.post(f"/api/jobs/{job_id}/cancel").status_code == 409
        assert api.get("/api/jobs/nope").status_code == 404
        schema = api.get("/api/openapi.json").json()
        assert "/api/jobs" in schema["paths"] and all(p.startswith("/api/") for p in schema["paths"])
    with TestClient(studio.app, base_url=OWN) as stranger:  # no token
        r = stranger.post("/api/jobs", json={"mechanism": "chat", "inputs": {"say": "hi"}})
        assert r.status_code == 403
        assert stranger.get("/api/jobs").status_code == 403
        r = stranger.post("/api/jobs", json={"mechanism": "chat", "inputs": {"say": "hi"}},
                          headers={"X-Reverie-Token": studio.token, "Origin": "http://evil.example"})
        assert r.status_code == 403  # a page elsewhere, even with the token
    assert len(studio.jobs.newest_first()) == 2


def test_the_docs_python_client_runs(tmp_path):
    """The five lines in docs/studio.md, against a served studio (an ELIZA turn)."""
    from pathlib import Path
    text = (Path(__file__).parent.parent / "docs" / "studio.md").read_text()
    code = text.split("## The API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    app = create_app(Settings(tmp_path / "s", token="api-token-1234"))
    with serve_app(app) as url:
        code = (code.replace("http://127.0.0.1:7860", url)
                .replace("TOKEN-PRINTED-AT-START", "api-token-1234")
                .replace('"dream"', '"chat"').replace('{"image": "sample:coins"}', '{"say": "hi"}')
                .replace('{"steps": 2}', '{"bot": "eliza"}'))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "docs/studio.md", "exec"), {})
    assert '"role"' in out.getvalue() or "'role'" in out.getvalue()


def test_the_home_page_shows_a_picture_per_mechanism_grouped_by_domain(tmp_path):
    gallery = tmp_path / "gallery"
    (gallery / "assets").mkdir(parents=True)
    from reverie.io.images import save_image
    import torch
    save_image(torch.zeros(3, 4, 4), gallery / "assets" / "dream.png")
    (gallery / "gallery.json").write_text(json.dumps({"examples": {
        "dream": "assets/dream.png", "visualize": "../../etc/passwd", "texture": "x.svg"}}))
    app = create_app(Settings(tmp_path / "s", gallery=gallery))
    with own_client(app) as client:
        page = client.get("/").text
        for mech in mechanisms().values():
            assert f'src="/examples/{mech.name}"' in page
        for domain in {m.domain for m in mechanisms().values()}:
            assert f'data-domain="{domain}"' in page
        assert 'id="search"' in page and "<script>" not in page
        own = client.get("/examples/dream")
        assert own.status_code == 200 and own.content == (gallery / "assets" / "dream.png").read_bytes()
        shipped = client.get("/examples/visualize")  # out of the folder: the domain's own picture
        assert shipped.status_code == 200 and shipped.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert shipped.content != own.content
        assert client.get("/examples/nothing").status_code == 404
    app.state.jobs.stop()
    from reverie.studio.app import EXAMPLES
    for domain in {m.domain for m in mechanisms().values()}:
        assert (EXAMPLES / f"{domain}.png").stat().st_size < 40_000


def reverie_png(tmp_path, config, mechanism="dream", inputs=None):
    """A PNG as Reverie writes it: its settings inside (a 4x4 picture, nothing run)."""
    import torch
    from reverie.core.sidecar import SCHEMA
    from reverie.io.embed import embed
    from reverie.io.images import save_image
    path = save_image(torch.zeros(3, 4, 4), tmp_path / "made.png")
    embed(path, {"schema": SCHEMA, "mechanism": mechanism, "config": config,
                 "inputs": inputs or {"image": {"source": "sample:coins", "sha256": "0" * 64}}})
    return path


def test_a_dropped_picture_opens_its_form_filled_in(studio, tmp_path):
    png = reverie_png(tmp_path, {"steps": 7, "octaves": 2, "layers": ["stage4", "stage5"]})
    r = studio.post("/open", data={"_token": studio.token}, headers={"Accept": "application/json"},
                    files={"picture": ("made.png", png.read_bytes(), "image/png")})
    assert r.status_code == 200, r.text
    page = studio.get(r.json()["url"]).text
    assert 'name="steps" value="7"' in page and 'name="octaves" value="2"' in page
    assert 'value="stage4, stage5"' in page and 'value="sample:coins"' in page
    plain = tmp_path / "plain.png"
    plain.write_bytes(png.read_bytes()[:33] + png.read_bytes()[-12:])  # IHDR, IEND: no settings
    cut = png.read_bytes()[:60]
    other = reverie_png(tmp_path, {}, mechanism="no_such_thing")
    for name, data, words in [("plain.png", plain.read_bytes(), "carries no Reverie settings"),
                              ("cut.png", cut, "truncated"), ("notes.txt", b"hello", "not a PNG"),
                              ("o.png", other.read_bytes(), "does not have")]:
        r = studio.post("/open", data={"_token": studio.token},
                        files={"picture": (name, data, "image/png")})
        error = r.json()["error"]
        assert r.status_code == 400 and words in error and "\n" not in error, error
    assert studio.get("/m/dream?draft=../../x").status_code == 200  # no draft: the defaults


def test_a_dropped_video_opens_its_form_filled_in(studio, tmp_path):
    import numpy as np
    from reverie.core.sidecar import SCHEMA
    from reverie.image.video import write_video
    from reverie.io.embed import embed
    foreign = tmp_path / "v.mp4"
    write_video([np.full((16, 16, 3), 40 * i, np.uint8) for i in range(2)], foreign, fps=5)
    made = tmp_path / "made.mp4"
    made.write_bytes(foreign.read_bytes())
    assert embed(made, {"schema": SCHEMA, "mechanism": "style_video", "config": {"blend": 0.75},
                        "inputs": {"clip": {"source": "pan.mp4", "sha256": "0" * 64}}})
    r = studio.post("/open", data={"_token": studio.token}, headers={"Accept": "application/json"},
                    files={"picture": ("made.mp4", made.read_bytes(), "video/mp4")})
    assert r.status_code == 200, r.text
    assert 'name="blend" value="0.75"' in studio.get(r.json()["url"]).text
    for name, data, words in [("v.mp4", foreign.read_bytes(), "carries no Reverie settings"),
                              ("cut.mp4", made.read_bytes()[:-40], "truncated")]:
        r = studio.post("/open", data={"_token": studio.token},
                        files={"picture": (name, data, "video/mp4")})
        error = r.json()["error"]
        assert r.status_code == 400 and words in error and "\n" not in error, error


def test_two_results_compare_side_by_side_with_differences_marked(studio):
    ids = [submit(studio, "chat", {**ELIZA, "say": say}).json()["job"]
           for say in ("Men are all alike.", "I am sad.")]
    assert all(finished(studio, i).status == "done" for i in ids)
    history = studio.get("/history").text
    assert all(f'name="job" value="{i}"' in history for i in ids) and 'action="/compare"' in history
    page = studio.get("/compare", params={"job": ids})
    assert page.status_code == 200
    import re
    differing = re.findall(r'<tr class="differs"><th>([^<]+)</th>', page.text)
    assert differing == ["input say"], differing
    assert '<tr class="same"><th>bot</th>' in page.text
    assert all(f"/jobs/{i}" in page.text for i in ids)
    assert studio.get("/compare", params={"job": ids[:1]}).status_code == 400
    assert studio.get("/compare", params={"job": [ids[0], "nope"]}).status_code == 400


# -- the model zoo in the studio (issue #38) ------------------------------------------------

@pytest.fixture
def zoo_studio(small_zoo, studio, monkeypatch):
    monkeypatch.setenv("REVERIE_ZOO", str(small_zoo))
    return studio


def test_a_model_input_offers_the_zoos_models_with_their_cards(zoo_studio):
    import html
    import re
    page = zoo_studio.get("/m/sample_text")
    assert page.status_code == 200  # the broken card is left out, not an error
    text = html.unescape(page.text)
    options = re.findall(r'<datalist id="list-model">(.*?)</datalist>', page.text, re.S)[0]
    assert re.findall(r'value="([^"]*)"', options)[0] == "model:tiny"
    assert "model:other" not in text and "model:broken" not in text  # not for sample_text
    assert re.search(r'id="in-model" name="model" value="model:tiny"', page.text)
    card = page.text.split('data-model="model:tiny"', 1)[1].split("</details>", 1)[0]
    assert "a tiny test model" in card and "CC0" in card and "6 steps in 1.0 min on cpu" in card
    assert "<td>2.5</td><td>3.25</td><td>4.125</td>" in card  # held out, short budget, baseline
    assert "reverie text train X --out {out}" in html.unescape(card)


def test_a_job_runs_with_a_zoo_model_and_an_unknown_one_is_refused(zoo_studio, small_zoo):
    r = submit(zoo_studio, "sample_text", {"model": "model:tiny", "length": "12", "seed": "1"})
    assert r.status_code == 200, r.text
    job = finished(zoo_studio, r.json()["job"])
    assert job.status == "done", job.error
    assert len(zoo_studio.get(f"/files/jobs/{job.id}/{job.outputs['text']}").text) >= 12
    r = submit(zoo_studio, "sample_text", {"model": "model:tinyy"})
    assert r.status_code == 400 and "did you mean model:tiny" in r.json()["error"]
    # a path dressed as a name, even to a model that is there
    r = submit(zoo_studio, "sample_text", {"model": f"model:../{small_zoo.name}/tiny"})
    assert r.status_code == 400 and "not a zoo model name" in r.json()["error"]
    # a batch uploaded to the studio may name zoo models too
    line = {"mechanism": "sample_text", "inputs": {"model": "model:tiny"},
            "config": {"length": 8}, "out": "s.txt"}
    r = submit(zoo_studio, "batch", {"workers": "1"}, files={"jobs__file": (
        "jobs.jsonl", io.BytesIO(json.dumps(line).encode()), "text/plain")})
    assert r.status_code == 200, r.text
    job = finished(zoo_studio, r.json()["job"], timeout=120)
    assert job.status == "done", job.error
    assert zoo_studio.get(f"/files/jobs/{job.id}/s.txt").status_code == 200


def test_the_api_lists_the_zoos_cards(zoo_studio):
    with api_client(zoo_studio) as api:
        models = {m["name"]: m for m in api.get("/api/models").json()}
        # the test zoo's two (beside the package's own); the broken card is left out
        assert {"tiny", "other"} <= set(models) and "broken" not in models
        tiny = models["tiny"]
        assert tiny["model"] == "model:tiny" and tiny["uses"] == ["sample_text"]
        assert tiny["licence"] == "CC0" and tiny["figures"] == {"val_loss": 2.5}
        assert tiny["data"] and tiny["recipe"] and tiny["steps"] == 6
        assert "/api/models" in api.get("/api/openapi.json").json()["paths"]
