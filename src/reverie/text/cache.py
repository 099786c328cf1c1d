"""The continuous cache (Grave, Joulin & Usunier 2017, "Improving Neural Language Models
with a Continuous Cache").

A recurrent model's state forgets what it read a few hundred characters ago. The cache
keeps it instead: every hidden state h_i the model had over the text so far is a key, and
the character that followed it, x_{i+1}, is its value. Reading on, the model's current
state looks up the states most like it and predicts what followed them:

    p_cache(w | h_t) ∝ Σ_{i < t, x_{i+1} = w} exp(θ h_t · h_i)
    p(w) = (1 - λ) p_model(w | h_t) + λ p_cache(w | h_t)

No training: the trained network's own states are the memory. θ sets how sharply the
lookup picks the nearest states, λ how much the memory is trusted. A responder with a cache
copies from the conversation: the names, words and turns of phrase it has just heard.

One departure, for characters: the state just before the current one is left out. Its
value is the character just read, and consecutive states are alike, so while sampling it
made the cache repeat letters ("woulddd", "effffiing": 2 tripled letters in 6,000
characters of model:shakespeare at lambda 0.15, none without it); held-out bits moved by
less than 0.001.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax

from reverie.core.config import ConfigError, knob

# Defaults: chosen for the Shakespeare responder on held-out replies (docs/chat.md); the
# window is the paper's largest cache (2,000 states)
THETA, LAMBDA, WINDOW = 0.4, 0.15, 2000


@dataclass(frozen=True)
class Cache:
    theta: float   # θ: the lookup's sharpness (the paper's "flatness")
    lam: float     # λ: the cache's share of the prediction; 0 turns it off

    def __post_init__(self):
        if not 0 <= self.lam <= 1:
            raise ConfigError("cache_lambda", f"must be between 0 and 1, got {self.lam}")
        if self.theta < 0:
            raise ConfigError("cache_theta", f"must be 0 or more, got {self.theta}")

    @property
    def on(self) -> bool:
        return self.lam > 0


DEFAULT = Cache(THETA, LAMBDA)


def lambda_knob(default: float):
    """The Config field of λ, for every mechanism that predicts with the cache."""
    return knob(default, "the continuous cache's share of each prediction (Grave et al. "
                "2017's lambda): the network also predicts what followed its own most similar "
                "earlier states, so it picks up the words it has just read; 0: off",
                min=0, max=1)


def theta_knob():
    return knob(THETA, "how sharply the continuous cache looks up the most similar states "
                "(Grave et al.'s theta)", min=0)


def cache_probs(queries: np.ndarray, keys: np.ndarray, values: np.ndarray, vocab_size: int,
                theta: float, visible: np.ndarray | None = None,
                first: np.ndarray | None = None) -> np.ndarray:
    """p_cache (R, V) for R query states over N (key, value) pairs; row r sees keys
    first[r] <= i < visible[r] (from 0, and all of them, when not given). A row that sees
    no key is all zeros."""
    s = theta * (queries.astype(np.float64) @ keys.astype(np.float64).T)   # (R, N)
    n = keys.shape[0]
    i = np.arange(n)[None, :]
    if visible is not None:
        s = np.where(i < visible[:, None], s, -np.inf)
    if first is not None:
        s = np.where(i >= first[:, None], s, -np.inf)
    top = s.max(axis=1, keepdims=True) if n else np.zeros((len(s), 1))
    w = np.exp(s - np.where(np.isfinite(top), top, 0.0))
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    onehot = np.zeros((n, vocab_size))
    onehot[np.arange(n), values] = 1.0
    return w @ onehot


def mix(log_probs: np.ndarray, p_cache: np.ndarray, cache: Cache) -> np.ndarray:
    """log((1 - λ) p_model + λ p_cache), row by row; a row whose cache is empty keeps the
    model's own prediction."""
    p = np.exp(log_probs.astype(np.float64))
    seen = p_cache.sum(axis=1, keepdims=True) > 0
    mixed = np.where(seen, (1 - cache.lam) * p + cache.lam * p_cache, p)
    return np.log(np.maximum(mixed, 1e-300))


def cached_log_probs(log_probs: np.ndarray, hidden: np.ndarray, ids: np.ndarray,
                     cache: Cache, start: int = 0, window: int | None = None,
                     chunk: int = 512) -> np.ndarray:
    """Scoring a text read in one pass: log_probs (T, V) and hidden (T, H) are the model's
    predictions and states after each of ids[:T]; ids[t + 1] followed state t. Returns the
    cached log-probs of rows start..T-1, each row seeing the states before its own (the
    last `window` of them, when given), `chunk` rows at a time."""
    T = len(hidden)
    out = []
    for s in range(start, T, chunk):
        rows = np.arange(s, min(T, s + chunk))
        lo = 0 if window is None else max(0, s - window)
        keys, values = hidden[lo:rows[-1]], ids[lo + 1:rows[-1] + 1]
        first = None if window is None else np.maximum(rows - window - lo, 0)
        p_cache = cache_probs(hidden[rows], keys, values, log_probs.shape[1], cache.theta,
                              visible=rows - lo - 1, first=first)   # (not the state just before)
        out.append(mix(log_probs[rows], p_cache, cache))
    return np.concatenate(out) if out else np.zeros((0, log_probs.shape[1]))


class CacheStream:
    """The cache of each of `batch` streams while sampling: `add` each state with the
    character that followed it, `predict` the next character's log-probs from the model's.
    Keys live in one growing float32 buffer, so a step costs one (B, N, H) product."""

    def __init__(self, cache: Cache, batch: int, vocab_size: int):
        self.cache, self.V, self.batch = cache, vocab_size, batch
        self.keys = np.zeros((batch, 0, 0), np.float32)
        self.values = np.zeros((batch, 0), np.int64)
        self.n = 0

    def add(self, hidden: np.ndarray, next_ids: np.ndarray) -> None:
        if self.n == self.keys.shape[1]:            # grow by doubling
            room = max(64, 2 * self.n)
            keys = np.zeros((self.batch, room, hidden.shape[-1]), np.float32)
            values = np.zeros((self.batch, room), np.int64)
            if self.n:
                keys[:, :self.n], values[:, :self.n] = self.keys, self.values
            self.keys, self.values = keys, values
        self.keys[:, self.n] = hidden
        self.values[:, self.n] = next_ids
        self.n += 1

    def predict(self, logits: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        log_probs = log_softmax(logits.astype(np.float64), axis=1)
        n = self.n - 1                                  # not the state just before
        if n < 1:
            return log_probs
        s = self.cache.theta * np.einsum("bh,bnh->bn", hidden.astype(np.float32),
                                         self.keys[:, :n]).astype(np.float64)
        w = np.exp(s - s.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        p_cache = np.zeros((self.batch, self.V))
        for b in range(self.batch):
            p_cache[b] = np.bincount(self.values[b, :n], weights=w[b], minlength=self.V)
        return mix(log_probs, p_cache, self.cache)
