"""Gallery section: word vectors learned from context, and the analogies they get right and wrong."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from reverie.gallery import Card, GalleryContext, Section, Table

CLASSICS = [("king", "queen", "man", "woman"), ("man", "woman", "brother", "sister"),
            ("father", "mother", "son", "daughter"), ("boy", "girl", "prince", "princess"),
            ("france", "paris", "italy", "rome"), ("england", "london", "france", "paris"),
            ("good", "better", "bad", "worse"), ("big", "bigger", "small", "smaller"),
            ("walk", "walked", "go", "went"), ("dog", "dogs", "child", "children"),
            ("slow", "slowly", "quick", "quickly"), ("mouse", "mice", "foot", "feet"),
            ("dog", "puppy", "cat", "kitten"), ("sing", "singing", "swim", "swimming")]
PLOT_SETS = {
    "gender": ["man", "woman", "king", "queen", "boy", "girl", "brother", "sister", "father",
               "mother", "uncle", "aunt", "husband", "wife", "son", "daughter"],
    "countries and capitals": ["france", "paris", "italy", "rome", "spain", "madrid", "greece",
                               "athens", "russia", "moscow", "egypt", "cairo", "england",
                               "london", "germany", "berlin", "japan", "tokyo", "china", "peking"],
}
PROBES = ("king", "water", "music", "red", "sydney", "government", "god", "horse", "monday",
          "three")


def _choose_corpus(quick: bool) -> tuple[list[str], dict, str]:
    from reverie.core.errors import ReverieError
    from reverie.io import datasets

    if quick:
        return (["builtin:lee"], dict(epochs=40, min_count=3, sample=1e-3, vector_size=50),
                "gensim's Lee news corpus, 61 k words (quick)")
    try:
        datasets.files("gcide")
        return ["builtin:gcide"], {}, "GCIDE, the Webster 1913 + WordNet dictionary (Debian dict-gcide)"
    except ReverieError:
        return (["builtin:shakespeare", "builtin:lee"], dict(epochs=20, min_count=3, sample=1e-3),
                "tiny-shakespeare and gensim's Lee corpus (install dict-gcide for a far better model)")


def _zoo_text(card: dict) -> str:
    return (f"{card['data']} (the zoo's model:words, {card['steps']} epochs, "
            f"{card['wall_seconds']:.0f} s on {card['hardware']})")


def _cache_path(ctx: GalleryContext, corpus: list[str], overrides: dict) -> Path:
    from reverie.words.train import WordsConfig

    key = json.dumps({"corpus": corpus, **WordsConfig(**overrides).to_dict()}, sort_keys=True)
    return Path(ctx.cache_dir) / f"words-{hashlib.sha1(key.encode()).hexdigest()[:12]}.kv"


def _model(ctx: GalleryContext, corpus: list[str], overrides: dict):
    """(vectors, their path, the training figures and timings, cached?)."""
    from reverie.words.train import load_words, train_words

    path = _cache_path(ctx, corpus, overrides)
    if path.exists():
        try:
            record = json.loads(path.with_suffix(".json").read_text())
            return load_words(path), path, {**record["figures"], **record["timings"]}, True
        except Exception:  # a damaged cache is retrained
            pass
    result = train_words(corpus, out=path, progress=ctx.progress, **overrides)
    return result.vectors, path, {**result.figures, **result.timings}, False


def _mark(answer: str, expected: str) -> str:
    return f"{answer} {'✓' if answer == expected else '✗'}"


def analogy_card(ctx: GalleryContext, kv, path: Path, vs) -> Card:
    """The famous analogies, by both methods, and one Google question per section."""
    from reverie.words.analogy import analogy
    from reverie.words.evaluate import analogy_examples

    covered = [q for q in CLASSICS if all(w in vs for w in q)]
    rows, right = [], 0
    for a, b, c, d in covered:
        best = analogy(kv, a, b, c, topn=1).answers
        mul, add = best["3cosmul"][0][0], best["3cosadd"][0][0]
        right += mul == d
        rows.append([f"{a} : {b} :: {c}", d, _mark(mul, d), _mark(add, d)])
    tables = [Table(["A : B :: C : ?", "expected", "3CosMul", "3CosAdd"], rows,
                    "classic analogies, the three question words excluded")]
    if not ctx.quick:
        samples = analogy_examples(kv, per_section=1, seed=0)[:14]
        tables.append(Table(["A : B :: C : ?", "expected", "3CosMul"],
                            [[f"{e['a']} : {e['b']} :: {e['c']}", e["expected"],
                              _mark(e["answer"], e["expected"])] for e in samples],
                            "one Google question per section"))
    media = []
    if covered:  # one answer saved by the mechanism itself, with its sidecar (rerunnable)
        a, b, c, _ = covered[0]
        paths = analogy(path, a, b, c, topn=5).save(ctx.asset(f"words/{a}-{b}-{c}.json"))
        media.append(ctx.rel(paths["answers"]))
    return Card(title="A is to B as C is to ?", media=media, tables=tables,
                figures={"classic analogies right (3CosMul)": f"{right}/{len(covered)}"})


def build(ctx: GalleryContext) -> Section:
    from reverie.io.files import save_json
    from reverie.words.evaluate import evaluate
    from reverie.words.plot import plot_analogies
    from reverie.words.train import load_words
    from reverie.words.vectors import vector_set

    start = time.perf_counter()
    zoo = ctx.zoo_card("words")
    if zoo:  # ready on first use: the zoo's vectors, from public-domain text
        corpus, corpus_text, cached = ["model:words"], _zoo_text(zoo), True
        kv, path = load_words("model:words"), "model:words"
        stats = {**zoo.get("training", {}), "train": zoo["wall_seconds"]}
    else:
        corpus, overrides, corpus_text = _choose_corpus(ctx.quick)
        if ctx.quick:  # a full model trained by an earlier run costs nothing to show
            full = _choose_corpus(False)
            if _cache_path(ctx, full[0], full[1]).exists():
                corpus, overrides, corpus_text = full
        kv, path, stats, cached = _model(ctx, corpus, overrides)
    vs = vector_set(kv)
    cards = [analogy_card(ctx, kv, path, vs)]

    # what it learned without being told: nearest neighbours
    probes = [w for w in PROBES if w in vs][:6]
    cards.append(Card(title="Nearest neighbours", tables=[Table(
        ["word", "nearest five, closest first"],
        [[w, ", ".join(n for n, _ in vs.nearest(w, k=5))] for w in probes],
        "by cosine between the vectors")]))

    # Figure 6: the offsets drawn as arrows
    for name, words in PLOT_SETS.items():
        pairs = [(words[i], words[i + 1]) for i in range(0, len(words), 2)
                 if words[i] in vs and words[i + 1] in vs]
        if len(pairs) < 3:
            continue
        out = ctx.asset(f"words/figure6-{name.split()[0]}.png")
        fig = plot_analogies(kv, [w for p in pairs[:7] for w in p], out,
                             title=f"{name}: PCA of the word vectors", record={"corpus": corpus})
        cards.append(Card(title=f"Figure 6: {name}", media=[ctx.rel(out)],
                          figures={"mean cosine between offsets": round(fig["offset_cosine_mean"], 3),
                                   "variance shown": round(sum(fig["explained_variance"]), 3)}))

    # the standard evaluations, one row per Google section
    report = evaluate(kv)
    an, sim = report["analogies"], report["similarity"]
    report_path = save_json({"corpus": corpus, "training": stats, **report},
                            ctx.asset("words/evaluation.json"))
    rows = [[s["section"], f"{s['covered']}/{s['questions']}", f"{s['accuracy_3cosadd']:.1%}",
             f"{s['accuracy_3cosmul']:.1%}"] for s in an["sections"]]
    for name in ("semantic", "syntactic", "total"):
        s = an[name]
        rows.append([name, f"{s['covered']}/{s['questions']}", f"{s['accuracy_3cosadd']:.1%}",
                     f"{s['accuracy_3cosmul']:.1%}"])
    cards.append(Card(
        title="Google analogies and WordSim-353", media=[ctx.rel(report_path)],
        lead=f"{an['total']['accuracy_3cosadd']:.1%} of the covered Google analogies right "
             f"(3CosAdd); WordSim-353 Spearman {sim['spearman']:.3f}",
        tables=[Table(["section", "covered", "3CosAdd", "3CosMul"], rows,
                      "accuracy over the questions whose four words the vectors know")],
        figures={"corpus": corpus_text, "words": stats.get("words"), "vocabulary": len(kv),
                 "training seconds": round(stats.get("train", 0.0), 1), "cached model": cached,
                 "WordSim-353 pairs covered": f"{sim['covered']}/{sim['pairs']}",
                 "section seconds": round(time.perf_counter() - start, 1)}))
    return Section(
        title="Words: embeddings learned from context, and A : B :: C : ?",
        blurb=("word2vec (Mikolov et al. 2013, CBOW) trained " + ("" if zoo else "here ")
               + "on " + corpus_text + ". No one "
               "told it what a word means: only which words appear near which. Yet the offset "
               "from man to woman is close to the one from king to queen, so arithmetic on the "
               "vectors answers analogies (scored by 3CosAdd and 3CosMul, Levy & Goldberg 2014)."),
        cards=cards, mechanisms=["train_words", "analogy"])
