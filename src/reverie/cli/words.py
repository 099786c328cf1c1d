"""`reverie words`: the group for word vectors. `words train` and `words analogy` are
generated from the registry; the commands here are the ones that are not mechanisms:
looking words up, the standard evaluations, Figure 6 and converting formats."""
from __future__ import annotations

import argparse

from reverie.cli.common import add_json, add_progress, group, positive_int, print_json


def _vectors(p: argparse.ArgumentParser) -> None:
    p.add_argument("vectors", metavar="VECTORS", help="gensim .kv, word2vec .txt/.vec or .bin, "
                   "a .pt from `words train`, or model:NAME from the zoo")
    p.add_argument("--format", choices=["kv", "text", "binary", "checkpoint"], default=None,
                   help="vectors format when the suffix does not say")


def register(sub) -> None:
    wsub = group(sub, "words", "word vectors learned from context (word2vec) and analogies")

    n = wsub.add_parser("neighbors", aliases=["neighbours"], help="nearest words by cosine")
    _vectors(n)
    n.add_argument("word")
    n.add_argument("--topn", type=positive_int, default=10, help="words to show")
    n.add_argument("--restrict-vocab", type=positive_int, default=None,
                   help="search only the N most frequent words")
    add_json(n)
    n.set_defaults(func=run_neighbors)

    s = wsub.add_parser("similarity", help="cosine similarity of two words")
    _vectors(s)
    s.add_argument("a", metavar="A")
    s.add_argument("b", metavar="B")
    add_json(s)
    s.set_defaults(func=run_similarity)

    o = wsub.add_parser("odd-one-out", help="the word that does not belong")
    _vectors(o)
    o.add_argument("words", nargs="+", metavar="WORD")
    add_json(o)
    o.set_defaults(func=run_odd)

    e = wsub.add_parser("evaluate", help="Google analogies per section (with coverage) and WordSim-353")
    _vectors(e)
    e.add_argument("--questions", default=None, help="analogy file (default: gensim's questions-words.txt)")
    e.add_argument("--pairs", default=None, help="similarity pairs (default: gensim's wordsim353.tsv)")
    e.add_argument("--restrict-vocab", type=positive_int, default=300_000,
                   help="only the N most frequent words count (as gensim)")
    e.add_argument("--out", default=None, metavar="PATH", help="also write the report to this JSON file")
    add_progress(e)
    add_json(e)
    e.set_defaults(func=run_evaluate)

    pl = wsub.add_parser("plot", help="PCA of word pairs with the offsets as arrows (Figure 6)")
    _vectors(pl)
    pl.add_argument("words", nargs="+", metavar="WORD", help="pairs: A B C D draws A->B and C->D")
    pl.add_argument("--out", required=True, metavar="PATH", help="image to write (.png, .svg, .pdf)")
    pl.add_argument("--title", default=None, help="the plot's title (default: the words)")
    add_json(pl)
    pl.set_defaults(func=run_plot)

    c = wsub.add_parser("convert", aliases=["export", "import"],
                        help="convert vectors between gensim .kv, word2vec text/binary and "
                        "checkpoint (.pt)")
    c.add_argument("input", metavar="IN")
    c.add_argument("output", metavar="OUT")
    c.add_argument("--from", dest="from_format", choices=["kv", "text", "binary", "checkpoint"],
                   default=None, help="the input's format (default: from its suffix)")
    c.add_argument("--to", dest="to_format", choices=["kv", "text", "binary", "checkpoint"],
                   default=None, help="the output's format (default: from its suffix)")
    c.add_argument("--expect-dim", type=positive_int, default=None,
                   help="fail unless the vectors have this many dimensions")
    add_json(c)
    c.set_defaults(func=run_convert)


def _load(args):
    from reverie.words.vectors import load_vectors
    return load_vectors(args.vectors, fmt=args.format)


def _rows(pairs) -> list[dict]:
    return [{"word": w, "score": sc} for w, sc in pairs]


def run_neighbors(args) -> int:
    from reverie.words.analogy import neighbors

    res = neighbors(_load(args), args.word, k=args.topn, restrict_vocab=args.restrict_vocab)
    if args.json:
        print_json({"word": args.word, "neighbors": _rows(res)})
        return 0
    for i, (w, sc) in enumerate(res, 1):
        print(f"{i:>3}  {w:<24} {sc:.3f}")
    return 0


def run_similarity(args) -> int:
    from reverie.words.analogy import similarity

    value = similarity(_load(args), args.a, args.b)
    if args.json:
        print_json({"a": args.a, "b": args.b, "cosine": value})
    else:
        print(f"{value:.4f}")
    return 0


def run_odd(args) -> int:
    from reverie.words.analogy import odd_one_out

    odd, ranked = odd_one_out(_load(args), args.words)
    if args.json:
        print_json({"odd_one_out": odd, "cosine_to_mean": _rows(ranked)})
        return 0
    print(odd)
    for w, sc in ranked:
        print(f"     {w:<24} {sc:.3f} to the mean")
    return 0


def run_evaluate(args) -> int:
    from reverie.core.progress import bar
    from reverie.io.files import check_writable, save_json
    from reverie.words.evaluate import evaluate

    if args.out:
        check_writable(args.out)
    kv = _load(args)
    with bar("evaluating", enabled=False if (args.json or args.no_progress) else None) as progress:
        report = evaluate(kv, args.questions, args.pairs, restrict_vocab=args.restrict_vocab,
                          progress=progress)
    report["vectors"] = args.vectors
    if args.out:
        save_json(report, args.out)
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
    from reverie.words.plot import plot_analogies

    figures = plot_analogies(_load(args), args.words, args.out, title=args.title,
                             record={"vectors": args.vectors})
    if args.json:
        print_json({"out": args.out, **figures})
    else:
        print(f"wrote {args.out} (offsets' mean cosine {figures['offset_cosine_mean']:.2f})")
    return 0


def run_convert(args) -> int:
    from reverie.words.vectors import convert

    info = convert(args.input, args.output, args.from_format, args.to_format, args.expect_dim)
    if args.json:
        print_json(info)
    else:
        print(f"wrote {info['out']}: {info['vocabulary']:,} words x {info['vector_size']} dims "
              f"({info['format']})")
    return 0
