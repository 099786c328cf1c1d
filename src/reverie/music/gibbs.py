"""Blocked Gibbs sampling from Coconet (magenta's lib_sampling.py).

lib_sampling's GibbsSampler with a BernoulliMasker and an IndependentSampler, block size
annealed by YaoSchedule (Yao et al. 2014): p_n = max(pmin, pmax - (pmax - pmin) n /
(alpha N)), pmin 0.1, pmax 0.9, alpha 0.7, N = the number of cells to write, temperature
0.99 (coconet_sample.py's defaults). Beside the net, a harmony teacher as a second expert
(`parallel_penalty`, frame to frame and beat to beat; `range_penalty`; `leap_penalty`; all 0
is Coconet's sampler as published). The
mechanisms that sample (compose, harmonize, continue) are in `harmonize`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, seed_knob
from reverie.core.progress import Progress, silent
from reverie.music import rules
from reverie.music.coconet import HIGH, LOW, NUM_PITCHES, CoconetNet, from_roll, range_mask


@dataclass
class GibbsConfig(Config):
    """Blocked Gibbs sampling (lib_sampling: GibbsSampler, YaoSchedule; coconet_sample)."""
    temperature: float = knob(0.99, "softmax temperature when a cell is rewritten "
                              "(coconet_sample: 0.99)", above=0)
    pmax: float = knob(0.9, "erasure probability at the first Gibbs step (YaoSchedule pmax)",
                       above=0, max=1)
    pmin: float = knob(0.1, "erasure probability it anneals down to (YaoSchedule pmin)",
                       above=0, max=1)
    alpha: float = knob(0.7, "fraction of the steps over which it anneals (YaoSchedule alpha)",
                        above=0, max=1)
    gibbs_steps: Optional[int] = knob(None, "Gibbs steps (auto: the number of cells to "
                                      "write, GibbsSampler's default)", min=1)
    parallel_penalty: float = knob(4.0, "log-probability taken off a note for each parallel "
                                   "fifth or octave it would make with its neighbours as they "
                                   "stood at the previous Gibbs step, frame to frame and, on a "
                                   "beat, beat to beat: a harmony teacher as a "
                                   "second expert beside the net, p(note) ∝ "
                                   "p_net(note)^(1/temperature) * exp(-parallel_penalty * "
                                   "parallels) (this and range_penalty 0: Coconet's sampler as "
                                   "published)", min=0)
    range_penalty: float = knob(2.0, "log-probability taken off a note outside its voice's "
                                "textbook range (S C4-G5, A G3-D5, T C3-G4, B E2-C4: the "
                                "teacher's range check; notes outside the chorales' own ranges "
                                "are never drawn)", min=0)
    leap_penalty: float = knob(6.0, "log-probability taken off a note for each leap larger "
                               "than an octave or by a tritone it would make from the note "
                               "before it or to the note after it in its voice", min=0)
    qpm: float = knob(80.0, "tempo of the MIDI and WAV, quarter notes per minute", above=0)
    animation: bool = knob(True, "write the Gibbs animation (.gif beside the MIDI)")
    seed: int = seed_knob(0)
    device: str = device_knob()

    def check(self) -> None:
        if self.pmin > self.pmax:
            raise ConfigError("pmin", f"pmin ({self.pmin}) must not exceed pmax ({self.pmax})")


def yao_schedule(step: int, n: int, pmin: float, pmax: float, alpha: float) -> float:
    """lib_sampling.YaoSchedule: the erasure probability at Gibbs step `step` of `n`."""
    return max(pmin, pmax - (pmax - pmin) * step / n / alpha)


@torch.no_grad()
def gibbs(net: CoconetNet, roll: np.ndarray, outer: np.ndarray, cfg: GibbsConfig,
          progress: Progress = silent, frames: Optional[list] = None,
          max_frames: int = 48, allowed_cells: Optional[np.ndarray] = None
          ) -> tuple[np.ndarray, np.ndarray, int]:
    """Rewrite the cells `outer` (4, T) of `roll` (4, T, P); the rest stay as given.

    An independent pass fills every cell to write, then at each step each of them is
    erased with the annealed probability and all erased cells are sampled at once from the
    model's conditionals (GibbsSampler + BernoulliMasker + IndependentSampler). Sampling
    keeps each voice inside its range. Beside the net, a harmony teacher: each candidate
    note's log-probability loses parallel_penalty for every parallel fifth or octave it
    would make with the current notes around it, and range_penalty outside the voice's
    textbook range (a product of experts, approximate as the blocked sampler itself is;
    both 0 is Coconet's sampler). `allowed_cells` (4, T, P), if given, rules notes out
    cell by cell (e.g. a cadence's final chord). Returns (roll, confidence (4, T), steps)."""
    from reverie.core.device import resolve_device
    device = resolve_device(cfg.device)
    net = net.to(device).eval()
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.from_numpy(roll.copy()).to(device)[None]          # (1, 4, T, P)
    outer_t = torch.from_numpy(outer.astype(np.float32)).to(device)[None]
    allowed = range_mask(device)[None]                           # (1, 4, 1, P)
    if allowed_cells is not None:
        allowed = allowed & torch.from_numpy(allowed_cells).to(device)[None]
    conf = torch.ones(1, 4, roll.shape[1], device=device)
    n_cells = int(outer.sum())
    steps = cfg.gibbs_steps or n_cells
    every = max(1, steps // max_frames)
    candidates = np.arange(LOW, HIGH + 1)
    outside_textbook = (~range_mask(device, rules.TEXTBOOK_RANGES)).float()[None]

    def rewrite(mask: torch.Tensor) -> None:
        nonlocal x, conf
        logits = net(x, mask) / cfg.temperature
        # against the neighbours as they stand before this step: cells rewritten together
        # can still meet in a parallel, which later steps (fewer cells each) mostly undo
        if cfg.parallel_penalty or cfg.leap_penalty:
            now = from_roll(x[0].cpu().numpy())
            n = 0
            if cfg.parallel_penalty:
                n = cfg.parallel_penalty * rules.parallels_by_candidate(now, candidates)
            if cfg.leap_penalty:
                n = n + cfg.leap_penalty * rules.leaps_by_candidate(now, candidates)
            logits = logits - torch.from_numpy(
                np.ascontiguousarray(n.transpose(1, 0, 2), np.float32)).to(logits)[None]
        if cfg.range_penalty:
            logits = logits - cfg.range_penalty * outside_textbook
        logits = logits.masked_fill(~allowed, float("-inf"))
        probs = F.softmax(logits, -1)
        flat = probs.reshape(-1, NUM_PITCHES).cpu()
        pick = torch.multinomial(flat, 1, generator=gen).view(probs.shape[:-1]).to(device)
        new = F.one_hot(pick, NUM_PITCHES).float()
        m = mask[..., None]
        x = new * m + x * (1 - m)
        chosen = probs.gather(-1, pick[..., None])[..., 0]
        conf = chosen * mask + conf * (1 - mask)

    if n_cells:
        rewrite(outer_t)                     # blank slate: every cell drawn independently
        if frames is not None:
            frames.append((x[0].cpu().numpy(), conf[0].cpu().numpy(), outer.copy()))
        for s in range(steps):
            pm = yao_schedule(s, steps, cfg.pmin, cfg.pmax, cfg.alpha)
            u = torch.rand(outer_t.shape, generator=gen).to(device)
            inner = (u < pm).float() * outer_t
            if inner.sum() > 0:
                rewrite(inner)
            if frames is not None and (s % every == 0 or s == steps - 1):
                frames.append((x[0].cpu().numpy(), conf[0].cpu().numpy(),
                               inner[0].bool().cpu().numpy()))
            if s % 8 == 0 or s == steps - 1:
                progress(s + 1, steps, f"Gibbs step {s + 1}/{steps}, erasing {pm:.2f}")
    return x[0].cpu().numpy(), conf[0].cpu().numpy(), steps


