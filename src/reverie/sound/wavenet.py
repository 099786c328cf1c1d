"""WaveNet (van den Oord et al. 2016): a distribution over the next 8-bit mu-law sample
given the samples before it, from a stack of dilated causal convolutions.

    x (mu-law ints) -> embedding (= a 1x1 conv of the one-hot) -> L layers of
        z = dilated conv (kernel_size taps, dilation 1, 2, 4 ... per stack) -> tanh * sigmoid
        residual: x + 1x1(z);  skip: sum of 1x1(z)
    -> relu -> 1x1 -> relu -> 1x1 -> 256 logits

Knob names follow r9y9/wavenet_vocoder (layers, stacks, residual_channels, gate_channels,
skip_out_channels, kernel_size) and ibab/tensorflow-wavenet (sample_size). Training uses
"valid" convolutions: a segment of receptive_field + sample_size samples gives sample_size
predictions, each with its full context and no padding.

Generation is cached as in Paine et al. 2016 (Fast Wavenet): each layer keeps a queue of its
last inputs, so one new sample costs one matrix-vector product per layer, never a pass over
the receptive field. The step runs in NumPy with the weights fused, because at one sample a
step the per-call overhead of torch, not arithmetic, is what limits speed.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

QUANTIZE_CHANNELS = 256          # 8-bit mu-law, as the paper


class WaveNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        per_stack = cfg.layers // cfg.stacks
        self.dilations = [2 ** (i % per_stack) for i in range(cfg.layers)]
        self.kernel_size = cfg.kernel_size
        R, G, S = cfg.residual_channels, cfg.gate_channels, cfg.skip_out_channels
        self.embed = nn.Embedding(QUANTIZE_CHANNELS, R)
        self.dilated = nn.ModuleList(nn.Conv1d(R, G, cfg.kernel_size, dilation=d)
                                     for d in self.dilations)
        self.res = nn.ModuleList(nn.Conv1d(G // 2, R, 1) for _ in self.dilations)
        self.skip = nn.ModuleList(nn.Conv1d(G // 2, S, 1) for _ in self.dilations)
        self.out1 = nn.Conv1d(S, S, 1)
        self.out2 = nn.Conv1d(S, QUANTIZE_CHANNELS, 1)

    @property
    def receptive_field(self) -> int:
        """Samples of context one prediction sees (the newest included)."""
        return (self.kernel_size - 1) * sum(self.dilations) + 1

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """(B, T) mu-law ints -> (B, 256, T - receptive_field + 1) logits: the output at j
        predicts the sample after input j + receptive_field - 1."""
        x = self.embed(q).transpose(1, 2)
        T_out = q.shape[1] - self.receptive_field + 1
        skips = 0
        for conv, res, skip in zip(self.dilated, self.res, self.skip):
            z = conv(x)
            a, b = z.chunk(2, dim=1)
            g = torch.tanh(a) * torch.sigmoid(b)
            x = x[:, :, x.shape[2] - z.shape[2]:] + res(g)
            skips = skips + skip(g[:, :, g.shape[2] - T_out:])
        return self.out2(F.relu(self.out1(F.relu(skips))))


def loss(net: WaveNet, q: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats) of each sample after the first receptive_field - 1 (`net`
    may be wrapped for DDP)."""
    logits = net(q[:, :-1])
    return F.cross_entropy(logits, q[:, getattr(net, "module", net).receptive_field:])


def batch(clips: list[np.ndarray], length: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """n random segments of `length` samples as mu-law ints (n, length)."""
    from reverie.sound.data import mu_law_encode, random_segments
    return torch.from_numpy(mu_law_encode(random_segments(clips, length, n, gen)))


# ---------------------------------------------------------------------------------------
# Cached generation (Fast Wavenet)
# ---------------------------------------------------------------------------------------

def _packed(net: WaveNet) -> tuple:
    """The weights as contiguous float32 arrays, laid out for the step loop."""
    f32 = lambda t: np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)  # noqa
    taps = np.stack([f32(c.weight).transpose(2, 1, 0) for c in net.dilated])  # (L, k, R, G)
    out = np.stack([np.concatenate([f32(r.weight)[:, :, 0], f32(s.weight)[:, :, 0]]).T
                    for r, s in zip(net.res, net.skip)])                      # (L, G/2, R+S)
    return (f32(net.embed.weight), np.ascontiguousarray(taps),
            np.stack([f32(c.bias) for c in net.dilated]), np.ascontiguousarray(out),
            np.stack([np.concatenate([f32(r.bias), f32(s.bias)])
                      for r, s in zip(net.res, net.skip)]),
            np.array(net.dilations, np.int64),
            np.ascontiguousarray(f32(net.out1.weight)[:, :, 0].T), f32(net.out1.bias),
            np.ascontiguousarray(f32(net.out2.weight)[:, :, 0].T), f32(net.out2.bias))


def _step_loop(embed, taps, cbias, out, obias, dil, w1, b1, w2, b2, feed, n_new, temperature,
               uniforms, result, record):
    """Feed `feed` (B, P) one sample a step, then sample n_new more into `result`; the
    logits after each fed sample go to `record` where it has room (for checking)."""
    L, K, R, G = taps.shape
    H = G // 2
    S = out.shape[2] - R
    Q = w2.shape[1]
    B, P = feed.shape
    ring = np.zeros((L, max(1, dil.max() * (K - 1)), B, R), np.float32)
    x = np.empty(R, np.float32)
    z = np.empty(G, np.float32)
    g = np.empty(H, np.float32)
    o = np.empty(R + S, np.float32)
    skips = np.empty(S, np.float32)
    y = np.empty(S, np.float32)
    logits = np.empty(Q, np.float32)
    for t in range(P + n_new - 1):
        for b in range(B):
            q = feed[b, t] if t < P else result[b, t - P]
            x[:] = embed[q]
            skips[:] = 0.0
            for l in range(L):
                d = dil[l]
                n = d * (K - 1)
                z[:] = cbias[l]
                for j in range(K - 1):
                    src = ring[l, (t - (K - 1 - j) * d) % n, b]
                    for r in range(R):
                        v = src[r]
                        for c in range(G):
                            z[c] += v * taps[l, j, r, c]
                for r in range(R):
                    v = x[r]
                    for c in range(G):
                        z[c] += v * taps[l, K - 1, r, c]
                ring[l, t % n, b, :] = x
                for h in range(H):
                    g[h] = np.tanh(z[h]) / (1.0 + np.exp(-z[H + h]))
                o[:] = obias[l]
                for h in range(H):
                    v = g[h]
                    for c in range(R + S):
                        o[c] += v * out[l, h, c]
                for r in range(R):
                    x[r] += o[r]
                for c in range(S):
                    skips[c] += o[R + c]
            y[:] = b1
            for s in range(S):
                v = max(skips[s], 0.0)
                for c in range(S):
                    y[c] += v * w1[s, c]
            logits[:] = b2
            for s in range(S):
                v = max(y[s], 0.0)
                for c in range(Q):
                    logits[c] += v * w2[s, c]
            if t < record.shape[1]:
                record[b, t] = logits
            i = t - P + 1            # the sample these logits choose
            if i < 0:
                continue
            if temperature <= 0:
                result[b, i] = np.argmax(logits)
                continue
            m = logits.max()
            total = 0.0
            for c in range(Q):
                logits[c] = np.exp((logits[c] - m) / temperature)
                total += logits[c]
            u = uniforms[b, i] * total
            acc = 0.0
            pick = Q - 1
            for c in range(Q):
                acc += logits[c]
                if acc > u:
                    pick = c
                    break
            result[b, i] = pick
    return result



_RUN = None


def _run(*args):
    """The step loop compiled by numba on first use (and cached on disk, so later processes
    load it): every layer of every sample in plain loops, which LLVM vectorises."""
    global _RUN
    if _RUN is None:
        from numba import njit
        _RUN = njit(cache=True, fastmath=True)(_step_loop)
    return _RUN(*args)


@torch.no_grad()
def warm_up() -> None:
    """Compile (or load from numba's cache) the step loop on a one-layer net, so a timed
    generation measures sampling, not the compiler."""
    from types import SimpleNamespace
    with torch.random.fork_rng(devices=[]):
        tiny = WaveNet(SimpleNamespace(layers=1, stacks=1, kernel_size=2, residual_channels=2,
                                       gate_channels=2, skip_out_channels=2))
    generate(tiny, np.full((1, 2), 128), 1, 1.0, np.random.default_rng(0))


@torch.no_grad()
def generate(net: WaveNet, start: np.ndarray, n: int, temperature: float,
             rng: np.random.Generator) -> np.ndarray:
    """Continue each row of `start` (B, T) mu-law ints by n samples: (B, n) ints. The
    start's last receptive field primes the layer queues, one sample a step."""
    feed = np.ascontiguousarray(np.atleast_2d(start)[:, -net.receptive_field:], np.int64)
    result = np.zeros((len(feed), max(n, 1)), np.int64)
    uniforms = rng.random((len(feed), max(n, 1)))
    _run(*_packed(net), feed, n, float(temperature), uniforms, result,
         np.zeros((len(feed), 0, QUANTIZE_CHANNELS), np.float32))
    return result[:, :n]


@torch.no_grad()
def step_logits(net: WaveNet, q: np.ndarray) -> np.ndarray:
    """The cached path's logits after each sample of q (B, T): (B, T, 256). For checking
    it against the full pass; from sample receptive_field - 1 on they must agree."""
    q = np.ascontiguousarray(np.atleast_2d(q), np.int64)
    record = np.zeros((q.shape[0], q.shape[1], QUANTIZE_CHANNELS), np.float32)
    _run(*_packed(net), q, 1, 1.0, np.zeros((len(q), 1)), np.zeros((len(q), 1), np.int64),
         record)
    return record
