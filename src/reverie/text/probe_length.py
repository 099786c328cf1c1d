"""The length control of the sentiment probe: what a unit knows beyond how long the text is.

On tweets, length alone says a lot about the label (complaints run long: on the airline
tweets a logistic regression on length alone sorts about 64% of positive and negative
tweets, balanced). A cell-state unit whose value grows with every character therefore
scores well as a "sentiment unit" while it only counts. So every unit figure of the probe
comes with the same figure for a classifier on length alone, on the same split, and units
are ranked by what they add over length:

- `length_basis`: the length as the classifiers see it: log length, its square and cube
  (standardised), so a unit that grows with length in any smooth, monotone or saturating
  way is explained by it;
- `partial_correlations`: each unit's correlation with the label once both are
  residualised on that basis (least squares on the training split): about zero for a unit
  that only counts, whatever its score alone;
- `balanced_accuracy`: a class-balanced logistic regression on some columns (train split),
  scored on the test split: the unit with length minus length alone is the unit's gain.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def length_basis(lengths: np.ndarray) -> np.ndarray:
    """(N, 3): log length, its square and its cube, for the length-only classifier and for
    residualising on length."""
    z = np.log(np.maximum(np.asarray(lengths, dtype=np.float64), 1.0))
    return np.stack([z, z ** 2, z ** 3], axis=1)


def _standardise(cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    mean, std = cols[rows].mean(0), cols[rows].std(0)
    return (cols - mean) / np.where(std > 0, std, 1.0)


def balanced_accuracy(cols: np.ndarray, y: np.ndarray, train: np.ndarray,
                      test: np.ndarray) -> dict:
    """A class-balanced logistic regression on `cols` (N, k), fit on `train`, scored on
    `test`: {accuracy, balanced_accuracy}."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    Z = _standardise(np.asarray(cols, dtype=np.float64).reshape(len(y), -1), train)
    clf = LogisticRegression(C=1e4, class_weight="balanced", max_iter=2000)
    clf.fit(Z[train], y[train])
    pred = clf.predict(Z[test])
    return {"accuracy": float(np.mean(pred == y[test])),
            "balanced_accuracy": float(balanced_accuracy_score(y[test], pred))}


def partial_correlations(X: np.ndarray, y: np.ndarray, lengths: np.ndarray,
                         rows: np.ndarray) -> np.ndarray:
    """(F,): each column's correlation with the label given length, on `rows`: both the
    column and the label residualised on [1, length_basis] by least squares, then
    correlated. 0 for a constant column."""
    B = _standardise(length_basis(lengths), rows)[rows]
    B = np.concatenate([np.ones((len(rows), 1)), B], axis=1)
    targets = np.concatenate([np.asarray(X, dtype=np.float64)[rows],
                              np.asarray(y, dtype=np.float64)[rows, None]], axis=1)
    coef, *_ = np.linalg.lstsq(B, targets, rcond=None)
    resid = targets - B @ coef
    resid -= resid.mean(0)
    norms = np.sqrt((resid ** 2).sum(0))
    # a column length explains to rounding error has nothing left to correlate (what is
    # left of a float32 column is noise at 1e-7 of its size)
    scale = np.sqrt(((targets - targets.mean(0)) ** 2).sum(0))
    explained = norms <= 1e-5 * np.maximum(scale, 1e-300)
    r = resid[:, :-1].T @ resid[:, -1]
    denom = norms[:-1] * norms[-1]
    ok = ~explained[:-1] & ~explained[-1] & (denom > 0)
    return np.where(ok, r / np.where(ok, denom, 1.0), 0.0)


def length_correlations(X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(F,): each column's Pearson correlation with log length: near +-1 for a counter."""
    z = np.log(np.maximum(np.asarray(lengths, dtype=np.float64), 1.0))
    Xc = np.asarray(X, dtype=np.float64) - X.mean(0)
    zc = z - z.mean()
    denom = np.sqrt((Xc ** 2).sum(0) * (zc ** 2).sum())
    return np.where(denom > 1e-12, Xc.T @ zc / np.where(denom > 1e-12, denom, 1.0), 0.0)


def unit_against_length(X: np.ndarray, y: np.ndarray, lengths: np.ndarray, unit: int,
                        splits: Sequence[np.ndarray], length_scores: dict | None = None,
                        partial: np.ndarray | None = None) -> dict:
    """One unit measured against length on the same split: the unit with length, length
    alone, the gain (balanced accuracy points over length, as a fraction), its partial
    correlation with the label given length and its correlation with length."""
    train, _, test = splits
    basis = length_basis(lengths)
    alone = length_scores or balanced_accuracy(basis, y, train, test)
    both = balanced_accuracy(np.concatenate([X[:, [unit]], basis], axis=1), y, train, test)
    if partial is None:
        partial = partial_correlations(X[:, [unit]], y, lengths, train)
        p = float(partial[0])
    else:
        p = float(partial[unit])
    return {"unit": int(unit),
            "with_length_balanced_accuracy": both["balanced_accuracy"],
            "gain_over_length": both["balanced_accuracy"] - alone["balanced_accuracy"],
            "partial_correlation": p,
            "length_correlation": float(length_correlations(X[:, [unit]], lengths)[0])}
