"""`reverie text ...` and `reverie sentiment ...`: the groups the generated commands land in
(`text train`, `text sample`, `text ngram`, `sentiment fit`, `sentiment generate`), and the
commands that are not mechanisms: `text evaluate` (bits per character of a model on
text), `text trace` (an HTML page of one unit's value per character) and `sentiment
corpus` (a labelled set's texts as a corpus to train on)."""
from __future__ import annotations

import time
from pathlib import Path

from reverie.cli.common import add_json, group, print_json
from reverie.core.errors import ReverieError
from reverie.text.cache import LAMBDA, THETA, WINDOW


def register(sub) -> None:
    ts = group(sub, "text", "character language models: char-rnn, n-grams, unit traces")

    p = ts.add_parser("evaluate", help="bits per character of a model on held-out text")
    p.add_argument("model", help="a model from `text train` (.pt) or `text ngram` (.json)")
    p.add_argument("corpus", nargs="+", help="text file(s), folder(s) or builtin:shakespeare")
    p.add_argument("--split", choices=["all", "val"], default="all",
                   help="score all of the text, or only its last --val-frac, as training held "
                        "it out (default: all)")
    p.add_argument("--val-frac", type=float, default=0.1, help="(default: 0.1)")
    p.add_argument("--cache-lambda", type=float, default=0.0,
                   help="mix in the continuous cache (Grave et al. 2017) at this share: the "
                        "model also predicts what followed its most similar earlier states "
                        f"(default: 0, off; the chat responder's is {LAMBDA:g})")
    p.add_argument("--cache-theta", type=float, default=THETA,
                   help=f"how sharply the cache looks up similar states (default: {THETA:g})")
    p.add_argument("--cache-window", type=int, default=WINDOW,
                   help=f"how many earlier states the cache keeps (default: {WINDOW})")
    add_json(p)
    p.set_defaults(func=cmd_evaluate)

    p = ts.add_parser("trace", help="an HTML page colouring each character by a unit's value")
    p.add_argument("model", help="a model from `text train` (.pt)")
    p.add_argument("text", help="the text to read (or @FILE to read a file)")
    p.add_argument("--unit", type=int, required=True, help="the top-layer unit to show")
    p.add_argument("--state", choices=["c", "h"], default="c",
                   help="the cell (c) or hidden (h) state (default: c)")
    p.add_argument("--out", default="trace.html", help="page to write (default: trace.html)")
    add_json(p)
    p.set_defaults(func=cmd_trace)

    ss = group(sub, "sentiment", "the sentiment neuron: probe a language model, clamp a unit")
    p = ss.add_parser("corpus", help="write a labelled set's texts as a corpus to train a "
                                     "language model on")
    p.add_argument("data", help="CSV/TSV, or builtin:airline-tweets (the 14,638 tweets that "
                                "mention an airline, neutral kept) / builtin:tweets / "
                                "builtin:drugs (labels unused)")
    p.add_argument("--text-col", default="text", help="the column of texts (default: text)")
    p.add_argument("--out", required=True, help="text file to write, one text per line")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffled order (default: 0)")
    add_json(p)
    p.set_defaults(func=cmd_sentiment_corpus)


def cmd_evaluate(args) -> int:
    from reverie.text.cache import Cache
    from reverie.text.charlm import CharLM, evaluate_text
    from reverie.text.corpus import read_corpus
    from reverie.text.lm import load_lm

    if not 0 < args.val_frac < 0.5:
        raise ReverieError(f"--val-frac must be between 0 and 0.5, got {args.val_frac}")
    if args.cache_window < 1:
        raise ReverieError(f"--cache-window must be at least 1, got {args.cache_window}")
    cache = Cache(args.cache_theta, args.cache_lambda)  # checks both (the flags in its error)
    lm = load_lm(args.model)
    bytes_mode = lm.vocab.bytes_mode if isinstance(lm, CharLM) else lm.config.bytes_mode
    text = read_corpus(args.corpus, bytes_mode=bytes_mode)
    if args.split == "val":
        text = text[len(text) - int(len(text) * args.val_frac):]
    start = time.perf_counter()
    if isinstance(lm, CharLM):
        result = evaluate_text(lm.model, lm.vocab, text, cache=cache if cache.on else None,
                               window=args.cache_window)
    elif args.cache_lambda:
        raise ReverieError("--cache-lambda needs a network from `text train`: an n-gram model "
                           "has no states to look up")
    else:
        result = lm.evaluate(text)
    result.update(seconds=time.perf_counter() - start, model=str(args.model),
                  kind="charlm" if isinstance(lm, CharLM) else "ngram")
    if args.json:
        print_json(result)
    else:
        print(f"{result['bits_per_char']:.4f} bits/char ({result['nats_per_char']:.4f} nats/char) "
              f"on {result['chars']:,} characters")
    return 0


def cmd_trace(args) -> int:
    from reverie.io.files import check_writable
    from reverie.text.charlm import load_charlm, unit_trace
    from reverie.text.trace import write_trace_page

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ReverieError("the trace is an HTML page; give --out with a .html name, e.g. trace.html")
    check_writable(out)
    text = args.text
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise ReverieError(f"text file not found: {path}; check the path after @")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ReverieError(f"{path} is not UTF-8 text; convert it to UTF-8") from None
    model, vocab = load_charlm(args.model)
    chars, values = unit_trace(model, vocab, text, args.unit, args.state)
    write_trace_page(out, chars, values, title=f"unit {args.unit} ({args.state}) of {Path(args.model).name}")
    figures = {"model": str(args.model), "unit": args.unit, "state": args.state, "chars": len(chars),
               "min": min(values), "max": max(values), "mean": sum(values) / len(values)}
    if args.json:
        print_json({"outputs": {"page": str(out)}, "figures": figures})
    else:
        print(f"wrote {out}: unit {args.unit} ({args.state}) from {figures['min']:+.3g} to "
              f"{figures['max']:+.3g} over {len(chars):,} characters")
    return 0


def cmd_sentiment_corpus(args) -> int:
    from reverie.io.files import check_writable, save_text
    from reverie.text.sentiment import lm_corpus, unlabelled_texts

    out = check_writable(args.out)
    texts = unlabelled_texts(args.data, args.text_col)
    corpus = lm_corpus(texts, args.seed)
    save_text(corpus + "\n", out)
    figures = {"data": args.data, "texts": len(texts), "characters": len(corpus), "seed": args.seed}
    if args.json:
        print_json({"outputs": {"text": str(out)}, "figures": figures})
    else:
        print(f"wrote {out}: {len(texts):,} texts, {len(corpus):,} characters, one per line in a "
              f"shuffled order; train on it with: reverie text train {out} --out lm.pt "
              f"--max-steps 20000 --dropout 0")
    return 0
