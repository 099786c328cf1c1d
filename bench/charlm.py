"""Benchmark: a character LSTM on tiny-shakespeare for a wall-clock budget, beside n-grams.

Measures, in one run on this machine:
- validation loss (nats per character) after `--minutes` of training (default 10) on
  nanoGPT's 90/10 split, the whole validation split scored with the state carried;
- the 5-gram baselines on the same split (Kneser-Ney and absolute discounting);
- sampling speed (one stream, and 8 streams side by side).

Targets (issue 4): 1.47 nats/char or lower in 10 minutes on 2 cores, always below the
n-gram, sampling at 5,000 characters per second or more. The machine's load average is
recorded: other work on the same cores slows training, and the figure is only comparable
between runs at similar load.

    python bench/charlm.py [--minutes 10] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reverie.io.datasets import read_text  # noqa: E402
from reverie.text.charlm import CharLMConfig, sample  # noqa: E402
from reverie.text.train import train_charlm  # noqa: E402
from reverie.text.ngram import NGramConfig, NGramLM  # noqa: E402

DEFAULT_CORPUS = "builtin:shakespeare"
TARGET_NATS = 1.47
TARGET_SAMPLE_RATE = 5000


def main(argv=None) -> int:
    d = CharLMConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=DEFAULT_CORPUS, help="a text file or builtin:shakespeare "
                   "(default)")
    p.add_argument("--minutes", type=float, default=10.0, help="training budget (default: 10)")
    p.add_argument("--model", default=d.model)
    p.add_argument("--rnn-size", type=int, default=d.rnn_size)
    p.add_argument("--num-layers", type=int, default=d.num_layers)
    p.add_argument("--n-embd", type=int, default=d.n_embd)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--seq-length", type=int, default=d.seq_length)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--min-lr", type=float, default=d.min_lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: the free cores)")
    p.add_argument("--order", type=int, default=5, help="n-gram order of the baseline (default: 5)")
    p.add_argument("--out", default=None, help="keep the trained model here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)

    if args.corpus.startswith("builtin:"):
        text = read_text(args.corpus)
    else:
        corpus = Path(args.corpus)
        if not corpus.is_file():
            print(f"error: {corpus} not found; give --corpus PATH or builtin:shakespeare", file=sys.stderr)
            return 2
        text = corpus.read_text(encoding="utf-8")
    n = int(len(text) * 0.9)
    train_text, val_text = text[:n], text[n:]
    load_start = os.getloadavg()
    log = (lambda m: None) if args.json else (lambda m: print(m, file=sys.stderr, flush=True))

    # -- the baselines, measured here ----------------------------------------------------
    baselines = {}
    for method in ("kneser-ney", "absolute"):
        t = time.perf_counter()
        ng = NGramLM.fit(train_text, NGramConfig(order=args.order, method=method))
        fit_s = time.perf_counter() - t
        ev = ng.evaluate(val_text)
        baselines[method] = {"val_nats": ev["nats_per_char"], "val_bpc": ev["bits_per_char"],
                             "fit_seconds": fit_s}
        log(f"{args.order}-gram {method}: {ev['nats_per_char']:.4f} nats/char ({fit_s:.1f} s to fit)")
    best_ngram = min(b["val_nats"] for b in baselines.values())

    # -- the LSTM ------------------------------------------------------------------------
    cfg = CharLMConfig(model=args.model, rnn_size=args.rnn_size, num_layers=args.num_layers,
                       n_embd=args.n_embd, dropout=args.dropout, seq_length=args.seq_length,
                       batch_size=args.batch_size, learning_rate=args.learning_rate,
                       min_lr=args.min_lr, weight_decay=args.weight_decay, minutes=args.minutes,
                       eval_every=250, eval_iters=10, checkpoint_every=10**9, threads=args.threads)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="charlm-bench-")) / "model.pt"
    last = [0.0]

    def progress(done, total, message=""):
        if done - last[0] >= 30:
            last[0] = done
            log(f"  {done:4d}/{total} s  {message}  load {os.getloadavg()[0]:.1f}")
    log(f"training {args.model} {args.rnn_size}x{args.num_layers} for {args.minutes} min ...")
    trained = train_charlm(args.corpus, cfg, out=out, progress=progress)
    result = {**trained.figures, "seconds": trained.timings["train"],
              "threads": trained.resolved["threads"]}

    # -- sampling speed ------------------------------------------------------------------
    model, vocab = trained.lm
    t = time.perf_counter()
    one = sample(model, vocab, "ROMEO:", 2000, temperature=0.8, top_k=40, seed=1)[0]
    rate1 = 2000 / (time.perf_counter() - t)
    t = time.perf_counter()
    sample(model, vocab, "ROMEO:", 500, temperature=0.8, seed=1, num_samples=8)
    rate8 = 8 * 500 / (time.perf_counter() - t)

    figures = {
        "val_nats_per_char": result["val_loss"], "val_bits_per_char": result["val_bpc"],
        "train_nats_per_char": result["train_loss"],
        "ngram": baselines, "ngram_order": args.order,
        "ratio_to_best_ngram": result["val_loss"] / best_ngram,
        "target_nats": TARGET_NATS, "meets_target": result["val_loss"] <= TARGET_NATS,
        "below_ngram": result["val_loss"] < best_ngram,
        "steps": result["steps"], "epochs": result["epochs"], "train_seconds": result["seconds"],
        "train_chars_per_second": result["chars_per_second"], "threads": result["threads"],
        "params": result["params"],
        "sample_chars_per_second": rate1, "sample_chars_per_second_8_streams": rate8,
        "sample_meets_target": rate1 >= TARGET_SAMPLE_RATE,
        "sample": "ROMEO:" + one[:400],
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(), "cpu_count": os.cpu_count(),
        "config": cfg.to_dict(), "history": result["history"], "model_path": str(out),
    }
    if args.json:
        print(json.dumps(figures, default=str))
    else:
        print(f"LSTM after {args.minutes} min: {result['val_loss']:.4f} nats/char on validation "
              f"({result['val_bpc']:.3f} bits), train {result['train_loss']:.3f}; "
              f"{result['steps']} steps, {result['chars_per_second']:,.0f} chars/s, "
              f"{result['threads']} thread(s)")
        for method, b in baselines.items():
            print(f"{args.order}-gram {method}: {b['val_nats']:.4f} nats/char")
        print(f"ratio LSTM / best n-gram: {figures['ratio_to_best_ngram']:.3f} "
              f"({'below' if figures['below_ngram'] else 'NOT below'} the n-gram); target "
              f"{TARGET_NATS}: {'met' if figures['meets_target'] else 'NOT met'}")
        print(f"sampling: {rate1:,.0f} chars/s (one stream), {rate8:,.0f} chars/s (8 streams); "
              f"target {TARGET_SAMPLE_RATE:,}: {'met' if figures['sample_meets_target'] else 'NOT met'}")
        print(f"load average: start {load_start[0]:.2f}, end {figures['loadavg_end'][0]:.2f} "
              f"on {os.cpu_count()} cores")
        print("sample:\n" + figures["sample"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
