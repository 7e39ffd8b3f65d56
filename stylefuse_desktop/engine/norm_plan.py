"""The style side of one render: every norm layer's style parameters, where each style applies, and
the statistics gathered over the whole image.

A render normalises each conditional instance norm with statistics of the *whole* image, even when
it runs tile by tile (a tile's own statistics would make every tile look different). The executor
gathers them with ``collect`` over every tile's valid region, then ``finish`` turns them into
moments, and later stages ``apply`` them.

With per-pixel style weights gamma/beta are mixed per pixel and boundaries blend inside the network.
Each style is normalised either with the statistics it has when it paints the whole picture alone
(``freeze``: style masks, so that where a style's mask is 1 it looks exactly as it does alone), or with
statistics taken over the region it covers, weighted by its mask (photo fusion by masks: each photo's
region is normalised as that photo would be).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .normalization import NORM_EPS, combine_moments, conditional_instance_norm, instance_moments

NormParams = list[tuple[torch.Tensor, torch.Tensor]]
Moments = tuple[torch.Tensor, torch.Tensor]  # mean and biased variance, each [1, C, 1, 1] (or [C])
# a tile's mask-weighted sums for one style: (mask total, sum of x, sum of x squared)
WeightedSums = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Region:
    """Where a tile sits: its top-left (y, x) in the pixels of its layer, whose resolution is
    ``factor`` times the network input's (1, 1/2 or 1/4)."""

    y: int
    x: int
    factor: float


def added(values: list[torch.Tensor]) -> torch.Tensor:
    """The tensors summed in order (as ``sum`` would, without its starting 0)."""
    return sum(values[1:], values[0])


class NormPlan:
    def __init__(
        self,
        style_params: list[NormParams],
        weights: torch.Tensor,
        masks: torch.Tensor | None = None,
    ) -> None:
        """``style_params[k][i]`` is (gamma, beta), each [1, C], of style k at norm layer i;
        ``weights`` [K] sums to 1; ``masks`` [K, H, W] at the network input size is a per-pixel
        partition of unity (or None for one global mix)."""
        self.style_params = style_params
        self.weights = weights
        self.masks = masks
        self.layers = len(style_params[0])
        if masks is None:
            # one global style: mix the parameters once
            self.mixed = [
                (sum(w * p[i][0] for w, p in zip(weights.tolist(), style_params)),
                 sum(w * p[i][1] for w, p in zip(weights.tolist(), style_params)))
                for i in range(self.layers)
            ]
        self._masks_at: dict[float, torch.Tensor] = {}
        self._parts: dict[int, list[tuple[torch.Tensor, torch.Tensor, int]]] = {}  # one global mix
        self._style_parts: dict[int, list[list[WeightedSums]]] = {}  # spatial: per tile, per style
        self.moments: dict[int, Moments] = {}  # one global mix: the whole image's
        self.style_moments: dict[int, tuple[Moments, ...]] = {}  # spatial: each style's
        self.frozen = False

    def alone(self, k: int) -> NormPlan:
        """A plan that paints style ``k`` alone over the whole picture (to measure its statistics)."""
        return NormPlan([self.style_params[k]], torch.ones(1))

    def freeze(self, alone: list[NormPlan]) -> None:
        """Normalise every style with the statistics it had alone (``alone[k]`` has run): nothing is
        gathered any more."""
        self.style_moments = {i: tuple(plan.moments[i] for plan in alone) for i in alone[0].moments}
        self.frozen = True

    @property
    def spatial(self) -> bool:
        return self.masks is not None

    # -- masks at each layer's resolution --------------------------------------------------------
    def mask_crop(self, region: Region, height: int, width: int, device: torch.device) -> torch.Tensor:
        """[K, 1, h, w] weights of each style over a tile."""
        factor = region.factor
        if self.masks is None:
            raise ValueError("a plan of one global mix has no masks")
        if factor not in self._masks_at:
            if factor == 1:
                self._masks_at[factor] = self.masks
            else:
                size = (round(self.masks.shape[-2] * factor), round(self.masks.shape[-1] * factor))
                self._masks_at[factor] = F.interpolate(self.masks[None], size=size, mode="area")[0]
        full = self._masks_at[factor]
        crop = full[:, region.y : region.y + height, region.x : region.x + width]
        if crop.shape[-2:] != (height, width):  # a tile of the multiple-of-4 padding: reflect the edge
            crop = F.pad(crop[None], (0, width - crop.shape[-1], 0, height - crop.shape[-2]), mode="replicate")[0]
        return crop[:, None].to(device)

    # -- statistics ------------------------------------------------------------------------------
    def begin(self, i: int) -> None:
        if self.frozen:
            return
        if self.spatial:
            self._style_parts[i] = []
            self.style_moments.pop(i, None)
        else:
            self._parts[i] = []
            self.moments.pop(i, None)

    def collect(self, i: int, x: torch.Tensor, region: Region) -> None:
        """Add a tile's valid region of the input of norm layer ``i`` to the statistics."""
        if self.frozen:
            return
        if not self.spatial:
            if x.device.type == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            mean, var = instance_moments(x)
            self._parts[i].append((mean.reshape(-1), var.reshape(-1), x.shape[-2] * x.shape[-1]))
            return
        masks = self.mask_crop(region, x.shape[-2], x.shape[-1], x.device)
        sums = []
        for m in masks:  # m: [1, h, w]
            weighted = x * m
            sums.append((m.sum(dtype=torch.float64),
                         weighted.sum(dim=(0, 2, 3), dtype=torch.float64),
                         (weighted * x).sum(dim=(0, 2, 3), dtype=torch.float64)))
        self._style_parts[i].append(sums)

    def finish(self, i: int) -> None:
        if self.frozen:
            return
        if not self.spatial:
            mean, var = combine_moments(self._parts.pop(i))
            self.moments[i] = (mean.float().view(1, -1, 1, 1), var.float().view(1, -1, 1, 1))
            return
        parts = self._style_parts.pop(i)
        per_style: list[Moments] = []
        for k in range(len(self.style_params)):
            weight, total, squares = (added([p[k][j] for p in parts]) for j in range(3))
            if float(weight) <= 1e-6:
                # a style that covers nothing here: give it neutral statistics (it is never shown)
                per_style.append((torch.zeros_like(total).float(), torch.ones_like(total).float()))
                continue
            mean = total / weight
            var = (squares / weight - mean * mean).clamp(min=0.0)
            per_style.append((mean.float(), var.float()))
        self.style_moments[i] = tuple(per_style)

    def observe(self, i: int, x: torch.Tensor, region: Region) -> None:
        """Statistics from a tensor that is the whole layer (low-resolution sections run untiled)."""
        self.begin(i)
        self.collect(i, x, region)
        self.finish(i)

    # -- normalisation ---------------------------------------------------------------------------
    def apply(self, i: int, x: torch.Tensor, region: Region, relu: bool = True) -> torch.Tensor:
        """Normalise a tile of norm layer ``i``'s input with the whole image's statistics."""
        if not self.spatial:
            gamma, beta = self.mixed[i]
            mean, var = self.moments[i]
            return conditional_instance_norm(x, gamma.to(x.device), beta.to(x.device),
                                             (mean.to(x.device), var.to(x.device)), relu=relu, inplace=True)
        masks = self.mask_crop(region, x.shape[-2], x.shape[-1], x.device)
        scale = torch.zeros_like(x)
        shift = torch.zeros_like(x)
        for k, m in enumerate(masks):
            gamma, beta = (t.to(x.device).view(1, -1, 1, 1) for t in self.style_params[k][i])
            mean, var = (t.to(x.device).view(1, -1, 1, 1) for t in self.style_moments[i][k])
            s = gamma * torch.rsqrt(var + NORM_EPS)
            scale.addcmul_(m[None], s)
            shift.addcmul_(m[None], beta - mean * s)
        out = x.mul_(scale).add_(shift) if not torch.is_grad_enabled() else x * scale + shift
        return out.relu_() if relu else out

    def observe_and_apply(self, i: int, x: torch.Tensor, region: Region, relu: bool = True) -> torch.Tensor:
        self.observe(i, x, region)
        return self.apply(i, x, region, relu)
