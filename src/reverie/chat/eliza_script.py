"""ELIZA's scripts: the S-expression reader and what a script is (keywords, ranks,
decomposition and reassembly rules, links, MEMORY), as the CACM paper's appendix writes
them. `eliza` (the matcher and the 1966 conversation loop) reads scripts through
`load_script`. Each error is one line that says where in the script it is."""
from __future__ import annotations

import os
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from reverie.core.errors import ReverieError

DOCTOR = Path(__file__).parent / "scripts" / "doctor.txt"
MAX_SCRIPT = 5_000_000   # bytes: a script is a few kilobytes; anything this big is a mistake
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
            out.append(Choice(frozenset(choices), _show(item)) if kind == "*"
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
class Choice:
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
    pattern: tuple              # ints (0: any number of words), words, Choice, _Tags
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
