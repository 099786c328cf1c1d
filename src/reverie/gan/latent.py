"""The latent space of a trained GAN: samples, walks, inversion, attribute vectors, analogies.

After Radford et al. 2016 (DCGAN: "vector arithmetic on face samples", smiling woman -
neutral woman + neutral man = smiling man, averaging three latents per concept) and White
2016, "Sampling Generative Networks" (github dribnet/plat): interpolate a Gaussian latent
along great circles (slerp), not straight lines, which pass through the unlikely middle of
the sphere; an attribute vector is the difference of the mean latents of images with and
without the attribute, and adding it in amounts makes a strip from "less" to "more".

- `sample`: a grid of images; image i is seed `seed + i`; beside each sample, its nearest
  training image (pixel distance), compared with how close training images are to each
  other: new, not copied. `jacobian_reject` drops the latents where the generator stretches
  most (Tanielian, Issenhuth, Dohmatob & Mary 2020, "Learning disconnected manifolds: a no
  GAN's land"): one Gaussian mapped continuously onto separate kinds of image must cross
  the gaps between them, and there the Jacobian ||dG/dz|| is large and the images are blends.
- `interpolate`: a slerp walk through the latents of several seeds, as MP4 or GIF.
- `invert`: the latent whose image is closest to a picture: Adam on a pixel + Lite0 feature
  loss from several random starts, the best kept (as in Zhu et al. 2016, "Generative Visual
  Manipulation on the Natural Image Manifold", and White's plat), with the error reported.
- `vector`: an attribute vector from two folders of images (inverted, averaged, subtracted)
  or from two lists of seeds the user picked, written as .npy.
- `apply`: a strip `z + a * v` for each amount a, with the attribute measured along it.
- `analogy`: A : B :: C : ? through `reverie.latent.analogy.Codec`, the arithmetic the word
  vectors use.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.device import resolve_device
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.gan.dcgan import load_gan
from reverie.gan.networks import code_of, image_grid, latent_for_seed, with_code
from reverie.gan.training import GAN

TRUNCATION = dict(min=0.05, max=2.0)


def _truncation_knob():
    return knob(None, "truncation trick: a normal truncated to [-2, 2] times this (BigGAN); "
                      "lower is more typical and less varied; none: off", **TRUNCATION)


def _gan(model, device: str) -> GAN:
    return load_gan(model, device)


def _resolved(cfg) -> dict:
    return {"device": str(resolve_device(cfg.device))}


# ---------------------------------------------------------------------------------------
# Sampling, with the nearest training image beside each sample
# ---------------------------------------------------------------------------------------

@dataclass
class SampleConfig(Config):
    n: int = knob(64, "how many images", min=1, max=1024)
    nrow: Optional[int] = knob(None, "images per row (none: a square grid)", min=1)
    truncation: Optional[float] = _truncation_knob()
    jacobian_reject: float = knob(0.0, "Jacobian rejection (Tanielian et al. 2020): draw n / (1 "
                                  "- this) latents and drop this share with the largest "
                                  "||dG/dz||, where the generator crosses between modes and "
                                  "draws blends; 0: off (on: 8 forward-mode passes per latent, "
                                  "slower)", min=0, max=0.9)
    code: Optional[int] = knob(None, "a model trained with categories (InfoGAN): draw every "
                               "sample with this value of its code, 0..categories-1 (on "
                               "digits, often one class); none: as the seeds fall", min=0)
    seed: int = seed_knob()
    device: str = device_knob()


@dataclass
class GridResult(Result):
    image: torch.Tensor                  # (3, H, W) the grid
    extra: dict                          # role suffix -> (3, H, W) images written beside it
    suffixes = (".png", ".jpg", ".webp")

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.images import save_image
        paths = {"image": save_image(self.image, path)}
        for role, im in self.extra.items():
            paths[role] = save_image(im, path.with_name(f"{path.stem}.{role}{path.suffix}"))
        return paths

    def summary(self) -> str:
        return self.figures.get("summary", "")


def nearest_report(gan: GAN, images: torch.Tensor) -> tuple[dict, torch.Tensor | None]:
    """Each image's nearest training image and its distance, beside the typical distance
    between a training image and its own nearest neighbour (the scale of "a copy")."""
    from reverie.gan.metrics import nearest

    if gan.train_images is None or len(gan.train_images) < 2:
        return {}, None
    train = gan.train_images
    idx, dist = nearest(images, train)
    k = min(200, len(train))
    gen = torch.Generator().manual_seed(0)
    probe = torch.randperm(len(train), generator=gen)[:k]
    _, d_all = nearest(train[probe], train, exclude=probe)
    typical = float(np.median(d_all))
    copies = int((dist < 0.25 * typical).sum())
    fig = {"nearest_train_index": idx.tolist(), "nearest_train_mse": dist.round(5).tolist(),
           "median_nearest_mse": float(np.median(dist)),
           "train_to_train_median_mse": typical, "near_copies": copies,
           "verdict": ("new, not copied: samples are further from their nearest training "
                       "image than training images are from each other" if np.median(dist) >= typical
                       else f"close to the training set: the median sample is nearer its nearest "
                            f"training image than training images are to each other; "
                            f"{copies} of {len(images)} look like copies")}
    return fig, train[idx]


@torch.no_grad()
def jacobian_norms(g: torch.nn.Module, z: torch.Tensor, probes: int = 8, seed: int = 0,
                   batch: int = 128) -> torch.Tensor:
    """||dG/dz||_F for each latent: E||J u||^2 = ||J||_F^2 for u ~ N(0, I), so the mean over
    `probes` Gaussian directions, each J u one forward-mode pass (torch.func.jvp)."""
    from torch.func import jvp
    device = next(g.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(z), batch):
        zz = z[i:i + batch].to(device)
        sq = torch.zeros(len(zz), device=device)
        for _ in range(probes):
            _, ju = jvp(g, (zz,), (torch.randn(zz.shape, generator=gen).to(device),))
            sq += ju.flatten(1).pow(2).sum(1)
        out.append((sq / probes).sqrt().cpu())
    return torch.cat(out)


def jacobian_split(g: torch.nn.Module, z: torch.Tensor, n: int, seed: int = 0):
    """Jacobian rejection: (keep, drop, norms) for latents z, keep the n with the smallest
    ||dG/dz|| in their original order, drop the rest with the most stretched first."""
    norms = jacobian_norms(g, z, seed=seed)
    order = torch.argsort(norms)
    return order[:n].sort().values, order[n:].flip(0), norms


def latents_to_draw(n: int, reject: float) -> int:
    """How many latents Jacobian rejection draws to keep n after dropping the share `reject`
    (the epsilon keeps float error from drawing one too many: 10 / (1 - 0.9) > 100)."""
    return math.ceil(n / (1 - reject) - 1e-9) if reject else n


def sample(model, config: Optional[SampleConfig] = None, *, progress: Progress = silent,
           **overrides) -> GridResult:
    """A grid of `n` samples (image i is seed `seed + i`; with `jacobian_reject`, the seeds
    kept, in order); `.nearest` beside it pairs each sample (odd rows) with its nearest
    training image (even rows); `.rejected` shows what Jacobian rejection dropped (the 64
    most stretched, first)."""
    cfg = make_config(SampleConfig, config, **overrides)
    gan = _gan(model, cfg.device)
    m = latents_to_draw(cfg.n, cfg.jacobian_reject)
    seeds = [cfg.seed + i for i in range(m)]
    z = torch.stack([latent_for_seed(s, gan.latent_shape, cfg.truncation) for s in seeds])
    k = gan.categories
    if cfg.code is not None:
        if not k:
            raise ConfigError("code", "this model has no categorical code; train it with "
                                      "categories (e.g. 10) to choose one")
        if cfg.code >= k:
            raise ConfigError("code", f"the model's code takes values 0..{k - 1}, got {cfg.code}")
        z = with_code(z, k, cfg.code)
    fig: dict = {}
    extra = {}
    if m > cfg.n:
        progress(0, 2, f"Jacobian norms of {m} latents")
        keep, drop, norms = jacobian_split(gan.generator, z, cfg.n, seed=cfg.seed)
        fig["jacobian"] = {"kept_norm_median": float(norms[keep].median()),
                           "rejected_norm_median": float(norms[drop].median()),
                           "threshold": float(norms[keep].max()),
                           "rejected": [{"seed": seeds[i], "norm": round(float(norms[i]), 4)}
                                        for i in drop.tolist()]}
        extra["rejected"] = image_grid(gan.images(z[drop[:64]]))  # the 64 most stretched
        z, seeds = z[keep], [seeds[i] for i in keep.tolist()]
    images = gan.images(z)
    progress(1, 2, "sampled")
    nrow = cfg.nrow or max(1, int(np.ceil(np.sqrt(cfg.n))))
    near_fig, near = nearest_report(gan, images)
    fig.update(near_fig)
    if near is not None:
        pairs = []
        for r in range(0, cfg.n, nrow):
            pairs += [images[r:r + nrow], near[r:r + nrow]]
            if len(pairs[-1]) < nrow:  # pad the last row
                pad = torch.ones(nrow - len(pairs[-1]), *images.shape[1:])
                pairs[-2], pairs[-1] = torch.cat([pairs[-2], pad]), torch.cat([pairs[-1], pad])
        extra["nearest"] = image_grid(torch.cat(pairs), nrow=nrow)
    progress(2, 2, "nearest training images")
    fig["seeds"] = seeds
    if k:  # InfoGAN: which value of its code made each sample (row by row)
        fig["codes"] = code_of(z, k).tolist()
    fig["summary"] = (f"{cfg.n} samples (seeds {seeds[0]}-{seeds[-1]})"
                      + (f", {m - cfg.n} of {m} latents rejected by Jacobian norm"
                         if m > cfg.n else "")
                      + (f"; {fig['verdict'].split(':')[0]}" if "verdict" in fig else ""))
    return GridResult(image_grid(images, nrow=nrow), extra, mechanism="gan_sample", config=cfg,
                      inputs={"model": record_input(model)}, figures=fig,
                      resolved=_resolved(cfg))


# ---------------------------------------------------------------------------------------
# Interpolation (slerp, White 2016)
# ---------------------------------------------------------------------------------------

@dataclass
class InterpolateConfig(Config):
    seed: int = knob(1, "the first latent of the walk: seeds seed, seed+1, ... (n of them)",
                     min=0)
    n: int = knob(3, "how many latents to walk through, from seed on", min=2, max=64)
    seeds: list[int] = knob([], "the latents to walk through, by seed, in order (instead of "
                            "seed and n; at least 2)", min=0)
    frames: int = knob(60, "frames in the whole walk", min=2, max=2000)
    fps: float = knob(24.0, "frames per second", above=0, max=120)
    method: str = knob("slerp", "slerp (great circle, White 2016) or linear",
                       choices=["slerp", "linear"])
    loop: bool = knob(False, "walk back from the last seed to the first")
    truncation: Optional[float] = _truncation_knob()
    scale: int = knob(4, "enlarge each frame this many times (nearest neighbour)", min=1, max=16)
    device: str = device_knob()

    def check(self) -> None:
        if len(self.seeds) == 1:
            raise ConfigError("seeds", "give at least two seeds to walk between")

    def walk(self) -> list[int]:
        return list(self.seeds) or [self.seed + i for i in range(self.n)]


@dataclass
class AnimationResult(Result):
    frames: list[torch.Tensor]
    fps: float
    suffixes = (".mp4", ".gif")

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.animation import save_animation
        return {"animation": save_animation(self.frames, path, fps=self.fps)}

    def summary(self) -> str:
        return self.figures.get("summary", "")


def slerp_path(latents: list[np.ndarray], frames: int, method: str = "slerp",
               loop: bool = False) -> np.ndarray:
    """`frames` points through the latents in order (and back to the first with `loop`),
    each leg along a great circle (`reverie.latent.analogy.interpolate`)."""
    from reverie.latent.analogy import interpolate

    stops = list(latents) + ([latents[0]] if loop else [])
    legs = len(stops) - 1
    per = [frames // legs + (1 if i < frames % legs else 0) for i in range(legs)]
    out = []
    for i in range(legs):
        pts = interpolate(stops[i].ravel(), stops[i + 1].ravel(), max(2, per[i] + 1), method)
        out.append(pts[:-1] if i < legs - 1 or loop else pts[:per[i]] if per[i] > 1 else pts[-1:])
    path = np.concatenate(out)[:frames]
    if not loop:
        path[-1] = stops[-1].ravel()
    return path.reshape(len(path), *latents[0].shape)


def interpolate(model, config: Optional[InterpolateConfig] = None, *,
                progress: Progress = silent, **overrides) -> AnimationResult:
    cfg = make_config(InterpolateConfig, config, **overrides)
    gan = _gan(model, cfg.device)
    zs = [latent_for_seed(s, gan.latent_shape, cfg.truncation).numpy() for s in cfg.walk()]
    path = torch.from_numpy(slerp_path(zs, cfg.frames, cfg.method, cfg.loop)).float()
    images = gan.images(path)
    if cfg.scale > 1:
        images = F.interpolate(images, scale_factor=cfg.scale, mode="nearest")
    progress(1, 1, f"{len(images)} frames")
    norms = path.flatten(1).norm(dim=1).numpy()
    fig = {"frames": len(images), "latent_norms": norms.round(3).tolist(),
           "norm_range": [float(norms.min()), float(norms.max())],
           "seed_norms": [float(np.linalg.norm(z)) for z in zs],
           "summary": f"{len(images)} frames through seeds {', '.join(map(str, cfg.walk()))} "
                      f"({cfg.method}); latent norm {norms.min():.2f}-{norms.max():.2f}"}
    return AnimationResult(list(images), cfg.fps, mechanism="gan_interpolate", config=cfg,
                           inputs={"model": record_input(model)}, figures=fig,
                           resolved=_resolved(cfg))


# ---------------------------------------------------------------------------------------
# Inversion: the latent of a picture
# ---------------------------------------------------------------------------------------

@dataclass
class InvertConfig(Config):
    starts: int = knob(4, "random starting latents; the best result is kept", min=1, max=64)
    steps: int = knob(200, "Adam steps from each start", min=1)
    lr: float = knob(0.05, "Adam learning rate on the latent", above=0)
    feature_weight: float = knob(0.1, "weight of the Lite0 feature loss beside the pixel "
                                 "loss (0: pixels only)", min=0)
    sphere: bool = knob(False, "keep the latent on the sphere of radius sqrt(nz), where the "
                               "Gaussian's samples lie (White 2016): a latent like a sampled "
                               "one, for vectors and walks, at some cost in reconstruction")
    seed: int = seed_knob()
    device: str = device_knob()


def _image_batch(images, size: int) -> torch.Tensor:
    """Images (paths, tensors) as (N, 3, size, size) in [0, 1]: central square, resized."""
    from reverie.io.images import as_image

    out = []
    for im in (images if isinstance(images, (list, tuple)) else [images]):
        x = as_image(im)
        _, h, w = x.shape
        s = min(h, w)
        x = x[:, (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        out.append(F.interpolate(x[None], size=(size, size), mode="bilinear", antialias=True,
                                 align_corners=False)[0].clamp(0, 1))
    return torch.stack(out)


def _feature_fn(weight: float, device):
    if weight <= 0:
        return None
    from reverie.nets.zoo import load_net
    net = load_net("lite0", device)

    def feats(x):  # stage3: strokes and textures at 1/8 resolution; 64 px keeps it cheap
        x = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
        return net.features(x, ["stage3"])["stage3"]
    return feats


@torch.no_grad()
def _onto_shell(z: torch.Tensor, radius: float) -> None:
    """Scale each latent (row) in place to norm `radius`."""
    z.mul_(radius / z.flatten(1).norm(dim=1).view(-1, *[1] * (z.dim() - 1)))


def invert_latents(gan: GAN, targets: torch.Tensor, cfg: InvertConfig,
                   progress: Progress = silent) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Best latent for each target image (N, 3, S, S) in [0, 1]: (z (N, nz), pixel MSE per
    target, the loss of every start (N, starts)). All starts of all targets run as one
    batch; the generator's weights stay fixed."""
    g = gan.generator
    device = gan.device
    n, k = len(targets), cfg.starts
    gen = torch.Generator().manual_seed(cfg.seed)
    z = torch.randn((n * k, *gan.latent_shape), generator=gen).to(device)
    if cfg.sphere:
        _onto_shell(z, gan.radius)
    z.requires_grad_(True)
    tgt = targets.to(device).repeat_interleave(k, 0)
    feats = _feature_fn(cfg.feature_weight, device)
    tgt_f = feats(tgt) if feats else None
    opt = torch.optim.Adam([z], lr=cfg.lr)
    for step in range(cfg.steps):
        x = (g(z) + 1) / 2
        loss = ((x - tgt) ** 2).flatten(1).mean(1)
        if feats:
            loss = loss + cfg.feature_weight * ((feats(x) - tgt_f) ** 2).flatten(1).mean(1)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        if cfg.sphere:  # projected gradient descent onto the Gaussian's shell
            _onto_shell(z, gan.radius)
        if (step + 1) % 10 == 0:
            progress(step + 1, cfg.steps, f"loss {float(loss.detach().mean()):.4f}")
    with torch.no_grad():
        x = (g(z) + 1) / 2
        pix = ((x - tgt) ** 2).flatten(1).mean(1)
        total = pix + (cfg.feature_weight * ((feats(x) - tgt_f) ** 2).flatten(1).mean(1)
                       if feats else 0)
    total = total.view(n, k).cpu()
    best = total.argmin(1)
    zb = z.detach().view(n, k, *gan.latent_shape)[torch.arange(n), best].cpu()
    return zb, pix.view(n, k).cpu()[torch.arange(n), best].numpy(), total.numpy()


@dataclass
class InvertResult(Result):
    image: torch.Tensor          # target | reconstruction, side by side
    latent: np.ndarray           # (nz,)
    suffixes = (".png", ".jpg", ".webp")

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.files import atomic_path
        from reverie.io.images import save_image
        paths = {"image": save_image(self.image, path)}
        npy = path.with_suffix(".npy")
        with atomic_path(npy) as tmp, open(tmp, "wb") as f:
            np.save(f, self.latent.astype(np.float32), allow_pickle=False)
        paths["latent"] = npy
        return paths

    def summary(self) -> str:
        f = self.figures
        return (f"reconstruction error {f['pixel_mse']:.4f} MSE ({f['pixel_mae']:.3f} mean "
                f"absolute, on 0-1 pixels), best of {f['starts']} starts")


def invert(model, image, config: Optional[InvertConfig] = None, *,
           progress: Progress = silent, **overrides) -> InvertResult:
    cfg = make_config(InvertConfig, config, **overrides)
    gan = _gan(model, cfg.device)
    size = gan.config.size
    target = _image_batch(image, size)
    z, pix, losses = invert_latents(gan, target, cfg, progress)
    recon = gan.images(z)
    mae = float((recon - target).abs().mean())
    fig = {"pixel_mse": float(pix[0]), "pixel_mae": mae, "starts": cfg.starts,
           "start_losses": losses[0].round(5).tolist(),
           "latent_norm": float(z[0].norm()),
           "expected_norm": gan.radius}
    notes = []
    # optimisation often reproduces a picture well from a latent sampling never draws (half
    # of held-out digits, bench/gan.py's model): worth knowing before using it for arithmetic
    if fig["latent_norm"] > 1.5 * fig["expected_norm"]:
        notes.append(f"the latent found has norm {fig['latent_norm']:.1f}, far outside the "
                     f"shell where sampled latents lie (about {fig['expected_norm']:.1f}): "
                     f"vectors and walks from it may not behave as from a sampled one; "
                     f"sphere keeps it on the shell, at some cost in reconstruction")
    return InvertResult(image_grid(torch.cat([target, recon]), nrow=2), z[0].numpy(),
                        mechanism="gan_invert", config=cfg, figures=fig, notes=notes,
                        inputs={"model": record_input(model), "image": record_input(image)},
                        resolved=_resolved(cfg))


# ---------------------------------------------------------------------------------------
# Attribute vectors
# ---------------------------------------------------------------------------------------

@dataclass
class VectorConfig(InvertConfig):
    with_seeds: list[int] = knob([], "seeds whose samples have the attribute (instead of "
                                 "a folder)", min=0)
    without_seeds: list[int] = knob([], "seeds whose samples lack it", min=0)
    max_images: int = knob(64, "images inverted from each folder at most", min=1)


@dataclass
class VectorResult(Result):
    vector: np.ndarray
    strip: torch.Tensor | None
    suffixes = (".npy",)

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.io.files import atomic_path
        from reverie.io.images import save_image
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, self.vector.astype(np.float32), allow_pickle=False)
        paths = {"vector": path}
        if self.strip is not None:
            paths["preview"] = save_image(self.strip, path.with_suffix(".png"))
        return paths

    def summary(self) -> str:
        f = self.figures
        return (f"attribute vector of {f['nz']} dimensions, length {f['norm']:.2f}, from "
                f"{f['with_count']} with and {f['without_count']} without ({f['from']})")


def _folder_images(folder, limit: int) -> tuple[list, list[str]]:
    from reverie.core.inputs import files_of
    from reverie.io.images import load_image
    if folder is None:
        return [], []
    folder = os.fspath(folder[0] if isinstance(folder, (list, tuple)) else folder)
    if not Path(folder).exists():
        raise ReverieError(f"folder not found: {folder}; give a folder of images")
    images, skipped = [], []
    for f in files_of(folder):
        if len(images) >= limit:
            break
        try:
            images.append(load_image(f))
        except ReverieError as exc:
            skipped.append(f"{f.name}: {exc}")
    if not images:
        raise ReverieError(f"{folder} holds no image Pillow can read; give a folder of PNG or "
                           f"JPEG files")
    return images, skipped


def vector(model, with_images=None, without_images=None, config: Optional[VectorConfig] = None,
           *, progress: Progress = silent, **overrides) -> VectorResult:
    """mean latent(with) - mean latent(without): from two folders of images (each inverted)
    or from two lists of seeds (`with_seeds`, `without_seeds`)."""
    cfg = make_config(VectorConfig, config, **overrides)
    gan = _gan(model, cfg.device)
    notes: list[str] = []
    if with_images is not None or without_images is not None:
        if with_images is None or without_images is None:
            raise ReverieError("give both folders: images with the attribute and images "
                               "without it")
        a, skip_a = _folder_images(with_images, cfg.max_images)
        b, skip_b = _folder_images(without_images, cfg.max_images)
        if skip_a or skip_b:
            notes.append(f"skipped {len(skip_a) + len(skip_b)} unreadable file(s): "
                         + "; ".join((skip_a + skip_b)[:4]))
        batch = _image_batch(a + b, gan.config.size)
        z, pix, _ = invert_latents(gan, batch, cfg, progress)
        za, zb = z[:len(a)], z[len(a):]
        source = "inverted folders"
        extra = {"inversion_mse_mean": float(pix.mean())}
    else:
        if not cfg.with_seeds or not cfg.without_seeds:
            raise ReverieError("give two folders of images (with and without the attribute) "
                               "or two lists of seeds (with_seeds and without_seeds)")
        za = torch.stack([latent_for_seed(s, gan.latent_shape) for s in cfg.with_seeds])
        zb = torch.stack([latent_for_seed(s, gan.latent_shape) for s in cfg.without_seeds])
        source = "seeds"
        extra = {}
    v = (za.mean(0) - zb.mean(0)).numpy()
    mid = latent_for_seed(cfg.seed, gan.latent_shape)
    strip = gan.images(torch.stack([mid + a * torch.from_numpy(v) for a in (-2, -1, 0, 1, 2)]))
    fig = {"nz": int(v.size), "norm": float(np.linalg.norm(v)), "from": source,
           "with_count": len(za), "without_count": len(zb), **extra,
           "ink_along_strip": [float(x) for x in strip.mean((1, 2, 3))]}
    inputs = {"model": record_input(model), "with_images": record_input(with_images),
              "without_images": record_input(without_images)}
    return VectorResult(v.astype(np.float32), image_grid(strip, nrow=5), mechanism="gan_vector",
                        config=cfg, figures=fig, notes=notes, inputs=inputs,
                        resolved=_resolved(cfg))


def read_vector(path, nz: int) -> np.ndarray:
    """An attribute vector from a .npy file (never unpickled), checked against the model."""
    if isinstance(path, np.ndarray):
        v = path
    else:
        p = Path(os.fspath(path))
        if not p.is_file():
            raise ReverieError(f"vector not found: {p}; make one with `reverie gan vector`")
        try:
            v = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ReverieError(f"{p} is not a NumPy .npy array of numbers ({exc}); make one "
                               f"with `reverie gan vector`") from None
    v = np.asarray(v)
    if v.dtype.kind not in "fiu":
        raise ReverieError(f"{path} does not hold numbers; give a vector from `gan vector`")
    v = v.astype(np.float32).reshape(-1)
    if v.size != nz:
        raise ReverieError(f"the vector has {v.size} dimensions but the model's latent has {nz}; "
                           f"make the vector with this model (`reverie gan vector`)")
    if not np.isfinite(v).all():
        raise ReverieError(f"{path} holds NaN or infinite values; make the vector again")
    return v


@dataclass
class ApplyConfig(InvertConfig):
    amounts: list[float] = knob([-2.0, -1.0, 0.0, 1.0, 2.0], "multiples of the vector to "
                                "add, one image each (negative: remove the attribute)")
    truncation: Optional[float] = _truncation_knob()


def attribute_only(v: torch.Tensor, gan: GAN) -> torch.Tensor:
    """A vector as added to a latent: for a model with a categorical code, its part in the
    code's coordinates dropped, so that adding it changes the attribute and not the kind
    (the code, and on digits the digit, stays the base latent's)."""
    k = gan.categories
    if not k:
        return v
    v = v.clone()
    v.view(-1)[:k] = 0
    return v


def apply(model, vector, image=None, config: Optional[ApplyConfig] = None, *,
          progress: Progress = silent, **overrides) -> GridResult:
    """The strip z + a * v for each amount a, where z is the inverted `image` or, without
    one, the latent of `seed`; the attribute measured along the strip."""
    from reverie.gan.metrics import lite0_features

    cfg = make_config(ApplyConfig, config, **overrides)
    if vector is None:
        raise ReverieError("no attribute vector given; make one with `reverie gan vector` "
                           "and give its .npy file")
    gan = _gan(model, cfg.device)
    v = torch.from_numpy(read_vector(vector, int(np.prod(gan.latent_shape)))).view(gan.latent_shape)
    fig: dict = {}
    if image is not None:
        target = _image_batch(image, gan.config.size)
        z, pix, _ = invert_latents(gan, target, cfg, progress)
        z = z[0]
        fig["inversion_mse"] = float(pix[0])
    else:
        z = latent_for_seed(cfg.seed, gan.latent_shape, cfg.truncation)
    v = attribute_only(v, gan)
    strip = gan.images(torch.stack([z + a * v for a in cfg.amounts]))
    # the attribute along the strip: ink (mean brightness) and the position along the
    # strip's own direction in Lite0 features (0 at the first image, 1 at the last)
    feats = lite0_features(strip)
    direction = feats[-1] - feats[0]
    denom = float(direction @ direction) or 1.0
    along = [(f - feats[0]) @ direction / denom for f in feats]
    ink = strip.mean((1, 2, 3)).tolist()
    fig.update({"amounts": cfg.amounts, "ink": [round(x, 5) for x in ink],
                "feature_position": [round(float(x), 4) for x in along],
                "ink_monotonic": bool(np.all(np.diff(ink) > 0) or np.all(np.diff(ink) < 0)),
                "summary": f"{len(cfg.amounts)} images at amounts "
                           f"{', '.join(f'{a:g}' for a in cfg.amounts)}; ink "
                           f"{ink[0]:.3f} -> {ink[-1]:.3f}"})
    inputs = {"model": record_input(model), "vector": record_input(
        vector if not isinstance(vector, np.ndarray) else None), "image": record_input(image)}
    return GridResult(image_grid(strip, nrow=len(cfg.amounts)), {}, mechanism="gan_apply",
                      config=cfg, figures=fig, inputs=inputs,
                      resolved=_resolved(cfg))


def analogy(model, a, b, c, config: Optional[InvertConfig] = None, *,
            progress: Progress = silent, **overrides) -> GridResult:
    """A : B :: C : ?  -- invert A, B and C, decode z_B - z_A + z_C (Radford et al.'s face
    arithmetic) through `reverie.latent.analogy.Codec`, as the word vectors do."""
    from reverie.latent.analogy import Codec

    cfg = make_config(InvertConfig, config, **overrides)
    gan = _gan(model, cfg.device)
    targets = _image_batch([a, b, c], gan.config.size)
    z, pix, _ = invert_latents(gan, targets, cfg, progress)
    latents = {name: row.copy() for name, row in zip("abc", z.numpy())}  # z stays as inverted
    k = gan.categories
    if k:  # B - A carries no code: the answer keeps C's (C's kind, with A -> B's change)
        latents["b"][:k] = latents["a"][:k]
    codec = Codec(decode=lambda zz: gan.images(torch.from_numpy(np.asarray(zz))[None])[0])
    d = codec.analogy(latents["a"], latents["b"], latents["c"])
    recon = gan.images(z)
    grid = image_grid(torch.cat([targets, d[None], recon]), nrow=4)
    fig = {"inversion_mse": pix.round(5).tolist(),
           "summary": "top: A, B, C and the answer; bottom: the inversions of A, B, C"}
    return GridResult(grid, {}, mechanism="gan_analogy", config=cfg, figures=fig,
                      inputs={"model": record_input(model), "a": record_input(a),
                              "b": record_input(b), "c": record_input(c)},
                      resolved=_resolved(cfg))
