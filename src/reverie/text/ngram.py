"""Character n-gram language models: the classic baseline every neural model must clear.

Interpolated Kneser-Ney (Chen & Goodman 1998, one discount per order) or interpolated
absolute discounting (Ney, Essen & Kneser 1994), over characters:

    P_k(w | h) = max(c_k(h w) - D_k, 0) / c_k(h)  +  D_k * N1+(h .) / c_k(h) * P_{k-1}(w | h')

where h' drops the oldest character of h, the recursion ends in the uniform distribution
over the vocabulary, and a context never seen hands all its mass to the shorter one. For
Kneser-Ney every order but the highest counts *continuation* counts (how many different
characters precede h w) instead of raw counts; absolute discounting uses raw counts at
every order. Discounts come from the counts of counts: D = n1 / (n1 + 2 n2).

Training is counting (seconds for a megabyte); the model saves to and loads from JSON.
`train_ngram` is the mechanism (`reverie text ngram`): a corpus in, the model file out, its
bits per character on the held-out tail measured.
"""
from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np

from reverie.core.config import Config, ConfigError, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.io.files import save_json

FORMAT = "reverie-ngram"
METHODS = ("kneser-ney", "absolute")


@dataclass
class NGramConfig(Config):
    order: int = knob(5, "characters of context + 1 (the classic baseline: 5)", min=1, max=12)
    method: str = knob("kneser-ney", "interpolated Kneser-Ney (Chen & Goodman) or absolute "
                       "discounting (Ney et al.)", choices=METHODS)
    bytes_mode: bool = knob(False, "model raw UTF-8 bytes (any file) instead of characters",
                            flag="bytes")
    val_frac: float = knob(0.1, "hold out this last part of the corpus and report its bits "
                           "per character (0: train on all)", min=0, below=0.5)
    seed: int = seed_knob()  # counting draws nothing; every Config has one (sampling takes its own)


def _units(text: str | bytes, bytes_mode: bool = False) -> str:
    """Work on str throughout; bytes become latin-1 characters (one per byte)."""
    if bytes_mode and isinstance(text, str):
        text = text.encode("utf-8")
    return text.decode("latin-1") if isinstance(text, bytes) else text


class NGramLM:
    """counts[k][context] = {char: count} for contexts of length k (k = 0 .. order-1)."""

    def __init__(self, config: NGramConfig, vocab: list[str], counts: list[dict[str, dict[str, int]]],
                 discounts: list[float]):
        self.config = config
        self.vocab = vocab
        self.index = {c: i for i, c in enumerate(vocab)}
        self.counts = counts
        self.discounts = discounts
        # per context: total count and number of distinct followers
        self.totals = [{h: (sum(d.values()), len(d)) for h, d in level.items()} for level in counts]

    # -- training ------------------------------------------------------------------------
    @classmethod
    def fit(cls, text: str | bytes, config: Optional[NGramConfig] = None,
            progress: Progress = silent) -> "NGramLM":
        cfg = config or NGramConfig()
        text = _units(text)
        if len(text) == 0:
            raise ReverieError("the corpus is empty; give a text file with some text in it")
        if len(text) < cfg.order:
            raise ConfigError("order", f"the corpus ({len(text)} characters) is shorter than the "
                                       f"order ({cfg.order}); give more text or a lower order")
        N = cfg.order
        vocab = sorted(set(text))
        # raw counts of every n-gram, n = 1..N
        raw = []
        for n in range(1, N + 1):
            raw.append(Counter(text[i:i + n] for i in range(len(text) - n + 1)))
            progress(n, N + 1, f"counting {n}-grams")
        levels: list[Counter] = []
        for n in range(1, N + 1):
            if cfg.method == "kneser-ney" and n < N:
                cont = Counter()
                for g in raw[n]:        # (n+1)-grams: each distinct left extension counts once
                    cont[g[1:]] += 1
                # n-grams at the very start of the text have no left neighbour: count them once
                cont[text[:n]] += 0 if text[:n] in cont else 1
                levels.append(cont)
            else:
                levels.append(raw[n - 1])
        counts: list[dict[str, dict[str, int]]] = []
        discounts = []
        for n, level in enumerate(levels, start=1):
            nested: dict[str, dict[str, int]] = defaultdict(dict)
            for g, c in level.items():
                if c > 0:
                    nested[g[:-1]][g[-1]] = c
            counts.append(dict(nested))
            cc = Counter(level.values())
            n1, n2 = cc.get(1, 0), cc.get(2, 0)
            discounts.append(n1 / (n1 + 2 * n2) if n1 + n2 > 0 and n1 > 0 else 0.5)
        progress(N + 1, N + 1, "done")
        return cls(cfg, vocab, counts, discounts)

    # -- probabilities -------------------------------------------------------------------
    def prob(self, context: str, ch: str) -> float:
        """P(ch | context), using at most order-1 characters of context."""
        N = self.config.order
        context = context[-(N - 1):] if N > 1 else ""
        p = 1.0 / (len(self.vocab) + 1)  # the base: uniform over the vocabulary and one unknown
        for k in range(0, len(context) + 1):
            h = context[len(context) - k:] if k else ""
            tot = self.totals[k].get(h)
            if tot is None:
                break  # a longer context cannot have been seen either
            total, distinct = tot
            D = self.discounts[k]
            c = self.counts[k][h].get(ch, 0)
            p = (max(c - D, 0.0) + D * distinct * p) / total
        return p

    def distribution(self, context: str) -> np.ndarray:
        """P(. | context) over the vocabulary (sums to 1 minus the unknown's tiny share)."""
        N = self.config.order
        context = context[-(N - 1):] if N > 1 else ""
        V = len(self.vocab)
        p = np.full(V, 1.0 / (V + 1))
        for k in range(0, len(context) + 1):
            h = context[len(context) - k:] if k else ""
            tot = self.totals[k].get(h)
            if tot is None:
                break
            total, distinct = tot
            D = self.discounts[k]
            c = np.zeros(V)
            for ch, n in self.counts[k][h].items():
                c[self.index[ch]] = n
            p = (np.maximum(c - D, 0.0) + D * distinct * p) / total
        return p

    def evaluate(self, text: str | bytes, progress: Progress = silent) -> dict:
        """Bits and nats per character of `text` (each character given the ones before it)."""
        text = _units(text, self.config.bytes_mode)
        if len(text) < 2:
            raise ReverieError("the text to evaluate is too short; give at least a few characters")
        N = self.config.order
        unknown = sorted({c for c in set(text) if c not in self.index})
        if unknown:
            shown = " ".join(repr(c) for c in unknown[:10])
            raise ReverieError(f"the text to evaluate has {len(unknown)} character(s) the model "
                               f"never saw ({shown}); remove them, or train on text that has them")
        total = 0.0
        n = len(text) - 1
        for i in range(1, len(text)):
            total -= math.log(self.prob(text[max(0, i - N + 1):i], text[i]))
            if i % 100_000 == 0:
                progress(i, n, "scoring")
        nats = total / n
        return {"nats_per_char": nats, "bits_per_char": nats / math.log(2), "chars": n}

    # -- sampling ------------------------------------------------------------------------
    def generate(self, prime: str = "", length: int = 1000, temperature: float = 1.0,
                 top_k: Optional[int] = None, seed: int = 0) -> Iterator[str]:
        """Stream characters; the same seed gives the same text; argmax at temperature 0."""
        if temperature < 0:
            raise ConfigError("temperature", f"must be 0 or more, got {temperature}; 0 means argmax")
        if top_k is not None and top_k < 1:
            raise ConfigError("top_k", f"must be at least 1, got {top_k}")
        prime = _units(prime, self.config.bytes_mode)
        unknown = sorted({c for c in prime if c not in self.index})
        if unknown:
            raise ReverieError(f"the prime has character(s) the model never saw "
                               f"({' '.join(repr(c) for c in unknown[:10])}); remove them")
        rng = np.random.default_rng(seed)
        context = prime if prime else ("\n" if "\n" in self.index else "")
        if self.config.bytes_mode:  # bytes out as UTF-8 text, a character once it is whole
            import codecs
            decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        else:
            decode = None
        for _ in range(length):
            p = self.distribution(context)
            if temperature == 0:
                i = int(np.argmax(p))
            else:
                logp = np.log(np.maximum(p, 1e-300)) / temperature
                if top_k is not None and top_k < len(p):
                    kth = np.partition(logp, -top_k)[-top_k]
                    logp = np.where(logp >= kth, logp, -np.inf)
                q = np.exp(logp - logp.max())
                i = int(rng.choice(len(q), p=q / q.sum()))
            ch = self.vocab[i]
            context = (context + ch)[-max(self.config.order - 1, 1):]
            yield decode(ch.encode("latin-1")) if decode else ch

    def sample(self, prime: str = "", length: int = 1000, temperature: float = 1.0,
               top_k: Optional[int] = None, seed: int = 0,
               on_text: Optional[Callable[[str], None]] = None) -> str:
        out = []
        for ch in self.generate(prime, length, temperature, top_k, seed):
            out.append(ch)
            if on_text is not None:
                on_text(ch)
        return "".join(out)

    # -- saving --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "config": self.config.to_dict(), "vocab": self.vocab,
                "discounts": self.discounts, "counts": self.counts}

    def save(self, path: str | os.PathLike) -> Path:
        return save_json(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "NGramLM":
        import json
        path = Path(path)
        if not path.exists():
            raise ReverieError(f"n-gram model not found: {path}; make one with `reverie text ngram`")
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ReverieError(f"{path} is not a JSON n-gram model; make one with `reverie text ngram`") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ReverieError(f"{path} is not a Reverie n-gram model; make one with `reverie text ngram`")
        try:
            cfg = NGramConfig(**d["config"])
            model = cls(cfg, list(d["vocab"]), [dict(level) for level in d["counts"]],
                        [float(x) for x in d["discounts"]])
            if len(model.counts) != cfg.order or len(model.discounts) != cfg.order:
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError, ReverieError):
            raise ReverieError(f"{path} is a damaged n-gram model; make it again with `reverie text ngram`") from None
        return model


@dataclass
class NGramResult(Result):
    model: NGramLM

    suffixes = (".json",)

    def write(self, path: Path) -> dict[str, Path]:
        return {"model": save_json(self.model.to_dict(), path)}

    def summary(self) -> str:
        f = self.figures
        held = (f", held-out {f['val_bpc']:.3f} bits/char ({f['val_loss']:.3f} nats)"
                if "val_bpc" in f else "")
        return f"order {self.config.order} {self.config.method}, {self.timings['fit']:.1f} s{held}"


def train_ngram(corpus=None, config: Optional[NGramConfig] = None, *,
                text: str | bytes | None = None, progress: Progress = silent,
                **overrides) -> NGramResult:
    """Count a character n-gram model on `corpus` (files, folders, `builtin:shakespeare`;
    or the text itself as `text=`), holding out its last `val_frac` to score it there."""
    from reverie.core.inputs import record as record_input
    from reverie.text.corpus import read_corpus

    cfg = make_config(NGramConfig, config, **overrides)
    if isinstance(text, bytes) and not cfg.bytes_mode:
        cfg = cfg.replace(bytes_mode=True)
    inputs = {"corpus": {"source": None, "note": "given in memory (text)"} if text is not None
              else record_input(corpus)}
    data = text if text is not None else read_corpus(corpus, bytes_mode=cfg.bytes_mode)
    n = len(data) - int(len(data) * cfg.val_frac)
    train_text, val_text = data[:n], data[n:]
    start = time.perf_counter()
    model = NGramLM.fit(train_text, cfg, progress)
    figures = {"train_chars": len(train_text), "val_chars": len(val_text),
               "vocab_size": len(model.vocab), "discounts": model.discounts}
    timings = {"fit": time.perf_counter() - start}
    notes = []
    if len(val_text) >= 2:
        try:
            ev = model.evaluate(val_text)
            figures.update({"val_bpc": ev["bits_per_char"], "val_loss": ev["nats_per_char"]})
        except ReverieError as exc:  # held-out characters never seen in training
            notes.append(f"not scored on the held-out text: {exc}")
    timings["total"] = time.perf_counter() - start
    return NGramResult(model, mechanism="train_ngram", config=cfg, inputs=inputs,
                       figures=figures, timings=timings, notes=notes)
