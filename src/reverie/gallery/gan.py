"""Gallery: a DCGAN learning scikit-learn's digits (the gallery's one live training), then
the zoo's model:digits: samples beside their nearest training images, a walk through its
latent space, a thickness vector, an inversion and an analogy; and a Spatial GAN
(model:textures) that paints a brick wall at any size.

Models trained here have step budgets, so every run makes the same ones; each trains once
and is cached in ctx.cache_dir. Without the zoo's models the section uses its own. `quick`
trains tiny nets for a few steps.
"""
from __future__ import annotations

import torch

from reverie.gallery import Card, GalleryContext, Section, made
from reverie.gan.dcgan import GANConfig, train_gan
from reverie.gan.latent import analogy, apply, interpolate, invert, sample, vector
from reverie.gan.texture import TextureConfig, paint, train_texture

# digits are 8x8 upsampled: a half-width DCGAN learns their shapes in a few hundred steps
# (the live card shows that; the cards after it use the zoo's model trained for minutes)
DIGITS = GANConfig(ngf=32, ndf=32, batch_size=32, max_steps=300, sample_every=25,
                   eval_every=300, fd_samples=200, checkpoint_every=300)
DIGITS_QUICK = GANConfig(ngf=8, ndf=8, batch_size=8, max_steps=6, sample_every=3,
                         eval_every=6, fd_samples=20, checkpoint_every=10**6)
# half-size photo, 32-pixel crops, a half-width net: mortar lines appear by ~1,000 steps
# (300 steps of the default 64-pixel net at this budget painted flat grey)
BRICK = TextureConfig(crop=32, depth=3, scale=0.5, ngf=32, ndf=32, max_steps=1200,
                      sample_every=100, eval_every=1200, fd_samples=40, checkpoint_every=600)
BRICK_QUICK = TextureConfig(crop=32, depth=3, ngf=8, ndf=8, batch_size=4, max_steps=4,
                            sample_every=2, eval_every=4, fd_samples=20, checkpoint_every=10**6)
# inversion is Adam on the latent: fewer starts and steps than the default keep it in seconds
INVERT = {"starts": 2, "steps": 100}
INVERT_QUICK = {"starts": 1, "steps": 5}


def _trained(ctx: GalleryContext, name: str, train, source, cfg,
             zoo: str = "") -> tuple[str, dict]:
    """The zoo's model:`zoo` when given and installed, else trained here (and cached)."""
    cfg = cfg.replace(device=str(ctx.device))
    fit = lambda out: train(source, cfg, out=out, progress=ctx.progress)  # noqa: E731
    return (ctx.model(zoo, "gan", name, cfg, fit) if zoo else
            ctx.trained("gan", name, cfg, fit))


def _train_card(ctx: GalleryContext, model: str, fig: dict, name: str, title: str,
                lead: str) -> Card:
    import shutil
    from pathlib import Path

    media = []
    for suffix in (".training.gif", ".samples.png", ".curves.png"):
        src = Path(model).with_name(Path(model).stem + suffix)
        if src.exists():
            dst = ctx.asset(f"gan/{name}{suffix}")
            shutil.copyfile(src, dst)
            media.append(ctx.rel(dst))
    return Card(title=title, lead=lead, media=media,
                figures={"steps": fig["steps"], "FD (Lite0 features)": round(fig["fd"], 1),
                         "FD, real vs real (the floor)": round(fig["fd_real_floor"], 1),
                         "KID": round(fig["kid"], 4)})


def _digit_pngs(ctx: GalleryContext) -> dict[str, str]:
    """A thin 1, a heavy 1 and a thin 7 from the digits (by ink), as PNG files."""
    from reverie.gan.data import digits
    from reverie.io.images import save_image

    d = digits(32)
    ink = d.images.mean((1, 2, 3))
    picks = {}
    for role, label, heavy in (("thin1", 1, False), ("heavy1", 1, True), ("thin7", 7, False)):
        idx = torch.nonzero(torch.from_numpy(d.labels == label)).flatten()
        order = idx[torch.argsort(ink[idx], descending=heavy)]
        picks[role] = str(save_image(d.images[int(order[0])], ctx.asset(f"gan/{role}.png")))
    return picks


def _grid_card(ctx, result, name: str, title: str, lead: str, figures: dict) -> Card:
    paths = result.save(ctx.asset(f"gan/{name}.png"))
    media = [ctx.rel(p) for role, p in paths.items() if role in ("image", "nearest")]
    return Card(title=title, lead=lead, media=media, figures=figures)


def build(ctx: GalleryContext) -> Section:
    quick = ctx.quick
    # the gallery's one live training: a short run, to watch a GAN learn; what follows
    # uses the zoo's model:digits, trained for minutes, when it is installed
    live, fig = _trained(ctx, "digits", train_gan, "builtin:digits",
                         DIGITS_QUICK if quick else DIGITS)
    inv = INVERT_QUICK if quick else INVERT
    cards = [_train_card(ctx, live, fig, "digits", "A DCGAN learns handwritten digits",
                         f"a short run here, {fig['steps']} steps: the generator's samples from "
                         "fixed latents as training went on (blobs first, then strokes), its "
                         "last grid, and the losses with the Fréchet distance falling toward "
                         "real-versus-real" + ("; the cards below use the zoo's model:digits, "
                                               "trained for minutes" if not quick else ""))]
    zoo_digits = ctx.zoo_card("digits") is not None
    model = "model:digits" if zoo_digits else live
    s = sample(model, n=16, nrow=8, seed=0, device=str(ctx.device))
    cards.append(_grid_card(ctx, s, "samples", "New digits, not copies",
                            ("the zoo's model:digits. " if zoo_digits else "")
                            + "left: 16 samples (seeds 0-15); right: each sample's row above "
                              "its nearest training digit's",
                            {"verdict": s.figures.get("verdict", "").split(":")[0],
                             "near copies": s.figures.get("near_copies", "")}))
    walk = interpolate(model, seed=1, n=4, frames=12 if quick else 48, loop=True,
                       device=str(ctx.device))
    paths = walk.save(ctx.asset("gan/walk.gif"))
    cards.append(Card(title="A walk through the latent space",
                      lead="four seeds' latents joined along great circles (slerp, White "
                           "2016): every frame is a digit the generator makes",
                      media=[ctx.rel(paths["animation"])],
                      figures={"latent norm": " - ".join(f"{x:.1f}" for x in
                                                         walk.figures["norm_range"])}))
    # a thickness vector the seed way: the heaviest minus the lightest samples by ink
    pool = sample(model, n=64 if not quick else 8, seed=100, device=str(ctx.device))
    from reverie.gan.dcgan import load_gan
    from reverie.gan.networks import latent_for_seed
    g = load_gan(model)
    z = torch.stack([latent_for_seed(sd, g.latent_shape) for sd in pool.figures["seeds"]])
    ink = g.images(z).mean((1, 2, 3))
    order = [pool.figures["seeds"][i] for i in torch.argsort(ink).tolist()]
    quarter = max(1, len(order) // 4)
    v = vector(model, with_seeds=order[-quarter:], without_seeds=order[:quarter],
               device=str(ctx.device))
    strip = apply(model, v.vector, seed=7, device=str(ctx.device))
    cards.append(_grid_card(ctx, strip, "thickness", "A thickness vector, added and removed",
                            f"the mean latent of the {quarter} inkiest of {len(order)} samples "
                            f"minus that of the {quarter} lightest, added to seed 7 at -2 ... 2",
                            {"ink": " -> ".join(f"{x:.3f}" for x in strip.figures["ink"]),
                             "monotonic": strip.figures["ink_monotonic"]}))
    digits = _digit_pngs(ctx)
    found = invert(model, digits["heavy1"], **inv, device=str(ctx.device))
    cards.append(_grid_card(ctx, found, "inverted", "Finding a digit in the GAN",
                            "a real digit (left) and the nearest image the generator can make "
                            "(right), by Adam on the latent from several starts",
                            {"pixel MSE": round(found.figures["pixel_mse"], 4)}))
    arith = analogy(model, digits["thin1"], digits["heavy1"], digits["thin7"], **inv,
                    device=str(ctx.device))
    cards.append(_grid_card(ctx, arith, "analogy", "thin 1 : heavy 1 :: thin 7 : ?",
                            "the three digits inverted, then decode(z_B - z_A + z_C): the "
                            "arithmetic of word vectors on pictures", {}))
    tex, tfig = _trained(ctx, "brick", train_texture, ["sample:brick"],
                         BRICK_QUICK if quick else BRICK, zoo="textures")
    if tfig["zoo"] is None:
        cards.append(_train_card(ctx, tex, tfig, "brick", "A Spatial GAN learns a brick wall",
                                 "a fully convolutional generator trained on random crops of "
                                 "one photograph"))
    wall = paint(tex, width=128 if quick else 512, height=64 if quick else 192, seed=0,
                 morph_seed=1, device=str(ctx.device))
    paths = wall.save(ctx.asset("gan/wall.png"))
    cards.append(Card(title="The same texture at any size, morphing across",
                      lead=made(tfig, "a Spatial GAN", "crops of sample:brick") + ": one noise "
                           "vector per patch, slerped from seed 0's field on the left to seed "
                           "1's on the right", media=[ctx.rel(paths["image"])],
                      figures={"noise field": "x".join(map(str, wall.figures["field"]))}))
    blurb = ("Generative adversarial networks (Goodfellow et al. 2014) in the DCGAN form "
             "(Radford et al. 2016), with today's stabilisers: spectral norm, hinge loss, two "
             "learning rates, a moving-average generator and DiffAugment for small sets. "
             "Trained for minutes on 1,797 tiny digits (the zoo's model:digits; a short "
             "run here shows one learning); every sample is shown beside its "
             "nearest training image, so you can see it is new. The latent space walks, "
             "adds and subtracts as the word vectors do. FD is measured on EfficientNet-Lite0 "
             "features, beside real-versus-real: not comparable to published FIDs. Try: "
             "reverie gan train my_photos/ --minutes 20 --out g.pt")
    return Section(title="GANs: digits, latent arithmetic and textures", blurb=blurb,
                   cards=cards, mechanisms=["train_gan", "gan_sample", "gan_interpolate",
                                             "gan_invert", "gan_vector", "gan_apply",
                                             "gan_analogy", "train_texture", "gan_paint"])
