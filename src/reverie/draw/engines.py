"""Perception Engines (Tom White, 2018): constrained drawings that ImageNet classifiers see
as a chosen class, planned against an ensemble and judged by a network held out.

    result = perceive("hammerhead shark", system="lines", strokes=20, seed=0)
    result.save("shark.svg")       # shark.svg (the drawing), shark.png (its exact render), shark.json

The loop, as White describes it: a drawing system (`reverie.draw.drawing`) proposes a drawing, the
ensemble's perception scores it, a planner changes it; at the end the drawing is rendered
exactly from its SVG and shown to every network, including ones that took no part.

- Objective: the target's probability under each ensemble network, combined as White does
  (`combine="product"`: the product of probabilities, his reward) or as the mean
  log-probability (`"mean-log"`, the default: the same ranking, better-scaled gradients).
  Each gradient step sees a batch of randomly transformed copies (jitter, scale, rotation,
  perspective, colour; stroke-width noise inside the rasteriser) so the drawing survives
  being re-rendered, resized and photographed.
- `planner="grad"`: starts from the best of `random_start` random drawings (White's greedy
  start, cheap: no gradients), then Adam on the stroke parameters through the soft
  rasteriser, its sharpness annealed from soft to crisp over `anneal_steps`; the exact
  render is checked every `check_every` steps, the best drawing kept, and planning stops
  once the exact render is `good_enough` and the transformed copies `robust_enough`.
  Some starts lead into a dead end (a flamingo that stays below p 0.1 for 400 steps): a
  run still below `stall_prob` after `stall_steps` is abandoned for a fresh random start,
  up to `restarts` times, and the best drawing of all the attempts is kept. The attempts
  share the `steps` budget, so a restart never makes a drawing take longer. (Slow starters
  are common too: a volcano sat at p 0.005 for 60 steps, then reached 0.98 by step 210.)
- `planner="es"`: White's gradient-free planner: a greedy random start (the best of
  `num_pop` random drawings of `init_size` strokes, then `init_step` strokes added at a
  time, the best of `num_pop` again) followed by natural evolution strategies (plain
  NES as in his plan_image.py: noise `sigma`, learning rate `alpha`, standardised
  rewards, stop after `max_dry_period` iterations without a new best). It scores the exact
  render, so what it optimises is what is judged.

The budget is in steps, so a seed gives the same drawing on a busy machine and an idle one
(a 75 s cap once ranked tick 2nd on one and 1st on the other). `max_seconds` adds a time
limit where a user asks for one; the result then depends on the machine and says so.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent, wants_preview
from reverie.core.result import Result
from reverie.draw import drawing as draw
from reverie.nets.classes import class_name, find_class
from reverie.nets.zoo import MODELS

MIN_CANVAS = 64  # below this the networks (stride 32, trained at 224-260 px) see a smudge
COMBINES = ("mean-log", "product")
PLANNERS = ("grad", "es")
# The step budget when `steps` is not given. grad: 380 Adam steps (restarts included) put
# all ten benchmark classes first under the held-out lite2 (bench/perceive.py, 21-84 s each
# on 2 idle cores); es: White's planner is slower per iteration, 100 NES iterations.
DEFAULT_STEPS = {"grad": 380, "es": 100}
GIF_FPS = 8.0   # the evolution animation
GIF_LINGER = 5  # frames the animation holds the finished drawing


@dataclass
class PerceiveConfig(Config):
    # the drawing system
    system: str = knob("lines", "drawing system: straight strokes (White's lines1), cubic "
                       "Bezier curves, or filled ellipses (blobs)", choices=draw.SYSTEMS)
    strokes: int = knob(20, "strokes in the drawing (White: num_lines)", min=1)
    size: int = knob(224, "canvas side, the SVG's size (the networks see 224-260 px; render "
                     "the SVG bigger afterwards)", min=MIN_CANVAS, max=2048, unit="pixels")
    palette: str = knob("free", "stroke colours: free, a palette (ink: black on white, chalk, "
                        "sumi, riso) or hex colours '#bg,#ink1,#ink2' (background first)",
                        metavar="PALETTE")
    min_width: float = knob(0.008, "thinnest stroke, a fraction of the canvas side (White's "
                            "lines1: 2 x 0.004)", above=0, max=1, advanced=True)
    max_width: float = knob(0.08, "thickest stroke, a fraction of the canvas side (White's "
                            "lines1: 2 x 0.04)", above=0, max=1, advanced=True)
    supersample: int = knob(4, "the exact renderer's antialiasing: samples per output pixel "
                            "along each side", min=1, max=16, advanced=True)
    animate: bool = knob(False, "also write the drawing's evolution as OUT.gif")
    # perception
    ensemble: list[str] = knob(["lite0", "lite1"], "networks that plan the drawing",
                               choices=list(MODELS), metavar="MODEL")
    held_out: list[str] = knob(["lite2"], "networks that only judge the exact render: they "
                               "take no part in planning", choices=list(MODELS), metavar="MODEL")
    combine: str = knob("mean-log", "the ensemble's objective: mean log-probability, or the "
                        "product of probabilities (White's reward)", choices=COMBINES)
    # planning
    planner: str = knob("grad", "grad: Adam through the soft rasteriser; es: White's random "
                        "start and evolution strategies on the exact render", choices=PLANNERS)
    steps: Optional[int] = knob(None, f"the budget: grad Adam steps, restarts included (auto: "
                                f"{DEFAULT_STEPS['grad']}); es NES iterations (auto: "
                                f"{DEFAULT_STEPS['es']}, White's max_iterations)", min=1,
                                resolved=True)
    max_seconds: Optional[float] = knob(None, "also stop planning after this long; the result "
                                        "then depends on the machine's speed and load (none: "
                                        "the budget is steps only)", above=0, unit="seconds")
    good_enough: float = knob(0.97, "stop once the ensemble sees the target at this "
                              "probability on the exact render", above=0, max=1)
    min_steps: int = knob(100, "grad: never stop before this many steps (robustness needs "
                          "some)", min=1, advanced=True)
    robust_enough: float = knob(0.85, "grad: stop only once the transformed copies' running "
                                "mean probability also reaches this", min=0, max=1, advanced=True)
    check_every: int = knob(20, "grad: render exactly and score every this many steps", min=1,
                            advanced=True)
    plan_size: Optional[int] = knob(None, "grad: networks see the transformed copies at this "
                                    "size while planning (none: each network's own)",
                                    min=MIN_CANVAS, unit="pixels", advanced=True)
    # grad planner
    random_start: int = knob(32, "grad: start from the best of this many random drawings "
                             "(White's greedy start)", min=1)
    restarts: int = knob(1, "grad: fresh random starts allowed when a run stalls, within the "
                         "same step budget", min=0)
    stall_steps: int = knob(100, "grad: a run still below stall_prob after this many steps "
                            "has stalled", min=1, advanced=True)
    stall_prob: float = knob(0.02, "grad: the ensemble probability a run must reach by "
                             "stall_steps", min=0, max=1, advanced=True)
    lr: float = knob(0.02, "grad: Adam learning rate on the [0, 1] parameters (strokes move "
                     "~4 px a step at 224)", above=0)
    batch: int = knob(4, "grad: transformed copies per step", min=1, advanced=True)
    sharpness: list[float] = knob([0.5, 4.0], "grad: soft-rasteriser sharpness per pixel, "
                                  "start and end of the anneal", above=0, advanced=True)
    anneal_steps: int = knob(100, "grad: steps over which the sharpness anneals (then stays "
                             "crisp)", min=1, advanced=True)
    # robustness: each grad step sees randomly transformed copies
    jitter: float = knob(0.05, "grad: largest shift, a fraction of the canvas", min=0,
                         advanced=True)
    scale: list[float] = knob([0.9, 1.1], "grad: smallest and largest zoom", above=0,
                              advanced=True)
    rotate: float = knob(8.0, "grad: largest turn", min=0, unit="degrees", advanced=True)
    perspective: float = knob(0.03, "grad: perspective distortion", min=0, advanced=True)
    color: float = knob(0.05, "grad: colour shift", min=0, advanced=True)
    width_noise: float = knob(0.15, "grad: stroke-width noise (std of a multiplicative "
                              "factor)", min=0, advanced=True)
    # es planner (White's plan_image.py names and defaults)
    num_pop: int = knob(100, "es: population per iteration (White: num_pop)", min=2)
    sigma: float = knob(0.01, "es: noise on the parameters (White: sigma)", above=0)
    alpha: float = knob(0.0005, "es: learning rate (White: alpha)", above=0)
    init_size: int = knob(6, "es: strokes in the first random start (White: init_size)",
                          min=1, advanced=True)
    init_step: int = knob(4, "es: strokes added at a time to the random start (White: "
                          "init_step)", min=1, advanced=True)
    max_dry_period: int = knob(30, "es: stop after this many iterations without a new best "
                               "(White: max_dry_period)", min=1, advanced=True)
    seed: int = seed_knob()
    device: str = device_knob()

    def check(self) -> None:
        if not self.ensemble:
            raise ConfigError("ensemble", "is empty; name at least one network, e.g. lite0")
        if len(set(self.ensemble)) != len(self.ensemble):
            raise ConfigError("ensemble", f"names a network twice ({', '.join(self.ensemble)}); "
                              f"list each once")
        both = [m for m in self.held_out if m in self.ensemble]
        if both:
            raise ConfigError("held_out", f"{', '.join(both)} is in the ensemble and held out; a "
                              f"held-out network must take no part in planning (e.g. ensemble "
                              f"lite0 and lite1, held out lite2)")
        if self.min_width > self.max_width:
            raise ConfigError("min_width", f"{self.min_width} is above max_width "
                              f"{self.max_width}; the thinnest stroke must not be the thickest")
        for name, lo in (("sharpness", "start"), ("scale", "smallest")):
            if len(getattr(self, name)) != 2:
                raise ConfigError(name, f"needs two values ({lo} and end), got "
                                  f"{getattr(self, name)}")
        try:
            draw.palette_colors(self.palette)
        except ReverieError as exc:
            raise ConfigError("palette", str(exc)) from None

    def budget(self) -> int:
        """The step budget: `steps`, or the planner's default."""
        return self.steps if self.steps is not None else DEFAULT_STEPS[self.planner]


@dataclass
class Verdict:
    """What one network sees in the exact render."""
    model: str
    role: str            # "ensemble", "held-out" (or "judge" for perceive-render)
    prob: float          # the target's probability
    rank: int            # 1 = the network's top label
    top5: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PerceiveResult(Result):
    """The drawing, its exact render and what every network sees in it."""
    drawing: draw.Drawing            # the artwork: its parameters (written as the SVG)
    image: torch.Tensor              # (3, size, size): the exact render the verdicts were taken on
    target: int
    target_name: str
    verdicts: list[Verdict]
    ensemble_prob: float             # geometric mean of the ensemble's target probabilities
    history: list[dict]              # {step, seconds, ensemble_prob, ...} at every check
    steps_run: int
    stopped: str                     # why planning ended
    frames: list[torch.Tensor] = field(default_factory=list)  # the evolution (with animate)

    suffixes = (".svg", ".png")

    def held_out(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.role == "held-out"]

    def seconds_to(self, prob: float) -> float | None:
        """Planning seconds until the ensemble first reached `prob` on the exact render."""
        return next((h["seconds"] for h in self.history if h["ensemble_prob"] >= prob), None)

    def write(self, path: Path) -> dict[str, Path]:
        """OUT.svg (the drawing), OUT.png (its exact render) and, with animate, OUT.gif."""
        from reverie.io.animation import save_animation
        from reverie.io.images import save_image

        base = path.with_suffix("")
        title = f"{self.target_name}: a Reverie perception engine drawing"
        paths = {"svg": draw.write_svg(self.drawing, base.with_suffix(".svg"), title),
                 "png": save_image(self.image, base.with_suffix(".png"))}
        if self.config is not None and self.config.animate and self.frames:
            paths["gif"] = save_animation(self.frames + [self.image] * GIF_LINGER,
                                          base.with_suffix(".gif"), fps=GIF_FPS)
        return paths

    def summary(self) -> str:
        """The verdict table: what each network sees (the mechanism made visible)."""
        return verdict_table(self)


Perception = PerceiveResult  # the old name, still exported as `reverie.Perception`


# --- perception: what the networks see ------------------------------------------------------

def log_probs(nets, images: torch.Tensor, target: int, size: int | None = None) -> torch.Tensor:
    """(n_nets, B) log-probabilities of the target for images (B, 3, H, W) in [0, 1], each
    resized (antialiased when shrinking) to `size` or else the network's own input size."""
    out = []
    for net in nets:
        x, side = images, size or net.input_size
        if x.shape[-1] != side:
            x = F.interpolate(x, size=(side, side), mode="bilinear",
                              antialias=x.shape[-1] > side, align_corners=False)
        out.append(net(x).log_softmax(-1)[:, target])
    return torch.stack(out)


def combine(lp: torch.Tensor, how: str) -> torch.Tensor:
    """(n_nets, B) log-probabilities -> (B,) objective."""
    return lp.sum(0).exp() if how == "product" else lp.mean(0)


def geometric_mean(lp: torch.Tensor) -> torch.Tensor:
    return lp.mean(0).exp()


def judge(image: torch.Tensor, target: int, models: list[tuple[str, str]], device) -> list[Verdict]:
    """Target probability, rank and top-5 under each (model, role), on one exact render
    (the one top-k judge, `reverie.nets.verdicts`)."""
    from reverie.nets.verdicts import verdicts

    out = []
    for name, role in models:
        row = verdicts(image, name, device, target=target)[0]
        out.append(Verdict(name, role, row["target_prob"], row["target_rank"], row["top"]))
    return out


@torch.no_grad()
def score_exact(drawings: list[draw.Drawing], nets, target: int, how: str, supersample: int,
                device) -> tuple[torch.Tensor, torch.Tensor]:
    """(objective, ensemble probability) of each drawing's exact render, in chunks."""
    from reverie.io.images import pil_to_tensor
    from reverie.nets.zoo import preprocess

    objs, probs = [], []
    for start in range(0, len(drawings), 50):
        chunk = drawings[start:start + 50]
        images = torch.stack([pil_to_tensor(draw.render_png(d, supersample=supersample)) for d in chunk])
        lp = []
        for net in nets:
            x = torch.cat([preprocess(im, net.input_size) for im in images]).to(device)
            lp.append(net(x).log_softmax(-1)[:, target].cpu())
        lp = torch.stack(lp)
        objs.append(combine(lp, how))
        probs.append(geometric_mean(lp))
    return torch.cat(objs), torch.cat(probs)


# --- the planners ---------------------------------------------------------------------------

class _Clock:
    def __init__(self, limit: float | None):
        self.start, self.limit = time.perf_counter(), limit

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def out(self) -> bool:
        return self.limit is not None and self.seconds() >= self.limit


def plan_grad(start: draw.Drawing, target: int, nets, cfg: PerceiveConfig, g: torch.Generator,
              device, progress: Progress, frames: list | None, clock: "_Clock",
              may_stall: bool = False, steps: int | None = None, offset: int = 0) -> tuple[draw.Drawing, list, int, str]:
    """Adam through the soft rasteriser. Returns (best drawing, history, steps run, stop
    reason); the reason starts with "stalled" when `may_stall` and the run went nowhere.
    `steps` (default: the whole budget, cfg.steps) is this attempt's share of it, `offset`
    the steps earlier attempts used (for the progress report)."""
    from reverie.optvis.transform import Robustness

    steps = cfg.steps if steps is None else steps

    strokes = start.strokes.clone().to(device).requires_grad_(True)
    background = start.background.clone().to(device).requires_grad_(True)
    free = draw.free_columns(cfg.system, cfg.palette).to(device)
    bg_free = draw.palette_colors(cfg.palette) is None
    opt = torch.optim.Adam([strokes, background] if bg_free else [strokes], lr=cfg.lr)
    margin = round(0.12 * cfg.size)
    robust = Robustness(pad=0, jitter=cfg.jitter * (cfg.size + 2 * margin), scale=cfg.scale,
                        rotate=cfg.rotate, perspective=cfg.perspective, color=cfg.color)
    s0, s1 = cfg.sharpness
    history = []
    best, best_obj, stopped, step, robust_ema = start, -math.inf, "steps", 0, 0.0

    def check(step: int) -> float:
        nonlocal best, best_obj
        current = draw.Drawing(cfg.system, cfg.size, background.detach().cpu().clone(),
                               strokes.detach().cpu().clone(), start.shape)
        obj, prob = score_exact([current], nets, target, cfg.combine, cfg.supersample, device)
        history.append({"step": offset + step, "seconds": round(clock.seconds(), 3),
                        "ensemble_prob": float(prob[0]), "objective": float(obj[0]),
                        "transformed_prob": robust_ema})
        if frames is not None:
            frames.append(draw.render_tensor(current, supersample=2))
        if wants_preview(progress):  # the drawing as it forms (the studio)
            show_preview(progress, draw.render_tensor(current, supersample=1))
        if float(obj[0]) > best_obj:
            best, best_obj = current, float(obj[0])
        return float(prob[0])

    for step in range(1, steps + 1):
        sharp = s0 * (s1 / s0) ** min(1.0, (step - 1) / max(min(cfg.anneal_steps, steps) - 1, 1))
        noise = 1 + cfg.width_noise * torch.randn(cfg.batch, cfg.strokes, generator=g)
        d = draw.Drawing(cfg.system, cfg.size, background, strokes, start.shape)
        images = draw.soft_render(d, sharp, noise.clamp(0.5, 1.5).to(device), margin=margin)
        images = robust(images, generator=g)[..., margin:margin + cfg.size, margin:margin + cfg.size]
        lp = log_probs(nets, images, target, cfg.plan_size)
        loss = -combine(lp, cfg.combine).mean()
        opt.zero_grad()
        loss.backward()
        strokes.grad *= free
        opt.step()
        with torch.no_grad():
            strokes.clamp_(0.0, 1.0)
            background.clamp_(0.0, 1.0)
        robust_p = float(geometric_mean(lp.detach()).mean())
        robust_ema = robust_p if step == 1 else 0.9 * robust_ema + 0.1 * robust_p
        if step % cfg.check_every == 0 or step == steps or clock.out():
            prob = check(step)
            progress(offset + step, cfg.steps, f"ensemble p {prob:.3f} (transformed {robust_ema:.3f})")
            if prob >= cfg.good_enough and robust_ema >= cfg.robust_enough and step >= cfg.min_steps:
                stopped = f"good enough (p {prob:.3f} >= {cfg.good_enough}, transformed {robust_ema:.3f})"
                break
            if clock.out():
                stopped = f"time limit ({cfg.max_seconds} s)"
                break
            top = max(h["ensemble_prob"] for h in history)
            if may_stall and cfg.stall_steps <= step < steps and top < cfg.stall_prob:
                stopped = f"stalled (p {top:.3f} < {cfg.stall_prob} after {step} steps)"
                break
        else:
            progress(offset + step, cfg.steps, f"transformed p {robust_p:.3f}")
    return best, history, step, stopped


def _pack(d: draw.Drawing) -> torch.Tensor:
    return torch.cat([d.background, d.strokes.flatten()])


def _unpack(w: torch.Tensor, like: draw.Drawing, strokes: int) -> draw.Drawing:
    return draw.Drawing(like.system, like.size, w[:3].clone(), w[3:].view(strokes, -1).clone(), like.shape)


def plan_es(start: draw.Drawing, target: int, nets, cfg: PerceiveConfig, g: torch.Generator,
            device, progress: Progress, frames: list | None, clock: "_Clock") -> tuple[draw.Drawing, list, int, str]:
    """White's planner: greedy random start, then NES. Returns like `plan_grad`."""
    history = []
    n_total = cfg.strokes

    def score(ws: list[torch.Tensor], n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return score_exact([draw.apply_palette(_unpack(w, start, n), cfg.palette) for w in ws],
                           nets, target, cfg.combine, cfg.supersample, device)

    def random_w(n: int) -> torch.Tensor:
        r = draw.random_drawing(cfg.system, n, cfg.size, g, cfg.palette, start.shape)
        return _pack(r)

    # greedy random start: the best of num_pop random drawings, growing init_step strokes at a time
    n = min(cfg.init_size, n_total)
    tries = [random_w(n) for _ in range(cfg.num_pop)]
    obj, prob = score(tries, n)
    w = tries[int(obj.argmax())]
    history.append({"step": 0, "seconds": round(clock.seconds(), 3), "ensemble_prob": float(prob.max()),
                    "objective": float(obj.max()), "random_objective": float(obj.mean())})
    progress(0, cfg.steps, f"random start: {n} strokes, p {float(prob.max()):.3f}")
    dims = draw.STROKE_DIMS[cfg.system]
    while n < n_total and not clock.out():
        grow = min(n + cfg.init_step, n_total)
        tries = [torch.cat([w, random_w(grow)[3 + n * dims:]]) for _ in range(cfg.num_pop)]
        obj, prob = score(tries, grow)
        w, n = tries[int(obj.argmax())], grow
        history.append({"step": 0, "seconds": round(clock.seconds(), 3), "ensemble_prob": float(prob.max()),
                        "objective": float(obj.max())})
        progress(0, cfg.steps, f"random start: {n} strokes, p {float(prob.max()):.3f}")
        if frames is not None:
            frames.append(draw.render_tensor(_unpack(w, start, n), supersample=2))
    if n < n_total:  # the time limit cut the greedy start short: the rest start at random
        w = torch.cat([w, random_w(n_total)[3 + n * dims:]])

    # natural evolution strategies on every free parameter
    mask = torch.cat([torch.full((3,), draw.palette_colors(cfg.palette) is None),
                      draw.free_columns(cfg.system, cfg.palette).repeat(n_total)]).float()
    best_w, best_obj, dry, stopped, it = w.clone(), -math.inf, 0, "steps", 0
    for it in range(1, cfg.steps + 1):
        obj, prob = score([w], n_total)
        history.append({"step": it, "seconds": round(clock.seconds(), 3), "ensemble_prob": float(prob[0]),
                        "objective": float(obj[0])})
        if frames is not None and (it % 5 == 1):
            frames.append(draw.render_tensor(_unpack(w, start, n_total), supersample=2))
        if float(obj[0]) > best_obj:
            best_w, best_obj, dry = w.clone(), float(obj[0]), 0
        else:
            dry += 1
        progress(it, cfg.steps, f"ensemble p {float(prob[0]):.3f}")
        if float(prob[0]) >= cfg.good_enough:
            stopped = f"good enough (p {float(prob[0]):.3f} >= {cfg.good_enough})"
            break
        if dry >= cfg.max_dry_period:
            stopped = f"no new best for {cfg.max_dry_period} iterations (max_dry_period)"
            break
        if clock.out():
            stopped = f"time limit ({cfg.max_seconds} s)"
            break
        noise = torch.randn(cfg.num_pop, len(w), generator=g) * mask
        tries = (w + cfg.sigma * noise).clamp(0.01, 0.99)
        rewards, _ = score(list(tries), n_total)
        spread = rewards.std()
        a = (rewards - rewards.mean()) / (spread if spread > 0 else 1.0)
        w = (w + cfg.alpha / (cfg.num_pop * cfg.sigma) * (noise.T @ a)).clamp(0.01, 0.99)
    return _unpack(best_w, start, n_total), history, it, stopped


# --- the public function --------------------------------------------------------------------

def _start_drawing(start) -> draw.Drawing | None:
    """A start given as a path (an SVG perceive wrote) or a Drawing."""
    if start is None or isinstance(start, draw.Drawing):
        return start
    return draw.load_svg(start)


def perceive(target: str | int, config: PerceiveConfig | None = None, *,
             start: draw.Drawing | str | None = None, progress: Progress = silent,
             **overrides) -> PerceiveResult:
    """Plan a drawing of `target` (an ImageNet class name or index) and judge its exact
    render under every network. `start` continues from an existing drawing (an SVG path or
    a Drawing): the drawing system and stroke count are then the start's.

    `config` fields can also be given as keywords: `perceive("tick", system="curves")`.
    """
    from reverie.core.device import resolve_device
    from reverie.nets.zoo import load_net, weights_path

    cfg = make_config(PerceiveConfig, config, **overrides)
    inputs = {"target": {"value": target}, "start": record_input(start)}
    index = find_class(target)  # every check before minutes of work
    for name in (*cfg.ensemble, *cfg.held_out):
        weights_path(name)
    notes = []
    if start is not None and inputs["start"].get("source") is None:
        notes.append("the start drawing was given in memory, so this drawing cannot be made "
                     "again from its sidecar; give the start as an SVG file to make it rerunnable")
    start = _start_drawing(start)
    if start is not None and (start.system != cfg.system or len(start.strokes) != cfg.strokes):
        notes.append(f"continued from a drawing of {len(start.strokes)} {start.system}: the "
                     f"system and stroke count are the start's")
        cfg = cfg.replace(system=start.system, strokes=len(start.strokes))
    plan = cfg.replace(steps=cfg.budget())  # what the planners run with
    dev = resolve_device(cfg.device)
    t0, cpu0 = time.perf_counter(), time.process_time()
    g = torch.Generator().manual_seed(cfg.seed)
    shape = draw.Shape(min_width=cfg.min_width, max_width=cfg.max_width)
    nets = [load_net(m, dev) for m in cfg.ensemble]
    clock = _Clock(cfg.max_seconds)

    def random_start() -> draw.Drawing:
        tries = [draw.random_drawing(cfg.system, cfg.strokes, cfg.size, g, cfg.palette, shape)
                 for _ in range(cfg.random_start if cfg.planner == "grad" else 1)]
        if len(tries) == 1:
            return tries[0]
        objective, _ = score_exact(tries, nets, index, cfg.combine, cfg.supersample, dev)
        return tries[int(objective.argmax())]

    given = start is not None
    if given:
        start = draw.apply_palette(draw.Drawing(start.system, cfg.size, start.background.float(),
                                                start.strokes.float(), shape), cfg.palette)
    else:
        start = random_start()
    frames: list | None = [] if cfg.animate else None
    if cfg.planner == "es":
        best, history, steps_run, stopped = plan_es(start, index, nets, plan, g, dev, progress, frames, clock)
    else:
        # a run that stalls is abandoned for a fresh random start (not when the user gave the start)
        attempts = []
        for attempt in range(cfg.restarts + 1):
            used = sum(a[2] for a in attempts)
            may_stall = not given and attempt < cfg.restarts
            result = plan_grad(start, index, nets, plan, g, dev, progress, frames, clock, may_stall,
                               steps=plan.steps - used, offset=used)
            for h in result[1]:
                h["attempt"] = attempt
            attempts.append(result)
            if not result[3].startswith("stalled") or clock.out() or used + result[2] >= plan.steps:
                break
            progress(used + result[2], plan.steps, f"restart {attempt + 1}: {result[3]}")
            start = random_start()
        best = max(attempts, key=lambda a: max((h["objective"] for h in a[1]), default=-math.inf))[0]
        history = [h for a in attempts for h in a[1]]
        steps_run = sum(a[2] for a in attempts)
        stopped = attempts[-1][3] + (f" after {len(attempts) - 1} restart(s)" if len(attempts) > 1 else "")
    planned = time.perf_counter() - t0
    best = draw.apply_palette(best, cfg.palette)
    image = draw.render_tensor(best, supersample=cfg.supersample)
    models = [(m, "ensemble") for m in cfg.ensemble] + [(m, "held-out") for m in cfg.held_out]
    verdicts = judge(image, index, models, dev)
    ens = [v.prob for v in verdicts if v.role == "ensemble"]
    ensemble_prob = math.exp(sum(math.log(max(p, 1e-30)) for p in ens) / len(ens))
    if cfg.max_seconds is not None:
        notes.append(f"planning had a time limit (max_seconds {cfg.max_seconds:g}), so this drawing "
                     f"depends on the machine's speed and load: a rerun may differ. Without it the "
                     f"budget is steps only and a seed gives the same drawing anywhere")
    result = PerceiveResult(
        best, image, index, class_name(index), verdicts, ensemble_prob, history, steps_run,
        stopped, frames or [], mechanism="perceive", config=cfg, inputs=inputs, notes=notes,
        figures={"target": {"index": index, "name": class_name(index)},
                 "ensemble_prob": ensemble_prob, "verdicts": [v.to_dict() for v in verdicts],
                 "steps_run": steps_run, "stopped": stopped, "time_limited": stopped.startswith("time limit"),
                 "history": history},
        timings={"perceive": time.perf_counter() - t0, "planning": planned,
                 "cpu": time.process_time() - cpu0},
        resolved={"device": str(dev), "steps": plan.steps},
        deterministic=cfg.max_seconds is None)
    result.timings["to_ensemble_p_0.9"] = result.seconds_to(0.9)
    return result


def verdict_table(result: PerceiveResult) -> str:
    """What each network sees in the exact render, as a plain-text table."""
    lines = [f"target: {result.target} {result.target_name}   ensemble p {result.ensemble_prob:.3f}   "
             f"{result.timings.get('perceive', 0):.1f} s, {result.steps_run} steps ({result.stopped})",
             f"{'network':<8} {'role':<9} {'p(target)':>9} {'rank':>5}  top-5"]
    for v in result.verdicts:
        top = ", ".join(f"{t['name']} {t['prob']:.2f}" for t in v.top5)
        lines.append(f"{v.model:<8} {v.role:<9} {v.prob:>9.3f} {v.rank:>5}  {top}")
    return "\n".join(lines)
