"""Images: DeepDream, enhancement by low-level dreaming, activation maximisation, Gatys
style transfer and texture, fast style networks and styled video."""
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

# Fast style networks (Johnson et al. 2016; conditional instance norm, Dumoulin et al. 2017)
_FAST_PAPER = ("Johnson, Alahi and Fei-Fei 2016, Perceptual Losses for Real-Time Style Transfer; "
               "Dumoulin, Shlens and Kudlur 2017, A Learned Representation for Artistic Style")
MECHANISMS += [
    Mechanism(
        name="train_fast_style", title="Train a fast style network", domain="image",
        summary="train a feed-forward network to paint any photo in one or several styles "
                "(conditional instance norm: one scale and shift per style), from Gatys's "
                "perceptual loss on the shipped photos",
        paper=_FAST_PAPER, function="reverie.image.fast_style_train:train_fast_style",
        config="reverie.image.fast_style_train:FastStyleConfig", command="fast-style train",
        inputs=(Input("styles", "image", "the style image(s): several make one network that "
                      "blends them", many=True, example="sample:gravel"),),
        outputs=(".pt",),
        gallery={"max_steps": 40, "image_size": 96, "width": 16, "eval_every": 20,
                 "checkpoint_every": 40, "quick": {"max_steps": 10, "image_size": 64,
                                                   "width": 8, "eval_every": 10}}),
    Mechanism(
        name="apply_fast_style", title="Fast style transfer", domain="image",
        summary="paint a photo in a second with a trained style network, at any size "
                "(tiled), blending its styles by weight",
        paper=_FAST_PAPER, function="reverie.image.fast_style:apply_fast_style",
        config="reverie.image.fast_style:ApplyConfig", command="fast-style apply",
        inputs=(Input("model", "model", "a network from `reverie fast-style train` (.pt)"),
                Input("photo", "image", "the photo to paint: a path or sample:NAME",
                      example="sample:chelsea")),
        outputs=(".png", ".jpg", ".jpeg", ".webp")),
    Mechanism(
        name="style_video", command="style-video", title="Styled video without flicker",
        domain="image",
        summary="paint every frame of a clip with a fast style network (or Gatys's "
                "optimisation), each blended with the previous output warped by optical flow "
                "where the flow holds; the audio kept as it was",
        paper="Ruder, Dosovitskiy and Brox 2016, Artistic Style Transfer for Videos",
        function="reverie.image.video:style_video", config="reverie.image.video:VideoConfig",
        inputs=(Input("clip", "video", "the video to paint (.mp4, .mov, .webm, .avi, .mkv)"),
                Input("model", "model", "a network from `reverie fast-style train` (.pt)",
                      required=False),
                Input("style", "image", "or a style image, painted by Gatys's optimisation "
                      "(slow)", required=False)),
        outputs=(".mp4",)),
]
