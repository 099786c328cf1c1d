"""Styled video that does not flicker (Ruder, Dosovitskiy and Brox 2016).

Styling each frame on its own makes a video shimmer: a brush stroke that sits on a wall in
one frame is elsewhere in the next. Ruder et al. tie each frame to the one before along the
motion: optical flow between the input frames (OpenCV's DIS, or Farneback) carries the
previous output onto the current frame, and where the flow holds (forward and backward flow
agree, and no motion boundary) the current output keeps to it:

- with a fast style network (`model`): each frame is painted in one pass and blended with
  the previous output warped, by `blend` where the flow holds;
- with Gatys's optimisation (`style`): each frame starts from the previous output warped
  (the content frame where the flow fails) and a temporal loss holds it there.

Frames are read, painted and encoded one at a time, so a long clip needs no more memory
than a short one. The flicker figure is the warping error: the mean squared difference between each output
frame and the previous output warped onto it, over the pixels the flow holds; for a network
the same figure of plain per-frame styling is measured in the same run (it costs nothing:
the per-frame paintings are made anyway). The audio track is copied byte for byte (ffmpeg's
`-c:a copy`, with the binary imageio-ffmpeg ships).

    style_video("clip.mp4", model="starry.pt").save("styled.mp4")
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import torch

from reverie.core.config import (Config, ConfigError, device_knob, knob, make_config,
                                 seed_knob)
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.core.threads import cpu_threads
from reverie.io.animation import ffmpeg_exe
from reverie.io.files import atomic_path

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v")
MIN_SIDE = 16


@dataclass
class VideoConfig(Config):
    blend: float = knob(0.5, "how much of the previous output, warped along the flow, each "
                        "frame keeps where the flow holds (0: per-frame styling)", min=0, below=1)
    flow: str = knob("dis", "optical flow: OpenCV's DIS (fast) or Farneback",
                     choices=("dis", "farneback"))
    size: Optional[int] = knob(None, "the output's long side (none: the clip's own)", min=MIN_SIDE,
                               unit="pixels")
    max_frames: Optional[int] = knob(None, "paint only the first N frames (none: all)", min=1)
    mix: Optional[list[str]] = knob(None, "a network's blend of styles as NAME=WEIGHT (none: "
                                    "its first style)", metavar="NAME=WEIGHT")
    tile: int = knob(1024, "a network paints frames larger than this in tiles", min=0,
                     unit="pixels", advanced=True)
    iterations: int = knob(40, "Gatys (style image): L-BFGS evaluations per frame after the "
                           "first", min=1)
    initial_iterations: int = knob(120, "Gatys: evaluations for the first frame", min=1)
    temporal_weight: float = knob(100.0, "Gatys: weight of the temporal loss (mean squared "
                                  "change from the warped previous output where the flow holds)",
                                  min=0)
    style_weight: float = knob(30.0, "Gatys: weight of the style distance", min=0)
    content_weight: float = knob(3.0, "Gatys: weight of the content distance", min=0)
    loss_network: str = knob("lite0", "Gatys: the feature network",
                             choices=("lite0", "lite1", "lite2"))
    crf: int = knob(18, "H.264 quality of the output (lower: better, larger)", min=0, max=51,
                    advanced=True)
    threads: Optional[int] = knob(None, "torch CPU threads (auto: the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob()  # nothing here is random; kept for the shared shape
    device: str = device_knob()


@dataclass
class VideoResult(Result):
    encoded: Optional[Path] = None                # the painted frames, H.264, no audio yet
    audio_from: Optional[str] = None              # the clip whose audio track is copied
    last: Optional[np.ndarray] = None             # the last painted frame, (H, W, 3) uint8
    suffixes = (".mp4",)

    def write(self, path: Path) -> dict[str, Path]:
        note = mux(self.encoded, path, self.audio_from)
        if note and note not in self.notes:
            self.notes.append(note)
        self.figures["audio"] = "re-encoded" if note else (
            "copied" if self.audio_from else "none")
        return {"video": Path(path)}

    def summary(self) -> str:
        f = self.figures
        line = (f"{f['frames']} frames {f['size'][0]}x{f['size'][1]} in "
                f"{self.timings['total']:.1f} s ({f['seconds_per_frame']:.2f} s a frame); "
                f"warping error {f['warping_error']:.5f}")
        if f.get("baseline_warping_error"):
            line += (f" vs {f['baseline_warping_error']:.5f} per frame "
                     f"(x{f['flicker_ratio']:.2f})")
        return line


# -- reading and writing -----------------------------------------------------------------------

def read_video(clip, max_frames: int | None = None) -> tuple[Iterator[np.ndarray], float, bool]:
    """The frames ((H, W, 3) uint8, read one at a time as they are taken), frames per second,
    and whether the clip has audio. The first frame is read here, so a clip that is not a
    video, has no frames or frames too small is refused at once."""
    import imageio.v2 as imageio
    ffmpeg_exe()
    path = Path(os.fspath(clip))
    if not path.is_file():
        raise ReverieError(f"video not found: {path}" if not path.is_dir() else
                           f"{path} is a folder, not a video")
    try:
        reader = imageio.get_reader(path, format="FFMPEG")
    except Exception as exc:  # imageio raises several kinds for a file ffmpeg cannot read
        raise ReverieError(f"{path.name} is not a readable video ({_first_line(exc)}); give "
                           f"an .mp4, .mov, .webm, .avi or .mkv") from None
    try:
        meta = reader.get_meta_data()
        frames = iter(reader)
        first = np.ascontiguousarray(next(frames)[..., :3])
    except StopIteration:
        reader.close()
        raise ReverieError(f"{path.name} has no frames; give a clip with at least one") from None
    except Exception as exc:
        reader.close()
        raise ReverieError(f"{path.name} is not a readable video ({_first_line(exc)})") from None
    h, w = first.shape[:2]
    if min(h, w) < MIN_SIDE:
        reader.close()
        raise ReverieError(f"{path.name}'s frames are {w}x{h}; a clip to paint needs at least "
                           f"{MIN_SIDE} pixels a side")
    fps = float(meta.get("fps") or 25.0)

    def each() -> Iterator[np.ndarray]:
        try:
            yield first
            for n, frame in enumerate(frames, 2):
                if max_frames and n > max_frames:
                    break
                yield np.ascontiguousarray(frame[..., :3])
        except (OSError, RuntimeError, ValueError):
            return  # a damaged tail: the frames read so far
        finally:
            reader.close()
    return each(), fps if np.isfinite(fps) and fps > 0 else 25.0, bool(meta.get("audio_codec"))


class Encoder:
    """H.264 frames (sides cropped to even) into `path`, one at a time, no audio."""

    def __init__(self, path: Path, fps: float, crf: int = 18):
        self.path, self.fps, self.crf, self.writer, self.count = Path(path), fps, crf, None, 0

    def add(self, frame: np.ndarray) -> None:
        import imageio.v2 as imageio
        ffmpeg_exe()
        h, w = frame.shape[:2]
        if self.writer is None:
            self.hw = (h - h % 2, w - w % 2)
            self.writer = imageio.get_writer(self.path, format="FFMPEG", fps=self.fps,
                                             codec="libx264", macro_block_size=1,
                                             pixelformat="yuv420p",
                                             output_params=["-crf", str(self.crf)])
        self.writer.append_data(np.ascontiguousarray(frame[:self.hw[0], :self.hw[1]]))
        self.count += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def mux(video: Path, out: str | os.PathLike, audio_from: str | None = None) -> str | None:
    """`video` (no audio) at `out`, atomically, with the audio track of `audio_from` copied
    byte for byte; returns a note if it had to be re-encoded instead."""
    exe = ffmpeg_exe()
    note = None
    with atomic_path(Path(out)) as tmp:
        if audio_from is None:
            shutil.copyfile(video, tmp)
            return None
        base = [exe, "-v", "error", "-y", "-i", str(video), "-i", str(audio_from),
                "-map", "0:v:0", "-map", "1:a?", "-c:v", "copy"]
        done = subprocess.run(base + ["-c:a", "copy", "-f", "mp4", str(tmp)],
                              capture_output=True, text=True)
        if done.returncode != 0:  # a codec MP4 cannot hold as it is
            done = subprocess.run(base + ["-c:a", "aac", "-f", "mp4", str(tmp)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise ReverieError(f"could not add the audio of {Path(audio_from).name} "
                                   f"({_first_line(done.stderr)})")
            note = ("the clip's audio codec cannot go into an MP4 as it is, so it was "
                    "re-encoded as AAC")
    return note


def write_video(frames, out: str | os.PathLike, fps: float, audio_from: str | None = None,
                crf: int = 18) -> str | None:
    """Frames ((H, W, 3) uint8) as an H.264 .mp4 at `out`, with `audio_from`'s audio track
    copied; returns a note if the audio had to be re-encoded."""
    with tempfile.TemporaryDirectory(prefix="reverie-video-") as folder:
        enc = Encoder(Path(folder) / "frames.mp4", fps, crf)
        try:
            for f in frames:
                enc.add(f)
        finally:
            enc.close()
        return mux(enc.path, out, audio_from)


def audio_md5(path: str | os.PathLike) -> str | None:
    """The MD5 of a file's audio packets (None without audio): equal when copied byte for byte."""
    done = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a?", "-c",
                           "copy", "-f", "md5", "-"], capture_output=True, text=True)
    text = done.stdout.strip()
    return text.split("=", 1)[1] if done.returncode == 0 and "=" in text else None


# -- flow, occlusion, warping ------------------------------------------------------------------

def _cv2():
    try:
        import cv2
    except ImportError:
        raise ReverieError("video styling needs OpenCV for optical flow; install it with: "
                           "pip install opencv-python-headless") from None
    return cv2


def _gray(frame: np.ndarray) -> np.ndarray:
    import cv2
    if frame.dtype != np.uint8:
        frame = (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def optical_flow(frame: np.ndarray, other: np.ndarray, method: str = "dis") -> np.ndarray:
    """(H, W, 2) flow f with frame(x) ~ other(x + f(x)) (x, y order)."""
    cv2 = _cv2()
    a, b = _gray(frame), _gray(other)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(a, b, None)
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 3, 5, 1.2, 0)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """`image` (of the other frame) carried onto the frame the flow starts from:
    out(x) = image(x + flow(x)), bilinear, edges repeated."""
    import cv2
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def occlusion_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) float, 1 where the flow holds: `backward` (this frame to the previous) and
    `forward` (previous to this) agree (Sundaram et al.'s test, as Ruder et al. use it), the
    point lands inside the previous frame, and it is not on a motion boundary."""
    h, w = backward.shape[:2]
    ahead = warp(forward, backward)       # the forward flow where each pixel came from
    total = backward + ahead
    agree = (total ** 2).sum(-1) <= 0.01 * ((backward ** 2).sum(-1) + (ahead ** 2).sum(-1)) + 0.5
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    px, py = gx + backward[..., 0], gy + backward[..., 1]
    inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    du = np.gradient(backward[..., 0])
    dv = np.gradient(backward[..., 1])
    grad = du[0] ** 2 + du[1] ** 2 + dv[0] ** 2 + dv[1] ** 2
    smooth = grad <= 0.01 * (backward ** 2).sum(-1) + 0.002
    return (agree & inside & smooth).astype(np.float32)


def warping_error(current: np.ndarray, previous: np.ndarray, backward: np.ndarray,
                  mask: np.ndarray) -> float:
    """Mean squared difference (pixels in [0, 1]) between `current` and `previous` warped
    onto it, over the pixels the flow holds."""
    diff = (current - warp(previous, backward)) ** 2
    held = float(mask.sum())
    return float((diff * mask[..., None]).sum() / (3 * held)) if held else 0.0


# -- the mechanism -----------------------------------------------------------------------------

def _float(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) / 255.0


def _resized(frames: Iterator[np.ndarray], size: int | None) -> Iterator[np.ndarray]:
    import cv2
    for f in frames:
        if size:
            h, w = f.shape[:2]
            s = size / max(h, w)
            hw = (max(MIN_SIDE, round(w * s)), max(MIN_SIDE, round(h * s)))
            f = cv2.resize(f, hw, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
        yield f


def _count_frames(clip) -> int | None:
    """The clip's frame count from its container (for time left), or None."""
    try:
        import imageio_ffmpeg
        return int(imageio_ffmpeg.count_frames_and_secs(str(clip))[0])
    except Exception:
        return None


def style_video(clip, config: VideoConfig | None = None, *, model=None, style=None,
                progress: Progress = silent, **overrides) -> VideoResult:
    """Paint the video `clip` (a path) with the fast style network `model` (a .pt), or in
    the style of the image `style` by Gatys's optimisation, frames tied along the flow.
    Frames are read, painted and encoded one at a time; `save` adds the audio."""
    cfg = make_config(VideoConfig, config, **overrides)
    if (model is None) == (style is None):
        raise ReverieError("give a fast style network (model) or a style image (style), one "
                           "of the two")
    if model is None and cfg.mix:
        raise ConfigError("mix", "blends a network's styles; give a model, or drop mix")
    start = time.perf_counter()
    inputs = {"clip": record_input(clip), "model": record_input(model),
              "style": record_input(style)}
    frames, fps, has_audio = read_video(clip, cfg.max_frames)
    total = _count_frames(clip) or 0
    total = min(total, cfg.max_frames) if cfg.max_frames and total else (total or cfg.max_frames or 0)
    dev = resolve_device(cfg.device)
    cv2 = _cv2()
    cv_threads = cv2.getNumThreads()
    folder = Path(tempfile.mkdtemp(prefix="reverie-video-"))
    enc = Encoder(folder / "frames.mp4", fps, cfg.crf)
    try:
        with cpu_threads(cfg.threads) as threads:  # on a busy machine, extra threads only wait
            cv2.setNumThreads(threads)
            result = _paint(_resized(frames, cfg.size), total, cfg, enc, progress, model, style,
                            dev)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        frames.close()
        enc.close()
        cv2.setNumThreads(cv_threads)
    weakref.finalize(result, shutil.rmtree, folder, True)  # the encoded frames go with it
    result.encoded, result.audio_from = enc.path, str(clip) if has_audio else None
    result.inputs, result.resolved = inputs, {"device": str(dev), "threads": threads}
    result.timings = {"total": round(time.perf_counter() - start, 3)}
    result.figures.update(fps=fps, audio="copied" if has_audio else "none")
    if result.figures["baseline_warping_error"] is None and enc.count > 1:
        result.notes.append("the per-frame baseline's warping error is measured only with a "
                            "network (for Gatys it would paint the clip twice)")
    if cfg.max_frames and enc.count == cfg.max_frames:
        result.notes.append(f"painted the first {cfg.max_frames} frames (max_frames)")
    return result


def _paint(frames: Iterator[np.ndarray], total: int, cfg: VideoConfig, enc: Encoder,
           progress: Progress, model, style, dev) -> VideoResult:
    painter = (_NetworkPainter(model, cfg, dev) if model is not None
               else _GatysPainter(style, cfg, dev))
    errors, baseline, held_share = [], [], []
    prev_in = prev_out = prev_plain = None
    t0 = time.perf_counter()
    for t, frame in enumerate(frames):
        x = _float(frame)
        if prev_in is None:
            out, plain = painter.first(x)
        else:
            backward = optical_flow(frame, prev_in, cfg.flow)
            forward = optical_flow(prev_in, frame, cfg.flow)
            mask = occlusion_mask(backward, forward)
            warped = warp(prev_out, backward)
            out, plain = painter.next(x, warped, mask)
            errors.append(warping_error(out, prev_out, backward, mask))
            if plain is not None:
                baseline.append(warping_error(plain, prev_plain, backward, mask))
            held_share.append(float(mask.mean()))
        last = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
        enc.add(last)
        prev_in, prev_out, prev_plain = frame, out, plain
        per_frame = (time.perf_counter() - t0) / (t + 1)
        n = max(total, t + 1)
        progress(t + 1, n, f"frame {t + 1}/{total or '?'}" + (
            f", about {per_frame * (n - t - 1):.0f} s left" if total else ""))
        if t % 5 == 0:
            show_preview(progress, torch.from_numpy(out).permute(2, 0, 1).clamp(0, 1))
    err = float(np.mean(errors)) if errors else 0.0
    base = float(np.mean(baseline)) if baseline else None
    h, w = last.shape[:2]
    figures = {"frames": enc.count, "size": [w - w % 2, h - h % 2], "painter": painter.kind,
               "warping_error": err, "baseline_warping_error": base,
               "flicker_ratio": (err / base) if base else None,
               "flow_held": float(np.mean(held_share)) if held_share else None,
               "seconds_per_frame": (time.perf_counter() - t0) / enc.count}
    return VideoResult(last=last, mechanism="style_video", config=cfg, figures=figures)


class _NetworkPainter:
    """A fast style network: each frame in one pass, blended with the warped previous output
    where the flow holds."""
    kind = "network"

    def __init__(self, model, cfg: VideoConfig, dev):
        from reverie.image.fast_style import resolve_model
        self.fs = resolve_model(model)
        self.mix = self.fs.mix(cfg.mix)
        self.net = self.fs.net.to(dev).eval()
        self.cfg = cfg

    def _paint(self, x: np.ndarray) -> np.ndarray:
        from reverie.image.fast_style import stylize
        img = torch.from_numpy(x).permute(2, 0, 1)
        return stylize(self.net, img, self.mix, tile=self.cfg.tile).permute(1, 2, 0).numpy()

    def first(self, x):
        plain = self._paint(x)
        return plain, plain

    def next(self, x, warped, mask):
        plain = self._paint(x)
        a = (self.cfg.blend * mask)[..., None]
        return a * warped + (1 - a) * plain, plain


class _GatysPainter:
    """Gatys's optimisation per frame (reverie.image.style's losses), started from the
    previous output warped and held to it by a temporal loss where the flow holds."""
    kind = "gatys"

    def __init__(self, style, cfg: VideoConfig, dev):
        from reverie.image.style import StyleConfig, _image, _layers, _targets, load_feature_net
        self.cfg, self.dev = cfg, dev
        self.scfg = StyleConfig(model=cfg.loss_network, style_weight=cfg.style_weight,
                                content_weight=cfg.content_weight, device=str(dev))
        self.net = load_feature_net(cfg.loss_network, dev)
        self.content_layers, self.style_layers = _layers(self.net, self.scfg, True)
        self.style_img = _image(style, max_side=2048)
        self._targets = _targets
        self.style_targets = None

    def _solve(self, x0: np.ndarray, content: np.ndarray, warped, mask, budget: int):
        from reverie.image.style import (_features, _run_lbfgs, content_distance,
                                         style_distance, tv_loss)
        s, dev = self.scfg, self.dev
        c = torch.from_numpy(content).permute(2, 0, 1)[None].to(dev)
        if self.style_targets is None:
            self.style_targets = self._targets(self.net, None, [self.style_img], [1.0],
                                               tuple(c.shape[-2:]), s, [], self.style_layers,
                                               dev)["style"]
        with torch.no_grad():
            c_t = {n: f.detach() for n, f in
                   _features(self.net, c, self.content_layers, s.reflect_pad).items()}
        layers = list(dict.fromkeys(self.content_layers + self.style_layers))
        if warped is not None:
            w_t = torch.from_numpy(warped).permute(2, 0, 1)[None].to(dev)
            m_t = torch.from_numpy(mask)[None, None].to(dev)

        def objective(img):
            feats = _features(self.net, img, layers, s.reflect_pad)
            cl = sum(content_distance(feats[n], c_t[n]) for n in self.content_layers) / len(self.content_layers)
            sl = sum(style_distance(feats[n], self.style_targets[n], "gram")
                     for n in self.style_layers) / len(self.style_layers)
            loss = s.content_weight * cl + s.style_weight * sl + s.tv_weight * tv_loss(img)
            if warped is not None:
                loss = loss + self.cfg.temporal_weight * (m_t * (img - w_t) ** 2).mean()
            return loss

        x = torch.from_numpy(x0).permute(2, 0, 1)[None].contiguous().to(dev)
        x = _run_lbfgs(x, objective, budget, lambda *a: None, None)
        return x[0].permute(1, 2, 0).cpu().numpy()

    def first(self, x):
        return self._solve(x, x, None, None, self.cfg.initial_iterations), None

    def next(self, x, warped, mask):
        m = mask[..., None]
        start = m * warped + (1 - m) * x
        return self._solve(start, x, warped, mask, self.cfg.iterations), None


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1][:160] if text else type(exc).__name__
