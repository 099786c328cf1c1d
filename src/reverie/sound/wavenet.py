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

With a frame tier (tier_dim > 0; SampleRNN's frame-level tier under WaveNet's layers), a
GRU reads the sound frame by frame (tier_frame_size samples a frame, from tier_context
seconds before a training segment's first prediction, from the whole start when
continuing), and every layer's gate inputs also get a linear map of its state after the
last whole frame: a memory of the chord that outlasts the receptive field.

With f0_conditioning (WaveNet's local conditioning, as its TTS conditions on log F0),
every layer's gate inputs also get a linear map of (voiced, voiced * log2(f0 / 200 Hz)),
the fundamental (YIN) of the 1024 samples before the segment's first prediction; a
continuation is conditioned on its start's, so it holds that pitch.

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

from reverie.sound.data import density_logit, dequantise, level_log_widths

QUANTIZE_CHANNELS = 256          # 8-bit mu-law, as the paper
F0_WINDOW = 1024                 # samples YIN reads for the conditioning fundamental
F0_REFERENCE = 200.0             # Hz: log2(f0 / this) is the conditioning value


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
        # WaveNet's local conditioning (its TTS conditions on log F0): every layer's gate
        # gets V c, c = (voiced, voiced * log2(f0 / 200 Hz)) of the context's fundamental
        self.f0_conditioning = bool(getattr(cfg, "f0_conditioning", False))
        self.rate = getattr(cfg, "sample_rate", 8000)
        if self.f0_conditioning:
            self.cond = nn.Linear(2, G * len(self.dilations), bias=False)
        # SampleRNN's frame-level tier, conditioning the layers as f0 does, but per frame
        self.tier_dim = int(getattr(cfg, "tier_dim", 0))
        self.tier_frame_size = int(getattr(cfg, "tier_frame_size", 64))
        frames = round(getattr(cfg, "tier_context", 0.0) * self.rate / self.tier_frame_size)
        self.tier_context = frames * self.tier_frame_size if self.tier_dim else 0
        if self.tier_dim:
            self.tier = nn.GRU(self.tier_frame_size, self.tier_dim, batch_first=True)
            self.tier_out = nn.Linear(self.tier_dim, G * len(self.dilations))
            # starts silent: the layers learn first from their own context, the tier
            # adds to that as it learns
            nn.init.zeros_(self.tier_out.weight)
            nn.init.zeros_(self.tier_out.bias)

    @property
    def receptive_field(self) -> int:
        """Samples of context one prediction sees (the newest included)."""
        return (self.kernel_size - 1) * sum(self.dilations) + 1

    def f0_window(self, q: np.ndarray | torch.Tensor):
        """The samples the conditioning fundamental is read from: the F0_WINDOW before the
        first prediction (the first F0_WINDOW where the receptive field is shorter)."""
        start = max(0, self.tier_context + self.receptive_field - F0_WINDOW)
        return q[:, start:start + F0_WINDOW]

    def f0_features(self, q) -> torch.Tensor:
        """(B, T) mu-law ints -> (B, 2): (voiced, voiced * log2(f0 / 200 Hz)) of each row's
        window by YIN; (0, 0) where it is aperiodic."""
        from reverie.sound.data import mu_law_decode
        from reverie.sound.pitch import yin
        rows = mu_law_decode(np.asarray(q.cpu() if torch.is_tensor(q) else q))
        out = np.zeros((len(rows), 2), np.float32)
        for i, x in enumerate(rows):
            f0 = yin(x, self.rate)[0]
            if f0 is not None:
                out[i] = 1.0, np.log2(f0 / F0_REFERENCE)
        return torch.from_numpy(out)

    def gate_bias(self, window) -> torch.Tensor | None:
        """(B, L, G) conditioning added to each layer's gate inputs, from the fundamental
        of `window` (B, F0_WINDOW) mu-law ints; None without f0_conditioning."""
        if not self.f0_conditioning:
            return None
        c = self.f0_features(window).to(self.cond.weight.device)
        return self.cond(c).reshape(len(c), len(self.dilations), -1)

    def tier_states(self, q: torch.Tensor) -> torch.Tensor:
        """(B, T) mu-law ints -> (B, T // F + 1, tier_dim): the frame tier's state before
        each frame (zeros before the first) and after the last whole one."""
        B, size = q.shape[0], self.tier_frame_size
        frames = dequantise(q[:, :q.shape[1] // size * size]).reshape(B, -1, size)
        h0 = torch.zeros(1, B, self.tier_dim, device=q.device)
        out = self.tier(frames, h0)[0] if frames.shape[1] else frames.new_zeros(B, 0, self.tier_dim)
        return torch.cat([h0.transpose(0, 1), out], 1)

    def tier_bias(self, q: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, T // F + 1, L, G): what each frame's state adds to the gates."""
        h = self.tier_states(q)
        return self.tier_out(h).reshape(len(q), h.shape[1], len(self.dilations), -1)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """(B, T) mu-law ints -> (B, 256, T - tier_context - receptive_field + 1) logits:
        the output at j predicts the sample after input j + tier_context + receptive_field
        - 1. The first tier_context samples only the frame tier reads."""
        x = self.embed(q[:, self.tier_context:]).transpose(1, 2)
        T = q.shape[1]
        T_out = T - self.tier_context - self.receptive_field + 1
        bias = self.gate_bias(self.f0_window(q))
        frames = self.tier_bias(q) if self.tier_dim else None
        skips = 0
        for l, (conv, res, skip) in enumerate(zip(self.dilated, self.res, self.skip)):
            z = conv(x) if bias is None else conv(x) + bias[:, l, :, None]
            if frames is not None:
                # the output at input j (the newest sample it read) takes the state after
                # the last frame that ends at or before j: frame (j + 1) // F
                j = torch.arange(T - z.shape[2], T, device=q.device)
                z = z + frames[:, (j + 1) // self.tier_frame_size, l].transpose(1, 2)
            a, b = z.chunk(2, dim=1)
            g = torch.tanh(a) * torch.sigmoid(b)
            x = x[:, :, x.shape[2] - z.shape[2]:] + res(g)
            skips = skips + skip(g[:, :, g.shape[2] - T_out:])
        return self.out2(F.relu(self.out1(F.relu(skips))))


def loss(net: WaveNet, q: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy (nats) of each sample after the first tier_context +
    receptive_field (`net` may be wrapped for DDP); of the samples `mask` (B, T -
    tier_context - receptive_field) marks, if given."""
    logits = net(q[:, :-1])
    inner = getattr(net, "module", net)
    return masked_mean(F.cross_entropy(logits, q[:, inner.tier_context + inner.receptive_field:],
                                       reduction="none"), mask)


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return values.mean()
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1)


def batch(clips: list[np.ndarray], length: int, n: int, gen: torch.Generator,
          semitones: float = 0.0) -> torch.Tensor:
    """n random segments of `length` samples as mu-law ints (n, length), each played up
    to `semitones` faster or slower."""
    from reverie.sound.data import mu_law_encode, random_segments
    return torch.from_numpy(mu_law_encode(random_segments(clips, length, n, gen, semitones)))


# ---------------------------------------------------------------------------------------
# Cached generation (Fast Wavenet)
# ---------------------------------------------------------------------------------------

def feed_length(net: WaveNet) -> int:
    """Samples of a start fed one by one: the receptive field, rounded up to whole frames
    of the frame tier so that its frames end where the feed begins."""
    size = net.tier_frame_size if net.tier_dim else 1
    return -(-net.receptive_field // size) * size


def _f32(t) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)


def _tier_packed(net: WaveNet, h0: torch.Tensor | None, rows: int) -> tuple:
    """The frame tier for the step loop: GRU weights transposed (in, 3H) and (H, 3H), its
    biases, the map to the gates (H, L * G), the state each row starts from (B, H), the
    frame size and the dequantisation table; empty arrays (frame size 0) without a tier."""
    if not net.tier_dim:
        z = np.zeros((0, 0), np.float32)
        return (z, z, np.zeros(0, np.float32), np.zeros(0, np.float32), z,
                np.zeros((rows, 0), np.float32), 0, np.zeros(QUANTIZE_CHANNELS, np.float32))
    g = net.tier
    h = torch.zeros(rows, net.tier_dim) if h0 is None else h0
    return (_f32(g.weight_ih_l0.T), _f32(g.weight_hh_l0.T), _f32(g.bias_ih_l0),
            _f32(g.bias_hh_l0), _f32(net.tier_out.weight.T),
            _f32(h).copy(),                   # a copy: the loop steps the state in place
            net.tier_frame_size, _f32(dequantise(torch.arange(QUANTIZE_CHANNELS))))


def _packed(net: WaveNet, bias: torch.Tensor | None, rows: int,
            h0: torch.Tensor | None = None) -> tuple:
    """The weights as contiguous float32 arrays, laid out for the step loop; each row's
    conditioning folded into its layers' gate biases (B, L, G): `base` without the frame
    tier's state, `cbias` with the state h0 (B, tier_dim) it starts from."""
    tier = _tier_packed(net, h0, rows)
    base = (np.stack([_f32(c.bias) for c in net.dilated])[None]
            + (0 if bias is None else _f32(bias)) + np.zeros((rows, 1, 1), np.float32))
    cbias = base.copy()
    if net.tier_dim:
        base = base + _f32(net.tier_out.bias).reshape(1, *base.shape[1:])
        to_gates, state = tier[4:6]          # the start's state through the map to the gates
        cbias = base + (state @ to_gates).reshape(base.shape)
    taps = np.stack([_f32(c.weight).transpose(2, 1, 0) for c in net.dilated])  # (L, k, R, G)
    out = np.stack([np.concatenate([_f32(r.weight)[:, :, 0], _f32(s.weight)[:, :, 0]]).T
                    for r, s in zip(net.res, net.skip)])                      # (L, G/2, R+S)
    return (_f32(net.embed.weight), np.ascontiguousarray(taps),
            np.ascontiguousarray(cbias, np.float32), np.ascontiguousarray(base, np.float32),
            *tier, np.ascontiguousarray(out),
            np.stack([np.concatenate([_f32(r.bias), _f32(s.bias)])
                      for r, s in zip(net.res, net.skip)]),
            np.array(net.dilations, np.int64),
            np.ascontiguousarray(_f32(net.out1.weight)[:, :, 0].T), _f32(net.out1.bias),
            np.ascontiguousarray(_f32(net.out2.weight)[:, :, 0].T), _f32(net.out2.bias))


def _step_loop(embed, taps, cbias, base, gwi, gwh, gbi, gbh, tw, hstate, frame_size, deq, out,
               obias, dil, w1, b1, w2, b2, feed, n_new, temperature, top_p, logw, uniforms,
               result, record):
    """Feed `feed` (B, P) one sample a step, then sample n_new more into `result` (from
    softmax(logits / temperature), cut to its top_p nucleus); the logits after each fed
    sample go to `record` where it has room (for checking). With a frame tier
    (frame_size > 0; `feed` starts on a frame boundary) each whole frame steps the GRU
    state `hstate`, and the gates' biases become `base` plus the new state's map: inline,
    as numba compiles one loop best. With `logw` (the log width of each level's bin,
    `level_log_widths`) temperature and top_p act on the amplitude's density instead of
    the levels' probabilities (`density_logit`); empty, on the levels."""
    L, K, R, G = taps.shape
    F = frame_size
    TH = hstate.shape[1]
    frame = np.zeros((max(1, hstate.shape[0]), max(1, F)), np.float32)
    gi = np.empty(3 * TH, np.float32)
    gh = np.empty(3 * TH, np.float32)
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
    density = logw.shape[0] > 0
    width = np.exp(logw)         # once: the nucleus ranks levels by probability / width
    for t in range(P + n_new - 1):
        for b in range(B):
            q = feed[b, t] if t < P else result[b, t - P]
            x[:] = embed[q]
            if F > 0:
                frame[b, t % F] = deq[q]
                if (t + 1) % F == 0:      # a whole frame: the GRU steps (torch's r, z, n)
                    gi[:] = gbi
                    gh[:] = gbh
                    for f in range(F):
                        v = frame[b, f]
                        for c in range(3 * TH):
                            gi[c] += v * gwi[f, c]
                    for m in range(TH):
                        v = hstate[b, m]
                        for c in range(3 * TH):
                            gh[c] += v * gwh[m, c]
                    for m in range(TH):
                        r_ = 1.0 / (1.0 + np.exp(-(gi[m] + gh[m])))
                        u_ = 1.0 / (1.0 + np.exp(-(gi[TH + m] + gh[TH + m])))
                        n_ = np.tanh(gi[2 * TH + m] + r_ * gh[2 * TH + m])
                        hstate[b, m] = (1.0 - u_) * n_ + u_ * hstate[b, m]
                    for l in range(L):
                        for c in range(G):
                            cbias[b, l, c] = base[b, l, c]
                    for m in range(TH):
                        v = hstate[b, m]
                        for l in range(L):
                            for c in range(G):
                                cbias[b, l, c] += v * tw[m, l * G + c]
            skips[:] = 0.0
            for l in range(L):
                d = dil[l]
                n = d * (K - 1)
                z[:] = cbias[b, l]
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
            if density:     # the tempered density, back on the levels: tempered already
                for c in range(Q):
                    logits[c] = density_logit(logits[c], logw[c], temperature)
            if temperature <= 0:
                result[b, i] = np.argmax(logits)
                continue
            tau = 1.0 if density else temperature
            m = logits.max()
            total = 0.0
            for c in range(Q):
                logits[c] = np.exp((logits[c] - m) / tau)
                total += logits[c]
            if top_p >= 1.0:
                u = uniforms[b, i] * total
                acc = 0.0
                pick = Q - 1
                for c in range(Q):
                    acc += logits[c]
                    if acc > u:
                        pick = c
                        break
                result[b, i] = pick
                continue
            # nucleus (Holtzman et al. 2020): the likeliest levels holding top_p of the mass
            # (with logw: the densest, the continuous nucleus)
            order = np.argsort(-logits / width) if density else np.argsort(-logits)
            kept = 0.0
            last = Q - 1
            for k in range(Q):
                kept += logits[order[k]]
                if kept >= top_p * total:
                    last = k
                    break
            u = uniforms[b, i] * kept
            acc = 0.0
            pick = order[last]
            for k in range(last + 1):
                acc += logits[order[k]]
                if acc > u:
                    pick = order[k]
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
        global density_logit
        density_logit = njit(cache=True, fastmath=True)(density_logit)
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
    for density in (False, True):
        generate(tiny, np.full((1, 2), 128), 1, 1.0, np.random.default_rng(0), density=density)
        generate(tiny, np.full((1, 2), 128), 1, 1.0, np.random.default_rng(0), top_p=0.9,
                 density=density)


@torch.no_grad()
def generate(net: WaveNet, start: np.ndarray, n: int, temperature: float,
             rng: np.random.Generator, top_p: float = 1.0, density: bool = False) -> np.ndarray:
    """Continue each row of `start` (B, T) mu-law ints by n samples: (B, n) ints. The
    start's last receptive field (in whole tier frames) primes the layer queues, one sample
    a step, after the frame tier has read the rest; each sample is drawn from
    softmax(logits / temperature) cut to its top_p nucleus, of the levels' probabilities or
    (density) of the amplitude's density."""
    start = np.atleast_2d(start)
    feed_len = feed_length(net)
    feed = np.ascontiguousarray(start[:, -feed_len:], np.int64)
    result = np.zeros((len(feed), max(n, 1)), np.int64)
    uniforms = rng.random((len(feed), max(n, 1)))
    # the conditioning holds the start's fundamental: that of its last F0_WINDOW samples
    bias = net.gate_bias(start[:, -F0_WINDOW:])
    # the frame tier reads the whole start before the feed, in frames that end where it begins
    h0 = None
    if net.tier_dim:
        before = start[:, :max(0, start.shape[1] - feed_len)]
        before = before[:, before.shape[1] % net.tier_frame_size:]
        h0 = net.tier_states(torch.from_numpy(np.ascontiguousarray(before, np.int64)))[:, -1]
    logw = level_log_widths().copy() if density else np.zeros(0, np.float32)  # one signature
    _run(*_packed(net, bias, len(feed), h0), feed, n, float(temperature), float(top_p), logw,
         uniforms, result, np.zeros((len(feed), 0, QUANTIZE_CHANNELS), np.float32))
    return result[:, :n]


@torch.no_grad()
def step_logits(net: WaveNet, q: np.ndarray) -> np.ndarray:
    """The cached path's logits after each sample of q (B, T): (B, T, 256). For checking
    it against the full pass; from sample tier_context + receptive_field - 1 on they
    must agree (the frame tier, too, reads q from its first sample)."""
    q = np.ascontiguousarray(np.atleast_2d(q), np.int64)
    record = np.zeros((q.shape[0], q.shape[1], QUANTIZE_CHANNELS), np.float32)
    _run(*_packed(net, net.gate_bias(net.f0_window(q)), len(q)), q, 1, 1.0, 1.0,
         np.zeros(0, np.float32), np.zeros((len(q), 1)), np.zeros((len(q), 1), np.int64), record)
    return record
