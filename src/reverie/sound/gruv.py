"""GRUV (Nayebi & Vitelli 2015, Stanford CS224D; code: MattVitelli/GRUV): sound as a
sequence of blocks, each block's DFT as one vector, an LSTM regressing the next block.

    audio -> blocks of block_size samples -> fft -> [real parts, imaginary parts]
          -> (x - mean) / std, per dimension over the training set
    Dense(hidden_dimension_size) -> LSTM(hidden_dimension_size) -> Dense(2 * block_size)
    loss: mean squared error against the next block; optimiser RMSprop

Generation is the repository's generate_from_seed: feed a seed sequence, append the
predicted next block, repeat; un-normalise, inverse FFT, keep the real part, join blocks.
The LSTM runs statefully here, which gives the same blocks as re-reading the whole
sequence each time as the original does, in linear rather than quadratic time.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def to_features(blocks: np.ndarray) -> np.ndarray:
    """(N, block_size) samples -> (N, 2 * block_size): the full DFT's real then imaginary
    parts (time_blocks_to_fft_blocks)."""
    f = np.fft.fft(blocks, axis=-1)
    return np.concatenate([f.real, f.imag], axis=-1).astype(np.float32)


def from_features(features: np.ndarray) -> np.ndarray:
    """The inverse (fft_blocks_to_time_blocks): (N, 2B) -> (N, B) samples, real part."""
    half = features.shape[-1] // 2
    return np.fft.ifft(features[..., :half] + 1j * features[..., half:], axis=-1).real.astype(
        np.float32)


def blocks_of(x: np.ndarray, block_size: int) -> np.ndarray:
    """Whole blocks from the start (the original pads the last one with zeros; a partial
    block is dropped here so no silence is learned at every clip's end)."""
    n = len(x) // block_size
    return x[: n * block_size].reshape(n, block_size)


class GRUV(nn.Module):
    def __init__(self, cfg, block_size: int):
        super().__init__()
        dims = 2 * block_size
        self.block_size = block_size
        self.inp = nn.Linear(dims, cfg.hidden_dimension_size)       # TimeDistributed Dense
        self.lstm = nn.LSTM(cfg.hidden_dimension_size, cfg.hidden_dimension_size,
                            batch_first=True)
        self.out = nn.Linear(cfg.hidden_dimension_size, dims)        # TimeDistributed Dense
        # the training set's statistics (parse_files: mean_x, std_x), saved with the weights
        self.register_buffer("mean", torch.zeros(dims))
        self.register_buffer("std", torch.ones(dims))

    def forward(self, x: torch.Tensor, state=None):
        h, state = self.lstm(self.inp(x), state)
        return self.out(h), state

    def normalise(self, features: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(features) - self.mean) / self.std

    def denormalise(self, y: torch.Tensor) -> np.ndarray:
        return (y * self.std + self.mean).numpy()


def fit_statistics(net: GRUV, clips: list[np.ndarray]) -> None:
    """Mean and standard deviation of every feature dimension over the training blocks
    (clamped at 1e-8, as the original)."""
    feats = np.concatenate([to_features(blocks_of(c, net.block_size)) for c in clips
                            if len(c) >= net.block_size])
    net.mean.copy_(torch.from_numpy(feats.mean(0)))
    net.std.copy_(torch.from_numpy(np.maximum(feats.std(0), 1e-8)))


def batch(net: GRUV, clips: list[np.ndarray], max_seq_len: int, n: int,
          gen: torch.Generator) -> torch.Tensor:
    """n random runs of max_seq_len + 1 blocks, normalised: (n, max_seq_len + 1, 2B).
    X is the first max_seq_len, Y the same shifted by one block (load_training_example)."""
    from reverie.sound.data import random_segments
    segments = random_segments(clips, (max_seq_len + 1) * net.block_size, n, gen)
    return net.normalise(np.stack([to_features(blocks_of(s, net.block_size))
                                   for s in segments]))


def loss(net: GRUV, seq: torch.Tensor) -> torch.Tensor:
    y, _ = net(seq[:, :-1])
    return torch.mean((y - seq[:, 1:]) ** 2)


@torch.no_grad()
def generate(net: GRUV, start: np.ndarray, n: int, seed_blocks: int) -> np.ndarray:
    """Continue each row of `start` (B, T) samples by n samples: the last seed_blocks
    whole blocks are the seed sequence, then each predicted block is fed back."""
    B = net.block_size
    seeds = np.stack([blocks_of(row[len(row) % B:], B)[-seed_blocks:] for row in np.atleast_2d(
        start)])
    x = net.normalise(to_features(seeds.reshape(-1, B)).reshape(len(seeds), -1, 2 * B))
    y, state = net(x)
    blocks, nxt = [], y[:, -1:]
    while len(blocks) * B < n:
        blocks.append(nxt)
        nxt, state = net(nxt, state)
    out = net.denormalise(torch.cat(blocks, 1))
    return from_features(out).reshape(len(seeds), -1)[:, :n]
