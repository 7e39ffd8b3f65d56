"""Losses: hinge adversarial losses, content on style-predictor features, total variation."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def discriminator_hinge(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    return sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real, fake)) / len(real)


def generator_hinge(fake: list[torch.Tensor]) -> torch.Tensor:
    return sum(-f.mean() for f in fake) / len(fake)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def content_loss(
    predictor, output: torch.Tensor, content: torch.Tensor, stages: tuple[int, ...] = (3, 6)
) -> torch.Tensor:
    """How far the output's structure strays from the photo's, in the style predictor's feature space."""
    with torch.no_grad():
        target = predictor.features(content, stages)
    return sum(F.mse_loss(a, b) for a, b in zip(predictor.features(output, stages), target)) / len(stages)


def feature_statistics_loss(predictor, output: torch.Tensor, style: torch.Tensor,
                            stages: tuple[int, ...] = (3, 6, 13)) -> torch.Tensor:
    """How far the output's feature statistics (per-channel mean and spread of the pixels themselves and
    at several depths of the style predictor) are from the style pictures': the palette and texture the
    discriminator judges, given as a steady gradient so that a 100-number style can follow it."""
    with torch.no_grad():
        target = [style] + predictor.features(style, stages)
    loss = output.new_zeros(())
    for a, b in zip([output] + predictor.features(output, stages), target):
        loss = loss + F.mse_loss(a.mean(dim=(0, 2, 3)), b.mean(dim=(0, 2, 3))) + \
            F.mse_loss(a.std(dim=(2, 3)).mean(0), b.std(dim=(2, 3)).mean(0))
    return loss / (len(stages) + 1)
