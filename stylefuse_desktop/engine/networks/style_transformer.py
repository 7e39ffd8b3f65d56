"""StyleTransformer: Magenta's arbitrary-style transformer (content + 100-d style embedding -> stylized).

Encoder (contract, no normalisation: the same for every style), five residual blocks and a decoder
(expand); every normalisation after the encoder is a conditional instance norm whose gamma and beta
are linear functions of the style embedding. It downsamples by 4, so inputs are reflect-padded to a
multiple of 4 and cropped back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..norm_plan import NormPlan, Region
from ..normalization import conditional_instance_norm
from ..tiling import Stage
from .layers import ReflectConv, upsample_nearest2
from .reference_convs import ConvParameters, ReferenceConvs

EMBEDDING_SIZE = 100
ONNX_FILE = "arbitrary_transform.onnx"

# (name in the reference graph, channels) of every conditional instance norm, in order of use
NORM_LAYERS: list[tuple[str, int]] = [
    *[(f"transformer/residual/residual{i}/conv{j}", 32) for i in range(1, 6) for j in (1, 2)],
    ("transformer/expand/conv1/conv", 16),
    ("transformer/expand/conv2/conv", 8),
    ("transformer/expand/conv3/conv", 3),
]

# Moments hook: called with (norm index, activation) and returns the (mean, var) to normalise with.
MomentsHook = Callable[[int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
NormParams = list[tuple[torch.Tensor, torch.Tensor]]


class StyleTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.contract = nn.ModuleList(
            [ReflectConv(3, 8, 9), ReflectConv(8, 16, 3, stride=2), ReflectConv(16, 32, 3, stride=2)]
        )
        self.residual = nn.ModuleList([ReflectConv(32, 32, 3) for _ in range(10)])
        self.expand = nn.ModuleList([ReflectConv(32, 16, 3), ReflectConv(16, 8, 3), ReflectConv(8, 3, 9)])
        # gamma and beta of each norm are affine maps of the embedding (1x1 convs in the reference)
        self.gamma = nn.ModuleList([nn.Linear(EMBEDDING_SIZE, c) for _, c in NORM_LAYERS])
        self.beta = nn.ModuleList([nn.Linear(EMBEDDING_SIZE, c) for _, c in NORM_LAYERS])

    # -- style side ---------------------------------------------------------------------------
    def norm_parameters(self, embedding: torch.Tensor) -> NormParams:
        """[N, 100] embedding -> one (gamma, beta) pair of [N, C] per norm layer."""
        return [(g(embedding), b(embedding)) for g, b in zip(self.gamma, self.beta)]

    # -- image side ---------------------------------------------------------------------------
    def encode(self, content: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] in [0, 1] with H, W multiples of 4 -> [N, 32, H/4, W/4] features."""
        h = content
        for conv in self.contract:
            h = conv(h).relu_()
        return h

    def decode(self, features: torch.Tensor, params: NormParams, moments: MomentsHook | None = None) -> torch.Tensor:
        def norm(i: int, x: torch.Tensor, relu: bool = True) -> torch.Tensor:
            gamma, beta = params[i]
            return conditional_instance_norm(x, gamma, beta, moments(i, x) if moments else None, relu, inplace=True)

        h = features
        for block in range(5):
            c1, c2 = self.residual[2 * block], self.residual[2 * block + 1]
            r = norm(2 * block, c1(h))
            h = h + norm(2 * block + 1, c2(r), relu=False)
        h = norm(10, self.expand[0](upsample_nearest2(h)))
        h = norm(11, self.expand[1](upsample_nearest2(h)))
        return torch.sigmoid_(norm(12, self.expand[2](h), relu=False))

    # -- tiled rendering --------------------------------------------------------------------------
    def encoder_stages(self) -> list[Stage]:
        """The encoder has no normalisation: one tiled stage, full size -> 1/4."""
        # halo: 9x9 conv (4 px) + 3x3 stride 2 (1 px) + 3x3 stride 2 at half size (2 px), aligned to 4
        return [Stage("Reading the photo", lambda x, region: self.encode(x), scale=0.25, halo=8, cost=2.0)]

    def decoder_stages(self, plan: NormPlan) -> list[Stage]:
        """Residual blocks whole at 1/4 size, then the decoder tile by tile with whole-image statistics."""

        def residual(h: torch.Tensor, region: Region) -> torch.Tensor:
            for block in range(5):
                c1, c2 = self.residual[2 * block], self.residual[2 * block + 1]
                r = plan.observe_and_apply(2 * block, c1(h), region)
                h += plan.observe_and_apply(2 * block + 1, c2(r), region, relu=False)  # h is this stage's own
            return h

        def expand1(h: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = self.expand[0](upsample_nearest2(h))
            return out

        def expand2(h: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = self.expand[1](upsample_nearest2(plan.apply(10, h, region)))
            return out

        def expand3(h: torch.Tensor, region: Region) -> torch.Tensor:
            out: torch.Tensor = self.expand[2](plan.apply(11, h, region))
            return out

        def finish(h: torch.Tensor, region: Region) -> torch.Tensor:
            return torch.sigmoid_(plan.apply(12, h, region, relu=False))

        return [
            Stage("Painting", residual, scale=1, halo=0, whole=True, cost=16 * 10 * 9 * 32 * 32 / 16 / 1000),
            Stage("Painting", expand1, scale=2, halo=1, collects=10, cost=4 * 9 * 32 * 16 / 1000, compact=True),
            Stage("Painting", expand2, scale=2, halo=1, collects=11, cost=4 * 9 * 16 * 8 / 1000, compact=True),
            Stage("Painting", expand3, scale=1, halo=4, collects=12, cost=81 * 8 * 3 / 1000),
            Stage("Painting", finish, scale=1, halo=0, cost=0.05),
        ]

    def forward(self, content: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Any size: reflect-pads to a multiple of 4 and crops back."""
        h, w = content.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        x = F.pad(content, (0, pw, 0, ph), mode="reflect") if ph or pw else content
        out = self.decode(self.encode(x), self.norm_parameters(embedding))
        return out[..., :h, :w]


def state_dict_from_onnx(conv_params: ConvParameters) -> dict[str, np.ndarray]:
    """Map the reference graph's Conv nodes (found by node name, not initializer name) to our layers."""

    convs = ReferenceConvs(conv_params)
    for i in range(3):
        convs.put(f"contract.{i}.conv", f"transformer/contract/conv{i + 1}")
    for block in range(5):
        for j in range(2):
            convs.put(f"residual.{2 * block + j}.conv", f"transformer/residual/residual{block + 1}/conv{j + 1}")
    for i in range(3):
        convs.put(f"expand.{i}.conv", f"transformer/expand/conv{i + 1}/conv")
    for i, (name, _) in enumerate(NORM_LAYERS):
        # the 1x1 conv named StyleNorm/Conv gives beta, StyleNorm/Conv_1 gives gamma
        for ours, suffix in (("gamma", "Conv_1"), ("beta", "Conv")):
            weight, bias = convs.find(f"style_params/{name}/StyleNorm/{suffix}")
            if bias is None:
                raise KeyError(f"the Conv under style_params/{name}/StyleNorm/{suffix} has no bias")
            convs.state[f"{ours}.{i}.weight"] = weight[:, :, 0, 0]
            convs.state[f"{ours}.{i}.bias"] = bias
    return convs.state
