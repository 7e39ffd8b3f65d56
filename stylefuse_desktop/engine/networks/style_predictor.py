"""StylePredictor: MobileNetV2 trunk + bottleneck, a 256x256 style image in [0, 1] -> 100-d embedding.

The stride-2 convolutions pad bottom/right only, as TensorFlow's SAME padding does.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .reference_convs import ConvParameters, ReferenceConvs

ONNX_FILE = "arbitrary_predict.onnx"
INPUT_SIZE = 256

# MobileNetV2 (width 1.0): expansion t, output channels c, repeats n, first stride s
_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class SameConv(nn.Module):
    """Convolution with TensorFlow SAME padding: stride 2 pads only bottom/right."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.stride, self.kernel = stride, kernel
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=0 if stride == 2 else kernel // 2, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2 and self.kernel > 1:
            x = F.pad(x, (0, 1, 0, 1))
        out: torch.Tensor = self.conv(x)
        return out


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expand = SameConv(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = SameConv(hidden, hidden, 3, stride, groups=hidden)
        self.project = SameConv(hidden, cout, 1)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self.expand(x)) if self.expand is not None else x
        h = self.project(F.relu6(self.depthwise(h)))
        out: torch.Tensor = x + h if self.use_residual else h
        return out


class StylePredictor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = SameConv(3, 32, 3, stride=2)
        blocks, cin = [], 32
        for t, c, n, s in _STAGES:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        self.blocks = nn.Sequential(*blocks)
        self.head = SameConv(cin, 1280, 1)
        self.bottleneck = nn.Conv2d(1280, 100, 1)

    def forward(self, style_image: torch.Tensor) -> torch.Tensor:
        """[N, 3, 256, 256] in [0, 1] -> [N, 100]."""
        h = F.relu6(self.stem(style_image))
        h = F.relu6(self.head(self.blocks(h)))
        h = h.mean(dim=(2, 3), keepdim=True)
        embedding: torch.Tensor = self.bottleneck(h).flatten(1)
        return embedding

    def features(self, image: torch.Tensor, stages: tuple[int, ...] = (3, 6, 13)) -> list[torch.Tensor]:
        """Intermediate activations after the given blocks (used as a perceptual feature space)."""
        out, h = [], F.relu6(self.stem(image))
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i in stages:
                out.append(h)
            if i >= max(stages):
                break
        return out


def state_dict_from_onnx(conv_params: ConvParameters) -> dict[str, np.ndarray]:
    convs = ReferenceConvs(conv_params)
    convs.put("stem.conv", "MobilenetV2/Conv")
    index = 0
    for t, _c, n, _s in _STAGES:
        for _ in range(n):
            theirs = "MobilenetV2/expanded_conv" + (f"_{index}" if index else "")
            if t != 1:
                convs.put(f"blocks.{index}.expand.conv", f"{theirs}/expand")
            convs.put(f"blocks.{index}.depthwise.conv", f"{theirs}/depthwise")
            convs.put(f"blocks.{index}.project.conv", f"{theirs}/project")
            index += 1
    convs.put("head.conv", "MobilenetV2/Conv_1")
    convs.put("bottleneck", "mobilenet_conv/Conv")
    return convs.state
