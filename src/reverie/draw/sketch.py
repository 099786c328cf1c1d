"""sketch-rnn: drawings as sequences of pen strokes (Ha & Eck 2017, "A Neural
Representation of Sketch Drawings", arXiv:1704.03477 / ICLR 2018).

References read (the code here is our own): magenta's `magenta/models/sketch_rnn`
(`model.py`: the graph, losses, `sample`; `utils.py`: stroke formats, augmentation;
`sketch_rnn_train.py`: `get_default_hparams`, the training loop and `evaluate_model`), and
the PyTorch port alexis-jacq/Pytorch-Sketch-RNN.

Three modules, each read top to bottom: this one (the model, its data and its loss, the
checkpoint loader, evaluation, and encoding and decoding drawings), `sketch_train` (the
training run, a `reverie.train` Task) and `sketch_draw` (rendering and the mechanisms).
Here:

1. `SketchConfig`: every knob, named as magenta's HParams name it, with its defaults
   except where a CPU cannot afford them (said in each help); the shared training knobs
   (max_steps, minutes, eval_every, ...) come from `reverie.train.TrainConfig`.
2. Data: a sketch-rnn `.npz` read safely by `reverie.io.strokes`, drawings longer than
   `max_seq_len` dropped (which then becomes the longest drawing kept), offsets divided
   by the training split's scale factor, and magenta's augmentation
   (`random_scale_factor`, `augment_stroke_prob`).
3. The model: a bidirectional LSTM encoder reads the drawing (stroke-5 rows) and gives
   (mu, sigma) of a latent z (`z_size`); the decoder LSTM starts from tanh(W z) and reads
   [previous stroke, z] at each step (conditional), or starts from zeros and reads the
   previous stroke alone (`conditional=False`, the paper's unconditional model). Its output
   parameterises a mixture of `num_mixture` bivariate normals for (dx, dy) and a softmax over
   the three pen states. The decoder is a plain LSTM with magenta's recurrent dropout
   (Semeniuta et al. 2016: dropout on the cell's candidate, keep probability
   `recurrent_dropout_prob`), not the layer-norm or HyperLSTM cells: those need a cell
   written step by step in Python even without dropout, where the plain LSTM runs as one
   fused kernel (`use_recurrent_dropout=False`), and magenta's own default decoder is the
   plain LSTM with recurrent dropout.
4. Loss (the paper's eq. 9-11, magenta's `get_lossfunc`): L_R = L_s + L_p, each a sum over
   steps divided by `max_seq_len` and averaged over the batch; the offset term only up to
   the end of each drawing, the pen term over every step (padding included, where the
   model must keep saying "ended"), in training and in evaluation alike, as magenta's
   evaluate_model does (its eval model is built with is_training=1; only its inference
   mode masks the pen term). L_KL is the KL divergence of
   N(mu, sigma) from N(0, I) averaged over z's dimensions, floored at `kl_tolerance`.
   Loss = L_R + w_KL L_KL with w_KL annealed from `kl_weight_start` towards `kl_weight` at
   `kl_decay_rate` per step; the learning rate decays from `learning_rate` to
   `min_learning_rate` at `decay_rate` per step; Adam; gradients clipped by value at
   `grad_clip` (magenta's tf.clip_by_value).
5. Checkpoints: `load_sketch` gives a trained model back (`sketch_train.train_sketch`
   writes them).
6. Evaluation (`evaluate_split`): L_R and L_KL on a split, magenta's `evaluate_model`.
7. Drawing: `decode` (temperature; 0 is greedy: the likeliest mixture's mean and the likeliest
   pen state) and `encode`; the mechanisms built on them (`sample_sketch`,
   `reconstruct_sketch`, `interpolate_sketch`, `analogy_sketch`) are in `sketch_draw`.
"""
from __future__ import annotations

import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import ConfigError, knob, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.io import checkpoints
from reverie.io import strokes as S
from reverie.train import TrainConfig, checkpoint_every_knob, eval_every_knob, max_steps_knob

FORMAT = "reverie-sketch-rnn"
FORMAT_VERSION = 1
LOG_2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------------------

@dataclass
class SketchConfig(TrainConfig):
    """Every knob of a sketch-rnn model and its training run, named as magenta's HParams.

    Paper / magenta defaults except the sizes: magenta trains a 256-unit encoder, a 512-unit
    decoder and a 128-d z on a GPU for about a million steps of 100 drawings; on 2 CPU cores
    a step of that model takes ~2 s, so the defaults here are a 128-unit encoder, a 256-unit
    decoder and a 64-d z, four times cheaper per step (bench/drawing_strokes.py). Set
    enc_rnn_size=256 dec_rnn_size=512 z_size=128 for the paper's model.
    """
    # model
    conditional: bool = knob(True, "encode the drawing to z and condition the decoder on it "
                             "(a VAE); false: the paper's unconditional decoder alone")
    enc_rnn_size: int = knob(128, "encoder LSTM units per direction (paper: 256; smaller for "
                             "a CPU)", min=1)
    dec_rnn_size: int = knob(256, "decoder LSTM units (paper: 512; smaller for a CPU)", min=1)
    z_size: int = knob(64, "latent vector size (paper: 128; smaller for a CPU)", min=1)
    num_mixture: int = knob(20, "bivariate normals in the mixture for each offset (paper: 20)",
                            min=1)
    use_recurrent_dropout: bool = knob(False, "recurrent dropout in the decoder (Semeniuta "
                                       "et al.; magenta's default is on): the cell then runs "
                                       "step by step in Python, about 4x slower on a CPU than "
                                       "the fused LSTM used when off")
    recurrent_dropout_prob: float = knob(0.9, "keep probability of the recurrent dropout "
                                         "(magenta: 0.9)", above=0, max=1)
    # data
    max_seq_len: int = knob(250, "longest drawing in points; longer ones are left out "
                            "(magenta: 250). The losses are sums over max_seq_len steps "
                            "divided by it", min=2)
    fit_max_seq_len: bool = knob(True, "lower max_seq_len to the longest drawing kept, as "
                                 "magenta's load_dataset does, so short drawings are not "
                                 "padded (their reconstruction term shrunk against the KL "
                                 "term); the model then draws at most that many points")
    random_scale_factor: float = knob(0.15, "augmentation: scale x and y each by a random "
                                      "factor in 1 +- this (magenta: 0.15)", min=0, below=1)
    augment_stroke_prob: float = knob(0.10, "augmentation: drop each inner point of a stroke "
                                      "with this probability, merging its offset into the "
                                      "next (magenta: 0.10)", min=0, below=1)
    dequantize: bool = knob(True, "add uniform noise one data unit wide (+-0.5, before the "
                            "scale factor) to every offset while training, when the drawings "
                            "are whole numbers, as stroke data are (dequantisation: Theis, van "
                            "den Oord and Bethge 2016; magenta: none). Without it the mixture "
                            "collapses a normal onto the many exact zeros (sigma -> 0, an "
                            "unbounded likelihood), and that spike draws every uncertain "
                            "stroke straight. The held-out figures read such drawings "
                            "dequantised either way")
    # optimisation (magenta's names and defaults)
    batch_size: int = knob(100, "drawings per step (magenta: 100)", min=1)
    learning_rate: float = knob(1e-3, "Adam's starting learning rate", above=0)
    decay_rate: float = knob(0.9999, "learning-rate decay per step", above=0, max=1)
    min_learning_rate: float = knob(1e-5, "the learning rate decays towards this", min=0)
    kl_weight: float = knob(0.5, "w_KL: the KL term's weight at the end of its annealing "
                            "(paper: 0.5; higher trades reconstruction for a smoother latent "
                            "space)", min=0)
    kl_weight_start: float = knob(0.01, "w_KL at step 0 (the annealing's start)", min=0)
    kl_decay_rate: float = knob(0.99995, "w_KL approaches kl_weight as 1 - this^step",
                                above=0, max=1)
    kl_tolerance: float = knob(0.2, "KL floor per latent dimension: below it the KL term is "
                               "not minimised (paper: 0.2)", min=0)
    grad_clip: float = knob(1.0, "clip every gradient element to +- this (0: off)", min=0)
    # the shared training knobs (reverie.train.TrainConfig), with sketch-rnn's defaults
    max_steps: int = max_steps_knob(10000)
    eval_every: int = eval_every_knob(500)   # magenta's save_every
    checkpoint_every: int = checkpoint_every_knob(500)
    seed: int = seed_knob(0)

    # runs recorded before a field existed trained without it
    ADDED = {"fit_max_seq_len": False, "dequantize": False}
    MODEL_FIELDS = ("conditional", "enc_rnn_size", "dec_rnn_size", "z_size", "num_mixture")

    def check(self) -> None:
        if self.min_learning_rate > self.learning_rate:
            raise ConfigError("min_learning_rate", f"{self.min_learning_rate} is above "
                              f"learning_rate ({self.learning_rate}); the decay ends below it")


# ---------------------------------------------------------------------------------------
# 2. Data
# ---------------------------------------------------------------------------------------

def read_data(source) -> dict[str, list[np.ndarray]]:
    """Drawings by split from a sketch-rnn `.npz`, `builtin:glyphs`, or a dict of lists of
    stroke-3 arrays (`{"train": [...], "valid": [...]}`)."""
    if isinstance(source, dict):
        out = {k: [S._as_drawing(np.asarray(d), f"drawing {i} of {k!r}") for i, d in enumerate(v)]
               for k, v in source.items()}
        if not out.get("train"):
            raise ReverieError("the stroke data has no 'train' drawings; give some")
        return out
    if isinstance(source, str) and source.startswith("builtin:"):
        if source != "builtin:glyphs":
            raise ReverieError(f"unknown stroke data set {source}; built-in: builtin:glyphs")
        return S.glyph_drawings()
    return S.read_strokes(source)


def record_source(x) -> dict:
    """How a result records a data or drawing input: the file's record, or a note."""
    if isinstance(x, (str, os.PathLike)):
        try:
            return record_input(str(x).rsplit(":", 2)[0] if _is_ref(str(x)) else x)
        except ReverieError:   # a builtin: the data-set registry does not know (yet)
            return {"value": str(x)}
    return {"source": None, "note": f"given in memory ({type(x).__name__})"}


def _is_ref(s: str) -> bool:
    parts = s.rsplit(":", 2)
    return len(parts) > 1 and parts[-1].lstrip("-").isdigit()


def pick_drawing(source, split: str = "test", index: int = 0) -> np.ndarray:
    """One stroke-3 drawing: an (N, 3) array, or a sketch-rnn `.npz` path (optionally
    `PATH:SPLIT:INDEX` or `PATH:INDEX`, which override split and index)."""
    if isinstance(source, np.ndarray):
        return S._as_drawing(source, "the drawing")
    s = os.fspath(source)
    if _is_ref(s):
        parts = s.rsplit(":", 2)
        if len(parts) == 3 and not Path(s).exists():
            s, split, index = parts[0], parts[1], int(parts[2])
        else:
            s, index = s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])
    data = read_data(s) if s.startswith("builtin:") else S.read_strokes(s, require=())
    if split not in data:
        raise ConfigError("split", f"{Path(s).name} has no array {split!r} (arrays: "
                                   f"{', '.join(data)}); choose one of them")
    drawings = data[split]
    if not -len(drawings) <= index < len(drawings):
        raise ConfigError("index", f"{index} is out of range: {split!r} holds drawings "
                                   f"0..{len(drawings) - 1}")
    return drawings[index]


class Prepared(NamedTuple):
    splits: dict[str, list[np.ndarray]]   # float32 stroke-3, offsets / scale
    scale: float
    dropped: int
    unit: float        # one unit of the data after scaling (1 / scale), 0 when not whole


def longest_drawing(data: dict[str, list[np.ndarray]], limit: int | None = None) -> int:
    """Points in the longest drawing of any split (of those at most `limit` long): the
    N_max magenta's load_dataset sets max_seq_len to. 0 when none fits."""
    return max((len(d) for split in data.values() for d in split
                if limit is None or len(d) <= limit), default=0)


def prepare(data: dict[str, list[np.ndarray]], max_seq_len: int, scale: float | None = None
            ) -> Prepared:
    """Drop drawings longer than max_seq_len, divide offsets by the training split's scale
    factor (magenta's DataLoader: the same factor for every split)."""
    dropped = 0
    kept = {}
    for name, drawings in data.items():
        ok = [d for d in drawings if len(d) <= max_seq_len]
        dropped += len(drawings) - len(ok)
        kept[name] = ok
    if not kept.get("train"):
        longest = min(len(d) for d in data["train"])
        raise ReverieError(f"every training drawing is longer than max_seq_len ({max_seq_len}); "
                           f"raise it to at least {longest}")
    if scale is None:
        scale = S.scale_factor(kept["train"])
    whole = all(np.array_equal(d[:, :2], np.round(d[:, :2])) for d in kept["train"])
    return Prepared({k: S.normalize(v, scale) for k, v in kept.items()}, scale, dropped,
                    1.0 / scale if whole else 0.0)


def augment_strokes(strokes: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Drop inner points of pen-down runs with probability `prob`, adding their offset to
    the next kept point (magenta utils.augment_strokes)."""
    if prob <= 0 or len(strokes) < 3:
        return strokes
    out = []
    prev_pen = 1.0
    count = 0
    for row in strokes:
        pen = row[2]
        count = 0 if (pen == 1 or prev_pen == 1) else count + 1
        if pen == 0 and prev_pen == 0 and count > 2 and rng.random() < prob and out:
            out[-1] = out[-1].copy()
            out[-1][:2] += row[:2]
        else:
            out.append(row.copy())
            prev_pen = pen
    return np.array(out, dtype=np.float32)


def make_batch(drawings: Sequence[np.ndarray], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stroke-5 batch (B, max_len + 1, 5) with the start token S0 = (0, 0, 1, 0, 0) first
    (magenta pad_batch), and the lengths (B,)."""
    out = np.zeros((len(drawings), max_len + 1, 5), dtype=np.float32)
    lengths = np.zeros(len(drawings), dtype=np.int64)
    for i, d in enumerate(drawings):
        out[i, 1:] = S.to_stroke5(d, max_len)
        lengths[i] = len(d)
    out[:, 0, 2] = 1
    return torch.from_numpy(out), torch.from_numpy(lengths)


def random_batch(drawings: list[np.ndarray], cfg: SketchConfig, gen: torch.Generator,
                 max_len: int, unit: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch: drawings drawn without replacement (with, when there are fewer than
    a batch), dequantised (uniform noise `unit` wide on each offset), scaled at random and
    thinned (magenta DataLoader.random_batch)."""
    n = len(drawings)
    if n >= cfg.batch_size:
        idx = torch.randperm(n, generator=gen)[:cfg.batch_size].tolist()
    else:
        idx = torch.randint(n, (cfg.batch_size,), generator=gen).tolist()
    rng = np.random.default_rng(int(torch.randint(2 ** 62, (1,), generator=gen)))
    batch = []
    for i in idx:
        d = drawings[i].copy()
        if unit > 0:
            d[:, :2] += (rng.random((len(d), 2), dtype=np.float32) - 0.5) * unit
        if cfg.random_scale_factor > 0:
            d[:, 0] *= (rng.random() - 0.5) * 2 * cfg.random_scale_factor + 1.0
            d[:, 1] *= (rng.random() - 0.5) * 2 * cfg.random_scale_factor + 1.0
        batch.append(augment_strokes(d, cfg.augment_stroke_prob, rng))
    return make_batch(batch, max_len)


# ---------------------------------------------------------------------------------------
# 3. The model
# ---------------------------------------------------------------------------------------

class Mixture(NamedTuple):
    """The decoder's output distribution at each step: (..., M) mixture parameters and
    (..., 3) pen logits."""
    logpi: torch.Tensor
    mu1: torch.Tensor
    mu2: torch.Tensor
    sigma1: torch.Tensor
    sigma2: torch.Tensor
    rho: torch.Tensor
    pen_logits: torch.Tensor


class SketchRNN(nn.Module):
    def __init__(self, cfg: SketchConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.conditional:
            self.encoder = nn.LSTM(5, cfg.enc_rnn_size, batch_first=True, bidirectional=True)
            self.enc_out = nn.Linear(2 * cfg.enc_rnn_size, 2 * cfg.z_size)   # mu, presig
            self.init_state = nn.Linear(cfg.z_size, 2 * cfg.dec_rnn_size)    # h0, c0
            in_size = 5 + cfg.z_size
        else:
            in_size = 5
        # the decoder's weights live in a fused nn.LSTM; the recurrent-dropout path and the
        # step-by-step sampler run the same weights cell by cell
        self.decoder = nn.LSTM(in_size, cfg.dec_rnn_size, batch_first=True)
        self.head = nn.Linear(cfg.dec_rnn_size, 6 * cfg.num_mixture + 3)
        H = cfg.dec_rnn_size
        with torch.no_grad():  # forget-gate bias 1 (magenta's forget_bias=1.0)
            self.decoder.bias_ih_l0[H:2 * H].fill_(1.0)
            self.decoder.bias_hh_l0[H:2 * H].fill_(0.0)
            if cfg.conditional:
                for name in ("bias_ih_l0", "bias_ih_l0_reverse"):
                    b = getattr(self.encoder, name)
                    b[cfg.enc_rnn_size:2 * cfg.enc_rnn_size].fill_(1.0)

    # encoder ------------------------------------------------------------------------
    def encode(self, batch: torch.Tensor, lengths: torch.Tensor):
        """batch (B, T+1, 5) with the start token; returns mu, presig (B, z_size)
        (sigma = exp(presig / 2), magenta's names)."""
        x = batch[:, 1:]
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu().clamp(min=1), batch_first=True,
                                                   enforce_sorted=False)
        _, (h, _) = self.encoder(packed)
        out = self.enc_out(torch.cat([h[0], h[1]], dim=-1))
        return out.chunk(2, dim=-1)

    def start_state(self, z: Optional[torch.Tensor], batch: int):
        H = self.cfg.dec_rnn_size
        if z is None:
            zero = torch.zeros(batch, H, device=self.head.weight.device)
            return zero, zero.clone()
        h, c = torch.tanh(self.init_state(z)).split(H, dim=-1)
        return h.contiguous(), c.contiguous()

    def _inputs(self, strokes: torch.Tensor, z: Optional[torch.Tensor]) -> torch.Tensor:
        if z is None:
            return strokes
        return torch.cat([strokes, z[:, None, :].expand(-1, strokes.shape[1], -1)], dim=-1)

    # decoder ------------------------------------------------------------------------
    def decode_sequence(self, strokes: torch.Tensor, z: Optional[torch.Tensor]) -> torch.Tensor:
        """Teacher-forced decoder outputs (B, T, H) for inputs strokes (B, T, 5)."""
        x = self._inputs(strokes, z)
        h0, c0 = self.start_state(z, x.shape[0])
        if not (self.training and self.cfg.use_recurrent_dropout
                and self.cfg.recurrent_dropout_prob < 1):
            y, _ = self.decoder(x, (h0[None], c0[None]))
            return y
        # recurrent dropout on the candidate g (Semeniuta et al.; magenta's LSTMCell)
        d = self.decoder
        H = self.cfg.dec_rnn_size
        keep = self.cfg.recurrent_dropout_prob
        pre = F.linear(x, d.weight_ih_l0, d.bias_ih_l0 + d.bias_hh_l0)   # (B, T, 4H)
        mask = torch.empty(x.shape[0], x.shape[1], H, device=x.device).bernoulli_(keep) / keep
        h, c = h0, c0
        outs = []
        w_hh = d.weight_hh_l0.t()
        for t in range(x.shape[1]):
            gates = pre[:, t] + h @ w_hh
            i, f, g, o = gates.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * (torch.tanh(g) * mask[:, t])
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs, dim=1)

    def mixture(self, y: torch.Tensor) -> Mixture:
        """Output layer -> mixture parameters (magenta get_mixture_coef)."""
        M = self.cfg.num_mixture
        out = self.head(y)
        pi, mu1, mu2, s1, s2, rho = out[..., :6 * M].split(M, dim=-1)
        pen = out[..., 6 * M:]
        return Mixture(F.log_softmax(pi, dim=-1), mu1, mu2, torch.exp(s1), torch.exp(s2),
                       torch.tanh(rho), pen)

    def forward(self, batch: torch.Tensor, lengths: torch.Tensor,
                generator: Optional[torch.Generator] = None):
        """The mixture for each target step, and (mu, presig) (None when unconditional)."""
        if self.cfg.conditional:
            mu, presig = self.encode(batch, lengths)
            eps = torch.randn(mu.shape, generator=generator, device=mu.device) if generator is not None \
                else torch.randn_like(mu)
            z = mu + torch.exp(presig / 2) * eps
        else:
            mu = presig = z = None
        y = self.decode_sequence(batch[:, :-1], z)
        return self.mixture(y), mu, presig


def build_model(cfg: SketchConfig) -> SketchRNN:
    return SketchRNN(cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------
# 4. Loss
# ---------------------------------------------------------------------------------------

def log_bivariate_normal(x1, x2, mu1, mu2, s1, s2, rho) -> torch.Tensor:
    """log N(x1, x2 | mu, sigma, rho) (the paper's eq. 24-25 of Graves 2013)."""
    n1 = (x1 - mu1) / s1
    n2 = (x2 - mu2) / s2
    one_m_rho2 = (1 - rho * rho).clamp(min=1e-6)
    z = n1 * n1 + n2 * n2 - 2 * rho * n1 * n2
    return -z / (2 * one_m_rho2) - LOG_2PI - torch.log(s1) - torch.log(s2) - 0.5 * torch.log(one_m_rho2)


def losses(mix: Mixture, target: torch.Tensor, max_seq_len: int, mask_pen: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """L_s (offsets) and L_p (pen), each summed over steps / max_seq_len, mean over the batch.
    `target` is (B, T, 5); the offset term stops at the end of each drawing; the pen term
    too when `mask_pen` (magenta's evaluation), else covers every step (its training)."""
    x1, x2 = target[..., 0:1], target[..., 1:2]
    logp = torch.logsumexp(mix.logpi + log_bivariate_normal(x1, x2, mix.mu1, mix.mu2, mix.sigma1,
                                                             mix.sigma2, mix.rho), dim=-1)
    live = 1.0 - target[..., 4]                     # rows before the end
    ls = -(logp * live).sum(dim=1) / max_seq_len
    pen = F.cross_entropy(mix.pen_logits.reshape(-1, 3), target[..., 2:].argmax(-1).reshape(-1),
                          reduction="none").reshape(target.shape[:2])
    if mask_pen:
        pen = pen * live
    lp = pen.sum(dim=1) / max_seq_len
    return ls.mean(), lp.mean()


def kl_loss(mu: torch.Tensor, presig: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, I)) averaged over z's dimensions and the batch (no floor)."""
    return -0.5 * torch.mean(1 + presig - mu * mu - torch.exp(presig))


def schedules(step: int, cfg: SketchConfig) -> tuple[float, float]:
    """(learning rate, w_KL) at a step (magenta's train loop)."""
    lr = (cfg.learning_rate - cfg.min_learning_rate) * cfg.decay_rate ** step + cfg.min_learning_rate
    wkl = cfg.kl_weight - (cfg.kl_weight - cfg.kl_weight_start) * cfg.kl_decay_rate ** step
    return lr, wkl


# ---------------------------------------------------------------------------------------
# 5. Checkpoints
# ---------------------------------------------------------------------------------------

def load_checkpoint(path: str | os.PathLike) -> dict:
    return checkpoints.load_checkpoint(path, FORMAT, FORMAT_VERSION, "a Reverie sketch model", "use a model made by `reverie sketch train`")


def config_from_dict(d: dict) -> SketchConfig:
    return checkpoints.saved_config(SketchConfig, d)


class Sketcher(NamedTuple):
    """A trained sketch model (eval mode, CPU) and the scale its offsets were divided by."""
    model: SketchRNN
    scale: float


def load_sketch(path: str | os.PathLike) -> Sketcher:
    ckpt = load_checkpoint(path)
    try:
        cfg = config_from_dict(ckpt["config"])
        with torch.random.fork_rng(devices=[]):
            model = build_model(cfg)
        model.load_state_dict(ckpt["model"])
        scale = float(ckpt["scale"])
    except (RuntimeError, KeyError, TypeError, AttributeError, ValueError, ReverieError):
        raise ReverieError(f"{path} does not match its own configuration (damaged or edited); "
                           f"retrain it with `reverie sketch train`") from None
    model.eval()
    return Sketcher(model, scale)

# ---------------------------------------------------------------------------------------
# 6. Evaluation
# ---------------------------------------------------------------------------------------

def dequantized(drawing: np.ndarray, unit: float) -> np.ndarray:
    """A prepared whole-number drawing with uniform noise one `unit` wide on each offset,
    drawn from a seed of the drawing's own values: every model, whatever its seed, its
    scale or the drawings it leaves out, is judged on the same noise."""
    whole = np.rint(drawing / [unit, unit, 1]).astype(np.int64)
    rng = np.random.default_rng(zlib.crc32(whole.tobytes()))
    noise = (rng.random((len(drawing), 2)) - 0.5) * unit
    return np.c_[drawing[:, :2] + noise.astype(np.float32), drawing[:, 2:]]


@torch.no_grad()
def evaluate_split(model: SketchRNN, drawings: list[np.ndarray], batch_size: int = 100,
                   seed: int = 0, max_seq_len: Optional[int] = None, unit: float = 0.0) -> dict:
    """L_R (= L_s + L_p), L_KL (raw and floored at kl_tolerance) on prepared drawings, as
    magenta's evaluate_model: no dropout, the pen loss over all max_seq_len steps (also
    given up to each drawing's end only, `pen_loss_to_end`), z drawn from the posterior (a
    fixed seed, so the same model gives the same figures). Whole-number drawings are read
    dequantised (`unit`: `Prepared.unit`): a density on the exact values themselves can grow
    without bound (Theis et al. 2016)."""
    cfg = model.cfg
    T = max_seq_len or cfg.max_seq_len
    was = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    if unit > 0:
        drawings = [dequantized(d, unit) for d in drawings]
    tot = {"ls": 0.0, "lp": 0.0, "lp_end": 0.0, "kl": 0.0}
    n = 0
    dev = model.head.weight.device
    for start in range(0, len(drawings), batch_size):
        chunk = drawings[start:start + batch_size]
        batch, lengths = make_batch(chunk, T)
        batch = batch.to(dev)
        if cfg.conditional:
            mu, presig = model.encode(batch, lengths)
            z = mu + torch.exp(presig / 2) * torch.randn(mu.shape, generator=gen).to(dev)
            kl = kl_loss(mu, presig).item()
        else:
            z, kl = None, 0.0
        mix = model.mixture(model.decode_sequence(batch[:, :-1], z))
        ls, lp = losses(mix, batch[:, 1:], T, mask_pen=False)
        _, lp_end = losses(mix, batch[:, 1:], T, mask_pen=True)
        k = len(chunk)
        tot["ls"] += ls.item() * k
        tot["lp"] += lp.item() * k
        tot["lp_end"] += lp_end.item() * k
        tot["kl"] += kl * k
        n += k
    model.train(was)
    ls, lp, lp_end, kl = (tot[k] / max(n, 1) for k in ("ls", "lp", "lp_end", "kl"))
    return {"r_loss": ls + lp, "offset_loss": ls, "pen_loss": lp, "pen_loss_to_end": lp_end,
            "kl_raw": kl,
            "kl_loss": max(kl, cfg.kl_tolerance) if cfg.conditional else 0.0, "drawings": n}


# ---------------------------------------------------------------------------------------
# 7. Drawing: encode, decode
# ---------------------------------------------------------------------------------------

@torch.no_grad()
def encode(model: SketchRNN, drawings: Sequence[np.ndarray]) -> np.ndarray:
    """The posterior means mu (D, z_size) of prepared drawings (offsets / scale): the
    latent vector each drawing gets, without the sampling noise."""
    if not model.cfg.conditional:
        raise ReverieError("this model is unconditional (trained with conditional=false): it has "
                           "no encoder; train a conditional one to encode drawings")
    model.eval()
    T = max(model.cfg.max_seq_len, max(len(d) for d in drawings))
    batch, lengths = make_batch(list(drawings), T)
    mu, _ = model.encode(batch.to(model.head.weight.device), lengths)
    return mu.cpu().numpy().astype(np.float32)


@torch.no_grad()
def decode(model: SketchRNN, z: Optional[np.ndarray], num: int = 1, temperature: float = 0.4,
           seed: int = 0, max_len: Optional[int] = None) -> list[np.ndarray]:
    """Draw `num` drawings (stroke-3, offsets / scale) step by step, from latent vectors z
    (num, z_size) or from nothing (unconditional). Temperature scales the mixture weights'
    logits and the normals' deviations (magenta's sample: sigma * T); 0 is greedy (the
    likeliest component's mean and the likeliest pen state), so the same z gives the same
    drawing."""
    if temperature < 0:
        raise ConfigError("temperature", f"must be 0 or more, got {temperature}; 0 draws the "
                                         f"likeliest strokes")
    model.eval()
    cfg = model.cfg
    max_len = max_len or cfg.max_seq_len
    zt = None
    if cfg.conditional:
        if z is None:
            raise ReverieError("a conditional model draws from latent vectors; give z")
        zt = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, cfg.z_size)
        num = zt.shape[0]
    rng = np.random.default_rng(seed)
    d = model.decoder
    w_ih, w_hh = d.weight_ih_l0, d.weight_hh_l0
    bias = d.bias_ih_l0 + d.bias_hh_l0
    h, c = model.start_state(zt, num)
    prev = torch.zeros(num, 5)
    prev[:, 2] = 1
    rows = [[] for _ in range(num)]
    done = np.zeros(num, dtype=bool)
    for _ in range(max_len):
        x = prev if zt is None else torch.cat([prev, zt], dim=-1)
        gates = F.linear(x, w_ih, bias) + F.linear(h, w_hh)
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        mix = model.mixture(h)
        logpi = mix.logpi.numpy().astype(np.float64)
        pen_logits = mix.pen_logits.numpy().astype(np.float64)
        if temperature <= 0:
            k = logpi.argmax(-1)
            pen = pen_logits.argmax(-1)
        else:
            k = _draw(logpi / temperature, rng)
            pen = _draw(pen_logits / temperature, rng)
        ar = np.arange(num)
        m1, m2 = mix.mu1.numpy()[ar, k], mix.mu2.numpy()[ar, k]
        if temperature <= 0:
            dx, dy = m1, m2
        else:
            # magenta's sample passes sqrt(T) and squares it: the deviations scale by T
            s1 = mix.sigma1.numpy()[ar, k] * temperature
            s2 = mix.sigma2.numpy()[ar, k] * temperature
            r = mix.rho.numpy()[ar, k]
            e1, e2 = rng.standard_normal(num), rng.standard_normal(num)
            dx = m1 + s1 * e1
            dy = m2 + s2 * (r * e1 + np.sqrt(np.clip(1 - r * r, 0, 1)) * e2)
        nxt = torch.zeros(num, 5)
        nxt[:, 0] = torch.as_tensor(dx, dtype=torch.float32)
        nxt[:, 1] = torch.as_tensor(dy, dtype=torch.float32)
        nxt[ar, 2 + torch.as_tensor(pen)] = 1
        for n in range(num):
            if not done[n]:
                if pen[n] == 2:
                    done[n] = True
                else:
                    rows[n].append((float(dx[n]), float(dy[n]), float(pen[n] == 1)))
        if done.all():
            break
        prev = nxt
    return [np.array(r, dtype=np.float32).reshape(-1, 3) for r in rows]


def _draw(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    cdf = np.cumsum(p, axis=-1)
    u = rng.random(len(p))[:, None] * cdf[:, -1:]
    return np.minimum((cdf < u).sum(axis=-1), p.shape[-1] - 1)
