"""Questions to word vectors: A is to B as C is to ? (the `words analogy` mechanism), the
nearest words, similarity and the odd one out. The arithmetic itself is
`reverie.latent.analogy`, shared with every latent space; this module looks words up.

    >>> from reverie.words.analogy import analogy
    >>> analogy("lee.kv", "king", "queen", "man", topn=3).answers["3cosmul"][0]
    ('woman', 0.93...)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from reverie.core.config import Config, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.io.files import save_json, save_text
from reverie.latent.analogy import METHODS, check_method
from reverie.words.vectors import key, vector_set


@dataclass
class AnalogyConfig(Config):
    topn: int = knob(10, "answers per method (gensim's topn)", min=1)
    methods: list[str] = knob(list(METHODS), "how a candidate D is scored: 3cosadd, cos(D,B) - "
                              "cos(D,A) + cos(D,C) as word2vec does, or 3cosmul, Levy & "
                              "Goldberg's product that one large similarity cannot dominate",
                              choices=METHODS, flag="method")
    restrict_vocab: Optional[int] = knob(None, "search only the N most frequent words (none: "
                                         "all of them)", min=1)
    seed: int = seed_knob()  # nothing here is random; every mechanism records one


@dataclass
class AnalogyResult(Result):
    question: list[str]                                 # [A, B, C] as the vocabulary spells them
    answers: dict[str, list[tuple[str, float]]]         # method -> (word, score), best first
    vectors: Any = field(default=None, repr=False)      # the vector set, for `explain`

    suffixes = (".json", ".txt")

    def rows(self) -> dict[str, list[dict]]:
        return {m: [{"word": w, "score": s} for w, s in v] for m, v in self.answers.items()}

    def as_text(self) -> str:
        a, b, c = self.question
        width = max([len(w) for v in self.answers.values() for w, _ in v] + [8])
        lines = [f"{a} is to {b} as {c} is to ...",
                 ("     " + "  ".join(f"{m:<{width + 8}}" for m in self.answers)).rstrip()]
        for i in range(max(len(v) for v in self.answers.values())):
            cells = [f"{v[i][0]:<{width}} {v[i][1]:7.3f}" if i < len(v) else " " * (width + 8)
                     for v in self.answers.values()]
            lines.append(f"{i + 1:>3}  " + "  ".join(cells).rstrip())
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> dict[str, Path]:
        if path.suffix.lower() == ".txt":
            return {"answers": save_text(self.as_text(), path)}
        a, b, c = self.question
        return {"answers": save_json({"question": f"{a} : {b} :: {c} : ?", "a": a, "b": b,
                                      "c": c, "answers": self.rows()}, path)}

    def explain(self, folder: Path) -> dict[str, Path]:
        """Mikolov's figure for this question: A->B beside C->answer, projected by PCA;
        the answer is right when the arrows are parallel and of a length."""
        best = next((v[0][0] for v in self.answers.values() if v), None)
        if self.vectors is None or best is None:
            return {}
        from reverie.words.plot import draw_analogies
        a, b, c = self.question
        out = Path(folder) / "analogy-plot.png"
        draw_analogies(self.vectors, [a, b, c, best], out,
                       title=f"{a} -> {b} beside {c} -> {best} (PCA of the four vectors)")
        return {"analogy plot": out}

    def summary(self) -> str:
        a, b, c = self.question
        best = ", ".join(f"{v[0][0]} ({m} {v[0][1]:.3f})" for m, v in self.answers.items() if v)
        return f"{a} : {b} :: {c} : {best}"


def analogy(vectors: Any, a: str, b: str, c: str, config: AnalogyConfig | None = None, *,
            progress: Progress = silent, **overrides) -> AnalogyResult:
    """"A is to B as C is to ?" (king : queen :: man : ?): the `topn` best answers by each
    method, the three inputs excluded. `vectors`: a .kv/.txt/.bin path, KeyedVectors or a
    TrainResult."""
    cfg = make_config(AnalogyConfig, config, **overrides)
    for name, word in (("a", a), ("b", b), ("c", c)):
        if not isinstance(word, str) or not word.strip():
            raise ReverieError(f"input {name} must be a word, got {word!r}")
    inputs = {"vectors": record_input(vectors), "a": {"value": a}, "b": {"value": b},
              "c": {"value": c}}
    start = time.perf_counter()
    vs = vector_set(vectors)
    question = [key(vs, w) for w in (a, b, c)]
    answers = {check_method(m): vs.analogy(*question, k=cfg.topn, method=m,
                                           restrict=cfg.restrict_vocab) for m in cfg.methods}
    progress(1, 1, "searched")
    result = AnalogyResult(question, answers, vs, mechanism="analogy", config=cfg,
                           inputs=inputs, timings={"search": time.perf_counter() - start})
    result.figures = {"question": f"{question[0]} : {question[1]} :: {question[2]} : ?",
                      "answers": result.rows(), "vocabulary": len(vs)}
    return result


def neighbors(vectors: Any, word: str, k: int = 10, restrict_vocab: int | None = None) -> list:
    """The k nearest words by cosine, as (word, cosine), best first."""
    vs = vector_set(vectors)
    return vs.nearest(key(vs, word), k=k, restrict=restrict_vocab)


def similarity(vectors: Any, a: str, b: str) -> float:
    vs = vector_set(vectors)
    return vs.similarity(key(vs, a), key(vs, b))


def odd_one_out(vectors: Any, words: Sequence[str]) -> tuple[str, list]:
    """The word least like the others, and every word's cosine to their mean."""
    vs = vector_set(vectors)
    return vs.odd_one_out([key(vs, w) for w in words])
