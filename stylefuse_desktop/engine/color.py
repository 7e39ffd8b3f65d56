"""Colour operations on [N, 3, H, W] tensors in [0, 1]."""

from __future__ import annotations

import torch

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
