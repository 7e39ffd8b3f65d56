"""The networks, found by name. Adding a network touches its own module and one line of NETWORKS."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from torch import nn

from . import multistyle, style_predictor, style_transformer


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    module: ModuleType
    class_name: str
    # how the reference graph is read: "conv_nodes" (quantized, follow Conv inputs) or "initializers"
    onnx_reading: str

    def build(self) -> nn.Module:
        network: nn.Module = getattr(self.module, self.class_name)()
        return network


NETWORKS: dict[str, NetworkSpec] = {
    "style_predictor": NetworkSpec("style_predictor", style_predictor, "StylePredictor", "conv_nodes"),
    "style_transformer": NetworkSpec("style_transformer", style_transformer, "StyleTransformer", "conv_nodes"),
    "multistyle": NetworkSpec("multistyle", multistyle, "MultiStyleNet", "initializers"),
}
