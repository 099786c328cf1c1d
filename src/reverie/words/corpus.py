"""Corpora for word embeddings: files, folders and built-in texts, streamed as sentences.

A corpus is any number of sources; each source is a text file, a folder (every text file
under it, recursively) or a built-in data set from `reverie.io.datasets`:
`builtin:gcide` (the GNU Collaborative International Dictionary of English, ~6 M words of
prose, Debian `dict-gcide`), `builtin:webster` (its public-domain part: the paragraphs it
sources to Webster's 1913 dictionary), `builtin:kjv` (the King James Bible, Debian `bible-kjv`),
`builtin:shakespeare` (tiny-shakespeare, ships with Reverie) and `builtin:lee` (gensim's
Lee news corpus). This module parses them: GCIDE's dictd markup, the `bible` program's
verses, tiny-shakespeare's speeches.

The tokeniser keeps what analogies need: words (apostrophes inside them kept, a possessive
's split off), numbers (with their decimal point or thousands separators) as tokens,
punctuation dropped, and lower-casing on by default (the Google analogy set is then
evaluated case-insensitively, as gensim does).

`Corpus` is re-iterable (word2vec makes several passes) and never holds a whole file in
memory; `write_line_corpus` writes the tokenised text once to a file gensim trains from
without the Python tokeniser in the loop.
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from reverie.core.errors import ReverieError
from reverie.io import datasets

# the builtin: sets that are running text
CORPORA = ["gcide", "webster", "kjv", "shakespeare", "lee"]
MAX_SENTENCE = 10_000  # gensim's limit on words per sentence; longer ones are cut into pieces
TEXT_SUFFIXES = {".txt", ".text", ".cor", ".md", ".rst", ".csv", ".tsv", ".html", ".htm", ""}

# ----------------------------------------------------------------------------------------
# the tokeniser

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split text into word and number tokens; punctuation is dropped.

    >>> tokenize("The King's 2 crowns cost 1,000.50 -- didn't they?")
    ['the', 'king', "'s", '2', 'crowns', 'cost', '1,000.50', "didn't", 'they']
    """
    if lowercase:
        text = text.lower()
    tokens = []
    for tok in _TOKEN.findall(text.translate(_APOSTROPHES)):
        if tok.endswith("'s") and len(tok) > 2 and tok.count("'") == 1:
            tokens.append(tok[:-2])
            tokens.append("'s")
        else:
            tokens.append(tok)
    return tokens


# ----------------------------------------------------------------------------------------
# built-in corpora


# GCIDE markup: accents like [=a] ['e] [a^], pronunciations \Ca*lor"ic\, etymologies and
# sources in [...], cross-references in {...}, citations --Shak.
_ACCENT = re.compile(r"\[([`'\"=.\-~^,*:])([a-zA-Z]{1,2})\]|\[([a-zA-Z]{1,2})\^\]")
_NAMED = {"ae": "ae", "AE": "AE", "oe": "oe", "OE": "OE", "imac": "i", "aum": "a", "eth": "th",
          "thorn": "th", "ng": "ng", "th": "th", "uum": "u", "oum": "o", "ium": "i", "eum": "e",
          "asl": "", "add": "", "root": "", "deg": " degrees", "sect": "", "udd": "u", "yogh": "y"}
_NAMED_RE = re.compile(r"\[(" + "|".join(sorted(_NAMED, key=len, reverse=True)) + r")\]")
_PRON = re.compile(r"\\[^\\\n]{0,200}\\")
_PRON_PAREN = re.compile(r"\([^()\n]*[*\"`][^()\n]*\)")
_BRACKET = re.compile(r"\[[^\[\]]{0,2000}\]")
_CITATION = re.compile(r"--\s*[A-Z][^\n]*")
_GCIDE_START = "\n0 \\0\\"


def clean_gcide_entry(text: str) -> str:
    """One block of GCIDE's dictd text to plain prose (markup removed, words kept)."""
    text = _ACCENT.sub(lambda m: m.group(2) or m.group(3), text)
    text = _NAMED_RE.sub(lambda m: _NAMED[m.group(1)], text)
    text = _PRON.sub(" ", text)
    text = _PRON_PAREN.sub(" ", text)
    text = _BRACKET.sub(" ", text)
    text = text.replace("{", "").replace("}", "")
    text = _CITATION.sub(" ", text)
    return text


# GCIDE ends each paragraph with its source, on a line of its own (its README): [1913
# Webster] is the 1890 text and [Webster 1913 Suppl.] the 1913 "New Words", both the
# public-domain dictionary; WordNet, PJC (GCIDE's own additions, GPL) and paragraphs no tag
# covers are left out of `webster`. A run of {phrase} sub-entries shares the tag after its
# last one.
_SOURCE = re.compile(r"^\s*\[([^\[\]\n]*(?:Webster|WordNet|PJC|Century)[^\[\]\n]*)\]\s*$", re.M)
WEBSTER_SOURCES = frozenset({"1913 Webster", "Webster 1913 Suppl."})


def sources(block: str) -> set[str]:
    """The sources GCIDE tags a paragraph with (none: untagged)."""
    return {part.strip() for tag in _SOURCE.findall(block) for part in tag.split("+")}


def webster_1913(blocks: Iterable[str]) -> Iterator[str]:
    """The paragraphs GCIDE sources to Webster's 1913 dictionary alone; an untagged {phrase}
    sub-entry takes the tag of the next tagged paragraph of its entry."""
    pending: list[str] = []
    for block in blocks:
        tags = sources(block)
        if tags:
            if tags <= WEBSTER_SOURCES:
                yield from pending
                yield block
            pending = []
        elif block.lstrip().startswith("{") and block[:1].isspace():
            pending.append(block)
        elif not block[:1].isspace():  # a new headword: the last entry's run has ended
            pending = []


def _gcide_blocks(path: Path) -> Iterator[str]:
    """GCIDE's dictd text as raw paragraphs (blank-line separated blocks), streamed."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        head = f.read(20_000)
        start = head.find(_GCIDE_START)
        buf = head[start + 1:] if start >= 0 else head
        while True:
            chunk = f.read(1 << 20)
            buf += chunk
            parts = buf.split("\n\n")
            buf = parts.pop() if chunk else ""
            yield from (part for part in parts if part.strip())
            if not chunk:
                return


def gcide_paragraphs(path: Path | None = None, webster_only: bool = False) -> Iterator[str]:
    """GCIDE as cleaned paragraphs, streamed; `webster_only` keeps only those it sources to
    Webster's 1913 dictionary (public domain)."""
    blocks = _gcide_blocks(path or datasets.files("gcide")[0])
    for block in webster_1913(blocks) if webster_only else blocks:
        yield clean_gcide_entry(block)


_KJV_HEADING = re.compile(r"^\S.*\s\d+\s*$")
_VERSE_NUMBER = re.compile(r"^\s+\d+\s")


def kjv_paragraphs() -> Iterator[str]:
    """The King James Bible, one verse per paragraph, from Debian's `bible` program."""
    datasets.files("kjv")  # says what to install when it is missing
    program = shutil.which("bible")
    try:
        out = subprocess.run([program, "gen1:1-rev22:21"], capture_output=True, text=True,
                             timeout=120, check=True).stdout
    except (subprocess.SubprocessError, OSError) as exc:
        raise ReverieError(f"the `bible` program failed ({exc}); reinstall it with: "
                           f"sudo apt-get install --reinstall bible-kjv") from None
    verse: list[str] = []
    for line in out.splitlines():
        if not line.strip() or _KJV_HEADING.match(line):
            continue
        if _VERSE_NUMBER.match(line):
            if verse:
                yield " ".join(verse)
            verse = [_VERSE_NUMBER.sub("", line)]
        else:
            verse.append(line)
    if verse:
        yield " ".join(verse)


# ----------------------------------------------------------------------------------------
# files and folders


def _check_text_file(path: Path) -> None:
    if path.stat().st_size == 0:
        raise ReverieError(f"corpus file {path} is empty; give a text file with sentences in it")
    with open(path, "rb") as f:
        head = f.read(8192)
    if head[:2] == b"\x1f\x8b":
        return  # gzip: read through
    if b"\x00" in head:
        raise ReverieError(f"corpus file {path} is binary, not text; give plain text (UTF-8) files")
    bad = sum(1 for b in head if b < 9 or 13 < b < 32)
    if bad > len(head) * 0.01:
        raise ReverieError(f"corpus file {path} looks binary ({bad} control bytes in its first "
                           f"{len(head)}); give plain text (UTF-8) files")


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def file_paragraphs(path: Path) -> Iterator[str]:
    """A text file as paragraphs: lines, with blank lines starting a new paragraph.

    Every line is its own paragraph unless it is long prose wrapped over lines; in practice
    each line is a sentence, the word2vec convention."""
    with _open_text(path) as f:
        for line in f:
            if line.strip():
                yield line


def _folder_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                   and (p.suffix.lower() in TEXT_SUFFIXES or p.suffix == ".gz"))
    if not files:
        raise ReverieError(f"corpus folder {folder} has no text files (.txt, .cor, .md, ...); "
                           f"put the corpus text in it")
    return files


@dataclass
class Source:
    name: str      # what the user gave
    kind: str      # "builtin" | "file"
    path: Path | None = None


def resolve_sources(sources: Iterable[str | os.PathLike]) -> list[Source]:
    """Check every source up front (missing files, binary files, missing packages)."""
    out: list[Source] = []
    for s in sources:
        name = str(s)
        if name.startswith("builtin:"):
            ds = datasets.get(name)  # unknown names: an error with the closest one
            if ds.name not in CORPORA:
                raise ReverieError(f"builtin:{ds.name} is a {ds.kind} data set, not running "
                                   f"text; give one of " + ", ".join("builtin:" + c for c in CORPORA))
            ds.files()  # missing: an error saying what to install
            out.append(Source(f"builtin:{ds.name}", "builtin"))
            continue
        path = Path(name)
        if not path.exists():
            raise ReverieError(f"corpus not found: {name}; give text files, folders or one of "
                               + ", ".join("builtin:" + c for c in CORPORA))
        files = _folder_files(path) if path.is_dir() else [path]
        for f in files:
            _check_text_file(f)
            out.append(Source(str(f), "file", f))
    if not out:
        raise ReverieError("no corpus given; give text files, folders or builtin:NAME")
    return out


def source_paragraphs(source: Source) -> Iterator[str]:
    if source.kind == "file":
        yield from file_paragraphs(source.path)
        return
    key = source.name[len("builtin:"):]
    if key in ("gcide", "webster"):
        yield from gcide_paragraphs(webster_only=key == "webster")
    elif key == "kjv":
        yield from kjv_paragraphs()
    elif key == "shakespeare":
        # tiny-shakespeare is one speech per blank-line-separated block
        text = datasets.read_text("builtin:shakespeare")
        yield from (block for block in text.split("\n\n") if block.strip())
    elif key == "lee":
        yield from file_paragraphs(datasets.files("lee")[0])


class Corpus:
    """Sentences (lists of tokens) from files, folders and built-ins; iterable many times.

    >>> sentences = Corpus(["builtin:lee"])
    >>> next(iter(sentences))[:5]
    ['hundreds', 'of', 'people', 'have', 'been']
    """

    def __init__(self, sources: Iterable[str | os.PathLike] | str, lowercase: bool = True):
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        self.names = [str(s) for s in sources]
        self.sources = resolve_sources(self.names)
        self.lowercase = lowercase

    def __iter__(self) -> Iterator[list[str]]:
        for source in self.sources:
            for paragraph in source_paragraphs(source):
                tokens = tokenize(paragraph, self.lowercase)
                for i in range(0, len(tokens), MAX_SENTENCE):
                    yield tokens[i:i + MAX_SENTENCE]

    def __repr__(self) -> str:
        return f"Corpus({self.names!r}, lowercase={self.lowercase})"


def write_line_corpus(sentences: Iterable[list[str]], path: Path) -> tuple[int, int]:
    """Write sentences one per line, tokens separated by spaces (gensim's LineSentence
    format, which `Word2Vec(corpus_file=...)` trains from). Returns (sentences, words)."""
    n_sent = n_words = 0
    with open(path, "w", encoding="utf-8") as f:
        for sent in sentences:
            if not sent:
                continue
            f.write(" ".join(sent))
            f.write("\n")
            n_sent += 1
            n_words += len(sent)
    return n_sent, n_words
