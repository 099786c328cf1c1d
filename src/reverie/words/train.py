"""word2vec (Mikolov et al. 2013): word vectors learned only from the words around them.

A shallow network learns to predict a word from its context (CBOW) or the context from the
word (skip-gram); the vectors it learns on the way place `king - man + woman` near `queen`.
The engine is gensim's Word2Vec; this module adds corpora (`reverie.words.corpus`),
defaults chosen by measurement, progress, and a Result that saves the vectors with their
sidecar. Formats live in `words.vectors`, the queries in `words.analogy`, the standard
evaluations in `words.evaluate` and the paper's Figure 6 in `words.plot`.

    >>> from reverie.words.train import train_words, load_words
    >>> result = train_words(["builtin:lee"], epochs=5, out="lee.kv")
    >>> kv = load_words("lee.kv")          # gensim KeyedVectors: no training state
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from reverie.core.config import Config, ConfigError, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent, wants_preview
from reverie.core.result import Result
from reverie.io.files import check_writable
from reverie.words.corpus import Corpus, write_line_corpus
from reverie.words.vectors import format_for, load_vectors, save_vectors  # noqa: F401 (re-exported)


@dataclass
class WordsConfig(Config):
    """word2vec settings, named as in gensim's Word2Vec.

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
    sg: bool = knob(False, "skip-gram (predict the context from the word) instead of CBOW "
                    "(predict the word from the context, the paper's default)")
    vector_size: int = knob(100, "dimensions of the vectors", min=1)
    window: int = knob(5, "context words each side, at most (gensim samples 1..window)", min=1)
    min_count: int = knob(5, "drop words seen fewer times than this", min=1)
    negative: int = knob(5, "negative samples per positive one (0: hierarchical softmax only, "
                         "with hs)", min=0)
    hs: bool = knob(False, "hierarchical softmax")
    sample: float = knob(2e-4, "subsampling threshold for frequent words (chosen on a 4 M-word "
                         "corpus; 1e-3 for corpora under 1 M words; 0: off)", min=0, below=1)
    epochs: int = knob(14, "passes over the corpus", min=1)
    alpha: float = knob(0.025, "learning rate at the start (decays linearly to min_alpha)",
                        above=0, below=1)
    min_alpha: float = knob(0.0001, "learning rate at the end", min=0, below=1, advanced=True)
    cbow_mean: bool = knob(True, "CBOW: mean of the context vectors (off: their sum)",
                           advanced=True)
    max_vocab_size: Optional[int] = knob(None, "cap on the vocabulary while counting (none: "
                                         "no cap)", min=1, advanced=True)
    workers: int = knob(0, "training threads; 0: one per CPU core. 1 gives the same vectors "
                        "for the same seed", min=0, resolved=True)
    lowercase: bool = knob(True, "lower-case the corpus (analogy sets are case-insensitive)")
    phrases: bool = knob(False, "join frequent word pairs first (new_york), gensim's Phrases")
    phrase_min_count: int = knob(5, "Phrases: ignore pairs seen fewer times", min=1,
                                 advanced=True)
    phrase_threshold: float = knob(10.0, "Phrases: score threshold (lower: more phrases)",
                                   above=0, advanced=True)
    seed: int = seed_knob()

    def check(self) -> None:
        if self.negative == 0 and not self.hs:
            raise ConfigError("negative", "0 negative samples needs hierarchical softmax (hs); "
                              "give 1 or more, or turn hs on")
        if self.min_alpha > self.alpha:
            raise ConfigError("min_alpha", f"must not exceed alpha ({self.alpha}), got "
                              f"{self.min_alpha}")

    def threads(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


@dataclass
class TrainResult(Result):
    vectors: Any                        # gensim KeyedVectors: the model without training state

    suffixes = (".kv", ".bin", ".txt", ".vec", ".gz", ".pt")

    def output_path(self, path) -> Path:
        path = super().output_path(path)
        format_for(path)  # .gz needs .txt.gz or .bin.gz
        return path

    def write(self, path: Path) -> dict[str, Path]:
        config = self.config.to_dict() if self.config is not None else {}
        return {"vectors": save_vectors(self.vectors, path, config=config)}

    def summary(self) -> str:
        f, t = self.figures, self.timings
        return (f"trained on {f['words']:,} words ({f['sentences']:,} sentences): "
                f"{f['vocabulary']:,} words x {self.vectors.vector_size} dims in "
                f"{t['train']:.1f} s ({f['words_per_second']:,} words/s)")


def load_words(path: str | os.PathLike) -> Any:
    """Trained word vectors (gensim KeyedVectors) from .kv, word2vec .txt/.vec or .bin."""
    return load_vectors(path)


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

    def on_epoch_end(self, model):
        self.epoch += 1
        elapsed = time.perf_counter() - self.start
        wps = self.epoch * self.corpus_words / max(elapsed, 1e-9)
        left = (self.epochs - self.epoch) * elapsed / self.epoch
        self.progress(self.epoch, self.epochs,
                      f"epoch {self.epoch}/{self.epochs}, {wps:,.0f} words/s, {left:.0f} s left")
        if wants_preview(self.progress):
            show_preview(self.progress, self.neighbours(model.wv))

    def neighbours(self, wv) -> str:
        """The space as it forms: nearest words of a few mid-frequency words (ranks 100,
        200, ...: content words, not 'the' and 'of')."""
        ranks = [r for r in (100, 200, 300, 400, 500, 600) if r < len(wv)] or [len(wv) // 2]
        probes = [wv.index_to_key[r] for r in ranks]
        lines = [f"after epoch {self.epoch}/{self.epochs}, the nearest words:"]
        for word in probes:
            near = ", ".join(w for w, _ in wv.most_similar(word, topn=6))
            lines.append(f"  {word}: {near}")
        return "\n".join(lines)

    def on_epoch_begin(self, model):
        pass

    def on_batch_begin(self, model):
        pass

    def on_batch_end(self, model):
        pass

    def on_train_end(self, model):
        pass


def _phrase_corpus(line_file: Path, out_file: Path, cfg: WordsConfig) -> tuple[int, int, int]:
    from gensim.models.phrases import Phrases
    from gensim.models.word2vec import LineSentence

    phrases = Phrases(LineSentence(str(line_file)), min_count=cfg.phrase_min_count,
                      threshold=cfg.phrase_threshold).freeze()
    n_sent, n_words = write_line_corpus((phrases[s] for s in LineSentence(str(line_file))), out_file)
    return n_sent, n_words, len(phrases.phrasegrams)


def train_words(corpus: Iterable[str | os.PathLike] | str | Corpus,
                config: WordsConfig | None = None, *, out: str | os.PathLike | None = None,
                progress: Progress = silent, **overrides) -> TrainResult:
    """Train word vectors on a corpus: text files, folders, `builtin:NAME` (gcide, kjv,
    shakespeare, lee), or a `Corpus`. Fields of WordsConfig can be given as keywords
    (`epochs=5`). With `out`, the vectors are saved there (.kv, .txt/.vec, .bin or .pt, the
    checkpoint a zoo model is made from) with their sidecar."""
    cfg = make_config(WordsConfig, config, **overrides)
    threads = cfg.threads()
    if out is not None:
        format_for(check_writable(out))  # before minutes of work
    inputs = {"corpus": record_input(corpus)}  # a Corpus object: in memory, cannot be rerun
    if not isinstance(corpus, Corpus):
        corpus = Corpus(corpus, lowercase=cfg.lowercase)
    from gensim.models import Word2Vec

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reverie-words-") as tmp:
        line_file = Path(tmp) / "corpus.txt"
        progress(0, 0, "reading corpus")
        n_sent, n_words = write_line_corpus(corpus, line_file)
        if n_words == 0:
            raise ReverieError(f"the corpus {', '.join(corpus.names)} has no words; give text "
                               f"with words in it")
        n_phrases = 0
        if cfg.phrases:
            progress(0, 0, "detecting phrases")
            phrased = Path(tmp) / "phrased.txt"
            n_sent, n_words, n_phrases = _phrase_corpus(line_file, phrased, cfg)
            line_file = phrased
        read_s = time.perf_counter() - t0

        model = Word2Vec(vector_size=cfg.vector_size, window=cfg.window, min_count=cfg.min_count,
                         sg=int(cfg.sg), hs=int(cfg.hs), negative=cfg.negative,
                         sample=cfg.sample, alpha=cfg.alpha, min_alpha=cfg.min_alpha,
                         cbow_mean=int(cfg.cbow_mean), max_vocab_size=cfg.max_vocab_size,
                         workers=threads, seed=cfg.seed, epochs=cfg.epochs)
        t1, c1 = time.perf_counter(), time.process_time()  # training = vocabulary scan + passes
        model.build_vocab(corpus_file=str(line_file))
        if len(model.wv) < 2:
            raise ConfigError("min_count", f"only {len(model.wv)} distinct word(s) occur at least "
                              f"min_count={cfg.min_count} times in the corpus ({n_words:,} words); "
                              f"lower min_count or give a bigger corpus")
        model.train(corpus_file=str(line_file), total_examples=model.corpus_count,
                    total_words=model.corpus_total_words, epochs=cfg.epochs,
                    callbacks=[_EpochProgress(progress, cfg.epochs, n_words)])
        train_s, train_cpu = time.perf_counter() - t1, time.process_time() - c1
    vectors = model.wv
    vectors.fill_norms()
    notes = []
    if threads > 1:
        notes.append(f"trained with {threads} threads, which race: a rerun gives slightly "
                     f"different vectors; workers=1 gives the same vectors for the same seed")
    result = TrainResult(
        vectors, mechanism="train_words", config=cfg, inputs=inputs,
        figures={"corpus": corpus.names, "sentences": n_sent, "words": n_words,
                 "vocabulary": len(vectors), "phrases": n_phrases,
                 "words_per_second": round(n_words * cfg.epochs / max(train_s, 1e-9))},
        timings={"read": read_s, "train": train_s, "train_cpu": train_cpu},
        notes=notes, resolved={"workers": threads}, deterministic=threads == 1)
    if out is not None:
        result.save(out)
    return result
