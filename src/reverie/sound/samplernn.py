"""SampleRNN (Mehri et al. 2017), the two-tier model of its code (two_tier.py): a frame-level
GRU reads the sound a frame of frame_size samples at a time, and a sample-level MLP
predicts each 8-bit mu-law sample from the frame_size samples before it and the GRU's
conditioning for its position in the frame.

    frame tier:  frame k (floats) -> Linear -> GRU (dim) -> Linear -> frame_size vectors
                 that condition the samples of frame k + 1
    sample tier: embed(previous frame_size samples) -> Linear (a frame_size-wide conv)
                 + conditioning -> ReLU -> Linear -> ReLU -> Linear -> ReLU -> 256 logits

Knob names follow the code (frame_size, dim, emb_size, q_levels). The GRU starts from a
learned h0 on every training segment (the code carries the state across segments: TBPTT).
Generation runs the frame tier once a frame and the sample tier once a sample; the
embedding and the first layer fold into one table per position, so a sample costs
frame_size row lookups and three small matrix-vector products.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reverie.sound.data import density_logit, dequantise, level_log_widths

Q_LEVELS = 256


class SampleRNN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        FS, D = cfg.frame_size, cfg.dim
        self.frame_size = FS
        self.frame_in = nn.Linear(FS, D)
        self.gru = nn.GRU(D, D, batch_first=True)
        self.h0 = nn.Parameter(torch.zeros(1, 1, D))
        self.frame_out = nn.Linear(D, FS * D)        # one conditioning vector per position
        self.embed = nn.Embedding(Q_LEVELS, cfg.emb_size)
        self.sample_in = nn.Linear(FS * cfg.emb_size, D, bias=False)
        self.mlp1 = nn.Linear(D, D)
        self.mlp2 = nn.Linear(D, D)
        self.out = nn.Linear(D, Q_LEVELS)

    @property
    def receptive_field(self) -> int:
        """A start needs one whole frame; the GRU then reads as much as it is given."""
        return self.frame_size

    def frames(self, q: torch.Tensor, h=None):
        """(B, K*FS) levels -> conditioning (B, K*FS, dim) for the K frames after them."""
        B = q.shape[0]
        x = dequantise(q).reshape(B, -1, self.frame_size)
        h = self.h0.expand(1, B, -1).contiguous() if h is None else h
        y, h = self.gru(self.frame_in(x), h)
        return self.frame_out(y).reshape(B, -1, self.gru.hidden_size), h

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """(B, FS + L) levels -> (B, 256, L) logits for samples FS .. FS + L - 1."""
        FS = self.frame_size
        L = q.shape[1] - FS
        cond, _ = self.frames(q[:, :L])
        prev = q[:, :-1].unfold(1, FS, 1)                        # (B, L, FS): x[t-FS:t]
        e = self.embed(prev).flatten(2)                          # (B, L, FS*emb)
        h = F.relu(self.sample_in(e) + cond)
        h = F.relu(self.mlp2(F.relu(self.mlp1(h))))
        return self.out(h).transpose(1, 2)


def loss(net: SampleRNN, q: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy (nats) of samples frame_size .. end, whole frames (`net` may be
    wrapped for DDP); of those `mask` (B, T - frame_size) marks, if given."""
    from reverie.sound.wavenet import masked_mean
    FS = getattr(net, "module", net).frame_size
    L = (q.shape[1] - FS) // FS * FS
    q = q[:, : FS + L]
    return masked_mean(F.cross_entropy(net(q), q[:, FS:], reduction="none"),
                       None if mask is None else mask[:, :L])


def sample_logits(logits: np.ndarray, temperature: float, rng: np.random.Generator,
                  top_p: float = 1.0, density: bool = False) -> np.ndarray:
    """One draw per row from softmax(logits / temperature) cut to its top_p nucleus (the
    likeliest levels holding top_p of the mass); argmax at temperature 0. With density,
    of the amplitude's density instead of the levels' probabilities (as WaveNet's)."""
    logw = level_log_widths(logits.shape[1]) if density else None
    if density:
        logits = density_logit(logits, logw, temperature)
        temperature = temperature if temperature <= 0 else 1.0      # tempered already
    if temperature <= 0:
        return logits.argmax(1)
    z = logits / temperature
    p = np.exp(z - z.max(1, keepdims=True))
    if top_p < 1:
        order = np.argsort(-z if logw is None else logw - z, 1)   # densest: z - log w
        sp = np.take_along_axis(p, order, 1)
        c = np.cumsum(sp, 1)
        keep = c - sp < top_p * c[:, -1:]             # up to and including the crossing
        c = np.cumsum(sp * keep, 1)
        u = rng.random(len(c))[:, None] * c[:, -1:]
        k = np.minimum((c < u).sum(1), keep.sum(1) - 1)
        return order[np.arange(len(k)), k]
    c = np.cumsum(p, 1)
    u = rng.random(len(c))[:, None] * c[:, -1:]
    return np.minimum((c < u).sum(1), logits.shape[1] - 1)


@torch.no_grad()
def generate(net: SampleRNN, start: np.ndarray, n: int, temperature: float,
             rng: np.random.Generator, top_p: float = 1.0, density: bool = False) -> np.ndarray:
    """Continue each row of `start` (B, T) mu-law levels by n levels: (B, n)."""
    FS = net.frame_size
    start = np.atleast_2d(start)
    start = start[:, start.shape[1] % FS:]                       # whole frames, ending at T
    B = len(start)
    q = torch.from_numpy(np.ascontiguousarray(start))
    cond, h = net.frames(q)
    cond = cond[:, -FS:].numpy()                                 # for the first new frame
    f32 = lambda t: t.detach().numpy().astype(np.float32)        # noqa: E731
    # embedding then the first layer, folded: table[p, level] = W_p @ embed(level)
    W = f32(net.sample_in.weight).reshape(-1, FS, net.embed.weight.shape[1])   # (D, FS, E)
    table = np.einsum("dpe,qe->pqd", W, f32(net.embed.weight))                # (FS, Q, D)
    w1, b1 = f32(net.mlp1.weight).T.copy(), f32(net.mlp1.bias)
    w2, b2 = f32(net.mlp2.weight).T.copy(), f32(net.mlp2.bias)
    w3, b3 = f32(net.out.weight).T.copy(), f32(net.out.bias)
    window = start[:, -FS:].copy()                               # the last FS levels
    out = np.zeros((B, n + FS), np.int64)
    pos = np.arange(FS)
    for t in range(n):
        j = t % FS
        if j == 0 and t > 0:                                     # a frame is complete
            c, h = net.frames(torch.from_numpy(out[:, t - FS:t]), h)
            cond = c.numpy()
        x = table[pos, window].sum(1) + cond[:, j]
        x = np.maximum(np.maximum(np.maximum(x, 0) @ w1 + b1, 0) @ w2 + b2, 0)
        s = sample_logits(x @ w3 + b3, temperature, rng, top_p, density)
        out[:, t] = s
        window = np.concatenate([window[:, 1:], s[:, None]], 1)
    return out[:, :n]
