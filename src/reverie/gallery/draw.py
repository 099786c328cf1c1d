"""Gallery section: Perception Engines drawings, each with what the held-out network sees."""
from __future__ import annotations

from reverie.gallery import Card, Section, Table, made

# (class, drawing system, palette, strokes): White's subject in straight strokes. Each
# drawing stops when the ensemble agrees, the largest share of the gallery's time: on 2 idle
# cores the shark's lines take about 35 s, the iron's curves 65 s and the tick's 96 s, so
# the gallery draws one (`reverie perceive iron --system curves` draws the others)
FULL = [("hammerhead shark", "lines", "free", 20)]
QUICK = [("hammerhead shark", "lines", "free", 10)]


def _verdict_table(result) -> Table:
    rows = [[v.model, v.role, f"{v.prob:.3f}", v.rank, f"{v.top5[0]['name']} {v.top5[0]['prob']:.2f}"]
            for v in result.verdicts]
    return Table(["network", "role", "p(target)", "rank", "sees"], rows,
                 caption="what every network sees in the exact render of the SVG")


def build(ctx) -> Section:
    from reverie.draw.engines import PerceiveConfig, perceive

    cards = []
    for target, system, palette, strokes in (QUICK if ctx.quick else FULL):
        cfg = PerceiveConfig(system=system, strokes=strokes, palette=palette, seed=0,
                             device=str(ctx.device))
        if ctx.quick:
            cfg = cfg.replace(size=128, steps=30, batch=2, plan_size=128, ensemble=["lite0"],
                              held_out=["lite1", "lite2"], check_every=10, min_steps=1)
        # the default budget is steps: the same drawing on a busy machine as on an idle one
        result = perceive(target, cfg, progress=ctx.progress)
        name = f"perceive_{target.replace(' ', '_')}_{system}"
        paths = result.save(ctx.asset(f"{name}.svg"))
        held = result.held_out()[-1]
        cards.append(Card(
            title=f"{result.target_name}: {strokes} {system}" + (f", {palette} palette" if palette != "free" else ""),
            media=[ctx.rel(paths["png"]), ctx.rel(paths["svg"])],
            lead=(f"held-out {held.model} sees: {held.top5[0]['name']} ({held.top5[0]['prob']:.2f}); "
                  f"{result.target_name} ranked {held.rank} at p {held.prob:.3f}"),
            tables=[_verdict_table(result)],
            figures={"planner": cfg.planner, "ensemble": ", ".join(cfg.ensemble),
                     "ensemble p": round(result.ensemble_prob, 3),
                     "steps": f"{result.steps_run} of {result.resolved['steps']} ({result.stopped})",
                     "seconds": round(result.timings["perceive"], 1), "seed": cfg.seed}))
    cards.append(_portrait_card(ctx))
    cards.append(_sketch_card(ctx))
    return Section(
        title="Perception Engines: drawings the classifiers agree on",
        blurb=("Tom White's Perception Engines (2018): a constrained drawing system (straight strokes, "
               "Bezier curves or blobs) is planned until an ensemble of ImageNet classifiers "
               "(EfficientNet-Lite0 and Lite1) sees the chosen class, under random shifts, rotations, "
               "colour and stroke-width changes. The exact render of the SVG is then shown to a network that "
               "took no part (Lite2): when it agrees, the drawing is an abstraction, not an adversarial "
               "trick. Try: reverie perceive 'hammerhead shark' --out shark.svg. "
               "Plotter portraits after Tresset and Leymarie's AIKON: the face found by an LBP "
               "cascade, tones clustered by k-means in CIELAB, each hatched at its own angle and "
               "density, paths ordered for least pen-up travel. Try: reverie portrait "
               "sample:astronaut --out p.svg. And drawings as pen strokes: sketch-rnn (Ha and "
               "Eck 2017) encodes a drawing to a latent vector and redraws it stroke by stroke; "
               "the vectors interpolate and do analogies as word vectors do. Try: reverie "
               "sketch train builtin:glyphs --kl-decay-rate 0.999 --minutes 20 --out glyphs.pt"),
        cards=cards, mechanisms=["perceive", "portrait", "train_sketch", "sample_sketch",
                                 "reconstruct_sketch", "interpolate_sketch", "analogy_sketch"])


def _portrait_card(ctx) -> Card:
    """An AIKON-style plotter portrait of the astronaut: drawing, tone map, plot figures."""
    from reverie.draw.portrait import portrait

    r = portrait("sample:astronaut", resolution=160 if ctx.quick else 320, seed=0,
                 progress=ctx.progress)
    paths = r.save(ctx.asset("portrait_astronaut.svg"))
    b, a = r.figures["plot_before"], r.figures["plot_after"]
    rows = [[k, v["pen_down_mm"], v["pen_up_mm"], v["lifts"], v["plot_minutes"]]
            for k, v in (("as generated", b), ("ordered", a))]
    return Card(
        title="Plotter portrait (AIKON): astronaut, 5 tones, hatching",
        media=[ctx.rel(paths["png"]), ctx.rel(paths["tones"]), ctx.rel(paths["svg"])],
        lead=r.summary(),
        tables=[Table(["order", "pen-down mm", "pen-up mm", "lifts", "plot minutes"], rows,
                      caption="what a plotter user checks, before and after path ordering")],
        figures={"face box [top, left, h, w]": r.figures["face_box"],
                 "tone L*": r.figures["tone_lightness"],
                 "seconds": round(r.timings["portrait"], 1)})


# sketch-rnn on the Hershey glyphs: a small model with a step budget (the same model on any
# machine), trained once and cached. The sheep of Ha and Eck are CC BY-NC and stay in bench/.
SKETCH = dict(enc_rnn_size=64, dec_rnn_size=128, z_size=32, num_mixture=5, batch_size=32,
              max_steps=300, eval_every=100, checkpoint_every=100)
SKETCH_QUICK = dict(enc_rnn_size=16, dec_rnn_size=32, z_size=8, num_mixture=2, batch_size=8,
                    max_steps=5, eval_every=5, checkpoint_every=10**6)


def _sketch_model(ctx) -> tuple[str, dict]:
    from reverie.draw.sketch import SketchConfig
    from reverie.draw.sketch_train import train_sketch

    cfg = SketchConfig(**(SKETCH_QUICK if ctx.quick else SKETCH), seed=0, device=str(ctx.device))
    return ctx.model("glyphs", "draw", "sketch-glyphs", cfg, lambda out: train_sketch(
        "builtin:glyphs", cfg, out=out, progress=ctx.progress))


def _sketch_card(ctx) -> Card:
    """sketch-rnn on single-stroke glyphs: a reconstruction, an interpolation, samples and
    an analogy, each drawn in a row (SVGs ordered for a plotter)."""
    from reverie.draw.sketch_draw import (analogy_sketch, interpolate_sketch,
                                          reconstruct_sketch, sample_sketch)

    model, fig = _sketch_model(ctx)
    media, figures = [], {}
    for name, result in (
            ("reconstruct", reconstruct_sketch(model, "builtin:glyphs", split="test", index=3)),
            ("interpolate", interpolate_sketch(model, "builtin:glyphs", "builtin:glyphs",
                                               split="test", a_index=3, b_index=20)),
            ("analogy", analogy_sketch(model, "builtin:glyphs", "builtin:glyphs",
                                       "builtin:glyphs", split="test", a_index=3, b_index=20,
                                       c_index=40)),
            ("sample", sample_sketch(model, seed=0))):
        paths = result.save(ctx.asset(f"sketch_{name}.svg"))
        media.append(ctx.rel(paths["preview"]))
        figures[f"{name} pen-up mm"] = round(result.figures["plot"]["pen_up_mm"], 1)
    return Card(
        title="sketch-rnn on Hershey glyphs: reconstruction, interpolation, analogy, samples",
        media=media,
        lead=(made(fig, f"a {fig.get('params', 0):,}-parameter model", "builtin:glyphs")
              + "; rows: a glyph redrawn at rising temperature; A to B through the latent space; "
                "A : B :: C : ?; new glyphs from random z"),
        figures={**figures, "validation L_R": round(fig["val_r"], 3),
                 "validation L_KL": round(fig["val_kl"], 3)})
