"""Colour operations on [N, 3, H, W] tensors in [0, 1]."""

from __future__ import annotations

import torch

# ITU-R BT.601 luma weights, as JPEG's YCbCr uses
_LUMA = (0.299, 0.587, 0.114)


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    return _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b


def transfer_luminance(stylized: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """Keep the photo's colours (its Cb/Cr) and take light and texture (luma) from the stylized image."""
    return (photo - luminance(photo) + luminance(stylized)).clamp_(0.0, 1.0)
