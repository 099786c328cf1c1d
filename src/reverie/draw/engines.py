"""Perception Engines (Tom White, 2018): constrained drawings that ImageNet classifiers see
as a chosen class, planned against an ensemble and judged by a network held out.

    result = perceive("hammerhead shark", PerceiveConfig(system="lines", strokes=20), seed=0)
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
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from reverie.draw import drawing as draw
from reverie.nets.classes import class_name, find_class
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent

MIN_CANVAS = 64  # below this the networks (stride 32, trained at 224-260 px) see a smudge
COMBINES = ("mean-log", "product")
PLANNERS = ("grad", "es")


@dataclass
class PerceiveConfig:
    # the drawing system
    system: str = "lines"            # lines | curves | blobs
    strokes: int = 20                # White: num_lines
    size: int = 224                  # canvas side in pixels (the SVG's size)
    palette: str = "free"            # free | ink | chalk | sumi | riso | '#bg,#ink,...'
    min_width: float = 0.008         # stroke width range, fraction of the canvas (White's lines1)
    max_width: float = 0.08
    # perception
    ensemble: tuple[str, ...] = ("lite0", "lite1")
    held_out: tuple[str, ...] = ("lite2",)
    combine: str = "mean-log"        # mean-log | product (White's reward)
    # planning
    planner: str = "grad"            # grad | es
    steps: int = 380                 # grad: Adam steps, restarts included; es: NES iterations (White: max_iterations)
    good_enough: float = 0.97        # stop once the ensemble's probability on the exact render reaches this
    min_steps: int = 100             # grad: never stop before this (robustness needs some steps)
    robust_enough: float = 0.85      # grad: ... and the transformed copies' running mean reaches this
    check_every: int = 20            # grad: render exactly and score every N steps
    plan_size: int | None = None     # grad: networks see the transformed copies at this size
                                     # while planning (None: each network's own input size)
    max_seconds: float | None = None  # stop planning after this long (None: no limit)
    supersample: int = 4             # the exact renderer's antialiasing
    # grad planner
    random_start: int = 32           # start from the best of this many random drawings (White's greedy start)
    restarts: int = 1                # grad: fresh random starts allowed when a run stalls
    stall_steps: int = 100           # grad: a run whose exact render is still below stall_prob
    stall_prob: float = 0.02         # after stall_steps is abandoned for a fresh start
    lr: float = 0.02                 # Adam on [0, 1] parameters (strokes move ~4 px a step at 224)
    batch: int = 4                   # transformed copies per step
    sharpness: tuple[float, float] = (0.5, 4.0)  # soft-rasteriser sharpness per pixel, start -> end
    anneal_steps: int = 100          # grad: steps over which the sharpness anneals (then stays crisp)
    # robustness (each grad step)
    jitter: float = 0.05             # max translation, fraction of the canvas
    scale: tuple[float, float] = (0.9, 1.1)
    rotate: float = 8.0              # degrees
    perspective: float = 0.03
    color: float = 0.05
    width_noise: float = 0.15        # stroke-width noise (std of a multiplicative factor)
    # es planner (White's plan_image.py names and defaults)
    num_pop: int = 100
    sigma: float = 0.01
    alpha: float = 0.0005
    init_size: int = 6
    init_step: int = 4
    max_dry_period: int = 30


@dataclass
class Verdict:
    model: str
    role: str            # "ensemble" or "held-out"
    prob: float          # the target's probability
    rank: int            # 1 = the network's top label
    top5: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Perception:
    """What `perceive` made and what every network sees in it."""
    drawing: draw.Drawing
    image: Image.Image               # the exact render the verdicts were taken on
    target: int
    target_name: str
    verdicts: list[Verdict]
    ensemble_prob: float             # geometric mean of the ensemble's target probabilities
    history: list[dict]              # {step, seconds, ensemble_prob} at every check
    seconds: float                   # planning + judging, wall clock
    cpu_seconds: float               # the same in CPU time (all threads): robust to a busy machine
    steps_run: int
    stopped: str                     # why planning ended
    config: PerceiveConfig
    seed: int
    frames: list[Image.Image] = field(default_factory=list)

    def held_out(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.role == "held-out"]

    def seconds_to(self, prob: float) -> float | None:
        """Planning seconds until the ensemble first reached `prob` on the exact render."""
        return next((h["seconds"] for h in self.history if h["ensemble_prob"] >= prob), None)

    def record(self) -> dict:
        return {"mechanism": "perceive", "target": {"index": self.target, "name": self.target_name},
                "config": asdict(self.config), "seed": self.seed,
                "ensemble_prob": self.ensemble_prob, "verdicts": [v.to_dict() for v in self.verdicts],
                "seconds": self.seconds, "cpu_seconds": self.cpu_seconds,
                "load_average": list(os.getloadavg()), "steps_run": self.steps_run, "stopped": self.stopped,
                "seconds_to_0.9": self.seconds_to(0.9), "history": self.history,
                "drawing": self.drawing.to_dict()}

    def save(self, out: str | os.PathLike, animate: bool = False) -> dict[str, Path]:
        """Write OUT.svg, OUT.png (the exact render), OUT.json and, with `animate`, OUT.gif."""
        from reverie.io.images import atomic_path, save_image, write_sidecar

        base = output_base(out)
        paths = {"svg": base.with_suffix(".svg"), "png": base.with_suffix(".png")}
        title = f"{self.target_name}: a Reverie perception engine drawing"
        draw.write_svg(self.drawing, paths["svg"], title)
        save_image(self.image, paths["png"])
        if animate and self.frames:
            paths["gif"] = base.with_suffix(".gif")
            with atomic_path(paths["gif"]) as tmp:
                frames = self.frames + [self.image] * 5  # linger on the result
                frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                               duration=120, loop=0)
        paths["json"] = write_sidecar(paths["png"], {**self.record(),
                                                     "files": {k: p.name for k, p in paths.items()}})
        return paths


def output_base(out: str | os.PathLike) -> Path:
    """DRAWING.svg, DRAWING.png or DRAWING -> DRAWING (the three files share it)."""
    out = Path(out)
    return out.with_suffix("") if out.suffix.lower() in (".svg", ".png", ".json", ".gif") else out


# --- checking the request before any work ---------------------------------------------------

def check_config(cfg: PerceiveConfig) -> None:
    from reverie.nets.zoo import MODELS, weights_path

    draw.check_system(cfg.system)
    if cfg.strokes < 1:
        raise ReverieError(f"a drawing needs at least 1 stroke, got {cfg.strokes}; use e.g. --strokes 20")
    if cfg.size < MIN_CANVAS:
        raise ReverieError(f"a {cfg.size} px canvas is too small for the networks (they see "
                           f"{MODELS['lite0'][1]}-{MODELS['lite2'][1]} px); use --size {MIN_CANVAS} "
                           f"or more, e.g. --size 224")
    if cfg.size > 2048:
        raise ReverieError(f"a {cfg.size} px canvas is needlessly large (the drawing is an SVG: "
                           f"render it bigger afterwards); use --size 224")
    if cfg.plan_size is not None and cfg.plan_size < MIN_CANVAS:
        raise ReverieError(f"plan_size {cfg.plan_size} is too small for the networks; use {MIN_CANVAS} "
                           f"or more, or leave it unset")
    if cfg.steps < 1:
        raise ReverieError(f"steps must be at least 1, got {cfg.steps}; use e.g. --steps 400")
    if cfg.planner not in PLANNERS:
        raise ReverieError(f"unknown planner {cfg.planner!r}; choose grad or es")
    if cfg.combine not in COMBINES:
        raise ReverieError(f"unknown combine {cfg.combine!r}; choose mean-log or product")
    if not cfg.ensemble:
        raise ReverieError("the ensemble is empty; name at least one network, e.g. --ensemble lite0,lite1")
    for name in (*cfg.ensemble, *cfg.held_out):
        weights_path(name)  # unknown or missing models are a ReverieError here
    if len(set(cfg.ensemble)) != len(cfg.ensemble):
        raise ReverieError(f"the ensemble names a network twice ({','.join(cfg.ensemble)}); list each once")
    both = [m for m in cfg.held_out if m in cfg.ensemble]
    if both:
        raise ReverieError(f"{', '.join(both)} is in the ensemble and held out; a held-out network must "
                           f"take no part in planning (e.g. --ensemble lite0,lite1 --held-out lite2)")
    if not 0 < cfg.min_width <= cfg.max_width:
        raise ReverieError("stroke widths need 0 < min_width <= max_width, e.g. 0.008 and 0.08")
    if cfg.restarts < 0:
        raise ReverieError(f"restarts must be 0 or more, got {cfg.restarts}; use e.g. --restarts 1")
    if cfg.batch < 1 or cfg.num_pop < 2 or cfg.check_every < 1:
        raise ReverieError("batch and check_every must be at least 1 and num_pop at least 2")
    draw.palette_colors(cfg.palette)


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


@torch.no_grad()
def judge(image: torch.Tensor, target: int, models: list[tuple[str, str]], device) -> list[Verdict]:
    """Top-5, target probability and rank under each (model, role), on one exact render."""
    from reverie.core.device import resolve_device
    from reverie.nets.zoo import load_net, preprocess

    device = resolve_device(str(device))
    verdicts = []
    for name, role in models:
        net = load_net(name, device)
        probs = net(preprocess(image, net.input_size).to(device)).softmax(-1)[0].cpu()
        p, idx = probs.topk(5)
        verdicts.append(Verdict(name, role, float(probs[target]), int((probs > probs[target]).sum()) + 1,
                                [{"index": int(i), "name": class_name(int(i)), "prob": float(q)}
                                 for q, i in zip(p, idx)]))
    return verdicts


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
    `steps` (default cfg.steps) is this attempt's share of the budget, `offset` the steps
    earlier attempts used (for the progress report)."""
    steps = cfg.steps if steps is None else steps
    from reverie.optvis.transform import Robustness

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
            frames.append(draw.render_png(current, supersample=2))
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
    while n < n_total and not clock.out():
        grow = min(n + cfg.init_step, n_total)
        dims = draw.STROKE_DIMS[cfg.system]
        tries = [torch.cat([w, random_w(grow)[3 + n * dims:]]) for _ in range(cfg.num_pop)]
        obj, prob = score(tries, grow)
        w, n = tries[int(obj.argmax())], grow
        history.append({"step": 0, "seconds": round(clock.seconds(), 3), "ensemble_prob": float(prob.max()),
                        "objective": float(obj.max())})
        progress(0, cfg.steps, f"random start: {n} strokes, p {float(prob.max()):.3f}")
        if frames is not None:
            frames.append(draw.render_png(_unpack(w, start, n), supersample=2))

    # natural evolution strategies on every free parameter
    mask = torch.cat([torch.full((3,), draw.palette_colors(cfg.palette) is None),
                      draw.free_columns(cfg.system, cfg.palette).repeat(n_total)]).float()
    best_w, best_obj, dry, stopped, it = w.clone(), -math.inf, 0, "steps", 0
    for it in range(1, cfg.steps + 1):
        obj, prob = score([w], n_total)
        history.append({"step": it, "seconds": round(clock.seconds(), 3), "ensemble_prob": float(prob[0]),
                        "objective": float(obj[0])})
        if frames is not None and (it % 5 == 1):
            frames.append(draw.render_png(_unpack(w, start, n_total), supersample=2))
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

def perceive(target: str | int, config: PerceiveConfig | None = None, *, seed: int = 0,
             device: str | torch.device = "cpu", progress: Progress = silent,
             animate: bool = False, start: draw.Drawing | None = None) -> Perception:
    """Plan a drawing of `target` (an ImageNet class name or index) and judge its exact
    render under every network. `start` continues from an existing drawing (e.g. `load_svg`)."""
    from reverie.core.device import resolve_device
    from reverie.io.images import pil_to_tensor
    from reverie.nets.zoo import load_net

    cfg = replace(config or PerceiveConfig())  # a copy: the caller's config is left as it was
    cfg.ensemble, cfg.held_out = tuple(cfg.ensemble), tuple(cfg.held_out)
    cfg.sharpness, cfg.scale = tuple(cfg.sharpness), tuple(cfg.scale)
    index = find_class(target)
    check_config(cfg)
    dev = resolve_device(str(device))
    t0, cpu0 = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    shape = draw.Shape(min_width=cfg.min_width, max_width=cfg.max_width)
    nets = [load_net(m, dev) for m in cfg.ensemble]
    clock = _Clock(cfg.max_seconds)

    def random_start() -> draw.Drawing:
        tries = [draw.random_drawing(cfg.system, cfg.strokes, cfg.size, g, cfg.palette, shape)
                 for _ in range(max(cfg.random_start, 1) if cfg.planner == "grad" else 1)]
        if len(tries) == 1:
            return tries[0]
        objective, _ = score_exact(tries, nets, index, cfg.combine, cfg.supersample, dev)
        return tries[int(objective.argmax())]

    given = start is not None
    if given:
        if start.system != cfg.system or len(start.strokes) != cfg.strokes:
            cfg.system, cfg.strokes = start.system, len(start.strokes)
        start = draw.apply_palette(draw.Drawing(start.system, cfg.size, start.background.float(),
                                                start.strokes.float(), shape), cfg.palette)
    else:
        start = random_start()
    frames: list | None = [] if animate else None
    if cfg.planner == "es":
        best, history, steps_run, stopped = plan_es(start, index, nets, cfg, g, dev, progress, frames, clock)
    else:
        # a run that stalls is abandoned for a fresh random start (not when the user gave the start)
        attempts = []
        for attempt in range(cfg.restarts + 1):
            used = sum(a[2] for a in attempts)
            may_stall = not given and attempt < cfg.restarts
            result = plan_grad(start, index, nets, cfg, g, dev, progress, frames, clock, may_stall,
                               steps=cfg.steps - used, offset=used)
            for h in result[1]:
                h["attempt"] = attempt
            attempts.append(result)
            if not result[3].startswith("stalled") or clock.out() or used + result[2] >= cfg.steps:
                break
            progress(used + result[2], cfg.steps, f"restart {attempt + 1}: {result[3]}")
            start = random_start()
        best = max(attempts, key=lambda a: max((h["objective"] for h in a[1]), default=-math.inf))[0]
        history = [h for a in attempts for h in a[1]]
        steps_run = sum(a[2] for a in attempts)
        stopped = attempts[-1][3] + (f" after {len(attempts) - 1} restart(s)" if len(attempts) > 1 else "")
    best = draw.apply_palette(best, cfg.palette)
    image = draw.render_png(best, supersample=cfg.supersample)
    models = [(m, "ensemble") for m in cfg.ensemble] + [(m, "held-out") for m in cfg.held_out]
    verdicts = judge(pil_to_tensor(image), index, models, dev)
    ens = [v.prob for v in verdicts if v.role == "ensemble"]
    ensemble_prob = math.exp(sum(math.log(max(p, 1e-30)) for p in ens) / len(ens))
    return Perception(best, image, index, class_name(index), verdicts, ensemble_prob, history,
                      time.perf_counter() - t0, time.process_time() - cpu0, steps_run, stopped, cfg,
                      seed, frames or [])


def verdict_table(result: Perception) -> str:
    """What each network sees in the exact render, as a plain-text table."""
    lines = [f"target: {result.target} {result.target_name}   ensemble p {result.ensemble_prob:.3f}   "
             f"{result.seconds:.1f} s, {result.steps_run} steps ({result.stopped})",
             f"{'network':<8} {'role':<9} {'p(target)':>9} {'rank':>5}  top-5"]
    for v in result.verdicts:
        top = ", ".join(f"{t['name']} {t['prob']:.2f}" for t in v.top5)
        lines.append(f"{v.model:<8} {v.role:<9} {v.prob:>9.3f} {v.rank:>5}  {top}")
    return "\n".join(lines)
