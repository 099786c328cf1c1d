"""Gallery: raw audio. WaveNet (the zoo's model:chorale-audio) and GRUV, trained here on a
dozen chorales of builtin:chorale-audio for a step budget, each continue the same held-out
chorale; the spectrogram marks the seam, and the loudness and centroid show whether the
sound keeps going or decays (GRUV's users' report).

The budgets are steps, so every run makes the same models; they train once and are cached
in ctx.cache_dir. `quick` trains tiny nets for a few steps on four rendered chorales.
"""
from __future__ import annotations

from reverie.gallery import Card, GalleryContext, Section, made
from reverie.sound.data import builtin_clips
from reverie.sound.generate import continue_sound, sample_sound
from reverie.sound.train import SoundConfig, train_sound

RATE = 8000
# About a minute each on 2 cores: far short of the 20-minute models of bench/sound.py.
WAVENET = SoundConfig(model="wavenet", max_steps=150, eval_every=50, checkpoint_every=50)
GRUV = SoundConfig(model="gruv", max_steps=60, eval_every=30, checkpoint_every=30)
QUICK = {"wavenet": SoundConfig(layers=6, stacks=1, residual_channels=8, gate_channels=16,
                                skip_out_channels=16, sample_size=256, max_steps=5,
                                eval_every=5, checkpoint_every=10**6),
         "gruv": SoundConfig(model="gruv", hidden_dimension_size=32, max_seq_len=4,
                             max_steps=5, eval_every=5, checkpoint_every=10**6)}
QUICK_COUNTS = {"train": 2, "valid": 1, "test": 1}
# GRUV's 60 steps read 120 ten-second sequences: a dozen chorales hold as much variety as
# it can learn, and rendering all 66 through the soundfont took longer (17 s) than training
COUNTS = {"train": 12, "valid": 2, "test": 1}


def _model(ctx: GalleryContext, name: str, clips) -> tuple[str, dict]:
    import torch
    cfg = (QUICK[name] if ctx.quick else {"wavenet": WAVENET, "gruv": GRUV}[name]).replace(
        device=str(ctx.device))
    # WaveNet is the zoo's model:chorale-audio when installed; GRUV always trains here
    return ctx.model("chorale-audio" if name == "wavenet" else "", "sound",
                     f"{name}-chorale-audio", cfg, lambda out: train_sound(
                         clips=clips, config=cfg.replace(threads=torch.get_num_threads()),
                         out=out, progress=ctx.progress))


def _card(ctx, title: str, lead: str, result, name: str, made_by: str) -> Card:
    paths = result.save(ctx.asset(f"sound/{name}.wav"))
    f = result.figures
    figures = {"verdict": f["verdict"], "model": made_by,
               "samples per second": f"{f['samples_per_second']:,.0f}"}
    if "held_out_bits_per_sample" in f:
        figures["held-out bits per sample"] = f"{f['held_out_bits_per_sample']:.2f} (chance: 8)"
    if "held_out_normalised_mse" in f:
        figures["held-out normalised MSE"] = f"{f['held_out_normalised_mse']:.3f} (mean block: 1)"
    return Card(title=title, lead=lead, figures=figures,
                media=[ctx.rel(paths["audio"]), ctx.rel(paths["spectrogram"])])


def build(ctx: GalleryContext) -> Section:
    clips = builtin_clips("chorale-audio", RATE, counts=QUICK_COUNTS if ctx.quick else COUNTS,
                          progress=ctx.progress)
    test = clips.test[0]                         # a chorale neither model heard
    start = test[: int(RATE * (1.0 if ctx.quick else 3.0))]
    seconds = 1.0 if ctx.quick else 4.0
    cards = []
    for name, title in (("wavenet", "WaveNet"), ("gruv", "GRUV")):
        model, fig = _model(ctx, name, clips)
        by = made(fig, title, "builtin:chorale-audio" if fig.get("zoo") else
                  f"{len(clips.train)} chorales of builtin:chorale-audio")
        result = continue_sound(model, (start, RATE), seconds=seconds, seed=0)
        heard = clips.names["test"][0]
        cards.append(_card(ctx, f"{title} continues a chorale it never heard ({heard})",
                           f"{len(start) / RATE:g} s of Bach through the choir soundfont, then "
                           f"{seconds:g} s of the model's; the dashed line is the seam",
                           result, f"{name}-continued", by))
        if name == "wavenet":
            sampled = sample_sound(model, seconds=seconds, seed=1)
            cards.append(_card(ctx, "WaveNet on its own, primed with a snippet of training sound",
                               "sampled one mu-law level at a time at temperature 0.9",
                               sampled, "wavenet-sampled", by))
    blurb = ("Sound predicted sample by sample, as in WaveNet (van den Oord et al. 2016): a "
             "stack of dilated causal convolutions reads the last quarter second of 8-bit "
             "mu-law samples and gives a distribution over the next one; drawing from it "
             "8000 times makes a second of sound (each new sample costs one step through "
             "cached queues, Fast Wavenet). Beside it, GRUV (Nayebi & Vitelli 2015), which "
             "cut audio into quarter-second blocks and had an LSTM regress each next block's "
             "Fourier transform; its users found the output decays into noise or silence. "
             "(SampleRNN, a frame-level GRU over a sample-level MLP, trains too: "
             "`--model samplernn`.) "
             "Each figure marks where the model takes over and follows loudness and spectral "
             "centroid across the seam. bench/sound.py trains each for 20 minutes and scores "
             "continuations of held-out chorales against the truth and two baselines.")
    return Section(title="Raw audio: continuing a sound, sample by sample", blurb=blurb,
                   cards=cards, mechanisms=["train_sound", "continue_sound", "sample_sound"])

