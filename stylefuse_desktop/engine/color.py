"""Colour operations on [N, 3, H, W] tensors in [0, 1], and the colour maps trained styles carry."""

from __future__ import annotations

import numpy as np
import torch

from ..document.style_file import COLOUR_MATRIX, COLOUR_OFFSET

ColourMap = tuple[torch.Tensor, torch.Tensor]  # (matrix [3, 3], offset [3]), as ``apply_colour_map`` takes

# ITU-R BT.601 luma weights, as JPEG's YCbCr uses
_LUMA = (0.299, 0.587, 0.114)


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    return _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b


def luminance_match(stylized: torch.Tensor, photo: torch.Tensor) -> tuple[float, float]:
    """(gain, offset) that give the stylized image's luma the photo's mean and spread. A painting's
    light is often flatter than the photo's (lifted blacks, grey walls); taken as it is under the
    photo's colours, it reads as mud. Measured on whole pictures (small copies will do)."""
    ls, lp = luminance(stylized).double(), luminance(photo).double()
    gain = float(lp.std() / ls.std().clamp(min=1e-4))
    gain = min(gain, 4.0)  # a flat painting is not stretched into noise
    return gain, float(lp.mean() - gain * ls.mean())


def transfer_luminance(stylized: torch.Tensor, photo: torch.Tensor, match: tuple[float, float] = (1.0, 0.0)
                       ) -> torch.Tensor:
    """Keep the photo's colours (its Cb/Cr) and take light and texture (luma) from the stylized image,
    its luma mapped by ``match`` (``luminance_match``) to the photo's brightness and contrast."""
    gain, offset = match
    return (photo - luminance(photo) + luminance(stylized) * gain + offset).clamp_(0.0, 1.0)


def fit_colour_map(painted: np.ndarray, target: np.ndarray, strength: float = 1.0, ridge: float = 1e-6,
                   largest: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """The affine colour map (matrix [3, 3], offset [3]) taking pixels like ``painted`` ([N, 3]) to the
    mean and covariance of ``target``'s ([M, 3]): the linear optimal-transport map between the two, the
    least recolouring that matches them (to a grey target it folds colours onto the grey axis), taken
    ``strength`` of the way from the identity. ``ridge`` keeps flat pixels invertible; a map whose
    change or offset would pass ``largest`` is taken only as far as that (it would amplify noise, and a
    style file holds maps within ``MAX_COLOUR_MAP_VALUE``)."""
    p, t = np.asarray(painted, np.float64), np.asarray(target, np.float64)
    cov_p = np.cov(p.T) + ridge * np.eye(3)
    cov_t = np.cov(t.T) + ridge * np.eye(3)
    root_p = _sqrtm(cov_p)
    inv_root_p = np.linalg.inv(root_p)
    change = inv_root_p @ _sqrtm(root_p @ cov_t @ root_p) @ inv_root_p - np.eye(3)
    offset = t.mean(0) - (np.eye(3) + change) @ p.mean(0)
    # y = x + strength * (full x + offset - x): part of the way from the painting to the full map
    strength = min(strength, largest / max(float(np.abs(change).max()), float(np.abs(offset).max()), 1e-12))
    return (np.eye(3) + strength * change).astype(np.float32), (strength * offset).astype(np.float32)


def _sqrtm(symmetric: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(symmetric)
    root: np.ndarray = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    return root


def apply_colour_map(rgb: torch.Tensor, matrix: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] -> the same pixels through the colour map, clamped to [0, 1]."""
    out = torch.einsum("ij,njhw->nihw", matrix.to(rgb.dtype), rgb) + offset.to(rgb.dtype)[None, :, None, None]
    return out.clamp_(0.0, 1.0)


def weighted_colour_map(weighted: list[tuple[dict[str, np.ndarray], float]], device: torch.device) -> ColourMap | None:
    """The colour map of styles given as (style-file tensors, weight): each style's map taken as far from
    the identity as its weight (as its adapters are scaled); None when no style has one."""
    maps = [(tensors, weight) for tensors, weight in weighted if COLOUR_MATRIX in tensors]
    if not maps:
        return None
    identity = np.eye(3, dtype=np.float32)
    matrix = identity + sum((w * (np.asarray(t[COLOUR_MATRIX]) - identity) for t, w in maps), np.zeros((3, 3)))
    offset = sum((w * np.asarray(t[COLOUR_OFFSET]) for t, w in maps), np.zeros(3))
    return torch.from_numpy(matrix).float().to(device), torch.from_numpy(offset).float().to(device)
