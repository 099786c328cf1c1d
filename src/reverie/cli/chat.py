"""`reverie chat`: talk to ELIZA and the neural responder in the terminal.

    reverie chat                                   ELIZA, interactive (/help for commands)
    reverie chat --bot both --model m.pt           both bots answer every line, side by side
    reverie chat --bot eliza --say "I am unhappy"  one reply, printed (--json, --explain)
    reverie chat train builtin:shakespeare --out m.pt   (generated from the registry)
    reverie chat say "Hello" --out talk.txt             (generated: a transcript + sidecar)
"""
from __future__ import annotations

import sys
from pathlib import Path

from reverie.cli.common import add_json, print_json
from reverie.cli.configargs import add_config_flags, config_from_args
from reverie.core.errors import ReverieError

HELP = """commands:
  /bot eliza|neural|both   who answers from now on
  /explain                 show (or stop showing) why each reply came out as it did
  /save FILE               write the conversation so far to FILE (.txt or .json)
  /quit                    leave (or Ctrl-D)"""


def register(sub) -> None:
    from reverie.chat.conversation import ChatConfig

    p = sub.add_parser("chat", help="talk to ELIZA (1966) and a neural responder",
                       description="Talk to Weizenbaum's ELIZA and a character-level network "
                       "trained on conversations, side by side. Without --say it is an "
                       "interactive conversation (/help inside it).")
    p.add_argument("--model", default=None, help="a responder from `reverie chat train` (.pt)")
    p.add_argument("--script", default=None, help="an ELIZA script in the 1966 S-expression "
                   "form (default: the DOCTOR script)")
    p.add_argument("--say", action="append", default=None, metavar="LINE",
                   help="say LINE, print the reply and leave (repeat for a conversation)")
    p.add_argument("--both", action="store_true", help="the same as --bot both")
    p.add_argument("--explain", action="store_true",
                   help="show why each reply came out as it did")
    add_config_flags(p, ChatConfig)
    add_json(p)
    p.set_defaults(func=run)
    group_sub = p.add_subparsers(dest="chat_command", metavar="COMMAND")
    from reverie.cli import common
    common.GROUPS[("chat",)] = group_sub


def run(args) -> int:
    from reverie.chat.conversation import ChatConfig, ChatResult, Session, chat

    config = config_from_args(ChatConfig, args)
    if args.both:
        config = config.replace(bot="both")
    if args.say:
        result = chat(args.say, config, model=args.model, script=args.script)
        if args.json:
            print_json({"turns": result.turns, "figures": result.figures, "notes": result.notes})
        else:
            # one line said: just the reply; several: the transcript
            sys.stdout.write(result.as_text(explain=args.explain, echo=len(args.say) > 1))
            for note in result.notes:
                print(f"note: {note}", file=sys.stderr)
        return 0
    session = Session(config, model=args.model, script=args.script)
    return interactive(session, ChatResult, explain=args.explain)


def interactive(session, result_class, explain: bool = False) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 become replacement marks
        sys.stdin.reconfigure(errors="replace")
    turns: list[dict] = []
    greeting = session.eliza.script.greeting if session.eliza is not None else ""
    print(f"talking to {session.bot}; /help for commands, Ctrl-D to leave")
    if greeting:
        print(f"ELIZA: {greeting}")
    while True:
        try:
            line = input("> ")
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            return 0
        if line.startswith("/"):
            word, _, rest = line[1:].partition(" ")
            try:
                if word in ("quit", "exit", "q"):
                    return 0
                elif word == "help":
                    print(HELP)
                elif word == "bot":
                    session.set_bot(rest.strip())
                    print(f"now talking to {session.bot}")
                elif word == "explain":
                    explain = not explain
                    print(f"explanations {'on' if explain else 'off'}")
                elif word == "save":
                    if not rest.strip():
                        raise ReverieError("give a file: /save transcript.txt")
                    result = result_class(turns, mechanism="chat", config=session.cfg)
                    path = Path(rest.strip())
                    written = result.write(result.output_path(path))
                    print(f"wrote {written['transcript']}")
                else:
                    print(f"unknown command /{word}; /help lists them")
            except ReverieError as exc:  # a bad command costs the line, not the conversation
                print(f"error: {exc}")
            continue
        try:
            turn = session.say(line)
        except ReverieError as exc:  # a line the bot cannot take costs the line only
            print(f"error: {exc}")
            continue
        turns.append(turn)
        for bot in ("eliza", "neural"):
            if bot in turn:
                print(f"{turn[bot]['speaker']}: {turn[bot]['text']}")
                if explain:
                    for why in turn[bot]["why"].splitlines():
                        print(f"    {why}")
