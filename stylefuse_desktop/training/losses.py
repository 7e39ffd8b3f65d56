"""Losses: hinge adversarial losses, content on style-predictor features, total variation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ..engine.norm_plan import added

if TYPE_CHECKING:
    from ..engine.networks.style_predictor import StylePredictor

Statistics = tuple[torch.Tensor, torch.Tensor]  # per-channel mean [C], channel covariance [C, C]


def discriminator_hinge(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    return added([F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real, fake)]) / len(real)


def generator_hinge(fake: list[torch.Tensor]) -> torch.Tensor:
    return added([-f.mean() for f in fake]) / len(fake)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def structure_drift(output_features: list[torch.Tensor], photo_features: list[torch.Tensor]) -> torch.Tensor:
    """[N]: how far each output's structure strays from its photo's, in the style predictor's feature
    space (mean squared difference of their features at some depths, averaged over the depths)."""
    return added([(a.float() - b.float()).pow(2).flatten(1).mean(1)
                  for a, b in zip(output_features, photo_features)]) / len(output_features)


STAT_STAGES = (3, 6, 13)  # depths of the style predictor whose statistics describe a style


def feature_statistics(features: torch.Tensor) -> Statistics:
    """[N, C, H, W] -> (per-channel mean [C], channel covariance [C, C]) over the batch's pixels."""
    flat = features.float().transpose(0, 1).reshape(features.shape[1], -1)
    mean = flat.mean(dim=1)
    centred = flat - mean[:, None]
    return mean, centred @ centred.T / centred.shape[1]


def statistics_distance(a: Statistics, b: Statistics) -> torch.Tensor:
    """Distance between two (mean, covariance) pairs, each part relative to the target's own size."""
    (mean_a, cov_a), (mean_b, cov_b) = a, b
    return (mean_a - mean_b).pow(2).sum() / (mean_b.pow(2).sum() + 1e-6) + \
        (cov_a - cov_b).pow(2).sum() / (cov_b.pow(2).sum() + 1e-6)


def style_targets(predictor: StylePredictor, pictures: list[torch.Tensor],
                  stages: tuple[int, ...] = STAT_STAGES) -> list[Statistics]:
    """The style pictures' statistics, each picture whole ([C, H, W], any sizes) and averaged: of the
    pixels themselves and at several depths of the predictor."""
    total: list[Statistics] = []
    with torch.no_grad():
        for picture in pictures:
            x = picture[None]
            stats = [feature_statistics(f) for f in [x] + predictor.features(x, stages)]
            total = stats if not total else [(m + m2, c + c2) for (m, c), (m2, c2) in zip(total, stats)]
    return [(m / len(pictures), c / len(pictures)) for m, c in total]


def feature_statistics_loss(predictor: StylePredictor, output: torch.Tensor, targets: list[Statistics],
                            stages: tuple[int, ...] = STAT_STAGES,
                            output_features: list[torch.Tensor] | None = None) -> torch.Tensor:
    """How far the output's feature statistics (means and covariances of the pixels and of the style
    predictor's features at several depths) are from the style pictures' (``style_targets``): palette
    and texture as a steady gradient beside the discriminator's noisy one."""
    features = output_features if output_features is not None else predictor.features(output, stages)
    ours = [feature_statistics(f) for f in [output] + features]
    return added([statistics_distance(a, b) for a, b in zip(ours, targets)]) / len(targets)
