"""MusicVAE for four-voice fragments: a latent space of two-bar chorale passages.

Roberts, Engel, Raffel, Hawthorne & Eck (2018), "A Hierarchical Latent Vector Model for
Learning Long-Term Structure in Music" (ICML), as Magenta implements it
(magenta/models/music_vae: base_model.py, lstm_models.py, configs.py, trained_model.py,
music_vae_generate.py). Its 2-bar models use a bidirectional LSTM encoder and a flat
autoregressive LSTM decoder (the hierarchical "conductor" is for 16 bars); so does this
one. MusicVAE is three modules: this one, the model; `vae_train` (training); `vae_latent`
(the mechanisms: interpolate, attribute vectors, analogy). Read top to bottom:

1. `MusicVAEConfig`: the hparams by MusicVAE's names (z_size, enc_rnn_size, dec_rnn_size,
   free_bits, max_beta, beta_rate, learning_rate, decay_rate, min_learning_rate,
   batch_size, grad_clip), sized for two CPU cores. cat-mel_2bar_small has z_size 256,
   enc_rnn_size [512], dec_rnn_size [256, 256], max_beta 0.2, beta_rate 0.99999, batch
   512 and trains for days; here z 64, one 256-unit layer each side and batches of 64
   (bench/music_vae.py: 8 minutes on two busy cores, about 1,300 steps, decode a held-out
   fragment's notes right 20% of the time from its own code against 8% from another's, and
   the density vector moves notes per fragment from 6 to 53 where a random direction of
   the same length moves them 29 to 31). free_bits is 48, not the 2-bar configs' 0: in
   that measurement it kept 47 bits in z instead of 18 and decoded notes better
   (0.196 vs 0.165), as the free bits of MusicVAE's 16-bar configs are meant to (against
   posterior collapse). beta_rate is 0.999, not 0.99999:
   the KL weight `(1 - beta_rate^step) * max_beta` would otherwise still be near 0 after
   the few thousand steps a CPU run makes, leaving an autoencoder with no prior to
   interpolate through.
2. Fragments: 32 sixteenths (2 bars of 4/4) x 4 voices. Each voice is a token stream as
   in MusicVAE's OneHotMelodyConverter: 0 "no event" (the note or rest goes on), 1 "note
   off" (a rest starts), 2.. a note starts at pitch 36..81. Holds and repeated notes stay
   apart. Training windows start every `hop_size` sixteenths; each batch is transposed
   by a random shift within +-transpose_range that keeps every voice in its range
   (MusicVAE's NoteSequenceAugmenter(transpose_range=(-5, 5))).
3. `MusicVAENet`: the frame's four one-hot tokens concatenated (4 x 48) -> bidirectional
   LSTM -> the final states of both directions -> mu, and sigma through a softplus
   (base_model.encode, kernels initialised with stddev 0.001). The decoder is an LSTM
   whose initial state is tanh(dense(z)) and whose input at each step is the previous
   frame and z (lstm_models.BaseLstmDecoder); it outputs four softmaxes per frame, one per
   voice (lstm_models.MultiOutCategoricalLstmDecoder). Teacher forcing in training.
   Why this and not a hierarchical or convolutional decoder: 32 steps is short enough
   for a flat LSTM (the paper's own choice at 2 bars), and one fused nn.LSTM call per
   batch is the fastest recurrent thing on a CPU.
4. Model files: `load_vae` reads what `vae_train.train_vae` writes (with
   torch.load(weights_only=True)): weights, configuration, the attribute vectors and the
   held-out figures. `encode_tokens` gives the mean of q(z|x), as trained_model.encode
   returns it; `attribute_vector` is Roberts et al.'s difference of mean codes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import ConfigError, knob
from reverie.core.errors import ReverieError
from reverie.io import checkpoints
from reverie.music import chorales as ch
from reverie.music.chorales import Chorale
from reverie.train import TrainConfig, checkpoint_every_knob, max_steps_knob

FORMAT = "reverie-musicvae"
FORMAT_VERSION = 1
FRAMES = 32                                   # 2 bars of 4/4 on a sixteenth grid
LOW, HIGH = ch.PITCH_LOW, ch.PITCH_HIGH
HOLD, REST, FIRST_PITCH = 0, 1, 2             # MusicVAE's NO_EVENT, NOTE_OFF, then pitches
DEPTH = FIRST_PITCH + HIGH - LOW + 1          # 48 classes per voice and frame
ATTRIBUTES = ("density", "major")
FIX = "train one with `reverie music train-vae builtin:chorales --out vae.pt`"


# ---------------------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------------------

@dataclass
class MusicVAEConfig(TrainConfig):
    """MusicVAE's hparams (base_model.get_default_hparams, lstm_models, configs.py) for a
    two-bar, four-voice model small enough to train on two CPU cores in minutes."""
    z_size: int = knob(64, "size of the latent vector z (cat-mel_2bar_small: 256)", min=1)
    enc_rnn_size: int = knob(256, "units of the bidirectional LSTM encoder, each direction "
                             "(cat-mel_2bar_small: 512)", min=1)
    dec_rnn_size: int = knob(256, "units of the LSTM decoder (cat-mel_2bar_small: two "
                             "layers of 256)", min=1)
    free_bits: float = knob(48.0, "bits of KL per fragment not penalised (MusicVAE's "
                            "free_bits: 0 in its 2-bar configs, 256 for z_size 512 in its "
                            "16-bar ones; 48 measured better here than 0)", min=0)
    max_beta: float = knob(0.2, "the KL weight reached at the end of the annealing "
                           "(cat-mel_2bar_small: 0.2)", min=0)
    beta_rate: float = knob(0.999, "KL annealing: beta = (1 - beta_rate^step) * max_beta "
                            "(MusicVAE: 0.99999 over its long runs; 0.999 reaches 0.2 in a "
                            "few thousand CPU steps)", min=0, below=1)
    batch_size: int = knob(64, "fragments per step (MusicVAE: 512)", min=1)
    learning_rate: float = knob(1e-3, "Adam's initial learning rate (MusicVAE: 0.001)", above=0)
    decay_rate: float = knob(0.9999, "learning-rate decay per step (MusicVAE: 0.9999)",
                             above=0, max=1, advanced=True)
    min_learning_rate: float = knob(1e-5, "the learning rate decays towards this "
                                    "(MusicVAE: 0.00001)", min=0, advanced=True)
    grad_clip: float = knob(1.0, "clip the gradients' global norm at this (MusicVAE: 1.0; "
                            "0: off)", min=0, advanced=True)
    hop_size: int = knob(4, "sixteenths between the starts of training windows (4: one "
                         "every beat)", min=1, max=FRAMES, advanced=True)
    transpose_range: int = knob(5, "transpose each fragment by a random shift up to this "
                                "many semitones that keeps every voice in its range "
                                "(MusicVAE's augmenter: 5)", min=0, max=12)
    max_steps: int = max_steps_knob(3000)
    checkpoint_every: int = checkpoint_every_knob(250)

    MODEL_FIELDS = ("z_size", "enc_rnn_size", "dec_rnn_size")   # the nets' shapes

    def check(self) -> None:
        if self.min_learning_rate > self.learning_rate:
            raise ConfigError("min_learning_rate", f"{self.min_learning_rate} is above "
                              f"learning_rate ({self.learning_rate}); the decay ends below "
                              f"its start")


# ---------------------------------------------------------------------------------------
# 2. Fragments as tokens
# ---------------------------------------------------------------------------------------

def to_tokens(pitches: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """(T, 4) pitches and onsets -> (T, 4) int64 tokens: HOLD, REST (the first frame of a
    rest), or FIRST_PITCH + pitch - LOW where a note starts. The first frame always states
    what sounds (a note held into the window starts there)."""
    p = np.asarray(pitches, np.float32)
    rest = np.isnan(p)
    prev = np.vstack([np.full((1, p.shape[1]), np.nan, np.float32), p[:-1]])
    prest = np.isnan(prev)
    with np.errstate(invalid="ignore"):
        starts = ~rest & (np.asarray(onsets, bool) | prest | (p != prev))
    tok = np.full(p.shape, HOLD, np.int64)
    tok[rest & ~prest] = REST
    tok[0][rest[0]] = REST
    tok[starts] = FIRST_PITCH + (np.nan_to_num(p[starts]) - LOW).astype(np.int64)
    return tok


def window_tokens(tok: np.ndarray, pitches: np.ndarray, start: int) -> np.ndarray:
    """The tokens of frames start..start+32 of a piece, the first frame restated."""
    w = tok[start:start + FRAMES].copy()
    first = pitches[start]
    held = w[0] == HOLD
    w[0][held & np.isnan(first)] = REST
    sounding = held & ~np.isnan(first)
    w[0][sounding] = FIRST_PITCH + (first[sounding] - LOW).astype(np.int64)
    return w


def from_tokens(tok: np.ndarray, name: str = "fragment") -> Chorale:
    """(T, 4) tokens -> Chorale (a HOLD after a rest, or first, continues the rest)."""
    tok = np.asarray(tok)
    T = len(tok)
    pitches = np.full((T, 4), np.nan, np.float32)
    onsets = np.zeros((T, 4), bool)
    for v in range(4):
        cur = np.nan
        for t in range(T):
            k = int(tok[t, v])
            if k == REST:
                cur = np.nan
            elif k >= FIRST_PITCH:
                cur = float(LOW + k - FIRST_PITCH)
                onsets[t, v] = True
            pitches[t, v] = cur
    return Chorale(name, pitches, onsets, "")


def note_count(tokens: np.ndarray) -> np.ndarray:
    """Notes started per fragment: tokens (..., T, 4) -> (...)."""
    return (np.asarray(tokens) >= FIRST_PITCH).sum(axis=(-2, -1))


def out_of_range(p: np.ndarray) -> bool:
    q = p[~np.isnan(p)]
    return bool(q.size and (q.min() < LOW or q.max() > HIGH))


@dataclass
class Fragments:
    """Training windows: tokens (N, 32, 4) int16, the transpositions each allows
    (lo, hi), its chorale's mode (1 major, 0 minor, -1 unknown), its piece's index."""
    tokens: np.ndarray
    shift_lo: np.ndarray
    shift_hi: np.ndarray
    major: np.ndarray
    piece: np.ndarray

    def __len__(self) -> int:
        return len(self.tokens)


def _shift_bounds(p: np.ndarray, limit: int) -> tuple[int, int]:
    """The shifts within +-limit that keep every voice of (32, 4) pitches in range."""
    lo, hi = -limit, limit
    for v, name in enumerate(ch.VOICES):
        col = p[:, v][~np.isnan(p[:, v])]
        if col.size:
            vlo, vhi = ch.VOICE_RANGES[name]
            lo = max(lo, int(vlo - col.min()))
            hi = min(hi, int(vhi - col.max()))
    if lo > hi:        # a window already outside a voice's range: keep it where it is
        return 0, 0
    return lo, hi


def make_fragments(pieces: Sequence[Chorale], hop: int, limit: int) -> Fragments:
    """Every 2-bar window of every piece, `hop` sixteenths apart (windows holding a pitch
    outside 36..81 are left out)."""
    toks, los, his, modes, idx = [], [], [], [], []
    for i, c in enumerate(pieces):
        if len(c) < FRAMES:
            continue
        tok = to_tokens(c.pitches, c.onsets)
        mode = 1 if c.key.endswith("major") else 0 if c.key.endswith("minor") else -1
        for s in range(0, len(c) - FRAMES + 1, hop):
            p = c.pitches[s:s + FRAMES]
            if out_of_range(p):
                continue
            toks.append(window_tokens(tok, c.pitches, s))
            lo, hi = _shift_bounds(p, limit)
            los.append(lo)
            his.append(hi)
            modes.append(mode)
            idx.append(i)
    if not toks:
        raise ReverieError("no two-bar fragments to learn from: every piece is shorter than "
                           "2 bars (32 sixteenths) or outside MIDI pitches 36..81; give longer "
                           "four-part scores, or builtin:chorales")
    return Fragments(np.stack(toks).astype(np.int16), np.array(los), np.array(his),
                     np.array(modes, np.int8), np.array(idx))


def transpose_tokens(tok: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Shift the pitch tokens of (B, T, 4) by (B,) semitones."""
    s = shift.view(-1, 1, 1).to(tok.dtype)
    return torch.where(tok >= FIRST_PITCH, tok + s, tok)


def one_hot(tok: torch.Tensor) -> torch.Tensor:
    """(B, T, 4) tokens -> (B, T, 4 * DEPTH) inputs."""
    B, T, V = tok.shape
    return F.one_hot(tok.long(), DEPTH).float().reshape(B, T, V * DEPTH)


# ---------------------------------------------------------------------------------------
# 3. The model
# ---------------------------------------------------------------------------------------

class MusicVAENet(nn.Module):
    """Bidirectional LSTM encoder -> q(z|x) = N(mu, sigma); autoregressive LSTM decoder
    with four categorical outputs per frame."""

    def __init__(self, cfg: MusicVAEConfig):
        super().__init__()
        self.cfg = cfg
        D = 4 * DEPTH
        self.encoder = nn.LSTM(D, cfg.enc_rnn_size, batch_first=True, bidirectional=True)
        self.mu = nn.Linear(2 * cfg.enc_rnn_size, cfg.z_size)
        self.sigma = nn.Linear(2 * cfg.enc_rnn_size, cfg.z_size)
        self.z_init = nn.Linear(cfg.z_size, 2 * cfg.dec_rnn_size)
        self.decoder = nn.LSTM(D + cfg.z_size, cfg.dec_rnn_size, batch_first=True)
        self.head = nn.Linear(cfg.dec_rnn_size, D)
        with torch.no_grad():   # base_model.encode: kernels ~ N(0, 0.001)
            for lin in (self.mu, self.sigma):
                lin.weight.normal_(0.0, 0.001)
                lin.bias.zero_()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, 4*DEPTH) -> mu, sigma (B, z_size)."""
        _, (h, _) = self.encoder(x)
        last = torch.cat([h[-2], h[-1]], dim=-1)          # forward and backward final states
        return self.mu(last), F.softplus(self.sigma(last))

    def initial_state(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = torch.tanh(self.z_init(z)).chunk(2, dim=-1)
        return h[None].contiguous(), c[None].contiguous()

    def decode_logits(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, T, 4, DEPTH) of each frame given the ones before."""
        B, T, D = x.shape
        prev = torch.cat([x.new_zeros(B, 1, D), x[:, :-1]], dim=1)
        inp = torch.cat([prev, z[:, None].expand(B, T, z.shape[-1])], dim=-1)
        y, _ = self.decoder(inp, self.initial_state(z))
        return self.head(y).view(B, T, 4, DEPTH)

    def forward(self, x: torch.Tensor, eps: Optional[torch.Tensor] = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, 4*DEPTH) -> teacher-forced logits, mu and sigma; z = mu + sigma * eps
        (mu itself without `eps`)."""
        mu, sigma = self.encode(x)
        z = mu if eps is None else mu + sigma * eps
        return self.decode_logits(z, x), mu, sigma

    @torch.no_grad()
    def sample(self, z: torch.Tensor, temperature: float, gen: Optional[torch.Generator],
               frames: int = FRAMES) -> torch.Tensor:
        """Decode frame by frame: tokens (B, frames, 4); argmax at temperature 0."""
        B = z.shape[0]
        state = self.initial_state(z)
        prev = z.new_zeros(B, 1, 4 * DEPTH)
        out = []
        for _ in range(frames):
            y, state = self.decoder(torch.cat([prev, z[:, None]], dim=-1), state)
            logits = self.head(y[:, 0]).view(B * 4, DEPTH)
            if temperature <= 0:
                tok = logits.argmax(-1)
            else:
                probs = torch.softmax(logits.double() / temperature, dim=-1)
                tok = torch.multinomial(probs.cpu(), 1, generator=gen).view(-1).to(z.device)
            tok = tok.view(B, 4)
            out.append(tok)
            prev = F.one_hot(tok, DEPTH).float().view(B, 1, 4 * DEPTH)
        return torch.stack(out, dim=1)


def kl_divergence(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, I)) in nats, per row."""
    return (0.5 * (mu ** 2 + sigma ** 2) - torch.log(sigma + 1e-12) - 0.5).sum(-1)


def losses(net: nn.Module, tok: torch.Tensor, eps: Optional[torch.Tensor] = None
           ) -> dict[str, torch.Tensor]:
    """r_loss (nats per fragment, summed over its 128 tokens), KL (nats) and the logits,
    per row, as base_model._compute_model_loss computes them; z = mu + sigma * eps (the
    mean, without `eps`)."""
    logits, mu, sigma = net(one_hot(tok), eps)
    r = F.cross_entropy(logits.reshape(-1, DEPTH), tok.reshape(-1).long(),
                        reduction="none").view(tok.shape[0], -1).sum(-1)
    return {"r_loss": r, "kl": kl_divergence(mu, sigma), "logits": logits}


def beta_at(step: int, cfg: MusicVAEConfig) -> float:
    return (1.0 - cfg.beta_rate ** step) * cfg.max_beta


def lr_at(step: int, cfg: MusicVAEConfig) -> float:
    return (cfg.learning_rate - cfg.min_learning_rate) * cfg.decay_rate ** step + \
        cfg.min_learning_rate


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------
# 4. Model files and codes
# ---------------------------------------------------------------------------------------

def load_checkpoint(path: str | os.PathLike) -> dict:
    return checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a MusicVAE model", FIX)


def config_from_dict(d: dict) -> MusicVAEConfig:
    return checkpoints.saved_config(MusicVAEConfig, d)


@dataclass
class MusicVAE:
    """A trained model (eval mode, CPU), its configuration and its attribute vectors."""
    net: MusicVAENet
    config: MusicVAEConfig
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


def load_vae(path: str | os.PathLike) -> MusicVAE:
    ckpt = load_checkpoint(path)
    try:
        cfg = config_from_dict(ckpt["config"])
        with torch.random.fork_rng(devices=[]):   # building draws weights: not ours to move
            net = MusicVAENet(cfg)
        net.load_state_dict(ckpt["model"])
        attrs = {k: v.numpy().astype(np.float32) for k, v in ckpt.get("attributes", {}).items()}
    except (RuntimeError, KeyError, TypeError, AttributeError, ReverieError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"retrain it with `reverie music train-vae`") from None
    net.eval()
    return MusicVAE(net, cfg, attrs, dict(ckpt.get("run", {}), data=ckpt.get("data", {}),
                                          evaluation=ckpt.get("evaluation", {})))


@torch.no_grad()
def encode_tokens(net: MusicVAENet, tok: torch.Tensor, batch: int = 512) -> np.ndarray:
    dev = next(net.parameters()).device
    outs = [net.encode(one_hot(tok[s:s + batch].to(dev)))[0].cpu() for s in range(0, len(tok), batch)]
    return torch.cat(outs).numpy().astype(np.float32)


def attribute_vector(z_positive: np.ndarray, z_negative: np.ndarray) -> np.ndarray:
    """Roberts et al. (2018)'s attribute vector: the mean code of examples with an
    attribute minus the mean of those without."""
    zp, zn = np.asarray(z_positive, np.float32), np.asarray(z_negative, np.float32)
    if zp.ndim != 2 or zn.ndim != 2 or not len(zp) or not len(zn):
        raise ReverieError("an attribute vector needs at least one fragment with the attribute "
                           "and one without; give both sets")
    return (zp.mean(0) - zn.mean(0)).astype(np.float32)
