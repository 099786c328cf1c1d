"""Word vectors: corpora, training, formats, reasoning, evaluation, plot, CLI and bad inputs."""
import json
import random

import numpy as np
import pytest

from reverie.cli import main
from reverie.core.errors import ReverieError
from reverie.words.corpus import Corpus, clean_gcide_entry, tokenize
from reverie.words.train import (analogy, evaluate_analogies, evaluate_similarity, load_vectors,
                           neighbors, odd_one_out, plot_analogies, save_vectors, similarity,
                           train_words)

# -- a corpus built so that king : queen :: man : woman holds ---------------------------

ROLES = {"royal": ["crown", "throne", "palace", "reign", "court"],
         "common": ["field", "market", "work", "village", "bread"],
         "young": ["toy", "school", "play", "game", "lesson"],
         "holy": ["church", "prayer", "altar", "temple", "chant"]}
GENDERS = {"male": ["he", "his", "him", "beard", "father"],
           "female": ["she", "her", "hers", "gown", "mother"]}
WORDS = {("royal", "male"): "king", ("royal", "female"): "queen",
         ("common", "male"): "man", ("common", "female"): "woman",
         ("young", "male"): "boy", ("young", "female"): "girl",
         ("holy", "male"): "monk", ("holy", "female"): "nun"}
FILLER = ["the", "a", "and", "of", "in", "was", "with", "to"]


def synthetic_text(n=2500, seed=0) -> str:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        role, gender = rng.choice(list(ROLES)), rng.choice(list(GENDERS))
        ctx = rng.sample(ROLES[role], 3) + rng.sample(GENDERS[gender], 3) + rng.sample(FILLER, 2)
        rng.shuffle(ctx)
        ctx.insert(4, WORDS[(role, gender)])
        lines.append(" ".join(ctx).capitalize() + ".")
    return "\n".join(lines) + "\n"


FAST = dict(vector_size=24, window=4, min_count=2, sample=0, epochs=12, negative=5, workers=1, seed=1)


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "roles.txt"
    path.write_text(synthetic_text())
    return path


@pytest.fixture(scope="module")
def trained(corpus_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "roles.kv"
    result = train_words([corpus_file], out=out, **FAST)
    return result, out


# -- corpora -----------------------------------------------------------------------------


def test_tokenizer_keeps_what_analogies_need():
    assert tokenize("The King's 2 crowns cost 1,000.50 -- didn't they? New-York!") == [
        "the", "king", "'s", "2", "crowns", "cost", "1,000.50", "didn't", "they", "new", "york"]
    assert tokenize("Paris is in France", lowercase=False) == ["Paris", "is", "in", "France"]
    assert tokenize("caf\u00e9 na\u00efve \u2019tis") == ["caf\u00e9", "na\u00efve", "tis"]


def test_gcide_markup_is_cleaned():
    raw = ('Calorimeter \\Cal`o*rim"e*ter\\, n. [L. calor heat + -meter; cf.\n'
           '   F. calorim[`e]tre.]\n   An apparatus for measuring heat; see {Bomb\n'
           '   calorimeter}. Caf[\'e] au lait.\n   [1913 Webster]\n'
           '         Satisfactory results.       --Nichol.\n')
    words = tokenize(clean_gcide_entry(raw))
    assert words[:3] == ["calorimeter", "n", "an"]
    assert "bomb" in words and "calorimeter" in words[5:] and "cafe" in words
    for junk in ("webster", "1913", "nichol", "l", "calor", "rim", "ter", "tre"):
        assert junk not in words


def test_corpus_streams_files_and_folders(tmp_path, corpus_file):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("One two three.\n\nFour five.\n")
    (tmp_path / "sub" / "b.txt").write_text("Six seven\n")
    sentences = list(Corpus([tmp_path]))
    assert sentences == [["one", "two", "three"], ["four", "five"], ["six", "seven"]]
    assert list(Corpus([tmp_path])) == sentences  # iterable again (word2vec makes passes)
    assert next(iter(Corpus("builtin:lee")))[:3] == ["hundreds", "of", "people"]


def test_missing_builtins_say_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("REVERIE_GCIDE", str(tmp_path / "nope.dict.dz"))
    with pytest.raises(ReverieError, match="apt-get install dict-gcide"):
        Corpus(["builtin:gcide"])
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ReverieError, match="apt-get install bible-kjv"):
        Corpus(["builtin:kjv"])
    monkeypatch.setenv("REVERIE_SHAKESPEARE", str(tmp_path / "nope.txt"))
    with pytest.raises(ReverieError, match="tinyshakespeare"):
        Corpus(["builtin:shakespeare"])
    with pytest.raises(ReverieError, match="did you mean builtin:gcide"):
        Corpus(["builtin:gcid"])


# -- training finds the analogy -----------------------------------------------------------


def test_training_finds_the_built_in_analogy(trained):
    result, out = trained
    kv = result.vectors
    for a, b, c, d in [("king", "queen", "man", "woman"), ("man", "woman", "boy", "girl"),
                       ("queen", "king", "girl", "boy"), ("king", "man", "queen", "woman")]:
        answers = analogy(kv, a, b, c, k=3)
        for method in ("3cosadd", "3cosmul"):
            assert answers[method][0][0] == d, (a, b, c, method, answers[method])
    # neighbours share a role or a gender; the odd one out is the one of another role
    assert {w for w, _ in neighbors(kv, "king", k=3)} & {"queen", "man", "monk"}
    assert odd_one_out(kv, ["king", "man", "boy", "monk", "girl"])[0] == "girl"
    assert similarity(kv, "king", "queen") > similarity(kv, "king", "lesson")
    # saved with a sidecar recording every parameter and the figures
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["config"]["vector_size"] == 24 and side["config"]["sg"] == 0
    assert side["words"] == result.stats["words"] > 20000 and side["vocabulary"] == len(kv)
    assert side["words_per_second"] > 0


def test_same_seed_and_one_worker_give_the_same_vectors(corpus_file, trained):
    again = train_words([corpus_file], **FAST).vectors
    assert np.array_equal(again.vectors, trained[0].vectors.vectors)
    other = train_words([corpus_file], **{**FAST, "seed": 2, "epochs": 1}).vectors
    assert not np.array_equal(other.vectors, trained[0].vectors.vectors)


def test_progress_reports_epochs_and_words_per_second(corpus_file):
    calls = []
    train_words([corpus_file], progress=lambda d, t, m="": calls.append((d, t, m)),
                **{**FAST, "epochs": 3, "sg": 1, "phrases": True})
    epochs = [c for c in calls if c[1] == 3]
    assert [c[0] for c in epochs] == [0, 1, 2, 3]
    assert "words/s" in epochs[-1][2] and "epoch 3/3" in epochs[-1][2]


# -- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize("name,fmt", [("v.kv", "kv"), ("v.txt", "text"), ("v.bin", "binary"),
                                      ("v.vec", "text"), ("v.txt.gz", "text"), ("v.bin.gz", "binary")])
def test_save_load_round_trip(trained, tmp_path, name, fmt):
    kv = trained[0].vectors
    path = save_vectors(kv, tmp_path / name)
    back = load_vectors(path)
    assert back.index_to_key == kv.index_to_key
    assert np.allclose(back.vectors, kv.vectors, atol=1e-5)
    assert json.loads(path.with_suffix(".json").read_text())["format"] == fmt


def test_glove_style_text_without_header_loads(tmp_path):
    (tmp_path / "g.txt").write_text("cat 0.1 0.2 0.3\ndog 0.2 0.1 0.3\n")
    kv = load_vectors(tmp_path / "g.txt")
    assert kv.vector_size == 3 and kv.index_to_key == ["cat", "dog"]


# -- evaluation --------------------------------------------------------------------------


def hand_vectors():
    from gensim.models import KeyedVectors
    # gender on axis 0, role on axes 1-3 (orthogonal): every offset analogy holds exactly
    words = {"king": [1, 1, 0, 0], "queen": [-1, 1, 0, 0], "man": [1, 0, 1, 0], "woman": [-1, 0, 1, 0],
             "boy": [1, 0, 0, 1], "girl": [-1, 0, 0, 1], "paris": [0, 0.3, -1, -1],
             "france": [0, 0.5, -1.2, -1]}
    kv = KeyedVectors(4)
    kv.add_vectors(list(words), np.array(list(words.values()), dtype=np.float32))
    return kv


def test_evaluation_counts_coverage_and_accuracy(tmp_path):
    q = tmp_path / "q.txt"
    q.write_text(": family\nking queen man woman\nman woman king queen\nKing Queen Boy Girl\n"
                 "king queen prince princess\n: gram-plural\nman woman zzz yyy\nboy girl king woman\n")
    report = evaluate_analogies(hand_vectors(), q)
    fam, plural = report["sections"]
    assert (fam["questions"], fam["covered"]) == (4, 3)          # "prince" is unknown
    assert fam["coverage"] == pytest.approx(0.75)
    assert fam["correct_3cosadd"] == 3 and fam["correct_3cosmul"] == 3  # case-insensitive
    assert (plural["questions"], plural["covered"], plural["correct_3cosadd"]) == (2, 1, 0)
    total = report["total"]
    assert (total["questions"], total["covered"], total["correct_3cosadd"]) == (6, 4, 3)
    assert total["accuracy_3cosadd"] == pytest.approx(0.75)
    assert total["accuracy_all_3cosadd"] == pytest.approx(0.5)
    assert report["semantic"]["covered"] == 3 and report["syntactic"]["covered"] == 1
    # restrict_vocab: only the first 4 words count, so only king/queen/man/woman questions
    assert evaluate_analogies(hand_vectors(), q, restrict_vocab=4)["total"]["covered"] == 2


def test_wordsim_spearman_over_covered_pairs(tmp_path):
    pairs = tmp_path / "ws.tsv"
    pairs.write_text("# header\nking\tqueen\t8\nking\tman\t6\nking\tgirl\t1\nqueen\twoman\t7\n"
                     "unicorn\tking\t5\n")
    sim = evaluate_similarity(hand_vectors(), pairs)
    assert (sim["pairs"], sim["covered"]) == (5, 4)
    assert -1 <= sim["spearman"] <= 1
    assert evaluate_similarity(hand_vectors())["pairs"] == 353


def test_plot_writes_figure_and_sidecar(trained, tmp_path):
    out = tmp_path / "fig.png"
    fig = plot_analogies(trained[0].vectors, ["man", "woman", "king", "queen", "boy", "girl"], out)
    assert out.stat().st_size > 5000 and out.read_bytes()[:4] == b"\x89PNG"
    assert fig["offset_cosine_mean"] > 0.5  # the gender offsets are parallel
    assert json.loads(out.with_suffix(".json").read_text())["pairs"][0] == ["man", "woman"]


# -- the command line --------------------------------------------------------------------


def test_cli_train_analogy_evaluate_convert(corpus_file, tmp_path, capsys):
    kv = tmp_path / "m.kv"
    assert main(["words", "train", str(corpus_file), "--out", str(kv), "--vector-size", "24",
                 "--window", "4", "--min-count", "2", "--sample", "0", "--epochs", "12",
                 "--workers", "1", "--seed", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["words", "analogy", str(kv), "king", "queen", "man", "--json", "-k", "3"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["3cosadd"][0]["word"] == "woman" and res["3cosmul"][0]["word"] == "woman"
    assert main(["words", "evaluate", str(kv), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["analogies"]["total"]["questions"] == 19544
    assert main(["words", "convert", str(kv), str(tmp_path / "m.bin")]) == 0
    assert main(["words", "neighbors", str(tmp_path / "m.bin"), "queen", "-k", "2"]) == 0
    assert main(["words", "odd-one-out", str(kv), "king", "queen", "nun", "toy"]) == 0
    assert main(["words", "similarity", str(kv), "king", "queen"]) == 0
    assert main(["words", "plot", str(kv), "man", "woman", "king", "queen", "--out",
                 str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").exists()


def _fails(argv, capsys, *must_say, no_file=None):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("error: ") and "\n" not in err, err
    for text in must_say:
        assert text in err, err
    if no_file is not None:
        assert not no_file.exists()
        assert not list(no_file.parent.glob(f".{no_file.stem}*"))  # no temp left behind
    return err


def test_cli_bad_corpora(tmp_path, capsys):
    out = tmp_path / "out.kv"
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    _fails(["words", "train", str(empty), "--out", str(out)], capsys, "empty", no_file=out)
    punct = tmp_path / "punct.txt"
    punct.write_text("... !!! ---\n")
    _fails(["words", "train", str(punct), "--out", str(out)], capsys, "no words", no_file=out)
    binary = tmp_path / "data.bin.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    _fails(["words", "train", str(binary), "--out", str(out)], capsys, "binary", no_file=out)
    few = tmp_path / "few.txt"
    few.write_text("a few words only here\n")
    _fails(["words", "train", str(few), "--out", str(out)], capsys, "min_count=5",
           "--min-count", no_file=out)
    _fails(["words", "train", str(tmp_path / "missing.txt"), "--out", str(out)], capsys,
           "not found", no_file=out)
    _fails(["words", "train", str(few), "--out", str(tmp_path / "v.weird")], capsys, ".kv")


def test_cli_bad_words_and_vectors(trained, tmp_path, capsys):
    kv = str(trained[1])
    err = _fails(["words", "analogy", kv, "king", "qeen", "man"], capsys, "unknown word 'qeen'")
    assert "did you mean queen" in err
    _fails(["words", "neighbors", kv, "xyzzy"], capsys, "unknown word")
    _fails(["words", "plot", kv, "king", "queen", "man", "--out", str(tmp_path / "p.png")],
           capsys, "pairs", no_file=tmp_path / "p.png")
    # wrong formats
    garbage = tmp_path / "g.bin"
    garbage.write_bytes(b"\x00\x01garbage" * 100)
    _fails(["words", "neighbors", str(garbage), "king"], capsys, "not a vectors file")
    notkv = tmp_path / "t.kv"
    notkv.write_text("2 3\ncat 1 2 3\ndog 1 2 3\n")
    _fails(["words", "neighbors", str(notkv), "cat"], capsys, "not a gensim .kv file")
    badpickle = tmp_path / "b.kv"
    badpickle.write_bytes(b"\x80\x04garbage")
    _fails(["words", "neighbors", str(badpickle), "cat"], capsys, "b.kv")
    # wrong dimension: a row shorter than the header says, and a different dimension
    short = tmp_path / "short.txt"
    short.write_text("2 3\ncat 1 2 3\ndog 1 2\n")
    out = tmp_path / "conv.bin"
    _fails(["words", "convert", str(short), str(out)], capsys, "not valid text vectors", no_file=out)
    good = tmp_path / "good.txt"
    good.write_text("2 3\ncat 1 2 3\ndog 1 2 4\n")
    _fails(["words", "convert", str(good), str(out), "--expect-dim", "100"], capsys,
           "3-dimensional", no_file=out)
    txt_as_bin = tmp_path / "good.bin"
    txt_as_bin.write_text("2 3\ncat 1 2 3\ndog 1 2 4\n")
    _fails(["words", "neighbors", str(txt_as_bin), "cat"], capsys, "word2vec text, not binary")
    _fails(["words", "neighbors", str(tmp_path / "none.kv"), "cat"], capsys, "not found")


def test_gallery_section_quick(tmp_path):
    import torch
    from reverie.gallery import GalleryContext
    from reverie.gallery.words import build

    ctx = GalleryContext(tmp_path / "g", tmp_path / "cache", True, torch.device("cpu"))
    section = build(ctx)
    assert section.cards and any(c.media for c in section.cards)
    assert "<table" in "".join(c.html for c in section.cards)
    for card in section.cards:
        for m in card.media:
            assert (ctx.out_dir / m).exists()
