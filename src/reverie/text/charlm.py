"""Character-level language models: Karpathy's char-rnn, made as good as we can on a CPU.

Read top to bottom:

1. `CharLMConfig`: every knob, named as char-rnn / nanoGPT / Radford et al. name them.
2. The corpus (`read_corpus`: files, folders or `builtin:shakespeare`) and the vocabulary
   (`Vocab`: characters, or raw bytes with `bytes_mode`).
3. The models: a fused multi-layer `nn.LSTM` and the multiplicative LSTM of Krause et al.
   (2016) that Radford et al. (2017) used for the sentiment neuron. Both expose `forward`
   for training (whole sequences, state carried in and out) and `step` for one character
   at a time (sampling, clamping a unit, tracing a unit).
4. Training (`train_charlm`): AdamW with linear warmup and cosine decay (nanoGPT's
   schedule), gradient clipping, truncated back-propagation through time with the state
   carried across batches (char-rnn's contiguous streams), the last 10% held out, and
   checkpoints that hold everything needed to resume a killed run exactly (model,
   optimiser, data position, carried state, vocabulary, configuration, RNG state). They
   hold only tensors and plain containers, so they load with `torch.load(weights_only=True)`.
   `load_charlm` gives back the model and vocabulary alone.
5. Evaluation (`evaluate_text`): bits per character on held-out text, state carried.
6. Sampling (`generate` streams, `sample` returns the text; `sample_text` is the
   mechanism): temperature, top-k, seed, argmax at temperature 0, and an optional clamp
   of one unit (the sentiment neuron).
"""
from __future__ import annotations

import codecs
import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.core.threads import cpu_threads, free_cores  # noqa: F401 (re-exported)
from reverie.io import checkpoints
from reverie.io.checkpoints import ModelFileResult, save_checkpoint
from reverie.io.files import check_writable, save_text
from reverie.scale import ddp

FORMAT = "reverie-charlm"
FORMAT_VERSION = 2   # 2: no wall-clock figures in the file (the same run, the same bytes)
LN2 = math.log(2.0)
MODEL_KINDS = ("lstm", "mlstm")


# ---------------------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------------------

@dataclass
class CharLMConfig(Config):
    """Every knob of a character model and its training run.

    Defaults: a 1-layer 512-unit LSTM with dropout 0.3 on its input and output (Zaremba
    et al.), sequences of 64 characters in batches of 32, AdamW at 5e-3 with 100 warmup
    steps and cosine decay to a tenth, gradients clipped at 1.0. Chosen by measurement
    (bench/charlm.py, 10 minutes on 2 idle cores, tiny-shakespeare): this reaches 1.470
    nats/char at 18k characters/s, where a 256-unit model with dropout 0.1 reached 1.509
    and an unregularised 512-unit one overfits (training 0.97, validation 1.51). Shorter
    sequences give more updates per character read. For budgets of a few minutes a
    256-unit model learns faster (the gallery uses one).
    """
    # model
    model: str = knob("lstm", "lstm (fused nn.LSTM) or mlstm (the multiplicative LSTM of "
                      "Krause et al. that Radford et al. used)", choices=MODEL_KINDS)
    rnn_size: int = knob(512, "hidden units per layer (char-rnn's rnn_size)", min=1)
    num_layers: int = knob(1, "stacked recurrent layers (mlstm: 1)", min=1)
    n_embd: int = knob(64, "character embedding size (Radford et al.: 64)", min=1)
    dropout: float = knob(0.3, "dropout on the embedding, between layers and before the "
                          "decoder (Zaremba et al.)", min=0, below=1)
    weight_norm: bool = knob(True, "mlstm: weight normalisation on its matrices (Radford "
                             "et al.'s wn)")
    # data
    bytes_mode: bool = knob(False, "model raw UTF-8 bytes (any file, any language) instead "
                            "of characters", flag="bytes")
    val_frac: float = knob(0.1, "the last part of the corpus, held out for validation "
                           "(nanoGPT: 0.1)", above=0, below=0.5)
    seq_length: int = knob(64, "characters per truncated back-propagation segment "
                           "(char-rnn's seq_length)", min=1)
    batch_size: int = knob(32, "contiguous streams read side by side", min=1)
    # optimisation (nanoGPT's names)
    learning_rate: float = knob(5e-3, "peak AdamW learning rate", above=0)
    min_lr: float = knob(5e-4, "learning rate at the end of the cosine decay", min=0)
    warmup_iters: int = knob(100, "steps of linear learning-rate warmup", min=0)
    max_iters: int = knob(5000, "training steps: the budget (ignored when minutes is set)", min=1)
    minutes: Optional[float] = knob(None, "train for this wall-clock time instead of "
                                    "max_iters (the model then depends on the machine's "
                                    "speed)", above=0, unit="minutes")
    weight_decay: float = knob(0.01, "AdamW weight decay, on matrices only", min=0, advanced=True)
    beta1: float = knob(0.9, "AdamW beta1", above=0, below=1, advanced=True)
    beta2: float = knob(0.99, "AdamW beta2", above=0, below=1, advanced=True)
    grad_clip: float = knob(1.0, "clip the gradient norm at this (0: off)", min=0)
    # bookkeeping
    eval_interval: int = knob(250, "estimate the validation loss every N steps", min=1,
                              advanced=True)
    eval_iters: int = knob(20, "batches per estimate (the final figure reads all of it)",
                           min=1, advanced=True)
    checkpoint_every: int = knob(500, "write a checkpoint every N steps (and at the end), so "
                                 "a killed run can resume", min=1, advanced=True)
    resume: bool = knob(False, "continue the run whose checkpoint is the output file (after a "
                        "kill, or to train on with a larger max_iters)")
    threads: Optional[int] = knob(None, "torch CPU threads (auto: $REVERIE_THREADS if set, "
                                  "else the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob(1337)
    device: str = device_knob()

    def check(self) -> None:
        if self.model == "mlstm" and self.num_layers != 1:
            raise ConfigError("num_layers", "the multiplicative LSTM has one layer here; set "
                                            "num_layers to 1")
        if self.min_lr > self.learning_rate:
            raise ConfigError("min_lr", f"{self.min_lr} is above learning_rate "
                                        f"({self.learning_rate}); the decay ends below its peak")


# Fields a resumed run takes from the new config; the rest (model, data, optimiser) come
# from the checkpoint.
BUDGET_FIELDS = ("max_iters", "minutes", "eval_interval", "eval_iters", "checkpoint_every",
                 "threads", "device")


# ---------------------------------------------------------------------------------------
# 2. Corpus and vocabulary
# ---------------------------------------------------------------------------------------

def _sources(corpus) -> list[str]:
    if corpus is None or (isinstance(corpus, (list, tuple)) and not corpus):
        raise ReverieError("no corpus given; name text files, folders or builtin:shakespeare")
    return [os.fspath(c) for c in (corpus if isinstance(corpus, (list, tuple)) else [corpus])]


def corpus_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Files named, and every non-hidden file under folders named (sorted)."""
    files: list[Path] = []
    for p in map(Path, _sources(paths)):
        if not p.exists():
            raise ReverieError(f"corpus not found: {p}; check the path")
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise ReverieError(f"corpus folder {p} has no files; put text files in it")
            files.extend(found)
        else:
            files.append(p)
    return files


def _builtin_bytes(name: str) -> bytes:
    """The text of a `builtin:NAME` set (tiny-shakespeare, or a corpus set's files)."""
    from reverie.io import datasets
    ds = datasets.get(name)
    if ds.kind == "text":
        return datasets.read_text(name).encode("utf-8")
    if ds.kind == "labelled":
        raise ReverieError(f"builtin:{ds.name} is a labelled set, not a corpus; write its texts "
                           f"as one with `reverie sentiment corpus`, then train on that file")
    # running text (GCIDE, the KJV, Lee): read as `words train` reads it, markup removed
    from reverie.words.corpus import resolve_sources, source_paragraphs
    source = resolve_sources([f"builtin:{ds.name}"])[0]
    return "\n\n".join(source_paragraphs(source)).encode("utf-8")


def _decode(raw: bytes, where: str) -> str:
    if b"\x00" in raw[:1 << 20]:
        raise ReverieError(f"{where} looks binary (it holds NUL bytes); train on raw bytes "
                           f"(bytes_mode), or give a text file")
    try:
        return raw.decode("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as exc:
        raise ReverieError(f"{where} is not UTF-8 text (byte {exc.start}); train on raw bytes "
                           f"(bytes_mode), or convert it to UTF-8") from None


def read_corpus(corpus, bytes_mode: bool = False) -> str | bytes:
    """The text of the corpus concatenated: files, folders and `builtin:NAME`, as a str,
    or bytes with `bytes_mode`. A file that is not UTF-8 text is refused unless `bytes_mode`."""
    parts = []
    for source in _sources(corpus):
        if source.startswith("builtin:"):
            raws = [(_builtin_bytes(source), source)]
        else:
            raws = [(f.read_bytes(), str(f)) for f in corpus_files([source])]
        for raw, where in raws:
            parts.append(raw if bytes_mode else _decode(raw, where))
    data = b"".join(parts) if bytes_mode else "".join(parts)
    if len(data) == 0:
        raise ReverieError("the corpus is empty; give a text file with some text in it")
    return data


class Vocab:
    """Characters <-> ids. `chars` is None in bytes mode (ids are the 256 byte values)."""

    def __init__(self, chars: Optional[Sequence[str]] = None):
        self.chars = list(chars) if chars is not None else None
        self.stoi = {c: i for i, c in enumerate(self.chars)} if self.chars is not None else None

    @classmethod
    def from_data(cls, data: str | bytes) -> "Vocab":
        return cls(None) if isinstance(data, bytes) else cls(sorted(set(data)))

    @property
    def bytes_mode(self) -> bool:
        return self.chars is None

    def __len__(self) -> int:
        return 256 if self.chars is None else len(self.chars)

    def encode(self, data: str | bytes, what: str = "text") -> torch.Tensor:
        if self.chars is None:
            raw = data.encode("utf-8") if isinstance(data, str) else data
            return torch.frombuffer(bytearray(raw), dtype=torch.uint8).long() if raw else torch.zeros(0, dtype=torch.long)
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="replace")
        try:
            return torch.tensor([self.stoi[c] for c in data], dtype=torch.long)
        except KeyError:
            missing = sorted({c for c in data if c not in self.stoi})
            shown = " ".join(repr(c) for c in missing[:10])
            raise ReverieError(f"the {what} has {len(missing)} character(s) the model never saw "
                               f"({shown}); remove them, or train on raw bytes (bytes_mode)") from None

    def decode(self, ids: Sequence[int]) -> str:
        if self.chars is None:
            return bytes(int(i) for i in ids).decode("utf-8", errors="replace")
        return "".join(self.chars[int(i)] for i in ids)

    def decoder(self) -> Callable[[int], str]:
        """An incremental decoder: feed one id at a time, get the text completed so far."""
        if self.chars is None:
            dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
            return lambda i: dec.decode(bytes([int(i)]))
        return lambda i: self.chars[int(i)]


# ---------------------------------------------------------------------------------------
# 3. Models
# ---------------------------------------------------------------------------------------

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (num_layers, batch, rnn_size)


class LSTMLM(nn.Module):
    """Embedding -> multi-layer LSTM (fused, cuDNN/oneDNN) -> linear decoder.

    Dropout (Zaremba et al. 2014) on the non-recurrent connections only: after the
    embedding, between layers and before the decoder.
    """

    def __init__(self, vocab_size: int, cfg: CharLMConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.rnn = nn.LSTM(cfg.n_embd, cfg.rnn_size, cfg.num_layers, batch_first=True,
                           dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.head = nn.Linear(cfg.rnn_size, vocab_size)
        with torch.no_grad():  # forget-gate bias 1 (Jozefowicz et al. 2015): remembers from step one
            for layer in range(cfg.num_layers):
                getattr(self.rnn, f"bias_ih_l{layer}")[cfg.rnn_size:2 * cfg.rnn_size].fill_(1.0)

    def init_state(self, batch: int) -> State:
        z = torch.zeros(self.cfg.num_layers, batch, self.cfg.rnn_size, device=self.head.weight.device)
        return z, z.clone()

    def forward(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """idx (B, T) -> logits (B, T, V) and the state after the last character."""
        x = self.drop(self.wte(idx))
        y, state = self.rnn(x, state)
        return self.head(self.drop(y)), state

    def layer_weights(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        return [(getattr(self.rnn, f"weight_ih_l{i}"), getattr(self.rnn, f"weight_hh_l{i}"),
                 getattr(self.rnn, f"bias_ih_l{i}") + getattr(self.rnn, f"bias_hh_l{i}"))
                for i in range(self.cfg.num_layers)]

    def step(self, idx: torch.Tensor, state: State, clamp: Optional["Clamp"] = None,
             table: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, State]:
        """One character per stream: idx (B,) -> logits (B, V). Inference only.

        `table` (V, 4H) is the first layer's input projection of every character,
        precomputed by `step_table()` (one row lookup instead of two matmuls; the weights
        it caches are used with it). `clamp` overwrites one unit of the top layer's cell
        (or hidden) state at every step.
        """
        h, c = state
        hs, cs = [], []
        weights = self._step_weights if table is not None else self.layer_weights()
        H = self.cfg.rnn_size
        x = None
        for i, (w_ih, w_hh, b) in enumerate(weights):
            if i == 0:
                pre = table[idx] if table is not None else F.embedding(idx, self.wte.weight) @ w_ih.T + b
            else:
                pre = torch.addmm(b, x, w_ih.T)
            gates = torch.addmm(pre, h[i], w_hh.T)
            sig = torch.sigmoid(gates)              # i, f, (g), o in PyTorch's order
            ci = sig[:, H:2 * H] * c[i] + sig[:, :H] * torch.tanh(gates[:, 2 * H:3 * H])
            top = i == len(weights) - 1
            if top and clamp is not None and clamp.what == "c":
                ci[:, clamp.unit] = clamp.value
            hi = sig[:, 3 * H:] * torch.tanh(ci)
            if top and clamp is not None and clamp.what == "h":
                hi[:, clamp.unit] = clamp.value
            hs.append(hi)
            cs.append(ci)
            x = hi
        return self.head(x), (torch.stack(hs), torch.stack(cs))

    def step_table(self) -> torch.Tensor:
        self._step_weights = [(w_ih.detach(), w_hh.detach(), b.detach()) for w_ih, w_hh, b in self.layer_weights()]
        w_ih, _, b = self._step_weights[0]
        return self.wte.weight.detach() @ w_ih.T + b


class MLSTMLM(nn.Module):
    """The multiplicative LSTM (Krause et al. 2016), as Radford et al. used it.

        m_t = (W_mx x_t) * (W_mh h_{t-1})
        i, f, o, u = W_x x_t + W_m m_t + b   (u: the candidate, tanh)
        c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(u);   h_t = sigmoid(o) tanh(c_t)

    The input projections of a whole sequence are one matmul; the recurrence is a loop.
    """

    def __init__(self, vocab_size: int, cfg: CharLMConfig):
        super().__init__()
        self.cfg = cfg
        H = cfg.rnn_size
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.wx = nn.Linear(cfg.n_embd, 5 * H)            # [m-part | i f o u]
        self.wmh = nn.Linear(H, H, bias=False)
        self.wm = nn.Linear(H, 4 * H, bias=False)
        self.head = nn.Linear(H, vocab_size)
        with torch.no_grad():
            self.wx.bias[2 * H:3 * H].fill_(1.0)          # forget-gate bias 1
        if cfg.weight_norm:
            # each output unit's weights as a direction times a learned length (Salimans &
            # Kingma), as in Radford et al.'s mLSTM: the product m = (W_mx x)(W_mh h) is
            # otherwise free to grow until training diverges
            from torch.nn.utils.parametrizations import weight_norm
            for name in ("wx", "wmh", "wm"):
                setattr(self, name, weight_norm(getattr(self, name)))

    def init_state(self, batch: int) -> State:
        z = torch.zeros(1, batch, self.cfg.rnn_size, device=self.head.weight.device)
        return z, z.clone()

    def cell_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """W_mh and W_m, for one pass over a sequence: with weight norm each read builds the
        matrix afresh (and keeps it for backward), so a loop that read them at every
        character would build a copy per character."""
        return self.wmh.weight, self.wm.weight

    def _cell(self, xt: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
              clamp: Optional["Clamp"] = None,
              weights: Optional[tuple[torch.Tensor, torch.Tensor]] = None) -> State:
        H = self.cfg.rnn_size
        w_mh, w_m = weights if weights is not None else self.cell_weights()
        m = xt[:, :H] * F.linear(h, w_mh)
        ig, fg, og, ug = (xt[:, H:] + F.linear(m, w_m)).chunk(4, dim=1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(ig) * torch.tanh(ug)
        if clamp is not None and clamp.what == "c":
            c = c.clone()
            c[:, clamp.unit] = clamp.value
        h = torch.sigmoid(og) * torch.tanh(c)
        if clamp is not None and clamp.what == "h":
            h[:, clamp.unit] = clamp.value
        return h, c

    def forward(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        xs = self.wx(self.drop(self.wte(idx)))            # (B, T, 5H)
        weights = self.cell_weights()                      # once per pass, not per character
        h, c = state[0][0], state[1][0]
        ys = []
        for t in range(idx.shape[1]):
            h, c = self._cell(xs[:, t], h, c, weights=weights)
            ys.append(h)
        y = torch.stack(ys, dim=1)
        return self.head(self.drop(y)), (h[None], c[None])

    def step(self, idx: torch.Tensor, state: State, clamp: Optional["Clamp"] = None,
             table: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, State]:
        xt = table[idx] if table is not None else self.wx(self.wte(idx))
        h, c = self._cell(xt, state[0][0], state[1][0], clamp)
        return self.head(h), (h[None], c[None])

    def step_table(self) -> torch.Tensor:
        return self.wx(self.wte.weight)


MODELS = {"lstm": LSTMLM, "mlstm": MLSTMLM}


@dataclass
class Clamp:
    """Hold one unit of the top layer at `value` at every step (`what`: "c" cell, "h" hidden)."""
    unit: int
    value: float
    what: str = "c"


def build_model(vocab_size: int, cfg: CharLMConfig) -> nn.Module:

    return MODELS[cfg.model](vocab_size, cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


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
    if step < cfg.warmup_iters:
        return cfg.learning_rate * (step + 1) / (cfg.warmup_iters + 1)
    frac = min(max(frac_done, 0.0), 1.0)
    coeff = 0.5 * (1.0 + math.cos(math.pi * frac))
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)


def make_optimizer(model: nn.Module, cfg: CharLMConfig) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices only (not biases or embeddings), as nanoGPT does."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith("wte")]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith("wte"))]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2))


@torch.no_grad()
def evaluate_ids(model: nn.Module, ids: torch.Tensor, batch_size: int = 32,
                 seq_length: int = 256, max_batches: Optional[int] = None) -> float:
    """Mean nats per character of `ids`, read as `batch_size` contiguous streams with the
    state carried (every character but the first of each stream is scored)."""
    was_training = model.training
    model.eval()
    batch_size = max(1, min(batch_size, (len(ids) - 1) // 2))
    L = (len(ids) - 1) // batch_size
    if L < 1:
        raise ReverieError("the text to evaluate is too short; give at least a few characters")
    x_all = ids[: L * batch_size].view(batch_size, L)
    y_all = ids[1: L * batch_size + 1].view(batch_size, L)
    state = model.init_state(batch_size)
    total, count = 0.0, 0
    for b, pos in enumerate(range(0, L, seq_length)):
        if max_batches is not None and b >= max_batches:
            break
        x, y = x_all[:, pos: pos + seq_length], y_all[:, pos: pos + seq_length]
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                 reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    return total / count


# ---------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike) -> dict:
    return checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a Reverie character model", "use a model made by `reverie text train`")


def config_from_dict(d: dict) -> CharLMConfig:
    return checkpoints.saved_config(CharLMConfig, d, weight_norm=False)


class CharLM(NamedTuple):
    """A trained character model (eval mode, on the CPU) and its vocabulary."""
    model: nn.Module
    vocab: Vocab


def load_charlm(path: str | os.PathLike) -> CharLM:
    """The model and vocabulary a `text train` checkpoint holds, apart from its training
    state (optimiser, data position, RNG)."""
    ckpt = load_checkpoint(path)
    try:
        cfg = config_from_dict(ckpt["config"])
        vocab = Vocab(ckpt["vocab"])
        with torch.random.fork_rng(devices=[]):  # building draws initial weights: not ours to move
            model = build_model(len(vocab), cfg)
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, TypeError, AttributeError, ReverieError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"retrain it with `reverie text train`") from None
    model.eval()
    return CharLM(model, vocab)


# ---------------------------------------------------------------------------------------
# 4. Training
# ---------------------------------------------------------------------------------------

@dataclass
class TrainResult(ModelFileResult):
    model: nn.Module                    # trained, on the CPU, in eval mode
    vocab: Vocab
    checkpoint: dict                    # what `save` writes: everything a resumed run needs

    @property
    def lm(self) -> CharLM:
        return CharLM(self.model, self.vocab)

    def explain(self, folder: Path) -> dict[str, Path]:
        from reverie.io.figures import plot_curves
        return {"loss curves": plot_curves(**loss_curves(self.figures["history"]),
                                           path=Path(folder) / "loss-curves.png")}

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


def _seeded(seed: int, device: torch.device) -> None:
    """Seed the default generators that dropout and weight initialisation draw from. Only
    called inside `torch.random.fork_rng`, which puts the process's state back after."""
    torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())
    if device.type == "cuda":
        torch.cuda.set_rng_state(torch.Generator(device).manual_seed(seed).get_state(), device)


def _checkpoint(model, optimizer, vocab: Vocab, cfg: CharLMConfig, run: dict,
                state: State, gen: torch.Generator, device: torch.device) -> dict:
    """Everything a run needs to continue: tensors and plain containers only."""
    rng = {"torch": torch.get_rng_state(), "data": gen.get_state()}
    if device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return {"format": FORMAT, "format_version": FORMAT_VERSION,
            "config": cfg.replace(resume=False).to_dict(), "vocab": vocab.chars,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(), "run": dict(run),
            "carry": {"h": state[0].detach().cpu().clone(), "c": state[1].detach().cpu().clone()},
            "rng": rng}


def train_charlm(corpus=None, config: Optional[CharLMConfig] = None, *,
                 out: str | os.PathLike | None = None, text: str | bytes | None = None,
                 progress: Progress = silent, extra: dict | None = None,
                 **overrides) -> TrainResult:
    """Train a character model on `corpus`: text files, folders or `builtin:shakespeare`
    (or pass the text itself as `text=`).

    With `out`, checkpoints are written there every `checkpoint_every` steps and at the
    end (with the sidecar); `resume=True` continues the run whose checkpoint `out` is.
    Config fields can be given as keywords: `train_charlm("builtin:shakespeare",
    rnn_size=256, max_iters=2000, out="shakespeare.pt")`. `extra` (plain containers) goes
    into every checkpoint, so a caller's records survive a kill (chat's dialogue layout).
    """
    cfg = make_config(CharLMConfig, config, **overrides)
    if out is not None:
        out = Path(out)
        out = check_writable(out if out.suffix else out.with_suffix(TrainResult.suffixes[0]))
        if out.suffix.lower() == ".json":
            raise ReverieError(f"{out} would collide with its JSON sidecar; give a .pt name "
                               f"such as model.pt")
    inputs = {"corpus": {"source": None, "note": "given in memory (text)"} if text is not None
              else record_input(corpus)}
    from reverie.core.device import resolve_device
    world = ddp.world()
    created = world.distributed and not torch.distributed.is_initialized()
    device = ddp.init(world, resolve_device(cfg.device))
    if not cfg.resume:  # refuse a batch that does not split before reading anything
        world.rows(cfg.batch_size)
    if (ddp.restarted() and out is not None and out.exists() and not cfg.resume
            and load_checkpoint(out)["run"].get("elastic_run") == ddp.run_id()):
        cfg = cfg.replace(resume=True)  # an elastic restart continues its own checkpoint
    data = text if text is not None else read_corpus(corpus, bytes_mode=cfg.bytes_mode)
    if cfg.bytes_mode and isinstance(data, str):
        data = data.encode("utf-8")
    elif not cfg.bytes_mode and isinstance(data, bytes):
        data = _decode(data, "the text")
    if len(data) == 0:
        raise ReverieError("the corpus is empty; give a text file with some text in it")
    # processes sharing a machine share its cores
    threads = cfg.threads or max(1, free_cores() // world.local_size)
    try:
        with cpu_threads(threads) as threads, \
                torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            # what `auto` became is part of the run (and of the checkpoint's bytes)
            result = _train(data, out, cfg.replace(threads=threads, device=str(device)),
                            device, progress if world.main else silent, world, extra or {})
    finally:
        if created:
            ddp.close(world)
    result.inputs = inputs
    result.resolved.update({"device": str(device), "threads": threads})
    if world.distributed:
        result.resolved["processes"] = world.size
    if out is not None and world.main:
        result.save(out)
    return result


def _train(data: str | bytes, out: Optional[Path], cfg: CharLMConfig, device: torch.device,
           progress: Progress, world: ddp.World = ddp.World(),
           extra: dict | None = None) -> TrainResult:
    notes: list[str] = []
    # the model and data layout come from the checkpoint; budgets may be changed
    ckpt, cfg, changed = checkpoints.resume_checkpoint(cfg, out, load_checkpoint,
                                                       config_from_dict, BUDGET_FIELDS)
    if ckpt is not None:
        vocab = Vocab(ckpt["vocab"])
        if cfg.bytes_mode and isinstance(data, str):
            data = data.encode("utf-8")
        notes.append(f"resumed from {out.name} at step {ckpt['run']['step']}" +
                     (f", with a new {' and '.join(changed)}: the learning-rate schedule "
                      f"changed mid-run, so a fresh run will not make this model" if changed
                      else "; the same model as an uninterrupted run"))
    else:
        vocab = Vocab.from_data(data)

    ids = vocab.encode(data, "corpus")
    train_ids, val_ids = split_data(ids, cfg.val_frac)
    need = cfg.seq_length + 1
    if len(train_ids) < cfg.batch_size * need or len(val_ids) < need:
        raise ReverieError(
            f"the corpus ({len(ids)} characters) is shorter than one batch of sequences "
            f"({cfg.batch_size} x {need} characters for training plus {need} for validation); "
            f"give more text, or lower seq_length or batch_size")
    train_ids, val_ids = train_ids.to(device), val_ids.to(device)

    _seeded(cfg.seed, device)
    gen = torch.Generator().manual_seed(cfg.seed)  # data offsets
    model = build_model(len(vocab), cfg).to(device)
    optimizer = make_optimizer(model, cfg)
    rows = world.rows(cfg.batch_size)
    streams = Streams(train_ids, cfg.batch_size, cfg.seq_length, rows)
    local_batch = rows.stop - rows.start
    run = {"step": 0, "pos": int(torch.randint(cfg.seq_length, (1,), generator=gen)), "epoch": 0,
           "chars": 0, "train_loss": None, "val_loss": None, "history": [],
           "elastic_run": ddp.run_id()}
    state = model.init_state(local_batch)
    elapsed = 0.0  # training seconds, for a `minutes` budget (kept in the file only then)
    if ckpt is not None:
        try:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, KeyError, ValueError, TypeError):
            raise ReverieError(f"{out} does not match its configuration; start again without "
                               f"resume") from None
        run.update(ckpt["run"])
        elapsed = float(run.pop("seconds", 0.0))
        # the carry is the global batch's: any number of processes takes its rows
        state = (ckpt["carry"]["h"][:, rows].to(device), ckpt["carry"]["c"][:, rows].to(device))
        torch.set_rng_state(ckpt["rng"]["torch"])
        if device.type == "cuda" and "cuda" in ckpt["rng"]:
            torch.cuda.set_rng_state(ckpt["rng"]["cuda"], device)
        gen.set_state(ckpt["rng"]["data"])

    if world.rank > 0:  # dropout: rank 0 keeps the single-process stream, the others their own
        _seeded(cfg.seed + 1_000_003 * world.rank + run["step"], device)
    net = ddp.wrap(model, world, device)
    budget_s = cfg.minutes * 60.0 if cfg.minutes else None

    def frac_done() -> float:
        return elapsed / budget_s if budget_s is not None else run["step"] / cfg.max_iters

    def checkpoint() -> dict:
        """Called by every rank at the same step: the carry is gathered from all of them."""
        record = dict(run, seconds=elapsed) if budget_s is not None else run
        carry = (ddp.gather_rows(state[0], world, 1), ddp.gather_rows(state[1], world, 1))
        return {**_checkpoint(model, optimizer, vocab, cfg, record, carry, gen, device),
                **(extra or {})}

    model.train()
    smooth = run["train_loss"]
    session_chars, session_steps, session_seconds = 0, 0, 0.0
    started = time.perf_counter()
    t_last = started
    while frac_done() < 1.0:
        lr = get_lr(frac_done(), run["step"], cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if not streams.fits(run["pos"]):  # end of a pass: start again at a random offset
            run["pos"] = int(torch.randint(cfg.seq_length, (1,), generator=gen))
            run["epoch"] += 1
            state = model.init_state(local_batch)
        x, y = streams.batch(run["pos"])
        logits, state = net(x, state)
        state = (state[0].detach(), state[1].detach())
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        run["pos"] += cfg.seq_length
        run["step"] += 1
        run["chars"] += x.numel() * world.size
        now = time.perf_counter()
        # ranks agree on the loss of the global batch and on the time used (the budget)
        lv, elapsed = ddp.average([loss.item(), elapsed + now - t_last], world, device)
        session_seconds += now - t_last
        session_chars += x.numel() * world.size
        session_steps += 1
        smooth = lv if smooth is None else 0.95 * smooth + 0.05 * lv
        run["train_loss"] = smooth
        if run["step"] % cfg.eval_interval == 0:
            run["val_loss"] = evaluate_ids(model, val_ids, cfg.batch_size, cfg.seq_length,
                                           max_batches=cfg.eval_iters)
            run["history"].append({"step": run["step"], "train_loss": smooth,
                                   "val_loss": run["val_loss"]})
            show_preview(progress, loss_curves(run["history"]))  # the studio draws it live
        if out is not None and run["step"] % cfg.checkpoint_every == 0:
            ckpt = checkpoint()
            if world.main:
                save_checkpoint(ckpt, out)
        t_last = time.perf_counter()  # evaluation and checkpoints do not count against a budget
        rate = session_chars / max(session_seconds, 1e-9)
        msg = (f"train {smooth / LN2:.3f} bpc" +
               (f", val {run['val_loss'] / LN2:.3f} bpc" if run["val_loss"] is not None else "") +
               f", {rate:,.0f} chars/s")
        if budget_s is not None:
            progress(int(elapsed), int(budget_s), msg)
        else:
            progress(run["step"], cfg.max_iters, msg)

    # the final figure reads the whole validation split
    run["val_loss"] = evaluate_ids(model, val_ids, cfg.batch_size, cfg.seq_length)
    run["history"].append({"step": run["step"], "train_loss": smooth, "val_loss": run["val_loss"]})
    ckpt = checkpoint()
    ddp.finish(world)  # the last collective of the run: let gloo's threads settle before exit
    model.cpu().eval()
    wall = time.perf_counter() - started
    figures = {"steps": run["step"], "epochs": run["epoch"] + run["pos"] / max(streams.L, 1),
               "train_loss": smooth, "val_loss": run["val_loss"],
               "train_bpc": smooth / LN2 if smooth is not None else None,
               "val_bpc": run["val_loss"] / LN2,
               "chars_per_second": session_chars / max(session_seconds, 1e-9),
               "params": count_params(model), "vocab_size": len(vocab),
               "train_chars": len(train_ids), "val_chars": len(val_ids),
               "history": run["history"]}
    deterministic = budget_s is None and not changed
    if world.distributed and cfg.dropout > 0:
        deterministic = False
        notes.append(f"trained on {world.size} processes with dropout: each draws its own "
                     f"masks, so one process (or another count) makes a different model; with "
                     f"dropout 0 they make the same one")
    if budget_s is not None:
        notes.append(f"trained for a wall-clock budget ({cfg.minutes:g} minutes, {run['step']} "
                     f"steps here): the model depends on this machine's speed, so a rerun "
                     f"makes a different one; set max_iters for a repeatable run")
    return TrainResult(model, vocab, ckpt, mechanism="train_charlm", config=cfg.replace(resume=False),
                       figures=figures, notes=notes, deterministic=deterministic,
                       timings={"train": wall, "per_step": session_seconds / max(1, session_steps)})


# ---------------------------------------------------------------------------------------
# 5. Evaluation
# ---------------------------------------------------------------------------------------

def evaluate_text(model: nn.Module, vocab: Vocab, text: str | bytes, batch_size: int = 16,
                  seq_length: int = 256) -> dict:
    """Bits and nats per character of `text` under the model (state carried)."""
    ids = vocab.encode(text, "text to evaluate")
    if len(ids) < 2:
        raise ReverieError("the text to evaluate is too short; give at least a few characters")
    with cpu_threads():
        nats = evaluate_ids(model, ids, batch_size, seq_length)
    return {"nats_per_char": nats, "bits_per_char": nats / LN2, "chars": len(ids)}


# ---------------------------------------------------------------------------------------
# 6. Sampling
# ---------------------------------------------------------------------------------------

class Stepper:
    """The trained model as NumPy arrays, stepping one character per stream.

    Sampling reads one character at a time, where each torch call costs more in overhead
    than its arithmetic; the same recurrence in NumPy runs several times faster (measured:
    about 250 us vs 80 us per character for 256 units). Matches `model.step` (tested).
    """

    def __init__(self, model: nn.Module):
        self.kind = model.cfg.model
        self.H = model.cfg.rnn_size
        with torch.no_grad():
            table = model.step_table()
            f = lambda t: t.detach().float().numpy().copy()  # noqa: E731
            self.table = f(table)
            if self.kind == "lstm":
                self.layers = [(f(w_ih.T), f(w_hh.T), f(b)) for w_ih, w_hh, b in model._step_weights]
            else:
                self.wmh = f(model.wmh.weight.T)
                self.wm = f(model.wm.weight.T)
            self.head_w = f(model.head.weight.T)
            self.head_b = f(model.head.bias)
        self.num_layers = len(self.layers) if self.kind == "lstm" else 1

    def init_state(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        z = np.zeros((self.num_layers, batch, self.H), dtype=np.float32)
        return z, z.copy()

    @staticmethod
    def _sigmoid(x: np.ndarray) -> np.ndarray:
        return 0.5 * np.tanh(0.5 * x) + 0.5  # = 1 / (1 + exp(-x)), without overflow

    def step(self, idx: np.ndarray, state, clamp: Optional["Clamp"] = None):
        """idx (B,) ints -> logits (B, V) and the new state ((L, B, H), (L, B, H))."""
        h, c = state
        H = self.H
        hs, cs = [], []
        if self.kind == "lstm":
            x = None
            for i, (w_ih, w_hh, b) in enumerate(self.layers):
                pre = self.table[idx] if i == 0 else x @ w_ih + b
                gates = pre + h[i] @ w_hh
                sig = self._sigmoid(gates)
                ci = sig[:, H:2 * H] * c[i] + sig[:, :H] * np.tanh(gates[:, 2 * H:3 * H])
                top = i == self.num_layers - 1
                if top and clamp is not None and clamp.what == "c":
                    ci[:, clamp.unit] = clamp.value
                hi = sig[:, 3 * H:] * np.tanh(ci)
                if top and clamp is not None and clamp.what == "h":
                    hi[:, clamp.unit] = clamp.value
                hs.append(hi)
                cs.append(ci)
                x = hi
        else:
            xt = self.table[idx]
            m = xt[:, :H] * (h[0] @ self.wmh)
            gates = xt[:, H:] + m @ self.wm          # i f o u
            sig = self._sigmoid(gates[:, :3 * H])
            ci = sig[:, H:2 * H] * c[0] + sig[:, :H] * np.tanh(gates[:, 3 * H:])
            if clamp is not None and clamp.what == "c":
                ci[:, clamp.unit] = clamp.value
            hi = sig[:, 2 * H:3 * H] * np.tanh(ci)
            if clamp is not None and clamp.what == "h":
                hi[:, clamp.unit] = clamp.value
            hs.append(hi)
            cs.append(ci)
            x = hi
        return x @ self.head_w + self.head_b, (np.stack(hs), np.stack(cs))


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """NumPy's BLAS on one thread: a matrix-vector product per character is too small to
    share, and on a busy machine a second thread only waits (measured: 40x slower)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, run as configured
        yield
        return
    with threadpool_limits(limits=1):
        yield


def _start_ids(vocab: Vocab, prime: str) -> list[int]:
    if not prime:  # start as if after a line break (or the first character the model knows)
        prime = "\n" if vocab.bytes_mode or "\n" in vocab.stoi else vocab.chars[0]
    return vocab.encode(prime, "prime").tolist()


def read_prime(stepper: Stepper, vocab: Vocab, prime: str, batch: int = 1,
               clamp: Optional[Clamp] = None):
    """Run the model over the prime; return the logits after it and the state."""
    state = stepper.init_state(batch)
    logits = None
    for i in _start_ids(vocab, prime):
        logits, state = stepper.step(np.full(batch, i), state, clamp)
    return logits, state


def _pick(logits: np.ndarray, temperature: float, top_k: Optional[int],
          rng: np.random.Generator) -> np.ndarray:
    """Next ids (B,): argmax at temperature 0, else a draw from softmax(logits / T),
    restricted to the k likeliest with top-k."""
    if temperature <= 0:
        return logits.argmax(axis=-1)
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z = np.where(z >= kth, z, -np.inf)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    cdf = np.cumsum(p, axis=-1)
    u = rng.random(len(z))[:, None] * cdf[:, -1:]
    return np.minimum((cdf < u).sum(axis=-1), z.shape[-1] - 1)


def generate(model: nn.Module, vocab: Vocab, prime: str = "", length: int = 1000,
             temperature: float = 0.8, top_k: Optional[int] = None, seed: int = 0,
             clamp: Optional[Clamp] = None, num_samples: int = 1
             ) -> Iterator[list[str]]:
    """Stream `num_samples` continuations of `prime` side by side: yields, per character
    step, the list of new text pieces (one per sample). Same seed, same text; argmax at
    temperature 0; `clamp` holds one unit at a value at every step."""
    if temperature < 0:
        raise ConfigError("temperature", f"must be 0 or more, got {temperature}; 0 means argmax")
    if top_k is not None and top_k < 1:
        raise ConfigError("top_k", f"must be at least 1, got {top_k}")
    if clamp is not None and not 0 <= clamp.unit < model.cfg.rnn_size:
        raise ConfigError("unit", f"{clamp.unit} is out of range; the model has units "
                           f"0..{model.cfg.rnn_size - 1}")
    model.eval()
    stepper = Stepper(model)
    rng = np.random.default_rng(seed)
    with one_blas_thread():  # (held while the caller consumes the stream, restored at the end)
        logits, state = read_prime(stepper, vocab, prime, num_samples, clamp)
        decoders = [vocab.decoder() for _ in range(num_samples)]
        for _ in range(length):
            nxt = _pick(logits, temperature, top_k, rng)
            yield [d(i) for d, i in zip(decoders, nxt.tolist())]
            logits, state = stepper.step(nxt, state, clamp)


def sample(model: nn.Module, vocab: Vocab, prime: str = "", length: int = 1000,
           temperature: float = 0.8, top_k: Optional[int] = None, seed: int = 0,
           clamp: Optional[Clamp] = None, num_samples: int = 1,
           on_text: Optional[Callable[[str], None]] = None,
           progress: Progress = silent) -> list[str]:
    """The continuations (prime not included) as strings; `on_text` gets the first
    sample's text as it is made (streaming)."""
    outs = [[] for _ in range(num_samples)]
    for n, pieces in enumerate(generate(model, vocab, prime, length, temperature, top_k, seed,
                                        clamp, num_samples), start=1):
        for o, p in zip(outs, pieces):
            o.append(p)
        if on_text is not None and pieces[0]:
            on_text(pieces[0])
        if n % 100 == 0 or n == length:
            progress(n, length, "sampling")
            show_preview(progress, "".join(outs[0]))  # the text as it is sampled
    return ["".join(o) for o in outs]


@torch.inference_mode()
def unit_trace(model: nn.Module, vocab: Vocab, text: str, unit: int, what: str = "c"
               ) -> tuple[list[str], list[float]]:
    """Each character of `text` and one top-layer unit's value just after reading it."""
    if not 0 <= unit < model.cfg.rnn_size:
        raise ConfigError("unit", f"{unit} is out of range; the model has units 0..{model.cfg.rnn_size - 1}")
    pieces, states = unit_states(model, vocab, text, what)
    return pieces, [float(v) for v in states[:, unit]]


def unit_states(model: nn.Module, vocab: Vocab, text: str, what: str = "c"
                ) -> tuple[list[str], np.ndarray]:
    """Each character (or byte) of `text` and every top-layer unit's value just after
    reading it: an array of (characters, units)."""
    model.eval()
    ids = vocab.encode(text, "text to trace")
    if len(ids) == 0:
        raise ReverieError("the text to trace is empty; give some text")
    stepper = Stepper(model)
    state = stepper.init_state(1)
    values = []
    with one_blas_thread():
        for i in ids.tolist():
            _, state = stepper.step(np.array([i]), state)
            values.append(np.array((state[1] if what == "c" else state[0])[-1, 0], dtype=np.float32))
    values = np.stack(values)
    if vocab.bytes_mode:
        # one piece per byte; a multi-byte character shows on its last byte
        pieces, dec = [], vocab.decoder()
        for i in ids.tolist():
            pieces.append(dec(i))
        return pieces, values
    return [vocab.chars[i] for i in ids.tolist()], values


# ---------------------------------------------------------------------------------------
# 7. The sampling mechanism: a model file in, a text file out
# ---------------------------------------------------------------------------------------

@dataclass
class SampleConfig(Config):
    prime: str = knob("", "text to start from; the samples continue it")
    length: int = knob(1000, "characters to generate per sample", min=1)
    temperature: float = knob(0.8, "softmax temperature: lower is safer and duller; 0 is "
                              "argmax", min=0)
    top_k: Optional[int] = knob(None, "draw only among the k likeliest characters (none: "
                                "all)", min=1)
    num_samples: int = knob(1, "independent samples", min=1)
    seed: int = seed_knob()


@dataclass
class SampleResult(Result):
    texts: list[str]                    # each sample's continuation (prime not included)
    prime: str = ""
    lm: Any = field(default=None, repr=False)   # the model that wrote them, for `explain`

    suffixes = (".txt",)

    def write(self, path: Path) -> dict[str, Path]:
        return {"text": save_text(self.as_text(), path)}

    def explain(self, folder: Path) -> dict[str, Path]:
        """Karpathy's unit trace of the first sample, for the unit whose output moves most
        over it: what the network was keeping track of as it wrote."""
        if not isinstance(self.lm, CharLM) or not self.texts:
            return {}
        from reverie.text.trace import write_trace_page
        text = (self.prime + self.texts[0])[:2000]
        pieces, states = unit_states(self.lm.model, self.lm.vocab, text, "h")
        unit = int(states.std(axis=0).argmax())
        return {"unit trace": write_trace_page(
            Path(folder) / "unit-trace.html", pieces, states[:, unit].tolist(),
            title=f"unit {unit} (h), the one that changes most over this sample")}

    def as_text(self) -> str:
        return "\n\n".join(self.prime + t for t in self.texts) + "\n"

    def summary(self) -> str:
        first = (self.prime + self.texts[0]).strip().splitlines() if self.texts else []
        preview = (first[0][:60] + "...") if first else ""
        return (f"{len(self.texts)} sample(s) of {sum(map(len, self.texts)) // max(1, len(self.texts))}"
                f" characters ({self.figures.get('chars_per_second', 0):,.0f} chars/s): {preview}")


def load_lm(path: str | os.PathLike):
    """A `text train` model (CharLM) or a `text ngram` model (NGramLM), by what the file holds."""
    from reverie.text.ngram import NGramLM
    p = Path(path)
    if not p.exists():
        raise ReverieError(f"model not found: {p}; train one with `reverie text train` or "
                           f"`reverie text ngram`")
    if p.is_file():
        with open(p, "rb") as f:
            if f.read(64).lstrip().startswith(b"{"):
                return NGramLM.load(p)
    return load_charlm(p)


def as_lm(model):
    """A model input as a CharLM or NGramLM: a path, or something already loaded."""
    from reverie.text.ngram import NGramLM, NGramResult
    if isinstance(model, (str, os.PathLike)):
        return load_lm(model)
    if isinstance(model, TrainResult):
        return model.lm
    if isinstance(model, NGramResult):
        return model.model
    if isinstance(model, (CharLM, NGramLM)):
        return model
    if isinstance(model, tuple) and len(model) >= 2 and isinstance(model[0], nn.Module):
        return CharLM(model[0], model[1])
    raise ReverieError(f"a model is a file `reverie text train` or `text ngram` wrote, or one "
                       f"loaded with load_charlm; got {type(model).__name__}")


def record_model(model) -> dict:
    """The sidecar's record of a model input (a file, or one handed over in memory)."""
    if isinstance(model, (str, os.PathLike)):
        return record_input(model)
    return {"source": None, "note": f"given in memory ({type(model).__name__})"}


def sample_text(model, config: Optional[SampleConfig] = None, *, progress: Progress = silent,
                on_text: Optional[Callable[[str], None]] = None, **overrides) -> SampleResult:
    """Generate text from a trained model: a `.pt` from `text train`, a `.json` n-gram from
    `text ngram`, or a loaded one. The same seed gives the same text; `on_text` receives
    the first sample as it is made."""
    cfg = make_config(SampleConfig, config, **overrides)
    inputs = {"model": record_model(model)}
    lm = as_lm(model)
    start = time.perf_counter()
    if isinstance(lm, CharLM):
        kind = "charlm"
        texts = sample(lm.model, lm.vocab, cfg.prime, cfg.length, cfg.temperature, cfg.top_k,
                       cfg.seed, None, cfg.num_samples, on_text=on_text, progress=progress)
    else:
        kind = "ngram"
        texts = []
        for i in range(cfg.num_samples):  # one stream per sample, seeds seed, seed+1, ...
            texts.append(lm.sample(cfg.prime, cfg.length, cfg.temperature, cfg.top_k,
                                   cfg.seed + i, on_text=on_text if i == 0 else None))
            progress(i + 1, cfg.num_samples, "sampling")
    seconds = time.perf_counter() - start
    return SampleResult(texts, cfg.prime, lm, mechanism="sample_text", config=cfg, inputs=inputs,
                        figures={"kind": kind, "characters": cfg.length * cfg.num_samples,
                                 "chars_per_second": cfg.length * cfg.num_samples / max(seconds, 1e-9)},
                        timings={"sample": seconds})
