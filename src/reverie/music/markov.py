"""The baseline Coconet must beat: an order-k Markov chain over chords.

Cope's EMI recombined recurring fragments of a composer's music; the measurable core of
that idea is a chain over chord-to-chord transitions, as the n-gram is for text. A chord
is the four voices' pitches at one sixteenth (a rest is a value of its own), so its
likelihood is in the same unit as Coconet's: nats per frame.

Smoothing: Witten-Bell interpolation (the PPM family of Cleary & Witten, used for chord
prediction by Sears et al. 2018), from order k down to order 0, over a base distribution
that treats the voices as independent (each voice's pitch frequencies, add-one), so a
chord never seen still has a probability and every distribution sums to one:

    P_k(x | h) = (c(h, x) + N1+(h .) P_{k-1}(x | h')) / (c(h) + N1+(h .))

where h' is h without its oldest chord and N1+(h .) the number of different chords seen
after h. Training data is transposed into every key that keeps the voices in range, as
Coconet's is.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from reverie.core.errors import ReverieError
from reverie.music import chorales as ch

REST = -1
START = (-2, -2, -2, -2)
VALUES = ch.PITCH_HIGH - ch.PITCH_LOW + 2          # the pitch range plus a rest


def chords(pitches: np.ndarray) -> list[tuple[int, ...]]:
    p = np.where(np.isnan(pitches), REST, pitches).astype(int)
    return [tuple(r) for r in p]


@dataclass
class ChordMarkov:
    order: int = 3                    # best on the JSB validation split (bench/music.py)
    augment: bool = True
    counts: list = field(default_factory=list)     # per order: {context: Counter(next)}
    voice_counts: list = field(default_factory=list)
    total: int = 0

    def fit(self, pieces: Sequence[ch.Chorale]) -> "ChordMarkov":
        if self.order < 0:
            raise ReverieError("the Markov order must be 0 or more")
        self.counts = [defaultdict(Counter) for _ in range(self.order + 1)]
        self.voice_counts = [Counter() for _ in range(4)]
        for c in pieces:
            shifts = (ch.shifts_in_range(c) or [0]) if self.augment else [0]
            for s in shifts:
                seq = [START] * self.order + chords(c.pitches + s)
                for i in range(self.order, len(seq)):
                    x = seq[i]
                    for k in range(self.order + 1):
                        self.counts[k][tuple(seq[i - k: i])][x] += 1
                    for v in range(4):
                        self.voice_counts[v][x[v]] += 1
                    self.total += 1
        if self.total == 0:
            raise ReverieError("no chords to learn from; give some chorales")
        self._vtot = [sum(vc.values()) for vc in self.voice_counts]
        self._stats = [{h: (sum(cn.values()), len(cn)) for h, cn in level.items()}
                       for level in self.counts]
        return self

    def base(self, x: tuple[int, ...]) -> float:
        p = 1.0
        for v in range(4):
            p *= (self.voice_counts[v][x[v]] + 1) / (self._vtot[v] + VALUES)
        return p

    def prob(self, x: tuple[int, ...], history: Sequence[tuple[int, ...]],
             order: int | None = None) -> float:
        order = self.order if order is None else min(order, self.order)
        p = self.base(x)
        for k in range(order + 1):
            h = tuple(history[len(history) - k:]) if k else ()
            st = self._stats[k].get(h)
            if st is None:
                continue                  # unseen context: the lower order's estimate
            n, types = st
            p = (self.counts[k][h][x] + types * p) / (n + types)
        return p

    def nll(self, pieces: Sequence[ch.Chorale], order: int | None = None) -> float:
        """Mean nats per frame over the pieces (each frame given the frames before it)."""
        total, n = 0.0, 0
        for c in pieces:
            seq = [START] * self.order + chords(c.pitches)
            for i in range(self.order, len(seq)):
                total -= math.log(self.prob(seq[i], seq[i - self.order: i], order))
                n += 1
        return total / max(n, 1)

    def harmonize(self, soprano: np.ndarray, seed: int = 0) -> np.ndarray:
        """(T, 4) pitches: a soprano (T,) as given (NaN = rest) with alto, tenor and bass
        sampled frame by frame in time order from the chain, among the chords that have the
        given soprano: those seen after the context at some order >= 1, else (a context
        never followed by that soprano) every chord seen with it, each weighted by its
        smoothed probability (the baseline's harmonisations in bench/music.py)."""
        rng = np.random.default_rng(seed)
        with_soprano: dict = defaultdict(list)
        for x in self.counts[0][()]:
            with_soprano[x[0]].append(x)
        history = [START] * self.order
        out = []
        for s in soprano:
            s = REST if np.isnan(s) else int(s)
            seen = {x for k in range(1, self.order + 1)
                    for x in self.counts[k].get(tuple(history[len(history) - k:]), ())
                    if x[0] == s}
            candidates = sorted(seen) or sorted(with_soprano.get(s, ()))
            if not candidates:
                raise ReverieError(f"the chain never saw the soprano note {s}; give notes in "
                                   f"the chorales' range")
            p = np.array([self.prob(x, history[len(history) - self.order:]) for x in candidates])
            x = candidates[rng.choice(len(candidates), p=p / p.sum())]
            history.append(x)
            out.append(x)
        a = np.array(out, np.float32)
        return np.where(a == REST, np.nan, a).astype(np.float32)
