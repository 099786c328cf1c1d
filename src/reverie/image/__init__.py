"""Images: DeepDream, activation maximisation, Gatys style transfer and texture."""
from reverie.core.registry import Input, Mechanism

MECHANISMS = [
    Mechanism(
        name="dream", title="DeepDream", domain="image",
        summary="amplify what a layer of an ImageNet network sees in a photo",
        paper="Mordvintsev, Olah and Tyka 2015, Inceptionism",
        function="reverie.image.deepdream:dream", config="reverie.image.deepdream:DreamConfig",
        presets="reverie.image.deepdream:PRESETS", check_out="reverie.image.deepdream:check_out",
        inputs=(Input("image", "image", "the photo to dream on: a path or sample:NAME",
                      example="sample:astronaut"),
                Input("guide", "image", "grow what this image shows instead of what the layer "
                      "likes", required=False)),
        outputs=(".png", ".jpg", ".webp", ".gif", ".mp4")),
]
