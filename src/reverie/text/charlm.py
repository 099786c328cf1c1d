"""Character-level language models: Karpathy's char-rnn, made as good as we can on a CPU.

Read top to bottom:

1. `CharLMConfig`: every knob, named as char-rnn / nanoGPT / Radford et al. name them.
2. Corpus reading (`read_corpus`) and the vocabulary (`Vocab`: characters, or raw bytes
   with `bytes_mode=True`).
3. The models: a fused multi-layer `nn.LSTM` and the multiplicative LSTM of Krause et al.
   (2016) that Radford et al. (2017) used for the sentiment neuron. Both expose `forward`
   for training (whole sequences, state carried in and out) and `step` for one character
   at a time (sampling, clamping a unit, tracing a unit).
4. Training (`train`): AdamW with linear warmup and cosine decay (nanoGPT's schedule),
   gradient clipping, truncated back-propagation through time with the state carried
   across batches (char-rnn's contiguous streams), the last 10% held out for validation,
   a wall-clock budget (`minutes`), and checkpoints that hold everything needed to resume
   a killed run exactly (model, optimiser, data position, carried state, vocabulary,
   configuration, RNG state). Checkpoints hold only tensors and plain containers, so they
   load with `torch.load(weights_only=True)`.
5. Evaluation (`evaluate_text`): bits per character on held-out text, state carried.
6. Sampling (`generate` streams, `sample` returns the text): temperature, top-k, seed,
   argmax at temperature 0, and an optional clamp of one unit (the sentiment neuron).
"""
from __future__ import annotations

import codecs
import contextlib
import math
import os
import pickle
import time
import warnings
import zipfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.errors import ReverieError
from reverie.io.images import atomic_path, check_writable
from reverie.core.progress import Progress, silent

FORMAT = "reverie-charlm"
FORMAT_VERSION = 1
LN2 = math.log(2.0)


# ---------------------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------------------

@dataclass
class CharLMConfig:
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
    model: str = "lstm"          # "lstm" (fused nn.LSTM) or "mlstm" (Krause et al.)
    rnn_size: int = 512          # char-rnn's name for the hidden size
    num_layers: int = 1
    n_embd: int = 64             # character embedding size (Radford et al.: 64)
    dropout: float = 0.3         # on the embedding, between layers and before the decoder
    weight_norm: bool = True     # mlstm: weight normalisation on its matrices (Radford et al.'s `wn`)
    # data
    bytes_mode: bool = False     # raw UTF-8 bytes (any encoding, any language) instead of characters
    val_frac: float = 0.1        # the last 10% is held out, as nanoGPT does
    seq_length: int = 64         # truncated BPTT length (char-rnn's seq_length)
    batch_size: int = 32         # contiguous streams read in parallel
    # optimisation (nanoGPT's names)
    learning_rate: float = 5e-3
    min_lr: float = 5e-4
    warmup_iters: int = 100
    max_iters: int = 5000        # ignored when `minutes` is set
    minutes: Optional[float] = None  # wall-clock budget instead of a step count
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    # bookkeeping
    eval_interval: int = 250     # estimate validation loss every N steps
    eval_iters: int = 20         # batches in each estimate (the final figure uses all of it)
    checkpoint_every: int = 500  # checkpoint every N steps (and always at the end)
    seed: int = 1337
    threads: Optional[int] = None  # torch threads (default: torch's choice)

    def validate(self) -> None:
        if self.model not in ("lstm", "mlstm"):
            raise ReverieError(f"unknown model '{self.model}'; use --model lstm or --model mlstm")
        for name in ("rnn_size", "num_layers", "n_embd", "seq_length", "batch_size",
                     "eval_interval", "eval_iters", "checkpoint_every", "max_iters"):
            if getattr(self, name) < 1:
                raise ReverieError(f"{name} must be at least 1, got {getattr(self, name)}; "
                                   f"give --{name.replace('_', '-')} 1 or more")
        if not 0 <= self.dropout < 1:
            raise ReverieError(f"dropout must be in [0, 1), got {self.dropout}; give --dropout 0.2")
        if not 0 < self.val_frac < 0.5:
            raise ReverieError(f"val_frac must be in (0, 0.5), got {self.val_frac}; give --val-frac 0.1")
        if self.model == "mlstm" and self.num_layers != 1:
            raise ReverieError("the multiplicative LSTM has one layer here; give --num-layers 1")
        if self.minutes is not None and not self.minutes > 0:
            raise ReverieError(f"--minutes must be above 0, got {self.minutes}")
        if not self.learning_rate > 0 or self.min_lr < 0:
            raise ReverieError("learning rates must be positive; check --learning-rate and --min-lr")


# ---------------------------------------------------------------------------------------
# 2. Corpus and vocabulary
# ---------------------------------------------------------------------------------------

def corpus_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Files named, and every non-hidden file under folders named (sorted)."""
    files: list[Path] = []
    if not paths:
        raise ReverieError("no corpus given; name one or more text files or folders")
    for p in map(Path, paths):
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


def read_corpus(paths: Sequence[str | os.PathLike] | str | os.PathLike,
                bytes_mode: bool = False) -> str | bytes:
    """The text of the corpus files concatenated: a str, or bytes with `bytes_mode`.

    A file that is not UTF-8 text (or holds NUL bytes) is refused unless `bytes_mode`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    parts = []
    for f in corpus_files(paths):
        raw = f.read_bytes()
        if bytes_mode:
            parts.append(raw)
            continue
        if b"\x00" in raw[:1 << 20]:
            raise ReverieError(f"{f} looks binary (it holds NUL bytes); train on raw bytes with "
                               f"--bytes, or give a text file")
        try:
            parts.append(raw.decode("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"))
        except UnicodeDecodeError as exc:
            raise ReverieError(f"{f} is not UTF-8 text (byte {exc.start}); train on raw bytes "
                               f"with --bytes, or convert it to UTF-8") from None
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
                               f"({shown}); remove them, or train with --bytes") from None

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

    def _cell(self, xt: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
              clamp: Optional["Clamp"] = None) -> State:
        H = self.cfg.rnn_size
        m = xt[:, :H] * self.wmh(h)
        ig, fg, og, ug = (xt[:, H:] + self.wm(m)).chunk(4, dim=1)
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
        h, c = state[0][0], state[1][0]
        ys = []
        for t in range(idx.shape[1]):
            h, c = self._cell(xs[:, t], h, c)
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
    cfg.validate()
    return MODELS[cfg.model](vocab_size, cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------
# 4. Training
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

    def __init__(self, ids: torch.Tensor, batch_size: int, seq_length: int):
        self.T = seq_length
        self.L = len(ids) // batch_size
        self.data = ids[: self.L * batch_size].view(batch_size, self.L)

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


def free_cores() -> int:
    """Cores not already busy with other work (load average), at least 1.

    Measured on a loaded 2-core machine: when another process holds a core, a 2-thread
    LSTM step waits at every OpenMP barrier and runs 2-4x *slower* than on one thread."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return cores
    return max(1, min(cores, cores - int(round(load))))


@contextlib.contextmanager
def cpu_threads(threads: Optional[int] = None) -> Iterator[int]:
    """Run a block on `threads` torch threads (default: the free cores), then restore."""
    before = torch.get_num_threads()
    n = threads or free_cores()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def _checkpoint(model, optimizer, vocab: Vocab, cfg: CharLMConfig, run: dict,
                state: State, gen: torch.Generator) -> dict:
    """Everything a run needs to continue: tensors and plain containers only."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION,
            "config": asdict(cfg), "vocab": vocab.chars, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "run": dict(run),
            "carry": {"h": state[0].detach().clone(), "c": state[1].detach().clone()},
            "rng": {"torch": torch.get_rng_state(), "data": gen.get_state()}}


def save_checkpoint(ckpt: dict, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load and check a Reverie character-model checkpoint (weights_only: no code runs)."""
    path = Path(path)
    if not path.exists():
        raise ReverieError(f"model not found: {path}; train one with `reverie text train`")
    if path.is_dir():
        raise ReverieError(f"{path} is a folder; give a model file made by `reverie text train`")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles; we raise our own error
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ReverieError(f"{path} holds objects a model file must not (a tampered or foreign "
                           f"pickle); use a model made by `reverie text train`") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, AttributeError):
        raise ReverieError(f"{path} is not a readable model file (damaged or another format); "
                           f"use a model made by `reverie text train`") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ReverieError(f"{path} is not a Reverie character model (a checkpoint from another "
                           f"model?); use a model made by `reverie text train`")
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise ReverieError(f"{path} was made by a newer Reverie; upgrade with pip install -U reverie")
    return ckpt


def config_from_dict(d: dict) -> CharLMConfig:
    names = {f.name for f in fields(CharLMConfig)}
    d = {"weight_norm": False, **d}  # checkpoints from before the option had none
    return CharLMConfig(**{k: v for k, v in d.items() if k in names})


def load_model(path: str | os.PathLike) -> tuple[nn.Module, Vocab, dict]:
    """A trained model (in eval mode), its vocabulary and the checkpoint dict."""
    ckpt = load_checkpoint(path)
    try:
        cfg = config_from_dict(ckpt["config"])
        vocab = Vocab(ckpt["vocab"])
        model = build_model(len(vocab), cfg)
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, TypeError, AttributeError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"retrain it with `reverie text train`") from None
    model.eval()
    return model, vocab, ckpt


def train(corpus: Sequence[str | os.PathLike] | str | os.PathLike | str, out: str | os.PathLike,
          config: Optional[CharLMConfig] = None, resume: bool = False,
          progress: Progress = silent, log: Optional[Callable[[str], None]] = None,
          text: Optional[str | bytes] = None) -> dict:
    """Train a character model on `corpus` (files/folders; or pass `text` directly) and
    write checkpoints to `out`. With `resume`, continue the run whose checkpoint is `out`.

    Returns the figures: steps, train/val loss in nats and bits per character, characters
    per second, seconds, parameter count.
    """
    cfg = config or CharLMConfig()
    cfg.validate()
    out = check_writable(out)
    with cpu_threads(cfg.threads) as threads:  # the free cores (restored afterwards)
        return _train(corpus, out, cfg, resume, progress, log, text, threads)


def _train(corpus, out: Path, cfg: CharLMConfig, resume: bool, progress: Progress,
           log: Optional[Callable[[str], None]], text: Optional[str | bytes], threads: int) -> dict:
    if text is None:
        text = read_corpus(corpus, bytes_mode=cfg.bytes_mode)
    elif cfg.bytes_mode and isinstance(text, str):
        text = text.encode("utf-8")
    if len(text) == 0:
        raise ReverieError("the corpus is empty; give a text file with some text in it")

    ckpt = None
    if resume:
        if not out.exists():
            raise ReverieError(f"nothing to resume: {out} does not exist; drop --resume to start a new run")
        ckpt = load_checkpoint(out)
        saved = config_from_dict(ckpt["config"])
        # the model and data layout come from the checkpoint; budgets may be changed
        for name in ("max_iters", "minutes", "eval_interval", "eval_iters", "checkpoint_every", "threads"):
            setattr(saved, name, getattr(cfg, name))
        cfg = saved
        vocab = Vocab(ckpt["vocab"])
        if cfg.bytes_mode and isinstance(text, str):
            text = text.encode("utf-8")
    else:
        vocab = Vocab.from_data(text)

    ids = vocab.encode(text, "corpus")
    train_ids, val_ids = split_data(ids, cfg.val_frac)
    need = cfg.seq_length + 1
    if len(train_ids) < cfg.batch_size * need or len(val_ids) < need:
        raise ReverieError(
            f"the corpus ({len(ids)} characters) is shorter than one batch of sequences "
            f"({cfg.batch_size} x {need} characters for training plus {need} for validation); "
            f"give more text, or lower --seq-length / --batch-size")

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build_model(len(vocab), cfg)
    optimizer = make_optimizer(model, cfg)
    streams = Streams(train_ids, cfg.batch_size, cfg.seq_length)
    run = {"step": 0, "pos": int(torch.randint(cfg.seq_length, (1,), generator=gen)), "epoch": 0,
           "seconds": 0.0, "chars": 0, "train_loss": None, "val_loss": None, "history": []}
    state = model.init_state(cfg.batch_size)
    if ckpt is not None:
        try:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, KeyError, ValueError, TypeError):
            raise ReverieError(f"{out} does not match its configuration; start again without --resume") from None
        run.update(ckpt["run"])
        state = (ckpt["carry"]["h"], ckpt["carry"]["c"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        gen.set_state(ckpt["rng"]["data"])
        if log:
            log(f"resuming {out} at step {run['step']}")

    budget_s = cfg.minutes * 60.0 if cfg.minutes else None
    total = cfg.max_iters if budget_s is None else None

    def frac_done() -> float:
        if budget_s is not None:
            return run["seconds"] / budget_s
        return run["step"] / cfg.max_iters

    def done() -> bool:
        return frac_done() >= 1.0

    def checkpoint() -> None:
        save_checkpoint(_checkpoint(model, optimizer, vocab, cfg, run, state, gen), out)

    model.train()
    smooth = run["train_loss"]
    started = time.perf_counter()
    t_last = started
    while not done():
        lr = get_lr(frac_done(), run["step"], cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if not streams.fits(run["pos"]):  # end of a pass: start again at a random offset
            run["pos"] = int(torch.randint(cfg.seq_length, (1,), generator=gen))
            run["epoch"] += 1
            state = model.init_state(cfg.batch_size)
        x, y = streams.batch(run["pos"])
        logits, state = model(x, state)
        state = (state[0].detach(), state[1].detach())
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        run["pos"] += cfg.seq_length
        run["step"] += 1
        run["chars"] += x.numel()
        now = time.perf_counter()
        run["seconds"] += now - t_last
        t_last = now
        lv = loss.item()
        smooth = lv if smooth is None else 0.95 * smooth + 0.05 * lv
        run["train_loss"] = smooth
        if run["step"] % cfg.eval_interval == 0:
            run["val_loss"] = evaluate_ids(model, val_ids, cfg.batch_size, cfg.seq_length,
                                           max_batches=cfg.eval_iters)
            run["history"].append({"step": run["step"], "seconds": round(run["seconds"], 1),
                                   "train_loss": smooth, "val_loss": run["val_loss"]})
            t_last = time.perf_counter()  # evaluation time does not count against the budget
        if run["step"] % cfg.checkpoint_every == 0:
            checkpoint()
            t_last = time.perf_counter()
        rate = run["chars"] / max(run["seconds"], 1e-9)
        msg = (f"train {smooth / LN2:.3f} bpc" +
               (f", val {run['val_loss'] / LN2:.3f} bpc" if run["val_loss"] is not None else "") +
               f", {rate:,.0f} chars/s")
        if budget_s is not None:
            progress(int(run["seconds"]), int(budget_s), msg)
        else:
            progress(run["step"], total, msg)

    # the final figure uses the whole validation split
    run["val_loss"] = evaluate_ids(model, val_ids, cfg.batch_size, cfg.seq_length)
    run["history"].append({"step": run["step"], "seconds": round(run["seconds"], 1),
                           "train_loss": smooth, "val_loss": run["val_loss"]})
    checkpoint()
    return {"steps": run["step"], "epochs": run["epoch"] + run["pos"] / max(streams.L, 1),
            "train_loss": run["train_loss"], "val_loss": run["val_loss"],
            "train_bpc": run["train_loss"] / LN2 if run["train_loss"] is not None else None,
            "val_bpc": run["val_loss"] / LN2, "seconds": run["seconds"],
            "wall_seconds": time.perf_counter() - started,
            "chars_per_second": run["chars"] / max(run["seconds"], 1e-9),
            "params": count_params(model), "vocab_size": len(vocab), "threads": threads,
            "train_chars": len(train_ids), "val_chars": len(val_ids),
            "config": asdict(cfg), "history": run["history"]}


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
        raise ReverieError(f"temperature must be 0 or more, got {temperature}; 0 means argmax")
    if top_k is not None and top_k < 1:
        raise ReverieError(f"top-k must be at least 1, got {top_k}")
    if clamp is not None and not 0 <= clamp.unit < model.cfg.rnn_size:
        raise ReverieError(f"unit {clamp.unit} is out of range; the model has units "
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
           on_text: Optional[Callable[[str], None]] = None) -> list[str]:
    """The continuations (prime not included) as strings; `on_text` gets the first
    sample's text as it is made (streaming)."""
    outs = [[] for _ in range(num_samples)]
    for pieces in generate(model, vocab, prime, length, temperature, top_k, seed, clamp, num_samples):
        for o, p in zip(outs, pieces):
            o.append(p)
        if on_text is not None and pieces[0]:
            on_text(pieces[0])
    return ["".join(o) for o in outs]


@torch.inference_mode()
def unit_trace(model: nn.Module, vocab: Vocab, text: str, unit: int, what: str = "c"
               ) -> tuple[list[str], list[float]]:
    """Each character of `text` and one top-layer unit's value just after reading it."""
    if not 0 <= unit < model.cfg.rnn_size:
        raise ReverieError(f"unit {unit} is out of range; the model has units 0..{model.cfg.rnn_size - 1}")
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
            values.append(float((state[1] if what == "c" else state[0])[-1, 0, unit]))
    if vocab.bytes_mode:
        # one piece per byte; a multi-byte character shows on its last byte
        pieces, dec = [], vocab.decoder()
        for i in ids.tolist():
            pieces.append(dec(i))
        return pieces, values
    return [vocab.chars[i] for i in ids.tolist()], values


# Names under which reverie/__init__.py exports these (unambiguous beside other mechanisms).
train_charlm = train
load_charlm = load_model
sample_text = sample
