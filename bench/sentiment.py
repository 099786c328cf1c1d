"""Benchmark: the sentiment neuron on one-topic tweets, measured against text length and
beside TF-IDF.

In one run on this machine, for `--data` (default builtin:airline-tweets, the 14,638
tweets that mention an airline; builtin:tweets and builtin:drugs also work):
1. a character LSTM (no dropout) trained for `--minutes` (default 20; or `--max-steps`
   steps) on the text of every item of the set, neutral included, in a seeded shuffled
   order (the tweets file is sorted by label);
2. on a fixed seeded 80/20 split, positive vs negative: the judge, character 2-5-gram
   TF-IDF + logistic regression (C=4), with its recall on the real test texts of each
   class; and a classifier on the text's length alone (log length, its square and cube):
   on the airline tweets length alone sorts about 64% (balanced);
3. for each feature (final cell state as in Radford et al., final hidden state, mean
   hidden state, final cell state and mean hidden state, the cell state over the last
   `--tail-chars` characters, the final cell state minus its mean), from the same model:
   the L1 probe on the same split (C chosen on a validation tenth of the 80%, as in Radford
   et al.'s code); the unit that adds most over length (partial correlation with the label
   given length, training split) as a one-unit classifier beside length alone, its gain
   (balanced accuracy of unit and length together minus length alone), and the same
   figures for the best unit by AUC alone (the pick a counter can win); samples generated
   with the unit clamped at the `--clamp-percentiles` of the values it takes on real texts,
   each sample's first line judged, beside the judge's recall on real test texts and beside
   samples drawn from the same seed with nothing clamped (so the clamp is the only difference).

The classes are unbalanced, so balanced accuracy is reported. Targets (issue 4): probe
within 5 points of the judge; the single unit 70% balanced or more; the judge labels
clamped samples with the clamped sentiment 80% of the time or more, each way. Issue 20
adds: the unit adds 5 points or more over length (proposed), and clamped agreement each
way at least the judge's recall on real texts of that class.

    python bench/sentiment.py [--minutes 20] [--json]
    python bench/sentiment.py --data builtin:tweets          # every topic, as before
    python bench/sentiment.py --lm airline-lm.pt --features cmean,ctail   # a model already trained
    python bench/sentiment.py --minutes 0.5 --rnn-size 64 --samples 5 --max-texts 2000  # smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reverie.text.charlm import CharLMConfig, load_charlm  # noqa: E402
from reverie.text.charlm import sample as lm_sample  # noqa: E402
from reverie.text.judge import as_tweet, fit_judge  # noqa: E402
from reverie.text.probe_length import balanced_accuracy, length_basis  # noqa: E402
from reverie.text.sentiment import (FEATURES, ProbeConfig, feature_state, features,  # noqa: E402
                                    fit_probe, generate_clamped, lm_corpus, load_labelled,
                                    plot_unit_histogram, read_lengths, unit_percentiles,
                                    unlabelled_texts)
from reverie.text.train import train_charlm  # noqa: E402


def main(argv=None) -> int:
    d = CharLMConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="builtin:airline-tweets",
                   help="labelled set: builtin:airline-tweets (default), builtin:tweets, "
                        "builtin:drugs or a CSV with text and sentiment columns")
    p.add_argument("--minutes", type=float, default=20.0, help="language-model budget (default: 20)")
    p.add_argument("--max-steps", type=int, default=None,
                   help="train for this many steps instead of --minutes (repeatable)")
    p.add_argument("--lm", default=None, help="use this trained model instead of training one")
    p.add_argument("--model", choices=("lstm", "mlstm"), default=d.model,
                   help=f"recurrent cell (default: {d.model}; mlstm is Radford et al.'s)")
    p.add_argument("--rnn-size", type=int, default=d.rnn_size)
    # no dropout: on the 3.9M characters of tweets, 8 minutes reached 1.933 bits/char
    # validation at dropout 0 against 2.023 at the library's 0.3 (tuned on tiny-shakespeare)
    p.add_argument("--dropout", type=float, default=0.0, help="(default: 0)")
    p.add_argument("--seq-length", type=int, default=d.seq_length)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--features", default="c,h,mean,cmean,ctail,cdev",
                   help="comma-separated features to probe, each from the same model: c (final cell "
                        "state, Radford et al.), h (final hidden), hc (both), mean (mean hidden state), "
                        "cmean (final cell state and mean hidden state), ctail (cell state over the "
                        "last --tail-chars characters), cdev (final cell state minus its mean); "
                        "default: c,h,mean,cmean,ctail,cdev")
    p.add_argument("--tail-chars", type=int, default=20, help="for ctail (default: 20)")
    p.add_argument("--max-texts", type=int, default=None,
                   help="probe a seeded random subset of this many labelled texts (default: all)")
    p.add_argument("--samples", type=int, default=50, help="clamped samples each way (default: 50)")
    p.add_argument("--clamp-percentiles", default="5,95",
                   help="LOW,HIGH: clamp at these percentiles of the unit's values, character by "
                        "character, on real texts of the set (default: 5,95)")
    p.add_argument("--percentile-texts", type=int, default=500,
                   help="real texts read for the percentiles (default: 500)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: the free cores by load average; give 2 when "
                        "the machine has just finished other work, as the average lags)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for the model and the histogram")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    feature_list = [f.strip() for f in args.features.split(",") if f.strip()]
    unknown = [f for f in feature_list if f not in FEATURES]
    if unknown or not feature_list:
        p.error(f"unknown feature(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(FEATURES)}")
    try:
        clamp_low, clamp_high = (float(v) for v in args.clamp_percentiles.split(","))
        assert 0 <= clamp_low < clamp_high <= 100
    except (ValueError, AssertionError):
        p.error(f"--clamp-percentiles takes LOW,HIGH between 0 and 100, got {args.clamp_percentiles!r}")
    log = (lambda m: None) if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="sentiment-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()

    # 1. the language model, on all the set's text (labels unused, neutral included)
    texts = unlabelled_texts(args.data)
    corpus = lm_corpus(texts, seed=args.seed)  # shuffled: the tweets file is sorted by label
    lm_figures = {}
    name = args.data.split(":")[-1].replace("/", "_").replace(".", "_")
    if args.lm:
        lm_path = Path(args.lm)
    else:
        lm_path = out_dir / f"{name}-lm.pt"
        budget = ({"max_steps": args.max_steps} if args.max_steps else {"minutes": args.minutes})
        cfg = CharLMConfig(model=args.model, rnn_size=args.rnn_size, dropout=args.dropout, seq_length=args.seq_length,
                           batch_size=args.batch_size, learning_rate=args.learning_rate,
                           eval_every=min(500, args.max_steps or 500), eval_iters=10,
                           checkpoint_every=10**9, threads=args.threads, **budget)
        log(f"training the language model for "
            f"{f'{args.max_steps} steps' if args.max_steps else f'{args.minutes} min'} on "
            f"{len(texts):,} texts, {len(corpus):,} characters ...")
        trained = train_charlm(text=corpus, config=cfg, out=lm_path)
        res = {**trained.figures, "seconds": trained.timings["train"],
               "threads": trained.resolved["threads"]}
        lm_figures = {k: res[k] for k in ("steps", "val_loss", "val_bpc", "train_loss", "seconds",
                                          "chars_per_second", "params", "threads")}
        lm_figures["config"] = cfg.to_dict()
        log(f"  val {res['val_bpc']:.3f} bits/char after {res['steps']} steps")
    model, vocab = load_charlm(lm_path)

    # 2. the fixed split, positive vs negative
    data = load_labelled(args.data)
    all_texts, y = data.texts, data.labels
    if args.max_texts is not None and len(all_texts) > args.max_texts:
        pick = np.sort(np.random.default_rng(args.seed).permutation(len(all_texts))[:args.max_texts])
        all_texts, y = [all_texts[i] for i in pick], y[pick]
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(y))
    train_idx, test_idx = train_test_split(idx, test_size=0.2, random_state=args.seed, stratify=y)
    fit_idx, val_idx = train_test_split(train_idx, test_size=0.1, random_state=args.seed,
                                        stratify=y[train_idx])

    # 3. the judge and the length-only classifier on the same split
    t = time.perf_counter()
    judge = fit_judge(all_texts, y, train_idx, test_idx, data.names)
    base_bal, base_acc = judge.figures["balanced_accuracy"], judge.figures["accuracy"]
    # the judge's own agreement on real test texts of each class: the ceiling to read
    # clamped agreement against (a positive tweet a person wrote scores this, not 100%)
    judge_recall = judge.recall
    baseline_s = time.perf_counter() - t
    log(f"judge: {base_bal:.1%} balanced; on real test texts it says positive for "
        f"{judge_recall['positive']:.0%} of positives, negative for {judge_recall['negative']:.0%} of negatives")
    lengths = read_lengths(vocab, all_texts, 400)
    length_only = balanced_accuracy(length_basis(lengths), y, fit_idx, test_idx)
    log(f"length alone: {length_only['balanced_accuracy']:.1%} balanced (negatives average "
        f"{lengths[y == 0].mean():.0f} characters, positives {lengths[y == 1].mean():.0f})")
    rng = np.random.default_rng(args.seed)
    real = unlabelled_texts(args.data)
    real = [real[i] for i in rng.permutation(len(real))[:args.percentile_texts]]

    # what the model writes with nothing clamped, from the seed the clamped samples use
    free = [as_tweet(x) for x in lm_sample(model, vocab, "\n ", 160, 0.8, seed=args.seed,
                                           num_samples=args.samples)]
    unclamped_positive = float(np.mean(judge.predict(free) == 1))

    # 4-5. for each feature: the probe, the top unit's histogram, clamped generation
    H = model.cfg.rnn_size
    per_feature = {}
    for feature in feature_list:
        t = time.perf_counter()
        X = features(model, vocab, all_texts, feature, max_chars=400, tail_chars=args.tail_chars)
        feature_s = time.perf_counter() - t
        probe = fit_probe(X, y, ProbeConfig(feature=feature, seed=args.seed),
                          splits=(fit_idx, val_idx, test_idx), lengths=lengths)
        unit, pol = probe.unit, probe.polarity
        probe = probe.figures
        hist = out_dir / f"sentiment_unit_{feature}.png"
        plot_unit_histogram(X[test_idx, unit], y[test_idx], hist, unit, data.names,
                            f"unit {unit} ({feature}), {args.data} test split", lengths=lengths[test_idx])
        # clamp where the unit goes on real text: its low and high percentiles, character
        # by character, in the state it lives in
        state, state_unit = feature_state(feature, unit, H)
        low, high = unit_percentiles(model, vocab, real, state_unit, state, [clamp_low, clamp_high],
                                     max_chars=400)
        values = {1: high if pol > 0 else low, 0: low if pol > 0 else high}
        clamped = {}
        for label, value in values.items():
            # one seed for both clamps and for the unclamped samples: the clamp is the only difference
            s = generate_clamped((model, vocab), unit=state_unit, value=float(value), state=state,
                                 prime="\n ", num_samples=args.samples, length=160,
                                 temperature=0.8, seed=args.seed).texts
            tweets = [as_tweet(x) for x in s]
            judged = judge.predict(tweets)
            name = "positive" if label else "negative"
            clamped[name] = {
                "value": float(value), "percentile": clamp_high if value == high else clamp_low,
                "agreement": float(np.mean(judged == label)), "judge_recall_on_real": judge_recall[name],
                "examples": [f"[{data.names[int(j)]}] {tw}" for j, tw in zip(judged[:5], tweets[:5])]}
        gain = probe["unit_gain_over_length"]
        row = {
            "probe_balanced_accuracy": probe["test_balanced_accuracy"], "probe_accuracy": probe["test_accuracy"],
            "probe_C": probe["C"], "probe_units_used": probe["units_used"], "units_total": probe["units_total"],
            "probe_minus_baseline_points": 100 * (probe["test_balanced_accuracy"] - base_bal),
            "unit": unit, "state": state, "state_unit": state_unit, "polarity": pol,
            "unit_balanced_accuracy": probe["unit_balanced_accuracy"], "unit_accuracy": probe["unit_accuracy"],
            "length_balanced_accuracy": probe["length_balanced_accuracy"],
            "unit_with_length_balanced_accuracy": probe["unit_with_length_balanced_accuracy"],
            "unit_gain_over_length": gain, "unit_partial_correlation": probe["unit_partial_correlation"],
            "unit_length_correlation": probe["unit_length_correlation"],
            "auc_unit": probe["auc_unit"], "auc_unit_figures": probe.get("auc_unit_figures"),
            "majority_accuracy": probe["majority_accuracy"], "clamped": clamped,
            "unclamped_judged_positive": unclamped_positive,
            "targets": {"probe_within_5_points": probe["test_balanced_accuracy"] >= base_bal - 0.05,
                        "unit_70_balanced": probe["unit_balanced_accuracy"] >= 0.70,
                        "unit_adds_5_points_over_length": gain >= 0.05,
                        "clamped_80_each_way": all(c["agreement"] >= 0.8 for c in clamped.values()),
                        "clamped_at_least_real_recall": all(c["agreement"] >= c["judge_recall_on_real"]
                                                            for c in clamped.values())},
            "feature_seconds": feature_s, "histogram": str(hist)}
        per_feature[feature] = row
        log(f"{feature:>5}: probe {row['probe_balanced_accuracy']:.1%} balanced, unit {unit} alone "
            f"{row['unit_balanced_accuracy']:.1%} (length alone {row['length_balanced_accuracy']:.1%}, "
            f"gain {100 * gain:+.1f} points), clamped agreement "
            f"+{clamped['positive']['agreement']:.0%} / -{clamped['negative']['agreement']:.0%}")

    figures = {
        "data": args.data, "texts_for_lm": len(texts), "labels": list(data.names),
        "positives": int(y.sum()), "negatives": int((y == 0).sum()),
        "baseline_balanced_accuracy": base_bal, "baseline_accuracy": base_acc, "baseline_seconds": baseline_s,
        "baseline_recall_on_real_tweets": judge_recall,
        "length_balanced_accuracy": length_only["balanced_accuracy"],
        "length_accuracy": length_only["accuracy"],
        "clamp_percentiles": [clamp_low, clamp_high],
        "features": per_feature, "n_train": len(train_idx), "n_test": len(test_idx),
        "lm": lm_figures, "lm_path": str(lm_path),
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(), "cpu_count": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(figures, default=str))
    else:
        print(f"{args.data}: {int(y.sum()):,} positive, {int((y == 0).sum()):,} negative "
              f"(the language model read {len(texts):,} texts, neutral included)")
        print(f"judge (char 2-5-gram TF-IDF + LR, C=4): {base_bal:.1%} balanced ({base_acc:.1%} plain)")
        print(f"  on real test texts it agrees with the label for {judge_recall['positive']:.0%} of positives "
              f"and {judge_recall['negative']:.0%} of negatives (read clamped agreement against these)")
        print(f"length alone (log length, squared, cubed; LR): {length_only['balanced_accuracy']:.1%} balanced")
        for feature, r in per_feature.items():
            print(f"feature {feature}: probe (L1, {r['probe_units_used']}/{r['units_total']} units, "
                  f"C={r['probe_C']:g}) {r['probe_balanced_accuracy']:.1%} balanced "
                  f"({r['probe_minus_baseline_points']:+.1f} points, target >= -5)")
            print(f"    unit {r['unit']} ({r['state']}{r['state_unit']}) alone {r['unit_balanced_accuracy']:.1%} "
                  f"(target >= 70%) | length alone {r['length_balanced_accuracy']:.1%} | unit + length "
                  f"{r['unit_with_length_balanced_accuracy']:.1%}: gain {100 * r['unit_gain_over_length']:+.1f} "
                  f"points; partial r given length {r['unit_partial_correlation']:+.2f}, r with length "
                  f"{r['unit_length_correlation']:+.2f}; polarity {'+' if r['polarity'] > 0 else '-'}")
            a = r["auc_unit_figures"]
            if a:
                print(f"    best unit by AUC alone, {r['auc_unit']}: {a['balanced_accuracy']:.1%} alone, gain over "
                      f"length {100 * a['gain_over_length']:+.1f} points, r with length {a['length_correlation']:+.2f}")
            for name, c in r["clamped"].items():
                print(f"    clamped {name} at {c['value']:+.3f} (p{c['percentile']:g} on real text): judge agrees "
                      f"{c['agreement']:.0%} (real {name} texts: {c['judge_recall_on_real']:.0%}; target >= 80%)")
                for ex in c["examples"][:2]:
                    print(f"        {ex.strip()[:110]}")
            print(f"    unclamped, the same seed: judged positive {r['unclamped_judged_positive']:.0%}")
            print(f"    targets: {r['targets']}")
        if lm_figures:
            print(f"language model: {lm_figures['steps']} steps in {lm_figures['seconds'] / 60:.1f} min, "
                  f"val {lm_figures['val_bpc']:.3f} bits/char, {lm_figures['chars_per_second']:,.0f} chars/s")
        print(f"load average: start {load_start[0]:.2f}, end {figures['loadavg_end'][0]:.2f} on "
              f"{os.cpu_count()} cores; model {lm_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
