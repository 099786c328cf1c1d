"""Training either sound model: `train_sound(corpus, config, out=...)` and `load_sound`.

One loop for both (as the char LM trains): random segments of the training clips, Adam or
RMSprop, a validation figure on fixed held-out segments every eval_interval steps,
checkpoints every checkpoint_every steps, resume after a kill. The held-out figure is
bits per sample for WaveNet (8 is chance for 8-bit mu-law; 0 is perfect) and the
normalised mean squared error for GRUV (1 is predicting the mean block).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from reverie.core.config import Config, knob, make_config, seed_knob, device_knob
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, show_preview, silent
from reverie.io import checkpoints
from reverie.io.checkpoints import ModelFileResult, save_checkpoint
from reverie.sound import gruv, samplernn, wavenet
from reverie.sound.data import Clips, load_clips

FORMAT = "reverie-sound"
FORMAT_VERSION = 1


@dataclass
class SoundConfig(Config):
    """Every model's knobs; each uses its own (marked wavenet:, samplernn: or gruv:).

    WaveNet's defaults are a CPU-sized net (20 layers in 2 stacks, 32 residual channels:
    a receptive field of 2047 samples, 0.26 s at 8 kHz) that trains usefully in 20 minutes
    on two cores and generates faster than real time (bench/sound.py). It is the default
    by measurement: against SampleRNN in the same 20 minutes it scored within 0.1 bit per
    sample, continued held-out chorales closer to the truth, and generates 2.5 times as
    fast (21,800 against 8,700 samples a second). GRUV's are the
    repository's (hidden_dimension_size 1024, block_size a quarter second, 40 blocks)."""
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
    sample_size: int = knob(8000, "wavenet, samplernn: predicted samples per training "
                            "segment (wavenet's also carry one receptive field of context)",
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
    max_iters: int = knob(2000, "training steps: the budget (ignored when minutes is set)",
                          min=1)
    minutes: Optional[float] = knob(None, "train for this wall-clock time instead of "
                                    "max_iters (the model then depends on the machine's "
                                    "speed)", above=0, unit="minutes")
    eval_interval: int = knob(100, "measure the held-out figure every N steps", min=1,
                              advanced=True)
    checkpoint_every: int = knob(100, "write a checkpoint every N steps (and at the end), so "
                                 "a killed run can resume", min=1, advanced=True)
    resume: bool = knob(False, "continue the run whose checkpoint is the output file")
    threads: Optional[int] = knob(None, "torch CPU threads (auto: $REVERIE_THREADS if set, "
                                  "else the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob(1337)
    device: str = device_knob()

    def check(self) -> None:
        from reverie.core.config import ConfigError
        if self.layers % self.stacks:
            raise ConfigError("layers", f"{self.layers} layers do not split into "
                                        f"{self.stacks} stacks; give a multiple of stacks")
        if self.gate_channels % 2:
            raise ConfigError("gate_channels", "must be even: the gate halves it")


BUDGET_FIELDS = ("max_iters", "minutes", "threads", "device")


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
        """Samples a start must have: one receptive field (WaveNet), one frame (SampleRNN)
        or one block (GRUV)."""
        return (self.net.receptive_field if self.config.model in MU_LAW_MODELS
                else self.net.block_size)


def load_checkpoint(path) -> dict:
    return checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a sound model",
                                       "train one with `reverie sound train "
                                       "builtin:chorale-audio --out s.pt`")


def config_from_dict(d: dict) -> SoundConfig:
    return checkpoints.saved_config(SoundConfig, d)


def load_sound(path) -> SoundModel:
    ckpt = load_checkpoint(path)
    try:
        cfg = config_from_dict(ckpt["config"])
        with torch.random.fork_rng(devices=[]):
            net = make_net(cfg)
        net.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, TypeError, AttributeError, ReverieError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"retrain it with `reverie sound train`") from None
    return SoundModel(net.eval(), cfg, dict(ckpt.get("run", {}), data=ckpt.get("data", {}),
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


def training_batch(net, clips, cfg: SoundConfig, n: int, gen: torch.Generator):
    if cfg.model == "wavenet":
        return wavenet.batch(clips, net.receptive_field + cfg.sample_size, n, gen)
    if cfg.model == "samplernn":
        frames = max(1, cfg.sample_size // cfg.frame_size)
        return wavenet.batch(clips, (frames + 1) * cfg.frame_size, n, gen)
    return gruv.batch(net, clips, cfg.max_seq_len, n, gen)


def _loss(net, x, cfg: SoundConfig) -> torch.Tensor:
    module = {"wavenet": wavenet, "samplernn": samplernn, "gruv": gruv}[cfg.model]
    return module.loss(net, x)


def fixed_validation(net, valid: list[np.ndarray], cfg: SoundConfig, n: int = 8):
    """The same held-out segments at every estimate (a fixed seed)."""
    return training_batch(net, valid, cfg, n, torch.Generator().manual_seed(12345))


@torch.no_grad()
def held_out(net, fixed, cfg: SoundConfig, device) -> float:
    was = net.training
    net.eval()
    value = _to_unit(cfg, float(_loss(net, fixed.to(device), cfg)))
    net.train(was)
    return value


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------

def _seed_length(net, cfg: SoundConfig) -> int:
    if cfg.model == "samplernn":
        return 256 * cfg.frame_size          # a little context for the GRU to read first
    return net.receptive_field if cfg.model == "wavenet" else cfg.seed_blocks * net.block_size


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

def train_sound(corpus=None, config: Optional[SoundConfig] = None, *,
                out: str | os.PathLike | None = None, progress: Progress = silent,
                clips: Clips | None = None, **overrides) -> TrainResult:
    """Train WaveNet or GRUV on `corpus` (builtin:chorale-audio, builtin:speech, or files
    and folders of WAV/FLAC/OGG; or `clips` in memory). With `out`, checkpoints are
    written there every `checkpoint_every` steps and at the end; `resume=True` goes on."""
    cfg = make_config(SoundConfig, config, **overrides)
    out = checkpoints.model_path(out, "s.pt")
    if cfg.resume and out is not None and out.exists():   # the data follow the saved rate
        cfg = cfg.replace(sample_rate=config_from_dict(load_checkpoint(out)["config"])
                          .sample_rate)
    if clips is None:
        clips = load_clips(corpus, cfg.sample_rate, progress)
        from reverie.core.inputs import record
        inputs = {"corpus": record(corpus)}
    else:
        inputs = {"corpus": {"source": None, "note": "given in memory (clips)"}}
    if clips.rate != cfg.sample_rate:
        raise ReverieError(f"the clips are at {clips.rate} Hz but sample_rate is "
                           f"{cfg.sample_rate}; load them at the model's rate")
    from reverie.core.device import resolve_device
    from reverie.text.charlm import free_cores
    device = resolve_device(cfg.device)
    threads = cfg.threads or free_cores()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            result = _train(clips, out, cfg.replace(threads=threads, device=str(device)),
                            device, progress)
    finally:
        torch.set_num_threads(before)
    result.inputs = inputs
    result.resolved.update({"device": str(device), "threads": threads})
    if out is not None:
        result.save(out)
    return result


def _train(clips: Clips, out, cfg: SoundConfig, device, progress) -> TrainResult:
    notes = list(clips.notes)
    ckpt, cfg, changed = checkpoints.resume_checkpoint(cfg, out, load_checkpoint,
                                                       config_from_dict, BUDGET_FIELDS)
    if ckpt is not None:
        notes.append(f"resumed from {out.name} at step {ckpt['run']['step']}" +
                     (f", with a new {' and '.join(changed)}" if changed else
                      "; the same model as an uninterrupted run"))
    if cfg.model == "gruv" and cfg.block_size is None:
        cfg = cfg.replace(block_size=cfg.sample_rate // 4)
    torch.set_rng_state(torch.Generator().manual_seed(cfg.seed).get_state())
    gen = torch.Generator().manual_seed(cfg.seed)
    net = make_net(cfg)
    if cfg.model == "gruv":
        gruv.fit_statistics(net, clips.train)
    net = net.to(device)
    opt = (torch.optim.Adam if cfg.model in MU_LAW_MODELS else torch.optim.RMSprop)(
        net.parameters(), lr=cfg.learning_rate)
    run = {"step": 0, "train": None, "valid": None, "history": [], "samples": 0}
    elapsed = 0.0
    if ckpt is not None:
        elapsed = checkpoints.restore_training(ckpt, out, net, opt, gen, run)
    fixed = fixed_validation(net, clips.valid, cfg)
    budget_s = cfg.minutes * 60.0 if cfg.minutes else None
    data_record = {"source": clips.source, "train_seconds": round(clips.seconds("train"), 1),
                   "valid_seconds": round(clips.seconds("valid"), 1),
                   "held_out": clips.names.get("valid", []) + clips.names.get("test", [])}

    seeds = seed_snippets(clips.train, _seed_length(net, cfg), cfg.seed)

    def frac_done() -> float:
        return elapsed / budget_s if budget_s is not None else run["step"] / cfg.max_iters

    def checkpoint() -> dict:
        return checkpoints.training_state(FORMAT, FORMAT_VERSION, cfg, net, opt, run, gen,
                                          elapsed if budget_s is not None else None,
                                          data=data_record, seeds=seeds)

    unit = "bits per sample" if cfg.model in MU_LAW_MODELS else "normalised MSE"
    per_step = (cfg.sample_size if cfg.model in MU_LAW_MODELS
                else cfg.max_seq_len * cfg.block_size) * cfg.batch_size
    net.train()
    smooth = run["train"]
    session_steps, session_seconds = 0, 0.0
    started = t_last = time.perf_counter()
    while frac_done() < 1.0:
        x = training_batch(net, clips.train, cfg, cfg.batch_size, gen).to(device)
        loss = _loss(net, x, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)   # LSTM and early WaveNet spikes
        opt.step()
        run["step"] += 1
        run["samples"] += per_step
        now = time.perf_counter()
        elapsed += now - t_last
        session_seconds += now - t_last
        session_steps += 1
        value = _to_unit(cfg, loss.item())
        smooth = value if smooth is None else 0.95 * smooth + 0.05 * value
        run["train"] = smooth
        if run["step"] % cfg.eval_interval == 0:
            run["valid"] = held_out(net, fixed, cfg, device)
            run["history"].append({"step": run["step"], "train": smooth, "valid": run["valid"]})
            show_preview(progress, {"series": {
                "train": [(h["step"], h["train"]) for h in run["history"]],
                "held out": [(h["step"], h["valid"]) for h in run["history"]]},
                "xlabel": "step", "ylabel": unit})
        if out is not None and run["step"] % cfg.checkpoint_every == 0:
            save_checkpoint(checkpoint(), out)
        t_last = time.perf_counter()
        msg = f"train {smooth:.3f}" + (f", held out {run['valid']:.3f}"
                                       if run["valid"] is not None else "") + f" {unit}"
        if budget_s is not None:
            progress(int(elapsed), int(budget_s), msg)
        else:
            progress(run["step"], cfg.max_iters, msg)
    run["valid"] = held_out(net, fixed, cfg, device)
    if not run["history"] or run["history"][-1]["step"] != run["step"]:
        run["history"].append({"step": run["step"], "train": smooth, "valid": run["valid"]})
    final = checkpoint()
    net.cpu().eval()
    figures = {"model": cfg.model, "steps": run["step"], "train": smooth,
               "valid": run["valid"], "unit": unit,
               "seconds_per_second": per_step * session_steps / cfg.sample_rate
               / max(session_seconds, 1e-9),
               "params": sum(p.numel() for p in net.parameters()),
               "train_seconds_of_sound": data_record["train_seconds"],
               "valid_seconds_of_sound": data_record["valid_seconds"],
               "history": run["history"]}
    if cfg.model in MU_LAW_MODELS:
        figures["bits_per_sample"] = run["valid"]
    if cfg.model == "wavenet":
        figures["receptive_field_samples"] = net.receptive_field
        figures["receptive_field_seconds"] = net.receptive_field / cfg.sample_rate
    if budget_s is not None:
        notes.append(f"trained for a wall-clock budget ({cfg.minutes:g} minutes, {run['step']} "
                     f"steps here): the model depends on this machine's speed; set max_iters "
                     f"for a repeatable run")
    return TrainResult(net, final, mechanism="train_sound", config=cfg.replace(resume=False),
                       figures=figures, notes=notes,
                       deterministic=budget_s is None and not changed,
                       timings={"train": time.perf_counter() - started,
                                "per_step": session_seconds / max(1, session_steps)})
