"""Gallery section: image style transfer and texture synthesis (Gatys et al.).

No paintings ship offline, so the style images are drawn by Reverie itself
(`reverie.image.samples`: brush strokes, a wave field, a mosaic, a DeepDream of gravel),
saved beside the outputs, and handed over as files so every sidecar can be rerun.
"""
from __future__ import annotations

from reverie.gallery import Card, GalleryContext, Section
from reverie.image.samples import dream_style, mosaic_image, strokes_image, waves_image
from reverie.image.style import StyleConfig, TextureConfig, style_transfer, texture
from reverie.io.images import save_image

MECHANISMS = ["style_transfer", "texture"]
CONTENT = "sample:chelsea"


def build(ctx: GalleryContext) -> Section:
    quick = ctx.quick
    size = 80 if quick else 320
    cfg = StyleConfig(size=size, min_size=64 if quick else 160, device=str(ctx.device),
                      iterations=5 if quick else 50, initial_iterations=8 if quick else 120)
    small = cfg.replace(size=64 if quick else 224, min_size=64 if quick else 160,
                        initial_iterations=5 if quick else 80, iterations=4 if quick else 40)
    section = Section(
        "Style transfer and texture synthesis",
        "Gatys, Ecker and Bethge: a photo's content (features at a mid layer) painted with the "
        "style (Gram matrices of features, blind to position) of other images, by optimising "
        "the pixels, coarse to fine. The style images below were drawn by Reverie itself. A "
        "texture is the style alone, grown from noise.", mechanisms=MECHANISMS)

    drawn = {"brush strokes": strokes_image(size), "waves": waves_image(size)}
    if not quick:
        drawn["mosaic"] = mosaic_image(size)
        drawn["a DeepDream"] = dream_style(size, str(ctx.device))
    styles = {name: save_image(img, ctx.asset(f"style/style_{name.replace(' ', '_')}.png"))
              for name, img in drawn.items()}

    runs = len(drawn) + 5

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

    for name in drawn:
        run(f"chelsea_{name.replace(' ', '_')}", f"chelsea in {name}", [name], cfg,
            media_extra=[styles[name]], style_weight=cfg.style_weight,
            content_weight=cfg.content_weight)
    run("blend", "two styles blended 0.5 / 0.5 (strokes + waves)", ["brush strokes", "waves"],
        cfg.replace(style_weights=[0.5, 0.5]), style_weights="0.5 0.5")
    run("original_colors", "brush strokes, keeping the photo's colours", ["brush strokes"],
        cfg.replace(original_colors=True), original_colors=True)
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
    return section
