"""MusicVAE for four-voice fragments: a latent space of two-bar chorale passages.

Roberts, Engel, Raffel, Hawthorne & Eck (2018), "A Hierarchical Latent Vector Model for
Learning Long-Term Structure in Music" (ICML), as Magenta implements it
(magenta/models/music_vae: base_model.py, lstm_models.py, configs.py, trained_model.py,
music_vae_generate.py). Its 2-bar models use a bidirectional LSTM encoder and a flat
autoregressive LSTM decoder (the hierarchical "conductor" is for 16 bars); so does this
one. Read top to bottom:

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
4. Training (`train_vae`): the loss of base_model._compute_model_loss: reconstruction
   cross-entropy summed over the fragment, plus beta times max(KL - free_bits ln 2, 0),
   KL in nats against N(0, I); Adam with MusicVAE's exponential learning-rate decay and
   global-norm clipping. Checkpoints hold everything a killed run needs to resume exactly
   (model, optimiser, step, RNG states), as the char LM's do (text/charlm.py), and load
   with torch.load(weights_only=True). At the end, attribute vectors are computed on the
   training fragments and stored in the file.
5. The latent space (`interpolate`, `apply_attribute`, `analogy`): fragments are encoded
   to the mean of q(z|x), as trained_model.encode returns it. Interpolation walks
   spherically (slerp, trained_model.interpolate's `_slerp`) or linearly; attribute
   vectors are "the mean latent vector of examples with an attribute minus the mean of
   those without" (Roberts et al. 2018's attribute vectors) added in several amounts; an analogy
   A : B :: C : ? is `reverie.latent.analogy.Codec` over this encoder and decoder. Decoding
   samples each frame at `temperature` (music_vae_generate's default 0.5; 0 is argmax).
"""
from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.io import checkpoints
from reverie.io.checkpoints import ModelFileResult, save_checkpoint
from reverie.music import chorales as ch
from reverie.music.chorales import Chorale

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
class MusicVAEConfig(Config):
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
    max_iters: int = knob(3000, "training steps: the budget (ignored when minutes is set)", min=1)
    minutes: Optional[float] = knob(None, "train for this wall-clock time instead of "
                                    "max_iters (the model then depends on the machine's "
                                    "speed)", above=0, unit="minutes")
    eval_interval: int = knob(250, "measure the held-out loss every N steps", min=1,
                              advanced=True)
    checkpoint_every: int = knob(250, "write a checkpoint every N steps (and at the end), so "
                                 "a killed run can resume", min=1, advanced=True)
    resume: bool = knob(False, "continue the run whose checkpoint is the output file (after a "
                        "kill, or to train on with a larger max_iters)")
    threads: Optional[int] = knob(None, "torch CPU threads (auto: $REVERIE_THREADS if set, "
                                  "else the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob(1337)
    device: str = device_knob()

    def check(self) -> None:
        if self.min_learning_rate > self.learning_rate:
            raise ConfigError("min_learning_rate", f"{self.min_learning_rate} is above "
                              f"learning_rate ({self.learning_rate}); the decay ends below "
                              f"its start")


BUDGET_FIELDS = ("max_iters", "minutes", "eval_interval", "checkpoint_every", "threads",
                 "device")


@dataclass
class DecodeConfig(Config):
    temperature: float = knob(0.5, "softmax temperature when decoding (music_vae_generate: "
                              "0.5); 0 takes the likeliest token", min=0)
    qpm: float = knob(80.0, "tempo of the MIDI and WAV written, quarter notes per minute",
                      above=0, advanced=True)
    seed: int = seed_knob()
    device: str = device_knob()


@dataclass
class InterpolateConfig(DecodeConfig):
    steps: int = knob(5, "fragments on the path, both ends included (music_vae_generate's "
                      "num_outputs: 5)", min=2, max=64)
    method: str = knob("slerp", "slerp (along the great circle, as MusicVAE's "
                       "trained_model.interpolate) or linear", choices=("slerp", "linear"))


@dataclass
class AttributeConfig(DecodeConfig):
    attribute: str = knob("density", "the attribute vector stored with the model: density "
                          "(fragments with many notes minus few: top quarter minus bottom "
                          "quarter) or major (fragments of major-key chorales minus minor); "
                          "ignored when positive and negative examples are given",
                          choices=ATTRIBUTES)
    amounts: list[float] = knob([-2.0, -1.0, 0.0, 1.0, 2.0], "multiples of the attribute "
                                "vector added to the fragment's code, one fragment each")


@dataclass
class AnalogyConfig(DecodeConfig):
    pass


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


def _out_of_range(p: np.ndarray) -> bool:
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
            if _out_of_range(p):
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


def losses(net: MusicVAENet, tok: torch.Tensor, gen: Optional[torch.Generator],
           sample_z: bool = True) -> dict[str, torch.Tensor]:
    """r_loss (nats per fragment, summed over its 128 tokens), KL (nats) and the logits,
    per row, as base_model._compute_model_loss computes them."""
    x = one_hot(tok)
    mu, sigma = net.encode(x)
    if sample_z:
        eps = torch.randn(mu.shape, generator=gen).to(mu.device)
        z = mu + sigma * eps
    else:
        z = mu
    logits = net.decode_logits(z, x)
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
# Checkpoints
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


# ---------------------------------------------------------------------------------------
# 4. Training
# ---------------------------------------------------------------------------------------

@dataclass
class VAETrainResult(ModelFileResult):
    model: MusicVAENet
    checkpoint: dict

    @property
    def vae(self) -> MusicVAE:
        attrs = {k: v.numpy() for k, v in self.checkpoint.get("attributes", {}).items()}
        return MusicVAE(self.model, self.config, attrs, {})

    def explain(self, folder: Path) -> dict[str, Path]:
        from reverie.io.figures import plot_curves
        h = self.figures["history"]
        return {"loss curves": plot_curves(
            {"train": [(r["step"], r["train_loss"]) for r in h],
             "held-out": [(r["step"], r["val_loss"]) for r in h]},
            path=Path(folder) / "loss-curves.png", xlabel="step",
            ylabel="reconstruction + KL, nats per fragment")}

    def summary(self) -> str:
        f = self.figures
        e = f.get("evaluation", {})
        return (f"{f['steps']} steps: held-out reconstruction {e.get('r_loss', 0):.1f} nats and "
                f"KL {e.get('kl_bits', 0):.1f} bits per fragment; argmax reconstruction "
                f"accuracy {e.get('sampled_accuracy', 0):.3f} (notes "
                f"{e.get('sampled_note_accuracy', 0):.3f}; from another fragment's code "
                f"{e.get('other_code_note_accuracy', 0):.3f})")


def read_pieces(corpus) -> tuple[list[Chorale], list[Chorale], dict]:
    """builtin:chorales or four-part MIDI/MusicXML -> (train, held-out, record): the
    split Coconet uses (by piece, before transposition; valid and test both held out)."""
    from reverie.music.coconet import read_training_data
    return read_training_data(corpus)


def train_vae(corpus=None, config: Optional[MusicVAEConfig] = None, *,
              out: str | os.PathLike | None = None, progress: Progress = silent,
              pieces: tuple[list[Chorale], list[Chorale]] | None = None,
              **overrides) -> VAETrainResult:
    """Train a MusicVAE on the 2-bar fragments of `corpus` (builtin:chorales, or folders or
    files of four-part MIDI/MusicXML; or `pieces=(train, held_out)` in memory). With `out`,
    checkpoints are written there every `checkpoint_every` steps and at the end;
    `resume=True` continues that run."""
    cfg = make_config(MusicVAEConfig, config, **overrides)
    out = checkpoints.model_path(out, "vae.pt")
    if pieces is not None:
        train, held = pieces
        inputs = {"corpus": {"source": None, "note": "given in memory (chorales)"}}
        record: dict = {"source": "in memory"}
    else:
        train, held, record = read_pieces(corpus)
        inputs = {"corpus": ch.record_source(corpus)}
        record["source"] = str(corpus)
    from reverie.core.device import resolve_device
    from reverie.text.charlm import cpu_threads
    device = resolve_device(cfg.device)
    with cpu_threads(cfg.threads) as threads, \
            torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        result = _train(train, held, out, cfg.replace(threads=threads, device=str(device)),
                        device, progress, record)
    result.inputs = inputs
    result.resolved.update({"device": str(device), "threads": threads})
    if out is not None:
        result.save(out)
    return result


def _batch(frags: Fragments, n: int, gen: torch.Generator) -> torch.Tensor:
    idx = torch.randint(len(frags), (n,), generator=gen)
    u = torch.rand(n, generator=gen)
    lo = torch.from_numpy(frags.shift_lo)[idx]
    hi = torch.from_numpy(frags.shift_hi)[idx]
    shift = lo + torch.floor(u * (hi - lo + 1)).long().clamp(max=hi - lo)
    return transpose_tokens(torch.from_numpy(frags.tokens)[idx].long(), shift)


@torch.no_grad()
def evaluate_tokens(net: MusicVAENet, tok: torch.Tensor, batch: int = 256,
                    sampled: int = 256, seed: int = 0) -> dict:
    """Held-out figures with z the mean of q(z|x): reconstruction loss (nats per
    fragment), KL (bits), teacher-forced accuracy over all tokens and over note starts,
    and accuracy of the argmax decoding (no teacher) from the fragment's own code and, as
    a baseline, from another fragment's code. `hold_baseline`: the share of tokens that
    are 'no event' (what always predicting it scores)."""
    was = net.training
    net.eval()
    r = kl = acc = nacc = 0.0
    n = notes = 0
    for s in range(0, len(tok), batch):
        t = tok[s:s + batch]
        out = losses(net, t, None, sample_z=False)
        r += out["r_loss"].sum().item()
        kl += out["kl"].sum().item()
        pred = out["logits"].argmax(-1)
        acc += (pred == t).float().sum().item()
        is_note = t >= FIRST_PITCH
        nacc += ((pred == t) & is_note).float().sum().item()
        notes += int(is_note.sum())
        n += len(t)
    fig = {"fragments": n, "r_loss": r / n, "kl_nats": kl / n, "kl_bits": kl / n / math.log(2),
           "teacher_forced_accuracy": acc / (n * FRAMES * 4),
           "teacher_forced_note_accuracy": nacc / max(notes, 1),
           "hold_baseline": float((tok == HOLD).float().mean())}
    m = min(sampled, len(tok))
    if m >= 2:
        pick = torch.randperm(len(tok), generator=torch.Generator().manual_seed(seed))[:m]
        t = tok[pick]
        mu, _ = net.encode(one_hot(t))
        own = net.sample(mu, 0.0, None)
        other = net.sample(mu.roll(1, 0), 0.0, None)
        is_note = t >= FIRST_PITCH
        for name, dec in (("sampled", own), ("other_code", other)):
            fig[f"{name}_accuracy"] = float((dec == t).float().mean())
            fig[f"{name}_note_accuracy"] = float(((dec == t) & is_note).sum() / is_note.sum())
    net.train(was)
    return fig


def _fixed_held_out(held: Sequence[Chorale], limit: int = 1024) -> torch.Tensor:
    """Held-out windows one bar apart, untransposed, at most `limit` (evenly spread)."""
    frags = make_fragments(held, hop=16, limit=0)
    tok = torch.from_numpy(frags.tokens).long()
    if len(tok) > limit:
        tok = tok[np.linspace(0, len(tok) - 1, limit).round().astype(int)]
    return tok


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


def stored_attributes(net: MusicVAENet, frags: Fragments, limit: int = 4000,
                      seed: int = 0) -> tuple[dict[str, np.ndarray], dict]:
    """density: the quarter of training fragments with the most notes minus the quarter
    with the fewest; major: fragments of chorales in major keys minus minor keys."""
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(frags))[:limit]
    tok = torch.from_numpy(frags.tokens[pick]).long()
    z = encode_tokens(net, tok)
    dens = note_count(frags.tokens[pick])
    q1, q3 = np.quantile(dens, [0.25, 0.75])
    out: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {}
    few, many = dens <= q1, dens >= q3
    if few.any() and many.any() and q3 > q1:
        out["density"] = attribute_vector(z[many], z[few])
        info["density"] = {"notes_many": float(dens[many].mean()),
                           "notes_few": float(dens[few].mean()),
                           "fragments": [int(many.sum()), int(few.sum())]}
    mode = frags.major[pick]
    if (mode == 1).any() and (mode == 0).any():
        out["major"] = attribute_vector(z[mode == 1], z[mode == 0])
        info["major"] = {"fragments": [int((mode == 1).sum()), int((mode == 0).sum())]}
    return out, info


def _train(train, held, out, cfg: MusicVAEConfig, device, progress, record) -> VAETrainResult:
    notes: list[str] = []
    ckpt, cfg, changed = checkpoints.resume_checkpoint(cfg, out, load_checkpoint,
                                                       config_from_dict, BUDGET_FIELDS)
    if ckpt is not None:
        notes.append(f"resumed from {out.name} at step {ckpt['run']['step']}" +
                     (f", with a new {' and '.join(changed)}" if changed else
                      "; the same model as an uninterrupted run"))
    frags = make_fragments(train, cfg.hop_size, cfg.transpose_range)
    if not held:
        raise ReverieError("nothing held out to measure on: give more pieces (the split keeps "
                           "about a fifth of them apart)")
    held_tok = _fixed_held_out(held).to(device)
    torch.set_rng_state(torch.Generator().manual_seed(cfg.seed).get_state())
    gen = torch.Generator().manual_seed(cfg.seed)        # batches, shifts and z noise
    net = MusicVAENet(cfg).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate)
    run = {"step": 0, "train_loss": None, "val_loss": None, "history": [], "fragments": 0}
    elapsed = 0.0
    if ckpt is not None:
        elapsed = checkpoints.restore_training(ckpt, out, net, optimizer, gen, run)
    budget_s = cfg.minutes * 60.0 if cfg.minutes else None

    def frac_done() -> float:
        return elapsed / budget_s if budget_s is not None else run["step"] / cfg.max_iters

    def checkpoint() -> dict:
        return checkpoints.training_state(FORMAT, FORMAT_VERSION, cfg, net, optimizer, run,
                                          gen, elapsed if budget_s is not None else None,
                                          data=record)

    def held_loss() -> tuple[float, float]:
        f = evaluate_tokens(net, held_tok, sampled=0)
        return f["r_loss"] + beta_at(run["step"], cfg) * max(
            f["kl_nats"] - cfg.free_bits * math.log(2), 0.0), f["kl_bits"]

    net.train()
    smooth = run["train_loss"]
    session_frags, session_seconds = 0, 0.0
    started = t_last = time.perf_counter()
    free_nats = cfg.free_bits * math.log(2.0)
    while frac_done() < 1.0:
        step = run["step"]
        for g in optimizer.param_groups:
            g["lr"] = lr_at(step, cfg)
        tok = _batch(frags, cfg.batch_size, gen).to(device)
        o = losses(net, tok, gen)
        beta = beta_at(step, cfg)
        loss = o["r_loss"].mean() + beta * torch.clamp(o["kl"] - free_nats, min=0).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        optimizer.step()
        run["step"] += 1
        run["fragments"] += cfg.batch_size
        now = time.perf_counter()
        elapsed += now - t_last
        session_seconds += now - t_last
        session_frags += cfg.batch_size
        lv = loss.item()
        smooth = lv if smooth is None else 0.95 * smooth + 0.05 * lv
        run["train_loss"] = smooth
        if run["step"] % cfg.eval_interval == 0:
            run["val_loss"], kl_bits = held_loss()
            run["history"].append({"step": run["step"], "train_loss": smooth,
                                   "val_loss": run["val_loss"], "kl_bits": kl_bits,
                                   "beta": beta})
            show_preview(progress, {"series": {
                "train": [(h["step"], h["train_loss"]) for h in run["history"]],
                "held-out": [(h["step"], h["val_loss"]) for h in run["history"]]},
                "xlabel": "step", "ylabel": "nats per fragment"})
        if out is not None and run["step"] % cfg.checkpoint_every == 0:
            save_checkpoint(checkpoint(), out)
        t_last = time.perf_counter()
        msg = (f"loss {smooth:.2f}" + (f", held-out {run['val_loss']:.2f}" if run["val_loss"]
                                       is not None else "") + f" nats/fragment, beta {beta:.3f}")
        if budget_s is not None:
            progress(int(elapsed), int(budget_s), msg)
        else:
            progress(run["step"], cfg.max_iters, msg)
    run["val_loss"], kl_bits = held_loss()
    run["history"].append({"step": run["step"], "train_loss": smooth, "val_loss": run["val_loss"],
                           "kl_bits": kl_bits, "beta": beta_at(run["step"], cfg)})
    evaluation = evaluate_tokens(net, held_tok, seed=cfg.seed)
    attrs, attr_info = stored_attributes(net, frags, seed=cfg.seed)
    final = checkpoint()
    final["attributes"] = {k: torch.from_numpy(v) for k, v in attrs.items()}
    final["evaluation"] = evaluation
    net.cpu().eval()
    figures = {"steps": run["step"], "train_loss": smooth, "val_loss": run["val_loss"],
               "evaluation": evaluation, "attributes": attr_info,
               "fragments_per_second": session_frags / max(session_seconds, 1e-9),
               "params": count_params(net), "train_pieces": len(train),
               "held_out_pieces": len(held), "train_fragments": len(frags),
               "held_out_fragments": int(len(held_tok)), "history": run["history"]}
    if budget_s is not None:
        notes.append(f"trained for a wall-clock budget ({cfg.minutes:g} minutes, {run['step']} "
                     f"steps here): the model depends on this machine's speed; set max_iters "
                     f"for a repeatable run")
    return VAETrainResult(net, final, mechanism="train_vae", config=cfg.replace(resume=False),
                          figures=figures, notes=notes,
                          deterministic=budget_s is None and not changed,
                          timings={"train": time.perf_counter() - started,
                                   "per_step": session_seconds / max(1, run["step"])})


# ---------------------------------------------------------------------------------------
# 5. The latent space
# ---------------------------------------------------------------------------------------

def as_vae(model) -> MusicVAE:
    if isinstance(model, MusicVAE):
        return model
    if isinstance(model, VAETrainResult):
        return model.vae
    if model is None:
        raise ReverieError(f"a MusicVAE model is needed; {FIX}")
    if not isinstance(model, (str, os.PathLike)):
        raise ReverieError(f"a MusicVAE model is a file `reverie music train-vae` wrote, or one "
                           f"loaded with load_vae; got {type(model).__name__}")
    return load_vae(model)


_BUILTIN = re.compile(r"^builtin:chorales/([^@]+?)(?:@(\d+))?$")


def _builtin_fragment(text: str) -> Chorale:
    """builtin:chorales/NAME[@BAR]: two bars of a chorale music21 ships, from bar BAR
    (counted in 4/4 from the first frame; default 1)."""
    m = _BUILTIN.match(text)
    name, bar = m.group(1), int(m.group(2) or 1)
    stem = name.rsplit(".", 1)[0] if name.endswith((".mxl", ".xml", ".krn")) else name
    found = [c for c in ch.load_chorales() if c.name in (name, stem)]
    if not found:
        raise ReverieError(f"no chorale named {name!r} in builtin:chorales; give a name such as "
                           f"bwv269 (see music21's corpus)")
    c = found[0]
    start = 16 * (bar - 1)
    if bar < 1 or start + FRAMES > len(c):
        raise ReverieError(f"{c.name} has {len(c) // 16} bars; start two bars at a bar from 1 "
                           f"to {max(1, (len(c) - FRAMES) // 16 + 1)}")
    tok = window_tokens(to_tokens(c.pitches, c.onsets), c.pitches, start)
    out = from_tokens(tok, f"{c.name}@{bar}")
    out.key = c.key
    return out


def fragment_of(x, what: str = "fragment") -> tuple[Chorale, list[str]]:
    """A 2-bar, 4-voice fragment from a MIDI/MusicXML path, `builtin:chorales/NAME@BAR`, a
    Chorale or a (T, 4) pitch array: its first 32 sixteenths. Pitches outside 36..81 are
    moved by octaves into that range (said in the notes)."""
    notes: list[str] = []
    if isinstance(x, Chorale):
        c = x
    elif isinstance(x, np.ndarray):
        if x.ndim != 2 or x.shape[1] != 4:
            raise ReverieError(f"the {what} must be a (frames, 4) array of pitches; got shape "
                               f"{x.shape}")
        c = ch.from_array(x, what)
    elif isinstance(x, (str, os.PathLike)):
        s = os.fspath(x)
        c = _builtin_fragment(s) if _BUILTIN.match(s) else ch.read_score(s)
    elif x is None:
        raise ReverieError(f"no {what} given; give a MIDI or MusicXML file of at least 2 bars")
    else:
        raise ReverieError(f"the {what} must be a MIDI or MusicXML file; got "
                           f"{type(x).__name__}")
    if len(c) < FRAMES:
        raise ReverieError(f"the {what} {c.name} is {len(c)} sixteenths long; the model reads "
                           f"2 bars of 4/4 (32 sixteenths): give a longer one")
    if np.isnan(c.pitches[:FRAMES]).all():
        raise ReverieError(f"the {what} {c.name} has no notes in its first 2 bars; give one "
                           f"that starts with music")
    if len(c) > FRAMES:
        notes.append(f"the {what} {c.name} is {len(c) / 16:g} bars long; its first 2 are used")
    p = c.pitches[:FRAMES].copy()
    moved = 0
    while _out_of_range(p):
        low, high = p < LOW, p > HIGH
        moved += int(low.sum() + high.sum())
        p = np.where(low, p + 12, np.where(high, p - 12, p))
    if moved:
        notes.append(f"notes of the {what} outside MIDI pitches {LOW}..{HIGH} were moved by "
                     f"octaves into that range")
    return Chorale(c.name, p, c.onsets[:FRAMES].copy(), c.key, c.fermatas[:FRAMES].copy()), notes


def fragment_tokens(c: Chorale) -> torch.Tensor:
    return torch.from_numpy(to_tokens(c.pitches[:FRAMES], c.onsets[:FRAMES]))


def encode(vae: MusicVAE, fragments: Sequence[Chorale]) -> np.ndarray:
    """The mean of q(z|x) of each fragment: (N, z_size)."""
    tok = torch.stack([fragment_tokens(f) for f in fragments])
    return encode_tokens(vae.net, tok)


def decode(vae: MusicVAE, z: np.ndarray, temperature: float = 0.5, seed: int = 0,
           names: Optional[Sequence[str]] = None) -> list[Chorale]:
    """Fragments decoded from codes (N, z_size), frame by frame at `temperature`."""
    z = torch.as_tensor(np.asarray(z, np.float32)).reshape(-1, vae.config.z_size)
    gen = torch.Generator().manual_seed(seed)
    tok = vae.net.sample(z.to(next(vae.net.parameters()).device), temperature, gen).cpu().numpy()
    names = list(names) if names is not None else [f"z{i}" for i in range(len(tok))]
    return [from_tokens(t, n) for t, n in zip(tok, names)]


def describe(c: Chorale) -> dict:
    """What the figures compare: notes started, mean pitch, the key it suggests."""
    from reverie.music.coconet import estimate_key
    p = c.pitches[~np.isnan(c.pitches)]
    return {"notes": int(c.onsets.sum()), "mean_pitch": float(p.mean()) if p.size else None,
            "key_estimated": estimate_key(c.pitches) if p.size else ""}


def agreement(a: Chorale, b: Chorale) -> float:
    """Share of the 32 x 4 cells where two fragments sound the same pitch (or both rest)."""
    pa, pb = a.pitches[:FRAMES], b.pitches[:FRAMES]
    same = (pa == pb) | (np.isnan(pa) & np.isnan(pb))
    return float(same.mean())


@dataclass
class FragmentsResult(Result):
    """Fragments in a row (a path, an attribute sweep, an analogy): one MIDI and WAV of
    them back to back, a piano roll, the sidecar."""
    fragments: list[Chorale]
    labels: list[str]
    suffixes = (".mid", ".midi")

    @property
    def joined(self) -> Chorale:
        from reverie.music.coconet import estimate_key
        p = np.concatenate([f.pitches for f in self.fragments])
        o = np.concatenate([f.onsets for f in self.fragments])
        return Chorale(" | ".join(self.labels), p, o, estimate_key(p))

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.music import score
        qpm = getattr(self.config, "qpm", 80.0)
        whole = self.joined
        paths = {"midi": score.write_midi(whole, path, qpm)}
        paths["audio"], engine = score.write_wav(whole, path.with_suffix(".wav"), qpm)
        self.figures["synthesiser"] = engine
        paths["piano_roll"] = score.write_piano_roll(
            whole, path.with_suffix(".png"),
            title=f"{self.mechanism}, 2 bars each: " + " | ".join(self.labels))
        return paths

    def summary(self) -> str:
        per = self.figures.get("fragments", [])
        dens = " -> ".join(str(f["notes"]) for f in per)
        return (f"{len(self.fragments)} fragments of 2 bars ({', '.join(self.labels)}); "
                f"notes per fragment: {dens}")


def _inputs_record(**sources) -> dict:
    def one(v) -> dict:
        if isinstance(v, (list, tuple)):
            return {"many": [one(x) for x in v]}
        if isinstance(v, (str, os.PathLike)) and not _BUILTIN.match(os.fspath(v)):
            return ch.record_source(v)
        if isinstance(v, str):
            return {"value": v}            # builtin:chorales/NAME@BAR
        if v is None:
            return {"source": None}
        return {"source": None, "note": f"given in memory ({type(v).__name__})"}
    return {k: one(v) for k, v in sources.items()}


def _device_of(vae: MusicVAE, name: str) -> str:
    from reverie.core.device import resolve_device
    dev = resolve_device(name)
    vae.net.to(dev)
    return str(dev)


def _finish(cls_fragments: list[Chorale], labels: list[str], vae: MusicVAE, cfg, mechanism,
            inputs, notes, started, extra: dict) -> FragmentsResult:
    figures = {"fragments": [dict(describe(f), label=l) for f, l in zip(cls_fragments, labels)],
               **extra}
    if vae.meta.get("evaluation"):
        figures["model_held_out"] = {k: vae.meta["evaluation"].get(k) for k in
                                     ("sampled_note_accuracy", "kl_bits")}
    vae.net.cpu()
    return FragmentsResult(cls_fragments, labels, mechanism=mechanism, config=cfg,
                           inputs=inputs, figures=figures, notes=notes,
                           timings={"total": time.perf_counter() - started},
                           resolved={"device": str(cfg.device)})


def interpolate(model=None, a=None, b=None, config: Optional[InterpolateConfig] = None, *,
                progress: Progress = silent, **overrides) -> FragmentsResult:
    """A path of `steps` fragments from A to B: both encoded, the codes joined by slerp (or
    a line), each point decoded. The ends are the model's reconstructions of A and B."""
    from reverie.latent.analogy import interpolate as path
    cfg = make_config(InterpolateConfig, config, **overrides)
    started = time.perf_counter()
    inputs = _inputs_record(model=model if isinstance(model, (str, os.PathLike)) else None,
                            a=a, b=b)
    vae = as_vae(model)
    fa, na = fragment_of(a, "fragment A")
    fb, nb = fragment_of(b, "fragment B")
    cfg = cfg.replace(device=_device_of(vae, cfg.device))
    za, zb = encode(vae, [fa, fb])
    zs = path(za, zb, cfg.steps, cfg.method)
    progress(1, 2, "decoding")
    labels = ["A"] + [f"{t:.2f}" for t in np.linspace(0, 1, cfg.steps)[1:-1]] + ["B"]
    frags = decode(vae, zs, cfg.temperature, cfg.seed, labels)
    progress(2, 2, "done")
    extra = {"agreement_with_A": [agreement(f, fa) for f in frags],
             "agreement_with_B": [agreement(f, fb) for f in frags],
             "input_notes": [int(fa.onsets.sum()), int(fb.onsets.sum())],
             "latent_distance": float(np.linalg.norm(za - zb))}
    return _finish(frags, labels, vae, cfg, "interpolate_music", inputs, na + nb, started, extra)


def apply_attribute(model=None, fragment=None, config: Optional[AttributeConfig] = None, *,
                    positive=None, negative=None, progress: Progress = silent,
                    **overrides) -> FragmentsResult:
    """The fragment's code plus each amount times an attribute vector, decoded. The vector
    is one the model stores (density, major) or, with `positive` and `negative` (files or
    folders of MIDI/MusicXML, 2 bars or more each), the mean code of the positives minus
    the mean code of the negatives."""
    cfg = make_config(AttributeConfig, config, **overrides)
    started = time.perf_counter()
    inputs = _inputs_record(model=model if isinstance(model, (str, os.PathLike)) else None,
                            fragment=fragment, positive=positive, negative=negative)
    vae = as_vae(model)
    frag, notes = fragment_of(fragment)
    cfg = cfg.replace(device=_device_of(vae, cfg.device))
    if not cfg.amounts:
        raise ConfigError("amounts", "give at least one amount, e.g. -1 0 1")
    if (positive is None) != (negative is None):
        raise ReverieError("give both positive and negative examples (or neither, to use an "
                           "attribute the model stores)")
    if positive is not None:
        zp = encode(vae, _fragment_set(positive, "positive"))
        zn = encode(vae, _fragment_set(negative, "negative"))
        vector = attribute_vector(zp, zn)
        name = "positive minus negative"
    else:
        if cfg.attribute not in vae.attributes:
            raise ReverieError(f"this model stores no {cfg.attribute!r} attribute vector (it "
                               f"has: {', '.join(vae.attributes) or 'none'}); choose another, "
                               f"or give positive and negative examples")
        vector = vae.attributes[cfg.attribute]
        name = cfg.attribute
    z = encode(vae, [frag])[0]
    amounts = [float(a) for a in cfg.amounts]
    zs = np.stack([z + a * vector for a in amounts])
    progress(1, 2, "decoding")
    labels = [f"{a:+g} {name}" for a in amounts]
    frags = decode(vae, zs, cfg.temperature, cfg.seed, labels)
    progress(2, 2, "done")
    extra = {"attribute": name, "amounts": amounts,
             "vector_norm": float(np.linalg.norm(vector)),
             "input_notes": int(frag.onsets.sum()),
             "notes_by_amount": {f"{a:g}": int(f.onsets.sum()) for a, f in zip(amounts, frags)}}
    return _finish(frags, labels, vae, cfg, "attribute_music", inputs, notes, started, extra)


def _fragment_set(source, what: str) -> list[Chorale]:
    """Files, folders of MIDI/MusicXML, or Chorales -> 2-bar fragments (each file's first 2
    bars)."""
    items = source if isinstance(source, (list, tuple)) else [source]
    out: list[Chorale] = []
    for item in items:
        if isinstance(item, (str, os.PathLike)) and Path(item).is_dir():
            files = sorted(f for f in Path(item).rglob("*") if f.suffix.lower() in ch.SCORE_SUFFIXES)
            if not files:
                raise ReverieError(f"the {what} folder {item} holds no MIDI or MusicXML files; "
                                   f"give .mid or .musicxml scores of 2 bars or more")
            out += [fragment_of(f, f"{what} example")[0] for f in files]
        else:
            out.append(fragment_of(item, f"{what} example")[0])
    return out


def analogy(model=None, a=None, b=None, c=None, config: Optional[AnalogyConfig] = None, *,
            progress: Progress = silent, **overrides) -> FragmentsResult:
    """A is to B as C is to D: D decoded from enc(B) - enc(A) + enc(C), through
    `reverie.latent.analogy.Codec`, the arithmetic every latent space in Reverie shares.
    The output plays A, B, C and D in turn (A, B and C as the model reconstructs them)."""
    from reverie.latent.analogy import Codec
    cfg = make_config(AnalogyConfig, config, **overrides)
    started = time.perf_counter()
    inputs = _inputs_record(model=model if isinstance(model, (str, os.PathLike)) else None,
                            a=a, b=b, c=c)
    vae = as_vae(model)
    notes: list[str] = []
    frags_in = []
    for x, what in ((a, "fragment A"), (b, "fragment B"), (c, "fragment C")):
        f, n = fragment_of(x, what)
        frags_in.append(f)
        notes += n
    cfg = cfg.replace(device=_device_of(vae, cfg.device))
    codec = Codec(encode=lambda f: encode(vae, [f])[0], decode=lambda z: z)
    zd = codec.analogy(*frags_in)
    zs = np.stack([*encode(vae, frags_in), zd])
    labels = ["A", "B", "C", "D = B - A + C"]
    frags = decode(vae, zs, cfg.temperature, cfg.seed, labels)
    progress(1, 1, "done")
    extra = {"notes_in": [int(f.onsets.sum()) for f in frags_in],
             "agreement_D_with_C": agreement(frags[3], frags_in[2]),
             "agreement_D_with_B": agreement(frags[3], frags_in[1])}
    return _finish(frags, labels, vae, cfg, "analogy_music", inputs, notes, started, extra)
