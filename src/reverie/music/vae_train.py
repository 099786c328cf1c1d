"""Training MusicVAE (magenta's music_vae_train.py and base_model.py) through
`reverie.train`.

The loss of base_model._compute_model_loss: reconstruction cross-entropy summed over the
fragment, plus beta times max(KL - free_bits ln 2, 0), KL in nats against N(0, I); Adam
with MusicVAE's exponential learning-rate decay and global-norm clipping. `VAETask` is
what the one loop (`reverie.train.fit`) trains: it owns the budget, checkpoints (a killed
run resumes exactly), init and DDP. At the end, the held-out figures and the attribute
vectors (computed on the training fragments) are stored in the file.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import torch

from reverie.core.config import make_config
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.io.checkpoints import ModelFileResult
from reverie.music.chorales import Chorale
from reverie.music.coconet_train import loss_curves, training_pieces
from reverie.music.vae import (FIRST_PITCH, FORMAT, FORMAT_VERSION, FRAMES, HOLD, Fragments,
                               MusicVAE, MusicVAEConfig, MusicVAENet, attribute_vector,
                               beta_at, count_params, encode_tokens, load_checkpoint, losses,
                               lr_at, make_fragments, note_count, one_hot, transpose_tokens)
from reverie.train import Env, Task, fit, model_path, optimize


@dataclass
class VAETrainResult(ModelFileResult):
    model: MusicVAENet
    checkpoint: dict

    @property
    def vae(self) -> MusicVAE:
        attrs = {k: v.numpy() for k, v in self.checkpoint.get("attributes", {}).items()}
        return MusicVAE(self.model, self.config, attrs, {})

    def curves(self) -> dict:
        return loss_curves(self.figures["history"], "held-out",
                           "reconstruction + KL, nats per fragment")

    def summary(self) -> str:
        f = self.figures
        e = f.get("evaluation", {})
        return (f"{f['steps']} steps: held-out reconstruction {e.get('r_loss', 0):.1f} nats and "
                f"KL {e.get('kl_bits', 0):.1f} bits per fragment; argmax reconstruction "
                f"accuracy {e.get('sampled_accuracy', 0):.3f} (notes "
                f"{e.get('sampled_note_accuracy', 0):.3f}; from another fragment's code "
                f"{e.get('other_code_note_accuracy', 0):.3f})")


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
        out = losses(net, t)
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


class VAETask(Task):
    """One step: a batch of transposed fragments (this process's rows of it), each
    encoded, a code drawn from q(z|x), and the fragment decoded with teacher forcing."""
    format, version = FORMAT, FORMAT_VERSION

    def __init__(self, train: Sequence[Chorale], held: Sequence[Chorale], data: dict,
                 env: Env):
        cfg = self.cfg = env.cfg
        self.env, self.data = env, data
        self.frags = make_fragments(train, cfg.hop_size, cfg.transpose_range)
        if not held:
            raise ReverieError("nothing held out to measure on: give more pieces (the split "
                               "keeps about a fifth of them apart)")
        self.held_tok = _fixed_held_out(held).to(env.device)
        self.rows = env.rows(cfg.batch_size)
        self.model = self.net = MusicVAENet(cfg).to(env.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}
        self.free_nats = cfg.free_bits * math.log(2.0)
        # steps taken (the KL weight of the figures): a resumed run's from its checkpoint
        self.done = env.resumed["run"]["step"] if env.resumed is not None else 0
        self.evaluation: dict | None = None       # the final held-out figures
        self.attributes: dict[str, np.ndarray] = {}
        self.attribute_info: dict = {}

    def learning_rate(self, frac_done: float, step: int) -> float:
        return lr_at(step, self.cfg)

    def step(self, step: int) -> dict:
        cfg, gen, device = self.cfg, self.env.gen, self.env.device
        tok = _batch(self.frags, cfg.batch_size, gen)[self.rows].to(device)
        eps = torch.randn(cfg.batch_size, cfg.z_size, generator=gen)[self.rows].to(device)
        o = losses(self.net, tok, eps)
        beta = beta_at(step, cfg)
        loss = o["r_loss"].mean() + beta * torch.clamp(o["kl"] - self.free_nats, min=0).mean()
        optimize(loss, self.optimizer, cfg.grad_clip, self.model.parameters())
        self.done = step + 1
        return {"train_loss": loss.item()}

    def evaluate(self, final: bool) -> dict:
        cfg = self.cfg
        f = evaluate_tokens(self.model, self.held_tok, sampled=0)
        beta = beta_at(self.done, cfg)
        if final:
            self.evaluation = evaluate_tokens(self.model, self.held_tok, seed=cfg.seed)
            self.attributes, self.attribute_info = stored_attributes(self.model, self.frags,
                                                                     seed=cfg.seed)
        return {"val_loss": f["r_loss"] + beta * max(f["kl_nats"] - self.free_nats, 0.0),
                "kl_bits": f["kl_bits"], "beta": beta}

    def header(self) -> dict:
        if self.evaluation is None:
            return {"data": self.data}
        return {"data": self.data, "evaluation": self.evaluation,
                "attributes": {k: torch.from_numpy(v) for k, v in self.attributes.items()}}

    def distribute(self, wrap) -> None:
        self.net = wrap(self.model)

    def describe(self, losses: dict, figures: dict) -> str:
        val = figures.get("val_loss")
        return (f"loss {losses['train_loss']:.2f}" +
                (f", held-out {val:.2f}" if val is not None else "") +
                f" nats/fragment, beta {beta_at(self.done, self.cfg):.3f}")

    def preview(self, history: list[dict]) -> dict:
        return loss_curves(history, "held-out", "nats per fragment")


def train_vae(corpus=None, config: Optional[MusicVAEConfig] = None, *,
              out: str | os.PathLike | None = None, progress: Progress = silent,
              pieces: tuple[list[Chorale], list[Chorale]] | None = None,
              **overrides) -> VAETrainResult:
    """Train a MusicVAE on the 2-bar fragments of `corpus` (builtin:chorales, or folders or
    files of four-part MIDI/MusicXML; or `pieces=(train, held_out)` in memory), split by
    piece as Coconet's data is (valid and test both held out). With `out`,
    checkpoints are written there every `checkpoint_every` steps and at the end;
    `resume=True` continues that run, and `init` starts from another model's weights."""
    cfg = make_config(MusicVAEConfig, config, **overrides)
    out = model_path(out, "vae.pt")
    train, held, data, inputs = training_pieces(corpus, pieces)
    run = fit(lambda env: VAETask(train, held, data, env), cfg, out=out,
              load=load_checkpoint, progress=progress)
    task, rec = run.task, run.record
    figures = {"steps": rec["step"], "train_loss": rec["losses"]["train_loss"],
               "val_loss": rec["figures"]["val_loss"], "evaluation": task.evaluation,
               "attributes": task.attribute_info,
               "fragments_per_second": task.cfg.batch_size / max(run.timings["per_step"], 1e-9),
               "params": count_params(task.model), "train_pieces": len(train),
               "held_out_pieces": len(held), "train_fragments": len(task.frags),
               "held_out_fragments": int(len(task.held_tok)), "history": run.history}
    result = VAETrainResult(task.model, run.checkpoint, mechanism="train_vae", figures=figures,
                            **run.result_fields())
    return run.save(result, out, inputs)
