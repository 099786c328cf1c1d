"""Sketch to artwork: pix2pix (Isola, Zhu, Zhou & Efros 2017), a conditional GAN that turns
a sketch into a picture like those it was trained on, with the sketches drawn from the
user's pictures by an edge extractor (`edges`), a U-Net generator and a PatchGAN
discriminator (`model`), training through `reverie.train` (`train`), and the mechanisms
that answer a sketch and show why (`mechanisms`)."""
from reverie.core.registry import Input, Mechanism

_PAPER = ("Isola, Zhu, Zhou & Efros 2017, Image-to-Image Translation with Conditional "
          "Adversarial Networks (pix2pix)")
_EDGES = "Winnemöller, Kyprianidis & Olsen 2012, XDoG; Canny 1986"

MECHANISMS = [
    Mechanism(
        name="train_sketch2art", title="Train sketch to artwork", domain="sketch2art",
        command="sketch2art train",
        summary="pix2pix on the user's pictures: each one's sketch drawn by an edge "
                "extractor (XDoG or Canny) and loosened, a U-Net learns sketch -> picture "
                "under L1 and a 70x70 PatchGAN",
        paper=f"{_PAPER}; {_EDGES}",
        function="reverie.sketch2art.train:train_sketch2art",
        config="reverie.sketch2art.train:Pix2PixConfig",
        inputs=(Input("images", "corpus", "a folder of pictures, a folder of pix2pix pairs "
                      "(AB side by side, or A/ and B/), builtin:photo-tiles or builtin:clipart",
                      example="builtin:photo-tiles"),),
        outputs=(".pt",)),
    Mechanism(
        name="sketch2art", title="Sketch to artwork", domain="sketch2art",
        command="sketch2art apply",
        summary="a sketch (PNG, or SVG strokes) turned into a picture, beside the nearest "
                "training picture by sketch and the discriminator's map of what still "
                "looks fake",
        paper=_PAPER, function="reverie.sketch2art.mechanisms:sketch2art",
        config="reverie.sketch2art.mechanisms:ApplyConfig",
        inputs=(Input("model", "model", "a model from `reverie sketch2art train` (.pt)"),
                Input("sketch", "sketch", "the sketch: dark lines on light paper (PNG, JPEG), "
                      "or an SVG of strokes")),
        outputs=(".png", ".jpg", ".webp")),
    Mechanism(
        name="sketch_edges", title="A picture's sketch", domain="sketch2art",
        command="sketch2art edges",
        summary="the sketch an edge extractor draws of a picture (XDoG or Canny): what "
                "sketch2art trains on",
        paper=_EDGES, function="reverie.sketch2art.mechanisms:sketch_edges_of",
        config="reverie.sketch2art.mechanisms:EdgesConfig",
        inputs=(Input("picture", "image", "the picture", example="sample:chelsea"),),
        outputs=(".png", ".jpg", ".webp")),
]


# -- data sets this domain declares (collected by reverie.io.datasets) -------------------------
from reverie.io.datasets import Dataset  # noqa: E402


def _tile_files():
    from reverie.sketch2art.data import tile_files
    return tile_files()


def _clipart_files():
    from reverie.sketch2art.data import clipart_files
    return clipart_files()


DATASETS = [
    Dataset("photo-tiles", "images", "non-overlapping tiles of 13 photos scikit-image ships "
            "(astronaut, cat, coffee, rocket, motorcycle, micrographs, brick, grass ...)",
            _tile_files),
    Dataset("clipart", "images", "about 3,000 drawings of Debian's openclipart-png (CC0 clip "
            "art: animals, people, food, vehicles, plants ...), each on white paper",
            _clipart_files),
]
