"""sketch-rnn: drawings as sequences of pen strokes (Ha & Eck 2017, "A Neural
Representation of Sketch Drawings", arXiv:1704.03477 / ICLR 2018).

References read (the code here is our own): magenta's `magenta/models/sketch_rnn`
(`model.py`: the graph, losses, `sample`; `utils.py`: stroke formats, augmentation;
`sketch_rnn_train.py`: `get_default_hparams`, the training loop and `evaluate_model`), and
the PyTorch port alexis-jacq/Pytorch-Sketch-RNN.

Read top to bottom:

1. `SketchConfig`: every knob, named as magenta's HParams name it, with its defaults
   except where a CPU cannot afford them (said in each help).
2. Data: a sketch-rnn `.npz` read safely by `reverie.io.strokes`, drawings longer than
   `max_seq_len` dropped, offsets divided by the training split's scale factor, and
   magenta's augmentation (`random_scale_factor`, `augment_stroke_prob`).
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
5. Training (`train_sketch`) with progress, checkpoints and exact resume after a kill, as
   `reverie.text.charlm` does; `load_sketch` gives the model back.
6. Evaluation (`evaluate_split`): L_R and L_KL on a split, magenta's `evaluate_model`.
7. Drawing: `decode` (temperature; 0 is greedy: the likeliest mixture's mean and the likeliest
   pen state), `encode`, and the mechanisms `sample_sketch`, `reconstruct_sketch`,
   `interpolate_sketch`, `analogy_sketch` (the last through `reverie.latent.analogy`).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, show_preview, silent
from reverie.core.result import Result
from reverie.io import strokes as S
from reverie.io import checkpoints
from reverie.io.checkpoints import ModelFileResult, save_checkpoint
from reverie.io.files import check_writable

FORMAT = "reverie-sketch-rnn"
FORMAT_VERSION = 1
LOG_2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------------------

@dataclass
class SketchConfig(Config):
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
                            "(magenta: 250)", min=2)
    random_scale_factor: float = knob(0.15, "augmentation: scale x and y each by a random "
                                      "factor in 1 +- this (magenta: 0.15)", min=0, below=1)
    augment_stroke_prob: float = knob(0.10, "augmentation: drop each inner point of a stroke "
                                      "with this probability, merging its offset into the "
                                      "next (magenta: 0.10)", min=0, below=1)
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
    num_steps: int = knob(10000, "training steps: the budget (ignored when minutes is set; "
                          "magenta trains up to 10 M)", min=1)
    minutes: Optional[float] = knob(None, "train for this wall-clock time instead of "
                                    "num_steps (the model then depends on the machine's speed)",
                                    above=0, unit="minutes")
    # bookkeeping
    eval_every: int = knob(500, "measure the validation loss every N steps (magenta's "
                           "save_every)", min=1, advanced=True)
    checkpoint_every: int = knob(500, "write a checkpoint every N steps (and at the end), so a "
                                 "killed run can resume", min=1, advanced=True)
    resume: bool = knob(False, "continue the run whose checkpoint is the output file")
    threads: Optional[int] = knob(None, "torch CPU threads (auto: $REVERIE_THREADS if set, "
                                  "else the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob(0)
    device: str = device_knob()

    def check(self) -> None:
        if self.min_learning_rate > self.learning_rate:
            raise ConfigError("min_learning_rate", f"{self.min_learning_rate} is above "
                              f"learning_rate ({self.learning_rate}); the decay ends below it")


BUDGET_FIELDS = ("num_steps", "minutes", "eval_every", "checkpoint_every", "threads", "device")


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


class Prepared(NamedTuple):
    splits: dict[str, list[np.ndarray]]   # float32 stroke-3, offsets / scale
    scale: float
    dropped: int


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
    return Prepared({k: S.normalize(v, scale) for k, v in kept.items()}, scale, dropped)


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
                 max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch: drawings drawn without replacement (with, when there are fewer than
    a batch), scaled at random and thinned (magenta DataLoader.random_batch)."""
    n = len(drawings)
    if n >= cfg.batch_size:
        idx = torch.randperm(n, generator=gen)[:cfg.batch_size].tolist()
    else:
        idx = torch.randint(n, (cfg.batch_size,), generator=gen).tolist()
    rng = np.random.default_rng(int(torch.randint(2 ** 62, (1,), generator=gen)))
    batch = []
    for i in idx:
        d = drawings[i].copy()
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
# 5. Checkpoints and training
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


@dataclass
class TrainResult(ModelFileResult):
    model: SketchRNN
    scale: float
    checkpoint: dict

    @property
    def sketcher(self) -> Sketcher:
        return Sketcher(self.model, self.scale)

    def explain(self, folder: Path) -> dict[str, Path]:
        from reverie.io.figures import plot_curves
        return {"loss curves": plot_curves(**loss_curves(self.figures["history"]),
                                           path=Path(folder) / "loss-curves.png")}

    def summary(self) -> str:
        f = self.figures
        return (f"{f['steps']} steps: validation L_R {f['val_r']:.3f}, L_KL {f['val_kl']:.3f}; "
                f"training loss {f['train_loss']:.3f}, {f['drawings_per_second']:.1f} drawings/s")


def loss_curves(history: list[dict]) -> dict:
    return {"series": {"train L_R": [(h["step"], h["train_r"]) for h in history if h.get("train_r") is not None],
                       "valid L_R": [(h["step"], h["val_r"]) for h in history if h.get("val_r") is not None],
                       "valid L_KL": [(h["step"], h["val_kl"]) for h in history if h.get("val_kl") is not None]},
            "xlabel": "step", "ylabel": "nats per step (/ max_seq_len)"}


def _seeded(seed: int) -> None:
    torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())


@torch.no_grad()
def evaluate_split(model: SketchRNN, drawings: list[np.ndarray], batch_size: int = 100,
                   seed: int = 0, max_seq_len: Optional[int] = None) -> dict:
    """L_R (= L_s + L_p), L_KL (raw and floored at kl_tolerance) on prepared drawings, as
    magenta's evaluate_model: no dropout, the pen loss over all max_seq_len steps (also
    given up to each drawing's end only, `pen_loss_to_end`), z drawn from the posterior (a
    fixed seed, so the same model gives the same figures)."""
    cfg = model.cfg
    T = max_seq_len or cfg.max_seq_len
    was = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
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


def _checkpoint(model, optimizer, cfg: SketchConfig, run: dict, gen: torch.Generator,
                scale: float) -> dict:
    return checkpoints.training_state(FORMAT, FORMAT_VERSION, cfg, model, optimizer, run, gen,
                                      scale=scale)


def train_sketch(data=None, config: Optional[SketchConfig] = None, *,
                 out: str | os.PathLike | None = None, progress: Progress = silent,
                 **overrides) -> TrainResult:
    """Train sketch-rnn on stroke data: a sketch-rnn `.npz` (train / valid / test arrays of
    stroke-3 drawings), `builtin:glyphs`, or a dict of lists of (N, 3) arrays.

    With `out`, checkpoints are written every `checkpoint_every` steps and at the end;
    `resume=True` continues the run whose checkpoint `out` is, exactly where it stopped.
    """
    cfg = make_config(SketchConfig, config, **overrides)
    if out is not None:
        out = Path(out)
        out = check_writable(out if out.suffix else out.with_suffix(".pt"))
        if out.suffix.lower() == ".json":
            raise ReverieError(f"{out} would collide with its JSON sidecar; give a .pt name")
    inputs = {"data": _record(data)}
    from reverie.core.device import resolve_device
    from reverie.text.charlm import cpu_threads, free_cores
    device = resolve_device(cfg.device)
    raw = read_data(data)
    threads = cfg.threads or free_cores()
    with cpu_threads(threads) as threads, torch.random.fork_rng(devices=[]):
        result = _train(raw, out, cfg.replace(threads=threads, device=str(device)), device, progress)
    result.inputs = inputs
    result.resolved.update({"device": str(device), "threads": threads})
    if out is not None:
        result.save(out)
    return result


def _train(raw: dict, out: Optional[Path], cfg: SketchConfig, device: torch.device,
           progress: Progress) -> TrainResult:
    notes: list[str] = []
    ckpt, cfg, changed = checkpoints.resume_checkpoint(cfg, out, load_checkpoint,
                                                       config_from_dict, BUDGET_FIELDS)
    if ckpt is not None:
        notes.append(f"resumed from {out.name} at step {ckpt['run']['step']}"
                     + (f", with a new {' and '.join(changed)}" if changed else ""))
    prep = prepare(raw, cfg.max_seq_len, float(ckpt["scale"]) if ckpt is not None else None)
    train = prep.splits["train"]
    valid = prep.splits.get("valid") or []
    if prep.dropped:
        notes.append(f"{prep.dropped} drawing(s) longer than max_seq_len ({cfg.max_seq_len}) "
                     f"were left out")
    if not valid:
        notes.append("the data has no 'valid' drawings; the validation figures are the "
                     "training set's")
        valid = train[:max(1, min(len(train), 500))]
    T = cfg.max_seq_len

    _seeded(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build_model(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    run = {"step": 0, "train_loss": None, "train_r": None, "train_kl": None,
           "val_r": None, "val_kl": None, "history": []}
    elapsed = 0.0
    if ckpt is not None:
        elapsed = checkpoints.restore_training(ckpt, out, model, optimizer, gen, run)
    budget_s = cfg.minutes * 60.0 if cfg.minutes else None

    def frac_done() -> float:
        return elapsed / budget_s if budget_s is not None else run["step"] / cfg.num_steps

    def checkpoint() -> dict:
        record = dict(run, seconds=elapsed) if budget_s is not None else run
        return _checkpoint(model, optimizer, cfg, record, gen, prep.scale)

    def validate() -> None:
        ev = evaluate_split(model, valid, cfg.batch_size, cfg.seed, T)
        run["val_r"], run["val_kl"] = ev["r_loss"], ev["kl_loss"]
        run["history"].append({"step": run["step"], "train_r": run["train_r"],
                               "val_r": run["val_r"], "val_kl": run["val_kl"]})
        show_preview(progress, loss_curves(run["history"]))

    model.train()
    session_steps, session_seconds = 0, 0.0
    started = time.perf_counter()
    t_last = started
    while frac_done() < 1.0:
        lr, wkl = schedules(run["step"], cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch, lengths = random_batch(train, cfg, gen, T)
        batch = batch.to(device)
        mix, mu, presig = model(batch, lengths)
        ls, lp = losses(mix, batch[:, 1:], T, mask_pen=False)
        r = ls + lp
        if cfg.conditional:
            kl = kl_loss(mu, presig)
            loss = r + wkl * torch.clamp(kl, min=cfg.kl_tolerance)
        else:
            kl = torch.zeros(())
            loss = r
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_value_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        run["step"] += 1
        now = time.perf_counter()
        elapsed += now - t_last
        session_seconds += now - t_last
        session_steps += 1
        a = 0.05 if run["train_loss"] is not None else 1.0   # smoothed for the progress line
        for key, v in (("train_loss", loss.item()), ("train_r", r.item()), ("train_kl", kl.item())):
            run[key] = v if run[key] is None else (1 - a) * run[key] + a * v
        if run["step"] % cfg.eval_every == 0:
            validate()
        if out is not None and run["step"] % cfg.checkpoint_every == 0:
            save_checkpoint(checkpoint(), out)
        t_last = time.perf_counter()
        msg = (f"L_R {run['train_r']:.3f}, L_KL {run['train_kl']:.3f}, w_KL {wkl:.3f}" +
               (f", valid L_R {run['val_r']:.3f}" if run["val_r"] is not None else ""))
        if budget_s is not None:
            progress(int(elapsed), int(budget_s), msg)
        else:
            progress(run["step"], cfg.num_steps, msg)

    validate()
    ckpt = checkpoint()
    model.cpu().eval()
    wall = time.perf_counter() - started
    figures = {"steps": run["step"], "train_loss": run["train_loss"], "train_r": run["train_r"],
               "train_kl": run["train_kl"], "val_r": run["val_r"], "val_kl": run["val_kl"],
               "drawings_per_second": session_steps * cfg.batch_size / max(session_seconds, 1e-9),
               "params": count_params(model), "scale_factor": prep.scale,
               "train_drawings": len(train), "valid_drawings": len(prep.splits.get("valid") or []),
               "history": run["history"]}
    if budget_s is not None:
        notes.append(f"trained for a wall-clock budget ({cfg.minutes:g} minutes, {run['step']} "
                     f"steps here): a rerun makes a different model; set num_steps for a "
                     f"repeatable run")
    return TrainResult(model, prep.scale, ckpt, mechanism="train_sketch",
                       config=cfg.replace(resume=False), figures=figures, notes=notes,
                       deterministic=budget_s is None,
                       timings={"train": wall, "per_step": session_seconds / max(1, session_steps)})


# ---------------------------------------------------------------------------------------
# 7. Drawing: encode, decode, render
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


def _cell_polylines(strokes: np.ndarray, size: float, margin: float):
    """A drawing's polylines fitted (aspect kept, centred) into a size x size cell."""
    lines = S.to_polylines(strokes)
    if not lines:
        return []
    pts = np.vstack(lines)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-9))
    k = (size - 2 * margin) / span
    off = (size - (hi - lo) * k) / 2 - lo * k
    return [ln * k + off for ln in lines]


def grid_polylines(rows: Sequence[Sequence[np.ndarray]], cell: float, margin: float
                   ) -> list[tuple[int, int, list[np.ndarray]]]:
    return [(r, c, [ln + np.array([c * cell, r * cell]) for ln in _cell_polylines(d, cell, margin)])
            for r, row in enumerate(rows) for c, d in enumerate(row)]


def grid_png(rows: Sequence[Sequence[np.ndarray]], cell: int = 160, line: float = 1.6):
    """The drawings as a PNG grid (black on white, one drawing per cell, rows as given)."""
    from PIL import Image, ImageDraw
    ncols = max((len(r) for r in rows), default=1)
    ss = 3   # supersampled, then shrunk: smooth lines
    img = Image.new("L", (ncols * cell * ss, max(1, len(rows)) * cell * ss), 255)
    draw = ImageDraw.Draw(img)
    for _, _, lines in grid_polylines(rows, cell * ss, cell * ss * 0.08):
        for ln in lines:
            draw.line([tuple(p) for p in ln.tolist()], fill=0, width=max(1, int(line * ss)),
                      joint="curve")
    return img.resize((ncols * cell, max(1, len(rows)) * cell), Image.LANCZOS)


# ---------------------------------------------------------------------------------------
# 8. Mechanisms
# ---------------------------------------------------------------------------------------

@dataclass
class SketchResult(Result):
    """Drawings in rows (stroke-3, in the data's units), written as a plottable SVG (with a
    PNG beside it) or a PNG grid; `z` the latent vectors drawn from, for `explain`."""
    rows: list[list[np.ndarray]]
    row_labels: list[str] = field(default_factory=list)
    z: Optional[np.ndarray] = field(default=None, repr=False)
    z_labels: list[str] = field(default_factory=list)

    suffixes = (".svg", ".png")

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.files import atomic_path
        img = grid_png(self.rows)
        if path.suffix.lower() == ".png":
            with atomic_path(path) as tmp:
                img.save(tmp, format="PNG")
            return {"grid": path}
        self._write_plot_svg(path)
        preview = path.with_suffix(".png")
        with atomic_path(preview) as tmp:
            img.save(tmp, format="PNG")
        return {"drawing": path, "preview": preview}

    def _write_plot_svg(self, path: Path, cell_mm: float = 40.0, pen_width: float = 0.3) -> None:
        """Through the shared plotter module: paths merged and ordered to cut pen-up travel
        (every segment kept), one pen layer, millimetre units; its plot figures recorded."""
        from reverie.draw import plot
        paths = [ln for _, _, lines in grid_polylines(self.rows, cell_mm, cell_mm * 0.08)
                 for ln in lines]
        ordered, info = plot.order_paths(paths)
        ncols = max((len(r) for r in self.rows), default=1)
        paper = (ncols * cell_mm, max(1, len(self.rows)) * cell_mm)
        plot.write_plot_svg([p for p in ordered], path, paper, 0.0, pen_width, title=self.mechanism)
        self.figures["plot"] = {**plot.plot_figures(ordered), "ordering": info}

    def explain(self, folder: Path) -> dict[str, Path]:
        """The latent path: the z's drawn from, projected on their two main directions."""
        if self.z is None or len(self.z) < 2:
            return {}
        from reverie.io.figures import new_figure, save_figure
        z = np.asarray(self.z, dtype=np.float64)
        zc = z - z.mean(axis=0)
        _, _, vt = np.linalg.svd(zc, full_matrices=False)
        xy = zc @ vt[:2].T if vt.shape[0] >= 2 else np.c_[zc @ vt[:1].T, np.zeros(len(z))]
        fig, ax = new_figure(5, 4)
        ax.plot(xy[:, 0], xy[:, 1], "-o", color="0.3", ms=4)
        for (x, y), lab in zip(xy, self.z_labels or [str(i) for i in range(len(z))]):
            ax.annotate(lab, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
        ax.set_title("latent path (first two principal directions of z)")
        return {"latent path": save_figure(fig, Path(folder) / "latent-path.png")}

    def summary(self) -> str:
        n = sum(len(r) for r in self.rows)
        pts = sum(len(d) for r in self.rows for d in r)
        return f"{n} drawing(s) in {len(self.rows)} row(s), {pts} points"


def as_sketcher(model) -> Sketcher:
    if isinstance(model, (str, os.PathLike)):
        return load_sketch(model)
    if isinstance(model, TrainResult):
        return model.sketcher
    if isinstance(model, Sketcher):
        return model
    raise ReverieError(f"a model is a file `reverie sketch train` wrote, or one loaded with "
                       f"load_sketch; got {type(model).__name__}")


def _record(x) -> dict:
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


def _prep_one(sk: Sketcher, drawing: np.ndarray) -> np.ndarray:
    d = S.normalize([drawing], sk.scale)[0]
    if len(d) > sk.model.cfg.max_seq_len:
        raise ReverieError(f"the drawing has {len(d)} points, more than the model's max_seq_len "
                           f"({sk.model.cfg.max_seq_len}); choose a shorter one")
    return d


def _unscale(sk: Sketcher, drawings: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for d in drawings:
        d = d.copy()
        d[:, :2] *= sk.scale
        out.append(d)
    return out


@dataclass
class SampleConfig(Config):
    num_samples: int = knob(16, "drawings to make", min=1, max=400)
    columns: int = knob(8, "drawings per row of the grid", min=1)
    temperature: float = knob(0.4, "randomness: 0 draws the likeliest strokes, 1 the model's "
                              "own spread (the paper shows 0.1 to 1.0)", min=0, max=2)
    seed: int = seed_knob()


def sample_sketch(model, config: Optional[SampleConfig] = None, *, progress: Progress = silent,
                  **overrides) -> SketchResult:
    """New drawings: from random z ~ N(0, I) (conditional model) or from nothing
    (unconditional)."""
    cfg = make_config(SampleConfig, config, **overrides)
    sk = as_sketcher(model)
    t0 = time.perf_counter()
    z = None
    if sk.model.cfg.conditional:
        z = np.random.default_rng(cfg.seed).standard_normal(
            (cfg.num_samples, sk.model.cfg.z_size)).astype(np.float32)
    drawings = _unscale(sk, decode(sk.model, z, cfg.num_samples, cfg.temperature, cfg.seed))
    progress(1, 1, "drawn")
    rows = [drawings[i:i + cfg.columns] for i in range(0, len(drawings), cfg.columns)]
    return SketchResult(rows, mechanism="sample_sketch", config=cfg,
                        inputs={"model": _record(model)}, z=z,
                        z_labels=[str(i) for i in range(cfg.num_samples)] if z is not None else [],
                        figures={"drawings": len(drawings),
                                 "mean_points": float(np.mean([len(d) for d in drawings]))},
                        timings={"sample": time.perf_counter() - t0})


def _temperatures_default() -> list[float]:
    return [0.0, 0.2, 0.5, 0.8, 1.0]


@dataclass
class ReconstructConfig(Config):
    split: str = knob("test", "which array of the .npz the drawing comes from")
    index: int = knob(0, "which drawing of that array (a `FILE.npz:SPLIT:INDEX` input "
                      "overrides split and index)")
    temperatures: list[float] = knob(factory=_temperatures_default,
                                     help="redraw once at each temperature (0: the likeliest "
                                          "strokes)", min=0, max=2, flag="temperature")
    seed: int = seed_knob()


def reconstruct_sketch(model, drawing, config: Optional[ReconstructConfig] = None, *,
                       progress: Progress = silent, **overrides) -> SketchResult:
    """Encode a drawing to z and redraw it at several temperatures: the original first in
    the row, then one redrawing per temperature."""
    cfg = make_config(ReconstructConfig, config, **overrides)
    sk = as_sketcher(model)
    d = pick_drawing(drawing, cfg.split, cfg.index)
    z = encode(sk.model, [_prep_one(sk, d)])
    redrawn = []
    for i, t in enumerate(cfg.temperatures):
        redrawn += decode(sk.model, z, 1, t, cfg.seed + i)
        progress(i + 1, len(cfg.temperatures), f"temperature {t:g}")
    redrawn = _unscale(sk, redrawn)
    return SketchResult([[S.clean(d)] + redrawn],
                        row_labels=["original, then " + ", ".join(f"T={t:g}" for t in cfg.temperatures)],
                        mechanism="reconstruct_sketch", config=cfg,
                        inputs={"model": _record(model), "drawing": _record(drawing)},
                        z=None, figures={"points_original": len(d),
                                         "points_redrawn": [len(r) for r in redrawn],
                                         "z_norm": float(np.linalg.norm(z))})


@dataclass
class InterpolateConfig(Config):
    split: str = knob("test", "which array of the .npz A and B come from")
    a_index: int = knob(0, "which drawing is A (a `FILE.npz:SPLIT:INDEX` input overrides)")
    b_index: int = knob(1, "which drawing is B")
    steps: int = knob(8, "drawings in the row, A's and B's redrawings included", min=2, max=32)
    method: str = knob("slerp", "path between the latent vectors: slerp (along the sphere, "
                       "as the sketch-rnn notebook does) or linear", choices=("slerp", "linear"))
    temperature: float = knob(0.1, "randomness of each redrawing (0: the likeliest)", min=0, max=2)
    seed: int = seed_knob()


def interpolate_sketch(model, a, b, config: Optional[InterpolateConfig] = None, *,
                       progress: Progress = silent, **overrides) -> SketchResult:
    """A row of drawings between A and B: their latent vectors, interpolated, decoded.
    The first row holds A and B as drawn; the second the path."""
    from reverie.latent.analogy import Codec
    cfg = make_config(InterpolateConfig, config, **overrides)
    sk = as_sketcher(model)
    da, db = pick_drawing(a, cfg.split, cfg.a_index), pick_drawing(b, cfg.split, cfg.b_index)
    za, zb = encode(sk.model, [_prep_one(sk, da), _prep_one(sk, db)])
    codec = Codec(encode=None, decode=None)   # latent vectors in, latent vectors out
    path = np.stack(codec.interpolate(za, zb, cfg.steps, cfg.method))
    drawn = _unscale(sk, decode(sk.model, path, len(path), cfg.temperature, cfg.seed))
    progress(1, 1, "drawn")
    labels = ["A"] + [f"{t:.2f}" for t in np.linspace(0, 1, cfg.steps)[1:-1]] + ["B"]
    return SketchResult([[S.clean(da), S.clean(db)], drawn],
                        row_labels=["A and B as drawn", f"{cfg.method} from A to B"],
                        z=path, z_labels=labels, mechanism="interpolate_sketch", config=cfg,
                        inputs={"model": _record(model), "a": _record(a), "b": _record(b)},
                        figures={"latent_distance": float(np.linalg.norm(zb - za))})


@dataclass
class AnalogyConfig(Config):
    split: str = knob("test", "which array of the .npz A, B and C come from")
    a_index: int = knob(0, "which drawing is A (a `FILE.npz:SPLIT:INDEX` input overrides)")
    b_index: int = knob(1, "which drawing is B")
    c_index: int = knob(2, "which drawing is C")
    temperature: float = knob(0.1, "randomness of the redrawings (0: the likeliest)", min=0, max=2)
    seed: int = seed_knob()


def analogy_sketch(model, a, b, c, config: Optional[AnalogyConfig] = None, *,
                   progress: Progress = silent, **overrides) -> SketchResult:
    """A is to B as C is to ?: decode(z_B - z_A + z_C) (the paper's latent arithmetic,
    through reverie.latent.analogy.Codec). The row: A, B, C as drawn, then the answer."""
    from reverie.latent.analogy import Codec
    cfg = make_config(AnalogyConfig, config, **overrides)
    sk = as_sketcher(model)
    ds = [pick_drawing(x, cfg.split, i) for x, i in ((a, cfg.a_index), (b, cfg.b_index),
                                                    (c, cfg.c_index))]
    codec = Codec(encode=lambda d: encode(sk.model, [_prep_one(sk, d)])[0],
                  decode=lambda z: z)
    zd = codec.analogy(*ds)
    zs = np.stack([codec._z(d) for d in ds] + [zd])
    answer = _unscale(sk, decode(sk.model, zd[None], 1, cfg.temperature, cfg.seed))
    progress(1, 1, "drawn")
    return SketchResult([[S.clean(d) for d in ds] + answer],
                        row_labels=["A, B, C, and ? (z_B - z_A + z_C)"], z=zs,
                        z_labels=["A", "B", "C", "?"], mechanism="analogy_sketch", config=cfg,
                        inputs={"model": _record(model), "a": _record(a), "b": _record(b),
                                "c": _record(c)},
                        figures={"answer_points": len(answer[0])})


def evaluate_sketch(model, data, split: str = "test", seed: int = 0) -> dict:
    """L_R, L_s, L_p and L_KL of a model on one split of stroke data (magenta's
    evaluate_model; the paper's unit: nats per step, sums divided by max_seq_len), beside
    the same figures for the untrained model (the baseline any training must beat)."""
    sk = as_sketcher(model)
    raw = read_data(data)
    if split not in raw:
        raise ReverieError(f"the stroke data has no array {split!r} (arrays: {', '.join(raw)}); "
                           f"choose one of them")
    prep = prepare({split: raw[split], "train": raw.get("train") or raw[split]},
                   sk.model.cfg.max_seq_len, sk.scale)
    drawings = prep.splits[split]
    if not drawings:
        raise ReverieError(f"no drawing of {split!r} fits the model's max_seq_len "
                           f"({sk.model.cfg.max_seq_len})")
    trained = evaluate_split(sk.model, drawings, 100, seed)
    with torch.random.fork_rng(devices=[]):  # the untrained weights' draws stay in here
        torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())
        untrained = evaluate_split(build_model(sk.model.cfg).eval(), drawings, 100, seed)
    return {"split": split, "drawings": len(drawings), "left_out": prep.dropped,
            **trained, "untrained": untrained}
