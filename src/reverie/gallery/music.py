"""Gallery: Coconet (the zoo's model:chorales) composes a chorale in D major
and harmonises a melody (the soprano kept exactly), each with its sound, piano roll, the
Gibbs-sampling animation and the rule checks a harmony teacher makes, beside Bach's own.

Without the zoo's models (or in `quick`) the section trains its own for a step budget, so
every run makes the same model, once, cached in ctx.cache_dir. The chorales come parsed with the package (`reverie.music.chorales`);
`quick` trains a tiny net for a few steps.
"""
from __future__ import annotations

from reverie.gallery import Card, GalleryContext, Section, Table, made
from reverie.music.coconet import CoconetConfig
from reverie.music.coconet_train import train_coconet
from reverie.music.harmonize import compose, continue_chorale, harmonize
from reverie.music.rules import BACH, KEYS
from reverie.music.vae import MusicVAEConfig
from reverie.music.vae_latent import analogy, apply_attribute, interpolate
from reverie.music.vae_train import train_vae

# 200 steps (about 50 s on 2 cores at the 3.9 steps/s bench/music.py measured): the whole
# section stays near 90 s; the 20-minute bench model (4,648 steps) is far better
GALLERY = CoconetConfig(max_steps=200, eval_every=100, checkpoint_every=100)
QUICK = CoconetConfig(num_layers=4, num_filters=8, crop_piece_len=16, batch_size=8,
                      max_steps=10, eval_every=5, checkpoint_every=10**6)
MELODY = ("E4:4 E4:4 F4:4 G4:4 G4:4 F4:4 E4:4 D4:4 C4:4 C4:4 D4:4 E4:4 E4:6 D4:2 D4:8 "
          "E4:4 E4:4 F4:4 G4:4 G4:4 F4:4 E4:4 D4:4 C4:4 C4:4 D4:4 E4:4 D4:6 C4:2 C4:8")
FIRST_HALF = " ".join(MELODY.split()[:15])        # 4 bars: 192 Gibbs steps
RULE_NAMES = {"parallel_fifths": "parallel fifths", "parallel_octaves": "parallel octaves",
              "voice_crossings": "voice crossings", "out_of_range": "notes out of range",
              "spacing": "upper voices > an octave apart"}


def _model(ctx: GalleryContext) -> tuple[str, dict]:
    import torch
    cfg = (QUICK if ctx.quick else GALLERY).replace(device=str(ctx.device))
    return ctx.model("chorales", "music", "coconet-chorales", cfg, lambda out: train_coconet(
        "builtin:chorales", cfg.replace(threads=torch.get_num_threads()), out=out,
        progress=ctx.progress))


# MusicVAE: a small model for a step budget (bench/music_vae.py trains the real one)
VAE = MusicVAEConfig(z_size=32, enc_rnn_size=64, dec_rnn_size=128, batch_size=32,
                     max_steps=150, eval_every=75, checkpoint_every=75)
VAE_QUICK = MusicVAEConfig(z_size=8, enc_rnn_size=16, dec_rnn_size=16, batch_size=8,
                           max_steps=5, eval_every=5, checkpoint_every=10**6)
A, B = "builtin:chorales/bwv269@1", "builtin:chorales/bwv347@3"


def _vae(ctx: GalleryContext) -> tuple[str, dict]:
    cfg = (VAE_QUICK if ctx.quick else VAE).replace(device=str(ctx.device))
    return ctx.model("chorales-vae", "music", "musicvae-chorales", cfg, lambda out: train_vae(
        "builtin:chorales", cfg, out=out, progress=ctx.progress))


def _vae_card(ctx: GalleryContext, title: str, lead: str, result, name: str) -> Card:
    paths = result.save(ctx.asset(f"music/{name}.mid"))
    notes = [f["notes"] for f in result.figures.get("fragments", [])]
    return Card(title=title, lead=lead, media=[ctx.rel(paths["audio"]),
                                               ctx.rel(paths["piano_roll"])],
                figures={"notes per fragment": " -> ".join(map(str, notes)),
                         "sound": result.figures.get("synthesiser", "")})


def _rules_table(figures: dict) -> Table:
    rows = [[RULE_NAMES[k], figures["rules"][k], BACH[k]] for k in KEYS]
    return Table(["per 100 voice-leading steps", "this piece", "Bach's chorales"], rows,
                 caption=f"{figures['rules']['steps']} steps here; Bach: {BACH['steps']:,} "
                         f"steps of music21's 331 four-part chorales")


def _card(ctx, title, lead, result, name, made_by) -> Card:
    paths = result.save(ctx.asset(f"music/{name}.mid"))
    media = [ctx.rel(paths[k]) for k in ("audio", "piano_roll", "animation") if k in paths]
    f = result.figures
    return Card(title=title, lead=lead, media=media, tables=[_rules_table(f)],
                figures={"key (estimated)": f["key_estimated"], "Gibbs steps": f["gibbs_steps"],
                         "parallel / range penalty": f"{result.config.parallel_penalty:g} / "
                                                     f"{result.config.range_penalty:g}",
                         "seconds": round(f["seconds"], 1), "sound": f["synthesiser"],
                         "model": made_by, "score": ctx.rel(paths["musicxml"])})


def build(ctx: GalleryContext) -> Section:
    model, fig = _model(ctx)
    by = made(fig, "Coconet", "builtin:chorales")
    if "val_loss" in fig:
        by += f", validation {fig['val_loss']:.2f} nats per erased cell"
    bars = 2 if ctx.quick else 8
    composed = compose(model, bars=bars, key="D major", seed=3)
    cards = [_card(ctx, f"A chorale composed from nothing, {bars} bars in D major",
                   "every note written by blocked Gibbs sampling; only the first and last "
                   "chords (the tonic triad) were given", composed, "composed", by)]
    melody = FIRST_HALF if not ctx.quick else " ".join(MELODY.split()[:8])
    harmonised = harmonize(model, melody, seed=1)
    cards.append(_card(ctx, "A melody harmonised: Beethoven's Ode to Joy as the soprano",
                       "the soprano exactly as given; alto, tenor and bass written by the model "
                       f"(soprano preserved: {harmonised.figures['soprano_preserved']})",
                       harmonised, "harmonised", by))
    from reverie.music.chorales import load_chorales, split_chorales, Chorale
    test = split_chorales(load_chorales())[2][0]          # a chorale the model never saw
    begin = 16 if ctx.quick else 64
    start = Chorale(test.name, test.pitches[:begin], test.onsets[:begin], test.key)
    more = continue_chorale(model, start, bars=1 if ctx.quick else 4, seed=2)
    cards.append(_card(ctx, f"A chorale continued: the first {begin // 16} bars of Bach's "
                            f"{test.name} (held out), then the model's",
                       "the beginning stays as Bach wrote it (outlined on the roll); the rest "
                       "is the model's", more, "continued", by))
    vae, vfig = _vae(ctx)
    vae_by = made(vfig, "MusicVAE", "builtin:chorales")
    cards.append(_vae_card(ctx, "Two bars of bwv269 to two of bwv347, through the latent space",
                           f"{vae_by}: both fragments encoded, the codes joined by slerp, each "
                           f"point decoded", interpolate(vae, A, B, steps=5), "interpolated"))
    cards.append(_vae_card(ctx, "The density vector: fewer notes, more notes",
                           "the mean code of the busiest quarter of fragments minus that of the "
                           "sparsest, added to bwv269's first bars at -2 ... 2",
                           apply_attribute(vae, A, attribute="density"), "density"))
    cards.append(_vae_card(ctx, "bwv269 bar 1 : bar 3 :: bwv347 bar 1 : ?",
                           "decode(z_B - z_A + z_C), the arithmetic of word analogies",
                           analogy(vae, A, "builtin:chorales/bwv269@3",
                                   "builtin:chorales/bwv347@1"), "analogy"))
    blurb = ("Four-part chorales in Bach's style, after Coconet (Huang et al. 2017): a "
             "convolutional net sees the piano roll of soprano, alto, tenor and bass with "
             "random parts erased and learns to fill them in, in any order. To write music it "
             "starts from nothing (or from a given melody) and repeatedly erases a random, "
             "shrinking share of the notes and writes them again: blocked Gibbs sampling with "
             "an annealed erasure rate. A harmony teacher sits beside the net as a second "
             "expert: a note loses parallel_penalty from its log-probability for each "
             "parallel fifth or octave it would make with its neighbours, and range_penalty "
             "outside its voice's textbook range (both 0: Coconet's sampler as published). "
             "The animation shows each step, notes as bright as the sampler is confident, "
             "rewritten cells outlined in white. Beside each piece, the "
             "checks a harmony teacher makes, counted per 100 voice-leading steps, and the same "
             "counts for Bach's own chorales. The baseline such a model must beat, a chord "
             "Markov chain, is measured in bench/music.py. Below them, a small MusicVAE (Roberts et al. "
             "2018) over two-bar fragments: a path between two, an attribute vector, an analogy.")
    return Section(title="Music: Bach chorales by convolution and Gibbs sampling", blurb=blurb,
                   cards=cards, mechanisms=["train_music", "compose_music", "harmonize_music",
                                             "continue_music", "train_vae", "interpolate_music",
                                             "attribute_music", "analogy_music"])
