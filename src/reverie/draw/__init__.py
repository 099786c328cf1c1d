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

# sketch-rnn (Ha & Eck 2017): a stroke model trained on sketch-rnn .npz data
_SKETCH_PAPER = "Ha & Eck 2017, A Neural Representation of Sketch Drawings (sketch-rnn)"
_SKETCH_MODEL = Input("model", "model", "a sketch-rnn model from `reverie sketch train` (.pt)")
_SKETCH_FN = "reverie.draw.sketch_draw"
MECHANISMS += [
    Mechanism(
        name="train_sketch", title="Train sketch-rnn", domain="draw",
        summary="learn drawings as pen strokes: a bidirectional-LSTM encoder to a latent z and "
                "an LSTM decoder of Gaussian-mixture pen offsets, with KL annealing",
        paper=_SKETCH_PAPER, function="reverie.draw.sketch_train:train_sketch",
        config="reverie.draw.sketch:SketchConfig", command="sketch train",
        inputs=(Input("data", "strokes", "stroke data: a sketch-rnn .npz (train, valid, test "
                      "arrays of stroke-3 drawings, as Quick, Draw! ships them)"),),
        outputs=(".pt",), deterministic=True),
    Mechanism(
        name="sample_sketch", title="Sketch from nothing", domain="draw",
        summary="draw new sketches from random latent vectors (or unconditionally)",
        paper=_SKETCH_PAPER, function=f"{_SKETCH_FN}:sample_sketch",
        config=f"{_SKETCH_FN}:SampleConfig", command="sketch sample",
        inputs=(_SKETCH_MODEL,), outputs=(".svg", ".png")),
    Mechanism(
        name="reconstruct_sketch", title="Redraw a sketch", domain="draw",
        summary="encode a drawing to its latent vector and redraw it at several temperatures, "
                "beside the original",
        paper=_SKETCH_PAPER, function=f"{_SKETCH_FN}:reconstruct_sketch",
        config=f"{_SKETCH_FN}:ReconstructConfig", command="sketch reconstruct",
        inputs=(_SKETCH_MODEL,
                Input("drawing", "strokes", "a sketch-rnn .npz (split and index choose the "
                      "drawing; FILE.npz:SPLIT:INDEX also works)")),
        outputs=(".svg", ".png")),
    Mechanism(
        name="interpolate_sketch", title="Morph between sketches", domain="draw",
        summary="a row of drawings between two, decoded along the path between their latent "
                "vectors",
        paper=_SKETCH_PAPER, function=f"{_SKETCH_FN}:interpolate_sketch",
        config=f"{_SKETCH_FN}:InterpolateConfig", command="sketch interpolate",
        inputs=(_SKETCH_MODEL,
                Input("a", "strokes", "drawing A: a sketch-rnn .npz (a_index chooses; "
                      "FILE.npz:SPLIT:INDEX also works)"),
                Input("b", "strokes", "drawing B: a sketch-rnn .npz (b_index chooses)")),
        outputs=(".svg", ".png")),
    Mechanism(
        name="analogy_sketch", title="Sketch analogies", domain="draw",
        summary="A is to B as C is to ?: latent arithmetic z_B - z_A + z_C, decoded",
        paper=_SKETCH_PAPER, function=f"{_SKETCH_FN}:analogy_sketch",
        config=f"{_SKETCH_FN}:AnalogyConfig", command="sketch analogy",
        inputs=(_SKETCH_MODEL,
                Input("a", "strokes", "drawing A: a sketch-rnn .npz (a_index chooses)"),
                Input("b", "strokes", "drawing B (b_index chooses)"),
                Input("c", "strokes", "drawing C (c_index chooses)")),
        outputs=(".svg", ".png")),
]

# AIKON-style portraits (Tresset & Leymarie): face, k-means tones, hatching, plotter SVG
MECHANISMS += [
    Mechanism(
        name="portrait", title="Plotter portraits", domain="draw",
        summary="frame a photo on its face, cluster its tones with k-means and shade each "
                "with its own hatching: a pen-plotter SVG ordered for least pen-up travel",
        paper="Tresset & Leymarie 2013, Portrait drawing by Paul the robot (AIKON)",
        function="reverie.draw.portrait:portrait", config="reverie.draw.portrait:PortraitConfig",
        presets="reverie.draw.portrait:PRESETS",
        inputs=(Input("photo", "image", "the photo to draw (a face is found and framed)",
                      example="sample:astronaut"),),
        outputs=(".svg",)),
]
