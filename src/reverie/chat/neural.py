"""The neural responder: a character language model trained on conversations, which
answers by continuing the conversation.

Vinyals & Le (2015, "A Neural Conversational Model") trained a sequence-to-sequence
network on dialogue and let it answer from what it learned. Here the network is the char
LM of `reverie.text` (its training, checkpoints, resume and sampling, unchanged) and the
conditioning is the text itself: the dialogue so far in the turn layout of `turns`
(`NAME:` line, speech, blank line), then the persona's `NAME:` line. The model writes the
persona's speech; the blank line that ends a turn ends the reply.

How much did the conversation shape the answer? `reply_bits` scores a reply under the
model twice: after the conversation, and after the persona's name alone.
"""
from __future__ import annotations

import math
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from reverie.chat.turns import END, Turn, format_turns, header, read_dialogue, speakers
from reverie.core.config import make_config
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.text.cache import Cache, cached_log_probs
from reverie.text.charlm import CharLM, CharLMConfig, generate, load_charlm, load_checkpoint
from reverie.text.corpus import Vocab
from reverie.text.train import TrainResult, train_charlm

DIALOGUE_FORMAT = "reverie.turns/1"


# -- training --------------------------------------------------------------------------------

def dialogue_text(corpus) -> tuple[str, list[tuple[str, int]], int]:
    """The corpus in the turn layout, its speakers (most turns first) and its turn count."""
    convs = read_dialogue(corpus)
    turns = sum(len(c) for c in convs)
    if not turns:
        raise ReverieError("the dialogue corpus has no turns; give `NAME: line` transcripts, "
                           "builtin:shakespeare or builtin:chatterbot")
    return "".join(format_turns(c) for c in convs), speakers(convs), turns


def train_chat(corpus=None, config: Optional[CharLMConfig] = None, *,
               out: str | os.PathLike | None = None, progress: Progress = silent,
               **overrides) -> TrainResult:
    """Train a responder on dialogue (`builtin:shakespeare`, `builtin:chatterbot`, or
    `NAME: line` transcripts): the char LM's training on the turn layout. With `out`,
    checkpoints go there as they are made and `resume=True` continues a killed run."""
    cfg = make_config(CharLMConfig, config, **overrides)
    text, who, n_turns = dialogue_text(corpus)
    # what makes it a responder: the layout it learned and who speaks in it (in every
    # checkpoint, so a model saved before a kill answers as one too)
    dialogue = {"format": DIALOGUE_FORMAT, "speakers": [[n, c] for n, c in who[:200]]}
    result = train_charlm(text=text, config=cfg, out=out, progress=progress,
                          extra={"dialogue": dialogue})
    result.mechanism = "train_chat"
    result.inputs = {"corpus": record_input(corpus)}
    result.figures.update({"turns": n_turns, "speakers": len(who),
                           "top_speakers": [n for n, _ in who[:8]]})
    # again, over the trainer's own save (rank 0's alone under torchrun), with the dialogue record
    if out is not None and result.saved:
        result.save(result.saved["model"])
    return result


# -- a trained responder ---------------------------------------------------------------------

@dataclass
class Responder:
    lm: CharLM
    speakers: list[tuple[str, int]]    # from training, most turns first; empty if unknown
    dialogue: bool                     # trained by `chat train` (else a plain text model)

    def speaker(self, name: str, fallback_rank: int) -> str:
        """A name as the model spells it (case-insensitive match to a known speaker), or
        the speaker of that rank when `name` is empty."""
        known = [n for n, _ in self.speakers]
        if not name:
            if known:
                return known[min(fallback_rank, len(known) - 1)]
            return ("YOU", "ME")[min(fallback_rank, 1)]
        for n in known:
            if n.lower() == name.strip().lower():
                return n
        return name.strip()


def load_responder(model) -> Responder:
    """A model from `chat train` (or any `text train` model, which then answers in the
    layout it happened to learn) as a Responder; anything else is a one-line error."""
    if isinstance(model, Responder):
        return model
    if isinstance(model, TrainResult):
        meta = model.checkpoint.get("dialogue") or {}
        lm = model.lm
    elif isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if path.suffix.lower() == ".json":
            raise ReverieError(f"{path} is an n-gram model; the responder needs a network from "
                               f"`reverie chat train` (.pt)")
        meta = load_checkpoint(path).get("dialogue") or {}
        lm = load_charlm(path)
    else:
        raise ReverieError(f"cannot answer with a {type(model).__name__}; give a model from "
                           f"`reverie chat train` (.pt)")
    return Responder(lm, [(str(n), int(c)) for n, c in meta.get("speakers", [])],
                     meta.get("format") == DIALOGUE_FORMAT)


def fit_to_vocab(text: str, vocab: Vocab) -> str:
    """What the user typed, in characters the model knows: accents and typographic quotes
    folded to their plain forms, anything else unknown dropped."""
    if vocab.bytes_mode:
        return text
    known = set(vocab.chars)
    folded = unicodedata.normalize("NFKD", text).translate(
        {0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"', 0x2013: "-", 0x2014: "-"})
    return "".join(ch for ch in folded if ch in known)


def prompt(history: Sequence[Turn], persona: str, vocab: Vocab, context: int) -> str:
    """The conversation's last turns that fit in `context` characters, then the persona's
    name line: what the model continues."""
    def name(speaker: str) -> str:  # one line, in characters the model knows
        return " ".join(fit_to_vocab(speaker, vocab).split())

    persona = name(persona)
    turns = [Turn(name(t.speaker), fit_to_vocab(t.text, vocab)) for t in history]
    kept, size = [], 0
    for t in reversed(turns):
        piece = format_turns([t])
        if size + len(piece) > context:
            room = context - size - len(header(t.speaker) + END)
            if not kept and room > 0:  # a turn longer than the context: its end is heard
                kept.append(Turn(t.speaker, t.text[-room:]))
            break
        kept.append(t)
        size += len(piece)
    # Every turn the model trained on followed a turn's end: starting the same way keeps it
    # in the states it knows (a 15-minute Shakespeare model fed "PROSPERO:" from a zero
    # state went to 38 bits/char, and to 2.2 after the end marker).
    return END + format_turns(reversed(kept)) + header(persona)


def respond(responder: Responder, history: Sequence[Turn], persona: str, *,
            temperature: float = 0.7, top_k: Optional[int] = None, length: int = 300,
            context: int = 2000, seed: int = 0, cache: Optional[Cache] = None
            ) -> tuple[str, bool]:
    """The persona's reply to the conversation, and whether it ended its turn itself (else
    it was cut at `length` characters). With a `cache`, the model also predicts from its
    states over the conversation (the continuous cache)."""
    lm = responder.lm
    text = prompt(history, persona, lm.vocab, context)
    out = ""
    for pieces in generate(lm.model, lm.vocab, text, length, temperature, top_k, seed,
                           cache=cache):
        out += pieces[0]
        if out.endswith(END):
            return out.strip(), True
    return out.strip(), False


@torch.inference_mode()
def reply_bits(responder: Responder, history: Sequence[Turn], persona: str, reply: str,
               context: int = 2000, cache: Optional[Cache] = None) -> dict[str, float]:
    """Bits per character of `reply` (and its end of turn) under the model, after the
    conversation and after the persona's name alone; the difference is what the
    conversation told the model about this answer. With a `cache`, as `respond` predicts
    with it, and the network's own figures (read from the same pass) beside them."""
    lm = responder.lm
    reply = fit_to_vocab(reply, lm.vocab) + END
    with_context = _bits(lm, prompt(history, persona, lm.vocab, context), reply, cache)
    without = _bits(lm, prompt([], persona, lm.vocab, context), reply, cache)
    out = {"bits_per_char": with_context[0], "bits_per_char_without_context": without[0],
           "context_gain_bits": without[0] - with_context[0]}
    if cache is not None and cache.on:
        out.update(bits_per_char_without_cache=with_context[1],
                   bits_per_char_without_context_or_cache=without[1])
    return out


@torch.no_grad()  # scoring only: no graph over thousands of characters
def _bits(lm: CharLM, prefix: str, text: str, cache: Optional[Cache] = None
          ) -> tuple[float, float]:
    """Bits per character of `text` after `prefix`: with the cache (the network alone
    when there is none) and with the network alone, from one pass."""
    ids = lm.vocab.encode(prefix + text, "text to score")
    n_prefix = len(lm.vocab.encode(prefix, "text to score"))
    model = lm.model                          # (loaded for inference: in eval mode)
    dev = next(model.parameters()).device
    hidden, _ = model.hidden(ids[None, :-1].to(dev), model.init_state(1))
    logp = F.log_softmax(model.head(hidden)[0].float(), dim=-1).cpu()
    start = n_prefix - 1                    # the row that predicts the text's first character
    targets = ids[1 + start:]
    rows = torch.arange(len(targets))
    plain = float(-logp[start:][rows, targets].mean()) / math.log(2)
    if cache is None or not cache.on:
        return plain, plain
    mixed = cached_log_probs(logp.numpy(), hidden[0].float().cpu().numpy(), ids.numpy(), cache,
                             start=start)
    return float(-mixed[rows.numpy(), targets.numpy()].mean()) / math.log(2), plain
