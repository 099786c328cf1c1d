"""Word vectors: corpora, training, formats, reasoning, evaluation, plot, CLI, rerun and bad inputs."""
import json
import random

import numpy as np
import pytest

from conftest import Previews, assert_one_line_error, assert_rerun_identical
from reverie.core.config import ConfigError
from reverie.core.errors import ReverieError
from reverie.words.analogy import analogy, neighbors, odd_one_out, similarity
from reverie.words.corpus import Corpus, clean_gcide_entry, tokenize
from reverie.words.evaluate import evaluate_analogies, evaluate_similarity
from reverie.words.plot import plot_analogies
from reverie.words.train import WordsConfig, load_words, train_words
from reverie.words.vectors import load_vectors, save_vectors

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


def test_webster_keeps_only_the_paragraphs_gcide_sources_to_webster_1913(monkeypatch, tmp_path):
    import gzip
    blocks = ['Alpha \\Al"pha\\, n. The first letter.\n   [1913 Webster]',
              "Bravo, n. A newer word.\n   [Webster 1913 Suppl.]",
              "Charlie, n. Added by an editor.\n   [PJC]",
              "Delta, n. Edited since.\n   [1913 Webster +PJC]",
              "Echo, n. From the network.\n   [WordNet 1.5]",
              "Foxtrot, n. Untagged.",
              "Golf, n. A game.\n   [1913 Webster]",
              "   {Golf club}, a stick to strike the ball with.",  # its tag is the next one's
              "   {Golf links}, the ground.\n   [1913 Webster]",
              "Hotel, n. [F. h\u00f4tel. See {Century}.] An inn.\n   [1913 Webster]",
              "   {Hotel car}, a sleeping car.\n   [PJC]"]
    path = tmp_path / "gcide.dict.dz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("header\n0 \\0\\ adj.\n   zero\n   [WordNet 1.5]\n\n"
                + "\n\n".join(blocks) + "\n")
    monkeypatch.setenv("REVERIE_GCIDE", str(path))
    firsts = [s[0] for s in Corpus(["builtin:webster"])]
    assert firsts == ["alpha", "bravo", "golf", "golf", "golf", "hotel"]  # an etymology
    # naming {Century} is not a source
    assert [s[0] for s in Corpus(["builtin:gcide"])] == [
        "0", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "golf", "golf",
        "hotel", "hotel"]


def test_corpus_streams_files_folders_and_builtins(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("One two three.\n\nFour five.\n")
    (tmp_path / "sub" / "b.txt").write_text("Six seven\n")
    sentences = list(Corpus([tmp_path]))
    assert sentences == [["one", "two", "three"], ["four", "five"], ["six", "seven"]]
    assert list(Corpus([tmp_path])) == sentences  # iterable again (word2vec makes passes)
    assert next(iter(Corpus("builtin:lee")))[:3] == ["hundreds", "of", "people"]
    # tiny-shakespeare ships inside the package: one speech per sentence
    assert next(iter(Corpus("builtin:shakespeare")))[:4] == ["first", "citizen", "before", "we"]


def test_missing_or_wrong_builtins_say_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("REVERIE_GCIDE", str(tmp_path / "nope.dict.dz"))
    with pytest.raises(ReverieError, match="apt-get install dict-gcide"):
        Corpus(["builtin:gcide"])
    with pytest.raises(ReverieError, match="did you mean builtin:gcide"):
        Corpus(["builtin:gcid"])
    with pytest.raises(ReverieError, match="builtin:drugs is a labelled data set, not running text"):
        Corpus(["builtin:drugs"])
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ReverieError, match="apt-get install bible-kjv"):
        Corpus(["builtin:kjv"])


# -- training finds the analogy -----------------------------------------------------------


def test_training_finds_the_built_in_analogy(trained):
    result, out = trained
    kv = result.vectors
    for a, b, c, d in [("king", "queen", "man", "woman"), ("man", "woman", "boy", "girl"),
                       ("queen", "king", "girl", "boy"), ("king", "man", "queen", "woman")]:
        answers = analogy(kv, a, b, c, topn=3).answers
        for method in ("3cosadd", "3cosmul"):
            assert answers[method][0][0] == d, (a, b, c, method, answers[method])
    # neighbours share a role or a gender; the odd one out is the one of another role
    assert {w for w, _ in neighbors(kv, "king", k=3)} & {"queen", "man", "monk"}
    assert odd_one_out(kv, ["king", "man", "boy", "monk", "girl"])[0] == "girl"
    assert similarity(kv, "king", "queen") > similarity(kv, "king", "lesson")
    # saved with the standard sidecar: every field, what workers became, the figures
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["mechanism"] == "train_words" and side["deterministic"] is True
    assert side["config"]["vector_size"] == 24 and side["config"]["sg"] is False
    assert side["figures"]["words"] == result.figures["words"] > 20000
    assert side["figures"]["vocabulary"] == len(kv) and side["figures"]["words_per_second"] > 0
    assert side["inputs"]["corpus"]["many"][0]["sha256"]
    assert np.array_equal(load_words(out).vectors, kv.vectors)  # KeyedVectors, no training state


def test_same_seed_and_one_worker_give_the_same_vectors(corpus_file, trained):
    again = train_words([corpus_file], **FAST).vectors
    assert np.array_equal(again.vectors, trained[0].vectors.vectors)
    other = train_words([corpus_file], **{**FAST, "seed": 2, "epochs": 1}).vectors
    assert not np.array_equal(other.vectors, trained[0].vectors.vectors)


def test_threads_make_a_run_not_reproducible_and_say_so(corpus_file):
    result = train_words([corpus_file], **{**FAST, "workers": 2, "epochs": 1})
    assert result.deterministic is False and result.resolved["workers"] == 2
    assert any("workers=1" in note for note in result.notes)


def test_progress_reports_epochs_and_words_per_second(corpus_file):
    calls = []
    train_words([corpus_file], progress=lambda d, t, m="": calls.append((d, t, m)),
                **{**FAST, "epochs": 3, "sg": True, "phrases": True})
    epochs = [c for c in calls if c[1] == 3]
    assert [c[0] for c in epochs] == [0, 1, 2, 3]
    assert "words/s" in epochs[-1][2] and "epoch 3/3" in epochs[-1][2]


def test_training_previews_the_space_as_it_forms(corpus_file):
    watch = Previews()
    result = train_words([corpus_file], progress=watch, **{**FAST, "epochs": 2})
    assert len(watch.seen) == 2 and watch.seen[-1].startswith("after epoch 2/2")
    word, near = watch.seen[-1].splitlines()[1].strip().split(": ")
    near = near.split(", ")
    assert len(set(near)) == 6 and word not in near
    assert all(w in result.vectors.key_to_index for w in [word, *near])


def test_config_errors_name_fields_not_flags():
    with pytest.raises(ConfigError, match="vector_size: must be at least 1") as e:
        WordsConfig(vector_size=0)
    assert e.value.field == "vector_size" and "--" not in str(e.value)
    with pytest.raises(ConfigError, match="hierarchical softmax") as e:
        WordsConfig(negative=0)
    assert e.value.field == "negative" and "--" not in str(e.value)
    assert WordsConfig(negative=0, hs=True).hs is True
    with pytest.raises(ReverieError, match="no field epoch .*did you mean epochs"):
        train_words(["builtin:lee"], epoch=3)


# -- the rerun reproduces every output byte for byte ---------------------------------------


def test_rerun_reproduces_trained_vectors_and_an_analogy(trained, tmp_path):
    result, out = trained
    paths = {"vectors": out, "sidecar": out.with_suffix(".json")}
    assert_rerun_identical(paths, tmp_path)
    answers = analogy(out, "king", "queen", "man", topn=4, methods=["3cosmul"])
    paths = answers.save(tmp_path / "kqm.json")
    assert json.loads(paths["answers"].read_text())["answers"]["3cosmul"][0]["word"] == "woman"
    again = assert_rerun_identical(paths, tmp_path / "again")
    assert json.loads(again["sidecar"].read_text())["inputs"]["a"] == {"value": "king"}
    text = answers.save(tmp_path / "kqm.txt")
    assert text["answers"].read_text().splitlines()[0] == "king is to queen as man is to ..."
    assert_rerun_identical(text, tmp_path / "text")


# -- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v.kv", "v.txt", "v.bin", "v.vec", "v.txt.gz", "v.bin.gz",
                                  "v.pt"])
def test_save_load_round_trip(trained, tmp_path, name):
    kv = trained[0].vectors
    path = save_vectors(kv, tmp_path / name)
    back = load_vectors(path)
    assert back.index_to_key == kv.index_to_key
    assert np.allclose(back.vectors, kv.vectors, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp file, no sidecar


def test_vectors_from_the_zoo_load_without_pickle(trained, tmp_path, monkeypatch, cli):
    """A vectors model exported to a zoo comes back from model:NAME through safetensors and
    JSON alone, with the same words, counts and nearest neighbours as the original."""
    import pickle

    import torch

    from reverie import zoo
    from reverie.words.vectors import to_checkpoint

    result = trained[0]
    kv = result.vectors
    ckpt = to_checkpoint(kv, result.config.to_dict())
    card = {"title": "tiny vectors", "uses": ["analogy"], "data": "planted roles",
            "licence": "CC0", "recipe": "reverie words train X --out {out}", "hardware": "cpu",
            "steps": 12, "wall_seconds": 1.0, "figures": {}, "short_budget": {},
            "baseline": {}}
    zoo.export(ckpt, "tinywords", tmp_path, card)
    monkeypatch.setenv("REVERIE_ZOO", str(tmp_path))

    def refuse(*args, **kwargs):
        raise AssertionError("a zoo model must load without unpickling")
    for module, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
        monkeypatch.setattr(module, name, refuse)
    back = load_vectors("model:tinywords")
    assert back.index_to_key == kv.index_to_key
    assert [back.get_vecattr(w, "count") for w in ("king", "the")] == \
        [kv.get_vecattr(w, "count") for w in ("king", "the")]
    for word in ("king", "queen", "crown", "the"):
        assert [w for w, _ in back.most_similar(word, topn=5)] == \
            [w for w, _ in kv.most_similar(word, topn=5)]
    assert analogy("model:tinywords", "man", "king", "woman", topn=1).answers["3cosmul"][0][0] \
        == "queen"
    code, out, err = cli("words", "neighbours", "model:tinywords", "king", "--topn", "3")
    assert code == 0, err
    assert out.split()[1] == kv.most_similar("king", topn=1)[0][0]
    # a zoo model of another kind is refused in one line
    zoo.export({"format": "reverie-charlm", "model": {"w": torch.zeros(2)}}, "other", tmp_path,
               card)
    _fails(cli, "words", "neighbours", "model:other", "king", must_say=["not word vectors"])


def test_glove_style_text_without_header_loads(tmp_path):
    (tmp_path / "g.txt").write_text("cat 0.1 0.2 0.3\ndog 0.2 0.1 0.3\n")
    kv = load_vectors(tmp_path / "g.txt")
    assert kv.vector_size == 3 and kv.index_to_key == ["cat", "dog"]


def test_convert_keeps_the_training_sidecar(trained, tmp_path, cli):
    import shutil
    kv = tmp_path / "lee.kv"
    shutil.copy(trained[1], kv)
    shutil.copy(trained[1].with_suffix(".json"), tmp_path / "lee.json")
    before = (tmp_path / "lee.json").read_bytes()
    code, out, err = cli("words", "convert", kv, tmp_path / "lee.bin", "--json")
    assert code == 0, err
    assert json.loads(out)["format"] == "binary"
    assert (tmp_path / "lee.json").read_bytes() == before  # the training record survives
    record = json.loads((tmp_path / "lee.bin.json").read_text())
    assert record["command"] == "words convert" and record["input"]["sha256"]
    assert load_vectors(tmp_path / "lee.bin").index_to_key == trained[0].vectors.index_to_key


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


def test_plot_writes_figure_and_record(trained, tmp_path):
    out = tmp_path / "fig.png"
    fig = plot_analogies(trained[0].vectors, ["man", "woman", "king", "queen", "boy", "girl"], out)
    assert out.stat().st_size > 5000 and out.read_bytes()[:4] == b"\x89PNG"
    assert fig["offset_cosine_mean"] > 0.5  # the gender offsets are parallel
    assert json.loads(out.with_suffix(".json").read_text())["pairs"][0] == ["man", "woman"]


def test_an_analogy_explains_itself_with_its_arrows(trained, tmp_path):
    result = analogy(trained[0].vectors, "man", "woman", "king")
    png = result.explain(tmp_path)["analogy plot"]
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000
    assert list(tmp_path.iterdir()) == [png]  # the figure alone, no record beside it


# -- the command line --------------------------------------------------------------------


def test_cli_train_analogy_evaluate_convert(corpus_file, tmp_path, cli):
    kv = tmp_path / "m.kv"
    code, _, err = cli("words", "train", corpus_file, "--out", kv, "--vector-size", "24",
                       "--window", "4", "--min-count", "2", "--sample", "0", "--epochs", "12",
                       "--workers", "1", "--seed", "1", "--no-progress")
    assert code == 0, err
    code, out, err = cli("words", "analogy", kv, "king", "queen", "man", "--out",
                         tmp_path / "a.json", "--topn", "3", "--json")
    assert code == 0, err
    res = json.loads(out)["figures"]["answers"]
    assert res["3cosadd"][0]["word"] == "woman" and res["3cosmul"][0]["word"] == "woman"
    assert len(json.loads((tmp_path / "a.json").read_text())["answers"]["3cosadd"]) == 3
    code, out, _ = cli("words", "analogy", kv, "king", "queen", "man", "--out", tmp_path / "a.txt",
                       "--method", "3cosmul")
    assert code == 0 and "woman" in out
    assert "3cosadd" not in (tmp_path / "a.txt").read_text()
    code, out, _ = cli("words", "evaluate", kv, "--json")
    assert code == 0 and json.loads(out)["analogies"]["total"]["questions"] == 19544
    assert cli("words", "convert", kv, tmp_path / "m.bin")[0] == 0
    code, out, _ = cli("words", "neighbors", tmp_path / "m.bin", "queen", "--topn", "2")
    assert code == 0 and len(out.strip().splitlines()) == 2
    assert cli("words", "odd-one-out", kv, "king", "queen", "nun", "toy")[0] == 0
    assert cli("words", "similarity", kv, "king", "queen")[0] == 0
    assert cli("words", "plot", kv, "man", "woman", "king", "queen", "--out", tmp_path / "f.png")[0] == 0
    assert (tmp_path / "f.png").exists()


def _fails(cli, *argv, must_say=(), no_file=None):
    code, _, err = cli(*argv)
    assert_one_line_error(code, err)
    for text in must_say:
        assert text in err, err
    if no_file is not None:
        assert not no_file.exists()
        assert not list(no_file.parent.glob(f".{no_file.stem}*"))  # no temp left behind
    return err


def test_cli_bad_values_name_the_flag(corpus_file, trained, tmp_path, cli):
    out = tmp_path / "out.kv"
    _fails(cli, "words", "train", corpus_file, "--out", out, "--vector-size", "0",
           must_say=["--vector-size", "at least 1"], no_file=out)
    _fails(cli, "words", "train", corpus_file, "--out", out, "--negative", "0",
           must_say=["--negative", "hierarchical softmax"], no_file=out)
    _fails(cli, "words", "analogy", trained[1], "king", "queen", "man", "--out",
           tmp_path / "a.json", "--topn", "0", must_say=["--topn"], no_file=tmp_path / "a.json")


def test_cli_bad_corpora(tmp_path, cli):
    out = tmp_path / "out.kv"
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    _fails(cli, "words", "train", empty, "--out", out, must_say=["empty"], no_file=out)
    punct = tmp_path / "punct.txt"
    punct.write_text("... !!! ---\n")
    _fails(cli, "words", "train", punct, "--out", out, must_say=["no words"], no_file=out)
    binary = tmp_path / "data.bin.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    _fails(cli, "words", "train", binary, "--out", out, must_say=["binary"], no_file=out)
    few = tmp_path / "few.txt"
    few.write_text("a few words only here\n")
    _fails(cli, "words", "train", few, "--out", out, must_say=["--min-count", "min_count=5"],
           no_file=out)
    _fails(cli, "words", "train", tmp_path / "missing.txt", "--out", out, must_say=["not found"],
           no_file=out)
    _fails(cli, "words", "train", few, "--out", tmp_path / "v.weird", must_say=[".kv"])


def test_cli_bad_words_and_vectors(trained, tmp_path, cli):
    kv = trained[1]
    err = _fails(cli, "words", "analogy", kv, "king", "qeen", "man", "--out", tmp_path / "q.json",
                 must_say=["unknown word 'qeen'"], no_file=tmp_path / "q.json")
    assert "did you mean queen" in err
    _fails(cli, "words", "neighbors", kv, "xyzzy", must_say=["unknown word"])
    _fails(cli, "words", "plot", kv, "king", "queen", "man", "--out", tmp_path / "p.png",
           must_say=["pairs"], no_file=tmp_path / "p.png")
    # wrong formats
    garbage = tmp_path / "g.bin"
    garbage.write_bytes(b"\x00\x01garbage" * 100)
    _fails(cli, "words", "neighbors", garbage, "king", must_say=["not a vectors file"])
    notkv = tmp_path / "t.kv"
    notkv.write_text("2 3\ncat 1 2 3\ndog 1 2 3\n")
    _fails(cli, "words", "neighbors", notkv, "cat", must_say=["not a gensim .kv file"])
    badpickle = tmp_path / "b.kv"
    badpickle.write_bytes(b"\x80\x04garbage")
    _fails(cli, "words", "neighbors", badpickle, "cat", must_say=["b.kv"])
    # wrong dimension: a row shorter than the header says, and a different dimension
    short = tmp_path / "short.txt"
    short.write_text("2 3\ncat 1 2 3\ndog 1 2\n")
    out = tmp_path / "conv.bin"
    _fails(cli, "words", "convert", short, out, must_say=["not valid text vectors"], no_file=out)
    good = tmp_path / "good.txt"
    good.write_text("2 3\ncat 1 2 3\ndog 1 2 4\n")
    _fails(cli, "words", "convert", good, out, "--expect-dim", "100", must_say=["3-dimensional"],
           no_file=out)
    txt_as_bin = tmp_path / "good.bin"
    txt_as_bin.write_text("2 3\ncat 1 2 3\ndog 1 2 4\n")
    _fails(cli, "words", "neighbors", txt_as_bin, "cat", must_say=["word2vec text, not binary"])
    _fails(cli, "words", "neighbors", tmp_path / "none.kv", "cat", must_say=["not found"])


def test_gallery_section_quick(tmp_path):
    import torch
    from reverie.gallery import GalleryContext
    from reverie.gallery.words import build

    ctx = GalleryContext(tmp_path / "g", tmp_path / "cache", True, torch.device("cpu"))
    section = build(ctx)
    assert section.mechanisms == ["train_words", "analogy"]
    assert any(c.media for c in section.cards)
    tables = [t for c in section.cards for t in c.tables]
    google = next(t for t in tables if t.columns[0] == "section")
    assert len(google.rows) == 14 + 3 and all(len(r) == 4 for r in google.rows)
    for table in tables:  # narrow: few columns, short cells
        assert len(table.columns) <= 4
        assert all(len(str(cell)) <= 60 for row in table.rows for cell in row)
    for card in section.cards:
        for m in card.media:
            assert (ctx.out_dir / m).exists()
