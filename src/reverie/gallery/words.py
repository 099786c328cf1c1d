"""Gallery section: word vectors learned from context, and the analogies they get right and wrong."""
from __future__ import annotations

import hashlib
import html
import json
import time
from pathlib import Path

from reverie.gallery import Card, GalleryContext, Section

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


def _choose_corpus(quick: bool) -> tuple[list[str], dict, str]:
    from reverie.words.corpus import GCIDE_PATH, gcide_path
    from reverie.core.errors import ReverieError

    if quick:
        return (["builtin:lee"], dict(epochs=40, min_count=3, sample=1e-3, vector_size=50),
                "gensim's Lee news corpus, 61 k words (quick)")
    try:
        gcide_path()
        return ["builtin:gcide"], {}, "GCIDE, the Webster 1913 + WordNet dictionary (Debian dict-gcide)"
    except ReverieError:
        pass
    try:
        from reverie.words.corpus import shakespeare_path
        shakespeare_path()
        return (["builtin:shakespeare", "builtin:lee"], dict(epochs=20, min_count=3, sample=1e-3),
                f"tiny-shakespeare and gensim's Lee corpus ({GCIDE_PATH} not installed)")
    except ReverieError:
        return (["builtin:lee"], dict(epochs=30, min_count=3, sample=1e-3),
                "gensim's Lee news corpus (install dict-gcide for a far better model)")


def _cache_path(ctx: GalleryContext, corpus: list[str], overrides: dict) -> Path:
    import dataclasses
    from reverie.words.train import WordsConfig

    cfg = dataclasses.replace(WordsConfig(), workers=0, **overrides)
    key = json.dumps({"corpus": corpus, **dataclasses.asdict(cfg)}, sort_keys=True)
    return Path(ctx.cache_dir) / f"words-{hashlib.sha1(key.encode()).hexdigest()[:12]}.kv"


def _model(ctx: GalleryContext, corpus: list[str], overrides: dict):
    import dataclasses
    from reverie.words.train import WordsConfig, load_vectors, train_words

    cfg = dataclasses.replace(WordsConfig(), workers=0, **overrides)
    path = _cache_path(ctx, corpus, overrides)
    if path.exists():
        try:
            stats = json.loads(path.with_suffix(".json").read_text())
            return load_vectors(path), stats, True
        except Exception:  # a damaged cache is retrained
            pass
    result = train_words(corpus, cfg, out=path, progress=ctx.progress)
    return result.vectors, result.stats, False


def _row(cells: list[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def build(ctx: GalleryContext) -> Section:
    from reverie.words.train import analogy_examples, evaluate, plot_analogies, vector_set

    start = time.perf_counter()
    corpus, overrides, corpus_text = _choose_corpus(ctx.quick)
    if ctx.quick:  # a full model trained by an earlier run costs nothing to show
        full = _choose_corpus(False)
        if _cache_path(ctx, full[0], full[1]).exists():
            corpus, overrides, corpus_text = full
    kv, stats, cached = _model(ctx, corpus, overrides)
    vs = vector_set(kv)
    cards: list[Card] = []

    # 1. the famous analogies it can answer, right and wrong, with both scores
    covered = [q for q in CLASSICS if all(w in vs for w in q)]
    rows = [_row(["A : B :: C : ?", "expected", "3CosMul answer", "score", "3CosAdd answer", "score", ""], "th")]
    right = 0
    for a, b, c, d in covered:
        mul = vs.analogy(a, b, c, k=1, method="3cosmul")[0]
        add = vs.analogy(a, b, c, k=1, method="3cosadd")[0]
        ok = mul[0] == d
        right += ok
        rows.append(_row([html.escape(f"{a} : {b} :: {c} : ?"), html.escape(d),
                          f"<b>{html.escape(mul[0])}</b>", f"{mul[1]:.3f}",
                          html.escape(add[0]), f"{add[1]:.3f}", "right" if ok else "wrong"]))
    samples = analogy_examples(kv, per_section=1, seed=0) if not ctx.quick else []
    for ex in samples[:14]:
        rows.append(_row([html.escape(f"{ex['a']} : {ex['b']} :: {ex['c']} : ?") + f" <i>({html.escape(ex['section'])})</i>",
                          html.escape(ex["expected"]), f"<b>{html.escape(ex['answer'])}</b>",
                          f"{ex['score']:.3f}", "", "", "right" if ex["correct"] else "wrong"]))
    cards.append(Card(title="A is to B as C is to ?", html="<table>" + "".join(rows) + "</table>",
                      figures={"classic analogies right (3CosMul)": f"{right}/{len(covered)}"}))

    # 2. what it learned without being told: nearest neighbours
    probes = [w for w in ("king", "water", "music", "red", "sydney", "government", "god", "horse",
                          "monday", "three") if w in vs][:6]
    text = "\n".join(f"{w:<12} " + ", ".join(f"{n} {sc:.2f}" for n, sc in vs.nearest(w, k=5))
                      for w in probes)
    cards.append(Card(title="Nearest neighbours (cosine)", text=text))

    # 3. Figure 6: the offsets drawn as arrows
    for name, words in PLOT_SETS.items():
        pairs = [(words[i], words[i + 1]) for i in range(0, len(words), 2)
                 if words[i] in vs and words[i + 1] in vs]
        if len(pairs) < 3:
            continue
        flat = [w for p in pairs[:7] for w in p]
        out = ctx.asset(f"words/figure6-{name.split()[0]}.png")
        fig = plot_analogies(kv, flat, out, title=f"{name}: PCA of the word vectors",
                             sidecar={"corpus": corpus})
        cards.append(Card(title=f"Figure 6: {name}", media=[ctx.rel(out)],
                          figures={"mean cosine between offsets": round(fig["offset_cosine_mean"], 3),
                                   "variance shown": round(sum(fig["explained_variance"]), 3)}))

    # 4. the standard evaluations
    report = evaluate(kv)
    an, sim = report["analogies"]["total"], report["similarity"]
    report_path = ctx.asset("words/evaluation.json")
    from reverie.io.images import save_json
    save_json({"corpus": corpus, "training": stats, **report}, report_path)
    lines = [f"{s['section']:<28} {s['covered']:>5}/{s['questions']:<5} {s['accuracy_3cosadd']:6.1%} {s['accuracy_3cosmul']:6.1%}"
             for s in report["analogies"]["sections"]]
    cards.append(Card(
        title="Google analogies and WordSim-353",
        media=[ctx.rel(report_path)],
        text=f"{'section':<28} {'covered':>11} 3CosAdd 3CosMul\n" + "\n".join(lines),
        figures={"corpus": corpus_text, "words": stats.get("words"), "vocabulary": len(kv),
                 "training seconds": stats.get("train_seconds"), "cached model": cached,
                 "coverage": f"{an['covered']}/{an['questions']}",
                 "accuracy 3CosAdd": round(an["accuracy_3cosadd"], 4),
                 "accuracy 3CosMul": round(an["accuracy_3cosmul"], 4),
                 "WordSim-353 Spearman": round(sim["spearman"], 3),
                 "section seconds": round(time.perf_counter() - start, 1)}))
    return Section(
        title="Words: embeddings learned from context, and A : B :: C : ?",
        blurb=("word2vec (Mikolov et al. 2013, CBOW) trained here on " + html.escape(corpus_text)
               + ". No one told it what a word means: only which words appear near which. "
               "Yet the offset from <i>man</i> to <i>woman</i> is close to the one from "
               "<i>king</i> to <i>queen</i>, so arithmetic on the vectors answers analogies "
               "(scored by 3CosAdd and 3CosMul, Levy &amp; Goldberg 2014)."),
        cards=cards)
