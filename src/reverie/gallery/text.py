"""Gallery: a character LSTM on tiny-shakespeare beside the 5-gram baseline, and the
sentiment neuron of an LSTM trained on tweets (histogram, clamped samples).

Models train once within a wall-clock budget and are cached in ctx.cache_dir, so a second
run only samples. Budget: about 4 minutes on the first run, seconds after; `quick` trains
tiny models in a few seconds.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from reverie.gallery import Card, GalleryContext, Section
from reverie.core.errors import ReverieError

LN2 = 0.6931471805599453


def find_corpus() -> tuple[Path, str]:
    """tiny-shakespeare from ../shared/data beside the repository; else a news corpus that
    gensim (a Reverie dependency) ships."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / ".." / "shared" / "data" / "tinyshakespeare.txt",
                      Path.cwd() / ".." / "shared" / "data" / "tinyshakespeare.txt",
                      Path.cwd() / "shared" / "data" / "tinyshakespeare.txt"):
        if candidate.is_file():
            return candidate.resolve(), "tiny-shakespeare"
    import importlib.util
    spec = importlib.util.find_spec("gensim")
    if spec is not None and spec.submodule_search_locations:
        lee = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data" / "lee_background.cor"
        if lee.is_file():
            return lee, "the Lee news corpus (gensim; tiny-shakespeare not found)"
    raise ReverieError("no training text found: put tinyshakespeare.txt in ../shared/data beside "
                       "the repository, or pip install gensim==4.4.0")


def _cached_lm(ctx: GalleryContext, name: str, text: str, cfg) -> tuple[Path, dict]:
    """Train once per (text, config); later runs reuse the checkpoint and its figures."""
    from dataclasses import asdict
    from reverie.text.charlm import train
    key = hashlib.md5((json.dumps(asdict(cfg), sort_keys=True) + text[:10000] + str(len(text)))
                      .encode()).hexdigest()[:10]
    folder = ctx.cache_dir / "text"
    folder.mkdir(parents=True, exist_ok=True)
    model, figures = folder / f"{name}-{key}.pt", folder / f"{name}-{key}.figures.json"
    if model.exists() and figures.exists():
        return model, {**json.loads(figures.read_text()), "cached": True}
    result = train(None, model, cfg, text=text, progress=ctx.progress)
    result = {k: v for k, v in result.items() if k not in ("config", "history")}
    from reverie.io.images import save_json
    save_json(result, figures)
    return model, {**result, "cached": False}


def build(ctx: GalleryContext) -> Section:
    from reverie.text.charlm import CharLMConfig, load_model, sample
    from reverie.text.ngram import train_ngram

    q = ctx.quick
    cards = []
    path, corpus_name = find_corpus()
    text = path.read_text(encoding="utf-8", errors="replace")
    if q:
        text = text[:300_000]
    n = int(len(text) * 0.9)
    train_text, val_text = text[:n], text[n:]

    # -- the character LSTM and the n-gram, side by side --------------------------------
    cfg = (CharLMConfig(rnn_size=128, seq_length=64, batch_size=32, dropout=0.0, minutes=0.08,
                        learning_rate=4e-3, warmup_iters=20, eval_interval=100, checkpoint_every=10**6)
           if q else
           CharLMConfig(rnn_size=256, dropout=0.1, minutes=2.25, eval_interval=250,
                        checkpoint_every=500))  # 256 units learn faster than 512 in minutes
    lm_path, lm_fig = _cached_lm(ctx, "shakespeare", text, cfg)
    model, vocab, _ = load_model(lm_path)
    prime = "ROMEO:" if all(ch in vocab.stoi for ch in "ROMEO:") else text[:1]
    start = time.perf_counter()
    lm_samples = sample(model, vocab, prime, 300 if q else 700, temperature=0.8, seed=1, num_samples=2)
    lm_rate = len(lm_samples[0]) * 2 / (time.perf_counter() - start)

    start = time.perf_counter()
    ngram = train_ngram(train_text, 5, "kneser-ney")
    ng_fit = time.perf_counter() - start
    ng_eval = ngram.evaluate(val_text)
    ng_sample = ngram.sample(prime, 300 if q else 700, temperature=0.8, seed=1)

    lm_bpc = lm_fig["val_loss"] / LN2
    ng_bpc = ng_eval["bits_per_char"]
    cards.append(Card(
        title=f"Character LSTM ({corpus_name})",
        text="\n\n---\n\n".join(prime + s for s in lm_samples),
        figures={"validation bits/char": round(lm_bpc, 3),
                 "validation nats/char": round(lm_fig["val_loss"], 3),
                 "model": f"1-layer LSTM, {cfg.rnn_size} units, {lm_fig['params']:,} parameters",
                 "training": f"{lm_fig['steps']} steps, {lm_fig['seconds']:.0f} s, "
                             f"{lm_fig['chars_per_second']:,.0f} chars/s" + (" (cached)" if lm_fig["cached"] else ""),
                 "sampling": f"temperature 0.8, {lm_rate:,.0f} chars/s"}))
    cards.append(Card(
        title="5-gram Kneser-Ney baseline (same split)",
        text=prime + ng_sample,
        figures={"validation bits/char": round(ng_bpc, 3),
                 "validation nats/char": round(ng_eval["nats_per_char"], 3),
                 "training": f"counting, {ng_fit:.1f} s",
                 "LSTM minus n-gram (bits/char)": round(lm_bpc - ng_bpc, 3)}))

    # -- the sentiment neuron on tweets --------------------------------------------------
    cards.extend(sentiment_cards(ctx, q))
    blurb = ("Karpathy's char-rnn: an LSTM reads text one character at a time and learns to "
             "predict the next. Beside it the classic Kneser-Ney 5-gram, the bar a neural model "
             "must clear (lower bits per character on held-out text is better). Then Radford et "
             "al.'s sentiment neuron: an LSTM trained only to predict the next character of "
             "tweets, an L1 probe on its final cell state, the single most predictive unit, and "
             "text generated with that unit held high or low.")
    return Section(title="Text: character language models and the sentiment neuron", blurb=blurb,
                   cards=cards)


def sentiment_cards(ctx: GalleryContext, q: bool) -> list[Card]:
    from reverie.text.charlm import CharLMConfig, load_model
    from reverie.text.sentiment import (ProbeConfig, builtin_rows, features, fit_probe, generate_clamped,
                             lm_corpus, load_labelled, plot_unit_histogram)

    try:
        labelled = load_labelled("builtin:tweets")
    except ReverieError as exc:
        return [Card(title="Sentiment neuron (skipped)", text=str(exc))]
    texts, _ = builtin_rows("tweets")
    corpus = lm_corpus(texts)  # shuffled: the file is sorted by label
    if q:
        corpus = corpus[:400_000]
    cfg = (CharLMConfig(rnn_size=128, seq_length=64, batch_size=32, dropout=0.0, minutes=0.06,
                        learning_rate=4e-3, warmup_iters=20, eval_interval=100, checkpoint_every=10**6)
           if q else
           CharLMConfig(rnn_size=256, minutes=0.75, dropout=0.0, eval_interval=250, checkpoint_every=500))
    lm_path, lm_fig = _cached_lm(ctx, "tweets", corpus, cfg)
    model, vocab, _ = load_model(lm_path)

    # a balanced-enough subsample keeps the feature pass short
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(labelled.texts))[: (600 if q else 3000)]
    sub_texts = [labelled.texts[i] for i in pick]
    y = labelled.labels[pick]
    start = time.perf_counter()
    X = features(model, vocab, sub_texts, "c", max_chars=300)
    result = fit_probe(X, y, ProbeConfig(seed=0))
    probe_s = time.perf_counter() - start
    unit, pol = result["unit"], result["polarity"]
    test = result["splits"][2]
    hist = ctx.asset("text/sentiment_unit.png")
    plot_unit_histogram(X[test, unit], y[test], hist, unit, labelled.names,
                        f"unit {unit} of a character LSTM, tweets (test split)")
    cards = [Card(title="Sentiment unit: activation by label", media=[ctx.rel(hist)], figures={
        "probe test accuracy": f"{result['test_accuracy']:.1%} ({result['test_balanced_accuracy']:.1%} balanced; "
                               f"majority {result['majority_accuracy']:.1%})",
        "units the L1 probe uses": f"{result['units_used']} of {result['units_total']}",
        "top unit": f"{unit} (higher = {'positive' if pol > 0 else 'negative'})",
        "top unit alone": f"{result['unit_accuracy']:.1%} ({result['unit_balanced_accuracy']:.1%} balanced)",
        "language model": f"LSTM {cfg.rnn_size} units, {lm_fig['steps']} steps on tweet text, "
                          f"val {lm_fig['val_loss'] / LN2:.2f} bits/char",
        "probe time": f"{probe_s:.1f} s on {len(sub_texts)} tweets"})]

    lo, hi = np.percentile(X[:, unit], [1, 99])
    span = hi - lo
    values = {"positive": (hi + 0.5 * span) if pol > 0 else (lo - 0.5 * span),
              "negative": (lo - 0.5 * span) if pol > 0 else (hi + 0.5 * span)}
    prime = "\n " if "\n" in vocab.stoi else " "
    for name, value in values.items():
        samples = generate_clamped(model, vocab, unit, float(value), prime, num_samples=3 if q else 5,
                                   length=100 if q else 140, temperature=0.8, seed=2)
        cards.append(Card(title=f"Clamped {name}: unit {unit} held at {value:+.2f}",
                          text="\n\n".join(s.strip() for s in samples),
                          figures={"unit": unit, "value": round(float(value), 3),
                                   "how": "the cell state of this unit is overwritten at every step"}))
    return cards
