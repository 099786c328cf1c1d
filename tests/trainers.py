"""Every registered trainer on tiny inputs: what the contract test (test_train.py) and its
torchrun script (torchrun_trainer.py) run. A trainer added to the registry must add its
case here; test_every_trainer_has_a_case fails until it does.

A case: `inputs(folder)` (keyword arguments of the trainer's function; files it needs are
written into `folder`), `config`
(overrides of its Config: a few steps, checkpoints often) and `figure` (the held-out figure
the resumed run must reproduce)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

SEED_TEXT = ("Whan that Aprille with his shoures soote the droghte of March hath perced "
             "to the roote, and bathed every veyne in swich licour of which vertu engendred "
             "is the flour. ") * 24

DIALOGUE = "".join(f"ANNA: how is the weather on day {i}?\nBEN: it rains, as it did on day "
                   f"{i - 1}.\n\n" for i in range(1, 40))


def _images(n: int, side: int = 16, seed: int = 0):
    """n small pictures in [0, 1]: two modes, dark and bright, a little noise."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    level = torch.tensor([0.2, 0.8]).repeat(n // 2)[:, None, None, None]
    return (level + 0.1 * torch.randn(n, 3, side, side, generator=gen)).clamp(0, 1)


def _picture(path: Path) -> str:
    """A 64-pixel striped texture with noise, as a PNG."""
    import torch
    from reverie.io.images import save_image
    path.parent.mkdir(parents=True, exist_ok=True)
    stripes = (torch.arange(64) // 4 % 2).float()[None, :, None].expand(3, 64, 64)
    return str(save_image((0.3 + 0.4 * stripes + 0.2 * _images(2, 64)[0]).clamp(0, 1), path))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Case:
    inputs: Callable[[Path], dict]
    config: dict
    figure: str                 # a key of the result's figures
    kill_at: int = 7            # the step at which the run is killed (after a checkpoint)
    torchrun: dict = field(default_factory=dict)  # overrides for the two-process run


CASES: dict[str, Case] = {
    # text -------------------------------------------------------------------------------
    "train_charlm": Case(
        lambda folder: {"text": SEED_TEXT},
        dict(rnn_size=16, n_embd=8, seq_length=16, batch_size=4, dropout=0.0, max_steps=10,
             eval_every=5, eval_iters=2, checkpoint_every=5, warmup_iters=2, threads=1),
        "val_loss"),
    # chat -------------------------------------------------------------------------------
    "train_chat": Case(
        lambda folder: {"corpus": str(_write(folder / "talk.txt", DIALOGUE))},
        dict(rnn_size=16, n_embd=8, seq_length=16, batch_size=4, dropout=0.0, max_steps=10,
             eval_every=5, eval_iters=2, checkpoint_every=5, warmup_iters=2, threads=1),
        "val_loss"),
    # gan ---------------------------------------------------------------------------------
    # FD on Lite0 features is the held-out figure: few samples; high rates so ten steps move
    # it (the texture's without an EMA, whose lag hides one step's move from its init)
    "train_gan": Case(
        lambda folder: {"images": _images(24)},
        dict(size=32, nz=8, ngf=4, ndf=4, batch_size=4, categories=2, lr_g=2e-3, lr_d=2e-3,
             fd_samples=20, val_frac=0.0, sample_every=5, max_steps=10, eval_every=5,
             checkpoint_every=5, threads=1, device="cpu"),
        "fd"),
    "train_texture": Case(
        lambda folder: {"images": [_picture(folder / "stripes.png")]},
        dict(crop=32, depth=3, nz=4, ngf=4, ndf=4, batch_size=4, lr_g=2e-3, lr_d=2e-3, ema=0.0,
             diffaugment="color,translation,cutout", fd_samples=20, sample_every=5,
             max_steps=10, eval_every=5, checkpoint_every=5, threads=1, device="cpu"),
        "fd"),
}
