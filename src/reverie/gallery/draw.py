"""Gallery section: Perception Engines drawings, each with what the held-out network sees."""
from __future__ import annotations

import html

from reverie.gallery import Card, Section

# (class, drawing system, palette, strokes): White's subjects, in each drawing system
FULL = [("hammerhead shark", "lines", "free", 20),
        ("electric fan", "lines", "ink", 20),
        ("tick", "curves", "free", 12)]
QUICK = [("hammerhead shark", "lines", "free", 10)]


def _verdict_html(result) -> str:
    rows = []
    for v in result.verdicts:
        top = v.top5[0]
        style = " style='font-weight:bold'" if v.role == "held-out" else ""
        rows.append(f"<tr{style}><td>{html.escape(v.model)} ({v.role})</td><td>p {v.prob:.3f}, rank {v.rank}"
                    f"</td><td>sees: {html.escape(top['name'])} {top['prob']:.2f}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def build(ctx) -> Section:
    from reverie.draw.engines import PerceiveConfig, perceive

    cards = []
    for target, system, palette, strokes in (QUICK if ctx.quick else FULL):
        if ctx.quick:
            cfg = PerceiveConfig(system=system, strokes=strokes, palette=palette, size=128, steps=30,
                                 batch=2, plan_size=128, ensemble=("lite0",), held_out=("lite1", "lite2"),
                                 check_every=10, min_steps=1)
        else:
            cfg = PerceiveConfig(system=system, strokes=strokes, palette=palette, max_seconds=75.0)
        result = perceive(target, cfg, seed=0, device=ctx.device, progress=ctx.progress)
        name = f"perceive_{target.replace(' ', '_')}_{system}"
        paths = result.save(ctx.asset(f"{name}.svg"))
        held = result.held_out()[-1]
        cards.append(Card(
            title=f"{result.target_name}: {strokes} {system}" + (f", {palette} palette" if palette != "free" else ""),
            media=[ctx.rel(paths["png"]), ctx.rel(paths["svg"])],
            html=(f"<p><b>held-out {held.model} sees: {html.escape(held.top5[0]['name'])} "
                  f"({held.top5[0]['prob']:.2f}); {html.escape(result.target_name)} ranked {held.rank} "
                  f"at p {held.prob:.3f}</b></p>" + _verdict_html(result)),
            figures={"planner": cfg.planner, "ensemble": ", ".join(cfg.ensemble),
                     "ensemble p": round(result.ensemble_prob, 3), "steps": result.steps_run,
                     "seconds": round(result.seconds, 1), "seed": 0}))
    return Section(
        title="Perception Engines: drawings the classifiers agree on",
        blurb=("Tom White's Perception Engines (2018): a constrained drawing system (straight strokes, "
               "Bezier curves or blobs) is planned until an ensemble of ImageNet classifiers "
               "(EfficientNet-Lite0 and Lite1) sees the chosen class, under random shifts, rotations, "
               "colour and stroke-width changes. The exact render of the SVG is then shown to a network that "
               "took no part (Lite2): when it agrees, the drawing is an abstraction, not an adversarial "
               "trick. <code>reverie perceive 'hammerhead shark' --out shark.svg</code>"),
        cards=cards)
