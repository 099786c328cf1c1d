"""Training the sound models: `train_sound(corpus, config, out=...)` and `load_sound`.

A `SoundTask` for `reverie.train.fit` (which owns the budget, cadences, checkpoints and
resume): random segments of the training clips, Adam or RMSprop with gradients clipped at
norm 1.0, and a held-out figure on fixed held-out segments every eval_every steps. The
figure is bits per sample for WaveNet and SampleRNN (8 is chance for 8-bit mu-law; 0 is
perfect) and the normalised mean squared error for GRUV (1 is predicting the mean block).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Optional

import numpy as np
import torch

from reverie.core.config import knob, make_config
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.io import checkpoints
from reverie.io.checkpoints import ModelFileResult
from reverie.sound import gruv, samplernn, wavenet
from reverie.sound.data import Clips, load_clips
from reverie.train import (Env, Task, TrainConfig, checkpoint_every_knob, cosine_lr,
                           ema_copy, ema_update, eval_every_knob, fit, max_steps_knob,
                           model_path, optimize)

FORMAT = "reverie-sound"
FORMAT_VERSION = 1


@dataclass
class SoundConfig(TrainConfig):
    """Every model's knobs; each uses its own (marked wavenet:, samplernn: or gruv:).

    WaveNet's defaults are a CPU-sized net (20 layers in 2 stacks, 32 residual channels:
    a receptive field of 2047 samples, 0.26 s at 8 kHz) that trains usefully in 20 minutes
    on two cores and generates faster than real time (bench/sound.py). It is the default
    by measurement: against SampleRNN in the same 20 minutes it scored within 0.1 bit per
    sample, continued held-out chorales closer to the truth, and generates 2.5 times as
    fast (21,800 against 8,700 samples a second). GRUV's are the
    repository's (hidden_dimension_size 1024, block_size a quarter second, 40 blocks)."""
    # what `init` takes from the model it starts from (the data follow its sample rate)
    MODEL_FIELDS: ClassVar[tuple[str, ...]] = (
        "model", "sample_rate", "layers", "stacks", "kernel_size", "residual_channels",
        "gate_channels", "skip_out_channels", "f0_conditioning", "tier_dim", "tier_frame_size",
        "tier_context", "frame_size", "dim", "emb_size", "block_size", "hidden_dimension_size")

    model: str = knob("wavenet", "wavenet (dilated causal convolutions over 8-bit mu-law "
                      "samples), samplernn (a frame-level GRU under a sample-level MLP, over "
                      "the same samples) or gruv (Nayebi & Vitelli 2015: an LSTM regressing "
                      "the next block's DFT)", choices=("wavenet", "samplernn", "gruv"))
    sample_rate: int = knob(8000, "samples per second the model works at; sound is "
                            "resampled to it", choices=(8000, 16000), unit="Hz")
    layers: int = knob(20, "wavenet: dilated convolution layers (WaveNet: 30)", min=1)
    stacks: int = knob(2, "wavenet: the dilations 1, 2, 4 ... restart this many times "
                       "(WaveNet: 3)", min=1)
    kernel_size: int = knob(2, "wavenet: taps of each dilated convolution", min=2,
                            advanced=True)
    residual_channels: int = knob(32, "wavenet: channels on the residual path "
                                  "(tensorflow-wavenet: 32)", min=2)
    gate_channels: int = knob(64, "wavenet: channels out of each dilated convolution, "
                              "halved by the tanh x sigmoid gate", min=2)
    skip_out_channels: int = knob(64, "wavenet: channels of the skip connections and the "
                                  "output layers", min=2)
    f0_conditioning: bool = knob(False, "wavenet: condition every layer on the fundamental "
                                 "(YIN, as log2(f0 / 200 Hz), and whether there is one) of "
                                 "the 1024 samples before each training segment's "
                                 "predictions, as WaveNet's TTS conditions on log F0; a "
                                 "continuation is held to its start's fundamental")
    tier_dim: int = knob(0, "wavenet: width of a frame-level GRU tier (SampleRNN's) that "
                         "reads the sound before each sample frame by frame and conditions "
                         "every layer's gates on its state, a memory longer than the "
                         "receptive field; 0: none", min=0)
    tier_frame_size: int = knob(64, "wavenet: samples per frame of the frame tier", min=2)
    tier_context: float = knob(1.0, "wavenet: seconds of sound the frame tier reads before "
                               "each training segment's first prediction (a continuation's "
                               "tier reads its whole start)", min=0, unit="s")
    pitch_shift: float = knob(0.0, "wavenet, samplernn: play each training segment faster or "
                              "slower by a random factor of up to this many semitones "
                              "(linear interpolation), so the model hears pitches between "
                              "its recordings'", min=0, max=12, unit="semitones")
    sample_size: int = knob(8000, "wavenet, samplernn: predicted samples per training "
                            "segment (wavenet's also carry one receptive field of context, "
                            "and tier_context more for its frame tier)",
                            min=16, unit="samples")
    frame_size: int = knob(16, "samplernn: samples per frame of the frame-level GRU "
                           "(two_tier: 16)", min=2)
    dim: int = knob(256, "samplernn: width of the GRU and the MLP (SampleRNN: 1024)", min=8)
    emb_size: int = knob(64, "samplernn: embedding of each mu-law level (SampleRNN: 256)",
                         min=2, advanced=True)
    block_size: Optional[int] = knob(None, "gruv: samples per block (auto: a quarter of a "
                                     "second, as GRUV's convert_directory)", min=8,
                                     unit="samples", resolved=True)
    max_seq_len: int = knob(40, "gruv: blocks per training sequence (GRUV: 10 s clips of "
                            "quarter-second blocks = 40)", min=2)
    hidden_dimension_size: int = knob(1024, "gruv: width of the dense layers and the LSTM "
                                      "(GRUV: 1024)", min=8)
    seed_blocks: int = knob(4, "gruv: blocks of the start fed as the seed sequence before "
                            "it predicts", min=1, advanced=True)
    batch_size: int = knob(2, "segments (wavenet, samplernn) or sequences (gruv) per step",
                           min=1)
    learning_rate: float = knob(1e-3, "Adam (wavenet, samplernn; both codes: 1e-3) or RMSprop "
                                "(gruv; Keras' default 1e-3) learning rate", above=0)
    min_lr: Optional[float] = knob(None, "cosine-decay the learning rate to this by the end "
                                   "of the run (nanoGPT's min_lr); none keeps it constant, "
                                   "as the WaveNet, SampleRNN and GRUV codes do", min=0)
    ema_decay: Optional[float] = knob(None, "keep an exponential moving average of the "
                                      "weights and generate from it (Polyak averaging, as "
                                      "Parallel WaveNet and r9y9's wavenet_vocoder, whose "
                                      "ema_decay is 0.9999). Until about 9 / (1 - "
                                      "ema_decay) steps the decay is TensorFlow's warm-up, "
                                      "(1 + step) / (10 + step): an average of roughly the "
                                      "last tenth of the run. None generates from the last "
                                      "step's weights", min=0, below=1)
    max_steps: int = max_steps_knob(2000)
    eval_every: int = eval_every_knob(100)
    checkpoint_every: int = checkpoint_every_knob(100)

    def check(self) -> None:
        from reverie.core.config import ConfigError
        if self.layers % self.stacks:
            raise ConfigError("layers", f"{self.layers} layers do not split into "
                                        f"{self.stacks} stacks; give a multiple of stacks")
        if self.gate_channels % 2:
            raise ConfigError("gate_channels", "must be even: the gate halves it")
        if self.min_lr is not None and self.min_lr > self.learning_rate:
            raise ConfigError("min_lr", f"{self.min_lr} is above learning_rate "
                                        f"({self.learning_rate}); the decay ends below its peak")


MU_LAW_MODELS = ("wavenet", "samplernn")


def make_net(cfg: SoundConfig):
    if cfg.model == "wavenet":
        return wavenet.WaveNet(cfg)
    if cfg.model == "samplernn":
        return samplernn.SampleRNN(cfg)
    return gruv.GRUV(cfg, cfg.block_size or cfg.sample_rate // 4)


# ---------------------------------------------------------------------------------------
# A trained model
# ---------------------------------------------------------------------------------------

@dataclass
class SoundModel:
    """A trained model (eval mode, CPU), its configuration and its training record."""
    net: torch.nn.Module
    config: SoundConfig
    meta: dict

    @property
    def rate(self) -> int:
        return self.config.sample_rate

    @property
    def min_start(self) -> int:
        """Samples a start must have: one receptive field (WaveNet; in whole frames of its
        frame tier), one frame (SampleRNN) or one block (GRUV)."""
        if self.config.model == "wavenet":
            return wavenet.feed_length(self.net)
        return (self.net.receptive_field if self.config.model in MU_LAW_MODELS
                else self.net.block_size)


def load_checkpoint(path) -> dict:
    return checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a sound model",
                                       "train one with `reverie sound train "
                                       "builtin:chorale-audio --out s.pt`")


def config_from_dict(d: dict) -> SoundConfig:
    return checkpoints.saved_config(SoundConfig, d)


def generating_weights(ckpt: dict) -> dict:
    """The weights a model generates from: the moving average when it kept one."""
    return ckpt["ema"] if "ema" in ckpt else ckpt["model"]


def load_sound(path) -> SoundModel:
    ckpt = load_checkpoint(path)
    try:
        cfg = config_from_dict(ckpt["config"])
        with torch.random.fork_rng(devices=[]):
            net = make_net(cfg)
        net.load_state_dict(generating_weights(ckpt))
    except (RuntimeError, KeyError, TypeError, AttributeError, ReverieError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"retrain it with `reverie sound train`") from None
    run = ckpt.get("run", {})   # the held-out figure under "valid", as in a TrainResult's
    meta = {**run, **run.get("losses", {}), **run.get("figures", {})}
    return SoundModel(net.eval(), cfg, dict(meta, data=ckpt.get("data", {}),
                                            seeds=ckpt.get("seeds")))


def as_model(model) -> SoundModel:
    if isinstance(model, SoundModel):
        return model
    if isinstance(model, TrainResult):
        return SoundModel(model.model, model.config,
                          dict(model.figures, seeds=model.checkpoint.get("seeds")))
    if model is None:
        raise ReverieError("a sound model is needed; train one with `reverie sound train "
                           "builtin:chorale-audio --out s.pt`")
    return load_sound(model)


@dataclass
class TrainResult(ModelFileResult):
    model: torch.nn.Module
    checkpoint: dict

    def explain(self, folder: Path) -> dict[str, Path]:
        from reverie.io.figures import plot_curves
        h = self.figures["history"]
        return {"loss curves": plot_curves(
            {"train": [(r["step"], r["train"]) for r in h],
             "held out": [(r["step"], r["valid"]) for r in h]},
            path=Path(folder) / "loss-curves.png", xlabel="step",
            ylabel=self.figures["unit"])}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps: held out {f['valid']:.3f} {f['unit']} (training "
                f"{f['train']:.3f}), {f['seconds_per_second']:.2f} s of sound per second")


# ---------------------------------------------------------------------------------------
# The held-out figure
# ---------------------------------------------------------------------------------------

def _to_unit(cfg: SoundConfig, loss: float) -> float:
    return loss / math.log(2) if cfg.model in MU_LAW_MODELS else loss   # nats -> bits


def training_batch(net, clips, cfg: SoundConfig, n: int, gen: torch.Generator,
                   augment: bool = False):
    shift = cfg.pitch_shift if augment else 0.0
    if cfg.model == "wavenet":
        return wavenet.batch(clips, net.tier_context + net.receptive_field + cfg.sample_size,
                             n, gen, shift)
    if cfg.model == "samplernn":
        frames = max(1, cfg.sample_size // cfg.frame_size)
        return wavenet.batch(clips, (frames + 1) * cfg.frame_size, n, gen, shift)
    return gruv.batch(net, clips, cfg.max_seq_len, n, gen)


def _loss(net, x, cfg: SoundConfig, mask=None) -> torch.Tensor:
    if cfg.model == "gruv":
        return gruv.loss(net, x)
    return (wavenet if cfg.model == "wavenet" else samplernn).loss(net, x, mask)


def fixed_validation(net, clips: Clips | list[np.ndarray], cfg: SoundConfig, n: int = 8):
    """The same held-out segments at every estimate (a fixed seed): for WaveNet and
    SampleRNN mu-law segments and the mask of the targets scored, held-out sound with a
    full context of real sound before it, as training's targets have (never silence
    padded in front of a short clip, nor a tail's context from the training part); for
    GRUV runs of blocks of the held-out sound."""
    gen = torch.Generator().manual_seed(12345)
    if not isinstance(clips, Clips):
        clips = Clips(cfg.sample_rate, [], list(clips))
    if cfg.model == "gruv":
        return gruv.batch(net, clips.held_out(), cfg.max_seq_len, n, gen)
    from reverie.sound.data import held_out_segments, mu_law_encode
    if cfg.model == "wavenet":
        context, targets = net.tier_context + net.receptive_field, cfg.sample_size
    else:
        context, targets = cfg.frame_size, max(1, cfg.sample_size // cfg.frame_size) \
            * cfg.frame_size
    x, mask = held_out_segments(clips.valid, clips.held_from(), context, targets, n, gen)
    return torch.from_numpy(mu_law_encode(x)), torch.from_numpy(mask)


@torch.no_grad()
def held_out(net, fixed, cfg: SoundConfig, device) -> float:
    """The held-out figure on `fixed` (a batch, or a batch and its mask of scored targets)."""
    x, mask = fixed if isinstance(fixed, tuple) else (fixed, None)
    was = net.training
    net.eval()
    value = _to_unit(cfg, float(_loss(net, x.to(device), cfg,
                                      None if mask is None else mask.to(device))))
    net.train(was)
    return value


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------

def _seed_length(net, cfg: SoundConfig) -> int:
    if cfg.model == "samplernn":
        return 256 * cfg.frame_size          # a little context for the GRU to read first
    if cfg.model == "wavenet":   # the frame tier's context, too
        return net.tier_context + wavenet.feed_length(net)
    return cfg.seed_blocks * net.block_size


def seed_snippets(clips: list[np.ndarray], length: int, seed: int, n: int = 4) -> torch.Tensor:
    """n snippets of training sound, kept in the model file for `sample` to start from
    (GRUV's generate_copy_seed_sequence); loud ones, so a sample does not start silent."""
    rng = np.random.default_rng(seed)
    long = [c for c in clips if len(c) > length] or clips
    out = []
    for _ in range(n):
        best = np.zeros(length, np.float32)
        for _ in range(8):
            c = long[int(rng.integers(len(long)))]
            if len(c) >= length:
                s = int(rng.integers(0, len(c) - length + 1))
                if np.mean(c[s:s + length] ** 2) > np.mean(best ** 2):
                    best = c[s:s + length]
        out.append(best)
    return torch.from_numpy(np.stack(out).astype(np.float32))


class SoundTask(Task):
    """Random segments of the training clips (this rank's rows of each global batch), one
    clipped Adam (WaveNet, SampleRNN) or RMSprop (GRUV) step on them, and the held-out
    figure on the same fixed held-out segments at every evaluation."""
    format, version = FORMAT, FORMAT_VERSION

    def __init__(self, clips: Clips, env: Env):
        cfg = self.cfg = env.cfg
        if clips.rate != cfg.sample_rate:
            raise ReverieError(f"the clips are at {clips.rate} Hz but sample_rate is "
                               f"{cfg.sample_rate}; load them at the model's rate")
        self.clips, self.env = clips, env
        self.model = self.net = make_net(cfg)
        if cfg.model == "gruv":
            gruv.fit_statistics(self.model, clips.train)
        self.model.to(env.device)
        self.optimizer = (torch.optim.Adam if cfg.model in MU_LAW_MODELS
                          else torch.optim.RMSprop)(self.model.parameters(),
                                                    lr=cfg.learning_rate)
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}
        # the weights that generate: the moving average (ema_decay) or the trained ones
        self.average = None
        if cfg.ema_decay is not None:
            self.average = ema_copy(self.model)
            self.models["ema"] = self.average
        self.rows = env.rows(cfg.batch_size)
        self.fixed = fixed_validation(self.model, clips, cfg)
        self.unit = "bits per sample" if cfg.model in MU_LAW_MODELS else "normalised MSE"
        self.per_step = (cfg.sample_size if cfg.model in MU_LAW_MODELS
                         else cfg.max_seq_len * self.model.block_size) * cfg.batch_size
        self.data = {"source": clips.source, "train_seconds": round(clips.seconds("train"), 1),
                     "valid_seconds": round(clips.seconds("valid"), 1),
                     "held_out": clips.names.get("valid", []) + clips.names.get("test", [])}
        self.seeds = seed_snippets(clips.train, _seed_length(self.model, cfg), cfg.seed)

    def distribute(self, wrap) -> None:
        if self.env.world.distributed and self.cfg.model == "wavenet":
            # the last layer's residual output feeds nothing: DDP would wait for its gradient
            self.model.res[-1].requires_grad_(False)
        self.net = wrap(self.model)

    @property
    def generator(self) -> torch.nn.Module:
        return self.average if self.average is not None else self.model

    def init_from(self, ckpt: dict, path: str) -> None:
        """Fine-tuning starts from the weights the model generates from, averaged or not."""
        if "model" in ckpt or "ema" in ckpt:
            ckpt = {k: v for k, v in ckpt.items() if k != "ema"} | {
                "model": generating_weights(ckpt)}
        super().init_from(ckpt, path)
        if self.average is not None:
            self.average.load_state_dict(self.model.state_dict())

    def learning_rate(self, frac_done: float, step: int) -> float | None:
        cfg = self.cfg
        return None if cfg.min_lr is None else cosine_lr(frac_done, step, cfg.learning_rate,
                                                         cfg.min_lr)

    def step(self, step: int) -> dict:
        batch = training_batch(self.model, self.clips.train, self.cfg, self.cfg.batch_size,
                               self.env.gen, augment=True)
        loss = _loss(self.net, batch[self.rows].to(self.env.device), self.cfg)
        # clipped: LSTM and early WaveNet spikes
        optimize(loss, self.optimizer, 1.0, self.model.parameters())
        if self.average is not None:
            ema_update(self.average, self.model, self.cfg.ema_decay, step + 1)
        return {"train": _to_unit(self.cfg, loss.item())}

    def evaluate(self, final: bool) -> dict:
        figures = {"valid": held_out(self.generator, self.fixed, self.cfg, self.env.device)}
        if self.average is not None:   # the last step's weights, beside their average
            figures["valid_last"] = held_out(self.model, self.fixed, self.cfg, self.env.device)
        return figures

    def header(self) -> dict:
        return {"data": self.data, "seeds": self.seeds}

    def describe(self, losses: dict, figures: dict) -> str:
        return (f"train {losses['train']:.3f}" + (f", held out {figures['valid']:.3f}"
                                                  if "valid" in figures else "")
                + f" {self.unit}")

    def preview(self, history: list[dict]):
        return {"series": {"train": [(h["step"], h["train"]) for h in history],
                           "held out": [(h["step"], h["valid"]) for h in history
                                        if "valid" in h]},
                "xlabel": "step", "ylabel": self.unit}


PITCHED = 0.8   # the share of pitched frames from which training suggests f0 conditioning


def pitched_share(clips: list[np.ndarray], rate: int, frames: int = 48) -> float:
    """The share of `frames` windows, spread evenly over the clips, in which YIN finds one
    clear fundamental (aperiodicity under 0.2): near 1 for tones and a solo voice."""
    from reverie.sound.pitch import yin
    from reverie.sound.wavenet import F0_WINDOW

    spans = [(i, j) for i, c in enumerate(clips) for j in range(0, len(c) - F0_WINDOW,
                                                                  F0_WINDOW)]
    if not spans:
        return 0.0
    picked = [spans[k] for k in np.linspace(0, len(spans) - 1, min(frames, len(spans))).astype(int)]
    found = 0
    for i, j in picked:
        x = clips[i][j:j + F0_WINDOW]
        if np.sqrt(np.mean(np.square(x, dtype=np.float64))) < 1e-3:
            continue  # silence has no pitch, and is not counted as pitched
        f0, aperiodicity = yin(x, rate)
        found += f0 is not None and aperiodicity < 0.2
    return found / len(picked)


def train_sound(corpus=None, config: Optional[SoundConfig] = None, *,
                out: str | os.PathLike | None = None, progress: Progress = silent,
                clips: Clips | None = None, **overrides) -> TrainResult:
    """Train WaveNet, SampleRNN or GRUV on `corpus` (builtin:chorale-audio, builtin:speech,
    or files and folders of WAV/FLAC/OGG; or `clips` in memory). With `out`, checkpoints are
    written there every `checkpoint_every` steps and at the end; `resume=True` goes on, and
    `init` starts from another sound model's weights."""
    cfg = make_config(SoundConfig, config, **overrides)
    if cfg.model == "gruv" and cfg.block_size is None:
        cfg = cfg.replace(block_size=cfg.sample_rate // 4)
    out = model_path(out, "s.pt")
    if clips is None:
        from reverie.core.inputs import record
        inputs = {"corpus": record(corpus)}
    else:
        inputs = {"corpus": {"source": None, "note": "given in memory (clips)"}}

    def make_task(env: Env) -> SoundTask:
        # the sound is read at the rate of the run's model (a resumed or init one's)
        return SoundTask(clips if clips is not None
                         else load_clips(corpus, env.cfg.sample_rate, env.progress), env)

    run = fit(make_task, cfg, out=out, load=load_checkpoint, progress=progress)
    task, rec = run.task, run.record
    cfg, net = run.cfg, task.generator
    figures = {"model": cfg.model, "steps": rec["step"], "train": rec["losses"]["train"],
               "valid": rec["figures"]["valid"], "unit": task.unit,
               "seconds_per_second": task.per_step / cfg.sample_rate
               / max(run.timings["per_step"], 1e-9),
               "params": sum(p.numel() for p in net.parameters()),
               "train_seconds_of_sound": task.data["train_seconds"],
               "valid_seconds_of_sound": task.data["valid_seconds"],
               "history": run.history}
    if cfg.model in MU_LAW_MODELS:
        figures["bits_per_sample"] = figures["valid"]
    if cfg.model == "wavenet":
        figures["receptive_field_samples"] = net.receptive_field
        figures["receptive_field_seconds"] = net.receptive_field / cfg.sample_rate
        if net.tier_dim:
            figures["tier_context_seconds"] = net.tier_context / cfg.sample_rate
    fields = run.result_fields()
    fields["notes"] = list(task.clips.notes) + fields["notes"]
    if cfg.model == "wavenet" and not cfg.f0_conditioning:
        share = pitched_share(task.clips.train, cfg.sample_rate)
        if share >= PITCHED:
            fields["notes"].append(
                f"{share:.0%} of the training sound has one clear fundamental (YIN): for "
                f"pitched sound, f0_conditioning and pitch_shift 2 keep a continuation's "
                f"pitch (bench/sound.py: held-out tones within 3% on 10 of 10, against 0 "
                f"with the defaults)")
    result = TrainResult(net, run.checkpoint, mechanism="train_sound", figures=figures,
                         **fields)
    return run.save(result, out, inputs)
