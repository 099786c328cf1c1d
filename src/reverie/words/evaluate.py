"""The standard evaluations of word vectors: the Google analogy questions (Mikolov et al.
2013, 19,544 questions in 14 sections) and WordSim-353 (Finkelstein et al. 2002).

Both follow gensim's and word2vec's rules: a question counts when its four words are among
the `restrict_vocab` most frequent words, accuracy is over those covered questions (and
`accuracy_all` counts the others as wrong), and words match case-insensitively.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.latent.analogy import METHODS, VectorSet, check_method
from reverie.words.vectors import as_vectors, vector_set


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
