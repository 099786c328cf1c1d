"""Gallery: pix2pix answering sketches drawn as a person would (SVG strokes: a house, a
fish, a flower), with its evidence: the nearest training picture by sketch and the
discriminator's map of what still looks fake.

The model is the zoo's `model:sketch2art` (pix2pix on builtin:photo-tiles, XDoG sketches).
Without the zoo, a half-width network trains here for a few hundred steps on the same tiles
(scikit-image's photos, always installed; cached in ctx.cache_dir). A model that learned
the tiles also answers a held-out tile's sketch. bench/sketch2art.py measures the recipe
against its baselines. `quick` trains a tiny one for a few steps.
"""
from __future__ import annotations

from reverie.gallery import Card, GalleryContext, Section, made
from reverie.sketch2art.train import Pix2PixConfig, train_sketch2art

SMALL = Pix2PixConfig(netG="unet_128", load_size=136, crop_size=128, ngf=16, ndf=16,
                      n_layers_D=2, batch_size=4, lr=1e-3, max_steps=150, eval_every=150,
                      checkpoint_every=10**6)
QUICK = SMALL.replace(ngf=4, ndf=4, batch_size=2, max_steps=3, eval_every=3)

# hand-drawn-like sketches, as the studio's canvas or Inkscape would save them: strokes only
_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" '
        'viewBox="0 0 256 256"><g fill="none" stroke="black" stroke-width="4" '
        'stroke-linecap="round" stroke-linejoin="round">{}</g></svg>')
SKETCHES = {
    "a house": _SVG.format(
        '<path d="M 60 120 L 128 58 L 196 120"/><path d="M 72 110 L 72 200 L 184 200 L 184 110"/>'
        '<path d="M 112 200 L 112 156 L 144 156 L 144 200"/><rect x="84" y="126" width="22" '
        'height="20"/><rect x="152" y="126" width="22" height="20"/>'
        '<path d="M 160 80 L 160 58 L 174 58 L 174 92"/>'),
    "a fish": _SVG.format(
        '<path d="M 50 128 C 90 70 170 70 196 128 C 170 186 90 186 50 128 Z"/>'
        '<path d="M 196 128 L 232 96 L 226 128 L 232 160 Z"/><circle cx="90" cy="116" r="7"/>'
        '<path d="M 120 92 C 132 110 132 146 120 164"/><path d="M 74 142 C 84 150 96 150 104 146"/>'),
    "a flower": _SVG.format(
        '<circle cx="128" cy="96" r="18"/>'
        + "".join(f'<ellipse cx="128" cy="60" rx="14" ry="24" transform="rotate({a} 128 96)"/>'
                  for a in range(0, 360, 60))
        + '<path d="M 128 114 C 124 160 132 190 128 232"/>'
        '<path d="M 128 190 C 110 170 90 172 80 180 C 96 194 114 194 128 190"/>'),
}


def build(ctx: GalleryContext) -> Section:
    import shutil
    from pathlib import Path

    from reverie.io.files import save_text
    from reverie.io.images import save_image
    from reverie.sketch2art.data import photo_tiles
    from reverie.sketch2art.edges import extract
    from reverie.sketch2art.mechanisms import sketch2art
    from reverie.sketch2art.train import load_sketch2art

    cfg = (QUICK if ctx.quick else SMALL).replace(device=str(ctx.device))
    # the section's progress in parts: the model, each drawn sketch, a held-out tile
    parts = 2 + len(SKETCHES)
    model, fig = ctx.model("sketch2art", "sketch2art", "photo-tiles", cfg,
                           lambda out: train_sketch2art("builtin:photo-tiles", cfg, out=out,
                                                        progress=ctx.part(0, parts)))
    data = load_sketch2art(model).data.get("source", "builtin:photo-tiles")
    media = []
    samples = Path(model).with_name(Path(model).stem + ".samples.png")
    if samples.exists():
        media.append(ctx.rel(shutil.copyfile(samples, ctx.asset("sketch2art/samples.png"))))
    figures = {"model": made(fig, "pix2pix", data)}
    if "val_l1" in fig:
        figures.update({"held-out L1": round(fig["val_l1"], 3),
                        "the sketch itself, L1": round(fig["val_l1_sketch"], 3)})
    cards = [Card("Train sketch to artwork", media=media, figures=figures,
                  lead="held-out sketches (top), the network's pictures, the true ones"
                  if media else f"trained on {data}, each picture's sketch drawn by XDoG")]

    def answer(tag: str, sketch: str, lead: str) -> None:
        result = sketch2art(model, sketch, device=str(ctx.device),
                            progress=ctx.part(len(cards), parts))
        paths = result.save(ctx.asset(f"sketch2art/{tag}.png"))
        cards.append(Card(f"Sketch to artwork: {lead}", media=[ctx.rel(paths["why"])],
                          lead="the sketch as the network saw it, its picture, the nearest "
                               "training picture by sketch, the patch map (red: still fake)",
                          figures={"fake patches": round(result.figures["fake_patches"], 2),
                                   "nearest": result.figures["nearest"]}))

    for name, svg in SKETCHES.items():
        tag = name.split()[-1]
        answer(tag, str(save_text(svg, ctx.asset(f"sketch2art/{tag}.svg"))), f"{name} (SVG)")
    if data == "builtin:photo-tiles":   # the set it learned from is here: a held-out tile
        tiles = photo_tiles(cfg.crop_size)
        held = tiles.held_out[2]
        sketch = save_image(extract(tiles.pictures[held], cfg.edges).repeat(3, 1, 1),
                            ctx.asset("sketch2art/held-out-sketch.png"))
        answer("answer", str(sketch), f"a held-out tile ({tiles.names[held]})")
    return Section(title="Sketch to artwork (pix2pix)",
                   blurb=f"A conditional GAN learns to turn sketches into pictures: trained "
                         f"on {data}, each picture's sketch drawn by XDoG. Here it answers "
                         f"sketches drawn as SVG strokes. Draw your own on the studio's "
                         f"canvas.",
                   cards=cards, mechanisms=["train_sketch2art", "sketch2art"])
