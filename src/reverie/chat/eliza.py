"""ELIZA: Weizenbaum's 1966 program that answers by keyword and rule, and its DOCTOR script.

Joseph Weizenbaum, "ELIZA - A Computer Program For the Study of Natural Language
Communication Between Man and Machine", Communications of the ACM 9(1):36-45, 1966.

Nothing is learned and nothing is random. A script (data, in the S-expression form of
the paper's appendix; `scripts/doctor.txt` is that appendix) names keywords, each with a
rank and a list of decomposition rules, each of those with reassembly rules. ELIZA reads
a sentence, keeps the first clause that holds a keyword, swaps the pronouns as it reads
(I -> YOU, MY -> YOUR ...), and tries the rules of its highest-ranked keyword: the first
decomposition pattern that matches cuts the sentence into parts, and the next reassembly
of that pattern (they are used in turn) puts some of the parts into a reply. A rule can
hand over to another keyword (=KEY), to the next keyword of the sentence (NEWKEY), or
rewrite the sentence and then hand over (PRE). Sentences with MY are also turned into
remarks kept for later (MEMORY), which come back when a sentence has no keyword; NONE
answers the rest.

The module reads top to bottom (the script reader, S-expressions and rules, is
`eliza_script`): the pattern matcher and reassembly, the HASH that picks a
MEMORY rule, and `Eliza.respond`, the 1966 loop, which returns a `Reply` that says why.

Where the paper is vague, this follows the original program, as recovered from
Weizenbaum's MAD-SLIP source (found in the MIT archives in 2021):
- the comma, the period and the word BUT end a clause;
- the MEMORY rule is picked by the SLIP HASH of the sentence's last word, not at random,
  and a memory is recalled only when a counter that runs 1, 2, 3, 4 per input is at 4;
- a keyword whose decomposition rules all fail (and has no =KEY) gets one of four
  built-in remarks (PLEASE CONTINUE, HMMM, GO ON , PLEASE, I SEE), picked by that counter;
- a decomposition is matched the way SLIP's YMATCH does: each 0 takes as few words as it
  can, except a trailing one, which takes the rest.

Sources read (this is a reimplementation, not a port): the CACM paper and its appendix;
Anthony Hay's C++ recreation, github.com/anthay/ELIZA (eliza.cpp, its notes on HASH,
LIMIT and YMATCH, and its transcription of the appendix, CC0), which reproduces the
paper's conversation exactly; Jeff Shrager's elizagen.org, github.com/jeffshrager/
elizagen.org (the MAD-SLIP transcription and its annotated translation, CC0).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Optional, Union

from reverie.chat.eliza_script import (DOCTOR, MEMORY_RULES, Keyword, Script,  # noqa: F401
                                       Transformation, Choice, load_script)

MAX_INPUT = 10_000       # characters of one line ELIZA reads; the rest is dropped, and said so
MAX_STEPS = 100          # rules tried for one reply before a script that loops is given up on
DELIMITERS = frozenset({",", ".", "BUT"})   # BUT too: the MAD-SLIP code says so
# The original's own remarks for a keyword none of whose rules match (NOMATCH(LIMIT)).
NOMATCH = ("PLEASE CONTINUE", "HMMM", "GO ON , PLEASE", "I SEE")


# -- the pattern matcher and reassembly ----------------------------------------------------

def _width(el) -> int:
    return el if isinstance(el, int) else 1


def _fits(el, word: str, tags: dict) -> bool:
    if isinstance(el, str):
        return el == word
    if isinstance(el, Choice):
        return word in el.words
    return any(word in tags.get(t, ()) for t in el.tags)


def match(pattern: tuple, words: list, tags: dict) -> Optional[list]:
    """The parts of `words` for each element of `pattern`, or None if it does not match.

    As SLIP's YMATCH: the pattern splits into segments, each an optional 0 and the fixed
    elements after it (words, N-word gaps, (*...) and (/...)). A segment's 0 takes as few
    words as make its fixed elements match, except in the last segment, which must reach
    the end of the sentence. No backtracking: a later segment can always absorb what an
    earlier one left, so this finds the match a backtracking matcher would, in linear time.
    """
    parts: list = [None] * len(pattern)
    n, w, p = len(words), 0, 0
    while p < len(pattern):
        wild = pattern[p] == 0
        q = p + 1 if wild else p
        fixed = 0
        while q < len(pattern) and pattern[q] != 0:
            fixed += _width(pattern[q])
            q += 1
        room = n - w - fixed
        if room < 0:
            return None
        if wild:
            lengths = (room,) if q == len(pattern) else range(room + 1)
        else:
            lengths = (0,)
        for length in lengths:
            pos, ok, got = w + length, True, []
            for el in pattern[p + wild:q]:
                k = _width(el)
                if isinstance(el, int):
                    got.append(words[pos:pos + k])
                elif _fits(el, words[pos], tags):
                    got.append([words[pos]])
                else:
                    ok = False
                    break
                pos += k
            if ok:
                if wild:
                    parts[p] = words[w:w + length]
                parts[p + wild:q] = got
                w = pos
                break
        else:
            return None
        p = q
    return parts if w == n else None


def reassemble(terms: tuple, parts: list) -> list:
    """Words and parts into a reply: ASSMBL. Part numbers were checked when read."""
    out: list = []
    for t in terms:
        if isinstance(t, int):
            out.extend(parts[t - 1])
        else:
            out.append(t)
    return out


# -- MEMORY's HASH --------------------------------------------------------------------------

# The IBM 7094's 6-bit character code (BCD, "Hollerith"): a character's code is its
# place in this string; NUL marks the unused codes.
_BCD = ("0123456789\0='\0\0\0+ABCDEFGHI\0.)\0\0\0"
        "-JKLMNOPQR\0$*\0\0\0 /STUVWXYZ\0,(\0\0\0")
_BCD_CODE = {ord(c): i for i, c in enumerate(_BCD) if c != "\0"}


def bcd_word(word: str) -> int:
    """The 36-bit machine word SLIP kept a word's last six characters in: a word over six
    characters spans several cells, and HASH saw the last one, space-padded. Characters the
    7094 lacked are their UTF-8 bytes' low six bits: any fixed choice does."""
    data = word.encode("utf-8")
    chunk = data[((len(data) - 1) // 6) * 6:] if data else b""
    value = 0
    for b in chunk.ljust(6, b" "):
        value = (value << 6) | _BCD_CODE.get(b, b & 0x3F)
    return value


def slip_hash(d: int, n: int) -> int:
    """SLIP's HASH.(D, N): the middle N bits of D squared (D's low 35 bits: the 7094's sign
    bit is not squared). Weizenbaum's paper says MEMORY picks a rule at random; the
    program picks HASH.(last word, 2)."""
    d &= (1 << 35) - 1
    return ((d * d) >> (35 - n // 2)) & ((1 << n) - 1)


# -- the conversation -----------------------------------------------------------------------

# Typed punctuation in the 1966 character set's terms: ? and ! end a sentence as a period
# does, a colon, semicolon or dash ends a clause as a comma does, quotation marks are
# dropped, a typographic apostrophe is an apostrophe (so I’M is I'M).
_PUNCTUATION = str.maketrans({
    "\u2019": "'", "?": ".", "!": ".", ":": ",", ";": ",", "\u2013": ",", "\u2014": ",",
    **{c: " " for c in "\"`\u2018\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb"
                       "\u2039\u203a\u00a1\u00bf"}})
_WORD = re.compile(r"[^\s,.]+|[,.]")


def read_words(text: str) -> list:
    """A line as ELIZA sees it: upper-case words, with each comma and period a word."""
    return _WORD.findall(text.translate(_PUNCTUATION).upper())


@dataclass(frozen=True)
class Reply:
    """ELIZA's answer and why: which keyword fired, which rule matched, what it chose."""
    text: str
    source: str                           # "keyword", "memory", "none" or "nomatch"
    keyword: Optional[str] = None         # the sentence's keyword that led to the reply
    rank: Optional[int] = None
    rule: Optional[str] = None            # whose decomposition matched (ALIKE -> DIT)
    decomposition: Optional[str] = None   # as written: (0 ALIKE 0)
    reassembly: Optional[str] = None      # as written: (IN WHAT WAY)
    choice: Optional[tuple] = None        # (which reassembly, of how many), 1-based
    keystack: tuple = ()                  # (keyword, rank) in the order tried
    clause: str = ""                      # the words the rules saw, after substitution
    dropped: str = ""                     # clauses before the first keyword, dropped
    substitutions: tuple = ()             # (word, replacement) pairs, in order
    memory_stored: Optional[str] = None
    memory_left: int = 0                  # memories waiting after this reply
    steps: tuple = ()                     # the way from keyword to reply, one step each
    notes: tuple = ()                     # what was done to the input (cut, bad bytes)

    def explain(self) -> str:
        lines = []
        if self.source == "memory":
            lines.append(f"no keyword, and the 1-2-3-4 counter is at 4: recalled the oldest "
                         f"memory, made by MEMORY rule {self.decomposition} = "
                         f"{self.reassembly} ({self.memory_left} left)")
        elif self.keystack:
            stack = ", ".join(f"{k} ({r})" for k, r in self.keystack)
            who = (f"keyword {self.keyword} (rank {self.rank})" if self.keyword
                   else "no keyword's rules gave a reply")
            lines.append(f"{who}; keystack: {stack}")
        else:
            lines.append("no keyword")
        lines.extend(self.steps)
        if self.substitutions:
            lines.append("substituted: " + ", ".join(f"{a} -> {b}"
                                                     for a, b in self.substitutions))
        if self.dropped:
            lines.append(f"dropped: {self.dropped} (no keyword before the delimiter)")
        lines.extend(self.notes)
        return "\n".join(lines)


@dataclass
class _Memory:
    text: str
    rule: Transformation


@dataclass
class _Context:
    """What one reply has found so far, for the Reply."""
    steps: list = field(default_factory=list)
    memory_stored: Optional[str] = None


class Eliza:
    """A conversation with a script: the reassembly counters, the MEMORY queue and the
    1..4 counter are its state; `reset` forgets them."""

    def __init__(self, script: Union[Script, str, os.PathLike] = DOCTOR):
        self.script = load_script(script)
        self.reset()

    @property
    def greeting(self) -> str:
        return self.script.greeting

    @property
    def memories(self) -> tuple:
        return tuple(m.text for m in self._memories)

    def reset(self):
        self._next: dict = {}              # (keyword, rule number) -> next reassembly
        self._memories: list[_Memory] = []
        self._limit = 1                    # LIMIT in the MAD-SLIP code

    def respond(self, line: Union[str, bytes]) -> Reply:
        notes = []
        if isinstance(line, (bytes, bytearray)):
            text = bytes(line).decode("utf-8", errors="replace")
            if "\ufffd" in text and "\ufffd".encode() not in line:
                notes.append("bytes that are not UTF-8 were read as \ufffd")
        else:
            text = str(line)
        if len(text) > MAX_INPUT:
            notes.append(f"read the first {MAX_INPUT:,} of {len(text):,} characters")
            text = text[:MAX_INPUT]
        self._limit = self._limit % 4 + 1
        script = self.script

        # Scan for keywords, substituting as we go (page 38). A delimiter ends the clause
        # if a keyword has been seen, and otherwise throws the clause away (page 37).
        words: list = []
        dropped: list = []
        subs: list = []
        stack: list = []                   # (keyword, the input keyword it came from)
        top = 0
        for word in read_words(text):
            if word in DELIMITERS:
                if stack:
                    break
                dropped += words + [word]
                words, subs = [], []
                continue
            kw = script.keywords.get(word)
            if kw is not None:
                if kw.has_rules:
                    # Above the highest rank so far: on top; otherwise at the bottom, so
                    # the keystack is not sorted, just as the paper describes (page 39).
                    if kw.rank > top:
                        stack.insert(0, (word, word))
                        top = kw.rank
                    else:
                        stack.append((word, word))
                if kw.substitute:
                    subs.append((word, kw.substitute))
                    word = kw.substitute
            words.append(word)
        keystack = tuple((k, script.keywords[k].rank) for k, _ in stack)
        base = dict(keystack=keystack, clause=" ".join(words), dropped=" ".join(dropped),
                    substitutions=tuple(subs), notes=tuple(notes))

        if not stack and self._limit == 4 and self._memories:
            m = self._memories.pop(0)
            return Reply(m.text, "memory", rule="MEMORY", decomposition=m.rule.text,
                         reassembly=m.rule.reassemblies[0].text,
                         memory_left=len(self._memories), **base)

        ctx = _Context()
        steps = 0
        while stack:
            key, origin = stack.pop(0)
            steps += 1
            if steps > MAX_STEPS:
                ctx.steps.append(f"gave up after {MAX_STEPS} rules: the script's references "
                                 f"go round in a loop")
                return self._nomatch(origin, ctx, base)
            kw = script.keywords[key]
            if script.memory is not None and key == script.memory.keyword:
                self._remember(words, ctx)
            found = self._transform(kw, words)
            if found is None:
                if kw.link is not None:
                    why = "no decomposition matches; " if kw.transformations else ""
                    ctx.steps.append(f"{key}: {why}(={kw.link.keyword})")
                    stack.insert(0, (kw.link.keyword, origin))
                    continue
                ctx.steps.append(f"{key}: no decomposition matches, and no (=KEYWORD)")
                return self._nomatch(origin, ctx, base)
            t, number, r, parts = found
            step = (f"{key}: decomposition {t.text} matched; reassembly {number} of "
                    f"{len(t.reassemblies)}: {r.text}")
            ctx.steps.append(step)
            if r.kind == "text":
                reply = " ".join(reassemble(r.terms, parts))
                return Reply(reply, "keyword", keyword=origin,
                             rank=script.keywords[origin].rank, rule=key,
                             decomposition=t.text, reassembly=r.text,
                             choice=(number, len(t.reassemblies)), steps=tuple(ctx.steps),
                             memory_stored=ctx.memory_stored,
                             memory_left=len(self._memories), **base)
            if r.kind == "newkey":
                continue                   # the next keyword on the stack, if any
            if r.kind == "pre":
                words = reassemble(r.terms, parts)
                ctx.steps.append(f"   the sentence is now: {' '.join(words)}")
            stack.insert(0, (r.link.keyword, origin))

        # No keyword, or NEWKEY emptied the keystack: the NONE rule (page 41).
        found = self._transform(script.none, words)
        if found is None:
            ctx.steps.append("NONE: no decomposition matches")
            return self._nomatch(None, ctx, base)
        t, number, r, parts = found
        ctx.steps.append(f"NONE: decomposition {t.text} matched; reassembly {number} of "
                         f"{len(t.reassemblies)}: {r.text}")
        return Reply(" ".join(reassemble(r.terms, parts)), "none", rule="NONE",
                     decomposition=t.text, reassembly=r.text,
                     choice=(number, len(t.reassemblies)), steps=tuple(ctx.steps),
                     memory_stored=ctx.memory_stored, memory_left=len(self._memories), **base)

    def _transform(self, kw: Keyword, words: list):
        """The first decomposition of `kw` that matches, and its next reassembly, which
        it then advances: reassemblies are used in turn and wrap round (page 39)."""
        for i, t in enumerate(kw.transformations):
            parts = match(t.pattern, words, self.script.tags)
            if parts is not None:
                k = self._next.get((kw.word, i), 0)
                self._next[(kw.word, i)] = (k + 1) % len(t.reassemblies)
                return t, k + 1, t.reassemblies[k], parts
        return None

    def _remember(self, words: list, ctx: _Context):
        memory = self.script.memory
        if not words:
            return
        i = slip_hash(bcd_word(words[-1]), 2)
        t = memory.transformations[i]
        parts = match(t.pattern, words, self.script.tags)
        if parts is None:
            ctx.steps.append(f"MEMORY rule {i + 1} {t.text} (HASH of {words[-1]}) does not "
                             f"match: nothing remembered")
            return
        text = " ".join(reassemble(t.reassemblies[0].terms, parts))
        self._memories.append(_Memory(text, t))
        ctx.memory_stored = text
        ctx.steps.append(f"MEMORY rule {i + 1} of {MEMORY_RULES} (the HASH of {words[-1]}): "
                         f"{t.text} = {t.reassemblies[0].text}; remembered for later: {text}")

    def _nomatch(self, origin: Optional[str], ctx: _Context, base: dict) -> Reply:
        # The original's built-in remark for a script that has no answer, by LIMIT.
        text = NOMATCH[self._limit - 1]
        ctx.steps.append(f"built-in remark {self._limit} of 4: {text}")
        rank = self.script.keywords[origin].rank if origin else None
        return Reply(text, "nomatch", keyword=origin, rank=rank, steps=tuple(ctx.steps),
                     memory_stored=ctx.memory_stored, memory_left=len(self._memories), **base)
