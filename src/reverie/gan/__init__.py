"""GANs: DCGAN on the user's images, a Spatial GAN for textures, and latent arithmetic."""
from reverie.core.registry import Input, Mechanism

_MODEL = Input("model", "model", "a generator from `reverie gan train` (.pt)")
_DCGAN = "Radford, Metz & Chintala 2016, DCGAN"
_WHITE = "White 2016, Sampling Generative Networks"

MECHANISMS = [
    Mechanism(
        name="train_gan", title="Train a GAN on images", domain="gan", command="gan train",
        summary="a DCGAN with spectral norm, hinge loss, two time-scale rates, an EMA "
                "generator, DiffAugment, an optional InfoGAN code and optionally Projected "
                "GAN's discriminator, trained on a folder of images; FD/KID on Lite0 "
                "features on every run",
        paper=f"{_DCGAN}; Miyato et al. 2018, spectral normalization; Heusel et al. 2017, "
              f"TTUR; Zhao et al. 2020, DiffAugment; Chen et al. 2016, InfoGAN; Sauer et "
              f"al. 2021, Projected GANs",
        function="reverie.gan.dcgan:train_gan", config="reverie.gan.dcgan:GANConfig",
        inputs=(Input("images", "corpus", "a folder of images (read recursively), "
                      "builtin:digits or builtin:textures", example="builtin:digits"),),
        outputs=(".pt",)),
    Mechanism(
        name="gan_sample", title="Sample a GAN", domain="gan", command="gan sample",
        summary="a grid of new images (image i is seed + i), with the nearest training "
                "image to each: new, not copied",
        paper=f"{_DCGAN}; Brock et al. 2019 (BigGAN), the truncation trick; Tanielian et "
              f"al. 2020, Jacobian rejection; Chen et al. 2016 (InfoGAN), the code",
        function="reverie.gan.latent:sample", config="reverie.gan.latent:SampleConfig",
        inputs=(_MODEL,), outputs=(".png", ".jpg", ".webp")),
    Mechanism(
        name="gan_interpolate", title="Walk a GAN's latent space", domain="gan",
        command="gan interpolate",
        summary="an animation through the latents of several seeds along great circles",
        paper=_WHITE, function="reverie.gan.latent:interpolate",
        config="reverie.gan.latent:InterpolateConfig", inputs=(_MODEL,),
        outputs=(".mp4", ".gif")),
    Mechanism(
        name="gan_invert", title="Find a picture in a GAN", domain="gan", command="gan invert",
        summary="the latent whose image is closest to a picture (pixel + Lite0 feature loss, "
                "several starts), with the reconstruction error",
        paper="Zhu et al. 2016, Generative Visual Manipulation on the Natural Image Manifold; "
              + _WHITE,
        function="reverie.gan.latent:invert", config="reverie.gan.latent:InvertConfig",
        inputs=(_MODEL, Input("image", "image", "the picture to find")),
        outputs=(".png", ".jpg", ".webp")),
    Mechanism(
        name="gan_vector", title="An attribute vector", domain="gan", command="gan vector",
        summary="mean latent of images with an attribute minus the mean of images without it "
                "(two folders, inverted), or of two lists of seeds: a 'smile vector'",
        paper=f"{_DCGAN} (vector arithmetic); {_WHITE} (attribute vectors)",
        function="reverie.gan.latent:vector", config="reverie.gan.latent:VectorConfig",
        inputs=(_MODEL,
                Input("with_images", "corpus", "a folder of images that have the attribute",
                      required=False, flag="with"),
                Input("without_images", "corpus", "a folder of images that lack it",
                      required=False, flag="without")),
        outputs=(".npy",)),
    Mechanism(
        name="gan_apply", title="Add or remove an attribute", domain="gan", command="gan apply",
        summary="a strip z + a * vector for each amount a, from a picture (inverted) or a seed, "
                "with the attribute measured along it",
        paper=f"{_WHITE}; {_DCGAN}",
        function="reverie.gan.latent:apply", config="reverie.gan.latent:ApplyConfig",
        inputs=(_MODEL, Input("vector", "vectors", "an attribute vector from `gan vector` "
                              "(.npy)", required=False),
                Input("image", "image", "a picture to change (default: the seed's sample)",
                      required=False, positional=True)),
        outputs=(".png", ".jpg", ".webp")),
    Mechanism(
        name="gan_analogy", title="Image analogies in a GAN", domain="gan", command="gan analogy",
        summary="A is to B as C is to ?: invert the three pictures, decode z_B - z_A + z_C, "
                "the arithmetic of the word vectors",
        paper=f"{_DCGAN}; Mikolov et al. 2013 (the arithmetic)",
        function="reverie.gan.latent:analogy", config="reverie.gan.latent:InvertConfig",
        inputs=(_MODEL, Input("a", "image", "A"), Input("b", "image", "B"),
                Input("c", "image", "C")),
        outputs=(".png", ".jpg", ".webp")),
    Mechanism(
        name="train_texture", title="Train a texture GAN", domain="gan", command="gan texture",
        summary="a Spatial GAN: a fully convolutional generator trained on random crops of "
                "one picture, which then paints that texture at any size",
        paper="Jetchev, Bergmann & Vollgraf 2016, Texture Synthesis with Spatial GANs",
        function="reverie.gan.texture:train_texture", config="reverie.gan.texture:TextureConfig",
        inputs=(Input("images", "image", "the texture picture (or several, or "
                      "builtin:textures)", many=True, example="sample:brick"),),
        outputs=(".pt",)),
    Mechanism(
        name="gan_paint", title="Paint a texture", domain="gan", command="gan paint",
        summary="a texture of any size from a `gan texture` model, or a morph between two "
                "noise fields across the width",
        paper="Jetchev, Bergmann & Vollgraf 2016; " + _WHITE,
        function="reverie.gan.texture:paint", config="reverie.gan.texture:PaintConfig",
        inputs=(Input("model", "model", "a model from `reverie gan texture` (.pt)"),),
        outputs=(".png", ".jpg", ".webp")),
]
