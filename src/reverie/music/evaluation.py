"""Held-out figures for a Coconet model, with the chord Markov baseline measured beside it
on the same pieces and in the same unit (nats per frame)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from reverie.core.errors import ReverieError
from reverie.music import chorales as ch


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
    from reverie.music import coconet
    from reverie.music.markov import ChordMarkov
    m = coconet.as_model(model)           # a bad model file fails before any data is read
    pieces, train, what = held_out(data)
    figures = coconet.evaluate(m, pieces, frames_per_piece=frames, seed=seed)
    markov = ChordMarkov(order=order).fit(train)
    figures["markov_nll_per_frame"] = markov.nll(pieces)
    figures["markov_order"] = order
    figures["data"] = what
    return figures
