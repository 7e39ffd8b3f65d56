"""The measures a trained style is judged by (patch SWD, edge SSIM): what they rise and fall with, and that
computing them on the training device gives the figures of the plain float64 definition."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from stylefuse_desktop.training.metrics import edge_ssim, patch_swd, patch_swd_two_scales


def textures() -> list[np.ndarray]:
    out = []
    for name in ("brick", "grass", "gravel"):
        grey = getattr(data, name)()[:200, :240].astype(np.float32) / 255
        out.append(np.repeat(grey[..., None], 3, axis=2))
    return out


def reference_swd(a: list[np.ndarray], b: list[np.ndarray], patch: int = 5, count: int = 8192,
                  projections: int = 128, seed: int = 0) -> float:
    """Patch SWD as defined, in numpy float64: random patches of each set, paired at random, projected on
    random unit directions, the sorted projections compared (the draws in the measure's order)."""
    rng = np.random.default_rng(seed)

    def patches(images: list[np.ndarray]) -> np.ndarray:
        per_image, rows = max(1, count // len(images)), []
        for img in images:
            ys = rng.integers(0, img.shape[0] - patch + 1, per_image)
            xs = rng.integers(0, img.shape[1] - patch + 1, per_image)
            rows += [img[y : y + patch, x : x + patch].reshape(-1) for y, x in zip(ys, xs)]
        return np.array(rows, np.float64)

    pa, pb = patches(a), patches(b)
    n = min(len(pa), len(pb))
    pa, pb = pa[rng.permutation(len(pa))[:n]], pb[rng.permutation(len(pb))[:n]]
    directions = rng.normal(size=(pa.shape[1], projections))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    return float(np.abs(np.sort(pa @ directions, axis=0) - np.sort(pb @ directions, axis=0)).mean())


def test_patch_swd_is_the_float64_definition_whatever_the_pictures_sizes():
    rng = np.random.default_rng(3)
    a = [rng.random((64, 80, 3), dtype=np.float32) ** 2 for _ in range(3)]
    b = textures() + [rng.random((37, 50, 3), dtype=np.float32)]
    assert patch_swd(a, b, count=600, projections=16) == pytest.approx(reference_swd(a, b, count=600, projections=16),
                                                                        rel=1e-12)


def test_patch_swd_grows_with_a_colour_shift_and_a_blur_shows_at_full_scale_more_than_at_half():
    pictures = textures()
    same = patch_swd(pictures, pictures)
    shifted = [np.clip(p * 0.8 + 0.15, 0, 1) for p in pictures]
    assert same < 0.2 * patch_swd(pictures, shifted)
    blurred = [torch.nn.functional.avg_pool2d(torch.from_numpy(p).permute(2, 0, 1)[None], 5, 1, 2,
                                              count_include_pad=False)[0].permute(1, 2, 0).numpy() for p in pictures]
    full, half = patch_swd_two_scales(pictures, blurred)
    assert full > 2 * same and full > half


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)")
def test_the_measures_are_the_same_on_a_gpu():
    pictures, cuda = textures(), torch.device("cuda")
    painted = [np.clip(p * 0.7 + 0.1, 0, 1) for p in pictures]
    assert patch_swd_two_scales(painted, pictures, cuda) == pytest.approx(patch_swd_two_scales(painted, pictures),
                                                                          rel=1e-9)
    assert edge_ssim(pictures[0], painted[0], cuda) == pytest.approx(edge_ssim(pictures[0], painted[0]), abs=1e-5)


def test_edge_ssim_is_one_for_the_photo_itself_and_falls_as_its_edges_are_lost():
    photo = textures()[0]
    soft = torch.nn.functional.avg_pool2d(torch.from_numpy(photo).permute(2, 0, 1)[None], 7, 1, 3,
                                          count_include_pad=False)[0].permute(1, 2, 0).numpy()
    flat = np.full_like(photo, photo.mean())
    assert edge_ssim(photo, photo) == pytest.approx(1.0, abs=1e-6)
    assert 1.0 > edge_ssim(photo, soft) > edge_ssim(photo, flat)
