"""Training the character model (`train_charlm`, the `text train` mechanism) as a
`CharTask` of the one loop (reverie.train): AdamW with linear warmup and cosine decay
(nanoGPT's schedule), gradient clipping, truncated back-propagation through time with
the state carried across batches (char-rnn's contiguous streams), the last 10% held out,
and checkpoints that hold everything needed to resume a killed run exactly (model,
optimiser, data position, carried state, vocabulary, configuration, RNG state).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import make_config
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.io.checkpoints import ModelFileResult
from reverie.scale import ddp
from reverie.text.charlm import (FORMAT, FORMAT_VERSION, LN2, CharLM, CharLMConfig, build_model,
                                 count_params, evaluate_ids, load_checkpoint)
from reverie.text.corpus import Vocab, decode_text, read_corpus
from reverie.train import Env, Task, cosine_lr, fit, model_path, optimize


# ---------------------------------------------------------------------------------------
# The data and the optimiser
# ---------------------------------------------------------------------------------------

def split_data(ids: torch.Tensor, val_frac: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The first 90% trains, the last 10% validates (nanoGPT's split)."""
    n = int(len(ids) * (1 - val_frac))
    return ids[:n], ids[n:]


class Streams:
    """char-rnn's batching: the text cut into `batch_size` contiguous streams read side by
    side, `seq_length` characters at a time, so the state carried from one batch is the
    true context of the next. Each pass starts at a random offset so truncation
    boundaries move between epochs."""

    def __init__(self, ids: torch.Tensor, batch_size: int, seq_length: int,
                 rows: slice = slice(None)):
        self.T = seq_length
        self.L = len(ids) // batch_size
        # under DDP each rank reads its own block of the global batch's streams
        self.data = ids[: self.L * batch_size].view(batch_size, self.L)[rows]

    def batch(self, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        chunk = self.data[:, pos: pos + self.T + 1]
        return chunk[:, :-1], chunk[:, 1:]

    def fits(self, pos: int) -> bool:
        return pos + self.T + 1 <= self.L


def get_lr(frac_done: float, step: int, cfg: CharLMConfig) -> float:
    """nanoGPT's schedule: linear warmup, then cosine decay to min_lr at the end of the run
    (`frac_done` is the fraction of the step or time budget used)."""
    return cosine_lr(frac_done, step, cfg.learning_rate, cfg.min_lr, cfg.warmup_iters)


def make_optimizer(model: nn.Module, cfg: CharLMConfig) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices only (not biases or embeddings), as nanoGPT does."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith("wte")]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith("wte"))]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2))


# ---------------------------------------------------------------------------------------
# The task and the trainer
# ---------------------------------------------------------------------------------------

@dataclass
class TrainResult(ModelFileResult):
    model: nn.Module                    # trained, on the CPU, in eval mode
    vocab: Vocab
    checkpoint: dict                    # what `save` writes: everything a resumed run needs

    @property
    def lm(self) -> CharLM:
        return CharLM(self.model, self.vocab)

    def curves(self) -> dict:
        return loss_curves(self.figures["history"])

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps: validation {f['val_bpc']:.3f} bits/char "
                f"({f['val_loss']:.3f} nats), training {f['train_bpc']:.3f} bits/char, "
                f"{f['chars_per_second']:,.0f} chars/s")


def loss_curves(history: list[dict]) -> dict:
    """Training and validation loss in bits per character, as `plot_curves` takes them (and
    as a live preview: a dict with `series`)."""
    return {"series": {name: [(h["step"], h[f"{name}_loss"] / LN2) for h in history
                              if h.get(f"{name}_loss") is not None]
                       for name in ("train", "val")},
            "xlabel": "step", "ylabel": "bits per character"}


class CharTask(Task):
    """Truncated back-propagation through time over char-rnn's contiguous streams: the
    state carried from one batch is the true context of the next."""
    format, version = FORMAT, FORMAT_VERSION

    def __init__(self, data: str | bytes, env: Env, extra: dict):
        cfg = self.cfg = env.cfg
        self.env, self.extra = env, extra
        start = env.resumed or env.init   # the vocabulary of the run it continues or starts from
        self.vocab = Vocab(start["vocab"]) if start is not None else Vocab.from_data(data)
        if self.vocab.bytes_mode and isinstance(data, str):
            data = data.encode("utf-8")
        if env.init is None:
            ids = self.vocab.encode(data, "corpus")
        else:  # the model's embedding fixes its vocabulary (and bytes_mode): no new characters
            ids = self.vocab.encode(data, f"corpus (with the vocabulary of {cfg.init})",
                                    "remove or replace them in the text, or start without "
                                    "init (a new model, with the text's own vocabulary)")
        train_ids, val_ids = split_data(ids, cfg.val_frac)
        need = cfg.seq_length + 1
        if len(train_ids) < cfg.batch_size * need or len(val_ids) < need:
            raise ReverieError(
                f"the corpus ({len(ids)} characters) is shorter than one batch of sequences "
                f"({cfg.batch_size} x {need} characters for training plus {need} for "
                f"validation); give more text, or lower seq_length or batch_size")
        self.train_ids, self.val_ids = train_ids.to(env.device), val_ids.to(env.device)
        self.model = self.net = build_model(len(self.vocab), cfg).to(env.device)
        self.optimizer = make_optimizer(self.model, cfg)
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}
        self.rows = env.rows(cfg.batch_size)
        self.streams = Streams(self.train_ids, cfg.batch_size, cfg.seq_length, self.rows)
        self.local_batch = self.rows.stop - self.rows.start
        self.pos = int(torch.randint(cfg.seq_length, (1,), generator=env.gen))
        self.epoch, self.chars = 0, 0
        self.carry = self.model.init_state(self.local_batch)

    def learning_rate(self, frac_done: float, step: int) -> float:
        return get_lr(frac_done, step, self.cfg)

    def step(self, step: int) -> dict:
        cfg = self.cfg
        if not self.streams.fits(self.pos):  # end of a pass: again from a random offset
            self.pos = int(torch.randint(cfg.seq_length, (1,), generator=self.env.gen))
            self.epoch += 1
            self.carry = self.model.init_state(self.local_batch)
        x, y = self.streams.batch(self.pos)
        logits, state = self.net(x, self.carry)
        self.carry = (state[0].detach(), state[1].detach())
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimize(loss, self.optimizer, cfg.grad_clip, self.model.parameters())
        self.pos += cfg.seq_length
        self.chars += x.numel() * self.env.world.size
        return {"train_loss": loss.item()}

    def evaluate(self, final: bool) -> dict:
        # the final figure reads the whole validation split
        return {"val_loss": evaluate_ids(self.model, self.val_ids, self.cfg.batch_size,
                                         self.cfg.seq_length,
                                         max_batches=None if final else self.cfg.eval_iters)}

    def state(self) -> dict:
        # the carry is the global batch's: any number of processes takes its rows
        world = self.env.world
        return {"pos": self.pos, "epoch": self.epoch, "chars": self.chars,
                "carry": {"h": ddp.gather_rows(self.carry[0], world, 1).detach().cpu().clone(),
                          "c": ddp.gather_rows(self.carry[1], world, 1).detach().cpu().clone()}}

    def load_state(self, state: dict) -> None:
        self.pos, self.epoch, self.chars = state["pos"], state["epoch"], state["chars"]
        device = self.env.device
        self.carry = (state["carry"]["h"][:, self.rows].to(device),
                      state["carry"]["c"][:, self.rows].to(device))

    def header(self) -> dict:
        return {"vocab": self.vocab.chars, **self.extra}

    def distribute(self, wrap) -> None:
        self.net = wrap(self.model)

    def describe(self, losses: dict, figures: dict) -> str:
        val = figures.get("val_loss")
        return (f"train {losses['train_loss'] / LN2:.3f} bpc" +
                (f", val {val / LN2:.3f} bpc" if val is not None else ""))

    def preview(self, history: list[dict]):
        return loss_curves(history)  # the studio draws it live


def train_charlm(corpus=None, config: Optional[CharLMConfig] = None, *,
                 out: str | os.PathLike | None = None, text: str | bytes | None = None,
                 progress: Progress = silent, extra: dict | None = None,
                 **overrides) -> TrainResult:
    """Train a character model on `corpus`: text files, folders or `builtin:shakespeare`
    (or pass the text itself as `text=`).

    With `out`, checkpoints are written there every `checkpoint_every` steps and at the
    end (with the sidecar); `resume=True` continues the run whose checkpoint `out` is, and
    `init` starts from another model's weights and vocabulary. Config fields can be given
    as keywords: `train_charlm("builtin:shakespeare", rnn_size=256, max_steps=2000,
    out="shakespeare.pt")`. `extra` (plain containers) goes into every checkpoint, so a
    caller's records survive a kill (chat's dialogue layout).
    """
    cfg = make_config(CharLMConfig, config, **overrides)
    out = model_path(out, "model.pt")
    inputs = {"corpus": {"source": None, "note": "given in memory (text)"} if text is not None
              else record_input(corpus)}
    if not cfg.resume:  # refuse a batch that does not split before reading anything
        ddp.world().rows(cfg.batch_size)
    data = text if text is not None else read_corpus(corpus, bytes_mode=cfg.bytes_mode)
    if cfg.bytes_mode and isinstance(data, str):
        data = data.encode("utf-8")
    elif not cfg.bytes_mode and isinstance(data, bytes):
        data = decode_text(data, "the text")
    if len(data) == 0:
        raise ReverieError("the corpus is empty; give a text file with some text in it")
    run = fit(lambda env: CharTask(data, env, extra or {}), cfg, out=out,
              load=load_checkpoint, progress=progress)
    task, rec = run.task, run.record
    smooth, val = rec["losses"]["train_loss"], rec["figures"]["val_loss"]
    figures = {"steps": rec["step"],
               "epochs": task.epoch + task.pos / max(task.streams.L, 1),
               "train_loss": smooth, "val_loss": val, "train_bpc": smooth / LN2,
               "val_bpc": val / LN2,
               "chars_per_second": task.cfg.batch_size * task.cfg.seq_length
               / max(run.timings["per_step"], 1e-9),
               "params": count_params(task.model), "vocab_size": len(task.vocab),
               "train_chars": len(task.train_ids), "val_chars": len(task.val_ids),
               "history": run.history}
    result = TrainResult(task.model, task.vocab, run.checkpoint, mechanism="train_charlm",
                         figures=figures, **run.result_fields())
    return run.save(result, out, inputs)
