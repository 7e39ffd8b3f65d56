"""Bringing a painting made below full size up to the photo's size without blurring the photo's detail.

A plain resize of a half-size painting looks soft. The fine detail it lacks is the photo's own: the
luminance detail between the full photo and the small one the network saw. It is added back where the
painting follows the photo's light locally, with the local gain estimated as in a guided filter (a
least-squares fit of painting against photo luminance in a small window). Everything at full size is
done in bands of rows, so memory stays small.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .color import luminance

BAND_ROWS = 256


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, edges replicated; the same as ``avg_pool2d`` of the padded image.

    Summed as shifted views, rows then columns (2(2r+1) additions a pixel instead of (2r+1)^2):
    ``avg_pool2d`` took 80-130 ms a call on a 768 px three-channel painting on the CPU (its channels-last
    kernel is slow for few channels), half of a whole built-in render; this takes ~7 ms. Any layout.
    """
    k = 2 * radius + 1
    height, width = x.shape[-2:]
    padded = F.pad(x, (radius,) * 4, mode="replicate")
    rows = padded[..., :, 0:width] + padded[..., :, 1 : width + 1]
    for shift in range(2, k):
        rows += padded[..., :, shift : shift + width]
    out = rows[..., 0:height, :] + rows[..., 1 : height + 1, :]
    for shift in range(2, k):
        out += rows[..., shift : shift + height, :]
    return out.mul_(1.0 / (k * k))


def detail_gain(
    small_painting: torch.Tensor, small_photo: torch.Tensor, radius: int = 2, eps: float = 1e-3
) -> torch.Tensor:
    """[1, 3, h, w] local gain of each painting channel with respect to the photo's luminance, in [0, 1.5]."""
    guide = luminance(small_photo)
    mean_i = box_mean(guide, radius)
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    mean_p = box_mean(small_painting, radius)
    cov = box_mean(guide * small_painting, radius) - mean_i * mean_p
    gain = cov / (var_i + eps)
    return box_mean(gain, radius).clamp_(0.0, 1.5)


def sample_box(x: torch.Tensor, rows: range, cols: range, height: int, width: int, mode: str) -> torch.Tensor:
    """Pixels ``rows`` x ``cols`` of ``x`` resized to (height, width), as F.interpolate(align_corners=False)
    would give them: every output pixel depends only on its own position, so any box of the full-size
    result is exactly that box of the whole."""
    # the grid is made where ``x`` is: made on the host, a 12 MP photo's three grids crossed to a GPU
    # as 288 MB (a quarter of a second of an H100 machine's whole render)
    ys = (torch.arange(rows.start, rows.stop, dtype=torch.float32, device=x.device) + 0.5) / height * 2 - 1
    xs = (torch.arange(cols.start, cols.stop, dtype=torch.float32, device=x.device) + 0.5) / width * 2 - 1
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)[None]
    return F.grid_sample(x, grid, mode=mode, padding_mode="border", align_corners=False)


WHOLE_PIXELS = 4_200_000  # up to this output size (2048x2048, 4 MP) the resamplings are made whole, once


class Upsampler:
    """Brings a painting made at (h, w) to (height, width), any box at a time; the detail gain is
    measured once on the whole small painting.

    Up to ``WHOLE_PIXELS`` each resampling is made once for the whole output (``F.interpolate``: on a
    CPU 2-3x faster than sampling a grid, ~40 ms of a 1024 px photo's ~170) and boxes are cut from it,
    for ~28 bytes a pixel kept; larger outputs are sampled box by box, so memory stays small.
    """

    def __init__(self, small_painting: torch.Tensor, small_photo: torch.Tensor, height: int, width: int,
                 keep_detail: bool = True) -> None:
        self.painting, self.height, self.width = small_painting, height, width
        self.same = tuple(small_painting.shape[-2:]) == (height, width)
        self.gain = None if self.same or not keep_detail else detail_gain(small_painting, small_photo)
        self.small_luma = None if self.gain is None else luminance(small_photo)
        self._whole: dict[str, torch.Tensor] | None = {} if height * width <= WHOLE_PIXELS else None

    def _sampled(self, name: str, x: torch.Tensor, rows: range, cols: range, mode: str) -> torch.Tensor:
        """``x`` resized to the output, over the box (a view of the whole resampling, when it is kept)."""
        if self._whole is None:
            return sample_box(x, rows, cols, self.height, self.width, mode)
        if name not in self._whole:
            self._whole[name] = F.interpolate(x, size=(self.height, self.width), mode=mode, align_corners=False)
        return self._whole[name][..., rows.start : rows.stop, cols.start : cols.stop]

    def box(self, rows: range, cols: range, photo_box: torch.Tensor) -> torch.Tensor:
        """The painting over ``rows`` x ``cols`` at full size; ``photo_box`` is the photo there."""
        if self.same:
            return self.painting[..., rows.start : rows.stop, cols.start : cols.stop]
        band = self._sampled("painting", self.painting, rows, cols, "bicubic").clamp(0.0, 1.0)
        if self.gain is not None and self.small_luma is not None:  # both or neither
            detail = luminance(photo_box) - self._sampled("luma", self.small_luma, rows, cols, "bilinear")
            gain = self._sampled("gain", self.gain, rows, cols, "bilinear")
            band.addcmul_(gain, detail).clamp_(0.0, 1.0)
        return band
