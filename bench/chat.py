"""Benchmark: the neural responder on Shakespeare's turns, and ELIZA's reply time.

In one run on this machine:
- the responder (`chat train`) trained for `--minutes` (default 15) on the first nine
  tenths of tiny-shakespeare's speaker turns; the last tenth of the plays is held out;
- the char LM of `reverie text` (`text train`, same budget, same settings) on the same
  nine tenths of the plain text;
- on the held-out turns (each reply given the turns before it, up to `--context`
  characters): bits per character of every reply with its end-of-turn marker, for the
  responder with the conversation, the responder after the speaker's name alone (the gain
  from conditioning), and the text LM with the same conversation, each with the continuous
  cache as `reverie chat` answers (ChatConfig's defaults); the responder without it beside;
- ELIZA's time per reply over the CACM conversation.

Trained models are kept in bench/out/ and reused (delete them to train again). The load
average is recorded: other work on the cores slows training.

    python bench/chat.py [--minutes 15] [--replies 600] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reverie.chat.conversation import ChatConfig  # noqa: E402
from reverie.chat.neural import load_responder, reply_bits, respond  # noqa: E402
from reverie.chat.turns import format_turns, read_dialogue  # noqa: E402
from reverie.text.train import train_charlm  # noqa: E402

OUT = ROOT / "bench" / "out"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=15.0, help="training budget of each model")
    p.add_argument("--replies", type=int, default=600, help="held-out replies scored")
    p.add_argument("--context", type=int, default=2000, help="characters of conversation read")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)

    turns = read_dialogue("builtin:shakespeare")[0]
    cut = int(len(turns) * 0.9)
    train_turns, held = turns[:cut], turns[cut:]
    train_text = format_turns(train_turns)
    budget = dict(minutes=args.minutes, threads=args.threads, eval_every=500)

    chat_path = OUT / f"chat-{args.minutes:g}min.pt"
    text_path = OUT / f"textlm-{args.minutes:g}min.pt"
    timings = {}
    if not chat_path.exists():
        from reverie.chat.neural import train_chat
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "turns.txt"
            corpus.write_text(train_text, encoding="utf-8")
            t = time.perf_counter()
            train_chat([corpus], out=chat_path, **budget)
            timings["train_chat_s"] = time.perf_counter() - t
    if not text_path.exists():
        # the same plays as `text train` reads them: the plain text, cut where the turns are
        from reverie.io.datasets import read_text
        raw = read_text("shakespeare")
        marker = f"{held[0].speaker}:\n{held[0].text.splitlines()[0]}"
        at = raw.rfind(marker)
        t = time.perf_counter()
        train_charlm(text=raw[:at if at > 0 else int(len(raw) * 0.9)], out=text_path, **budget)
        timings["train_text_s"] = time.perf_counter() - t

    chat_model, text_model = load_responder(chat_path), load_responder(text_path)
    cache = ChatConfig().cache              # as `reverie chat` answers
    tot = {"with": 0.0, "without": 0.0, "plain with": 0.0, "plain without": 0.0, "text": 0.0}
    chars = 0
    scored = 0
    start = time.perf_counter()
    for i in range(1, min(len(held), args.replies + 1)):
        history, reply = held[max(0, i - 30):i], held[i]
        a = reply_bits(chat_model, history, reply.speaker, reply.text, args.context, cache)
        b = reply_bits(text_model, history, reply.speaker, reply.text, args.context, cache)
        n = len(reply.text) + 2
        tot["with"] += a["bits_per_char"] * n
        tot["without"] += a["bits_per_char_without_context"] * n
        tot["plain with"] += a["bits_per_char_without_cache"] * n
        tot["plain without"] += a["bits_per_char_without_context_or_cache"] * n
        tot["text"] += b["bits_per_char"] * n
        chars += n
        scored += 1
    score_s = time.perf_counter() - start
    bpc = {k: v / chars for k, v in tot.items()}

    example_history = held[:6]
    example, ended = respond(chat_model, example_history, held[6].speaker, seed=1,
                             cache=cache)

    from reverie.chat.eliza import DOCTOR, Eliza, load_script
    lines = ["Men are all alike.", "They're always bugging us about something or other.",
             "Well, my boyfriend made me come here.", "He says I'm depressed much of the time.",
             "It's true. I am unhappy.", "I need some help, that much seems certain."]
    script = load_script(DOCTOR)
    t = time.perf_counter()
    n_replies = 0
    for _ in range(200):
        bot = Eliza(script)
        for line in lines:
            bot.respond(line)
            n_replies += 1
    eliza_ms = (time.perf_counter() - t) / n_replies * 1000

    figures = {"turns_train": len(train_turns), "turns_held_out": len(held),
               "replies_scored": scored, "chars_scored": chars,
               "bpc_responder_with_context": bpc["with"],
               "bpc_responder_without_context": bpc["without"],
               "context_gain_bits_per_char": bpc["without"] - bpc["with"],
               "bpc_without_cache_with_context": bpc["plain with"],
               "bpc_without_cache_without_context": bpc["plain without"],
               "bpc_text_lm_with_context": bpc["text"],
               "minutes": args.minutes, "score_s": score_s, **timings,
               "example_context": format_turns(example_history)[-400:],
               "example_reply": f"{held[6].speaker}: {example}", "example_ended": ended,
               "eliza_ms_per_reply": eliza_ms, "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"held-out replies: {scored} ({chars:,} characters) from the last tenth of the plays "
          f"({len(held)} turns); models trained {args.minutes:g} min each")
    print(f"  responder, with the conversation      {bpc['with']:.3f} bits/char")
    print(f"  responder, after the name alone       {bpc['without']:.3f} bits/char "
          f"(gain from conditioning {bpc['without'] - bpc['with']:+.3f})")
    print(f"  responder without its cache           {bpc['plain with']:.3f} with the "
          f"conversation, {bpc['plain without']:.3f} after the name alone")
    print(f"  text LM (`text train`), conversation  {bpc['text']:.3f} bits/char")
    print(f"example: ...{format_turns(example_history)[-200:]!r}\n  -> {held[6].speaker}: {example}")
    print(f"ELIZA: {eliza_ms:.3f} ms per reply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
