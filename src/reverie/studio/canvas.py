"""The studio's canvas for sketch2art: draw, and the picture answers as you draw.

    GET  /canvas/sketch2art            the page: a canvas (Pointer Events: mouse, pen,
                                       finger), pen and eraser, line width, a model to use
    POST /canvas/sketch2art/draw       the canvas PNG (multipart `sketch`, `model`): the
                                       picture and the "seeing why" images as data URLs
    POST /canvas/sketch2art/save       the same as a job of `sketch2art`: its output,
                                       explanations and sidecar in the history

Models are the ones this studio trained (`train_sketch2art` jobs) or a .pt in its folder
named by `?model=`. A model stays loaded between strokes (the last two used).
"""
from __future__ import annotations

import base64
import io
import threading
import time
from collections import OrderedDict
from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reverie.core.errors import ReverieError
from reverie.studio import files

_LOADED: "OrderedDict[tuple, object]" = OrderedDict()
_LOCK = threading.Lock()
_RUN = threading.Lock()


def models(jobs, settings) -> list[str]:
    """The sketch2art models this studio made, relative to its folder, newest first."""
    out = []
    for job in jobs.newest_first():
        if job.mechanism == "train_sketch2art" and job.status == "done" and "model" in job.outputs:
            out.append(f"jobs/{Path(job.folder).name}/{job.outputs['model']}")
    return out


def _model_path(settings, relative: str) -> Path:
    path = files.safe_path(settings.folder, relative or "")
    if path is None or not path.is_file() or path.suffix.lower() != ".pt":
        raise ReverieError("choose a sketch2art model (.pt) this studio trained; train one "
                           "with Train sketch to artwork")
    return path


def _load(path: Path):
    from reverie.sketch2art.train import load_sketch2art
    key = (str(path), path.stat().st_mtime_ns)
    with _LOCK:  # the page's warm-up and the first stroke load it once
        if key not in _LOADED:
            _LOADED[key] = load_sketch2art(path)
            while len(_LOADED) > 2:
                _LOADED.popitem(last=False)
        _LOADED.move_to_end(key)
        return _LOADED[key]


def _answer(path: Path, sketch):
    """The model's answer, off the event loop; one at a time (BatchNorm's buffers are
    swapped while a picture is normalised by its own statistics)."""
    from reverie.sketch2art.mechanisms import sketch2art
    net = _load(path)
    with _RUN:
        return sketch2art(net, sketch, device="cpu")


def _warm(settings, relative: str) -> None:
    try:
        _load(_model_path(settings, relative))
    except (ReverieError, OSError):
        pass  # the drawing's request says what is wrong


def _data_url(x) -> str:
    from reverie.io.images import tensor_to_pil
    buf = io.BytesIO()
    tensor_to_pil(x).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


async def _sketch_bytes(form, settings) -> bytes:
    item = form.get("sketch")
    if item is None or not hasattr(item, "read"):
        raise ReverieError("no drawing was sent; draw on the canvas first")
    data = await item.read()
    if not data:
        raise ReverieError("the drawing is empty; draw on the canvas first")
    if len(data) > settings.max_upload:
        raise ReverieError("the drawing is over the studio's upload limit")
    return data


def _sketch_tensor(data: bytes):
    from PIL import Image, UnidentifiedImageError

    from reverie.io.images import _to_rgb, pil_to_tensor
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            x = pil_to_tensor(_to_rgb(im))
    except (UnidentifiedImageError, OSError, ValueError):
        raise ReverieError("the drawing is not a PNG image") from None
    return x.mean(0, keepdim=True)


def add_routes(app, settings, jobs, page) -> None:
    @app.get("/canvas/sketch2art")
    def canvas_page(model: str | None = None):
        choices = models(jobs, settings)
        if model and model not in choices:
            choices.insert(0, model)
        if choices:  # load the model now, so the first stroke is answered at once
            threading.Thread(target=_warm, args=(settings, model or choices[0]),
                             daemon=True).start()
        return page("canvas.html", models=choices, chosen=model or (choices[0] if choices else ""),
                    max_mb=settings.max_upload // (1024 * 1024))

    @app.post("/canvas/sketch2art/draw")
    async def canvas_draw(request: Request):
        start = time.perf_counter()
        try:
            form = await request.form(max_part_size=settings.max_upload)
            path = _model_path(settings, str(form.get("model") or ""))
            sketch = _sketch_tensor(await _sketch_bytes(form, settings))
            result = await run_in_threadpool(_answer, path, sketch)
        except ReverieError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        f = result.figures
        return JSONResponse({
            "image": _data_url(result.image), "nearest": _data_url(result.nearest),
            "patches": _data_url(result.patch_overlay()),
            "figures": {"fake patches": f"{f['fake_patches']:.0%}", "nearest": f["nearest"],
                        "size": f"{f['size']} px"},
            "notes": result.notes, "ms": round(1000 * (time.perf_counter() - start))})

    @app.post("/canvas/sketch2art/save")
    async def canvas_save(request: Request):
        try:
            form = await request.form(max_part_size=settings.max_upload)
            model = _model_path(settings, str(form.get("model") or ""))
            data = await _sketch_bytes(form, settings)
            _sketch_tensor(data)
            folder = settings.folder / "uploads" / time.strftime("%Y%m%d-%H%M%S")
            sketch = files.store_upload(folder, "image", "canvas.png", data)
        except ReverieError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        job = jobs.submit("sketch2art", {"model": str(model), "sketch": str(sketch)}, {})
        return JSONResponse({"job": job.id, "url": f"/jobs/{job.id}"})

    del canvas_page, canvas_draw, canvas_save  # registered on the app

