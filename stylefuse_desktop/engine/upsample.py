"""Bringing a painting made below full size up to the photo's size without blurring the photo's detail.

A plain resize of a half-size painting looks soft. The fine detail it lacks is the photo's own: the
luminance detail between the full photo and the small one the network saw. It is added back where the
painting follows the photo's light locally, with the local gain estimated as in a guided filter (a
least-squares fit of painting against photo luminance in a small window). Everything at full size is
done in bands of rows, so memory stays small.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from .color import luminance

BAND_ROWS = 256


def _box(x: torch.Tensor, radius: int) -> torch.Tensor:
    k = 2 * radius + 1
    return F.avg_pool2d(F.pad(x, (radius,) * 4, mode="replicate"), k, stride=1)


def detail_gain(
    small_painting: torch.Tensor, small_photo: torch.Tensor, radius: int = 2, eps: float = 1e-3
) -> torch.Tensor:
    """[1, 3, h, w] local gain of each painting channel with respect to the photo's luminance, in [0, 1.5]."""
    guide = luminance(small_photo)
    mean_i = _box(guide, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    mean_p = _box(small_painting, radius)
    cov = _box(guide * small_painting, radius) - mean_i * mean_p
    gain = cov / (var_i + eps)
    return _box(gain, radius).clamp_(0.0, 1.5)


def sample_rows(x: torch.Tensor, rows: range, height: int, width: int, mode: str) -> torch.Tensor:
    """Rows ``rows`` of ``x`` resized to (height, width), as F.interpolate(align_corners=False) would."""
    ys = (torch.arange(rows.start, rows.stop, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)[None].to(x.device)
    return F.grid_sample(x, grid, mode=mode, padding_mode="border", align_corners=False)


def upsample_bands(
    small_painting: torch.Tensor,
    photo: torch.Tensor,
    small_photo: torch.Tensor,
    keep_detail: bool = True,
) -> Iterator[tuple[range, torch.Tensor, torch.Tensor]]:
    """Yield (rows, painting band at full size, photo band) over the photo's height.

    ``photo`` is [1, 3, H, W] (CPU); ``small_painting`` and ``small_photo`` are [1, 3, h, w].
    """
    height, width = photo.shape[-2:]
    same = tuple(small_painting.shape[-2:]) == (height, width)
    gain = None if same or not keep_detail else detail_gain(small_painting, small_photo)
    small_luma = None if gain is None else luminance(small_photo)
    for start in range(0, height, BAND_ROWS):
        rows = range(start, min(height, start + BAND_ROWS))
        photo_band = photo[..., rows.start : rows.stop, :]
        if same:
            yield rows, small_painting[..., rows.start : rows.stop, :], photo_band
            continue
        band = sample_rows(small_painting, rows, height, width, "bicubic").clamp_(0.0, 1.0)
        if gain is not None:
            detail = luminance(photo_band) - sample_rows(small_luma, rows, height, width, "bilinear")
            band.addcmul_(sample_rows(gain, rows, height, width, "bilinear"), detail).clamp_(0.0, 1.0)
        yield rows, band, photo_band
