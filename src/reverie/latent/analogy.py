"""One arithmetic for every latent space: A : B :: C : ?, interpolation, nearest neighbours.

Mikolov et al. (2013) found that vectors learned by a network line up so that
`king - man + woman` lands near `queen`. The point holds in any learned representation
(word vectors, a GAN's latent space, a music model's codes), so this module knows nothing
about words: it works on

- a `VectorSet`: rows of a matrix, optionally named by keys (words, image names, ...);
  analogies and neighbours are searched among its rows, or
- a `Codec`: an encoder and a decoder (e.g. a GAN's inversion and generator); analogies
  are computed in the latent space and decoded back.

Conventions. "A is to B as C is to D": D is sought near `B - A + C` (Mikolov's
`king - man + woman`, i.e. man : king :: woman : queen). Two ways to score a candidate d
among unit vectors, after Levy & Goldberg (2014), "Linguistic regularities in sparse and
explicit word representations":

- 3CosAdd: `cos(d, b) - cos(d, a) + cos(d, c)` (ranks exactly like the cosine to `b - a + c`
  of unit vectors, which is what word2vec's compute-accuracy and gensim's most_similar use);
- 3CosMul: `cos'(d, b) * cos'(d, c) / (cos'(d, a) + eps)` with cosines shifted to [0, 1]
  by `cos' = (cos + 1) / 2` and `eps = 0.001`: one large similarity can no longer
  dominate the sum, which usually answers more questions right.

The three inputs are excluded from the answers by default, as in every published
evaluation (otherwise `b` itself is often the nearest point).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Sequence

import numpy as np

from reverie.core.errors import ReverieError

EPSILON = 1e-3  # Levy & Goldberg's epsilon for 3CosMul
METHODS = ("3cosadd", "3cosmul")


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def offset(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The point D of "A is to B as C is to D": B - A + C."""
    return np.asarray(b) - np.asarray(a) + np.asarray(c)


def check_method(method: str) -> str:
    m = method.lower().replace("-", "").replace("_", "")
    if m in ("add", "cosadd"):
        m = "3cosadd"
    if m in ("mul", "cosmul"):
        m = "3cosmul"
    if m not in METHODS:
        raise ReverieError(f"unknown analogy method {method!r}; use 3cosadd or 3cosmul")
    return m


def analogy_scores(cos_a: np.ndarray, cos_b: np.ndarray, cos_c: np.ndarray,
                   method: str = "3cosadd", eps: float = EPSILON) -> np.ndarray:
    """Score candidates for "A is to B as C is to ?" from their cosines to a, b and c.

    Any shape works (one row per question, one column per candidate, say).
    """
    method = check_method(method)
    if method == "3cosadd":
        return cos_b - cos_a + cos_c
    sa, sb, sc = ((np.asarray(x) + 1.0) / 2.0 for x in (cos_a, cos_b, cos_c))
    return sb * sc / (sa + eps)


def interpolate(a: np.ndarray, b: np.ndarray, steps: int = 8, method: str = "linear") -> np.ndarray:
    """`steps` points from a to b (both included): straight line, or `slerp` (along the
    great circle, the usual choice for a Gaussian latent space such as a GAN's)."""
    if steps < 2:
        raise ReverieError(f"interpolation needs at least 2 steps, got {steps}; give 2 or more")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ReverieError(f"cannot interpolate between vectors of shapes {a.shape} and {b.shape}; "
                           f"give vectors from the same space")
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if method == "linear":
        return ((1 - t) * a + t * b).astype(np.float32)
    if method != "slerp":
        raise ReverieError(f"unknown interpolation {method!r}; use linear or slerp")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return ((1 - t) * a + t * b).astype(np.float32)
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    so = np.sin(omega)
    return (np.sin((1 - t) * omega) / so * a + np.sin(t * omega) / so * b).astype(np.float32)


class VectorSet:
    """Vectors (rows) with optional keys; the search space for neighbours and analogies.

    Rows are assumed ordered by importance (for words: frequency), so `restrict=N` searches
    the first N rows only, as `restrict_vocab` does in word2vec's and gensim's evaluations.
    """

    def __init__(self, vectors: np.ndarray, keys: Sequence[Hashable] | None = None,
                 kind: str = "item"):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] == 0 or vectors.shape[1] == 0:
            raise ReverieError(f"need a non-empty matrix of vectors (rows), got shape {vectors.shape}")
        if not np.isfinite(vectors).all():
            raise ReverieError("the vectors hold NaN or infinite values; retrain or re-export them")
        self.vectors = vectors
        self.keys = list(keys) if keys is not None else list(range(len(vectors)))
        if len(self.keys) != len(vectors):
            raise ReverieError(f"{len(self.keys)} keys for {len(vectors)} vectors; give one key per row")
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.kind = kind  # used in messages: "word", "image", ...
        self._unit: np.ndarray | None = None

    @classmethod
    def from_keyed_vectors(cls, kv: Any, kind: str = "word") -> "VectorSet":
        """A gensim KeyedVectors (rows already in frequency order)."""
        return cls(kv.vectors, kv.index_to_key, kind=kind)

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.index

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def unit_vectors(self) -> np.ndarray:
        if self._unit is None:
            self._unit = unit(self.vectors)
        return self._unit

    # -- lookups -------------------------------------------------------------------------

    def suggest(self, key: Hashable, n: int = 3) -> list[str]:
        """Keys spelled closely to an unknown key (searched among the first 50,000)."""
        if not isinstance(key, str):
            return []
        pool = [k for k in self.keys[:50_000] if isinstance(k, str)]
        return difflib.get_close_matches(key, pool, n=n, cutoff=0.75)

    def row(self, key: Hashable) -> int:
        """The row of a key; an unknown key is a ReverieError with close spellings."""
        i = self.index.get(key)
        if i is None and isinstance(key, str) and key.lower() in self.index:
            i = self.index[key.lower()]
        if i is None:
            close = self.suggest(key)
            hint = f" (did you mean {', '.join(map(str, close))}?)" if close else ""
            raise ReverieError(f"unknown {self.kind} {key!r}{hint}; it is not among the "
                               f"{len(self):,} {self.kind}s of these vectors: check the spelling "
                               f"or retrain with a corpus that has it (or a lower min_count)")
        return i

    def vector(self, item: Hashable | np.ndarray, normalize: bool = False) -> np.ndarray:
        """A key's vector, or a given vector passed through (checked for dimension)."""
        if isinstance(item, np.ndarray):
            if item.shape != (self.dim,):
                raise ReverieError(f"a vector of shape {item.shape} does not fit vectors of "
                                   f"dimension {self.dim}; give one from the same space")
            v = item.astype(np.float32)
            return unit(v) if normalize else v
        i = self.row(item)
        return self.unit_vectors[i] if normalize else self.vectors[i]

    def _rows(self, items: Iterable[Hashable | np.ndarray]) -> list[int]:
        return [self.row(x) for x in items if not isinstance(x, np.ndarray)]

    def _cosines(self, v: np.ndarray, restrict: int | None) -> np.ndarray:
        space = self.unit_vectors if restrict is None else self.unit_vectors[:restrict]
        return space @ unit(v)

    def _top(self, scores: np.ndarray, k: int, exclude: Iterable[int]) -> list[tuple[Hashable, float]]:
        scores = scores.astype(np.float64, copy=True)
        for i in exclude:
            if i < len(scores):
                scores[i] = -np.inf
        k = max(0, min(k, int(np.isfinite(scores).sum())))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.keys[i], float(scores[i])) for i in top]

    # -- the arithmetic ------------------------------------------------------------------

    def similarity(self, a: Hashable | np.ndarray, b: Hashable | np.ndarray) -> float:
        """Cosine similarity of two items."""
        return float(np.dot(self.vector(a, True), self.vector(b, True)))

    def nearest(self, query: Hashable | np.ndarray, k: int = 10, exclude: Iterable[Hashable] = (),
                restrict: int | None = None, exclude_query: bool = True) -> list[tuple[Hashable, float]]:
        """The k nearest items by cosine, best first, as (key, cosine).

        The query itself (when it is a key) and every key in `exclude` are left out."""
        v = self.vector(query)
        skip = self._rows(exclude)
        if exclude_query and not isinstance(query, np.ndarray):
            skip.append(self.row(query))
        return self._top(self._cosines(v, restrict), k, skip)

    def arithmetic(self, positive: Sequence[Hashable | np.ndarray] = (),
                   negative: Sequence[Hashable | np.ndarray] = (), k: int = 10,
                   restrict: int | None = None, exclude_inputs: bool = True,
                   ) -> list[tuple[Hashable, float]]:
        """Nearest items (by cosine) to the sum of the unit positives minus the unit
        negatives: `arithmetic(["king", "woman"], ["man"])` is king - man + woman."""
        if not positive and not negative:
            raise ReverieError("vector arithmetic needs at least one item")
        total = np.zeros(self.dim, dtype=np.float32)
        for x in positive:
            total += self.vector(x, True)
        for x in negative:
            total -= self.vector(x, True)
        skip = self._rows([*positive, *negative]) if exclude_inputs else []
        return self._top(self._cosines(total, restrict), k, skip)

    def analogy(self, a: Hashable | np.ndarray, b: Hashable | np.ndarray, c: Hashable | np.ndarray,
                k: int = 10, method: str = "3cosadd", restrict: int | None = None,
                exclude_inputs: bool = True, eps: float = EPSILON) -> list[tuple[Hashable, float]]:
        """"A is to B as C is to ?": the k best answers with their 3CosAdd or 3CosMul scores."""
        space = self.unit_vectors if restrict is None else self.unit_vectors[:restrict]
        cos = space @ np.stack([self.vector(x, True) for x in (a, b, c)]).T  # (n, 3)
        scores = analogy_scores(cos[:, 0], cos[:, 1], cos[:, 2], method, eps)
        skip = self._rows([a, b, c]) if exclude_inputs else []
        return self._top(scores, k, skip)

    def analogy_rows(self, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                     method: str | Sequence[str] = "3cosadd", restrict: int | None = None,
                     batch: int = 1024, eps: float = EPSILON) -> np.ndarray | dict[str, np.ndarray]:
        """Batch form for evaluations: rows a, b, c (int arrays, one question each) to the
        best row per question, the three inputs excluded. With a list of methods, a dict
        {method: best rows}; the cosines are computed once for all of them."""
        methods = [check_method(method)] if isinstance(method, str) else [check_method(m) for m in method]
        space = self.unit_vectors if restrict is None else self.unit_vectors[:restrict]
        a, b, c = (np.asarray(x, dtype=np.int64) for x in (a, b, c))
        best = {m: np.empty(len(a), dtype=np.int64) for m in methods}
        U = self.unit_vectors
        for s in range(0, len(a), batch):
            sl = slice(s, s + batch)
            q = np.arange(len(a[sl]))
            if methods == ["3cosadd"]:
                # cos(d,b) - cos(d,a) + cos(d,c) = d . (b - a + c) for unit vectors: one product
                per = {"3cosadd": (U[b[sl]] - U[a[sl]] + U[c[sl]]) @ space.T}
            else:
                ca, cb, cc = (U[r[sl]] @ space.T for r in (a, b, c))
                per = {m: analogy_scores(ca, cb, cc, m, eps) for m in methods}
            for m, scores in per.items():
                for rows in (a[sl], b[sl], c[sl]):
                    inside = rows < scores.shape[1]
                    scores[q[inside], rows[inside]] = -np.inf
                best[m][sl] = scores.argmax(axis=1)
        return best[methods[0]] if isinstance(method, str) else best

    def odd_one_out(self, items: Sequence[Hashable]) -> tuple[Hashable, list[tuple[Hashable, float]]]:
        """The item least like the others: lowest cosine to the mean of the unit vectors
        (gensim's doesnt_match). Returns it and every item's cosine to that mean."""
        if len(items) < 3:
            raise ReverieError(f"odd-one-out needs at least 3 items, got {len(items)}; give more")
        vs = np.stack([self.vector(x, True) for x in items])
        mean = unit(vs.mean(axis=0))
        cos = vs @ mean
        ranked = sorted(zip(items, cos.tolist()), key=lambda t: t[1])
        return ranked[0][0], ranked

    def interpolate(self, a: Hashable | np.ndarray, b: Hashable | np.ndarray, steps: int = 8,
                    method: str = "linear", k: int = 1, restrict: int | None = None,
                    ) -> list[list[tuple[Hashable, float]]]:
        """Walk from a to b; at each step, the nearest items to the point."""
        path = interpolate(self.vector(a), self.vector(b), steps, method)
        return [self._top(self._cosines(p, restrict), k, []) for p in path]


@dataclass
class Codec:
    """A latent space reached through an encoder and left through a decoder.

    `encode(x) -> np.ndarray` (one latent vector), `decode(z) -> anything` (an image, a
    score, ...). Either may be None when only one direction exists: without an encoder,
    give latent vectors directly; without a decoder, results stay latent vectors. With an
    encoder, every input goes through it (images are arrays too).
    """
    encode: Callable[[Any], np.ndarray] | None = None
    decode: Callable[[np.ndarray], Any] | None = None

    def _z(self, x: Any) -> np.ndarray:
        if self.encode is None:  # inputs are latent vectors already
            return np.asarray(x, dtype=np.float32)
        return np.asarray(self.encode(x), dtype=np.float32)

    def _out(self, z: np.ndarray) -> Any:
        return self.decode(z) if self.decode is not None else z

    def analogy(self, a: Any, b: Any, c: Any) -> Any:
        """A is to B as C is to: decode(enc(B) - enc(A) + enc(C))."""
        za, zb, zc = self._z(a), self._z(b), self._z(c)
        if not (za.shape == zb.shape == zc.shape):
            raise ReverieError(f"latent vectors of different shapes {za.shape}, {zb.shape}, "
                               f"{zc.shape}; encode inputs of the same kind")
        return self._out(offset(za, zb, zc))

    def interpolate(self, a: Any, b: Any, steps: int = 8, method: str = "linear") -> list[Any]:
        return [self._out(z) for z in interpolate(self._z(a), self._z(b), steps, method)]
