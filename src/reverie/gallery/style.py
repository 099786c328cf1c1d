"""Gallery section: image style transfer and texture synthesis (Gatys et al.), and a fast
style network (Johnson et al., conditional instance norm) trained in seconds on two styles.

No paintings ship offline, so the style images are drawn by Reverie itself
(`reverie.image.samples`: brush strokes, a wave field, a mosaic, a DeepDream of gravel),
saved beside the outputs, and handed over as files so every sidecar can be rerun.
"""
from __future__ import annotations

from pathlib import Path

from reverie.gallery import Card, GalleryContext, Section, made
from reverie.image.samples import dream_style, mosaic_image, strokes_image, waves_image
from reverie.image.style import (StyleConfig, TextureConfig, style_transfer, texture,
                                 with_original_colors)
from reverie.io.images import save_image

MECHANISMS = ["style_transfer", "texture", "train_fast_style", "apply_fast_style", "style_video"]
CONTENT = "sample:chelsea"


def build(ctx: GalleryContext) -> Section:
    quick = ctx.quick
    size = 80 if quick else 320
    # L-BFGS budgets below the defaults (120 at the coarsest scale, then 50 per scale):
    # 80 and 30 paint chelsea in the strokes and waves side by side indistinguishably from
    # them (style distance 0.025 and 0.081 against 0.016 and 0.057) in 4.7 s against 8.5
    cfg = StyleConfig(size=size, min_size=64 if quick else 160, device=str(ctx.device),
                      iterations=5 if quick else 30, initial_iterations=8 if quick else 80)
    small = cfg.replace(size=64 if quick else 224, min_size=64 if quick else 160,
                        initial_iterations=5 if quick else 60, iterations=4 if quick else 25)
    section = Section(
        "Style transfer and texture synthesis",
        "Gatys, Ecker and Bethge: a photo's content (features at a mid layer) painted with the "
        "style (Gram matrices of features, blind to position) of other images, by optimising "
        "the pixels, coarse to fine. The style images below were drawn by Reverie itself. A "
        "texture is the style alone, grown from noise. Last, a fast style network (Johnson et "
        "al.), trained once on paintings (the zoo's model:paintings), paints the photo in one "
        "pass and blends its styles by weight (Dumoulin et al.).", mechanisms=MECHANISMS)

    drawn = {"brush strokes": strokes_image(size), "waves": waves_image(size)}
    if not quick:
        drawn["mosaic"] = mosaic_image(size)
        drawn["a DeepDream"] = dream_style(size, str(ctx.device))
    styles = {name: save_image(img, ctx.asset(f"style/style_{name.replace(' ', '_')}.png"))
              for name, img in drawn.items()}

    runs = len(drawn) + 7

    def card(title, result, paths, media_extra=(), **figures):
        losses = result.losses
        w, h = result.figures["size"]
        section.cards.append(Card(title, [*map(ctx.rel, media_extra), ctx.rel(paths["image"])], {
            **figures, "model": result.config.model, "size": f"{w}x{h}",
            "style distance (relative)": round(losses["style"], 4),
            "content distance (relative)": round(losses.get("content", 0.0), 4),
            "seconds": round(result.timings["total"], 1)}))

    def run(tag, title, style_names, config, media_extra=(), **figures):
        result = style_transfer(CONTENT, [styles[n] for n in style_names], config,
                                progress=ctx.part(len(section.cards), runs))
        card(title, result, result.save(ctx.asset(f"style/{tag}.png")), media_extra, **figures)
        return result

    painted = {name: run(f"chelsea_{name.replace(' ', '_')}", f"chelsea in {name}", [name], cfg,
                         media_extra=[styles[name]], style_weight=cfg.style_weight,
                         content_weight=cfg.content_weight) for name in drawn}
    run("blend", "two styles blended 0.5 / 0.5 (strokes + waves)", ["brush strokes", "waves"],
        cfg.replace(style_weights=[0.5, 0.5]), style_weights="0.5 0.5")
    # the colours go back after the optimisation: the strokes painting above, recoloured
    kept = with_original_colors(painted["brush strokes"], CONTENT)
    card("brush strokes, keeping the photo's colours", kept,
         kept.save(ctx.asset("style/original_colors.png")), original_colors=True,
         painted="the brush-strokes run above, its luminance on the photo's colours")
    run("pretrained_small", "pretrained EfficientNet-Lite0 (waves)", ["waves"], small)
    run("random_net", "random-weight multi-scale network, no training at all (waves)", ["waves"],
        small.replace(model="random"),
        note="Ustyuzhaninov et al. 2016: one layer of random filters at many scales")

    source = "waves" if quick else "mosaic"
    tex_cfg = TextureConfig(size=96 if quick else 256, min_size=64 if quick else 128,
                            iterations=cfg.iterations, initial_iterations=cfg.initial_iterations,
                            device=str(ctx.device))
    result = texture(styles[source], tex_cfg, progress=ctx.part(len(section.cards), runs))
    card(f"texture synthesised from the {source}", result,
         result.save(ctx.asset("style/texture.png")), [styles[source]])
    model, card = _fast_card(ctx, [styles["brush strokes"], styles["waves"]], size,
                             ctx.part(len(section.cards), runs))
    section.cards.append(card)
    section.cards.append(_video_card(ctx, model, ctx.part(len(section.cards), runs)))
    return section


def _fast_card(ctx: GalleryContext, style_paths: list, size: int, progress) -> tuple[str, Card]:
    """The zoo's four-painting network (model:paintings) when installed, else a two-style
    network trained here for a few seconds on the drawn styles (kept in the cache); then
    the photo in two styles and in an even blend of both: three passes of the network."""
    from reverie.image.fast_style import apply_fast_style, load_fast_style
    from reverie.image.fast_style_train import HELD_OUT, FastStyleConfig, train_fast_style
    cfg = FastStyleConfig(**(dict(max_steps=15, image_size=64, width=8, batch_size=2)
                             if ctx.quick else dict(max_steps=80, image_size=96, width=16,
                                                    batch_size=2)), device=str(ctx.device))
    cfg = cfg.replace(eval_every=cfg.max_steps)
    data = "+".join(Path(p).name for p in style_paths) + f"@{size}"
    model, f = ctx.model("paintings", "style", "fast-style", cfg, lambda out: train_fast_style(
        [str(p) for p in style_paths], cfg, out=out, progress=progress), data=data)
    a, b = load_fast_style(model).styles[:2]
    media, seconds = [], []
    for tag, mix in (("first", [f"{a}=1", f"{b}=0"]), ("blend", [f"{a}=0.5", f"{b}=0.5"]),
                     ("second", [f"{a}=0", f"{b}=1"])):
        result = apply_fast_style(model, CONTENT, mix=mix, size=size, device=str(ctx.device))
        media.append(ctx.rel(result.save(ctx.asset(f"style/fast_{tag}.png"))["image"]))
        seconds.append(result.timings["paint"])
    what = "a fast style network" + (" on four public-domain paintings" if f["zoo"] else
                                     " on the drawn strokes and waves")
    return model, Card("fast style network: one pass per image, styles blended 1/0, 0.5/0.5, 0/1",
                media, {"styles": f"{a}, {b}", "model": made(f, what, "crops of photos"),
                        "held-out style distance": round(f["val_style"], 4),
                        "seconds per image": round(max(seconds), 3),
                        "held out": ", ".join(HELD_OUT)})


def _video_card(ctx: GalleryContext, model: str, progress) -> Card:
    """A pan across the photo painted by the network, each frame tied to the one before
    along the optical flow (Ruder et al.); the flicker beside per-frame painting's."""
    import numpy as np

    from reverie.image.video import style_video, write_video
    from reverie.io.images import load_image
    from reverie.optvis.transform import resize
    n, (h, w) = (8, (48, 64)) if ctx.quick else (24, (120, 160))
    photo = load_image(CONTENT)
    side = int(photo.shape[1] * 0.8)
    frames = []
    for t in range(n):
        x0 = int((photo.shape[2] - side * w / h) * t / (n - 1))
        crop = resize(photo[None, :, :side, x0:x0 + int(side * w / h)], (h, w))[0].clamp(0, 1)
        frames.append((crop.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    clip = ctx.asset("style/pan.mp4")
    write_video(frames, clip, fps=12)
    result = style_video(str(clip), model=model, device=str(ctx.device), progress=progress)
    out = result.save(ctx.asset("style/pan_styled.mp4"))["video"]
    f = result.figures
    return Card("styled video: each frame blended with the previous one warped by optical flow",
                [ctx.rel(clip), ctx.rel(out)],
                {"frames": f["frames"], "blend": result.config.blend,
                 "warping error": f"{f['warping_error']:.5f} (per frame: "
                                  f"{f['baseline_warping_error']:.5f})",
                 "flicker ratio": round(f["flicker_ratio"], 2),
                 "seconds per frame": round(f["seconds_per_frame"], 3)})
