"""Gallery section: Perception Engines drawings, each with what the held-out network sees."""
from __future__ import annotations

from reverie.gallery import Card, Section, Table

# (class, drawing system, palette, strokes): White's subjects, in each drawing system
# (two, so the whole gallery stays within 10 minutes on two cores: each takes 40-90 s)
FULL = [("hammerhead shark", "lines", "free", 20),
        ("tick", "curves", "free", 12)]
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
    return Section(
        title="Perception Engines: drawings the classifiers agree on",
        blurb=("Tom White's Perception Engines (2018): a constrained drawing system (straight strokes, "
               "Bezier curves or blobs) is planned until an ensemble of ImageNet classifiers "
               "(EfficientNet-Lite0 and Lite1) sees the chosen class, under random shifts, rotations, "
               "colour and stroke-width changes. The exact render of the SVG is then shown to a network that "
               "took no part (Lite2): when it agrees, the drawing is an abstraction, not an adversarial "
               "trick. Try: reverie perceive 'hammerhead shark' --out shark.svg"),
        cards=cards, mechanisms=["perceive"])
