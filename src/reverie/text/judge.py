"""The judge of clamped samples: a character n-gram TF-IDF classifier, trained on the same
labelled corpus as the probe, that says whether a generated text reads positive or negative.

A judge is not an oracle: on real texts people wrote it agrees with the label only so
often, and less for the rarer class. So its recall on held-out real texts of each class is
measured with it (`recall`), and a clamped sample's agreement is read against that: if the
judge calls 70% of real positive tweets positive, 70% of clamped-positive samples called
positive is as positive as real tweets read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


@dataclass
class Judge:
    vectorizer: Any             # scikit-learn TfidfVectorizer (character 2-5-grams)
    classifier: Any             # LogisticRegression on its features
    names: tuple[str, str]      # (negative, positive)
    figures: dict = field(default_factory=dict)  # balanced accuracy and recall on real held-out texts

    @property
    def recall(self) -> dict[str, float]:
        """On held-out real texts of each class, the share the judge gives that class."""
        return self.figures["recall"]

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """1 positive, 0 negative, for each text."""
        return self.classifier.predict(self.vectorizer.transform(list(texts)))

    def verdicts(self, texts: Sequence[str]) -> list[str]:
        return [self.names[int(p)] for p in self.predict(texts)]

    def agreement(self, texts: Sequence[str], label: int) -> float:
        """The share of `texts` the judge gives `label` (1 positive, 0 negative)."""
        return float(np.mean(self.predict(texts) == label)) if len(texts) else 0.0


def fit_judge(texts: Sequence[str], labels: np.ndarray, train: np.ndarray, test: np.ndarray,
              names: tuple[str, str] = ("negative", "positive"), C: float = 4.0) -> Judge:
    """Character 2-5-gram TF-IDF and a logistic regression (C=4), fit on `train`, and its
    recall on the real texts of each class in `test`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    labels = np.asarray(labels)
    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True,
                            min_df=2 if len(train) >= 200 else 1)
    Xt = tfidf.fit_transform([texts[i] for i in train])
    clf = LogisticRegression(C=C, max_iter=2000).fit(Xt, labels[train])
    judge = Judge(tfidf, clf, tuple(names))
    pred = judge.predict([texts[i] for i in test])
    y = labels[test]
    judge.figures = {
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "accuracy": float(np.mean(pred == y)),
        "recall": {"positive": float(np.mean(pred[y == 1] == 1)) if (y == 1).any() else 0.0,
                   "negative": float(np.mean(pred[y == 0] == 0)) if (y == 0).any() else 0.0},
        "n_train": int(len(train)), "n_test": int(len(test))}
    return judge


def as_tweet(sample: str) -> str:
    """A generated sample as one text: its first non-empty line (the corpus holds one text
    per line, so a sample that runs on starts another)."""
    return next((line.strip() for line in sample.split("\n") if line.strip()), "")
