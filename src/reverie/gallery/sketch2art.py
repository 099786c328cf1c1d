"""Gallery: pix2pix trained here on builtin:photo-tiles (sketches drawn by XDoG), answering
the sketch of a tile it never saw, with its evidence: the nearest training picture by
sketch and the discriminator's map of what still looks fake.

A half-width network for a few hundred steps (cached in ctx.cache_dir): blurry, but the
colours and the large shapes follow the sketch; bench/sketch2art.py trains for 30 minutes
and measures it against its baselines. `quick` trains a tiny one for a few steps.
"""
from __future__ import annotations

from reverie.gallery import Card, GalleryContext, Section, made
from reverie.sketch2art.train import Pix2PixConfig, train_sketch2art

SMALL = Pix2PixConfig(netG="unet_128", load_size=136, crop_size=128, ngf=16, ndf=16,
                      n_layers_D=2, batch_size=4, lr=1e-3, max_steps=150, eval_every=150,
                      checkpoint_every=10**6)
QUICK = SMALL.replace(ngf=4, ndf=4, batch_size=2, max_steps=3, eval_every=3)


def build(ctx: GalleryContext) -> Section:
    import shutil
    from pathlib import Path

    from reverie.io.images import save_image
    from reverie.sketch2art.data import photo_tiles
    from reverie.sketch2art.edges import extract
    from reverie.sketch2art.mechanisms import sketch2art

    cfg = (QUICK if ctx.quick else SMALL).replace(device=str(ctx.device))
    model, fig = ctx.model("sketch2art", "sketch2art", "photo-tiles", cfg,
                           lambda out: train_sketch2art("builtin:photo-tiles", cfg, out=out,
                                                        progress=ctx.part(0, 2)))
    media = []
    samples = Path(model).with_name(Path(model).stem + ".samples.png")
    if samples.exists():
        media.append(ctx.rel(shutil.copyfile(samples, ctx.asset("sketch2art/samples.png"))))
    cards = [Card("Train sketch to artwork", media=media,
                  lead="held-out sketches (top), the network's pictures, the true ones",
                  figures={"model": made(fig, "pix2pix", "builtin:photo-tiles"),
                           "held-out L1": round(fig["val_l1"], 3),
                           "the sketch itself, L1": round(fig["val_l1_sketch"], 3)})]
    tiles = photo_tiles(cfg.crop_size)
    held = tiles.held_out[2]
    sketch = save_image(extract(tiles.pictures[held], cfg.edges).repeat(3, 1, 1),
                        ctx.asset("sketch2art/held-out-sketch.png"))
    result = sketch2art(model, str(sketch), device=str(ctx.device), progress=ctx.part(1, 2))
    paths = result.save(ctx.asset("sketch2art/answer.png"))
    cards.append(Card("Sketch to artwork", media=[ctx.rel(paths["why"])],
                      lead=f"the sketch of a held-out tile ({tiles.names[held]}), the picture, "
                           f"the nearest training picture by sketch, the patch map",
                      figures={"fake patches": round(result.figures["fake_patches"], 2),
                               "nearest": result.figures["nearest"]}))
    return Section(title="Sketch to artwork (pix2pix)",
                   blurb="A conditional GAN learns to turn sketches into pictures: trained on "
                         "scikit-image's photos cut into tiles, each tile's sketch drawn by "
                         "XDoG. Draw your own on the studio's canvas.",
                   cards=cards, mechanisms=["train_sketch2art", "sketch2art"])
