"""Benchmark: every zoo model's held-out figures beside the gallery's short-budget model of
the same kind and a baseline, all measured in one run on this machine (issue #38).

For each zoo model (reverie.zoo.recipes.RECIPES; the model is `model:NAME`, found in
$REVERIE_ZOO or the package's zoo/models/) the first row is its trainer's held-out figure,
which the zoo model must beat the gallery's short-budget model on; the rows after it are
the issue's targets. The short-budget model is the one the gallery section trains, got
as the gallery gets it (`GalleryContext.trained` with the section's own config, in the
gallery's cache, `reverie.gallery.default_cache_dir()`): a gallery run and this bench
share it, and whichever runs first trains it (`--quick`: the sections' quick configs).

- shakespeare: nats/char on tiny-shakespeare's held-out last tenth (the char LM trainer's
  split); baseline the 5-gram Kneser-Ney model fitted on the other nine tenths; target
  <= 1.42. Short budget: the text section's LSTM. Beside it the same with the continuous
  cache of `text evaluate --cache-lambda` (chat's theta and lambda, 2,000 states).
- bard: bits/char of held-out replies (turns that start in the last tenth of the turn
  layout `chat train` reads, and of the plain text the short-budget model trained on),
  each after up to 2,000 characters of the conversation before it (bench/chat.py's
  measure), scored as `reverie chat` answers: with the continuous cache of ChatConfig's
  defaults. Target: the conversation saves >= 0.05 bits/char against the same replies after
  the speaker's name alone. Baseline: the network without the cache after the name alone
  (the saving over it is a row too). Short budget: the text section's LSTM, which the chat
  section lets answer as Romeo.
- paintings: the four-painting fast style network on the held-out photos (chelsea,
  coffee, rocket) at 256 px, judged as bench/fast_style.py judges (Gram distance on a
  seeded random network, content on lite2's stage4); baseline Gatys's optimisation of the
  same 12 pairs with its defaults; targets style <= 1.5x Gatys's, content <= 1.2x. No
  short budget (the gallery's own network learns drawn styles, not these).
- chatterbot: nats/char on the last tenth of chatterbot-corpus in the turn layout (the
  trainer's split); baseline the 5-gram Kneser-Ney model on the other nine tenths. Short
  budget: the chat section's 600-step responder.
- chorales: NLL per frame (nats) on builtin:chorales' test split, frames in time order
  by the chain rule (a proper likelihood, like for like with the chord Markov chain, the
  baseline); then the 20 JSB test sopranos (Jsb16thSeparated.npz, their first 8 bars) and
  the 21 melodies of bench/melodies.py harmonised with the library's defaults
  (HarmonizeConfig()) and by the Markov chain: parallel fifths and octaves between
  successive beats per 100 beat changes (reverie.music.rules), target <= 1.5x Bach's own
  rate on the JSB test chorales counted the same way; all four voices sounding on >= 95%
  of the melody's beats.
- chorale-audio: bits per sample on 32 one-second segments of the 10 held-out chorales
  (baseline: a unigram of mu-law levels); 10 held-out starts continued 4 s (bench/sound.py):
  log-spectral distance of the first second to the truth, target 1 dB under repeating the
  last second (the baseline), >= 90% of the continuations still above -40 dBFS at 4 s, and
  the spectral flatness of their last second within 2x the start's (issue #35's targets).
- digits: FD on Lite0 features against the held-out tenth (the trainer's split), beside
  real-versus-real (training digits against the same held-out ones); bench/gan.py's SVM
  labels 1,000 samples: target >= 90% labelled with confidence >= 0.9, all ten digits among
  them (baseline: the real held-out digits).
- glyphs: L_R (reconstruction, nats per step: sums over 64 steps, the longest glyph,
  divided by 64, for every model; the whole-number offsets read dequantised) on the test
  split, beside the untrained model; a classifier of the 62 characters (logistic
  regression on rasterised glyphs of seven fonts) labels 200 samples (temperature 0.4) and
  the glyphs of the two fonts it never saw: target, the samples' share labelled with
  confidence >= 0.7 at least 70% of the real glyphs' share. Beside them, the share of
  those two fonts' glyphs of trained characters that, encoded and redrawn greedily, the
  classifier names right.
- chorales-vae: negative ELBO (reconstruction + KL, nats per two-bar fragment, z the
  posterior mean) on fragments of builtin:chorales' test split; beside it the argmax
  reconstruction's note accuracy, baseline decoding from another fragment's code.
- textures: FD of 200 samples against 200 held-out crops of the brick photo (the trainer's
  crops), beside real-versus-real (200 other crops).
- sketch2art: L1 on the held-out pictures of the zoo model's set (the trainer's held-out
  figure), beside the sketch itself.
- words (when its recipe is there): Google analogies right (3CosAdd, restrict_vocab 30,000)
  on the questions both the zoo model and the words section's vectors cover.

With `--fp32 DIR` each model's first figure is measured again on DIR/NAME.pt, the fp32
checkpoint its recipe wrote: what storing it at half precision cost. `--write-cards` writes
the figures into each zoo model's card.json ("figures", "short_budget", "baseline" by row,
and "notes"); card.json is not covered by the weights' sha256.

Each part's seconds are printed with it and kept in bench/out/zoo/results.json. Measured
on one thread of a busy 2-core machine (2026-12-06; two idle cores: faster, not measured),
gallery models cached: shakespeare ~15 s; bard ~110 s (300 replies, ~0.3 s each through
the 512-unit model); chorales-vae, textures, sketch2art, words ~10 s each; glyphs ~40 s;
digits ~40 s; chorale-audio ~3 min (two 10-stream 4-s continuations, ~60 s each, and
bits on 32 s of sound, ~25 s a model). chorales is the exception: the NLL takes ~50 s,
but harmonising the 413 bars (160 of sopranos, 253 of melodies) takes ~38 s per 8 bars
with the zoo's 64-filter Coconet (384 Gibbs steps, each a pass of the net) and ~10 s with
the gallery's 32-filter one: over half an hour on one busy thread; `--melody-bars 8`
cuts the melodies to 168 bars. `--fp32` adds the first figure's cost once more (bard:
~85 s). A part whose gallery model is not cached trains it first (the gallery's times).

    REVERIE_THREADS=2 python bench/zoo.py [--models shakespeare chorales ...] [--quick]
        [--melody-bars N] [--fp32 DIR] [--write-cards] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from reverie import zoo  # noqa: E402
from reverie.core.threads import free_cores  # noqa: E402
from reverie.gallery import GalleryContext, default_cache_dir  # noqa: E402
from reverie.zoo.recipes import RECIPES  # noqa: E402

OUT = ROOT / "bench" / "out" / "zoo"


@dataclass
class Row:
    figure: str
    zoo: float | None
    short: float | None
    baseline: float | None = None
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    name: str
    baseline: str                     # what the baseline column holds for this model
    short_budget: str = ""            # the gallery's model, as trained
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fp16: dict = field(default_factory=dict)
    seconds: float = 0.0


class ShortBudget(GalleryContext):
    """The gallery's context, except that a section asking for a zoo model gets the
    short-budget model it trains without one: the figure the zoo model must beat."""

    def model(self, zoo_name, domain, name, cfg, train, data=""):
        path, figures = self.trained(domain, name, cfg, train, data)
        return path, {**figures, "zoo": None}


class Bench:
    def __init__(self, quick: bool, fp32: Path | None, log: Callable[[str], None],
                 scratch: Path, melody_bars: int = 0):
        from reverie.core.device import resolve_device

        self.quick, self.fp32_dir, self.log = quick, fp32, log
        self.melody_bars = melody_bars
        last = [0.0]

        def progress(done, total, message=""):
            if time.time() - last[0] > 30:
                last[0] = time.time()
                log(f"    {done}/{total} {message}")
        # the gallery's context: its cache, its device, its quick setting (all in the key)
        self.ctx = ShortBudget(scratch, default_cache_dir(), quick, resolve_device("auto"),
                               progress)

    def model(self, name: str) -> str | None:
        """`model:NAME` if the zoo has it."""
        return f"model:{name}" if name in zoo.names() else None

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def trained(self, fig: dict, what: str) -> str:
        took = "cached" if fig.get("cached") else f"trained now in {fig.get('seconds') or 0:.0f} s"
        return f"the gallery's {what}, {fig.get('steps', '?')} steps ({took})"

    def fp16(self, report: Report, measure: Callable[[str], float]) -> None:
        """The first figure again on the fp32 checkpoint the recipe wrote, if at hand."""
        path = self.fp32_dir / f"{report.name}.pt" if self.fp32_dir else None
        row = report.rows[0]
        if path is None or not path.is_file() or row.zoo is None:
            return
        fp32 = measure(str(path))
        report.fp16 = {"figure": row.figure, "fp16": row.zoo, "fp32": fp32,
                       "difference": row.zoo - fp32}
        report.notes.append(f"stored at half precision: {row.figure} {row.zoo:.4g}, the fp32 "
                            f"checkpoint {fp32:.4g} ({row.zoo - fp32:+.2g})")


def lower(zoo_value, short) -> bool | None:
    """Does the zoo model beat the short-budget one on a lower-is-better figure?"""
    return None if zoo_value is None else bool(zoo_value < short)


def _measure(b: Bench, name: str, measure: Callable[[str], dict]) -> dict | None:
    m = b.model(name)
    if m is None:
        return None
    b.log(f"  model:{name} ...")
    return measure(m)


# ---------------------------------------------------------------------------------------
# The char LM and the responder
# ---------------------------------------------------------------------------------------

def short_lm(b: Bench) -> tuple[str, dict]:
    """The text section's LSTM (the chat section answers as Romeo with it)."""
    from reverie.gallery.text import CORPUS, QUICK, SHAKESPEARE, _cached_lm
    from reverie.io.datasets import read_text

    text = read_text(CORPUS)[:300_000] if b.quick else None   # as lm_cards reads it
    return _cached_lm(b.ctx, "shakespeare", QUICK if b.quick else SHAKESPEARE,
                      corpus=None if b.quick else CORPUS, text=text)


def known_to(models: list, text: str) -> str:
    """`text` without the characters some model's vocabulary lacks (a quick model trained
    on a slice may not know them all)."""
    known = set.intersection(*(set(v) for v in models))
    return "".join(c for c in text if c in known)


def nats_per_char(model: str, text: str) -> float:
    """A char LM's held-out nats/char on `text`, state carried."""
    from reverie.text.charlm import evaluate_text, load_charlm
    lm = load_charlm(model)
    return evaluate_text(lm.model, lm.vocab, text)["nats_per_char"]


def part_shakespeare(b: Bench) -> Report:
    from reverie.io.datasets import read_text
    from reverie.text.cache import DEFAULT, WINDOW
    from reverie.text.charlm import evaluate_text, load_charlm
    from reverie.text.ngram import NGramConfig, NGramLM

    text = read_text("builtin:shakespeare")
    cut = int(len(text) * 0.9)             # the trainer's split (val_frac 0.1)
    train, val = text[:cut], text[cut:]
    short, fig = short_lm(b)
    if b.quick:
        train, val = train[:300_000], val[:20_000]
    t = time.perf_counter()
    ngram = NGramLM.fit(train, NGramConfig(order=5, method="kneser-ney"))
    fit_s = time.perf_counter() - t
    if b.quick:
        val = known_to([ngram.vocab, load_charlm(short).vocab.chars], val)

    def nats(model: str) -> float:
        return nats_per_char(model, val)
    zoo_n, short_n = (nats(m) if m else None for m in (b.model("shakespeare"), short))
    base = ngram.evaluate(val)["nats_per_char"]
    target = 1.42
    r = Report("shakespeare", "the 5-gram Kneser-Ney model (the same nine tenths)",
               b.trained(fig, "text section's LSTM"))
    r.rows.append(Row("held-out nats/char", zoo_n, short_n, base,
                      f"<= {target} and below the short budget",
                      None if zoo_n is None else zoo_n <= target and zoo_n < short_n))
    # the continuous cache, as `text evaluate --cache-lambda` reads: a causal predictor over
    # the held-out text, but not the network alone, so the target is judged without it
    cache = DEFAULT

    def cached(model: str) -> float:
        lm = load_charlm(model)
        return evaluate_text(lm.model, lm.vocab, val, cache=cache)["nats_per_char"]
    zoo_c, short_c = (cached(m) if m else None for m in (b.model("shakespeare"), short))
    r.rows.append(Row("held-out nats/char with the continuous cache", zoo_c, short_c, None,
                      "(judged without it)"))
    r.notes.append(f"tiny-shakespeare's last tenth ({len(val):,} characters), state carried; "
                   f"the 5-gram took {fit_s:.0f} s to count; the cache: theta {cache.theta:g}, "
                   f"lambda {cache.lam:g}, the last {WINDOW:,} states, read as one stream")
    b.fp16(r, nats)
    return r


def held_out_replies(count: int):
    """(history, reply) pairs: replies that start in the last tenth both of the turn
    layout `chat train` reads and of the plain text `text train` reads, each with the 30
    turns before it."""
    from reverie.chat.turns import format_turns, read_dialogue
    from reverie.io.datasets import read_text

    turns = [t for conv in read_dialogue("builtin:shakespeare") for t in conv]
    raw = read_text("builtin:shakespeare")
    layout_cut = int(len("".join(format_turns([t]) for t in turns)) * 0.9)
    raw_cut = int(len(raw) * 0.9)
    out, at, pos = [], 0, 0
    for i, t in enumerate(turns):
        found = raw.find(f"{t.speaker}:\n{t.text.splitlines()[0] if t.text else ''}", pos)
        pos = found if found >= 0 else pos
        if at >= layout_cut and pos >= raw_cut and i > 0:
            out.append((turns[max(0, i - 30):i], t))
            if len(out) == count:
                break
        at += len(format_turns([t]))
    return out


def part_bard(b: Bench) -> Report:
    from reverie.chat.conversation import ChatConfig
    from reverie.chat.neural import load_responder, reply_bits

    replies = held_out_replies(b.n(300, 10))
    context = b.n(2000, 300)
    cache = ChatConfig().cache                 # as `reverie chat` answers
    short, fig = short_lm(b)

    def bits(model: str) -> dict:
        responder = load_responder(model)
        tot = {"with": 0.0, "without": 0.0, "plain with": 0.0, "plain without": 0.0}
        chars = 0
        for history, reply in replies:
            n = len(reply.text) + 2               # the reply and its end of turn
            f = reply_bits(responder, history, reply.speaker, reply.text, context, cache)
            tot["with"] += f["bits_per_char"] * n
            tot["without"] += f["bits_per_char_without_context"] * n
            tot["plain with"] += f["bits_per_char_without_cache"] * n
            tot["plain without"] += f["bits_per_char_without_context_or_cache"] * n
            chars += n
        return {k: v / chars for k, v in tot.items()}
    z = _measure(b, "bard", bits)
    s = bits(short)
    r = Report("bard", "the same network without the cache, after the speaker's name alone",
               b.trained(fig, "text section's LSTM, answering as the chat section's Romeo"))
    zw = z["with"] if z else None
    r.rows.append(Row("held-out bits/char of replies, given the conversation", zw, s["with"],
                      z["plain without"] if z else None, "below the short budget",
                      lower(zw, s["with"])))
    gain = z["without"] - z["with"] if z else None
    r.rows.append(Row("bits/char the conversation saves", gain, s["without"] - s["with"], None,
                      ">= 0.05", None if gain is None else gain >= 0.05))
    strict = z["plain without"] - z["with"] if z else None
    r.rows.append(Row("bits/char saved over the network without the cache after the name "
                      "alone", strict, s["plain without"] - s["with"], None))
    r.notes.append(f"{len(replies)} replies from the last tenth of the plays, each after up "
                   f"to {context:,} characters of the conversation, scored as `reverie chat` "
                   f"answers: with the continuous cache (theta {cache.theta:g}, lambda "
                   f"{cache.lam:g})")
    if z:
        r.notes.append(f"without the cache: {z['plain with']:.4f} bits/char given the "
                       f"conversation, {z['plain without']:.4f} after the name alone")
    b.fp16(r, lambda m: bits(m)["with"])
    return r


def part_chatterbot(b: Bench) -> Report:
    """The everyday responder: held-out nats/char on the last tenth of chatterbot-corpus
    in the turn layout (the trainer's own split), beside the gallery's short run and a
    5-gram Kneser-Ney model counted on the same nine tenths."""
    from reverie.chat.neural import dialogue_text, train_chat
    from reverie.gallery.chat import CHATTERBOT
    from reverie.gallery.text import QUICK
    from reverie.text.charlm import load_charlm
    from reverie.text.ngram import NGramConfig, NGramLM

    text = dialogue_text("builtin:chatterbot")[0]
    cut = int(len(text) * 0.9)             # the trainer's split (val_frac 0.1)
    train, val = text[:cut], text[cut:]
    cfg = (QUICK if b.quick else CHATTERBOT).replace(device=str(b.ctx.device))
    short, fig = b.ctx.model("chatterbot", "chat", "chatterbot", cfg, lambda out: train_chat(
        "builtin:chatterbot", cfg, out=out, progress=b.ctx.progress))
    zoo_model = b.model("chatterbot")
    ngram = NGramLM.fit(train, NGramConfig(order=5, method="kneser-ney"))
    val = known_to([ngram.vocab] + [load_charlm(m).vocab.chars for m in (short, zoo_model) if m],
                   val)
    zoo_n = nats_per_char(zoo_model, val) if zoo_model else None
    short_n = nats_per_char(short, val)
    r = Report("chatterbot", "the 5-gram Kneser-Ney model (the same nine tenths)",
               b.trained(fig, "chat section's responder"))
    r.rows.append(Row("held-out nats/char", zoo_n, short_n, ngram.evaluate(val)["nats_per_char"],
                      "below the short budget", lower(zoo_n, short_n)))
    r.notes.append(f"chatterbot-corpus's last tenth in the turn layout ({len(val):,} "
                   f"characters), state carried")
    b.fp16(r, lambda m: nats_per_char(m, val))
    return r


# ---------------------------------------------------------------------------------------
# Coconet and MusicVAE
# ---------------------------------------------------------------------------------------

def part_chorales(b: Bench) -> Report:
    from melodies import MELODIES, note_string
    from music import load_jsb, markov_chorale, soprano_only
    from reverie.gallery.music import _model
    from reverie.music import chorales as ch
    from reverie.music import rules
    from reverie.music.coconet import FRAMES_PER_BAR, HIGH, LOW, as_model
    from reverie.music.evaluation import frame_nll, held_out
    from reverie.music.harmonize import HarmonizeConfig, harmonize
    from reverie.music.markov import ChordMarkov

    test, train, _ = held_out("builtin:chorales")
    test = [c for c in test if np.nanmin(c.pitches) >= LOW and np.nanmax(c.pitches) <= HIGH]
    test = test[:b.n(len(test), 4)]
    frames = b.n(16, 4)
    markov = ChordMarkov(order=3).fit(train)
    jsb = load_jsb()["test"]
    bars = 8
    melodies = [soprano_only(c, bars * FRAMES_PER_BAR)
                for c in jsb if len(c) >= bars * FRAMES_PER_BAR][:b.n(20, 2)]
    sopranos = len(melodies)
    cut = b.n(b.melody_bars, 2)
    for m in MELODIES[:b.n(len(MELODIES), 2)]:
        melody = ch.from_notes(note_string(m), m["name"])
        melodies.append(soprano_only(melody, cut * FRAMES_PER_BAR) if cut else melody)
    config = HarmonizeConfig(animation=False)   # the library's defaults (the GIF aside)

    def nll(model: str) -> float:
        net = as_model(model).net
        rng = np.random.default_rng(0)
        return float(np.mean(np.concatenate([frame_nll(net, c.pitches, rng, frames,
                                                       chronological=True, within="truth")
                                             for c in test])))

    def measure(model: str) -> dict:
        m = as_model(model)
        t = time.perf_counter()
        made = [harmonize(m, melody, config, seed=i).chorale for i, melody in enumerate(melodies)]
        seconds = time.perf_counter() - t
        return {"nll": nll(model), "rules": rules.check(made),
                "seconds_per_8_bars": seconds * 8 * FRAMES_PER_BAR
                / sum(len(x.pitches) for x in melodies)}
    short, fig = _model(b.ctx)
    z, s = _measure(b, "chorales", measure), measure(short)
    chain = rules.check([markov_chorale(markov, melody, i) for i, melody in enumerate(melodies)])
    bach = rules.check(jsb)["beat_parallels"]
    r = Report("chorales", "the chord Markov chain (order 3, builtin:chorales' training split)",
               b.trained(fig, "music section's Coconet"))
    zn = z["nll"] if z else None
    r.rows.append(Row("held-out NLL per frame (nats, time order)", zn, s["nll"],
                      markov.nll(test), "below the short budget", lower(zn, s["nll"])))
    zp = z["rules"]["beat_parallels"] if z else None
    r.rows.append(Row("parallel 5ths/8ves per 100 beat changes", zp,
                      s["rules"]["beat_parallels"], chain["beat_parallels"],
                      f"<= 1.5x Bach's {bach:.3g} = {1.5 * bach:.3g}",
                      None if zp is None else zp <= 1.5 * bach))
    zv = z["rules"]["four_voices_sounding"] if z else None
    r.rows.append(Row("share of beats with all four voices", zv,
                      s["rules"]["four_voices_sounding"], chain["four_voices_sounding"],
                      ">= 0.95", None if zv is None else zv >= 0.95))
    r.notes.append(f"NLL: {len(test)} test chorales of builtin:chorales, {frames} random frames "
                   f"each, every earlier frame and the voices already scored given")
    r.notes.append(f"harmonised: {sopranos} JSB test sopranos (first {bars} bars) and "
                   f"{len(melodies) - sopranos} melodies of bench/melodies.py "
                   f"({f'first {cut} bars' if cut else 'whole'}), "
                   f"HarmonizeConfig() defaults; Bach counted the same way on the "
                   f"{len(jsb)} JSB test chorales; the zoo model took "
                   + (f"{z['seconds_per_8_bars']:.1f} s per 8 bars" if z else "-"))
    b.fp16(r, nll)
    return r


def part_chorales_vae(b: Bench) -> Report:
    from reverie.gallery.music import _vae
    from reverie.music import chorales as ch
    from reverie.music import vae as mv
    from reverie.music.vae_train import evaluate_tokens

    _, _, test = ch.split_chorales(ch.load_chorales())
    tok = torch.from_numpy(mv.make_fragments(test, hop=16, limit=0).tokens).long()
    tok = tok[:b.n(len(tok), 64)]

    def measure(model: str) -> dict:
        f = evaluate_tokens(mv.load_vae(model).net, tok, sampled=b.n(256, 16))
        return {"elbo": f["r_loss"] + f["kl_nats"], **f}
    short, fig = _vae(b.ctx)
    z, s = _measure(b, "chorales-vae", measure), measure(short)
    r = Report("chorales-vae", "decoding from another fragment's code (the zoo model's)",
               b.trained(fig, "music section's MusicVAE"))
    ze = z["elbo"] if z else None
    r.rows.append(Row("held-out negative ELBO (nats per fragment)", ze, s["elbo"], None,
                      "below the short budget", lower(ze, s["elbo"])))
    r.rows.append(Row("held-out KL (bits per fragment)", z and z["kl_bits"], s["kl_bits"]))
    r.rows.append(Row("argmax reconstruction, note accuracy", z and z["sampled_note_accuracy"],
                      s["sampled_note_accuracy"], z and z["other_code_note_accuracy"]))
    r.notes.append(f"{len(tok)} two-bar fragments one bar apart from the {len(test)} test "
                   f"chorales of builtin:chorales, z the posterior mean")
    b.fp16(r, lambda m: measure(m)["elbo"])
    return r


# ---------------------------------------------------------------------------------------
# WaveNet
# ---------------------------------------------------------------------------------------

def part_chorale_audio(b: Bench) -> Report:
    from reverie.gallery.sound import COUNTS, QUICK_COUNTS, _model
    from reverie.sound import generate as gen
    from reverie.sound import train as tr
    from reverie.sound.data import builtin_clips
    from sound import (RATE, SEEDS, bits_on, continuations, held_out_starts, judge,
                       mean_flatness, unigram_bits)

    clips = builtin_clips("chorale-audio", RATE)
    cont_s = b.n(4, 1)
    starts, truth = held_out_starts(clips, b.n(10, 2), cont_s)
    segments = b.n(32, 4)
    sampling = gen.ContinueConfig()
    seeds = SEEDS[:b.n(len(SEEDS), 1)]

    def bits(model: str) -> float:
        return bits_on(tr.load_sound(model), clips.test, segments)

    def measure(model: str) -> dict:
        conts = continuations(tr.load_sound(model), starts, truth.shape[1], sampling, seeds)
        return {"bits": bits(model), **judge(model, conts, truth)}
    gallery_clips = builtin_clips("chorale-audio", RATE,
                                  counts=QUICK_COUNTS if b.quick else COUNTS)
    short, fig = _model(b.ctx, "wavenet", gallery_clips)
    z, s = _measure(b, "chorale-audio", measure), measure(short)
    repeat = judge("repeat", np.tile(starts[:, -RATE:], (1, cont_s)), truth)
    r = Report("chorale-audio", "the start's last second, repeated (bits: a unigram of "
               "mu-law levels)", b.trained(fig, "sound section's WaveNet"))
    zb = z["bits"] if z else None
    r.rows.append(Row("held-out bits per sample", zb, s["bits"],
                      unigram_bits(clips.train, clips.test), "below the short budget",
                      lower(zb, s["bits"])))
    zl = z["lsd_first_second_db"] if z else None
    base = repeat["lsd_first_second_db"]
    r.rows.append(Row("log-spectral distance, first second (dB)", zl,
                      s["lsd_first_second_db"], base, f"<= {base - 1:.2f} (1 dB under repeating)",
                      None if zl is None else zl <= base - 1))
    key = "above_-40dBFS_at_4s"
    r.rows.append(Row("share still above -40 dBFS at the end", z and z[key], s[key],
                      repeat[key], ">= 0.9", None if z is None else z[key] >= 0.9))
    start = mean_flatness(starts)
    zf = z and z["flatness_last_second"] / start
    r.rows.append(Row("spectral flatness of the last second, over the start's", zf,
                      s["flatness_last_second"] / start, repeat["flatness_last_second"] / start,
                      "<= 2", None if z is None else zf <= 2))
    r.notes.append(f"{len(starts)} held-out chorales of builtin:chorale-audio, 2 s each "
                   f"continued {cont_s} s (temperature {sampling.temperature:g}, top_p "
                   f"{sampling.top_p:g}) at seed{'s' * (len(seeds) > 1)} "
                   f"{', '.join(map(str, seeds))}; bits on {segments} one-second segments")
    if z:
        r.notes.append(f"the zoo model's LSD over seeds: standard error "
                       f"{z['lsd_seed_se']:.2f} dB" if z["lsd_seed_se"] is not None else
                       "one seed: its LSD moves by 0.1-0.2 dB from seed to seed")
    b.fp16(r, bits)
    return r


# ---------------------------------------------------------------------------------------
# GANs
# ---------------------------------------------------------------------------------------

def fd_of(f_real: np.ndarray, images: torch.Tensor) -> float:
    """FD between real features and images' (bench/sketch2art.py's exact form for fewer
    images than features: no 1280 x 1280 matrix square root, 20 s each on 2 busy cores)."""
    from reverie.gan import metrics
    from sketch2art import frechet_distance
    return frechet_distance(f_real, metrics.lite0_features(images))


def seeded(gan, count: int, first: int) -> torch.Tensor:
    from reverie.gan.networks import latent_for_seed
    return gan.images(torch.stack([latent_for_seed(first + i, gan.latent_shape)
                                   for i in range(count)]))


def part_digits(b: Bench) -> Report:
    from gan import classifier_test, split
    from reverie.gallery.gan import DIGITS, DIGITS_QUICK, _trained
    from reverie.gan import metrics
    from reverie.gan.dcgan import load_gan, train_gan

    cfg = DIGITS_QUICK if b.quick else DIGITS
    short, fig = _trained(b.ctx, "digits", train_gan, "builtin:digits", cfg)
    data, train_idx, held_idx = split("builtin:digits", cfg.seed, cfg.val_frac)
    held = data.images[held_idx]
    count = b.n(1000, 50)
    n = min(500, len(held), count)
    f_held = metrics.lite0_features(held[:n])
    samples = {}

    def fd(model: str) -> float:
        samples[model] = seeded(load_gan(model), count, 30_000)
        return fd_of(f_held, samples[model][:n])
    zoo_fd = _measure(b, "digits", lambda m: {"fd": fd(m)})
    short_fd = fd(short)
    zm = b.model("digits")
    judged = classifier_test(train_idx, held_idx, {k: v for k, v in samples.items()})
    zc, sc, real = judged.get(zm), judged[short], judged["real held-out"]
    floor = fd_of(f_held, data.images[train_idx][:n])   # bench/gan.py's real_floor
    r = Report("digits", "real digits (FD: training digits against the held-out ones; "
               "labels: the held-out digits)", b.trained(fig, "GAN section's DCGAN"))
    zf = zoo_fd["fd"] if zoo_fd else None
    r.rows.append(Row("FD to the held-out digits (Lite0)", zf, short_fd, floor,
                      "below the short budget", lower(zf, short_fd)))
    r.rows.append(Row("samples labelled with confidence >= 0.9", zc and zc["confident_share"],
                      sc["confident_share"], real["confident_share"], ">= 0.9",
                      None if zc is None else zc["confident_share"] >= 0.9))
    r.rows.append(Row("digits among the confident labels", zc and zc["classes_found"],
                      sc["classes_found"], real["classes_found"], "10",
                      None if zc is None else zc["classes_found"] == 10))
    r.notes.append(f"FD: {n} samples and {n} held-out digits; "
                   f"{count} samples (seeds 30000 on) judged by bench/gan.py's SVM, fitted on "
                   f"the training digits (held-out accuracy {real['accuracy']:.3f}); held-out: "
                   f"the trainer's {cfg.val_frac:g} of builtin:digits ({len(held)} digits)")
    b.fp16(r, fd)
    return r


def part_textures(b: Bench) -> Report:
    from reverie.gallery.gan import BRICK, BRICK_QUICK, _trained
    from reverie.gan import metrics
    from reverie.gan.texture import load_texture, texture_parts, train_texture

    cfg = BRICK_QUICK if b.quick else BRICK
    short, fig = _trained(b.ctx, "brick", train_texture, ["sample:brick"], cfg)
    n = b.n(200, 40)
    # the trainer's held-out crops (its seed), at the zoo recipe's crop and scale
    zm = b.model("textures")
    crop_cfg = load_texture(zm or short).config.replace(fd_samples=n)
    parts = texture_parts(["sample:brick"], crop_cfg)
    f_held = metrics.lite0_features(parts.real_eval)

    def fd(model: str) -> float:
        return fd_of(f_held, seeded(load_texture(model), n, 40_000))
    zoo_fd, short_fd = (fd(m) if m else None for m in (zm, short))
    floor = fd_of(f_held, parts.real_batch(torch.Generator().manual_seed(5), n))
    r = Report("textures", f"{n} other random crops of the photo (real against real)",
               b.trained(fig, "GAN section's Spatial GAN"))
    r.rows.append(Row("FD to held-out crops (Lite0)", zoo_fd, short_fd, floor,
                      "below the short budget", lower(zoo_fd, short_fd)))
    r.notes.append(f"{n} samples (seeds 40000 on) and {n} held-out {crop_cfg.crop} px crops of "
                   f"sample:brick at scale {crop_cfg.scale:g}")
    b.fp16(r, fd)
    return r


# ---------------------------------------------------------------------------------------
# sketch-rnn
# ---------------------------------------------------------------------------------------

HELD_OUT_FONTS = ("futuram", "timesi")  # a sibling of each is in the classifier's fonts


def labelled_glyphs() -> list[tuple[str, str, np.ndarray]]:
    """(font, character, stroke-3 drawing) for every glyph of builtin:glyphs, drawn as
    reverie.io.strokes.glyph_drawings draws them."""
    import vpype

    from reverie.io import strokes as S

    out = []
    for font in S.GLYPH_FONTS:
        for ch in S.GLYPH_CHARS:
            lines = [np.c_[ln.real, ln.imag] for ln in vpype.text_line(ch, font, size=S.GLYPH_SIZE)
                     if len(ln) >= 2]
            if lines:
                out.append((font, ch, S._integer_strokes(lines, lines[0][0])))
    return out


def raster(drawings: list[np.ndarray], side: int = 24) -> np.ndarray:
    """Each drawing fitted into a side x side cell, ink 1 on paper 0, blurred a pixel (a
    stroke a little off still overlaps), flattened."""
    from scipy.ndimage import gaussian_filter

    from reverie.draw.sketch_draw import grid_png

    return np.stack([gaussian_filter(1 - np.asarray(grid_png([[d]], cell=side, line=1.2),
                                                    np.float32) / 255, 1.0)
                     for d in drawings]).reshape(len(drawings), -1)


def part_glyphs(b: Bench) -> Report:
    from sklearn.linear_model import LogisticRegression

    from reverie.draw.sketch import longest_drawing, read_data
    from reverie.draw.sketch_draw import (as_sketcher, decode_drawings, encode_drawings,
                                          evaluate_sketch, sample_sketch)
    from reverie.io import strokes as S
    from reverie.gallery.draw import _sketch_model

    glyphs = labelled_glyphs()
    seen = [g for g in glyphs if g[0] not in HELD_OUT_FONTS]
    unseen = [g for g in glyphs if g[0] in HELD_OUT_FONTS]
    # logistic regression at C 1: confident on half the unseen fonts' glyphs and on none
    # of 100 scribbles of an untrained model (at C 10, or an MLP, on a quarter of them)
    judge = LogisticRegression(C=1.0, max_iter=3000).fit(
        raster([d for _, _, d in seen]), [c for _, c, _ in seen])

    def confident(drawings: list[np.ndarray]) -> float:
        return float((judge.predict_proba(raster(drawings)).max(1) >= 0.7).mean())
    real = confident([d for _, _, d in unseen])
    count = b.n(200, 16)

    # one unit for models padded to 250 points (before fit_max_seq_len) and to the
    # glyphs' longest: sums over that many steps (magenta's N_max) divided by it
    steps = longest_drawing(read_data("builtin:glyphs"))

    # reconstructions: the two fonts' glyphs of the characters sketch-rnn trained on (it saw
    # those glyphs; the classifier did not), each encoded and redrawn greedily
    shown = [g for g in unseen if S.glyph_split(g[1]) == "train"][::b.n(1, 8)]
    named = float(np.mean(judge.predict(raster([d for _, _, d in shown]))
                          == [c for _, c, _ in shown]))

    def redrawn_named(model: str) -> float:
        sk = as_sketcher(model)
        z = encode_drawings(sk, [d for _, _, d in shown])
        back = decode_drawings(sk, z, len(shown), 0.0, 0)
        ok = [i for i, d in enumerate(back) if len(d) >= 2]
        said = judge.predict(raster([back[i] for i in ok])) if ok else []
        return float(sum(a == shown[i][1] for a, i in zip(said, ok)) / len(shown))

    def measure(model: str) -> dict:
        ev = evaluate_sketch(model, "builtin:glyphs", split="test", max_seq_len=steps)
        drawn = sample_sketch(model, num_samples=count, columns=count, seed=0).rows[0]
        kept = [d for d in drawn if len(d) >= 2]     # an empty drawing is labelled nothing
        share = confident(kept) * len(kept) / count if kept else 0.0
        return {"r_loss": ev["r_loss"], "untrained": ev["untrained"]["r_loss"], "share": share,
                "redrawn": redrawn_named(model)}
    short, fig = _sketch_model(b.ctx)
    z, s = _measure(b, "glyphs", measure), measure(short)
    r = Report("glyphs", "the untrained model (L_R); the real glyphs of two fonts the "
               "classifier never saw (labels)", b.trained(fig, "drawing section's sketch-rnn"))
    zr = z["r_loss"] if z else None
    r.rows.append(Row("test L_R (nats per step)", zr, s["r_loss"],
                      z["untrained"] if z else s["untrained"], "below the short budget",
                      lower(zr, s["r_loss"])))
    r.rows.append(Row("samples labelled with confidence >= 0.7", z and z["share"], s["share"],
                      real, f">= 0.7 x real = {0.7 * real:.3g}",
                      None if z is None else z["share"] >= 0.7 * real))
    r.rows.append(Row("reconstructions named as their character", z and z["redrawn"],
                      s["redrawn"], named, "none: what `sketch reconstruct` shows"))
    r.notes.append(f"reconstructions: the {len(shown)} glyphs of {', '.join(HELD_OUT_FONTS)} of "
                   f"the characters sketch-rnn trained on, encoded and redrawn at temperature "
                   f"0, named by the classifier's likeliest character (baseline: the glyphs "
                   f"themselves); L_R on the drawings dequantised (docs/draw.md)")
    r.notes.append(f"test split: characters never trained on; {count} samples at temperature "
                   f"0.4 judged by logistic regression on {len(seen)} rasterised glyphs of "
                   f"{len(set(f for f, _, _ in seen))} fonts ({len(set(c for _, c, _ in seen))} "
                   f"characters); real: the {len(unseen)} glyphs of {', '.join(HELD_OUT_FONTS)}")
    b.fp16(r, lambda m: evaluate_sketch(m, "builtin:glyphs", split="test",
                                        max_seq_len=steps)["r_loss"])
    return r


# ---------------------------------------------------------------------------------------
# fast style
# ---------------------------------------------------------------------------------------

def part_paintings(b: Bench) -> Report:
    """The four-painting network on the photos it never saw, judged by bench/fast_style.py's
    `quality` (bench/style.py's judges: Gram distance on a seeded random network, content on
    lite2's stage4, neither trained with), beside Gatys's optimisation of the same pairs
    with its defaults (the baseline, and the issue's bar: style within 1.5x, content 1.2x).
    No short budget: the gallery's own network is trained on drawn styles, not these."""
    from fast_style import quality  # bench/fast_style.py

    from reverie.image.fast_style import load_fast_style
    from reverie.io.images import load_image

    r = Report("paintings", "Gatys's optimisation of the same pairs, its defaults")
    model = b.model("paintings")
    if model is None:
        r.notes.append("model:paintings is not installed: nothing to judge")
        return r
    size = b.n(256, 96)
    names = load_fast_style(model).styles
    q = quality(model, size, b.quick, b.log,
                styles={n: load_image(f"sample:{n}", max_side=size) for n in names})

    def mean(key: str) -> float:
        return sum(p[key] for p in q["pairs"]) / len(q["pairs"])
    r.rows.append(Row("judged style distance, held-out photos", mean("ours_style"), None,
                      mean("gatys_style"), "<= 1.5x Gatys's", q["style_ratio"] <= 1.5))
    r.rows.append(Row("judged content distance, held-out photos", mean("ours_content"), None,
                      mean("gatys_content"), "<= 1.2x Gatys's", q["content_ratio"] <= 1.2))
    photos = sorted({p["photo"] for p in q["pairs"]})
    r.notes.append(f"{', '.join(photos)} at {size} px, each in {', '.join(names)}: "
                   f"{len(q['pairs'])} pairs; one pass of the network against Gatys's "
                   f"optimisation")
    return r


# ---------------------------------------------------------------------------------------
# pix2pix
# ---------------------------------------------------------------------------------------

def part_sketch2art(b: Bench) -> Report:
    """Held-out L1 on the pictures the zoo model's recipe holds out, each model answering
    its own extractor's sketches of them; the short budget (the gallery's fallback, trained
    on photo-tiles) on the same."""
    from reverie.gallery.sketch2art import QUICK, SMALL
    from reverie.sketch2art.data import load_pairs
    from reverie.sketch2art.edges import extract_all
    from reverie.sketch2art.model import translate
    from reverie.sketch2art.train import load_sketch2art, train_sketch2art

    ctx = b.ctx
    cfg = (QUICK if b.quick else SMALL).replace(device=str(ctx.device))
    short, fig = ctx.trained("sketch2art", "photo-tiles", cfg, lambda out: train_sketch2art(
        "builtin:photo-tiles", cfg, out=out, progress=ctx.progress))  # as the section does
    zm = b.model("sketch2art")
    judged = load_sketch2art(zm or short)   # whose held-out pictures and sketches
    source = judged.data["source"]
    sets: dict = {}

    def held(c) -> tuple[torch.Tensor, torch.Tensor]:
        """The held-out pictures and their sketches at a model's size, centre crop (the
        trainer's held-out figure)."""
        key = (c.load_size, c.crop_size, c.edges)
        if key not in sets:
            t = load_pairs(source, c.load_size)
            x = t.pictures[t.held_out][:b.n(400, 4)]
            top = (c.load_size - c.crop_size) // 2
            win = (slice(None), slice(None), slice(top, top + c.crop_size),
                   slice(top, top + c.crop_size))
            sets[key] = (x[win], extract_all(x, c.edges)[win])
        return sets[key]

    def l1(model: str) -> float:
        m = load_sketch2art(model)
        x, s = held(m.config)
        return float((translate(m.G, s) - x).abs().mean())
    zoo_l1, short_l1 = (l1(m) if m else None for m in (zm, short))
    x, s = held(judged.config)
    r = Report("sketch2art", "the sketch itself", b.trained(fig, "sketch2art section's pix2pix "
                                                            "(on builtin:photo-tiles)"))
    r.rows.append(Row("held-out L1", zoo_l1, short_l1, float((s.repeat(1, 3, 1, 1) - x).abs().mean()),
                      "below the short budget", lower(zoo_l1, short_l1)))
    r.notes.append(f"the {len(x)} held-out pictures of {source}, each model's own sketches "
                   f"of them; bench/sketch2art.py has the FD and perceptual figures")
    b.fp16(r, l1)
    return r


# ---------------------------------------------------------------------------------------
# word2vec
# ---------------------------------------------------------------------------------------

RESTRICT = 30_000   # gensim's evaluate_word_analogies' restrict_vocab


def common_questions(vectors: list, path: Path) -> int:
    """The Google questions whose four words all `vectors` know (among their RESTRICT most
    frequent, case folded), written to `path` in the same format; how many."""
    from reverie.words.evaluate import questions_path, read_questions
    from reverie.words.vectors import vector_set

    known = set.intersection(*({str(k).lower() for k in vector_set(v).keys[:RESTRICT]}
                               for v in vectors))
    lines, n = [], 0
    for section, qs in read_questions(questions_path()):
        kept = [q for q in qs if all(w.lower() in known for w in q)]
        lines += [f": {section}"] + [" ".join(q) for q in kept]
        n += len(kept)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n


def part_words(b: Bench) -> Report:
    from reverie.gallery.words import _choose_corpus, _model
    from reverie.words.evaluate import evaluate_analogies
    from reverie.words.train import load_words

    corpus, overrides, what = _choose_corpus(b.quick)
    short, _, stats, cached = _model(b.ctx, corpus, overrides)
    zm = b.model("words")
    vectors = [load_words(zm)] if zm else []
    questions = b.ctx.out_dir / "questions.txt"
    n = common_questions(vectors + [short], questions)

    def accuracy(kv, q=questions) -> float:
        return evaluate_analogies(kv, q, RESTRICT, methods=["3cosadd"])["total"][
            "accuracy_3cosadd"]
    za = accuracy(vectors[0]) if zm else None
    sa = accuracy(short)
    took = "cached" if cached else f"trained now in {stats.get('train', 0):.0f} s"
    r = Report("words", "-", f"the gallery's words section's vectors, {what} ({took})")
    r.rows.append(Row("Google analogies right (3CosAdd), the questions both cover", za, sa,
                      None, "above the short budget", None if za is None else za > sa))
    if zm:
        own = evaluate_analogies(vectors[0], None, RESTRICT, methods=["3cosadd"])["total"]
        r.rows.append(Row("Google analogies right (3CosAdd), every question it covers",
                          own["accuracy_3cosadd"], None))
        r.notes.append(f"the zoo model covers {own['covered']:,} of {own['questions']:,} "
                       f"questions")
    r.notes.append(f"{n:,} questions whose four words are among the {RESTRICT:,} most frequent "
                   f"of both vocabularies (case folded)")
    b.fp16(r, lambda m: accuracy(load_words(m)))
    return r


PARTS: dict[str, Callable[[Bench], Report]] = {
    "shakespeare": part_shakespeare, "bard": part_bard, "chatterbot": part_chatterbot,
    "chorales": part_chorales,
    "chorales-vae": part_chorales_vae, "glyphs": part_glyphs,
    "chorale-audio": part_chorale_audio, "digits": part_digits, "textures": part_textures,
    "sketch2art": part_sketch2art, "words": part_words, "paintings": part_paintings}


# ---------------------------------------------------------------------------------------
# The table, the cards
# ---------------------------------------------------------------------------------------

def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def table(reports: list[Report]) -> str:
    lines = []
    head = ("figure", "zoo", "short budget", "baseline", "target", "met?")
    for r in reports:
        lines.append(f"\nmodel:{r.name} ({r.seconds:.0f} s)\n  short budget: {r.short_budget}"
                     f"\n  baseline: {r.baseline}")
        rows = [head] + [(x.figure, fmt(x.zoo), fmt(x.short), fmt(x.baseline), x.target,
                          fmt(x.met)) for x in r.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        for row in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        lines += [f"  - {n}" for n in r.notes]
    return "\n".join(lines)


TAG = "bench/zoo.py: "   # the notes this bench wrote (a rerun replaces them, no others)


def write_card(r: Report) -> Path | None:
    """The figures into model:NAME's card.json, each row's under its figure's name beside
    what the card holds already; the notes a previous run of this bench wrote replaced
    (None: no zoo model)."""
    from reverie.io.files import save_json

    if r.name not in zoo.names():
        return None
    card = zoo.card(r.name)

    def value(v):
        return v if isinstance(v, int) else round(float(v), 4)

    for key, attr in (("figures", "zoo"), ("short_budget", "short"), ("baseline", "baseline")):
        card[key] = {**card.get(key, {}), **{x.figure: value(getattr(x, attr)) for x in r.rows
                                             if getattr(x, attr) is not None}}
    notes = [f"short budget: {r.short_budget}", f"baseline: {r.baseline}",
             *(f"target, {x.figure}: {x.target} ({'met' if x.met else 'NOT met'})"
               for x in r.rows if x.target and x.met is not None), *r.notes,
             f"measured on {time.strftime('%Y-%m-%d')}"]
    card["notes"] = [n for n in card.get("notes", []) if not n.startswith(TAG)] + \
        [TAG + n for n in notes]
    zoo.check_card(card)
    return save_json(card, zoo.folder(r.name) / "card.json")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    recipes = [n for n in PARTS if n in RECIPES]
    p.add_argument("--models", nargs="+", choices=sorted(PARTS), metavar="NAME",
                   help=f"which zoo models (default: every one with a recipe: "
                        f"{', '.join(recipes)})")
    p.add_argument("--quick", action="store_true",
                   help="tiny sample counts and the gallery's quick models: a smoke run")
    p.add_argument("--fp32", type=Path, metavar="DIR",
                   help="the fp32 checkpoints the recipes wrote (DIR/NAME.pt): the first "
                        "figure again on each, to show what half precision cost")
    p.add_argument("--melody-bars", type=int, default=0, metavar="N",
                   help="chorales: harmonise each melody's first N bars (default 0: whole; "
                        "harmonising is most of the part's time)")
    p.add_argument("--write-cards", action="store_true",
                   help="write the figures into each zoo model's card.json")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.quick and args.write_cards:
        p.error("--write-cards writes what a full run measures; drop --quick")
    start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f} s] {msg}", file=sys.stderr, flush=True)
    for name in sorted(set(RECIPES) - set(PARTS)):
        log(f"model:{name} has a recipe but no part here: not measured")
    torch.set_num_threads(free_cores())      # REVERIE_THREADS, else the idle cores
    reports = []
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as scratch:
        bench = Bench(args.quick, args.fp32, log, Path(scratch), args.melody_bars)
        for name in args.models or recipes:
            missing = "" if name in zoo.names() else " (not in the zoo: the other columns only)"
            log(f"{name}{missing} ...")
            t = time.perf_counter()
            r = PARTS[name](bench)
            r.seconds = time.perf_counter() - t
            log(f"{name}: {r.seconds:.0f} s")
            reports.append(r)
            if args.write_cards and write_card(r):
                log(f"  wrote {zoo.folder(name) / 'card.json'}")
    results = {"quick": args.quick, "load_average": os.getloadavg(),
               "models": {r.name: asdict(r) for r in reports}}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / ("results-quick.json" if args.quick else "results.json")).write_text(
        json.dumps(results, indent=1, default=float))
    print(json.dumps(results, default=float) if args.json else table(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
