# SPLIT IN PROGRESS: the audio helper keeps only the sound part of this copy of gallery/style.py
"""Gallery section: style transfer and texture synthesis, for images and for sound.

No paintings ship offline, so the style images are made here (brush strokes, a wave field,
a mosaic; a DeepDream output when reverie.dream exists), and the sounds are synthesised
from tones and noise.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from reverie.gallery import Card, GalleryContext, Section

CONTENT = "sample:chelsea"


# -- style images drawn here -------------------------------------------------------------------

def strokes_image(size: int = 384, seed: int = 0) -> torch.Tensor:
    """Thick curved brush strokes in a warm palette on a dark ground."""
    from PIL import Image, ImageDraw, ImageFilter
    rng = np.random.default_rng(seed)
    palette = [(233, 196, 106), (244, 162, 97), (231, 111, 81), (42, 157, 143), (38, 70, 83), (250, 240, 210)]
    im = Image.new("RGB", (size, size), (30, 30, 45))
    draw = ImageDraw.Draw(im)
    for _ in range(int(size * 3)):
        x, y = rng.uniform(0, size, 2)
        angle, length = rng.uniform(0, math.pi), rng.uniform(size * 0.04, size * 0.14)
        bend = rng.uniform(-0.6, 0.6)
        points = [(x + math.cos(angle + bend * t) * length * t, y + math.sin(angle + bend * t) * length * t)
                  for t in np.linspace(0, 1, 8)]
        color = tuple(int(c + rng.integers(-20, 20)) for c in palette[rng.integers(len(palette))])
        draw.line(points, fill=color, width=int(rng.integers(4, max(5, size // 22))), joint="curve")
    return _to_tensor(im.filter(ImageFilter.SMOOTH))


def waves_image(size: int = 384) -> torch.Tensor:
    """Interfering blue-and-white waves with a curl: a colour field with strong structure."""
    y, x = np.mgrid[0:size, 0:size] / size
    phase = np.sin(12 * x + 4 * np.sin(6 * y)) + np.sin(14 * y + 3 * np.cos(5 * x)) + 0.5 * np.sin(40 * (x + y))
    t = (0.5 + 0.5 * np.sin(5 * phase)) ** 3          # contour bands: crests and troughs
    deep, foam = np.array([0.04, 0.12, 0.40]), np.array([0.85, 0.92, 1.0])
    rgb = deep * (1 - t[..., None]) + foam * t[..., None]
    rgb[t > 0.9] = [0.98, 0.98, 0.95]
    return torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)


def mosaic_image(size: int = 384, seed: int = 1) -> torch.Tensor:
    """Voronoi tiles in jewel colours with dark grout."""
    rng = np.random.default_rng(seed)
    n = 90
    points = rng.uniform(0, size, (n, 2))
    colors = rng.choice(np.array([[0.8, 0.1, 0.2], [0.95, 0.75, 0.1], [0.1, 0.5, 0.3],
                                  [0.15, 0.3, 0.75], [0.9, 0.9, 0.85], [0.55, 0.2, 0.6]]), n)
    yy, xx = np.mgrid[0:size, 0:size]
    d = (xx[..., None] - points[:, 0]) ** 2 + (yy[..., None] - points[:, 1]) ** 2
    order = np.sort(d, -1)
    nearest = d.argmin(-1)
    edge = np.sqrt(order[..., 1]) - np.sqrt(order[..., 0]) < 3
    rgb = colors[nearest] * rng.uniform(0.75, 1.1, n)[nearest][..., None]
    rgb[edge] = 0.08
    return torch.from_numpy(np.clip(rgb, 0, 1).astype(np.float32)).permute(2, 0, 1)


def dream_style(size: int, device) -> torch.Tensor | None:
    """A DeepDream of a texture photo, if the dream mechanism exists; None otherwise."""
    try:
        from reverie.image.deepdream import dream  # noqa: F401
        import inspect
        from reverie.io.images import load_image
        image = load_image("sample:gravel", max_side=size)
        out = dream(image, seed=0, device=device) if "seed" in inspect.signature(dream).parameters else dream(image)
        out = getattr(out, "image", out)
        if isinstance(out, torch.Tensor) and out.dim() in (3, 4):
            return (out[0] if out.dim() == 4 else out).detach().float().cpu().clamp(0, 1)
    except Exception:   # a gallery picture is optional; the section must not fail for it
        return None
    return None


def _to_tensor(im) -> torch.Tensor:
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


# -- sounds made here --------------------------------------------------------------------------

def melody(seconds: float, sr: int = 22050) -> np.ndarray:
    """A plucked arpeggio (A minor): tones with harmonics and decaying envelopes."""
    notes = [220.0, 261.63, 329.63, 440.0, 329.63, 261.63]
    step = 0.4
    t = np.arange(int(sr * seconds)) / sr
    x = np.zeros_like(t)
    for i, start in enumerate(np.arange(0, seconds, step)):
        f = notes[i % len(notes)]
        local = t - start
        env = np.where(local >= 0, np.exp(-local * 5), 0)
        x += env * sum(np.sin(2 * np.pi * f * k * t) / k for k in (1, 2, 3))
    return (0.4 * x / np.abs(x).max()).astype(np.float32)


def rain(seconds: float, sr: int = 22050, seed: int = 0) -> np.ndarray:
    """Band-passed hiss with random droplet clicks and a slow swell: rain on a roof."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spectrum *= np.exp(-((np.log(freqs + 1) - np.log(3000)) ** 2) / 0.8)
    hiss = np.fft.irfft(spectrum, n)
    hiss /= np.abs(hiss).max()
    drops = np.zeros(n)
    for pos in rng.integers(0, n - 400, int(seconds * 25)):
        k = np.arange(400)
        drops[pos:pos + 400] += rng.uniform(0.3, 1) * np.sin(2 * np.pi * rng.uniform(1500, 5000) * k / sr) * np.exp(-k / 60)
    t = np.arange(n) / sr
    x = hiss * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)) + 0.5 * drops
    return (0.4 * x / np.abs(x).max()).astype(np.float32)


# -- the section -------------------------------------------------------------------------------

def build(ctx: GalleryContext) -> Section:
    from reverie.audio.style import AudioStyleConfig, audio_style, log_spectrogram, save_audio, save_spectrogram_png
    from reverie.io.images import load_image, save_image, write_sidecar
    from reverie.image.style import StyleConfig, style_transfer, texture

    quick = ctx.quick
    size = 80 if quick else 320
    cfg = StyleConfig(size=size, min_size=64 if quick else 160,
                      iterations=5 if quick else 50, initial_iterations=8 if quick else 120)
    section = Section(
        "Style transfer and texture synthesis",
        "Gatys, Ecker and Bethge: a photo's content (features at a mid layer) painted with the "
        "style (Gram matrices of features, blind to position) of other images, by optimising the "
        "pixels. The style images below were drawn by Reverie itself. Then the same on sound "
        "(Ulyanov and Lebedev): a log spectrogram, one layer of random 1-D filters, Gram "
        "matrices, L-BFGS, and Griffin-Lim to hear it.")
    content = load_image(CONTENT, max_side=size)
    content_path = ctx.asset("style/content.png")
    save_image(content, content_path)

    styles = {"brush strokes": strokes_image(size), "waves": waves_image(size)}
    if not quick:
        styles["mosaic"] = mosaic_image(size)
        dreamed = dream_style(size, ctx.device)
        if dreamed is not None:
            styles["a DeepDream"] = dreamed
    style_paths = {}
    for name, img in styles.items():
        style_paths[name] = ctx.asset(f"style/style_{name.replace(' ', '_')}.png")
        save_image(img, style_paths[name])

    def run(tag, title, styles_in, config, media_extra=(), content_in=content, **figures):
        start = time.perf_counter()
        if content_in is None:
            result = texture(styles_in, size=config.size, config=config, seed=0, device=ctx.device)
        else:
            result = style_transfer(content_in, styles_in, config, seed=0, device=ctx.device)
        out = ctx.asset(f"style/{tag}.png")
        save_image(result.image, out)
        write_sidecar(out, {"content": CONTENT if content_in is not None else None, **result.record()})
        losses = result.losses
        section.cards.append(Card(title, [*map(ctx.rel, media_extra), ctx.rel(out)], {
            **figures, "model": result.config.model, "size": f"{result.image.shape[2]}x{result.image.shape[1]}",
            "style distance (relative)": round(losses["style"], 4),
            "content distance (relative)": round(losses.get("content", 0.0), 4),
            "seconds": round(time.perf_counter() - start, 1)}))
        ctx.progress(len(section.cards), 0, title)
        return result

    for name, img in styles.items():
        run(f"chelsea_{name.replace(' ', '_')}", f"chelsea in {name}", [img], cfg,
            media_extra=[style_paths[name]], style_weight=cfg.style_weight, content_weight=cfg.content_weight)
    run("blend", "two styles blended 0.5 / 0.5 (strokes + waves)",
        [styles["brush strokes"], styles["waves"]], StyleConfig(**{**cfg.__dict__, "style_weights": [0.5, 0.5]}),
        style_weights="0.5 0.5")
    run("original_colors", "brush strokes, keeping the photo's colours",
        [styles["brush strokes"]], StyleConfig(**{**cfg.__dict__, "original_colors": True}),
        original_colors=True)
    small = StyleConfig(**{**cfg.__dict__, "size": 64 if quick else 224, "min_size": 64 if quick else 160,
                           "initial_iterations": 5 if quick else 80, "iterations": 4 if quick else 40})
    run("pretrained_small", "pretrained EfficientNet-Lite0 (waves)", [styles["waves"]], small)
    run("random_net", "random-weight multi-scale network, no training at all (waves)",
        [styles["waves"]], StyleConfig(**{**small.__dict__, "model": "random"}),
        note="Ustyuzhaninov et al. 2016: one layer of random filters at many scales")
    tex_size = (96, 96) if quick else (256, 256)
    run("texture", "texture synthesised from the mosaic" if not quick else "texture from the waves",
        [styles["mosaic" if not quick else "waves"]],
        StyleConfig(**{**cfg.__dict__, "size": tex_size, "min_size": 64 if quick else 128}),
        content_in=None)

    # -- sound ---------------------------------------------------------------------------------
    sr = 22050
    seconds = 1.0 if quick else 4.0
    acfg = AudioStyleConfig(n_filters=64 if quick else 2048, iterations=6 if quick else 60,
                            griffin_lim_iters=8 if quick else 50)
    inputs = {"melody": melody(seconds, sr), "rain": rain(seconds, sr)}
    paths = {}
    for name, x in inputs.items():
        paths[name] = save_audio(x, sr, ctx.asset(f"style/{name}.wav"))
        spec_png = save_spectrogram_png(log_spectrogram(x, acfg), sr, ctx.asset(f"style/{name}.spec.png"), name)
        section.cards.append(Card(f"sound input: {name}", [ctx.rel(paths[name]), ctx.rel(spec_png)],
                                  {"seconds": seconds, "made from": "tones with harmonics" if name == "melody"
                                   else "band-passed noise and droplet clicks"}))
    for tag, title, content_in in (("melody_in_rain", "the melody's content in the rain's style", inputs["melody"]),
                                   ("rain_texture", "a rain texture from noise (style only)", None)):
        start = time.perf_counter()
        result = audio_style((content_in, sr) if content_in is not None else None, (inputs["rain"], sr),
                             acfg, seconds=seconds, seed=0)
        out = save_audio(result.audio, sr, ctx.asset(f"style/{tag}.wav"))
        spec_png = save_spectrogram_png(log_spectrogram(result.audio, acfg), sr,
                                        ctx.asset(f"style/{tag}.spec.png"), title)
        write_sidecar(out, result.record())
        section.cards.append(Card(title, [ctx.rel(out), ctx.rel(spec_png)], {
            "filters": acfg.n_filters, "L-BFGS evaluations": acfg.iterations,
            "style (Gram) loss": f"{result.losses['style_initial']:.4g} -> {result.losses['style']:.4g}",
            "seconds": round(time.perf_counter() - start, 1)}))
    return section
