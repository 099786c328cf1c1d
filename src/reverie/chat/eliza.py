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

The module reads top to bottom: the script reader (S-expressions, then rules, each error
one line that says where), the pattern matcher and reassembly, the HASH that picks a
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
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from reverie.core.errors import ReverieError

DOCTOR = Path(__file__).parent / "scripts" / "doctor.txt"

MAX_INPUT = 10_000       # characters of one line ELIZA reads; the rest is dropped, and said so
MAX_STEPS = 100          # rules tried for one reply before a script that loops is given up on
MAX_SCRIPT = 5_000_000   # bytes: a script is a few kilobytes; anything this big is a mistake
DELIMITERS = frozenset({",", ".", "BUT"})   # BUT too: the MAD-SLIP code says so
# The original's own remarks for a keyword none of whose rules match (NOMATCH(LIMIT)).
NOMATCH = ("PLEASE CONTINUE", "HMMM", "GO ON , PLEASE", "I SEE")
MEMORY_RULES = 4         # HASH(word, 2) picks one of four


# -- the script reader: S-expressions ----------------------------------------------------

@dataclass(frozen=True)
class _Atom:
    text: str
    line: int
    column: int


@dataclass(frozen=True)
class _List:
    items: tuple
    line: int
    column: int


def _show(node) -> str:
    """A node as the script writes it: (0 YOU (* WANT NEED) 0), (=WHAT)."""
    if isinstance(node, _Atom):
        return node.text
    items = node.items
    if items and isinstance(items[0], _Atom) and items[0].text == "=" and len(items) == 2:
        return f"(={_show(items[1])})"
    return "(" + " ".join(_show(i) for i in items) + ")"


# A token: a comment (skipped), a parenthesis, '=' (always its own atom, so (=WHAT) and
# (= WHAT) are the same), or a run of anything else.
_TOKEN = re.compile(r";[^\n]*|[()=]|[^\s();=]+")


class _Reader:
    """Turns script text into rules; every error is one line naming the place."""

    def __init__(self, text: str, name: str):
        self.name = name
        self.text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def where(self, line: int, column: int) -> str:
        return f"{self.name} line {line}, column {column}"

    def error(self, node, message: str) -> ReverieError:
        return ReverieError(f"{self.where(node.line, node.column)}: {message}")

    def position(self, offset: int) -> tuple[int, int]:
        i = bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1

    def forms(self) -> list:
        """The top-level S-expressions, or an error at the parenthesis that does not pair."""
        stack: list[tuple[int, int, list]] = []
        top: list = []
        for m in _TOKEN.finditer(self.text):
            tok = m.group()
            if tok.startswith(";"):
                continue
            line, column = self.position(m.start())
            if tok == "(":
                stack.append((line, column, []))
            elif tok == ")":
                if not stack:
                    raise ReverieError(f"{self.where(line, column)}: unbalanced parenthesis: "
                                       f"this ')' closes nothing (a '(' is missing before it, "
                                       f"or it is one too many)")
                l, c, items = stack.pop()
                (stack[-1][2] if stack else top).append(_List(tuple(items), l, c))
            else:
                # Scripts are upper case, like the 1966 teletype; write yours in either.
                (stack[-1][2] if stack else top).append(_Atom(tok.upper(), line, column))
        if stack:
            # The outermost open '(' is the rule that never ended: the useful place to look.
            l, c, _ = stack[0]
            raise ReverieError(f"{self.where(l, c)}: unbalanced parenthesis: this '(' is never "
                               f"closed ({len(stack)} ')' missing by the end of the script)")
        return top

    # -- rules -----------------------------------------------------------------------------

    def script(self) -> Script:
        forms = self.forms()
        if not forms:
            raise ReverieError(f"{self.name}: the script is empty; it needs a greeting such as "
                               f"(HOW DO YOU DO. PLEASE TELL ME YOUR PROBLEM), keyword rules "
                               f"and a NONE rule")
        first = forms[0]
        if not isinstance(first, _List) or not all(isinstance(i, _Atom) for i in first.items):
            raise self.error(first, "the script must begin with its greeting, a list of "
                             "words such as (HOW DO YOU DO. PLEASE TELL ME YOUR PROBLEM)")
        greeting = " ".join(a.text for a in first.items)
        rest = forms[1:]
        if rest and isinstance(rest[0], _Atom) and rest[0].text == "START":
            rest = rest[1:]   # the appendix has it; its purpose is unrecorded

        keywords: dict[str, Keyword] = {}
        none: Optional[Keyword] = None
        memory: Optional[Memory] = None
        for form in rest:
            if isinstance(form, _Atom):
                raise self.error(form, f"expected a rule in parentheses, found {form.text}")
            if not form.items:
                continue   # () ends the appendix's script
            head = form.items[0]
            if not isinstance(head, _Atom) or head.text == "=" or head.text.isdigit():
                raise self.error(form, "a rule must begin with its keyword, as in "
                                 "(MY = YOUR 2 ((0 YOUR 0) (YOUR 3)))")
            if head.text == "MEMORY":
                if memory is not None:
                    raise self.error(form, f"a second MEMORY rule (the first is on line "
                                     f"{memory.line}); a script has one")
                memory = self.memory(form)
            elif head.text == "NONE":
                if none is not None:
                    raise self.error(form, f"a second NONE rule (the first is on line "
                                     f"{none.line})")
                none = self.keyword(form)
            else:
                if head.text in keywords:
                    raise self.error(form, f"keyword {head.text} has a rule already, on line "
                                     f"{keywords[head.text].line}")
                keywords[head.text] = self.keyword(form)

        if none is None:
            raise ReverieError(f"{self.name}: the script has no NONE rule, which answers when "
                               f"no keyword is found; add (NONE ((0) (PLEASE GO ON)))")
        self.check_none(none)
        tags: dict[str, list[str]] = {}
        for kw in keywords.values():
            for tag in kw.tags:
                tags.setdefault(tag, []).append(kw.word)
        self.check_links(keywords, memory)
        self.check_tags(keywords, none, memory, tags)
        return Script(greeting=greeting, keywords=keywords, none=none, memory=memory,
                      tags={t: tuple(w) for t, w in tags.items()}, name=self.name)

    def keyword(self, form: _List) -> Keyword:
        word = form.items[0].text
        items = list(form.items[1:])
        if not items:
            raise self.error(form, f"the rule for keyword {word} is empty; give it a "
                             f"substitute (= WORD), a DLIST, or decomposition rules")
        substitute, rank, tags, link = None, 0, (), None
        rules: list[Transformation] = []
        i = 0
        while i < len(items):
            item = items[i]
            if isinstance(item, _Atom):
                if item.text == "=":
                    if i + 1 >= len(items) or not isinstance(items[i + 1], _Atom):
                        raise self.error(item, f"keyword {word}: '=' must be followed by the "
                                         f"word that replaces {word}, as in (MY = YOUR)")
                    substitute = items[i + 1].text
                    i += 2
                    continue
                if item.text.isdigit():
                    rank = int(item.text)
                elif item.text == "DLIST":
                    if i + 1 >= len(items) or not isinstance(items[i + 1], _List):
                        raise self.error(item, f"keyword {word}: DLIST must be followed by "
                                         f"its tags, as in DLIST(/NOUN FAMILY)")
                    tags = self.dlist(word, items[i + 1])
                    i += 2
                    continue
                else:
                    raise self.error(item, f"keyword {word}: unexpected {item.text}; a rule is "
                                     f"(KEYWORD [= SUBSTITUTE] [DLIST(/TAG)] [RANK] "
                                     f"((DECOMPOSITION) (REASSEMBLY) ...) ... [(=KEYWORD)])")
            elif not item.items:
                raise self.error(item, f"keyword {word}: an empty list ()")
            elif _is_link(item):
                if link is not None:
                    raise self.error(item, f"keyword {word}: a second (=KEYWORD) reference")
                link = self.link(word, item)
            elif isinstance(item.items[0], _List):
                rules.append(self.transformation(word, item))
            else:
                raise self.error(item, f"keyword {word}: {_show(item)} is neither a "
                                 f"transformation ((DECOMPOSITION) (REASSEMBLY) ...) nor a "
                                 f"reference (=KEYWORD)")
            i += 1
        return Keyword(word=word, rank=rank, substitute=substitute, tags=tags,
                       transformations=tuple(rules), link=link, line=form.line)

    def dlist(self, word: str, node: _List) -> tuple[str, ...]:
        words = [a.text for a in node.items if isinstance(a, _Atom)]
        if len(words) != len(node.items) or not words or not words[0].startswith("/"):
            raise self.error(node, f"keyword {word}: a DLIST is (/TAG TAG ...), as in "
                             f"DLIST(/NOUN FAMILY)")
        words[0] = words[0][1:]
        return tuple(w for w in words if w)

    def link(self, word: str, node: _List) -> Link:
        if len(node.items) != 2 or not isinstance(node.items[1], _Atom):
            raise self.error(node, f"keyword {word}: a reference is (=KEYWORD), found "
                             f"{_show(node)}")
        return Link(node.items[1].text, node.line, node.column)

    def transformation(self, word: str, node: _List) -> Transformation:
        decomposition = node.items[0]
        pattern = self.pattern(word, decomposition)
        if len(node.items) < 2:
            raise self.error(node, f"keyword {word}: the decomposition {_show(decomposition)} "
                             f"has no reassembly rules after it")
        reassemblies = tuple(self.reassembly(word, r, decomposition, len(pattern))
                             for r in node.items[1:])
        return Transformation(pattern, _show(decomposition), reassemblies, node.line)

    def pattern(self, word: str, node) -> tuple:
        if not isinstance(node, _List) or not node.items:
            raise self.error(node, f"keyword {word}: a decomposition is a non-empty list "
                             f"such as (0 YOU 0)")
        out = []
        for item in node.items:
            if isinstance(item, _Atom):
                if item.text == "=":
                    raise self.error(item, f"keyword {word}: '=' inside the decomposition "
                                     f"{_show(node)}")
                out.append(int(item.text) if item.text.isdigit() else item.text)
                continue
            inner = [a.text for a in item.items if isinstance(a, _Atom)]
            if len(inner) != len(item.items) or not inner or inner[0][:1] not in ("*", "/"):
                raise self.error(item, f"keyword {word}: in a decomposition a sublist is "
                                 f"(*WORD WORD ...) or (/TAG ...), found {_show(item)}")
            kind, inner[0] = inner[0][0], inner[0][1:]
            choices = tuple(w for w in inner if w)
            if not choices:
                raise self.error(item, f"keyword {word}: {_show(item)} lists nothing")
            out.append(_Choice(frozenset(choices), _show(item)) if kind == "*"
                       else _Tags(choices, _show(item), item.line, item.column))
        return tuple(out)

    def reassembly(self, word: str, node, decomposition: _List, parts: int) -> Reassembly:
        if not isinstance(node, _List):
            raise self.error(node, f"keyword {word}: a reassembly is a list such as "
                             f"(WHY DO YOU SAY 3), found {_show(node)}")
        items = node.items
        if not items:
            raise self.error(node, f"keyword {word}: an empty reassembly ()")
        if _is_link(node):
            return Reassembly("link", (), _show(node), link=self.link(word, node))
        if len(items) == 1 and isinstance(items[0], _Atom) and items[0].text == "NEWKEY":
            return Reassembly("newkey", (), "(NEWKEY)")
        if isinstance(items[0], _Atom) and items[0].text == "PRE":
            if (len(items) != 3 or not isinstance(items[1], _List)
                    or not isinstance(items[2], _List) or not _is_link(items[2])):
                raise self.error(node, f"keyword {word}: a PRE rule is (PRE (REASSEMBLY) "
                                 f"(=KEYWORD)), found {_show(node)}")
            terms = self.terms(word, items[1], decomposition, parts)
            return Reassembly("pre", terms, _show(node), link=self.link(word, items[2]))
        return Reassembly("text", self.terms(word, node, decomposition, parts), _show(node))

    def terms(self, word: str, node: _List, decomposition: _List, parts: int) -> tuple:
        out = []
        for item in node.items:
            if isinstance(item, _List):
                raise self.error(item, f"keyword {word}: a list {_show(item)} inside the "
                                 f"reassembly {_show(node)}; a reassembly is words and part "
                                 f"numbers")
            if item.text.isdigit():
                n = int(item.text)
                if not 1 <= n <= parts:
                    raise self.error(item, f"keyword {word}: the reassembly {_show(node)} "
                                     f"refers to part {n}, but the decomposition "
                                     f"{_show(decomposition)} has {parts} part"
                                     f"{'s' if parts != 1 else ''} (1 to {parts})")
                out.append(n)
            else:
                out.append(item.text)
        return tuple(out)

    def memory(self, form: _List) -> Memory:
        items = form.items[1:]
        usage = ("(MEMORY KEYWORD (DECOMPOSITION = REASSEMBLY) x 4), as in (MEMORY MY "
                 "(0 YOUR 0 = EARLIER YOU SAID YOUR 3) ...)")
        if not items or not isinstance(items[0], _Atom):
            raise self.error(form, f"MEMORY must name its keyword: {usage}")
        keyword = items[0].text
        rules = []
        for item in items[1:]:
            if not isinstance(item, _List):
                raise self.error(item, f"MEMORY: unexpected {_show(item)}; {usage}")
            eq = [i for i, a in enumerate(item.items) if isinstance(a, _Atom) and a.text == "="]
            if len(eq) != 1 or eq[0] == 0 or eq[0] == len(item.items) - 1:
                raise self.error(item, f"MEMORY: each rule is (DECOMPOSITION = REASSEMBLY), "
                                 f"found {_show(item)}")
            left = _List(item.items[:eq[0]], item.line, item.column)
            right = _List(item.items[eq[0] + 1:], item.line, item.column)
            pattern = self.pattern("MEMORY", left)
            text = _show(left)
            terms = self.terms("MEMORY", right, left, len(pattern))
            rules.append(Transformation(pattern, text, (Reassembly("text", terms, _show(right)),),
                                        item.line))
        if len(rules) != MEMORY_RULES:
            raise self.error(form, f"MEMORY has {len(rules)} rule{'s' if len(rules) != 1 else ''}"
                             f"; it needs exactly {MEMORY_RULES} (the 1966 program picks one by "
                             f"a 2-bit HASH): {usage}")
        return Memory(keyword, tuple(rules), form.line)

    # -- checks that need the whole script --------------------------------------------------

    def check_none(self, none: Keyword):
        where = f"{self.name} line {none.line}"
        if not none.transformations:
            raise ReverieError(f"{where}: the NONE rule needs replies, as in "
                               f"(NONE ((0) (PLEASE GO ON)))")
        for t in none.transformations:
            for r in t.reassemblies:
                if r.kind != "text":
                    raise ReverieError(f"{where}: the NONE rule's replies must be plain "
                                       f"reassemblies; {r.text} hands over to another rule")

    def check_links(self, keywords: dict, memory: Optional[Memory]):
        for kw in keywords.values():
            links = [kw.link] + [r.link for t in kw.transformations for r in t.reassemblies]
            for link in links:
                if link is None:
                    continue
                target = keywords.get(link.keyword)
                if target is None or not target.has_rules:
                    what = "there is no rule for it" if target is None else \
                        "its rule has no decomposition rules or reference"
                    raise ReverieError(f"{self.where(link.line, link.column)}: keyword "
                                       f"{kw.word} refers to (={link.keyword}), but {what}")
        if memory is not None:
            target = keywords.get(memory.keyword)
            if target is None or not target.has_rules:
                raise ReverieError(f"{self.name} line {memory.line}: MEMORY's keyword "
                                   f"{memory.keyword} needs decomposition rules of its own: a "
                                   f"memory is made only when its rules are tried")

    def check_tags(self, keywords: dict, none: Keyword, memory: Optional[Memory], tags: dict):
        rules = [t for kw in (*keywords.values(), none) for t in kw.transformations]
        rules += list(memory.transformations) if memory else []
        for t in rules:
            for el in t.pattern:
                if isinstance(el, _Tags):
                    missing = [tag for tag in el.tags if tag not in tags]
                    if len(missing) == len(el.tags):
                        raise ReverieError(f"{self.where(el.line, el.column)}: {el.text} in "
                                           f"{t.text}: no keyword has the tag {missing[0]} "
                                           f"in its DLIST, so it can match nothing")


def _is_link(node) -> bool:
    return (isinstance(node, _List) and bool(node.items) and isinstance(node.items[0], _Atom)
            and node.items[0].text == "=")


# -- what a script is ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Choice:
    """(*SAD UNHAPPY DEPRESSED): one word, any of these."""
    words: frozenset
    text: str


@dataclass(frozen=True)
class _Tags:
    """(/NOUN FAMILY): one word whose keyword rule has one of these tags in its DLIST."""
    tags: tuple
    text: str
    line: int
    column: int


@dataclass(frozen=True)
class Link:
    keyword: str
    line: int
    column: int


@dataclass(frozen=True)
class Reassembly:
    kind: str                   # "text", "newkey", "link" (=KEY) or "pre"
    terms: tuple                # words and 1-based part numbers (text and pre)
    text: str                   # as the script writes it
    link: Optional[Link] = None


@dataclass(frozen=True)
class Transformation:
    pattern: tuple              # ints (0: any number of words), words, _Choice, _Tags
    text: str                   # the decomposition as written: (0 YOU 0)
    reassemblies: tuple
    line: int


@dataclass(frozen=True)
class Keyword:
    word: str
    rank: int = 0
    substitute: Optional[str] = None
    tags: tuple = ()
    transformations: tuple = ()
    link: Optional[Link] = None     # (=KEY) at the end: used when no decomposition matches
    line: int = 0

    @property
    def has_rules(self) -> bool:
        """A keyword with rules goes on the keystack; a bare substitution or DLIST does not."""
        return bool(self.transformations) or self.link is not None


@dataclass(frozen=True)
class Memory:
    keyword: str
    transformations: tuple
    line: int


@dataclass(frozen=True)
class Script:
    """A read script. It holds no conversation state, so bots can share one."""
    greeting: str
    keywords: dict
    none: Keyword
    memory: Optional[Memory]
    tags: dict                  # tag -> the keywords with it in their DLIST
    name: str = "script"

    @property
    def substitutions(self) -> dict:
        return {k.word: k.substitute for k in self.keywords.values() if k.substitute}

    @property
    def ranks(self) -> dict:
        return {k.word: k.rank for k in self.keywords.values() if k.has_rules}


def load_script(source: Union[str, os.PathLike, Script] = DOCTOR) -> Script:
    """A script from a file (a path), or from its text (a string with a '(' in it that is
    not the name of a file). Any problem is one ReverieError line that says where."""
    if isinstance(source, Script):
        return source
    if isinstance(source, str) and "(" in source and not _is_file(source):
        return _read(source, "script")
    path = Path(source)
    name = path.name or str(path)
    try:
        if path.stat().st_size > MAX_SCRIPT:
            raise ReverieError(f"{name}: {path.stat().st_size:,} bytes is too big for an ELIZA "
                               f"script (a script is a few kilobytes of S-expressions)")
        data = path.read_bytes()
    except ReverieError:
        raise
    except FileNotFoundError:
        raise ReverieError(f"no ELIZA script at {path}; give a script file, or the DOCTOR "
                           f"script (the default)") from None
    except IsADirectoryError:
        raise ReverieError(f"{path} is a folder; give an ELIZA script file") from None
    except OSError as e:
        raise ReverieError(f"cannot read the ELIZA script {path}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ReverieError(f"{name} line {line}: the script is not UTF-8 text (byte "
                           f"0x{data[e.start]:02x}); save it as UTF-8") from None
    return _read(text, name)


def _read(text: str, name: str) -> Script:
    try:
        return _Reader(text, name).script()
    except RecursionError:  # thousands of nested parentheses: no script is shaped like that
        raise ReverieError(f"{name}: the lists nest too deeply to be an ELIZA script; check "
                           f"its parentheses") from None


def _is_file(text: str) -> bool:
    try:
        return len(text) < 4096 and "\n" not in text and Path(text).is_file()
    except (OSError, ValueError):
        return False


# -- the pattern matcher and reassembly ----------------------------------------------------

def _width(el) -> int:
    return el if isinstance(el, int) else 1


def _fits(el, word: str, tags: dict) -> bool:
    if isinstance(el, str):
        return el == word
    if isinstance(el, _Choice):
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
