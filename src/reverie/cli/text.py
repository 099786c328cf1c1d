"""`reverie text ...` (character language models, n-gram baseline, unit traces) and
`reverie sentiment ...` (the sentiment neuron: fit a probe, generate with a unit clamped)."""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

from reverie.core.errors import ReverieError
from reverie.cli.common import add_json, add_progress, nonneg_float, positive_float, positive_int, print_json

def _defaults():
    from reverie.text.charlm import CharLMConfig
    return CharLMConfig()


def _bar(args, description):
    from reverie.core.progress import bar
    return bar(description, enabled=False if (args.no_progress or getattr(args, "json", False)) else None)



def register(sub) -> None:
    d = _defaults()
    text = sub.add_parser("text", help="character-level language models (char-rnn, n-grams)")
    ts = text.add_subparsers(dest="text_command", metavar="SUBCOMMAND")
    text.set_defaults(func=lambda args: (text.print_help(), 2)[1])

    # -- train -------------------------------------------------------------------------
    p = ts.add_parser("train", help="train a character LSTM / mLSTM on text files or folders")
    p.add_argument("corpus", nargs="+", help="UTF-8 text file(s) or folder(s) (any file with --bytes)")
    p.add_argument("--out", required=True, help="model checkpoint to write, e.g. model.pt")
    p.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is --out")
    p.add_argument("--bytes", dest="bytes_mode", action="store_true", help="model raw bytes (any encoding)")
    p.add_argument("--model", choices=["lstm", "mlstm"], default=d.model,
                   help=f"lstm or the multiplicative LSTM of Krause et al. (default: {d.model})")
    p.add_argument("--rnn-size", type=positive_int, default=d.rnn_size, help=f"hidden units (default: {d.rnn_size})")
    p.add_argument("--num-layers", type=positive_int, default=d.num_layers, help=f"(default: {d.num_layers})")
    p.add_argument("--n-embd", type=positive_int, default=d.n_embd, help=f"embedding size (default: {d.n_embd})")
    p.add_argument("--dropout", type=nonneg_float, default=d.dropout, help=f"(default: {d.dropout})")
    p.add_argument("--no-weight-norm", dest="weight_norm", action="store_false",
                   help="mlstm: plain weights instead of Radford et al.'s weight normalisation")
    p.add_argument("--seq-length", type=positive_int, default=d.seq_length,
                   help=f"characters per truncated-BPTT segment (default: {d.seq_length})")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size, help=f"(default: {d.batch_size})")
    p.add_argument("--learning-rate", type=positive_float, default=d.learning_rate, help=f"(default: {d.learning_rate})")
    p.add_argument("--min-lr", type=nonneg_float, default=d.min_lr, help=f"end of the cosine decay (default: {d.min_lr})")
    p.add_argument("--warmup-iters", type=int, default=d.warmup_iters, help=f"(default: {d.warmup_iters})")
    p.add_argument("--max-iters", type=positive_int, default=d.max_iters, help=f"training steps (default: {d.max_iters})")
    p.add_argument("--minutes", type=positive_float, default=None, help="train for this wall-clock budget (minutes) instead of --max-iters")
    p.add_argument("--weight-decay", type=nonneg_float, default=d.weight_decay, help=f"(default: {d.weight_decay})")
    p.add_argument("--grad-clip", type=nonneg_float, default=d.grad_clip, help=f"(default: {d.grad_clip}; 0 = off)")
    p.add_argument("--val-frac", type=positive_float, default=d.val_frac, help=f"held-out tail (default: {d.val_frac})")
    p.add_argument("--eval-interval", type=positive_int, default=d.eval_interval, help=f"(default: {d.eval_interval})")
    p.add_argument("--eval-iters", type=positive_int, default=d.eval_iters, help=f"(default: {d.eval_iters})")
    p.add_argument("--checkpoint-every", type=positive_int, default=d.checkpoint_every, help=f"steps (default: {d.checkpoint_every})")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--seed", type=int, default=d.seed, help=f"(default: {d.seed})")
    add_progress(p)
    add_json(p)
    p.set_defaults(func=cmd_train)

    # -- sample ------------------------------------------------------------------------
    p = ts.add_parser("sample", help="generate text from a trained model (streams as it goes)")
    p.add_argument("model", help="a model from `text train` (.pt) or `text ngram` (.json)")
    _add_sampling(p, length=1000)
    p.add_argument("--num-samples", type=positive_int, default=1, help="independent samples (default: 1)")
    p.add_argument("--out", default=None, help="also write the text here (with a JSON sidecar)")
    add_json(p)
    p.set_defaults(func=cmd_sample)

    # -- ngram -------------------------------------------------------------------------
    p = ts.add_parser("ngram", help="train a Kneser-Ney / absolute-discounting character n-gram")
    p.add_argument("corpus", nargs="+", help="text file(s) or folder(s)")
    p.add_argument("--out", required=True, help="model to write, e.g. ngram.json")
    p.add_argument("--order", type=positive_int, default=5, help="characters of context + 1 (default: 5)")
    p.add_argument("--method", choices=["kneser-ney", "absolute"], default="kneser-ney",
                   help="interpolated Kneser-Ney or absolute discounting (default: kneser-ney)")
    p.add_argument("--bytes", dest="bytes_mode", action="store_true", help="model raw bytes")
    p.add_argument("--val-frac", type=nonneg_float, default=0.1,
                   help="hold out this tail and report its bits per character (default: 0.1; 0 = train on all)")
    add_progress(p)
    add_json(p)
    p.set_defaults(func=cmd_ngram)

    # -- evaluate ----------------------------------------------------------------------
    p = ts.add_parser("evaluate", help="bits per character of a model on held-out text")
    p.add_argument("model", help="a model from `text train` (.pt) or `text ngram` (.json)")
    p.add_argument("corpus", nargs="+", help="held-out text file(s) or folder(s)")
    p.add_argument("--split", choices=["all", "val"], default="all",
                   help="score all of the text, or only its last --val-frac as training held it out (default: all)")
    p.add_argument("--val-frac", type=positive_float, default=0.1, help="(default: 0.1)")
    add_json(p)
    p.set_defaults(func=cmd_evaluate)

    # -- trace -------------------------------------------------------------------------
    p = ts.add_parser("trace", help="an HTML page colouring each character by a unit's value")
    p.add_argument("model", help="a model from `text train`")
    p.add_argument("text", help="the text to read (or @FILE to read a file)")
    p.add_argument("--unit", type=int, required=True, help="the top-layer unit to show")
    p.add_argument("--state", choices=["c", "h"], default="c", help="cell (c) or hidden (h) state (default: c)")
    p.add_argument("--out", default="trace.html", help="page to write (default: trace.html)")
    add_json(p)
    p.set_defaults(func=cmd_trace)

    # -- sentiment ---------------------------------------------------------------------
    s = sub.add_parser("sentiment", help="the sentiment neuron: probe a language model, clamp a unit")
    ss = s.add_subparsers(dest="sentiment_command", metavar="SUBCOMMAND")
    s.set_defaults(func=lambda args: (s.print_help(), 2)[1])
    p = ss.add_parser("fit", help="fit an L1 logistic-regression probe on a model's final state")
    p.add_argument("--lm", required=True, help="a model from `text train`")
    p.add_argument("--data", required=True, help="labelled CSV/TSV, or builtin:tweets / builtin:drugs")
    p.add_argument("--text-col", default="text", help="(default: text)")
    p.add_argument("--label-col", default="sentiment", help="(default: sentiment)")
    p.add_argument("--feature", choices=["c", "h", "hc", "mean", "cmean"], default="c",
                   help="final cell state c (Radford et al.), hidden h, both (hc), the hidden "
                        "state averaged over the text (mean), or the final cell state and that "
                        "mean (cmean: best on tweets, which often end in a URL) (default: c)")
    p.add_argument("--test-frac", type=positive_float, default=0.2, help="(default: 0.2)")
    p.add_argument("--max-chars", type=positive_int, default=1000, help="read at most the last N characters of each text")
    p.add_argument("--out", default="sentiment_unit.png", help="histogram of the top unit (default: sentiment_unit.png)")
    p.add_argument("--seed", type=int, default=42, help="split seed (default: 42)")
    add_progress(p)
    add_json(p)
    p.set_defaults(func=cmd_sentiment_fit)

    p = ss.add_parser("corpus", help="write a labelled set's texts as a corpus to train a language model on")
    p.add_argument("--data", required=True, help="CSV/TSV, or builtin:tweets / builtin:drugs (labels unused)")
    p.add_argument("--text-col", default="text", help="(default: text)")
    p.add_argument("--out", required=True, help="text file to write, one text per line")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffled order (default: 0)")
    add_json(p)
    p.set_defaults(func=cmd_sentiment_corpus)

    p = ss.add_parser("generate", help="generate with one unit clamped to a value at every step")
    p.add_argument("--lm", required=True, help="a model from `text train`")
    p.add_argument("--unit", type=int, required=True, help="the unit to clamp (from `sentiment fit`)")
    p.add_argument("--value", type=float, required=True, help="the value to hold it at (try +/- a few)")
    p.add_argument("--state", choices=["c", "h"], default="c", help="clamp the cell (c) or hidden (h) state")
    _add_sampling(p, length=200)
    p.add_argument("-n", "--num-samples", type=positive_int, default=5, help="samples (default: 5)")
    p.add_argument("--out", default=None, help="also write the samples here (with a JSON sidecar)")
    add_json(p)
    p.set_defaults(func=cmd_sentiment_generate)


def _add_sampling(p, length: int) -> None:
    p.add_argument("--prime", default="", help="text to start from")
    p.add_argument("--temperature", type=nonneg_float, default=0.8, help="(default: 0.8; 0 = argmax)")
    p.add_argument("--top-k", type=positive_int, default=None, help="sample only among the k likeliest")
    p.add_argument("--length", type=positive_int, default=length, help=f"characters to generate (default: {length})")
    p.add_argument("--seed", type=int, default=1, help="(default: 1)")


# ---------------------------------------------------------------------------------------

def cmd_train(args) -> int:
    from reverie.text.charlm import CharLMConfig, train
    from reverie.io.images import write_sidecar

    out = Path(args.out)
    if out.suffix.lower() == ".json":
        raise ReverieError(f"--out {out} would collide with its JSON sidecar; use a .pt name such as model.pt")
    cfg = CharLMConfig(model=args.model, rnn_size=args.rnn_size, num_layers=args.num_layers,
                       n_embd=args.n_embd, dropout=args.dropout, weight_norm=args.weight_norm,
                       bytes_mode=args.bytes_mode,
                       val_frac=args.val_frac, seq_length=args.seq_length, batch_size=args.batch_size,
                       learning_rate=args.learning_rate, min_lr=args.min_lr,
                       warmup_iters=args.warmup_iters, max_iters=args.max_iters, minutes=args.minutes,
                       weight_decay=args.weight_decay, grad_clip=args.grad_clip,
                       eval_interval=args.eval_interval, eval_iters=args.eval_iters,
                       checkpoint_every=args.checkpoint_every, seed=args.seed, threads=args.threads)
    log = (lambda m: print(m, file=sys.stderr)) if not args.json else None
    with _bar(args, "training") as progress:
        result = train(args.corpus, out, cfg, resume=args.resume, progress=progress, log=log)
    write_sidecar(out, {"command": "text train", "corpus": [str(c) for c in args.corpus],
                        "resume": args.resume, **result})
    if args.json:
        print_json({k: v for k, v in result.items() if k != "history"})
    else:
        print(f"wrote {out}: {result['steps']} steps, val {result['val_bpc']:.3f} bits/char "
              f"({result['val_loss']:.3f} nats), train {result['train_bpc']:.3f} bits/char, "
              f"{result['chars_per_second']:,.0f} chars/s")
    return 0


def load_any(path: str):
    """('ngram', NGramLM) or ('charlm', (model, vocab, ckpt)) by what the file holds."""
    from reverie.text.charlm import load_model
    from reverie.text.ngram import NGramLM
    p = Path(path)
    if not p.exists():
        raise ReverieError(f"model not found: {p}; train one with `reverie text train` or `reverie text ngram`")
    if p.is_file():
        with open(p, "rb") as f:
            head = f.read(64).lstrip()
        if head.startswith(b"{"):
            return "ngram", NGramLM.load(p)
    return "charlm", load_model(p)


def cmd_sample(args) -> int:
    from reverie.io.images import atomic_path, write_sidecar
    kind, loaded = load_any(args.model)
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() == ".json":
        raise ReverieError(f"--out {out} would collide with its JSON sidecar; use a .txt name")
    stream = None if args.json else (lambda piece: (sys.stdout.write(piece), sys.stdout.flush()))
    start = time.perf_counter()
    if kind == "ngram":
        texts = []
        for i in range(args.num_samples):
            if stream and i:
                stream("\n\n")
            if stream:
                stream(args.prime)
            texts.append(loaded.sample(args.prime, args.length, args.temperature, args.top_k,
                                       args.seed + i, on_text=stream))
    else:
        from reverie.text.charlm import sample
        model, vocab, _ = loaded
        if stream:
            stream(args.prime)
        texts = sample(model, vocab, args.prime, args.length, args.temperature, args.top_k,
                       args.seed, num_samples=args.num_samples, on_text=stream)
        if stream:
            for t in texts[1:]:
                stream("\n\n" + args.prime + t)
    seconds = time.perf_counter() - start
    if stream:
        stream("\n")
    figures = {"model": str(args.model), "kind": kind, "prime": args.prime,
               "temperature": args.temperature, "top_k": args.top_k, "length": args.length,
               "seed": args.seed, "num_samples": args.num_samples, "seconds": seconds,
               "chars_per_second": args.length * args.num_samples / max(seconds, 1e-9)}
    if out is not None:
        with atomic_path(out) as tmp:
            tmp.write_text("\n\n".join(args.prime + t for t in texts) + "\n", encoding="utf-8")
        write_sidecar(out, {"command": "text sample", **figures})
    if args.json:
        print_json({**figures, "samples": texts})
    return 0


def cmd_ngram(args) -> int:
    from reverie.text.charlm import read_corpus
    from reverie.text.ngram import NGramConfig, NGramLM

    out = Path(args.out)
    if out.suffix.lower() != ".json":
        raise ReverieError("an n-gram model is a JSON file; give --out with a .json name, e.g. ngram.json")
    if not 0 <= args.val_frac < 0.5:
        raise ReverieError(f"--val-frac must be in [0, 0.5), got {args.val_frac}")
    text = read_corpus(args.corpus, bytes_mode=args.bytes_mode)
    n = len(text) - int(len(text) * args.val_frac)
    train_text, val_text = text[:n], text[n:]
    start = time.perf_counter()
    with _bar(args, "counting") as progress:
        model = NGramLM.fit(train_text, NGramConfig(args.order, args.method, args.bytes_mode), progress)
    fit_s = time.perf_counter() - start
    figures = {"order": args.order, "method": args.method, "bytes_mode": args.bytes_mode,
               "train_chars": len(train_text), "val_chars": len(val_text), "fit_seconds": fit_s,
               "vocab_size": len(model.vocab)}
    if len(val_text) >= 2:
        try:
            ev = model.evaluate(val_text)
            figures.update({"val_bpc": ev["bits_per_char"], "val_loss": ev["nats_per_char"]})
        except ReverieError as exc:  # held-out characters never seen in training
            figures["val_note"] = str(exc)
    # the model file is its own record (a sidecar would have the same name)
    import reverie
    from reverie.io.images import save_json
    save_json({**model.to_dict(), "sidecar": {"reverie_version": reverie.__version__,
                                              "command": "text ngram",
                                              "corpus": [str(c) for c in args.corpus], **figures}}, out)
    if args.json:
        print_json(figures)
    else:
        extra = f", held-out {figures['val_bpc']:.3f} bits/char ({figures['val_loss']:.3f} nats)" if "val_bpc" in figures else ""
        print(f"wrote {out}: order {args.order} {args.method}, {fit_s:.1f} s{extra}")
    return 0


def cmd_evaluate(args) -> int:
    from reverie.text.charlm import evaluate_text, read_corpus
    kind, loaded = load_any(args.model)
    if kind == "ngram":
        bytes_mode = loaded.config.bytes_mode
    else:
        bytes_mode = loaded[1].bytes_mode
    text = read_corpus(args.corpus, bytes_mode=bytes_mode)
    if args.split == "val":
        text = text[len(text) - int(len(text) * args.val_frac):]
    start = time.perf_counter()
    if kind == "ngram":
        result = loaded.evaluate(text)
    else:
        model, vocab, _ = loaded
        result = evaluate_text(model, vocab, text)
    result["seconds"] = time.perf_counter() - start
    result["model"] = str(args.model)
    result["kind"] = kind
    if args.json:
        print_json(result)
    else:
        print(f"{result['bits_per_char']:.4f} bits/char ({result['nats_per_char']:.4f} nats/char) "
              f"on {result['chars']:,} characters")
    return 0


def cmd_trace(args) -> int:
    from reverie.text.charlm import load_model, unit_trace
    from reverie.io.images import write_sidecar
    from reverie.text.trace import write_trace_page

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ReverieError("the trace is an HTML page; give --out with a .html name, e.g. trace.html")
    text = args.text
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise ReverieError(f"text file not found: {path}; check the path after @")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ReverieError(f"{path} is not UTF-8 text; convert it to UTF-8") from None
    model, vocab, _ = load_model(args.model)
    chars, values = unit_trace(model, vocab, text, args.unit, args.state)
    write_trace_page(out, chars, values, title=f"unit {args.unit} ({args.state}) of {Path(args.model).name}")
    figures = {"model": str(args.model), "unit": args.unit, "state": args.state, "chars": len(chars),
               "min": min(values), "max": max(values), "mean": sum(values) / len(values)}
    write_sidecar(out, {"command": "text trace", **figures})
    if args.json:
        print_json(figures)
    else:
        print(f"wrote {out}")
    return 0


def cmd_sentiment_fit(args) -> int:
    from reverie.io.images import check_writable, write_sidecar
    from reverie.text.sentiment import ProbeConfig, fit, public_figures

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg", ".pdf", ".jpg"):
        raise ReverieError("the histogram is an image; give --out with a .png name")
    if not 0 < args.test_frac < 0.9:
        raise ReverieError(f"--test-frac must be in (0, 0.9), got {args.test_frac}")
    check_writable(out)
    cfg = ProbeConfig(test_frac=args.test_frac, feature=args.feature, max_chars=args.max_chars, seed=args.seed)
    start = time.perf_counter()
    with _bar(args, "reading") as progress:
        result = fit(args.lm, args.data, args.text_col, args.label_col, cfg, histogram=out, progress=progress)
    figures = public_figures(result)
    figures["seconds"] = time.perf_counter() - start
    write_sidecar(out, {"command": "sentiment fit", "lm": str(args.lm), "config": asdict(cfg), **figures})
    if args.json:
        print_json(figures)
    else:
        print(f"probe: {figures['test_accuracy']:.1%} test accuracy ({figures['test_balanced_accuracy']:.1%} "
              f"balanced; majority {figures['majority_accuracy']:.1%}), {figures['units_used']} of "
              f"{figures['units_total']} units, C={figures['C']:g}")
        print(f"top unit {figures['unit']}: {figures['unit_accuracy']:.1%} alone "
              f"({figures['unit_balanced_accuracy']:.1%} balanced), polarity "
              f"{'+' if figures['polarity'] > 0 else '-'} (higher = "
              f"{'positive' if figures['polarity'] > 0 else 'negative'})")
        print(f"steer with it: reverie sentiment generate --lm {args.lm} --unit {figures['state_unit']} "
              f"--state {figures['state']} --value V")
        print(f"wrote {out}")
    return 0


def cmd_sentiment_corpus(args) -> int:
    from reverie.io.images import atomic_path, check_writable
    from reverie.text.sentiment import lm_corpus, unlabelled_texts

    out = check_writable(args.out)
    texts = unlabelled_texts(args.data, args.text_col)
    corpus = lm_corpus(texts, args.seed)
    with atomic_path(out) as tmp:
        tmp.write_text(corpus + "\n", encoding="utf-8")
    figures = {"data": args.data, "texts": len(texts), "characters": len(corpus), "out": str(out), "seed": args.seed}
    if args.json:
        print_json(figures)
    else:
        print(f"wrote {out}: {len(texts):,} texts, {len(corpus):,} characters, one per line in a shuffled order; "
              f"train on it with: reverie text train {out} --out lm.pt --minutes 20 --dropout 0")
    return 0


def cmd_sentiment_generate(args) -> int:
    from reverie.text.charlm import load_model
    from reverie.io.images import atomic_path, write_sidecar
    from reverie.text.sentiment import generate_clamped

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() == ".json":
        raise ReverieError(f"--out {out} would collide with its JSON sidecar; use a .txt name")
    model, vocab, _ = load_model(args.lm)
    start = time.perf_counter()
    texts = generate_clamped(model, vocab, args.unit, args.value, args.prime, args.num_samples,
                             args.length, args.temperature, args.top_k, args.seed, args.state)
    figures = {"lm": str(args.lm), "unit": args.unit, "value": args.value, "state": args.state,
               "prime": args.prime, "temperature": args.temperature, "top_k": args.top_k,
               "length": args.length, "seed": args.seed, "num_samples": args.num_samples,
               "seconds": time.perf_counter() - start}
    if out is not None:
        with atomic_path(out) as tmp:
            tmp.write_text("\n\n".join(args.prime + t for t in texts) + "\n", encoding="utf-8")
        write_sidecar(out, {"command": "sentiment generate", **figures})
    if args.json:
        print_json({**figures, "samples": texts})
    else:
        for i, t in enumerate(texts):
            print(f"[{i + 1}] {args.prime}{t}")
    return 0
