"""`reverie sketch2art`: pix2pix from sketches to pictures (Isola et al. 2017).

    reverie sketch2art train FOLDER --out art.pt             (generated)
    reverie sketch2art apply art.pt SKETCH.png --out a.png   (generated; SVG strokes too)
    reverie sketch2art edges PICTURE.jpg --out sketch.png    (generated)
"""
from __future__ import annotations

from reverie.cli.common import group


def register(sub) -> None:
    group(sub, "sketch2art", "sketch to artwork (pix2pix): train on pictures, turn sketches "
                             "into pictures, see a picture's sketch")
