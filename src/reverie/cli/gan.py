"""`reverie gan`: GANs on the user's images, textures, and latent arithmetic.

    reverie gan train builtin:digits --size 32 --minutes 10 --out g.pt        (generated)
    reverie gan train builtin:digits --max-steps 8000 --resume --out g.pt     (goes on)
    reverie gan sample g.pt --n 64 --truncation 0.7 --out grid.png           (generated)
    reverie gan interpolate g.pt --seed 1 --n 3 --frames 60 --out walk.mp4
    reverie gan invert g.pt photo.png --out found.png                        (generated)
    reverie gan vector g.pt --with smiling/ --without neutral/ --out smile.npy
    reverie gan apply g.pt face.png --vector smile.npy --amounts -2 -1 0 1 2
    reverie gan analogy g.pt A.png B.png C.png --out d.png                   (generated)
    reverie gan texture sample:brick --out brick.pt                           (generated)
    reverie gan paint brick.pt --width 512 --height 256 --morph-seed 2 --out wall.png
"""
from __future__ import annotations

from reverie.cli.common import group


def register(sub) -> None:
    group(sub, "gan", "generative adversarial networks: train on your images (DCGAN) or one "
                      "texture (Spatial GAN); sample, walk, invert, attribute vectors")
