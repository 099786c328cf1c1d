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


def _shapes() -> dict:
    """Four tiny stroke-3 drawings (a square, a triangle, a zigzag, two bars) as sketch-rnn
    data in memory."""
    import numpy as np
    shapes = [np.array(d, dtype=np.int16) for d in (
        [[0, 0, 0], [10, 0, 0], [0, 10, 0], [-10, 0, 0], [0, -10, 1]],
        [[0, 0, 0], [10, 10, 0], [10, -10, 0], [-20, 0, 1]],
        [[0, 0, 0], [5, 8, 0], [5, -8, 0], [5, 8, 0], [5, -8, 1]],
        [[0, 0, 0], [0, 15, 1], [8, -15, 0], [0, 15, 1]])]
    return {"train": shapes * 2, "valid": shapes}


def _tones() -> dict:
    """Pure tones at 8 kHz, in memory: three to train on, one held out."""
    import numpy as np
    from reverie.sound.data import Clips

    def tone(seconds: float, phase: float) -> np.ndarray:
        t = np.arange(int(seconds * 8000)) / 8000
        return (0.5 * np.sin(2 * np.pi * 440 * t + phase)).astype(np.float32)
    return {"clips": Clips(8000, [tone(1.0, i) for i in range(3)], [tone(0.5, 5.0)])}


def _pictures(n: int = 6, size: int = 128):
    """`n` tiny pictures in memory: a coloured square and disc on a coloured ground each."""
    import torch
    g = torch.Generator().manual_seed(0)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    out = []
    for _ in range(n):
        c = torch.rand(3, 3, generator=g)
        a, b, r = (torch.randint(20, size - 20, (3,), generator=g)).tolist()
        x = c[0][:, None, None].expand(3, size, size).clone()
        x[:, a - 15:a + 15, b - 15:b + 15] = c[1][:, None, None]
        disc = (ys - b) ** 2 + (xs - a) ** 2 < (r // 3) ** 2
        x[:, disc] = c[2][:, None]
        out.append(x)
    return torch.stack(out)


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
    """Written atomically: under torchrun every rank writes the same file, and a rank that
    read it while another was rewriting it saw it empty ("no dialogue turns", a CI flake)."""
    from reverie.io.files import save_text
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(save_text(text, path))


def _chorales(n: int = 8, frames: int = 64) -> list:
    """Four voices moving through I-IV-V-I chords, a piece per seed (no music21 parse)."""
    import numpy as np
    from reverie.music.chorales import from_array
    chords = np.array([[72, 67, 64, 48], [72, 65, 57, 53], [71, 67, 62, 55], [72, 64, 55, 48]])
    pieces = []
    for i in range(n):
        rng = np.random.default_rng(i)
        p = np.repeat(chords[rng.integers(0, 4, frames // 4)], 4, 0) + rng.integers(-2, 3)
        pieces.append(from_array(p.astype(np.float32), f"piece{i}"))
    return pieces


def _music(folder: Path) -> dict:
    pieces = _chorales()
    return {"pieces": (pieces[:6], pieces[6:])}


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
    # draw -------------------------------------------------------------------------------
    "train_sketch": Case(
        lambda folder: {"data": _shapes()},
        dict(enc_rnn_size=16, dec_rnn_size=32, z_size=4, num_mixture=2, max_seq_len=8,
             batch_size=4, learning_rate=1e-2, min_learning_rate=1e-3, decay_rate=0.999,
             max_steps=10, eval_every=5, checkpoint_every=5, threads=1),
        "val_r"),
    # sound ------------------------------------------------------------------------------
    "train_sound": Case(
        lambda folder: _tones(),
        dict(layers=4, stacks=1, residual_channels=8, gate_channels=16, skip_out_channels=16,
             sample_size=64, batch_size=4, learning_rate=1e-2, ema_decay=0.9, tier_dim=8,
             tier_frame_size=16, tier_context=0.01, max_steps=10,
             eval_every=5, checkpoint_every=5, threads=1),
        "valid"),
    # music ------------------------------------------------------------------------------
    "train_music": Case(
        _music,
        dict(num_layers=4, num_filters=8, batch_size=4, crop_piece_len=16, max_steps=10,
             eval_every=5, checkpoint_every=5, learning_rate=2e-2, threads=1),
        "val_loss"),
    "train_vae": Case(
        _music,
        dict(z_size=8, enc_rnn_size=16, dec_rnn_size=16, batch_size=8, hop_size=16,
             max_steps=10, eval_every=5, checkpoint_every=5, learning_rate=1e-2, threads=1),
        "val_loss"),
    # image ------------------------------------------------------------------------------
    "train_fast_style": Case(
        lambda folder: {"styles": ["sample:gravel", "sample:brick"]},
        dict(width=4, image_size=32, batch_size=2, style_size=48, held_out=["chelsea"],
             max_steps=10, eval_every=5, checkpoint_every=5, threads=1),
        "val_loss"),
    # sketch2art -------------------------------------------------------------------------
    "train_sketch2art": Case(
        lambda folder: {"images": _pictures()},
        dict(netG="unet_128", load_size=136, crop_size=128, ngf=4, ndf=4, n_layers_D=2,
             lr=5e-3, batch_size=2, max_steps=10, eval_every=5, checkpoint_every=5, threads=1),
        "val_l1"),
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
