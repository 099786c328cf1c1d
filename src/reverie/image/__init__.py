"""Images: DeepDream, enhancement by low-level dreaming, activation maximisation, Gatys
style transfer and texture."""
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
        outputs=(".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4")),
    Mechanism(
        name="enhance", title="Enhancement by low-level dreaming", domain="image",
        summary="crisp up a soft, noisy or blocky photo by dreaming at a shallow layer, its "
                "low frequencies held to the input (an artistic filter: classical restoration "
                "scores higher, see bench/enhance.py)",
        paper="DeepDream (Mordvintsev et al. 2015) at a low level, after the post \"DeepDream: "
              "today psychedelic images, tomorrow unemployed artists\"",
        function="reverie.image.enhance:enhance", config="reverie.image.enhance:EnhanceConfig",
        inputs=(Input("image", "image", "the photo to enhance: a path or sample:NAME",
                      example="sample:astronaut"),),
        outputs=(".png", ".jpg", ".jpeg", ".webp")),
    Mechanism(
        name="visualize", title="Activation maximisation", domain="image",
        summary="paint from noise what a class or a unit of an ImageNet network looks for",
        paper="Olah, Mordvintsev and Schubert 2017, Feature Visualization (the lucid recipe)",
        function="reverie.image.featurevis:visualize",
        config="reverie.image.featurevis:VisualizeConfig",
        inputs=(Input("target", "value", "a class name or index (goldfish, 1) or a unit "
                      "layer:channel (stage5:37); see `reverie classes`, `reverie layers`",
                      example="goldfish"),),
        outputs=(".png", ".jpg", ".jpeg", ".webp")),
    Mechanism(
        name="style_transfer", command="style", title="Neural style transfer", domain="image",
        summary="paint a photo in the style of one or more images by optimising its pixels",
        paper="Gatys, Ecker and Bethge 2016, Image Style Transfer Using CNNs",
        function="reverie.image.style:style_transfer", config="reverie.image.style:StyleConfig",
        inputs=(Input("content", "image", "the photo to paint: a path or sample:NAME",
                      example="sample:chelsea"),
                Input("styles", "image", "the style image(s), blended by style_weights",
                      many=True, example="sample:gravel")),
        outputs=(".png", ".jpg", ".jpeg", ".webp")),
    Mechanism(
        name="texture", title="Texture synthesis", domain="image",
        summary="grow a new texture from noise with the style statistics of an image",
        paper="Gatys, Ecker and Bethge 2015, Texture Synthesis Using CNNs",
        function="reverie.image.style:texture", config="reverie.image.style:TextureConfig",
        inputs=(Input("style", "image", "the texture image(s) to imitate: a path or sample:NAME",
                      many=True, example="sample:brick"),),
        outputs=(".png", ".jpg", ".jpeg", ".webp")),
]
