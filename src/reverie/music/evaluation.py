"""Held-out figures for a Coconet model (magenta's lib_evaluation.py), with the chord
Markov baseline measured beside it on the same pieces and in the same unit (nats per frame).

lib_evaluation's FrameEvaluator and NoteEvaluator. Frame-wise: frames in a random order (or
chronological), each predicted from the frames before it in that order; within a frame
the four voices in random order, each conditioned on the model's argmax for the voices
before it, as lib_evaluation does. Note-wise: every (time, voice) cell in a random order,
each from the true cells before it. To be affordable on a CPU a random sample of frames
(cells) per piece is scored, each with its own random context: an unbiased estimate of
the same mean. Each query runs on a crop of the piece as wide as the net's receptive
field, which gives the same output."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from reverie.core.errors import ReverieError
from reverie.core.threads import cpu_threads
from reverie.music import chorales as ch
from reverie.music.chorales import Chorale
from reverie.music.coconet import HIGH, LOW, NUM_PITCHES, CoconetNet, as_model, to_roll


def _windows(T: int, t: np.ndarray, R: int) -> tuple[np.ndarray, np.ndarray]:
    return np.maximum(t - R, 0), np.minimum(t + R + 1, T)


@torch.no_grad()
def frame_nll(net: CoconetNet, pitches: np.ndarray, rng: np.random.Generator,
              frames: Optional[int] = 64, chronological: bool = False,
              within: str = "argmax") -> np.ndarray:
    """lib_evaluation.FrameEvaluator on one piece: -log p(frame) for a sample of frames.
    within="argmax" fills the voices already scored in a frame with the model's argmax, as
    lib_evaluation does; within="truth" with their true notes (the chain rule proper)."""
    roll = to_roll(pitches)
    T = roll.shape[1]
    order = np.arange(T) if chronological else rng.permutation(T)
    pos = np.arange(T) if frames is None or frames >= T else np.sort(
        rng.choice(T, frames, replace=False))
    t = order[pos]
    n = len(t)
    masks = np.ones((n, 4, T), np.float32)
    rank = np.empty(T, int)
    rank[order] = np.arange(T)
    for i in range(n):                       # frames before it in the ordering are known
        masks[i][:, rank < pos[i]] = 0.0
    xs = np.repeat(roll[None], n, 0)
    voice_order = np.stack([rng.permutation(4) for _ in range(n)])
    ll = np.zeros(n)
    for k in range(4):
        probs = _predict_multi(net, xs, masks, t)
        v = voice_order[:, k]
        truth = roll[v, t]                                   # (n, P)
        p = (probs[np.arange(n), v] * truth).sum(-1)
        ll += np.where(truth.sum(-1) > 0, np.log(np.maximum(p, 1e-12)), 0.0)
        if within == "argmax":                 # the model's own argmax, as lib_evaluation
            best = probs[np.arange(n), v].argmax(-1)
            xs[np.arange(n), v, t] = 0.0
            xs[np.arange(n), v, t, best] = 1.0
        masks[np.arange(n), v, t] = 0.0
    return -ll


def _predict_multi(net, xs: np.ndarray, masks: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Like _predict_groups, but each query has its own roll (n, 4, T, P)."""
    R = net.radius
    T = xs.shape[2]
    a, b = _windows(T, t, R)
    out = np.zeros((len(t), 4, NUM_PITCHES), np.float32)
    groups: dict[tuple[int, bool, bool], list[int]] = {}
    for i in range(len(t)):
        groups.setdefault((int(b[i] - a[i]), a[i] == 0, b[i] == T), []).append(i)
    for (w, _, _), idx in groups.items():
        for c0 in range(0, len(idx), 128):
            ii = np.array(idx[c0: c0 + 128])
            rolls = np.stack([xs[i, :, a[i]: a[i] + w] for i in ii])
            ms = np.stack([masks[i, :, a[i]: a[i] + w] for i in ii])
            logits = net(torch.from_numpy(rolls), torch.from_numpy(ms))
            pos = torch.as_tensor(t[ii] - a[ii])
            out[ii] = F.softmax(logits[torch.arange(len(ii)), :, pos], -1).numpy()
    return out


@torch.no_grad()
def note_nll(net: CoconetNet, pitches: np.ndarray, rng: np.random.Generator,
             cells: Optional[int] = 64) -> np.ndarray:
    """lib_evaluation.NoteEvaluator on one piece: -log p(cell) for a sample of sounding
    (time, voice) cells, each given the true cells before it in a random ordering."""
    roll = to_roll(pitches)
    T = roll.shape[1]
    D = 4 * T
    order = rng.permutation(D)
    rank = np.empty(D, int)
    rank[order] = np.arange(D)
    sounding = np.flatnonzero(roll.reshape(D, -1).sum(-1) > 0)     # cell id = v * T + t
    pick = sounding if cells is None or cells >= len(sounding) else rng.choice(
        sounding, cells, replace=False)
    n = len(pick)
    masks = np.ones((n, 4, T), np.float32)
    for i, c in enumerate(pick):
        masks[i].reshape(-1)[rank < rank[c]] = 0.0
    v, t = pick // T, pick % T
    xs = np.repeat(roll[None], n, 0)
    probs = _predict_multi(net, xs, masks, t)
    p = (probs[np.arange(n), v] * roll[v, t]).sum(-1)
    return -np.log(np.maximum(p, 1e-12))


def evaluate(model, pieces: Sequence[Chorale], frames_per_piece: Optional[int] = 64,
             seed: int = 0, chronological: bool = True) -> dict:
    """Held-out NLL (nats) per frame and per note, pooled over the pieces' units as
    lib_evaluation pools them. Frame: random ordering of frames (Coconet's "random"
    figure) and, with `chronological`, the frames in time order (what a left-to-right
    model such as the Markov chain is scored on)."""
    m = as_model(model)
    rng = np.random.default_rng(seed)
    fr, frc, nt, frt, frct = [], [], [], [], []
    with cpu_threads():
        for c in pieces:
            p = c.pitches
            if np.nanmin(p) < LOW or np.nanmax(p) > HIGH:
                continue
            fr.append(frame_nll(m.net, p, rng, frames_per_piece))
            frt.append(frame_nll(m.net, p, rng, frames_per_piece, within="truth"))
            if chronological:
                frc.append(frame_nll(m.net, p, rng, frames_per_piece, chronological=True))
                frct.append(frame_nll(m.net, p, rng, frames_per_piece, chronological=True,
                                      within="truth"))
            nt.append(note_nll(m.net, p, rng, frames_per_piece))
    out = {"nll_per_frame": float(np.mean(np.concatenate(fr))),
           "nll_per_frame_sem": float(np.std(np.concatenate(fr)) / np.sqrt(sum(map(len, fr)))),
           "nll_per_note": float(np.mean(np.concatenate(nt))),
           "pieces": len(fr), "frames_scored": int(sum(map(len, fr))),
           "method": ("Coconet's FrameEvaluator (frames in random order, voices within a frame "
                      "in random order conditioned on the model's argmax) and NoteEvaluator "
                      "(cells in random order); *_chain_rule: the voices already scored in "
                      "a frame at their true notes (a proper likelihood); " +
                      (f"{frames_per_piece} random frames/cells "
                      "per piece, each with its own random context" if frames_per_piece else
                      "every frame") + "; nats")}
    # the chain rule proper: the voices already scored in a frame at their true notes
    out["nll_per_frame_chain_rule"] = float(np.mean(np.concatenate(frt)))
    if chronological:
        out["nll_per_frame_chronological"] = float(np.mean(np.concatenate(frc)))
        out["nll_per_frame_chronological_chain_rule"] = float(np.mean(np.concatenate(frct)))
    return out




def held_out(data: str) -> tuple[list[ch.Chorale], list[ch.Chorale], str]:
    """(pieces to score, pieces to fit the baseline on, description)."""
    if data in ("builtin:chorales", "chorales"):
        train, _, test = ch.split_chorales(ch.load_chorales())
        return test, train, "builtin:chorales, the held-out test split"
    path = Path(os.fspath(data))
    files = sorted(f for f in path.rglob("*") if f.suffix.lower() in ch.SCORE_SUFFIXES) \
        if path.is_dir() else [path]
    pieces = [ch.read_score(f) for f in files]
    pieces = [p for p in pieces if not np.isnan(p.pitches).all(0).any()]
    if not pieces:
        raise ReverieError(f"{data} holds no four-part MIDI or MusicXML scores to evaluate on; "
                           f"give such scores or builtin:chorales")
    train, _, _ = ch.split_chorales(ch.load_chorales())
    return pieces, train, f"{data}, {len(pieces)} scores"


def evaluate_model(model, data: str = "builtin:chorales", frames: Optional[int] = 64,
                   order: int = 3, seed: int = 0) -> dict:
    from reverie.music.markov import ChordMarkov
    m = as_model(model)           # a bad model file fails before any data is read
    pieces, train, what = held_out(data)
    figures = evaluate(m, pieces, frames_per_piece=frames, seed=seed)
    markov = ChordMarkov(order=order).fit(train)
    figures["markov_nll_per_frame"] = markov.nll(pieces)
    figures["markov_order"] = order
    figures["data"] = what
    return figures
