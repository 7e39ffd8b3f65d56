"""MultiStyleNet: the 26-style network. Each style is a set of per-layer normalisation parameters;
mixing styles mixes those parameters.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..norm_plan import NormPlan, Region
from ..normalization import conditional_instance_norm
from ..tiling import Stage
from .layers import ReflectConv, upsample_nearest2
from .style_transformer import MomentsHook, NormParams

ONNX_FILE = "multistyle26.onnx"
NUM_STYLES = 26


class StyledConv(nn.Module):
    """A convolution followed by a conditional instance norm with one (gamma, beta) row per style."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = ReflectConv(cin, cout, kernel, stride, bias=False)
        self.norm = StyleRows(cout)


class StyleRows(nn.Module):
    """A layer's normalisation parameters, one (gamma, beta) row per style."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(NUM_STYLES, channels))
        self.beta = nn.Parameter(torch.zeros(NUM_STYLES, channels))


class MultiStyleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.contract = nn.ModuleList([StyledConv(3, 32, 9), StyledConv(32, 32, 3, 2), StyledConv(32, 32, 3, 2)])
        self.res = nn.ModuleList(
            [nn.ModuleList([StyledConv(32, 32, 3), StyledConv(32, 32, 3)]) for _ in range(6)]
        )
        self.expand = nn.ModuleList([StyledConv(32, 8, 3), StyledConv(8, 4, 3), StyledConv(4, 3, 9)])

    def layers(self) -> list[StyledConv]:
        """The 18 styled convolutions in order (contract, residual blocks, expand: the order they were
        registered in)."""
        return [m for m in self.modules() if isinstance(m, StyledConv)]

    def norm_parameters(self, style_weights: torch.Tensor) -> NormParams:
        """[N, 26] style weights -> (gamma, beta) of [N, C] per layer (a weighted sum of the styles' rows)."""
        return [(style_weights @ layer.norm.gamma, style_weights @ layer.norm.beta) for layer in self.layers()]

    def run(self, image: torch.Tensor, params: NormParams, moments: MomentsHook | None = None) -> torch.Tensor:
        layers = self.layers()

        def styled(i: int, x: torch.Tensor, relu: bool = True) -> torch.Tensor:
            y = layers[i].conv(x)
            gamma, beta = params[i]
            return conditional_instance_norm(y, gamma, beta, moments(i, y) if moments else None, relu, inplace=True)

        h = styled(0, image)
        h = styled(1, h)
        h = styled(2, h)
        for block in range(6):
            r = styled(3 + 2 * block, h)
            h = h + styled(4 + 2 * block, r, relu=False)
        h = styled(15, upsample_nearest2(h))
        h = styled(16, upsample_nearest2(h))
        return torch.sigmoid_(styled(17, h, relu=False))

    def stages(self, plan: NormPlan) -> list[Stage]:
        """Tiled rendering: the encoder's stages then the decoder's."""
        return self.encoder_stages(plan) + self.decoder_stages(plan)

    def encoder_stages(self, plan: NormPlan) -> list[Stage]:
        """Photo -> normalised features at 1/4 size (the third layer's output, normalised with the
        photo's own statistics: photo fusion blends these). The first layer's output (32 channels at
        full size) is too large to keep, so a first pass only gathers its statistics and the next stage
        computes it again, tile by tile."""
        layers = self.layers()

        def first(x: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = layers[0].conv(x)
            return out

        def second(x: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = layers[1].conv(plan.apply(0, layers[0].conv(x), region))
            return out

        def third(x: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = layers[2].conv(plan.apply(1, x, region))
            return out

        def normalise(x: torch.Tensor, region: Region) -> torch.Tensor:
            return plan.apply(2, x, region)

        return [
            Stage("Measuring", first, scale=1, halo=4, collects=0, store=False, cost=7.8),
            Stage("Painting", second, scale=0.5, halo=6, collects=1, cost=7.8 + 2.3, compact=True),
            Stage("Painting", third, scale=0.5, halo=2, collects=2, cost=9.2 / 4),
            Stage("Painting", normalise, scale=1, halo=0, whole=True, cost=0.05),
        ]

    def decoder_stages(self, plan: NormPlan) -> list[Stage]:
        """Normalised features at 1/4 size -> the painting: residual blocks whole, the rest in tiles."""
        layers = self.layers()

        def residual(h: torch.Tensor, region: Region) -> torch.Tensor:
            for block in range(6):
                r = plan.observe_and_apply(3 + 2 * block, layers[3 + 2 * block].conv(h), region)
                h += plan.observe_and_apply(4 + 2 * block, layers[4 + 2 * block].conv(r), region, relu=False)
            return h

        def expand0(x: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = layers[15].conv(upsample_nearest2(x))
            return out

        def expand1(x: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = layers[16].conv(upsample_nearest2(plan.apply(15, x, region)))
            return out

        def expand2(x: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = layers[17].conv(plan.apply(16, x, region))
            return out

        def finish(x: torch.Tensor, region: Region) -> torch.Tensor:
            return torch.sigmoid_(plan.apply(17, x, region, relu=False))

        return [
            Stage("Painting", residual, scale=1, halo=0, whole=True, cost=12 * 9.2 / 16),
            Stage("Painting", expand0, scale=2, halo=1, collects=15, cost=4 * 2.3 / 16, compact=True),
            Stage("Painting", expand1, scale=2, halo=1, collects=16, cost=4 * 0.3 / 4, compact=True),
            Stage("Painting", expand2, scale=1, halo=4, collects=17, cost=1.0),
            Stage("Painting", finish, scale=1, halo=0, cost=0.05),
        ]

    def forward(self, image: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] in [0, 1], any size; [N, 26] weights -> stylized [N, 3, H, W]."""
        h, w = image.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        x = F.pad(image, (0, pw, 0, ph), mode="reflect") if ph or pw else image
        return self.run(x, self.norm_parameters(style_weights))[..., :h, :w]


def state_dict_from_onnx(initializers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float graph's initializer names map directly: ``contract.0.w`` -> ``contract.0.conv.conv.weight``."""
    state = {}
    for name, value in initializers.items():
        if name.endswith(".w"):
            state[name[:-2] + ".conv.conv.weight"] = value
        elif name.endswith((".norm.gamma", ".norm.beta")):
            state[name] = value
    return state
