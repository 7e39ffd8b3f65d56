"""The discriminators: multi-scale PatchGANs with spectral normalisation.

Each scale judges overlapping patches (a 70-pixel receptive field at full size), and the coarser
scales see the same picture halved: brushwork and larger shapes both count. For a look learnt from
pairs the input is the photo and a result side by side in channels, D(x, y): it judges whether y is
a plausible *edit of x*, not just a plausible picture.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _patch_net(cin: int, width: int = 16, layers: int = 3) -> nn.Sequential:
    blocks: list[nn.Module] = [spectral_norm(nn.Conv2d(cin, width, 4, 2, 1)), nn.LeakyReLU(0.2)]
    channels = width
    for _ in range(layers - 1):
        blocks += [spectral_norm(nn.Conv2d(channels, channels * 2, 4, 2, 1)), nn.LeakyReLU(0.2)]
        channels *= 2
    blocks += [spectral_norm(nn.Conv2d(channels, channels, 4, 1, 1)), nn.LeakyReLU(0.2),
               spectral_norm(nn.Conv2d(channels, 1, 4, 1, 1))]
    return nn.Sequential(*blocks)


class MultiScalePatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, scales: int = 2, width: int = 16) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.nets = nn.ModuleList([_patch_net(in_channels, width) for _ in range(scales)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[N, C, H, W] -> one map of patch scores per scale."""
        if x.shape[1] != self.in_channels:
            raise ValueError(f"the discriminator expects {self.in_channels} channels, got {x.shape[1]}")
        out = []
        for i, net in enumerate(self.nets):
            out.append(net(x))
            if i + 1 < len(self.nets):
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return out

    def real_and_fake(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Scores of real and of made pictures from one pass: each picture is judged alone, so one batch
        gives each its own scores, in half the launches (and one power iteration of the spectral norms)."""
        scores = self(torch.cat([real, fake]))
        return [s[: len(real)] for s in scores], [s[len(real) :] for s in scores]


class ConditionalPatchDiscriminator(MultiScalePatchDiscriminator):
    """D(x, y): the source and a result, concatenated in channels."""

    def __init__(self, scales: int = 2, width: int = 16) -> None:
        super().__init__(in_channels=6, scales=scales, width=width)

    def judge(self, source: torch.Tensor, result: torch.Tensor) -> list[torch.Tensor]:
        scores: list[torch.Tensor] = self(torch.cat([source, result], dim=1))
        return scores

    def judge_real_and_fake(self, source: torch.Tensor, real: torch.Tensor,
                            fake: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """D(x, y) and D(x, G(x)) from one pass."""
        return self.real_and_fake(torch.cat([source, real], dim=1), torch.cat([source, fake], dim=1))
