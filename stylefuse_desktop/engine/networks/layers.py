"""Building blocks shared by the style networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORM_EPS = 1e-5


# Below this many pixels a plain reflection pad is cheaper than the border fix-up's extra calls.
_BORDER_FIX_MIN_PIXELS = 256 * 256


class ReflectConv(nn.Module):
    """Reflection padding, then a convolution: the transformer networks' only convolution.

    On large inputs the explicit pad (a full copy of the activation, the slowest pass of a render on
    a 2-core CPU) is avoided: the convolution runs with its built-in zero padding, and only the output
    bands that saw the padding are recomputed from thin, reflect-padded strips. Same result.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = True) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(cin, cout, kernel, stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pad
        h, w = x.shape[-2:]
        if h * w < _BORDER_FIX_MIN_PIXELS or min(h, w) <= 2 * (2 * p + 1) or torch.is_grad_enabled():
            return self.conv(F.pad(x, (p,) * 4, mode="reflect"))
        y = F.conv2d(x, self.conv.weight, self.conv.bias, self.conv.stride, p)
        first = -(-p // self.conv.stride[0])  # output positions whose window starts in the padding
        self._fix_bands(x, y, first, self._last_clean(h, y.shape[-2]), self._last_clean(w, y.shape[-1]))
        return y

    def _last_clean(self, size: int, out_size: int) -> int:
        """Index of the first output position (from the end) whose window reaches the far padding."""
        p, s, k = self.pad, self.conv.stride[0], 2 * self.pad + 1
        for i in range(out_size):
            if i * s - p + k > size:
                return i
        return out_size

    def _fix_bands(self, x: torch.Tensor, y: torch.Tensor, first: int, last_h: int, last_w: int) -> None:
        p, s, k = self.pad, self.conv.stride[0], 2 * self.pad + 1
        weight, bias = self.conv.weight, self.conv.bias
        h, w = x.shape[-2:]
        oh, ow = y.shape[-2:]

        def band(x_strip: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
            return F.conv2d(F.pad(x_strip, pads, mode="reflect"), weight, bias, s)

        # top: output rows [0, first) read input rows [-p, (first-1)*s - p + k)
        need = (first - 1) * s - p + k
        y[..., :first, :] = band(x[..., :need, :], (p, p, p, 0))[..., :first, :]
        # bottom: output rows [last_h, oh) read input rows [last_h*s - p, h) plus padding
        if last_h < oh:
            start = last_h * s - p
            strip = band(x[..., start:, :], (p, p, 0, p))
            y[..., last_h:, :] = strip[..., : oh - last_h, :]
        # left / right: full height, thin column strips (rows padded both ways, as globally)
        need_w = (first - 1) * s - p + k
        y[..., :, :first] = band(x[..., :, :need_w], (p, 0, p, p))[..., :, :first]
        if last_w < ow:
            start = last_w * s - p
            strip = band(x[..., :, start:], (0, p, p, p))
            y[..., :, last_w:] = strip[..., :, : ow - last_w]


def combine_moments(parts: list[tuple[torch.Tensor, torch.Tensor, float]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge per-part (mean, biased var, pixel count) into the moments of the whole, in float64."""
    means = torch.stack([m.double().reshape(-1) for m, _, _ in parts])
    variances = torch.stack([v.double().reshape(-1) for _, v, _ in parts])
    counts = torch.tensor([n for _, _, n in parts], dtype=torch.float64, device=means.device)[:, None]
    total = counts.sum()
    mean = (means * counts).sum(0) / total
    var = ((variances + (means - mean) ** 2) * counts).sum(0) / total
    return mean, var


def _cpu_moments_channels_last(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact-enough moments of a [1, C, H, W] channels-last CPU tensor, fast.

    Whole-image float32 reductions lose precision (a relative 1e-3 in the variance of a 2048x2048
    activation), so statistics are taken over bands of ~64k pixels and merged in float64. Wide
    activations use the batch-norm statistics kernel (vectorised across channels); narrow ones, where
    that kernel is slow, sum rows of the [pixels, C] view.
    """
    _, c, h, w = x.shape
    rows = max(1, (1 << 16) // w)
    if c >= 16:
        parts = []
        for r in range(0, h, rows):
            band = x[..., r : r + rows, :]
            mean, var = torch.batch_norm_update_stats(band, None, None, 0.0)
            parts.append((mean, var, band.shape[-2] * w))
        mean, var = combine_moments(parts)
    else:
        pixels = x.permute(0, 2, 3, 1).reshape(-1, c)
        sums, squares = torch.zeros(c, dtype=torch.float64), torch.zeros(c, dtype=torch.float64)
        for start in range(0, pixels.shape[0], rows * w):
            block = pixels[start : start + rows * w]
            sums += block.sum(0, dtype=torch.float32).double()
            squares += torch.square(block).sum(0).double()
        n = h * w
        mean = sums / n
        var = (squares / n - mean * mean).clamp_(min=0.0)
    return mean.float().view(1, c, 1, 1), var.float().view(1, c, 1, 1)


def instance_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel mean and biased variance over the spatial dimensions, as [N, C, 1, 1]."""
    if x.shape[0] == 1 and x.device.type == "cpu" and x.is_contiguous(memory_format=torch.channels_last) \
            and not x.requires_grad:
        return _cpu_moments_channels_last(x)
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    return mean, var


def conditional_instance_norm(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    moments: tuple[torch.Tensor, torch.Tensor] | None = None,
    relu: bool = False,
    inplace: bool = False,
) -> torch.Tensor:
    """Normalise each channel, then scale and shift with style parameters (and optionally ReLU).

    ``gamma``/``beta`` are [N, C] (one style) or [N, C, H, W] (a per-pixel mix of styles).
    ``moments`` lets a caller supply the statistics (those of the whole image when ``x`` is a tile).
    ``inplace`` overwrites ``x`` (a fresh convolution output) to spare a full-size allocation.
    """
    mean, var = moments if moments is not None else instance_moments(x)
    if gamma.dim() == 2:
        gamma, beta = gamma[:, :, None, None], beta[:, :, None, None]
    scale = gamma * torch.rsqrt(var + NORM_EPS)
    shift = beta - mean * scale
    out = torch.addcmul(shift, x, scale, out=x) if inplace and not x.requires_grad else torch.addcmul(shift, x, scale)
    return out.relu_() if relu else out


def upsample_nearest2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")
