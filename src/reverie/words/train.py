"""Word embeddings learned from context (word2vec), and analogies A : B :: C : ?.

Mikolov et al. (2013) trained a shallow network to predict a word from the words around it
(CBOW) or the reverse (skip-gram); the vectors it learns place `king - man + woman` near
`queen`. The engine is gensim's Word2Vec; this module adds corpora (`reverie.words.corpus`),
defaults chosen by measurement, progress, safe saving in gensim's and word2vec's formats,
the reasoning commands (analogy, neighbours, similarity, odd one out), the standard
evaluations, and the paper's Figure 6 (PCA with the analogy offsets drawn as arrows).
The arithmetic itself lives in `reverie.latent.analogy`, shared with the other latent spaces.

    >>> from reverie.words.train import train_words, analogy
    >>> result = train_words(["builtin:gcide"], out="gcide.kv")
    >>> analogy(result.vectors, "king", "queen", "man")["3cosadd"][0][0]
    'woman'
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from reverie.latent.analogy import METHODS, VectorSet, check_method
from reverie.core.errors import ReverieError
from reverie.io.images import atomic_path, check_writable, save_json, write_sidecar
from reverie.core.progress import Progress, silent
from reverie.words.corpus import Corpus, write_line_corpus

FORMATS = ("kv", "text", "binary")
SUFFIX_FORMAT = {".kv": "kv", ".model": "kv", ".txt": "text", ".vec": "text", ".w2v": "text",
                 ".bin": "binary"}


@dataclass
class WordsConfig:
    """word2vec settings, named as in gensim and the word2vec paper.

    The defaults were chosen on the benchmark (`bench/words.py`: GCIDE, 4.0 M words, Google
    analogies, 3CosAdd over the 7,738 covered questions; gensim's defaults score about 9-10%
    there): CBOW as in the paper, stronger subsampling of frequent words than gensim's 1e-3
    (Levy, Goldberg & Dagan 2015), which also makes each pass cheaper, and more passes over
    a corpus this small. Measured (one run each, +-1 point of run-to-run noise):
    sample 1e-4 x 10 epochs 14.4%, x 12 16.6%, x 15 19.1-19.9% (2.96x gensim's time);
    sample 2e-4 x 12 18.9-19.9% (2.2x), x 14 20.0% (2.6x wall, 2.5x CPU: the default);
    sample 1e-5 x 20 9.4%; 200 dims +0.5 point at ~1.6x the time; negative 10 +0.3,
    negative 3 -1.5; the word2vec demo's window 8 + alpha 0.05 -1.4; post-processing
    (centring, removing top principal components) did not help.
    """
    sg: int = 0                  # 0 = CBOW (the paper's default), 1 = skip-gram
    vector_size: int = 100       # dimensions of the vectors
    window: int = 5              # words of context each side (max; gensim samples 1..window)
    min_count: int = 5           # words seen fewer times are dropped
    negative: int = 5            # negative samples per positive one (0 = hierarchical softmax)
    hs: int = 0                  # 1 = hierarchical softmax
    sample: float = 2e-4         # subsampling threshold for frequent words (0 = off)
    epochs: int = 14             # passes over the corpus
    alpha: float = 0.025         # start learning rate (linear decay to min_alpha)
    min_alpha: float = 0.0001    # learning rate at the end (linear decay)
    cbow_mean: int = 1           # CBOW: 1 = mean of the context vectors, 0 = sum
    max_vocab_size: int | None = None  # cap on vocabulary while counting (None = no cap)
    workers: int = 0             # threads; 0 = one per CPU core. 1 + seed = reproducible
    seed: int = 0
    lowercase: bool = True       # lower-case the corpus (analogy sets are case-insensitive)
    phrases: bool = False        # join frequent word pairs first ("new_york"), gensim Phrases
    phrase_min_count: int = 5
    phrase_threshold: float = 10.0

    def resolved_workers(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)

    def check(self) -> None:
        ints = {"vector_size": self.vector_size, "window": self.window, "epochs": self.epochs,
                "min_count": self.min_count}
        for name, v in ints.items():
            if v < 1:
                raise ReverieError(f"{name} must be at least 1, got {v}; use --{name.replace('_', '-')} 1 or more")
        if self.sg not in (0, 1) or self.hs not in (0, 1):
            raise ReverieError("sg and hs must be 0 or 1; use --sg for skip-gram, --hs for hierarchical softmax")
        if self.negative < 0 or (self.negative == 0 and not self.hs):
            raise ReverieError("negative must be 1 or more (or 0 with --hs); use --negative 5")
        if not 0 <= self.sample < 1:
            raise ReverieError(f"sample must be in [0, 1), got {self.sample}; try --sample 1e-4")
        if not 0 < self.alpha < 1:
            raise ReverieError(f"alpha must be in (0, 1), got {self.alpha}; try --alpha 0.025")


@dataclass
class TrainResult:
    vectors: Any                 # gensim KeyedVectors
    stats: dict = field(default_factory=dict)


class _EpochProgress:
    """gensim callback: one progress step per epoch, with words/s and time left."""

    def __init__(self, progress: Progress, epochs: int, corpus_words: int):
        self.progress, self.epochs, self.corpus_words = progress, epochs, corpus_words
        self.epoch = 0
        self.start = 0.0

    # gensim's CallbackAny2Vec interface (duck-typed so gensim loads only when training)
    def on_train_begin(self, model):
        self.start = time.perf_counter()
        self.progress(0, self.epochs, f"epoch 1/{self.epochs}")

    def on_epoch_begin(self, model):
        pass

    def on_batch_begin(self, model):
        pass

    def on_batch_end(self, model):
        pass

    def on_epoch_end(self, model):
        self.epoch += 1
        elapsed = time.perf_counter() - self.start
        wps = self.epoch * self.corpus_words / max(elapsed, 1e-9)
        left = (self.epochs - self.epoch) * elapsed / self.epoch
        self.progress(self.epoch, self.epochs,
                      f"epoch {self.epoch}/{self.epochs}, {wps:,.0f} words/s, {left:.0f} s left")

    def on_train_end(self, model):
        pass


def _phrase_corpus(line_file: Path, out_file: Path, cfg: WordsConfig) -> tuple[int, int, int]:
    from gensim.models.phrases import Phrases
    from gensim.models.word2vec import LineSentence

    phrases = Phrases(LineSentence(str(line_file)), min_count=cfg.phrase_min_count,
                      threshold=cfg.phrase_threshold).freeze()
    n_sent, n_words = write_line_corpus((phrases[s] for s in LineSentence(str(line_file))), out_file)
    return n_sent, n_words, len(phrases.phrasegrams)


def train_words(corpus: Iterable[str | os.PathLike] | str | Corpus, config: WordsConfig | None = None,
                out: str | os.PathLike | None = None, progress: Progress = silent,
                **overrides) -> TrainResult:
    """Train word vectors on a corpus (files, folders, `builtin:NAME`; see reverie.words.corpus).

    `config` fields can also be given as keyword overrides (`epochs=5`). With `out`, the
    vectors are saved (format from the suffix: .kv, .txt/.vec, .bin) with a sidecar JSON.
    Returns the gensim KeyedVectors and the figures (words, vocabulary, time, words/s).
    """
    cfg = dataclasses.replace(config or WordsConfig(), **overrides)
    cfg.check()
    if out is not None:
        check_writable(out)
        format_for(out)
    if not isinstance(corpus, Corpus):
        corpus = Corpus(corpus, lowercase=cfg.lowercase)
    from gensim.models import Word2Vec

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reverie-words-") as tmp:
        line_file = Path(tmp) / "corpus.txt"
        progress(0, 0, "reading corpus")
        n_sent, n_words = write_line_corpus(corpus, line_file)
        if n_words == 0:
            raise ReverieError(f"the corpus {', '.join(corpus.names)} has no words; give text with "
                               f"words in it")
        n_phrases = 0
        if cfg.phrases:
            progress(0, 0, "detecting phrases")
            phrased = Path(tmp) / "phrased.txt"
            n_sent, n_words, n_phrases = _phrase_corpus(line_file, phrased, cfg)
            line_file = phrased
        read_s = time.perf_counter() - t0

        model = Word2Vec(vector_size=cfg.vector_size, window=cfg.window, min_count=cfg.min_count,
                         sg=cfg.sg, hs=cfg.hs, negative=cfg.negative, sample=cfg.sample,
                         alpha=cfg.alpha, min_alpha=cfg.min_alpha,
                         cbow_mean=cfg.cbow_mean, max_vocab_size=cfg.max_vocab_size,
                         workers=cfg.resolved_workers(), seed=cfg.seed, epochs=cfg.epochs)
        t1, c1 = time.perf_counter(), time.process_time()  # training = vocabulary scan + passes
        model.build_vocab(corpus_file=str(line_file))
        if len(model.wv) < 2:
            raise ReverieError(f"only {len(model.wv)} distinct word(s) occur at least min_count="
                               f"{cfg.min_count} times in the corpus ({n_words:,} words); lower "
                               f"--min-count or give a bigger corpus")
        callback = _EpochProgress(progress, cfg.epochs, n_words)
        model.train(corpus_file=str(line_file), total_examples=model.corpus_count,
                    total_words=model.corpus_total_words, epochs=cfg.epochs, callbacks=[callback])
        train_s, train_cpu = time.perf_counter() - t1, time.process_time() - c1
    vectors = model.wv
    vectors.fill_norms()
    stats = {
        "corpus": corpus.names, "sentences": n_sent, "words": n_words, "vocabulary": len(vectors),
        "phrases": n_phrases, "read_seconds": round(read_s, 2), "train_seconds": round(train_s, 2),
        "train_cpu_seconds": round(train_cpu, 2),
        "words_per_second": round(n_words * cfg.epochs / max(train_s, 1e-9)),
        "config": {**dataclasses.asdict(cfg), "workers": cfg.resolved_workers()},
    }
    if out is not None:
        save_vectors(vectors, out, sidecar={"command": "words train", **stats})
    return TrainResult(vectors, stats)


# ----------------------------------------------------------------------------------------
# formats


def format_for(path: str | os.PathLike, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ReverieError(f"unknown vectors format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    found = SUFFIX_FORMAT.get(suffixes[-1] if suffixes else "")
    if found is None:
        raise ReverieError(f"cannot tell the vectors format of {path} from its suffix; name it "
                           f".kv (gensim), .txt/.vec (word2vec text) or .bin (word2vec binary), "
                           f"or pass --format")
    return found


def save_vectors(vectors: Any, path: str | os.PathLike, fmt: str | None = None,
                 sidecar: dict | None = None) -> Path:
    """Write KeyedVectors atomically as gensim .kv, word2vec text or word2vec binary."""
    path = Path(path)
    fmt = format_for(path, fmt)
    with atomic_path(path) as tmp:
        if fmt == "kv":
            with open(tmp, "wb") as f:
                vectors.save(f)  # one pickle file, no side .npy files
        else:
            vectors.save_word2vec_format(str(tmp), binary=(fmt == "binary"))
    write_sidecar(path, {"format": fmt, "vocabulary": len(vectors), "vector_size": vectors.vector_size,
                         **(sidecar or {})})
    return path


def _sniff(path: Path) -> str:
    """Guess a vectors file's format from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:1] == b"\x80":
        return "kv"
    first, _, rest = head.partition(b"\n")
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        body = rest[:1024]
        try:
            body.decode("utf-8")
            printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in body) / max(1, len(body))
        except UnicodeDecodeError:
            printable = 0.0
        return "text" if printable > 0.97 else "binary"
    if b"\x00" in head:
        return "unknown"
    return "text-noheader" if len(parts) >= 2 else "unknown"


def load_vectors(path: str | os.PathLike, fmt: str | None = None,
                 expect_dim: int | None = None) -> Any:
    """Load word vectors (gensim .kv or Word2Vec model, word2vec text with or without its
    header line, i.e. GloVe files too, or word2vec binary) as gensim KeyedVectors.

    Every way the file can be wrong is a ReverieError naming the fix. Note that .kv files
    are Python pickles: load only files you trust (word2vec text/binary are plain data).
    """
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"vectors file not found: {path}; train one with `reverie words train` "
                           f"or give a .kv/.txt/.bin path")
    if path.stat().st_size == 0:
        raise ReverieError(f"vectors file {path} is empty; retrain or re-export it")
    sniffed = _sniff(path)
    suffixes = [x.lower() for x in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    declared = fmt or (SUFFIX_FORMAT.get(suffixes[-1]) if suffixes else None)
    if declared is None and sniffed == "gzip":
        raise ReverieError(f"cannot tell the format of the compressed {path.name}; name it "
                           f"NAME.txt.gz or NAME.bin.gz, or pass --format")
    kind = declared or sniffed
    if sniffed != "gzip" and declared and sniffed != "unknown":
        if declared == "kv" and sniffed != "kv":
            raise ReverieError(f"{path} is not a gensim .kv file (it looks like word2vec "
                               f"{sniffed.replace('-noheader', '')} vectors); rename it .txt/.bin or pass --format")
        if declared in ("text", "binary") and sniffed == "kv":
            raise ReverieError(f"{path} is a gensim .kv file, not word2vec {declared}; name it .kv or pass --format kv")
        if declared == "text" and sniffed == "binary":
            raise ReverieError(f"{path} is word2vec binary, not text; name it .bin or pass --format binary")
        if declared == "binary" and sniffed.startswith("text"):
            raise ReverieError(f"{path} is word2vec text, not binary; name it .txt or pass --format text")
        kind = sniffed if declared == "text" else declared
    if sniffed == "unknown" or kind == "unknown":
        raise ReverieError(f"{path} is not a vectors file reverie can read; give gensim .kv, "
                           f"word2vec text (.txt/.vec) or word2vec binary (.bin)")
    try:
        if kind == "kv":
            obj = KeyedVectors.load(str(path))
            kv = getattr(obj, "wv", obj)
            if not isinstance(kv, KeyedVectors):
                raise ReverieError(f"{path} holds a {type(obj).__name__}, not word vectors; give a "
                                   f"file saved by `reverie words train` or gensim")
        else:
            kv = KeyedVectors.load_word2vec_format(str(path), binary=(kind == "binary"),
                                                   no_header=(kind == "text-noheader"))
    except ReverieError:
        raise
    except (ValueError, IndexError, EOFError, UnicodeDecodeError, OSError, AttributeError,
            ImportError, TypeError, KeyError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        message = "".join(ch for ch in message if ch.isprintable())[:100]
        raise ReverieError(f"{path} is not valid {kind.replace('-noheader', '')} vectors "
                           f"({message}); every line must be a word and the same number of "
                           f"numbers as the header's dimension: re-export the file") from None
    except Exception as exc:  # unpickling garbage raises anything
        raise ReverieError(f"{path} could not be read as {kind} vectors ({type(exc).__name__}); "
                           f"re-export it from the tool that made it") from None
    if len(kv) == 0:
        raise ReverieError(f"{path} holds no vectors; retrain or re-export it")
    if not np.isfinite(kv.vectors).all():
        raise ReverieError(f"{path} holds NaN or infinite values; retrain or re-export it")
    if expect_dim is not None and kv.vector_size != expect_dim:
        raise ReverieError(f"{path} has {kv.vector_size}-dimensional vectors, expected {expect_dim}; "
                           f"give vectors of the same dimension")
    return kv


def as_vectors(vectors: Any) -> Any:
    """KeyedVectors from KeyedVectors, a Word2Vec model, a TrainResult or a path."""
    if isinstance(vectors, (str, os.PathLike)):
        return load_vectors(vectors)
    if isinstance(vectors, TrainResult):
        return vectors.vectors
    return getattr(vectors, "wv", vectors)


_SETS: "weakref.WeakKeyDictionary[Any, VectorSet]" = weakref.WeakKeyDictionary()


def vector_set(vectors: Any) -> VectorSet:
    """The analogy module's view of word vectors (cached per KeyedVectors object)."""
    kv = as_vectors(vectors)
    try:
        cached = _SETS.get(kv)
    except TypeError:
        cached = None
    if cached is None or len(cached) != len(kv):
        cached = VectorSet.from_keyed_vectors(kv, kind="word")
        try:
            _SETS[kv] = cached
        except TypeError:
            pass
    return cached


def _key(vs: VectorSet, word: str) -> str:
    """The vocabulary's spelling of a word (exact, else lower-case)."""
    return vs.keys[vs.row(word)]


# ----------------------------------------------------------------------------------------
# reasoning


def analogy(vectors: Any, a: str, b: str, c: str, k: int = 10,
            methods: Sequence[str] = METHODS, restrict_vocab: int | None = None) -> dict:
    """"A is to B as C is to ?" (king : queen :: man : ?): the k best answers by each
    method, inputs excluded, as {"3cosadd": [(word, score), ...], "3cosmul": [...]}."""
    vs = vector_set(vectors)
    a, b, c = (_key(vs, w) for w in (a, b, c))
    return {check_method(m): vs.analogy(a, b, c, k=k, method=m, restrict=restrict_vocab)
            for m in methods}


def neighbors(vectors: Any, word: str, k: int = 10, restrict_vocab: int | None = None) -> list:
    vs = vector_set(vectors)
    return vs.nearest(_key(vs, word), k=k, restrict=restrict_vocab)


def similarity(vectors: Any, a: str, b: str) -> float:
    vs = vector_set(vectors)
    return vs.similarity(_key(vs, a), _key(vs, b))


def odd_one_out(vectors: Any, words: Sequence[str]) -> tuple[str, list]:
    vs = vector_set(vectors)
    return vs.odd_one_out([_key(vs, w) for w in words])


# ----------------------------------------------------------------------------------------
# evaluation


def questions_path() -> Path:
    from gensim.test.utils import datapath
    return Path(datapath("questions-words.txt"))


def wordsim_path() -> Path:
    from gensim.test.utils import datapath
    return Path(datapath("wordsim353.tsv"))


def read_questions(path: str | os.PathLike) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """word2vec's question file: `: section` lines, then `A B C D` lines."""
    path = Path(path)
    if not path.is_file():
        raise ReverieError(f"analogy questions not found: {path}; give a file in word2vec's "
                           f"questions-words.txt format")
    sections: list[tuple[str, list]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        parts = line.split()
        if len(parts) != 4:
            raise ReverieError(f"{path} line {n} has {len(parts)} words, an analogy needs 4 "
                               f"(A B C D); fix the line")
        if not sections:
            sections.append(("questions", []))
        sections[-1][1].append(tuple(parts))
    if not any(qs for _, qs in sections):
        raise ReverieError(f"{path} holds no analogy questions; give lines of 4 words")
    return sections


def _lookup(vs: VectorSet, restrict: int, case_insensitive: bool) -> dict[str, int]:
    table: dict[str, int] = {}
    for i, key in enumerate(vs.keys[:restrict]):
        k = key.lower() if case_insensitive and isinstance(key, str) else key
        table.setdefault(k, i)  # the most frequent spelling wins
    return table


def evaluate_analogies(vectors: Any, questions: str | os.PathLike | None = None,
                       restrict_vocab: int = 300_000, methods: Sequence[str] = METHODS,
                       case_insensitive: bool = True, progress: Progress = silent) -> dict:
    """Accuracy on the Google analogy questions (or any file in that format), per section.

    A question counts as covered when its four words are among the `restrict_vocab` most
    frequent words (gensim's and word2vec's rule); accuracy is over covered questions, and
    `accuracy_all` counts uncovered ones as wrong. Answers are searched among the same
    words, with the three question words excluded.
    """
    vs = vector_set(vectors)
    restrict = min(restrict_vocab, len(vs))
    lookup = _lookup(vs, restrict, case_insensitive)
    methods = [check_method(m) for m in methods]
    sections = read_questions(questions or questions_path())
    out_sections = []
    totals = {"questions": 0, "covered": 0, **{m: 0 for m in methods}}
    groups = {"semantic": dict.fromkeys(totals, 0), "syntactic": dict.fromkeys(totals, 0)}
    for si, (name, qs) in enumerate(sections):
        rows = []
        for q in qs:
            words = [w.lower() if case_insensitive else w for w in q]
            idx = [lookup.get(w) for w in words]
            if None not in idx:
                rows.append(idx)
        entry = {"section": name, "questions": len(qs), "covered": len(rows),
                 "coverage": len(rows) / len(qs) if qs else 0.0}
        if rows:
            arr = np.asarray(rows, dtype=np.int64)
            found = vs.analogy_rows(arr[:, 0], arr[:, 1], arr[:, 2], method=methods, restrict=restrict)
            for m in methods:
                best = found[m]
                if case_insensitive:
                    correct = sum(str(vs.keys[p]).lower() == str(vs.keys[e]).lower()
                                  for p, e in zip(best, arr[:, 3]))
                else:
                    correct = int((best == arr[:, 3]).sum())
                entry[f"correct_{m}"] = int(correct)
                entry[f"accuracy_{m}"] = correct / len(rows)
        else:
            for m in methods:
                entry[f"correct_{m}"] = 0
                entry[f"accuracy_{m}"] = 0.0
        out_sections.append(entry)
        group = groups["syntactic" if name.startswith("gram") else "semantic"]
        for agg in (totals, group):
            agg["questions"] += len(qs)
            agg["covered"] += len(rows)
            for m in methods:
                agg[m] += entry[f"correct_{m}"]
        progress(si + 1, len(sections), name)

    def summary(agg: dict) -> dict:
        s = {"questions": agg["questions"], "covered": agg["covered"],
             "coverage": agg["covered"] / agg["questions"] if agg["questions"] else 0.0}
        for m in methods:
            s[f"correct_{m}"] = agg[m]
            s[f"accuracy_{m}"] = agg[m] / agg["covered"] if agg["covered"] else 0.0
            s[f"accuracy_all_{m}"] = agg[m] / agg["questions"] if agg["questions"] else 0.0
        return s

    return {"questions_file": str(questions or questions_path()), "restrict_vocab": restrict,
            "case_insensitive": case_insensitive, "methods": methods,
            "total": summary(totals), "semantic": summary(groups["semantic"]),
            "syntactic": summary(groups["syntactic"]), "sections": out_sections}


def evaluate_similarity(vectors: Any, pairs: str | os.PathLike | None = None,
                        case_insensitive: bool = True) -> dict:
    """Spearman correlation between cosine similarity and human judgements (WordSim-353 by
    default; any `word1 word2 score` tab/space file), over the pairs the vectors cover."""
    from scipy.stats import spearmanr

    vs = vector_set(vectors)
    path = Path(pairs or wordsim_path())
    if not path.is_file():
        raise ReverieError(f"similarity pairs not found: {path}; give a `word1 word2 score` file")
    lookup = _lookup(vs, len(vs), case_insensitive)
    total, model, human = 0, [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) < 3:
            continue
        try:
            score = float(parts[2])
        except ValueError:
            continue
        total += 1
        w1, w2 = (p.strip().lower() if case_insensitive else p.strip() for p in parts[:2])
        i, j = lookup.get(w1), lookup.get(w2)
        if i is None or j is None:
            continue
        model.append(float(vs.unit_vectors[i] @ vs.unit_vectors[j]))
        human.append(score)
    rho = float(spearmanr(model, human).statistic) if len(model) >= 3 else float("nan")
    return {"pairs_file": str(path), "pairs": total, "covered": len(model),
            "coverage": len(model) / total if total else 0.0, "spearman": rho}


def evaluate(vectors: Any, questions: str | os.PathLike | None = None,
             pairs: str | os.PathLike | None = None, restrict_vocab: int = 300_000,
             methods: Sequence[str] = METHODS, progress: Progress = silent) -> dict:
    """Both standard evaluations: Google analogies per section and WordSim-353."""
    kv = as_vectors(vectors)
    t = time.perf_counter()
    result = {"vocabulary": len(kv), "vector_size": kv.vector_size,
              "analogies": evaluate_analogies(kv, questions, restrict_vocab, methods, progress=progress),
              "similarity": evaluate_similarity(kv, pairs)}
    result["seconds"] = round(time.perf_counter() - t, 2)
    return result


def analogy_examples(vectors: Any, questions: str | os.PathLike | None = None, per_section: int = 2,
                     restrict_vocab: int = 300_000, method: str = "3cosmul", seed: int = 0) -> list[dict]:
    """A few covered questions per section with the model's answer and score (for tables)."""
    vs = vector_set(vectors)
    lookup = _lookup(vs, min(restrict_vocab, len(vs)), True)
    rng = np.random.default_rng(seed)
    out = []
    for name, qs in read_questions(questions or questions_path()):
        covered = [q for q in qs if all(w.lower() in lookup for w in q)]
        if not covered:
            continue
        for i in rng.choice(len(covered), size=min(per_section, len(covered)), replace=False):
            a, b, c, d = (vs.keys[lookup[w.lower()]] for w in covered[i])
            (word, score), = vs.analogy(a, b, c, k=1, method=method, restrict=restrict_vocab)
            out.append({"section": name, "a": a, "b": b, "c": c, "expected": d, "answer": word,
                        "score": score, "correct": str(word).lower() == d.lower()})
    return out


# ----------------------------------------------------------------------------------------
# Figure 6


def plot_analogies(vectors: Any, words: Sequence[str], out: str | os.PathLike,
                   title: str | None = None, sidecar: dict | None = None) -> dict:
    """Words in pairs (A B C D ...: arrows A->B, C->D) projected to 2-D by PCA of their
    vectors, as in Mikolov et al. 2013, Figure 6 (countries and their capitals). Parallel
    arrows of similar length are the analogy, seen."""
    if len(words) < 4 or len(words) % 2:
        raise ReverieError(f"plot needs words in pairs, at least two pairs (A B C D: arrows A->B "
                           f"and C->D), got {len(words)} word(s)")
    out = check_writable(out)
    if out.suffix.lower() not in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
        raise ReverieError(f"cannot write a figure with suffix {out.suffix!r}; use .png, .svg, .pdf or .jpg")
    vs = vector_set(vectors)
    keys = [_key(vs, w) for w in words]
    X = np.stack([vs.vector(k, normalize=True) for k in keys]).astype(np.float64)
    Xc = X - X.mean(axis=0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    P = Xc @ vt[:2].T
    explained = (s[:2] ** 2 / max((s ** 2).sum(), 1e-12)).tolist()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6), dpi=120)
    offsets = []
    for i in range(0, len(keys), 2):
        (x0, y0), (x1, y1) = P[i], P[i + 1]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="->", color="#888", lw=1.2, shrinkA=4, shrinkB=4))
        offsets.append(X[i + 1] - X[i])
    ax.scatter(P[0::2, 0], P[0::2, 1], c="#1f77b4", s=30, zorder=3)
    ax.scatter(P[1::2, 0], P[1::2, 1], c="#d62728", s=30, zorder=3)
    for (x, y), k in zip(P, keys):
        ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=10)
    ax.set_title(title or "word vectors, PCA to 2-D: arrows are the analogy offsets")
    ax.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({explained[1]:.0%} of variance)")
    ax.grid(alpha=0.3)
    pad = 0.15 * max(np.ptp(P[:, 0]), np.ptp(P[:, 1]), 1e-6)
    ax.set_xlim(P[:, 0].min() - pad, P[:, 0].max() + 2 * pad)
    ax.set_ylim(P[:, 1].min() - pad, P[:, 1].max() + pad)
    fig.tight_layout()
    # how parallel the offsets are: mean pairwise cosine of the arrows in full dimension
    O = np.stack(offsets)
    On = O / np.maximum(np.linalg.norm(O, axis=1, keepdims=True), 1e-12)
    iu = np.triu_indices(len(O), 1)
    parallel = float((On @ On.T)[iu].mean())
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".").lower() or "png")
    plt.close(fig)
    figures = {"words": keys, "pairs": [[keys[i], keys[i + 1]] for i in range(0, len(keys), 2)],
               "explained_variance": explained, "offset_cosine_mean": parallel}
    write_sidecar(out, {"command": "words plot", **figures, **(sidecar or {})})
    return figures


def save_report(report: dict, path: str | os.PathLike) -> Path:
    return save_json(report, path)
