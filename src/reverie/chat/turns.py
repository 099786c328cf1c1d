"""Dialogue as turns: who said what, read from Shakespeare's plays, chatterbot-corpus
conversations or a plain transcript, and written in the one layout the neural responder
learns, tiny-shakespeare's own:

    ROMEO:
    But soft, what light through yonder window breaks?

    JULIET:
    ...

A speaker's name and a colon on a line, the speech, then a blank line: the blank line is
the end-of-turn marker, so a reply ends where the model writes one.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from reverie.core.errors import ReverieError

END = "\n\n"               # ends every turn
MAX_NAME = 40
TRANSCRIPT_SUFFIXES = (".txt", ".md", ".log")
CHATTERBOT_SUFFIXES = (".yml", ".yaml")
# chatterbot-corpus conversations have no names: the first line is the human's
CHATTERBOT_SPEAKERS = ("HUMAN", "BOT")

_PLAY_HEADER = re.compile(r"^([^\s:][^:\n]{0,%d}):\s*$" % (MAX_NAME - 1))
_TRANSCRIPT_LINE = re.compile(r"^\s*([^\s:][^:\n]{0,%d}?):[ \t]+(\S.*)$" % (MAX_NAME - 1))


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str


def clean(text: str) -> str:
    """One turn's speech as the layout needs it: no blank lines inside (a blank line would
    end the turn), no trailing space."""
    lines = [ln.rstrip() for ln in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(ln for ln in lines if ln.strip())


def header(speaker: str) -> str:
    """What comes before a speaker's words: the prompt the responder continues."""
    return f"{speaker}:\n"


def format_turns(turns: Iterable[Turn]) -> str:
    out = []
    for t in turns:
        text = clean(t.text)
        if text:
            out.append(header(t.speaker) + text + END)
    return "".join(out)


# -- reading ---------------------------------------------------------------------------------

def parse_play(text: str) -> list[Turn]:
    """tiny-shakespeare's layout: `NAME:` alone on a line, the speech, a blank line. Inside
    a speech a line ending in a colon is verse ("Whither 'tis bent: most likely 'tis for
    you:"), unless it is a name in capitals (a play without blank lines between speeches)."""
    turns, speaker, lines = [], None, []

    def close():
        if speaker is not None and clean("\n".join(lines)):
            turns.append(Turn(speaker, clean("\n".join(lines))))
    for line in text.replace("\r\n", "\n").split("\n"):
        m = _PLAY_HEADER.match(line)
        if m and speaker is not None and m.group(1) != m.group(1).upper():
            m = None  # verse ending in a colon, within a speech
        if m:
            close()
            speaker, lines = m.group(1).strip(), []
        elif line.strip():
            lines.append(line)
        else:  # a blank line ends the speech
            close()
            speaker, lines = None, []
    close()
    return turns


def parse_transcript(text: str) -> list[Turn]:
    """One turn per `NAME: what they said` line; a line without a name continues the turn
    before it."""
    turns: list[Turn] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        m = _TRANSCRIPT_LINE.match(line)
        if m:
            turns.append(Turn(m.group(1).strip(), clean(m.group(2))))
        elif line.strip() and turns:
            last = turns[-1]
            turns[-1] = Turn(last.speaker, clean(last.text + "\n" + line))
    return [t for t in turns if t.text]


def parse_chatterbot(text: str, where: str = "the file") -> list[list[Turn]]:
    """chatterbot-corpus YAML: `conversations:` a list of lists of lines, speakers
    alternating (HUMAN first, then BOT)."""
    import yaml
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReverieError(f"{where} is not valid YAML ({str(exc).splitlines()[0]}); give a "
                           f"chatterbot-corpus file or a `NAME: line` transcript") from None
    convs = data.get("conversations") if isinstance(data, dict) else None
    if not isinstance(convs, list):
        raise ReverieError(f"{where} has no `conversations:` list; give a chatterbot-corpus "
                           f"file or a `NAME: line` transcript")
    out = []
    for conv in convs:
        if isinstance(conv, list):
            turns = [Turn(CHATTERBOT_SPEAKERS[i % 2], clean(str(line)))
                     for i, line in enumerate(conv) if line is not None]
            if len(turns) >= 2:
                out.append(turns)
    return out


def parse_text(text: str, where: str = "the text") -> list[Turn]:
    """A play or a transcript, told apart by which layout has more turns in it."""
    play, transcript = parse_play(text), parse_transcript(text)
    return play if len(play) >= len(transcript) else transcript


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReverieError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ReverieError(f"cannot read {path}: {exc.strerror}") from None


def read_dialogue(sources: str | os.PathLike | Sequence[str | os.PathLike]) -> list[list[Turn]]:
    """Conversations (each a list of turns) from `builtin:shakespeare`,
    `builtin:chatterbot`, transcripts (.txt), chatterbot YAML files, or folders of them."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    convs: list[list[Turn]] = []
    for source in sources:
        name = str(source)
        if name.startswith("builtin:"):
            convs += _builtin(name)
            continue
        path = Path(name)
        if not path.exists():
            raise ReverieError(f"{path} does not exist; give dialogue files (NAME: line), "
                               f"builtin:shakespeare or builtin:chatterbot")
        paths = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in TRANSCRIPT_SUFFIXES + CHATTERBOT_SUFFIXES) \
            if path.is_dir() else [path]
        if not paths:
            raise ReverieError(f"{path} holds no .txt or .yml dialogue files")
        for p in paths:
            if p.suffix.lower() in CHATTERBOT_SUFFIXES:
                found = parse_chatterbot(_read(p), str(p))
            else:
                turns = parse_text(_read(p), str(p))
                found = [turns] if turns else []
            if not found:
                raise ReverieError(f"{p} has no dialogue turns; write one turn per line as "
                                   f"`NAME: what they said`")
            convs += found
    return convs


# chatterbot-corpus 1.3.3: coding.yml answers in code blocks and tech_support.yml repeats
# the same few pairs; together most of the corpus, so a responder trained on it all answered
# "Hello, how are you?" with Python, and the repeats reached the held-out tenth
CODE_FENCE = "```"


def conversations_once(convs: list[list[Turn]]) -> list[list[Turn]]:
    """Each conversation the first time it appears, in order."""
    seen, out = set(), []
    for c in convs:
        key = tuple((t.speaker, t.text) for t in c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _builtin(name: str) -> list[list[Turn]]:
    from reverie.io import datasets
    ds = datasets.get(name)
    if ds.name == "shakespeare":
        return [parse_play(datasets.read_text("shakespeare"))]
    if ds.kind == "dialogue":
        convs = [c for p in ds.files() for c in parse_chatterbot(_read(p), str(p))]
        return conversations_once([c for c in convs if not any(CODE_FENCE in t.text for t in c)])
    raise ReverieError(f"{name} is not dialogue; give builtin:shakespeare or builtin:chatterbot")


def speakers(convs: Sequence[Sequence[Turn]]) -> list[tuple[str, int]]:
    """Every speaker and their number of turns, most turns first."""
    from collections import Counter
    counts = Counter(t.speaker for c in convs for t in c)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
