"""Make the pictures the README shows (run from the repo root: python docs/make_images.py)."""
from pathlib import Path

from PIL import Image

import reverie
from reverie.image.deepdream import preset
from reverie.io.images import tensor_to_pil

HERE = Path(__file__).parent


def row(images, path, quality=85):
    ims = [tensor_to_pil(x) for x in images]
    sheet = Image.new("RGB", (sum(i.width for i in ims), max(i.height for i in ims)), "white")
    x = 0
    for im in ims:
        sheet.paste(im, (x, 0))
        x += im.width
    sheet.save(path, quality=quality)


photo = reverie.load_image("sample:astronaut", max_side=320)
row([photo] + [reverie.dream(photo, preset(p)).image
               for p in ("edges", "textures", "patterns", "objects")], HERE / "dream.jpg")
row([reverie.visualize(c).images[0] for c in ("goldfish", "hammerhead shark", "flamingo", "monarch butterfly")],
    HERE / "visualize.jpg")
