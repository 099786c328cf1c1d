"""A conversation with ELIZA and the neural responder, side by side.

Each line the user says goes to the bots asked for: ELIZA (Weizenbaum 1966: a script of
keywords and rules, `chat.eliza`) and the network (`chat.neural`: what it learned from
conversations). Each keeps its own thread, so both hear the same lines and answer in
their own way. The result is the transcript, with why each reply came out as it did: the
keyword, rule and reassembly for ELIZA; for the network, how probable its reply was with
the conversation and without it.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from reverie.chat import eliza as eliza_mod
from reverie.chat.turns import Turn
from reverie.core.config import Config, ConfigError, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.io.files import save_json, save_text
from reverie.text.cache import LAMBDA, Cache, lambda_knob, theta_knob

BOTS = ("eliza", "neural", "both")
MAX_LINE = 2000   # characters of one line a bot reads; the rest is dropped, and said so


@dataclass
class ChatConfig(Config):
    bot: str = knob("eliza", "who answers: eliza (Weizenbaum's 1966 DOCTOR script), neural (a "
                    "model from `chat train`) or both, side by side", choices=BOTS)
    persona: str = knob("", "the speaker the network answers as (ROMEO answers as Romeo); "
                        "empty: the model's most frequent speaker")
    user: str = knob("", "the speaker name the network hears your lines under; empty: the "
                     "model's second most frequent speaker")
    temperature: float = knob(0.7, "softmax temperature of the network's reply: lower is safer "
                              "and duller; 0 is argmax", min=0)
    top_k: Optional[int] = knob(None, "draw only among the k likeliest characters (none: all)",
                                min=1)
    length: int = knob(300, "the longest reply in characters; a reply ends sooner, at the end "
                       "of its turn", min=1, unit="chars")
    context: int = knob(2000, "characters of the conversation so far the network reads before "
                        "it answers", min=0, unit="chars")
    cache_lambda: float = lambda_knob(LAMBDA)
    cache_theta: float = theta_knob()
    seed: int = seed_knob()

    ADDED = {"cache_lambda": 0.0}   # a conversation recorded before the cache ran without it

    @property
    def cache(self) -> Cache:
        return Cache(self.cache_theta, self.cache_lambda)


@dataclass
class ChatResult(Result):
    turns: list[dict]          # {"you": line, "eliza": {...}, "neural": {...}} per line

    suffixes = (".txt", ".json")

    def write(self, path: Path) -> dict[str, Path]:
        if path.suffix.lower() == ".json":
            return {"transcript": save_json({"turns": self.turns}, path)}
        return {"transcript": save_text(self.as_text(), path)}

    def as_text(self, explain: bool = False, echo: bool = True) -> str:
        """The transcript: each line said (`> ...`, unless not `echo`), then the replies."""
        lines = []
        for t in self.turns:
            if echo:
                lines.append(f"> {t['you']}")
            for bot in ("eliza", "neural"):
                if bot in t:
                    r = t[bot]
                    lines.append(f"{r['speaker']}: {r['text']}")
                    if explain:
                        lines += [f"    {w}" for w in r["why"].splitlines()]
            if echo:
                lines.append("")
        return "\n".join(lines) + ("" if echo else "\n")

    def summary(self) -> str:
        last = self.turns[-1] if self.turns else {}
        return " | ".join(f"{last[b]['speaker']}: {last[b]['text'][:80]}"
                          for b in ("eliza", "neural") if b in last)


def chat(say: str | Sequence[str], config: Optional[ChatConfig] = None, *, model=None,
         script=None, progress: Progress = silent, **overrides) -> ChatResult:
    """Say each line of `say` in turn; the bots of `config.bot` answer each. `model`: a
    responder from `chat train` (needed for neural); `script`: an ELIZA script file
    (default: the DOCTOR script)."""
    cfg = make_config(ChatConfig, config, **overrides)
    if isinstance(say, bytes):
        say = _text(say)
    lines = (say.splitlines() or [say]) if isinstance(say, str) else list(say)
    if not lines:
        raise ReverieError("say something: give at least one line")
    inputs: dict[str, Any] = {"say": {"value": [_text(x) for x in lines]},
                              "model": record_input(model), "script": record_input(script)}
    session = Session(cfg, model=model, script=script)
    start = time.perf_counter()
    turns = []
    for i, line in enumerate(lines):
        turns.append(session.say(line))
        progress(i + 1, len(lines), "answering")
    notes = list(session.notes)
    figures = {**session.figures(), "why": [_why_row(t) for t in turns]}
    return ChatResult(turns, mechanism="chat", config=cfg, inputs=inputs, notes=notes,
                      figures=figures, timings={"reply": time.perf_counter() - start})


def _why_row(turn: dict) -> dict:
    """One line of the table that explains the conversation (the studio shows it)."""
    row = {"you": turn["you"][:200]}
    if "eliza" in turn:
        e = turn["eliza"]
        row.update({"ELIZA": e["text"], "keyword": e["keyword"] or e["source"],
                    "rule": e["decomposition"] or ""})
    if "neural" in turn:
        n = turn["neural"]
        row.update({"network": f"{n['speaker']}: {n['text']}",
                    "bits/char": round(n["bits_per_char"], 3),
                    "saved by context": round(n["context_gain_bits"], 3)})
    return row


class Session:
    """A conversation in progress (the CLI's interactive loop holds one): each bot's thread,
    ELIZA's memory, and the figures so far."""

    def __init__(self, config: ChatConfig, *, model=None, script=None):
        self.cfg, self.model, self.script = config, model, script
        self.notes: list[str] = []
        self.eliza = self.responder = None
        self.history: list[Turn] = []     # the network's thread: your lines, its replies
        self.eliza_seconds: list[float] = []
        self.gains: list[float] = []
        self.set_bot(config.bot)

    def set_bot(self, bot: str) -> None:
        """Who answers from now on (`/bot` in the terminal); a bot keeps its thread."""
        if bot not in BOTS:
            raise ConfigError("bot", f"must be one of {', '.join(BOTS)}, got {bot!r}")
        if bot in ("eliza", "both") and self.eliza is None:
            self.eliza = eliza_mod.Eliza(eliza_mod.load_script(self.script or eliza_mod.DOCTOR))
        if bot in ("neural", "both") and self.responder is None:
            if self.model is None:
                raise ConfigError("bot", f"{bot} needs a model from `reverie chat train`; give "
                                         f"the model, or use the eliza bot")
            from reverie.chat.neural import load_responder
            self.responder = load_responder(self.model)
            if not self.responder.dialogue:
                self.notes.append("the model was not trained on dialogue turns (`chat train`); "
                                  "its replies may not end where a turn should")
            self.persona = self.responder.speaker(self.cfg.persona, 0)
            self.user = self.responder.speaker(self.cfg.user, 1)
            if self.user == self.persona:  # someone else speaks to the persona
                others = [n for n, _ in self.responder.speakers if n != self.persona]
                self.user = others[0] if others else "YOU"
        self.bot = bot

    def say(self, line) -> dict:
        line = _text(line)
        if len(line) > MAX_LINE:
            self.notes.append(f"a line of {len(line):,} characters was cut to its first "
                              f"{MAX_LINE:,}")
            line = line[:MAX_LINE]
        turn: dict[str, Any] = {"you": line}
        if self.bot in ("eliza", "both"):
            t = time.perf_counter()
            reply = self.eliza.respond(line)
            self.eliza_seconds.append(time.perf_counter() - t)
            turn["eliza"] = {"speaker": "ELIZA", "text": reply.text, "why": reply.explain(),
                             "keyword": reply.keyword, "decomposition": reply.decomposition,
                             "reassembly": reply.reassembly, "source": reply.source}
        if self.bot in ("neural", "both"):
            from reverie.chat.neural import reply_bits, respond
            self.history.append(Turn(self.user, line))
            c = self.cfg
            text, ended = respond(self.responder, self.history, self.persona,
                                  temperature=c.temperature, top_k=c.top_k, length=c.length,
                                  context=c.context, seed=c.seed + len(self.history),
                                  cache=c.cache)
            bits = reply_bits(self.responder, self.history, self.persona, text, c.context,
                              c.cache)
            self.history.append(Turn(self.persona, text))
            self.gains.append(bits["context_gain_bits"])
            gain = bits["context_gain_bits"]
            why = (f"{bits['bits_per_char']:.2f} bits/char after the conversation, "
                   f"{bits['bits_per_char_without_context']:.2f} after \"{self.persona}:\" "
                   f"alone: the conversation made each character of this reply "
                   f"{2 ** abs(gain):.2f}x {'more' if gain >= 0 else 'less'} likely")
            if not ended:
                why += f"; cut at {c.length} characters before its turn ended"
            turn["neural"] = {"speaker": self.persona, "text": text, "why": why,
                              "ended": ended, **bits}
        return turn

    def figures(self) -> dict:
        out: dict[str, Any] = {}
        if self.eliza_seconds:
            out["eliza_reply_ms"] = 1000 * sum(self.eliza_seconds) / len(self.eliza_seconds)
        if self.gains:
            out["mean_context_gain_bits"] = sum(self.gains) / len(self.gains)
            out["persona"], out["user"] = self.persona, self.user
        return out


def _text(line) -> str:
    """A line as text: bytes that are not UTF-8 are decoded with replacement characters."""
    if isinstance(line, bytes):
        return line.decode("utf-8", errors="replace")
    if isinstance(line, (str, os.PathLike)) or line is None:
        return "" if line is None else str(line)
    raise ReverieError(f"cannot say a {type(line).__name__}; give text")
