"""Quality figures that run offline: Fréchet distance and kernel distance on Lite0 features.

The Fréchet Inception Distance (Heusel et al. 2017, "GANs trained by a two time-scale
update rule converge to a local Nash equilibrium") fits a Gaussian to the pooled features of
real and of generated images and measures

    FD = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)).

The Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs") is the
unbiased squared MMD with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged
over random subsets; unlike FD it has no bias that depends on the number of samples.

NOT COMPARABLE TO PUBLISHED FID/KID: those use Inception-v3's 2048-d pool3 features at
299 px. Reverie has no Inception weights offline, so these use EfficientNet-Lite0's 1280-d
pooled head features (`reverie.nets.zoo`, ImageNet weights), with images resized to
`FEATURE_SIZE` px. The numbers rank models trained and measured the same way; the floor is
real-versus-real on the same counts (`real_floor`), which each run reports beside them.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

FEATURE_SIZE = 128  # px: Lite0 is fully convolutional; 128 costs a third of 224 on a CPU
KID_SUBSET = 100
KID_SUBSETS = 50


@torch.no_grad()
def lite0_features(images: torch.Tensor, device="cpu", batch: int = 64,
                   net: str = "lite0") -> np.ndarray:
    """(N, 3, H, W) in [0, 1] -> (N, 1280) pooled Lite0 head features (after ReLU6); with
    `net` lite2, Lite2's (1280-d too): a second judge for a GAN whose discriminator looked
    through Lite0 (`gan.projected`), which could fool a Lite0 judge alone."""
    from reverie.nets.zoo import load_net

    with torch.random.fork_rng(devices=[]):  # built once, drawing initial weights: a
        net = load_net(net, device)            # training run's random stream is not ours
    out = []
    for i in range(0, len(images), batch):
        x = images[i:i + batch].to(device).float()
        x = F.interpolate(x, size=(FEATURE_SIZE, FEATURE_SIZE), mode="bilinear",
                          align_corners=False).clamp(0, 1)
        h = net.features(x, ["head"])["head"]
        out.append(F.relu6(h).mean((2, 3)).double().cpu())
    return torch.cat(out).numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FD between Gaussians fitted to feature rows `a` and `b` (pytorch-fid's formula)."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # fewer images than features: singular, still defined
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():  # singular product: nudge the diagonals (pytorch-fid)
        eps = np.eye(len(s1)) * 1e-6
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def kernel_distance(a: np.ndarray, b: np.ndarray, subset: int = KID_SUBSET,
                    subsets: int = KID_SUBSETS, seed: int = 0) -> float:
    """KID: the unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3, mean over random subsets."""
    rng = np.random.default_rng(seed)
    m = min(subset, len(a), len(b))
    d = a.shape[1]
    total = 0.0
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        total += ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                  + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
    return float(total / subsets)


def distances(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> dict:
    return {"fd": frechet_distance(real, fake), "kid": kernel_distance(real, fake, seed=seed)}


def nearest(queries: torch.Tensor, pool: torch.Tensor,
            exclude: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index of and mean-squared pixel distance to the nearest image of `pool` for each
    query (both (N, 3, H, W) in [0, 1]): does the generator copy its training set?
    `exclude[i]`: an index of `pool` query i may not match (itself)."""
    q = queries.flatten(1).double()
    p = pool.flatten(1).double()
    d = (q.pow(2).sum(1, keepdim=True) - 2 * q @ p.T + p.pow(2).sum(1)[None]) / q.shape[1]
    if exclude is not None:
        d[torch.arange(len(q)), exclude] = float("inf")
    best = d.min(1)
    return best.indices.numpy(), best.values.clamp_min(0).numpy()
