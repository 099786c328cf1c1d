"""reverie.latent.analogy: the model-agnostic arithmetic, checked against hand-computed values."""
import numpy as np
import pytest

from reverie.latent.analogy import Codec, VectorSet, analogy_scores, interpolate, offset, unit
from reverie.core.errors import ReverieError


def space():
    # 2-D so every cosine can be worked out by hand
    keys = ["a", "b", "c", "d1", "d2", "far"]
    vecs = np.array([[1, 0], [0, 1], [1, 1], [0.6, 0.8], [1, 2], [-1, 0]], dtype=np.float32)
    return VectorSet(vecs, keys)


def cos(u, v):
    u, v = np.asarray(u, float), np.asarray(v, float)
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


def test_3cosadd_and_3cosmul_match_hand_computation():
    vs = space()
    V = dict(zip(vs.keys, vs.vectors))
    for method in ("3cosadd", "3cosmul"):
        got = dict(vs.analogy("a", "b", "c", k=10, method=method))
        assert set(got) == {"d1", "d2", "far"}  # the inputs are excluded
        for d, score in got.items():
            ca, cb, cc = cos(V[d], V["a"]), cos(V[d], V["b"]), cos(V[d], V["c"])
            if method == "3cosadd":
                expected = cb - ca + cc
            else:  # Levy & Goldberg: cosines shifted to [0, 1], epsilon 0.001
                expected = ((cb + 1) / 2) * ((cc + 1) / 2) / ((ca + 1) / 2 + 0.001)
            assert score == pytest.approx(expected, abs=1e-5), (method, d)
    # a worked number: d1 = (0.6, 0.8): cos to a 0.6, to b 0.8, to c 1.4/sqrt(2)
    c_c = 1.4 / np.sqrt(2)
    assert dict(vs.analogy("a", "b", "c", method="3cosadd"))["d1"] == pytest.approx(0.8 - 0.6 + c_c, abs=1e-5)
    assert dict(vs.analogy("a", "b", "c", method="3cosmul"))["d1"] == pytest.approx(
        0.9 * (c_c + 1) / 2 / (0.8 + 0.001), abs=1e-5)


def test_methods_can_disagree_and_3cosmul_is_balanced():
    # one huge similarity dominates 3CosAdd's sum; 3CosMul asks for both b-ness and c-ness
    vs = VectorSet(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0.99, 0.14], [0, 0.6, 0.8], [1, 0, 0.01]],
                            dtype=np.float32), ["a", "b", "c", "mostly_b", "balanced", "junk"])
    add = vs.analogy("a", "b", "c", k=1, method="3cosadd")[0][0]
    mul = vs.analogy("a", "b", "c", k=1, method="3cosmul")[0][0]
    assert mul == "balanced"
    scores_add = dict(vs.analogy("a", "b", "c", method="3cosadd"))
    assert scores_add["balanced"] == pytest.approx(1.4, abs=1e-5)
    assert add in {"balanced", "mostly_b"}


def test_batch_rows_agree_with_single_analogies():
    rng = np.random.default_rng(0)
    vs = VectorSet(rng.normal(size=(50, 8)), [f"w{i}" for i in range(50)])
    q = rng.choice(50, size=(20, 3))
    q = q[[len(set(r)) == 3 for r in q]]
    for method in ("3cosadd", "3cosmul"):
        best = vs.analogy_rows(q[:, 0], q[:, 1], q[:, 2], method=method, batch=7)
        for (a, b, c), p in zip(q, best):
            assert vs.keys[p] == vs.analogy(vs.keys[a], vs.keys[b], vs.keys[c], k=1, method=method)[0][0]
    # restrict: answers only among the first rows
    best = vs.analogy_rows(q[:, 0], q[:, 1], q[:, 2], restrict=10)
    both = vs.analogy_rows(q[:, 0], q[:, 1], q[:, 2], method=["3cosadd", "3cosmul"], batch=5)
    assert np.array_equal(both["3cosadd"], vs.analogy_rows(q[:, 0], q[:, 1], q[:, 2]))
    assert np.array_equal(both["3cosmul"], vs.analogy_rows(q[:, 0], q[:, 1], q[:, 2], method="3cosmul"))
    assert (best < 10).all()


def test_nearest_excludes_query_and_given_items():
    vs = space()
    near = [k for k, _ in vs.nearest("c", k=3)]
    assert "c" not in near and near[0] == "d1"
    near = [k for k, _ in vs.nearest("c", k=3, exclude=["d1"])]
    assert "d1" not in near
    assert vs.similarity("a", "far") == pytest.approx(-1.0)
    # arithmetic is gensim's most_similar(positive, negative)
    top = vs.arithmetic(positive=["b", "c"], negative=["a"], k=1)[0][0]
    assert top == vs.analogy("a", "b", "c", k=1)[0][0]


def test_odd_one_out_and_interpolation():
    vs = space()
    odd, ranked = vs.odd_one_out(["b", "c", "d1", "far"])
    assert odd == "far" and ranked[0][0] == "far"
    path = interpolate(np.array([1.0, 0.0]), np.array([0.0, 1.0]), steps=3, method="slerp")
    assert np.allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-6)  # stays on the circle
    assert np.allclose(path[1], [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)
    lin = interpolate(np.array([1.0, 0.0]), np.array([0.0, 1.0]), steps=3)
    assert np.allclose(lin[1], [0.5, 0.5])
    walk = vs.interpolate("a", "b", steps=3)
    assert walk[0][0][0] == "a" and walk[-1][0][0] == "b"


def test_codec_decodes_the_offset():
    # a toy "generator": latent z -> an image-like array; encoder = its inverse
    W = np.array([[2.0, 0.0], [0.0, 3.0]])
    codec = Codec(encode=lambda img: np.linalg.solve(W, img), decode=lambda z: W @ z)
    a, b, c = np.array([2.0, 0.0]), np.array([2.0, 3.0]), np.array([4.0, 0.0])
    assert np.allclose(codec.analogy(a, b, c), [4.0, 3.0])
    assert np.allclose(offset([1, 0], [1, 1], [2, 0]), [2, 1])
    frames = codec.interpolate(a, b, steps=4)
    assert len(frames) == 4 and np.allclose(frames[-1], b)


def test_errors_are_reverie_errors_with_suggestions():
    vs = VectorSet(np.eye(3), ["queen", "king", "woman"], kind="word")
    with pytest.raises(ReverieError, match="did you mean queen"):
        vs.analogy("king", "quen", "woman")
    with pytest.raises(ReverieError, match="3cosadd or 3cosmul"):
        analogy_scores(np.zeros(2), np.zeros(2), np.zeros(2), method="cosine")
    with pytest.raises(ReverieError, match="dimension"):
        vs.nearest(np.zeros(5))
    with pytest.raises(ReverieError, match="NaN"):
        VectorSet(np.array([[np.nan, 1.0]]))
    assert np.allclose(np.linalg.norm(unit(np.array([[3.0, 4.0]])), axis=1), 1.0)
