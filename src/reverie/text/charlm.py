"""Character-level language models: Karpathy's char-rnn, made as good as we can on a CPU.

The model, as nanoGPT's model.py is (training is `text/train.py`; the corpus and the
vocabulary are `text/corpus.py`; `text/lm.py` loads any LM and samples it). Read top to
bottom:

1. `CharLMConfig`: every knob, named as char-rnn / nanoGPT / Radford et al. name them.
2. The models: a fused multi-layer `nn.LSTM` and the multiplicative LSTM of Krause et al.
   (2016) that Radford et al. (2017) used for the sentiment neuron. Both expose `forward`
   for training (whole sequences, state carried in and out) and `step` for one character
   at a time (sampling, clamping a unit, tracing a unit).
3. Evaluation (`evaluate_text`): bits per character on held-out text, state carried.
4. Loading (`load_charlm`): the model and vocabulary a checkpoint holds. Checkpoints hold
   only tensors and plain containers, so they load with `torch.load(weights_only=True)`.
5. Generation (`generate` streams, `sample` returns the text): temperature, top-k, seed,
   argmax at temperature 0, and an optional clamp of one unit (the sentiment neuron);
   `unit_states` / `unit_trace` read what a unit does over a text.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import ConfigError, knob, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.threads import cpu_threads, one_blas_thread
from reverie.io import checkpoints
from reverie.text.cache import WINDOW, Cache, CacheStream, cached_log_probs
from reverie.text.corpus import Vocab
from reverie.train import TrainConfig, max_steps_knob

FORMAT = "reverie-charlm"
FORMAT_VERSION = 2   # 2: no wall-clock figures in the file (the same run, the same bytes)
LN2 = math.log(2.0)
MODEL_KINDS = ("lstm", "mlstm")


# ---------------------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------------------

@dataclass
class CharLMConfig(TrainConfig):
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
    wdrop: float = knob(0.0, "lstm: DropConnect on the recurrent (hidden-to-hidden) weights, "
                        "one mask per batch shared by every step: AWD-LSTM's weight drop "
                        "(Merity et al. 2017: 0.5 on PTB, 0.2 on enwik8's characters)",
                        min=0, below=1)
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
    weight_decay: float = knob(0.01, "AdamW weight decay, on matrices only", min=0, advanced=True)
    beta1: float = knob(0.9, "AdamW beta1", above=0, below=1, advanced=True)
    beta2: float = knob(0.99, "AdamW beta2", above=0, below=1, advanced=True)
    grad_clip: float = knob(1.0, "clip the gradient norm at this (0: off)", min=0)
    eval_iters: int = knob(20, "batches per estimate (the final figure reads all of it)",
                           min=1, advanced=True)
    # the shared knobs (reverie.train): max_steps, minutes, eval_every, checkpoint_every,
    # resume, init, threads, seed, device
    max_steps: int = max_steps_knob(5000)
    seed: int = seed_knob(1337)

    BUDGET_FIELDS = TrainConfig.BUDGET_FIELDS + ("eval_iters",)
    ADDED = {"weight_norm": False}   # an mlstm recorded before weight norm ran without it
    MODEL_FIELDS = ("model", "rnn_size", "num_layers", "n_embd", "weight_norm", "bytes_mode")

    def check(self) -> None:
        if self.model == "mlstm" and self.num_layers != 1:
            raise ConfigError("num_layers", "the multiplicative LSTM has one layer here; set "
                                            "num_layers to 1")
        if self.model == "mlstm" and self.wdrop:
            raise ConfigError("wdrop", "weight drop is for the lstm here; set wdrop to 0 for "
                                       "the mlstm")
        if self.min_lr > self.learning_rate:
            raise ConfigError("min_lr", f"{self.min_lr} is above learning_rate "
                                        f"({self.learning_rate}); the decay ends below its peak")


# ---------------------------------------------------------------------------------------
# 2. Models
# ---------------------------------------------------------------------------------------

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (num_layers, batch, rnn_size)


class LSTMLM(nn.Module):
    """Embedding -> multi-layer LSTM (fused, cuDNN/oneDNN) -> linear decoder.

    Dropout (Zaremba et al. 2014) on the non-recurrent connections: after the embedding,
    between layers and before the decoder; and, with `wdrop`, DropConnect on the recurrent
    weights while training (Merity et al. 2017), which keeps the fused kernel: the masked
    matrices are handed to the same nn.LSTM for one call.
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
        y, state = self.hidden(idx, state)
        return self.head(self.drop(y)), state

    def hidden(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """idx (B, T) -> the top layer's states (B, T, H), which the decoder reads."""
        x = self.drop(self.wte(idx))
        if self.training and self.cfg.wdrop > 0:
            weights = {n: F.dropout(w, self.cfg.wdrop) if n.startswith("weight_hh") else w
                       for n, w in self.rnn.named_parameters()}
            return torch.func.functional_call(self.rnn, weights, (x, state))
        return self.rnn(x, state)

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
        y, state = self.hidden(idx, state)
        return self.head(self.drop(y)), state

    def hidden(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        xs = self.wx(self.drop(self.wte(idx)))            # (B, T, 5H)
        weights = self.cell_weights()                      # once per pass, not per character
        h, c = state[0][0], state[1][0]
        ys = []
        for t in range(idx.shape[1]):
            h, c = self._cell(xs[:, t], h, c, weights=weights)
            ys.append(h)
        return torch.stack(ys, dim=1), (h[None], c[None])

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


# ---------------------------------------------------------------------------------------
# 3. Evaluation
# ---------------------------------------------------------------------------------------

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


def evaluate_text(model: nn.Module, vocab: Vocab, text: str | bytes, batch_size: int = 16,
                  seq_length: int = 256, cache: Optional[Cache] = None,
                  window: int = WINDOW) -> dict:
    """Bits and nats per character of `text` under the model (state carried). With a
    `cache` (even one at lambda 0, the like-for-like baseline), the text is read as one
    stream and the continuous cache over the last `window` states is mixed in."""
    ids = vocab.encode(text, "text to evaluate")
    if len(ids) < 2:
        raise ReverieError("the text to evaluate is too short; give at least a few characters")
    if window < 1:
        raise ConfigError("cache_window", f"must be at least 1, got {window}")
    with cpu_threads():
        if cache is None:
            nats = evaluate_ids(model, ids, batch_size, seq_length)
        else:
            nats = _cached_nats(model, ids, cache, window, batch_size * seq_length)
    return {"nats_per_char": nats, "bits_per_char": nats / LN2, "chars": len(ids)}


@torch.no_grad()
def _cached_nats(model: nn.Module, ids: torch.Tensor, cache: Cache, window: int,
                 segment: int) -> float:
    """One stream, `segment` characters at a time with the state carried; each segment
    is scored with the last `window` states before it still in the cache."""
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    state, kept = model.init_state(1), np.zeros((0, model.cfg.rnn_size), np.float32)
    total, T = 0.0, len(ids) - 1               # state t has read ids[t] and predicts ids[t + 1]
    for a in range(0, T, segment):
        b = min(T, a + segment)
        hidden, state = model.hidden(ids[None, a:b].to(dev), state)
        log_probs = F.log_softmax(model.head(hidden)[0].float(), dim=-1).cpu().numpy()
        hidden = np.concatenate([kept, hidden[0].float().cpu().numpy()])
        start = len(kept)                       # the kept states cover positions a - start..a-1
        log_probs = np.concatenate([np.zeros((start, log_probs.shape[1])), log_probs])
        mixed = cached_log_probs(log_probs, hidden, ids[a - start:b + 1].numpy(), cache,
                                 start=start, window=window)
        total -= mixed[np.arange(b - a), ids[a + 1:b + 1].numpy()].sum()
        kept = hidden[-window:]
    model.train(was_training)
    return float(total / T)


# ---------------------------------------------------------------------------------------
# 4. Loading
# ---------------------------------------------------------------------------------------

def load_checkpoint(path: str | os.PathLike) -> dict:
    return checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a Reverie character model", "use a model made by `reverie text train`")


def config_from_dict(d: dict) -> CharLMConfig:
    return checkpoints.saved_config(CharLMConfig, d)


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
# 5. Generation
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


def _start_ids(vocab: Vocab, prime: str) -> list[int]:
    if not prime:  # start as if after a line break (or the first character the model knows)
        prime = "\n" if vocab.bytes_mode or "\n" in vocab.stoi else vocab.chars[0]
    return vocab.encode(prime, "prime").tolist()


def read_prime(stepper: Stepper, vocab: Vocab, prime: str, batch: int = 1,
               clamp: Optional[Clamp] = None, memory: Optional[CacheStream] = None):
    """Run the model over the prime; return the logits after it and the state. A cache's
    `memory` gets each state with the prime's character that followed it."""
    state = stepper.init_state(batch)
    logits = None
    for k, i in enumerate(_start_ids(vocab, prime)):
        ids = np.full(batch, i)
        if memory is not None and k:
            memory.add(state[0][-1], ids)
        logits, state = stepper.step(ids, state, clamp)
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
             clamp: Optional[Clamp] = None, num_samples: int = 1,
             cache: Optional[Cache] = None) -> Iterator[list[str]]:
    """Stream `num_samples` continuations of `prime` side by side: yields, per character
    step, the list of new text pieces (one per sample). Same seed, same text; argmax at
    temperature 0; `clamp` holds one unit at a value at every step; `cache` mixes in the
    continuous cache over the prime and the text so far (`reverie.text.cache`)."""
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
        memory = (CacheStream(cache, num_samples, stepper.head_b.shape[0])
                  if cache is not None and cache.on else None)
        logits, state = read_prime(stepper, vocab, prime, num_samples, clamp, memory)
        decoders = [vocab.decoder() for _ in range(num_samples)]
        for _ in range(length):
            if memory is not None:
                logits = memory.predict(logits, state[0][-1])
            nxt = _pick(logits, temperature, top_k, rng)
            yield [d(i) for d, i in zip(decoders, nxt.tolist())]
            if memory is not None:
                memory.add(state[0][-1], nxt)
            logits, state = stepper.step(nxt, state, clamp)


def sample(model: nn.Module, vocab: Vocab, prime: str = "", length: int = 1000,
           temperature: float = 0.8, top_k: Optional[int] = None, seed: int = 0,
           clamp: Optional[Clamp] = None, num_samples: int = 1,
           on_text: Optional[Callable[[str], None]] = None,
           progress: Progress = silent, cache: Optional[Cache] = None) -> list[str]:
    """The continuations (prime not included) as strings; `on_text` gets the first
    sample's text as it is made (streaming)."""
    outs = [[] for _ in range(num_samples)]
    for n, pieces in enumerate(generate(model, vocab, prime, length, temperature, top_k, seed,
                                        clamp, num_samples, cache), start=1):
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
