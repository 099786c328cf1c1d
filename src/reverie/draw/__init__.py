"""Drawing: Perception Engines (constrained drawing systems, soft and exact renderers, SVG)."""
from reverie.core.registry import Input, Mechanism

MECHANISMS = [
    Mechanism(
        name="perceive", title="Perception Engines", domain="draw",
        summary="draw a class with lines, curves or blobs until ImageNet classifiers see it, "
                "judged by a network held out",
        paper="White 2018, Perception Engines",
        function="reverie.draw.engines:perceive", config="reverie.draw.engines:PerceiveConfig",
        inputs=(Input("target", "value", "the ImageNet class to draw: a name or an index 0-999",
                      example="hammerhead shark"),
                Input("start", "drawing", "continue from an existing drawing (an SVG perceive "
                      "wrote); its system and stroke count are kept", required=False)),
        outputs=(".svg", ".png")),
]
