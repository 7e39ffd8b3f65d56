"""Measures of a trained style, none of them a training loss:

- ``patch_swd``: sliced Wasserstein distance between the distributions of small colour patches of two
  sets of pictures (lower: the output's brushwork and palette are more like the style's); measured at
  the pictures' own scale and at half of it (``patch_swd_two_scales``);
- ``statistics_gap``: how far the means and covariances of the style predictor's features over a whole
  set of paintings are from those over the style pictures (lower: closer);
- ``edge_ssim``: structural similarity of the edge maps of photo and painting (higher: the photo stays
  readable);
- ``psnr``: peak signal-to-noise ratio, for looks learnt from pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from ..engine.norm_plan import added

if TYPE_CHECKING:
    from ..engine.networks.style_predictor import StylePredictor
    from .losses import Statistics


def _patch_corners(shapes: list[tuple[int, ...]], patch: int, count: int,
                   rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    per_image = max(1, count // len(shapes))
    out = []
    for h, w, *_ in shapes:
        ys = rng.integers(0, h - patch + 1, per_image)
        xs = rng.integers(0, w - patch + 1, per_image)
        out.append((ys, xs))
    return out


def _patches(images: list[torch.Tensor], corners: list[tuple[np.ndarray, np.ndarray]], patch: int) -> torch.Tensor:
    """Each patch as one row (its rows, columns and channels in order), in float64."""
    offsets = torch.arange(patch, device=images[0].device)
    out = []
    for img, (ys, xs) in zip(images, corners):
        rows = torch.from_numpy(ys).to(img.device)[:, None, None] + offsets[None, :, None]
        cols = torch.from_numpy(xs).to(img.device)[:, None, None] + offsets[None, None, :]
        out.append(img[rows, cols].reshape(len(ys), -1))
    return torch.cat(out).double()


def _on(images: list[np.ndarray] | list[torch.Tensor], device: torch.device | None) -> list[torch.Tensor]:
    return [torch.as_tensor(np.ascontiguousarray(img, dtype=np.float32) if isinstance(img, np.ndarray) else img,
                            device=device) for img in images]


def patch_swd(a: list[np.ndarray] | list[torch.Tensor], b: list[np.ndarray] | list[torch.Tensor], patch: int = 5,
              count: int = 8192, projections: int = 128, seed: int = 0, device: torch.device | None = None) -> float:
    """Pictures are height x width x 3 (arrays, or tensors). The patches, their pairing and the directions
    are drawn from ``seed`` alone, so the figure is the same on any ``device`` (there, to float64's
    rounding) and from run to run."""
    rng = np.random.default_rng(seed)
    ta, tb = _on(a, device), _on(b, device)
    pa = _patches(ta, _patch_corners([t.shape for t in ta], patch, count, rng), patch)
    pb = _patches(tb, _patch_corners([t.shape for t in tb], patch, count, rng), patch)
    n = min(len(pa), len(pb))
    pa = pa[torch.from_numpy(rng.permutation(len(pa))[:n]).to(pa.device)]
    pb = pb[torch.from_numpy(rng.permutation(len(pb))[:n]).to(pb.device)]
    directions = rng.normal(size=(pa.shape[1], projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    # one row per direction: sorting along rows is the contiguous (fast) way on every device
    d = torch.from_numpy(directions.T.copy()).to(pa.device)
    projected_a = torch.sort(d @ pa.T, dim=1).values
    projected_b = torch.sort(d @ pb.T, dim=1).values
    return float((projected_a - projected_b).abs().mean())


def half_size(images: list[np.ndarray] | list[torch.Tensor],
              device: torch.device | None = None) -> list[torch.Tensor]:
    return [F.avg_pool2d(t.permute(2, 0, 1)[None], 2)[0].permute(1, 2, 0) for t in _on(images, device)]


def patch_swd_two_scales(a: list[np.ndarray], b: list[np.ndarray],
                         device: torch.device | None = None) -> tuple[float, float]:
    """(full-scale, half-scale) patch SWD: fine brushwork, and the larger marks (computed on ``device``:
    on a GPU, the CPU's float64 sorts cost a fast training run about a third of its time)."""
    ta, tb = _on(a, device), _on(b, device)
    return patch_swd(ta, tb, device=device), patch_swd(half_size(ta), half_size(tb), device=device)


def pooled_statistics(predictor: StylePredictor, images: list[np.ndarray], device: torch.device) -> list[Statistics]:
    """Means and covariances of a set of pictures, pooled whole, at the predictor's depths."""
    from .losses import style_targets

    return style_targets(predictor, [torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
                                     .permute(2, 0, 1).to(device) for img in images])


def statistics_gap(predictor: StylePredictor, paintings: list[np.ndarray], style_images: list[np.ndarray],
                   device: torch.device, style_statistics: list[Statistics] | None = None) -> float:
    """Feature-statistics distance between a set of paintings and the style pictures, each set pooled
    whole (not a training batch's), at the predictor's depths (``style_statistics``: the pictures'
    ``pooled_statistics``, when already computed)."""
    from .losses import statistics_distance

    ours = pooled_statistics(predictor, paintings, device)
    theirs = style_statistics if style_statistics is not None else pooled_statistics(predictor, style_images, device)
    return float(added([statistics_distance(a, b) for a, b in zip(ours, theirs)]) / len(ours))


def _grey(img: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    rgb = torch.as_tensor(np.ascontiguousarray(img, dtype=np.float32), device=device)
    return (rgb @ torch.tensor([0.299, 0.587, 0.114], device=device))[None, None]


def _edges(grey: torch.Tensor) -> torch.Tensor:
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], device=grey.device)[None, None] / 4
    gx = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kx)
    gy = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kx.transpose(2, 3))
    return torch.sqrt(gx * gx + gy * gy)


def _ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> float:
    c1, c2 = 0.01**2, 0.03**2

    def pool(t: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(t, window, 1)

    mu_a, mu_b = pool(a), pool(b)
    var_a = pool(a * a) - mu_a**2
    var_b = pool(b * b) - mu_b**2
    cov = pool(a * b) - mu_a * mu_b
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim.mean())


def edge_ssim(photo: np.ndarray, painting: np.ndarray, device: torch.device | None = None) -> float:
    return _ssim(_edges(_grey(photo, device)), _edges(_grey(painting, device)))


def mean_edge_ssim(photos: list[np.ndarray], paintings: list[np.ndarray], device: torch.device | None = None) -> float:
    """``edge_ssim`` of each photo and its painting, averaged."""
    return float(np.mean([edge_ssim(p, q, device) for p, q in zip(photos, paintings)]))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)
