"""`reverie words`: train word vectors and reason with them (A : B :: C : ?)."""
from __future__ import annotations

import argparse

from reverie.cli.common import add_json, add_progress, add_seed, nonneg_int, positive_int, print_json


def _kv(p: argparse.ArgumentParser) -> None:
    p.add_argument("vectors", metavar="WORDS.kv", help="vectors: gensim .kv, word2vec .txt/.vec or .bin")
    p.add_argument("--format", choices=["kv", "text", "binary"], default=None,
                   help="vectors format when the suffix does not say")



def register(sub) -> None:
    from reverie.words.train import WordsConfig
    d = WordsConfig()

    p = sub.add_parser("words", help="word embeddings learned from context (word2vec) and analogies",
                       description="Word vectors learned from the contexts words appear in "
                                   "(Mikolov et al. 2013), and the arithmetic A : B :: C : ?")
    wsub = p.add_subparsers(dest="words_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    t = wsub.add_parser("train", help="train vectors on text files, folders or builtin:gcide, "
                        "builtin:kjv, builtin:shakespeare, builtin:lee")
    t.add_argument("corpus", nargs="+", metavar="CORPUS", help="text file, folder, or builtin:NAME")
    t.add_argument("--out", required=True, help="where to save: WORDS.kv (gensim), .txt/.vec or .bin (word2vec)")
    arch = t.add_mutually_exclusive_group()
    arch.add_argument("--cbow", dest="sg", action="store_const", const=0, default=d.sg,
                      help="continuous bag of words (default, as in the paper)")
    arch.add_argument("--sg", "--skip-gram", dest="sg", action="store_const", const=1,
                      help="skip-gram instead of CBOW")
    t.add_argument("--vector-size", type=positive_int, default=d.vector_size,
                   help=f"dimensions (default: {d.vector_size})")
    t.add_argument("--window", type=positive_int, default=d.window,
                   help=f"context words each side (default: {d.window})")
    t.add_argument("--min-count", type=positive_int, default=d.min_count,
                   help=f"ignore words seen fewer times (default: {d.min_count})")
    t.add_argument("--negative", type=nonneg_int, default=d.negative,
                   help=f"negative samples (default: {d.negative}; 0 with --hs)")
    t.add_argument("--hs", type=int, choices=[0, 1], default=d.hs, help="hierarchical softmax (default: 0)")
    t.add_argument("--sample", type=float, default=d.sample,
                   help=f"subsampling threshold for frequent words (default: {d.sample:g}, chosen on "
                        f"a 4 M-word corpus; use 1e-3 for corpora under 1 M words; 0 = off)")
    t.add_argument("--epochs", type=positive_int, default=d.epochs, help=f"passes (default: {d.epochs})")
    t.add_argument("--alpha", type=float, default=d.alpha,
                   help=f"start learning rate (default: {d.alpha:g})")
    t.add_argument("--min-alpha", type=float, default=d.min_alpha, help=f"final learning rate (default: {d.min_alpha:g})")
    t.add_argument("--workers", type=nonneg_int, default=d.workers,
                   help="threads (default: 0 = one per core; --workers 1 with --seed is reproducible)")
    t.add_argument("--phrases", action="store_true", help="join frequent pairs first (new_york)")
    t.add_argument("--phrase-threshold", type=float, default=d.phrase_threshold,
                   help=f"Phrases score threshold (default: {d.phrase_threshold:g}; lower = more phrases)")
    t.add_argument("--keep-case", action="store_true", help="do not lower-case the corpus")
    add_seed(t)
    add_json(t)
    add_progress(t)
    t.set_defaults(func=run_train)

    a = wsub.add_parser("analogy", help='"A is to B as C is to ?" with 3CosAdd and 3CosMul')
    _kv(a)
    a.add_argument("a", metavar="A")
    a.add_argument("b", metavar="B")
    a.add_argument("c", metavar="C")
    a.add_argument("-k", type=positive_int, default=10, help="answers to show (default: 10)")
    a.add_argument("--method", choices=["3cosadd", "3cosmul", "both"], default="both")
    a.add_argument("--restrict-vocab", type=positive_int, default=None,
                   help="search only the N most frequent words")
    add_json(a)
    a.set_defaults(func=run_analogy)

    n = wsub.add_parser("neighbors", aliases=["neighbours"], help="nearest words by cosine")
    _kv(n)
    n.add_argument("word")
    n.add_argument("-k", type=positive_int, default=10)
    add_json(n)
    n.set_defaults(func=run_neighbors)

    s = wsub.add_parser("similarity", help="cosine similarity of two words")
    _kv(s)
    s.add_argument("a", metavar="A")
    s.add_argument("b", metavar="B")
    add_json(s)
    s.set_defaults(func=run_similarity)

    o = wsub.add_parser("odd-one-out", help="the word that does not belong")
    _kv(o)
    o.add_argument("words", nargs="+", metavar="WORD")
    add_json(o)
    o.set_defaults(func=run_odd)

    e = wsub.add_parser("evaluate", help="Google analogies per section (with coverage) and WordSim-353")
    _kv(e)
    e.add_argument("--questions", default=None, help="analogy file (default: gensim's questions-words.txt)")
    e.add_argument("--pairs", default=None, help="similarity pairs (default: gensim's wordsim353.tsv)")
    e.add_argument("--restrict-vocab", type=positive_int, default=300_000,
                   help="only the N most frequent words count (default: 300000, as gensim)")
    e.add_argument("--out", default=None, help="also write the report to this JSON file")
    add_json(e)
    e.set_defaults(func=run_evaluate)

    pl = wsub.add_parser("plot", help="PCA of word pairs with the offsets as arrows (Figure 6)")
    _kv(pl)
    pl.add_argument("words", nargs="+", metavar="WORD", help="pairs: A B C D draws A->B and C->D")
    pl.add_argument("--out", required=True, help="image to write (.png, .svg, .pdf)")
    pl.add_argument("--title", default=None)
    add_json(pl)
    pl.set_defaults(func=run_plot)

    c = wsub.add_parser("convert", aliases=["export", "import"],
                        help="convert vectors between gensim .kv and word2vec text/binary")
    c.add_argument("input", metavar="IN")
    c.add_argument("output", metavar="OUT")
    c.add_argument("--from", dest="from_format", choices=["kv", "text", "binary"], default=None)
    c.add_argument("--to", dest="to_format", choices=["kv", "text", "binary"], default=None)
    c.add_argument("--expect-dim", type=positive_int, default=None,
                   help="fail unless the vectors have this many dimensions")
    add_json(c)
    c.set_defaults(func=run_convert)


def _load(args):
    from reverie.words.train import load_vectors
    return load_vectors(args.vectors, fmt=args.format)


def run_train(args) -> int:
    from reverie.core.progress import bar
    from reverie.words.train import WordsConfig, train_words

    cfg = WordsConfig(sg=args.sg, vector_size=args.vector_size, window=args.window,
                      min_count=args.min_count, negative=args.negative, hs=args.hs,
                      sample=args.sample, epochs=args.epochs, alpha=args.alpha,
                      min_alpha=args.min_alpha, workers=args.workers, seed=args.seed,
                      lowercase=not args.keep_case, phrases=args.phrases,
                      phrase_threshold=args.phrase_threshold)
    enabled = False if (args.no_progress or args.json) else None
    with bar("training word2vec", enabled=enabled) as progress:
        result = train_words(args.corpus, cfg, out=args.out, progress=progress)
    s = result.stats
    if args.json:
        print_json({"out": args.out, **s})
    else:
        print(f"trained on {s['words']:,} words ({s['sentences']:,} sentences): "
              f"{s['vocabulary']:,} words x {cfg.vector_size} dims in {s['train_seconds']:.1f} s "
              f"({s['words_per_second']:,} words/s); wrote {args.out}")
    return 0


def _rows(pairs) -> list[dict]:
    return [{"word": w, "score": sc} for w, sc in pairs]


def run_analogy(args) -> int:
    from reverie.words.train import analogy

    methods = ["3cosadd", "3cosmul"] if args.method == "both" else [args.method]
    kv = _load(args)
    res = analogy(kv, args.a, args.b, args.c, k=args.k, methods=methods,
                  restrict_vocab=args.restrict_vocab)
    if args.json:
        print_json({"a": args.a, "b": args.b, "c": args.c, "question":
                    f"{args.a} : {args.b} :: {args.c} : ?",
                    **{m: _rows(v) for m, v in res.items()}})
        return 0
    print(f"{args.a} is to {args.b} as {args.c} is to ...")
    header = "  ".join(f"{m:<28}" for m in res)
    print(f"     {header}")
    for i in range(max(len(v) for v in res.values())):
        cells = []
        for v in res.values():
            cells.append(f"{v[i][0]:<20} {v[i][1]:7.3f}" if i < len(v) else " " * 28)
        print(f"{i + 1:>3}  " + "  ".join(f"{c:<28}" for c in cells))
    return 0


def run_neighbors(args) -> int:
    from reverie.words.train import neighbors

    res = neighbors(_load(args), args.word, k=args.k)
    if args.json:
        print_json({"word": args.word, "neighbors": _rows(res)})
        return 0
    for i, (w, sc) in enumerate(res, 1):
        print(f"{i:>3}  {w:<24} {sc:.3f}")
    return 0


def run_similarity(args) -> int:
    from reverie.words.train import similarity

    value = similarity(_load(args), args.a, args.b)
    if args.json:
        print_json({"a": args.a, "b": args.b, "cosine": value})
    else:
        print(f"{value:.4f}")
    return 0


def run_odd(args) -> int:
    from reverie.words.train import odd_one_out

    odd, ranked = odd_one_out(_load(args), args.words)
    if args.json:
        print_json({"odd_one_out": odd, "cosine_to_mean": _rows(ranked)})
        return 0
    print(odd)
    for w, sc in ranked:
        print(f"     {w:<24} {sc:.3f} to the mean")
    return 0


def run_evaluate(args) -> int:
    from reverie.io.images import check_writable
    from reverie.core.progress import bar
    from reverie.words.train import evaluate, save_report

    if args.out:
        check_writable(args.out)
    kv = _load(args)
    with bar("evaluating", enabled=False if args.json else None) as progress:
        report = evaluate(kv, args.questions, args.pairs, restrict_vocab=args.restrict_vocab,
                          progress=progress)
    report["vectors"] = args.vectors
    if args.out:
        save_report(report, args.out)
    if args.json:
        print_json(report)
        return 0
    an = report["analogies"]
    print(f"{'section':<30}{'covered':>16}{'3CosAdd':>10}{'3CosMul':>10}")
    rows = [*an["sections"], {"section": "-- semantic", **an["semantic"]},
            {"section": "-- syntactic", **an["syntactic"]}, {"section": "== total", **an["total"]}]
    for s in rows:
        cov = f"{s['covered']}/{s['questions']} ({s['coverage']:.0%})"
        print(f"{s['section']:<30}{cov:>16}{s['accuracy_3cosadd']:>10.1%}{s['accuracy_3cosmul']:>10.1%}")
    sim = report["similarity"]
    print(f"WordSim-353: Spearman {sim['spearman']:.3f} on {sim['covered']}/{sim['pairs']} pairs")
    return 0


def run_plot(args) -> int:
    from reverie.words.train import plot_analogies

    figures = plot_analogies(_load(args), args.words, args.out, title=args.title,
                             sidecar={"vectors": args.vectors})
    if args.json:
        print_json({"out": args.out, **figures})
    else:
        print(f"wrote {args.out} (offsets' mean cosine {figures['offset_cosine_mean']:.2f})")
    return 0


def run_convert(args) -> int:
    from reverie.words.train import format_for, load_vectors, save_vectors

    fmt = format_for(args.output, args.to_format)
    kv = load_vectors(args.input, fmt=args.from_format, expect_dim=args.expect_dim)
    save_vectors(kv, args.output, fmt, sidecar={"command": "words convert", "input": args.input})
    info = {"input": args.input, "out": args.output, "format": fmt, "vocabulary": len(kv),
            "vector_size": kv.vector_size}
    if args.json:
        print_json(info)
    else:
        print(f"wrote {args.output}: {len(kv):,} words x {kv.vector_size} dims ({fmt})")
    return 0
