"""Reverie Studio: every registered mechanism as a page in the browser, offline.

FastAPI serves pages rendered from Jinja2 templates (autoescaped), a little local
JavaScript for progress (server-sent events), and files from the studio's own folder only.
Nothing is fetched from anywhere: no fonts, scripts or styles from a CDN, no telemetry.

    pages            /                 every mechanism, the recent jobs
                     /m/NAME           its form (generated from the registry and Config)
                     /jobs/ID          a job: progress, live preview, then the result
                     /history          every result, newest first, filterable
                     /compare?job=A&job=B  two results side by side, differing settings marked
    actions          POST /m/NAME/run  submit a job (multipart: uploads and fields)
                     POST /jobs/ID/cancel, /jobs/ID/resume, /jobs/ID/again (run it again)
                     POST /history/export
                     POST /open        a file Reverie wrote: its form, filled in
    data             /jobs/ID/events   server-sent events with the job's state
                     /files/PATH       a file in the studio's folder
    api              /api/...          the same for scripts, as JSON (see `api`)

Other web pages may not use it. Every request must name the studio by a Host it answers to
(loopback names, `--host`, `--allow-host`): a page on a name the attacker controls, rebound
to 127.0.0.1 (DNS rebinding), gets 403. The port is not compared: the name is what
rebinding forges, and a tunnel or proxy may serve the studio on another port. Every POST
must come from the studio's own pages (an Origin equal to the studio's, or Sec-Fetch-Site
same-origin) and carry the server's token (the `_token` field its forms hold, or the
X-Reverie-Token header a script sends, printed at start): a cross-site form gets 403 and
makes no job.
"""
from __future__ import annotations

import asyncio
import base64
import hmac
import ipaddress
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import (FileResponse, HTMLResponse, JSONResponse, RedirectResponse,
                               Response, StreamingResponse)
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

import reverie
from reverie.core import registry
from reverie.core.errors import ReverieError
from reverie.studio import api, export, files, forms
from reverie.studio.jobs import FINISHED, JobQueue
from reverie.templates import render

STATIC = Path(__file__).with_name("static")
EXAMPLES = STATIC / "examples"  # one small picture per domain, for mechanisms not yet shown
GALLERY_IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
MODEL_SUFFIXES = {"model": (".pt", ".json"), "vectors": (".kv", ".bin", ".txt", ".vec", ".pt"),
                  "drawing": (".svg",)}


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
TOKEN_FIELD, TOKEN_HEADER = "_token", "x-reverie-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?")


class Settings:
    """What a studio serves and to whom: `host` (the address it listens on) and
    `allow_hosts` (names a reverse proxy serves it under) join the loopback names it answers
    to; `token` (made at random when not given) is what its pages send with every write."""

    def __init__(self, folder: Path, workers: int = 1, max_upload_mb: float = 25.0,
                 auth: str | None = None, *, host: str = "127.0.0.1",
                 allow_hosts: tuple[str, ...] | list[str] = (), token: str | None = None,
                 gallery: Path | str | None = None):
        self.hosts = list(LOOPBACK_NAMES)
        for name in map(_host_name, (host, *allow_hosts)):
            if name not in self.hosts:
                self.hosts.append(name)
        if token is not None and (len(token) < 8 or not token.isprintable() or " " in token):
            raise ReverieError("a token must be at least 8 characters, without spaces")
        self.token = token or secrets.token_urlsafe(24)
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.max_upload = int(max_upload_mb * 1024 * 1024)
        self.auth = auth
        self.gallery = Path(gallery).resolve() if gallery else None  # a gallery's folder


def _host_name(text: str) -> str:
    """A name or address as a Host header gives it (an IPv6 address in brackets)."""
    name = text.strip().lower()
    try:
        name = f"[{name}]" if ipaddress.ip_address(name).version == 6 else name
    except ValueError:
        pass
    match = _HOST.fullmatch(name)
    if not match or match.group(2):  # a port: the name is what is checked
        raise ReverieError(f"{text!r} is not a host name; give a name or address without a "
                           f"port (e.g. studio.example)")
    return name


class Refused(Exception):
    """A request the studio will not serve: `status` and a one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def create_app(settings: Settings) -> FastAPI:
    async def writes_from_own_pages(request: Request) -> None:
        """Every POST: from this studio's own page, with its token (see the module's doc)."""
        if request.method in SAFE_METHODS:
            return
        _check_origin(request)
        length = int(request.headers.get("content-length") or 0)
        if length > settings.max_upload:
            raise Refused(413, f"the upload is {length / 1e6:.1f} MB, over the studio's limit "
                               f"of {settings.max_upload / 1e6:.0f} MB; choose a smaller file "
                               f"(or start the studio with --max-upload-mb)")
        token = request.headers.get(TOKEN_HEADER)
        if token is None:  # a form: parsed once here, the endpoint reads it again (cached)
            token = (await request.form(max_part_size=settings.max_upload)).get(TOKEN_FIELD)
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(),
                                                                 settings.token.encode()):
            raise Refused(403, f"refused: the studio's token is {'wrong' if token else 'missing'}"
                               f" (its pages send it; a script sends the token printed at start "
                               f"as the X-Reverie-Token header or the {TOKEN_FIELD} field)")

    app = FastAPI(title="Reverie Studio", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json", version=reverie.__version__,
                  dependencies=[Depends(writes_from_own_pages)])
    jobs = JobQueue(settings.folder, settings.workers)
    app.state.jobs, app.state.settings = jobs, settings
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    mechs = registry.mechanisms()

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        return _refuse(exc.message, exc.status)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = request.headers.get("host", "")
        match = _HOST.fullmatch(host.strip().lower())
        if not match or match.group(1) not in settings.hosts:
            return Response(f"refused: this studio answers to {', '.join(settings.hosts)}, not "
                            f"to Host {host!r} (start it with --allow-host NAME to add a name)",
                            status_code=403, media_type="text/plain")
        if settings.auth and not _authorised(request, settings.auth):
            return Response("authentication required", status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="Reverie Studio"'})
        response = await call_next(request)
        if request.url.path.startswith("/files/"):
            # what a mechanism wrote or a user uploaded (a unit trace, an SVG drawing):
            # its own inline styles and images only, no scripts, nothing loaded; sandboxed
            # (an origin of its own, no forms), so even a hostile upload opened on its own
            # cannot act as the studio
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                "media-src 'self'; frame-ancestors 'self'; sandbox")
        else:  # the page may load only what this server serves
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
                "script-src 'self'; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def page(template: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(render(f"studio/{template}", version=reverie.__version__, static=False,
                                   domains=_by_domain(mechs), token=settings.token, **context),
                            status_code=status)

    @app.get("/", response_class=HTMLResponse)
    def index():
        return page("index.html", jobs=[_job_view(j, mechs) for j in jobs.newest_first()[:8]])

    @app.get("/examples/{name}")
    def example(name: str):
        """A mechanism's example picture: from the gallery's last run where it has one,
        else the small one shipped for its domain."""
        mech = mechs.get(name)
        if mech is None:
            return Response("not found", status_code=404)
        path = _gallery_example(settings.gallery, name) or EXAMPLES / f"{mech.domain}.png"
        if not path.is_file():
            path = EXAMPLES / "image.png"
        return FileResponse(path, headers={"Cache-Control": "max-age=300"})

    @app.get("/m/{name}", response_class=HTMLResponse)
    def mechanism_page(name: str, again: str | None = None, draft: str | None = None):
        mech = mechs.get(name)
        if mech is None:
            return page("error.html", message=f"no mechanism called {name!r}", status=404)
        values, inputs = {}, {}
        if again and jobs.get(again):  # "use these settings again"
            inputs, values = jobs.settings_of(jobs.get(again))
        elif draft:  # a picture dropped on a page: the settings it carries
            inputs, values = _read_draft(settings.folder, draft)
        return page("mechanism.html", mech=mech, controls=forms.controls(mech, values),
                    presets=forms.presets_json(mech), inputs=_input_views(mech, inputs, settings,
                                                        _made_files(jobs, settings)),
                    max_mb=settings.max_upload // (1024 * 1024))

    def checked_job(mech, form):
        """A job from a form's fields (or the API's), every input and value checked first.
        Reads and checks files (Pillow, torch.load): call it off the event loop."""
        inputs = _read_inputs(mech, form, settings)
        config = forms.config_from_form(mech, {k: v for k, v in form.items()
                                               if isinstance(v, str)}, settings.folder)
        mech.config_class()(**config)  # refuse bad values now, not in the job
        return jobs.submit(mech.name, inputs, config)

    api.install(app, api.router(jobs, settings, mechs, checked_job, api.file_list))

    @app.post("/open")
    async def open_picture(request: Request):
        """A file Reverie wrote (a PNG, SVG, WAV, MIDI or MP4 with its settings inside),
        dropped on a page: its mechanism's form with those settings (JSON {"url"} for the
        page's script, else a redirect). Anything else: a one-line error."""
        form = await request.form(max_part_size=settings.max_upload)
        item = form.get("picture")
        if not hasattr(item, "read"):
            return _refuse("drop a file Reverie wrote (a PNG, SVG, WAV, MIDI or MP4) to open "
                           "its settings", 400)
        data = await item.read()
        name = files.clean_name(getattr(item, "filename", "") or "picture")
        try:
            url = await run_in_threadpool(_draft_from, data, name, mechs, settings.folder)
        except ReverieError as exc:
            return _refuse(str(exc), 400)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"url": url})
        return RedirectResponse(url, status_code=303)

    @app.post("/m/{name}/run")
    async def run(name: str, request: Request):
        mech = mechs.get(name)
        if mech is None:
            return JSONResponse({"error": f"no mechanism called {name!r}"}, status_code=404)
        form = await request.form(max_part_size=settings.max_upload)
        try:
            return _submitted(await run_in_threadpool(checked_job, mech, form), request)
        except ReverieError as exc:
            return _refuse(str(exc), 400)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            return page("error.html", message=f"no job {job_id!r}", status=404)
        return page("job.html", job=_job_view(job, mechs), position=jobs.position(job),
                    explain=_explain(job, settings), resumable=jobs.resumable(job),
                    finished=FINISHED)

    @app.get("/jobs/{job_id}/state")
    def job_state(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        return {**job.public(), "position": jobs.position(job)}

    @app.get("/jobs/{job_id}/events")
    async def job_events(job_id: str, request: Request):
        if jobs.get(job_id) is None:
            return JSONResponse({"error": "no such job"}, status_code=404)

        async def stream():
            last = None
            while not await request.is_disconnected():
                job = jobs.get(job_id)
                state = json.dumps({**job.public(), "position": jobs.position(job)})
                if state != last:
                    yield f"data: {state}\n\n"
                    last = state
                if job.status in FINISHED:
                    return
                await asyncio.sleep(0.3)
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    @app.post("/jobs/{job_id}/cancel")
    def cancel(job_id: str):
        if not jobs.cancel(job_id):
            return JSONResponse({"error": "the job is not running or queued"}, status_code=409)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @app.post("/jobs/{job_id}/resume")
    def resume(job_id: str):
        if not jobs.resume(job_id):
            return JSONResponse({"error": "the job has no checkpoint to resume from"},
                                status_code=409)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @app.post("/jobs/{job_id}/again")
    def run_again(job_id: str, request: Request):
        """A new job with the same inputs and settings (a job cut off without a checkpoint)."""
        job = jobs.again(job_id)
        if job is None:
            return JSONResponse({"error": f"no finished job {job_id!r} to run again"},
                                status_code=409)
        return _submitted(job, request)

    @app.get("/history", response_class=HTMLResponse)
    def history(mechanism: str | None = None):
        shown = [_job_view(j, mechs) for j in jobs.newest_first()
                 if j.status == "done" and (not mechanism or j.mechanism == mechanism)]
        return page("history.html", jobs=shown, selected=mechanism or "",
                    names=sorted({j.mechanism for j in jobs.newest_first()}))

    @app.get("/compare", response_class=HTMLResponse)
    def compare(job: list[str] = Query(default=[])):
        """Two finished results side by side, the settings that differ marked."""
        picked = [jobs.get(j) for j in dict.fromkeys(job)]
        if len(picked) != 2 or any(j is None or j.status != "done" for j in picked):
            return page("error.html", status=400, message="tick two finished results on the "
                        "History page to compare them")
        rows = _setting_rows(*(_recorded_settings(j) for j in picked))
        return page("compare.html", views=[_job_view(j, mechs) for j in picked], rows=rows,
                    differing=sum(r["differs"] for r in rows))

    @app.post("/history/export")
    def history_export():
        """Every result as a folder that works without the studio: open its index.html."""
        done = [j for j in jobs.newest_first() if j.status == "done"]
        html = render("studio/history.html", static=True, version=reverie.__version__,
                      jobs=[_job_view(j, mechs, files="") for j in done],
                      names=sorted({j.mechanism for j in done}), selected="")
        zip_path = export.write_zip(settings.folder, done, html, STATIC / "studio.css")
        return FileResponse(zip_path, filename=zip_path.name, media_type="application/zip")

    @app.get("/files/{relative:path}")
    def serve(relative: str):
        path = files.safe_path(settings.folder, relative)
        if path is None or not path.is_file() or path.name.startswith("."):
            return Response("not found", status_code=404)
        return FileResponse(path)

    # -- sketch2art's canvas (issue #37): its routes live in studio/canvas.py ------------
    from reverie.studio import canvas
    canvas.add_routes(app, settings, jobs, page)
    # -------------------------------------------------------------------------------------

    app.router.on_shutdown.append(jobs.stop)
    return app


# -- helpers ---------------------------------------------------------------------------------

def _authorised(request: Request, auth: str) -> bool:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        given = base64.b64decode(header[6:]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given, auth)


def _refuse(message: str, status: int) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _check_origin(request: Request) -> None:
    """A write must come from a page of this studio: an Origin that is this studio's own
    (http or https, behind a proxy that passes the Host on), or, where a browser sends no
    Origin, Sec-Fetch-Site same-origin. A client that sends neither is no browser (a
    script); for it the token alone decides."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    host = request.headers.get("host", "").strip().lower()
    if origin is not None:
        if origin.lower() not in (f"http://{host}", f"https://{host}"):
            raise Refused(403, f"refused: a page of {origin} may not change this studio; "
                               f"only its own pages may")
    elif site is not None and site != "same-origin":
        raise Refused(403, f"refused: a {site} request may not change this studio; only its "
                           f"own pages may")


def _submitted(job, request: Request) -> Response:
    """The answer to a new job: its address as JSON (the page's script), else a redirect."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"job": job.id, "url": f"/jobs/{job.id}"})
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _by_domain(mechs) -> list[tuple[str, list]]:
    out: dict[str, list] = {}
    for m in mechs.values():
        out.setdefault(m.domain, []).append(m)
    return list(out.items())


_DRAFT = re.compile(r"[0-9a-f]{16}")


def _draft_from(data: bytes, name: str, mechs, folder: Path) -> str:
    """Keep the settings a dropped file carries as a draft; the address of its form."""
    from reverie.core import sidecar
    from reverie.io.embed import read_record
    from reverie.io.files import save_json
    record = sidecar.check_schema(Path(name), read_record(Path(name), data))
    mech = mechs.get(record["mechanism"])
    if mech is None:
        raise ReverieError(f"{name} was made by {record['mechanism']!r}, which this studio "
                           f"does not have; open it with the reverie version that made it")
    inputs = {}
    for key, rec in (record.get("inputs") or {}).items():
        if not isinstance(rec, dict):
            continue
        if "many" in rec:
            inputs[key] = [r.get("source") or r.get("value") for r in rec["many"]
                           if isinstance(r, dict)]
        elif rec.get("source") is not None or "value" in rec:
            inputs[key] = rec.get("source") if rec.get("source") is not None else rec["value"]
    config = {k: v for k, v in (record.get("config") or {}).items() if k != "resume"}
    draft = secrets.token_hex(8)
    save_json({"mechanism": mech.name, "inputs": inputs, "config": config},
              folder / "drafts" / f"{draft}.json")
    return f"/m/{mech.name}?draft={draft}"


def _read_draft(folder: Path, draft: str) -> tuple[dict, dict]:
    if not _DRAFT.fullmatch(draft):
        return {}, {}
    try:
        data = json.loads((folder / "drafts" / f"{draft}.json").read_text())
    except (OSError, ValueError):
        return {}, {}
    return data.get("inputs") or {}, data.get("config") or {}


def _recorded_settings(job) -> dict[str, Any]:
    """A job's mechanism, inputs and every setting as its sidecar records them (every
    default and `auto` resolved), else the settings it was given."""
    record: dict = {}
    name = job.outputs.get("sidecar")
    if name:
        try:
            record = json.loads((Path(job.folder) / name).read_text())
        except (OSError, ValueError):
            record = {}
    out: dict[str, Any] = {"mechanism": job.mechanism}
    for key, value in (record.get("inputs") or job.inputs).items():
        if isinstance(value, dict):
            value = value.get("source") or value.get("value") or value.get("many")
        out[f"input {key}"] = value
    out.update(record.get("config") or job.config)
    return out


def _setting_rows(a: dict, b: dict) -> list[dict]:
    """One row per setting of either, differing ones first."""
    rows = [{"name": k, "a": _cell(a.get(k)), "b": _cell(b.get(k)), "differs": a.get(k) != b.get(k)}
            for k in dict.fromkeys([*a, *b])]
    return sorted(rows, key=lambda r: not r["differs"])


def _gallery_example(gallery: Path | None, name: str) -> Path | None:
    """The picture the gallery's last run (its gallery.json `examples`) shows for `name`."""
    if gallery is None:
        return None
    try:
        examples = json.loads((gallery / "gallery.json").read_text()).get("examples") or {}
    except (OSError, ValueError, AttributeError):
        return None
    rel = examples.get(name) if isinstance(examples, dict) else None
    path = files.safe_path(gallery, rel) if isinstance(rel, str) else None
    if path is None or path.suffix.lower() not in GALLERY_IMAGES or not path.is_file():
        return None
    return path


def _made_files(jobs: JobQueue, settings: Settings) -> list[str]:
    """The main outputs of finished jobs, relative to the studio's folder, newest first."""
    out = []
    for job in jobs.newest_first():
        if job.status == "done":
            for role, name in job.outputs.items():
                if role != "sidecar":
                    out.append(f"jobs/{Path(job.folder).name}/{name}")
    return out


def _input_views(mech, given: dict, settings: Settings, made: list[str]) -> list[dict]:
    views = []
    for inp in mech.inputs:
        lines = inp.kind == "value" and inp.many  # several values: a text box, one per line
        choices = forms.input_choices(inp)
        cards = forms.zoo_cards(mech.name) if inp.kind in ("model", "vectors") else []
        if inp.kind in MODEL_SUFFIXES:  # the zoo's models for it, then what this studio made
            choices = [c["model"] for c in cards] + [
                m for m in made if Path(m).suffix in MODEL_SUFFIXES[inp.kind]]
        current = given.get(inp.name)
        if current is not None:
            parts = current if isinstance(current, list) else [current]
            shown = []
            for part in map(str, parts):
                try:  # a studio file given again: shown relative to the folder
                    shown.append(str(Path(part).relative_to(settings.folder)))
                except ValueError:
                    shown.append(part)
            current = ("\n" if lines else ", ").join(shown)
        # a trained model from the zoo first, so the first click runs
        value = (current or (cards[0]["model"] if cards else "") or inp.example
                 or (choices[0] if choices else ""))
        views.append({"input": inp, "choices": choices, "value": value, "lines": lines,
                      "upload": inp.kind != "value", "cards": [_card_view(c) for c in cards],
                      "accept": ",".join(sorted(files.SUFFIXES.get(inp.kind, ())))})
    return views


def _card_view(card: dict) -> dict:
    """What the form shows beside a zoo model: its card, figures side by side."""
    columns = ("figures", "short_budget", "baseline")
    names = dict.fromkeys(k for col in columns for k in (card.get(col) or {}))
    return {"model": card["model"], "title": card["title"], "data": card["data"],
            "licence": card["licence"], "recipe": card["recipe"],
            "trained": f"{card['steps']} steps in {card['wall_seconds'] / 60:.1f} min on "
                       f"{card['hardware']}",
            "figures": [[name, *(_cell((card.get(col) or {}).get(name)) for col in columns)]
                        for name in names]}


def _read_inputs(mech, form, settings: Settings) -> dict[str, Any]:
    """Each input from an upload (checked by content), a built-in name, a file this studio
    made (relative to its folder), or a typed value."""
    uploads = settings.folder / "uploads" / time.strftime("%Y%m%d-%H%M%S")
    out: dict[str, Any] = {}
    for inp in mech.inputs:
        values: list[Any] = []
        for item in form.getlist(f"{inp.name}__file"):
            if hasattr(item, "read") and getattr(item, "filename", ""):
                data = item.file.read()
                if len(data) > settings.max_upload:
                    raise ReverieError(f"{item.filename} is over the upload limit of "
                                       f"{settings.max_upload / 1e6:.0f} MB")
                values.append(str(files.store_upload(uploads, inp.kind, item.filename, data)))
        text = str(form.get(inp.name) or "").strip()
        if not values and text:
            parts = ([text] if not inp.many else text.splitlines() if inp.kind == "value"
                     else [t.strip() for t in text.split(",")])
            for part in parts:
                if part:
                    values.append(_source(part, inp.kind, settings))
        if not values:
            if inp.required:
                raise ReverieError(f"{inp.name}: {inp.help}; give one")
            continue
        out[inp.name] = values if inp.many else values[0]
    return out


def _notes(text: str) -> bool:
    from reverie.music.chorales import from_notes
    try:
        from_notes(text)
    except ReverieError:
        return False
    return True


def _source(text: str, kind: str, settings: Settings) -> str:
    """A typed source: `sample:`/`builtin:` names and values as they are, `model:NAME` if
    the zoo has it; a path only if it lies in the studio's folder (nothing else on the
    machine is readable from a page)."""
    if kind == "value" or text.startswith(("sample:", "builtin:")):
        return text
    if text.startswith("model:"):
        return files.zoo_model(text)  # an unknown name: refused now, not in the job
    path = files.safe_path(settings.folder, text)
    if (path is None or not path.is_file()) and kind == "score" and _notes(text):
        return text  # a melody typed as note names ("E4:4 F4:4 G4:8")
    if path is None or not path.is_file():
        raise ReverieError(f"{text!r} is not a file in the studio's folder; upload it or pick "
                           f"one from the list")
    if kind == "jobs":
        files.check_jobs(path, text)
    return str(path)


def _job_view(job, mechs, files: str = "/files/") -> dict:
    """What the templates show of a job; `files` prefixes every file's address (relative
    ones in a static export)."""
    mech = mechs.get(job.mechanism)
    folder = Path(job.folder)
    rel = f"{files}jobs/{folder.name}"
    main = next((n for r, n in job.outputs.items() if r != "sidecar"), None)
    kind = _media_kind(main) if main else ""
    return {"job": job, "title": mech.title if mech else job.mechanism,
            "command": "reverie " + " ".join(mech.words) if mech else "",
            "files": [{"role": r, "name": n, "href": f"{rel}/{n}"}
                      for r, n in job.outputs.items()],
            "main": f"{rel}/{main}" if main else "", "main_kind": kind,
            "explanations": [{"what": what, "href": f"{rel}/{n}", "kind": _media_kind(n)}
                             for what, n in job.explanations.items()],
            "preview": f"{rel}/{job.preview}" if job.preview else "",
            "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created))}


def _media_kind(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"):
        return "image"
    if suffix in (".wav", ".flac", ".ogg"):
        return "audio"
    if suffix == ".mp4":
        return "video"
    if suffix in (".txt",):
        return "text"
    if suffix in (".html",):
        return "page"
    return "file"


def _explain(job, settings: Settings) -> dict:
    """What the result shows about the mechanism: its summary, figures as tables, notes,
    and the text output where there is one."""
    if job.status != "done":
        return {}
    sidecar_name = job.outputs.get("sidecar")
    record = {}
    if sidecar_name:
        try:
            record = json.loads((Path(job.folder) / sidecar_name).read_text())
        except (OSError, ValueError):
            record = {}
    text = ""
    for role, name in job.outputs.items():
        if role != "sidecar" and name.endswith(".txt"):
            text = (Path(job.folder) / name).read_text(encoding="utf-8", errors="replace")[:20000]
    return {"summary": job.summary, "notes": job.notes, "text": text,
            "tables": _tables(record.get("figures", {})),
            "timings": record.get("timings", {}), "config": record.get("config", {})}


def _tables(figures: dict) -> list[dict]:
    """Figures as small tables: scalars in one, each list of rows in its own."""
    plain, tables = [], []
    for key, value in figures.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            cols = list(value[0].keys())
            tables.append({"title": key.replace("_", " "), "columns": cols,
                           "rows": [[_cell(row.get(c)) for c in cols] for row in value[:20]]})
        elif isinstance(value, dict) and value and all(isinstance(v, (list, dict)) for v in value.values()):
            for sub, rows in value.items():
                if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
                    cols = list(rows[0].keys())
                    tables.append({"title": f"{key.replace('_', ' ')}: {sub}", "columns": cols,
                                   "rows": [[_cell(r.get(c)) for c in cols] for r in rows[:20]]})
                else:
                    plain.append([f"{key} {sub}", _cell(rows)])
        else:
            plain.append([key.replace("_", " "), _cell(value)])
    if plain:
        tables.insert(0, {"title": "figures", "columns": ["figure", "value"], "rows": plain})
    return tables


def _cell(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        return ", ".join(f"{v['name']} {v['prob']:.2f}" if isinstance(v.get("prob"), float)
                         else str(v["name"]) for v in value[:5])  # a top-5
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in list(value.items())[:6])
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value[:8]) + (" ..." if len(value) > 8 else "")
    return "" if value is None else str(value)
