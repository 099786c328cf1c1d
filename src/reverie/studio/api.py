"""The studio's JSON API, for scripts: the same jobs the pages run, the same token.

    GET  /api/mechanisms          every mechanism: its inputs and its Config as a JSON schema
    GET  /api/models              the zoo's trained models: each card (what it is, which
                                  mechanisms use it, data, licence, recipe, figures), and
                                  `model`, the model:NAME an input takes
    POST /api/jobs                submit: JSON {"mechanism", "inputs", "config"} or multipart
                                  (the form's fields and NAME__file uploads, plus mechanism)
    GET  /api/jobs                every job's state, newest first
    GET  /api/jobs/ID             one job's state
    POST /api/jobs/ID/cancel, /api/jobs/ID/resume
    GET  /api/jobs/ID/files       its files, with their URLs
    GET  /api/openapi.json        the OpenAPI schema of these routes

Every /api request carries the X-Reverie-Token header (the token printed at start); the
studio's Host allowlist and same-origin check apply as to the pages.
"""
from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reverie.core.config import fields
from reverie.core.errors import ReverieError

JSON_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}


def field_schema(f) -> dict:
    """One Config field as JSON Schema (with Reverie's own `x-` notes)."""
    item = {"type": JSON_TYPES.get(f.item_kind, "string")}
    if f.choices is not None:
        item["enum"] = list(f.choices)
    for key, value in (("minimum", f.min), ("maximum", f.max), ("exclusiveMinimum", f.above),
                       ("exclusiveMaximum", f.below)):
        if value is not None:
            item[key] = value
    schema: dict[str, Any] = {"type": "array", "items": item} if f.is_list else dict(item)
    if f.optional:
        schema = {"anyOf": [schema, {"type": "null"}]}
    schema.update({"title": f.name, "description": f.help + (f" ({f.unit})" if f.unit else ""),
                   "default": list(f.default) if isinstance(f.default, tuple) else f.default,
                   "x-kind": f.kind, "x-advanced": f.advanced})
    if f.unit:
        schema["x-unit"] = f.unit
    return schema


def mechanism_schema(mech) -> dict:
    shown = [f for f in fields(mech.config_class()) if f.cli and f.studio and f.name != "device"]
    return {"name": mech.name, "title": mech.title, "domain": mech.domain,
            "summary": getattr(mech, "summary", ""), "paper": getattr(mech, "paper", ""),
            "inputs": [{"name": i.name, "kind": i.kind, "help": i.help,
                        "required": i.required, "many": i.many, "example": i.example}
                       for i in mech.inputs],
            "config": {"type": "object", "title": mech.config_class().__name__,
                       "properties": {f.name: field_schema(f) for f in shown},
                       "additionalProperties": False}}


class Fields:
    """A JSON submission as the form reader sees a form: `get` and `getlist`."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    def get(self, key, default=None):
        return self.values.get(key, default)

    def getlist(self, key):
        return []

    def items(self):
        return self.values.items()


def _text(value: Any, sep: str = ", ") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return sep.join(_text(v) for v in value)
    return str(value)


def from_json(mech, body: dict) -> Fields:
    """A JSON body's inputs and config as form fields (each checked as the form's are)."""
    inputs, config = body.get("inputs") or {}, body.get("config") or {}
    if not isinstance(inputs, dict) or not isinstance(config, dict):
        raise ReverieError("inputs and config must be JSON objects")
    names = {f.name for f in fields(mech.config_class()) if f.cli and f.studio}
    known_inputs = {i.name: i for i in mech.inputs}
    for key in config:
        if key not in names:
            raise ReverieError(f"{mech.name} has no setting {key!r}; see /api/mechanisms")
    for key in inputs:
        if key not in known_inputs:
            raise ReverieError(f"{mech.name} has no input {key!r}; its inputs: "
                               f"{', '.join(known_inputs) or 'none'}")
    values = {k: _text(v, "\n" if known_inputs[k].kind == "value" else ", ")
              for k, v in inputs.items()}
    values.update({k: _text(v) for k, v in config.items()})
    return Fields(values)


def router(jobs, settings, mechs, checked_job: Callable, files_of: Callable) -> APIRouter:
    """The /api routes over the studio's queue. `checked_job(mech, form)` makes a job from
    form-like fields (raising ReverieError); `files_of(job)` lists its files with URLs."""

    def token_header(request: Request) -> None:
        token = request.headers.get("x-reverie-token") or ""
        if not hmac.compare_digest(token.encode(), settings.token.encode()):
            raise _Refusal(403, "refused: the API needs the studio's token in the "
                                "X-Reverie-Token header (printed at start)")

    api = APIRouter(prefix="/api", dependencies=[Depends(token_header)], tags=["api"])

    def state(job) -> dict:
        return {**job.public(), "position": jobs.position(job), "url": f"/api/jobs/{job.id}",
                "page": f"/jobs/{job.id}"}

    def found(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise _Refusal(404, f"no job {job_id!r}")
        return job

    @api.get("/mechanisms")
    def list_mechanisms() -> list[dict]:
        """Every mechanism with its inputs and its Config's JSON schema."""
        return [mechanism_schema(m) for m in mechs.values()]

    @api.get("/models")
    def list_models() -> list[dict]:
        """The zoo's models, each its card and `model` (model:NAME, for a model input);
        `uses` lists the mechanisms that take it. A card that does not read is left out."""
        from reverie.studio.forms import zoo_cards
        return zoo_cards()

    @api.post("/jobs")
    async def submit_job(request: Request) -> dict:
        """Submit a job: JSON {"mechanism", "inputs": {name: source}, "config": {field:
        value}}, or multipart with a `mechanism` field, the form's fields and uploads."""
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = await request.json()
            except ValueError:
                return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
            if not isinstance(body, dict):
                return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
            form = None
        else:
            form = await request.form(max_part_size=settings.max_upload)
            body = {"mechanism": form.get("mechanism")}
        mech = mechs.get(str(body.get("mechanism")))
        if mech is None:
            return JSONResponse({"error": f"no mechanism called {body.get('mechanism')!r}; "
                                          f"see /api/mechanisms"}, status_code=404)
        try:
            fields_ = form if form is not None else from_json(mech, body)
            job = await run_in_threadpool(checked_job, mech, fields_)
        except ReverieError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(state(job), status_code=201)

    @api.get("/jobs")
    def list_jobs() -> list[dict]:
        return [state(j) for j in jobs.newest_first()]

    @api.get("/jobs/{job_id}")
    def job_state(job_id: str) -> dict:
        return state(found(job_id))

    def act(job_id: str, action: Callable[[str], bool], refusal: str) -> dict:
        job = found(job_id)
        if not action(job_id):
            raise _Refusal(409, refusal)
        return state(job)

    @api.post("/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict:
        return act(job_id, jobs.cancel, "the job is not running or queued")

    @api.post("/jobs/{job_id}/resume")
    def resume(job_id: str) -> dict:
        return act(job_id, jobs.resume, "the job has no checkpoint to resume from")

    @api.get("/jobs/{job_id}/files")
    def job_files(job_id: str) -> list[dict]:
        """The job's files: role, name and URL (under /files/, no token needed to read)."""
        return files_of(found(job_id))

    return api


class _Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def install(app, api: APIRouter) -> None:
    """Add the routes, their refusals as JSON, and /api/openapi.json for them alone."""
    from fastapi.openapi.utils import get_openapi

    app.include_router(api)

    @app.exception_handler(_Refusal)
    async def refusal(request: Request, exc: _Refusal):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(title="Reverie Studio API", version=app.version,
                                             description=__doc__, routes=api.routes)
        return app.openapi_schema
    app.openapi = openapi


def file_list(job, prefix: str = "/files/") -> list[dict]:
    folder = Path(job.folder).name
    return [{"role": role, "name": name, "url": f"{prefix}jobs/{folder}/{name}"}
            for role, name in job.outputs.items()]
