"""Building blocks shared by the style networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..precision import conv_dtype

# Below this many pixels a plain reflection pad is cheaper than the border fix-up's extra calls.
_BORDER_FIX_MIN_PIXELS = 256 * 256
_GPU_PAD_COPY_BYTES = 1 << 30


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
        if torch.is_grad_enabled():
            trained: torch.Tensor = self.conv(F.pad(x, (p,) * 4, mode="reflect"))
            return trained
        weight, bias = self._parameters_in(conv_dtype())
        if x.device.type == "cpu":
            # oneDNN is several times slower on NCHW (or strided) activations than on NHWC ones
            x = x.contiguous(memory_format=torch.channels_last)
        x = x.to(weight.dtype)
        stride = self.conv.stride[0]
        # on a GPU the padded copy is cheap and one convolution beats five (launches, cuDNN plans);
        # the strips pay only where the copy would be large
        padded_is_cheap = x.device.type != "cpu" and x.numel() * x.element_size() < _GPU_PAD_COPY_BYTES
        if padded_is_cheap or h * w < _BORDER_FIX_MIN_PIXELS or min(h, w) <= 2 * (2 * p + 1):
            y = F.conv2d(F.pad(x, (p,) * 4, mode="reflect"), weight, bias, stride)
        else:
            y = F.conv2d(x, weight, bias, stride, p)
            first = -(-p // stride)  # output positions whose window starts in the padding
            self._fix_bands(x, y, weight, bias, first, self._last_clean(h, y.shape[-2]),
                            self._last_clean(w, y.shape[-1]))
        return y.float()

    def _parameters_in(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The weights in ``dtype`` (cast once and kept: renders call this per tile)."""
        weight, bias = self.conv.weight, self.conv.bias
        if dtype == weight.dtype:
            return weight, bias
        # keyed by the weight's storage and version: a move or an in-place update (training) recasts
        key = (dtype, weight.data_ptr(), _version(weight), None if bias is None else _version(bias))
        cached = getattr(self, "_cast", None)
        if cached is None or cached[0] != key:
            cached = (key, weight.to(dtype), None if bias is None else bias.to(dtype))
            self._cast = cached
        return cached[1], cached[2]

    def _last_clean(self, size: int, out_size: int) -> int:
        """Index of the first output position (from the end) whose window reaches the far padding."""
        p, s, k = self.pad, self.conv.stride[0], 2 * self.pad + 1
        for i in range(out_size):
            if i * s - p + k > size:
                return i
        return out_size

    def _fix_bands(self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                   first: int, last_h: int, last_w: int) -> None:
        p, s, k = self.pad, self.conv.stride[0], 2 * self.pad + 1
        oh, ow = y.shape[-2:]

        def band(x_strip: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
            # strips are strided views: made contiguous first, padding and convolving them is cheap
            x_strip = x_strip.contiguous(memory_format=torch.channels_last)
            return F.conv2d(F.pad(x_strip, pads, mode="reflect"), weight, bias, s)

        # top: output rows [0, first) read input rows [-p, (first-1)*s - p + k)
        need = (first - 1) * s - p + k
        y[..., :first, :] = band(x[..., :need, :], (p, p, p, 0))[..., :first, :]
        # bottom: output rows [last_h, oh) read input rows [last_h*s - p, h) plus padding
        if last_h < oh:
            start = last_h * s - p
            y[..., last_h:, :] = band(x[..., start:, :], (p, p, 0, p))[..., : oh - last_h, :]
        # left / right: full height, thin column strips (rows padded both ways, as globally)
        y[..., :, :first] = band(x[..., :, :need], (p, 0, p, p))[..., :, :first]
        if last_w < ow:
            start = last_w * s - p
            y[..., :, last_w:] = band(x[..., :, start:], (0, p, p, p))[..., :, : ow - last_w]


def _version(t: torch.Tensor) -> int:
    return 0 if t.is_inference() else t._version


def upsample_nearest2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")
