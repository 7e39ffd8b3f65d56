"""Our layers' weights, taken from the reference graphs' Conv nodes.

The nodes are found by name, never by initializer name (the quantizer merged those: ``onnx_import``).
This module reads arrays only; it imports neither onnx nor torch."""

from __future__ import annotations

import numpy as np

ConvParameters = dict[str, tuple[np.ndarray, np.ndarray | None]]  # Conv node name -> (weight, bias)


class ReferenceConvs:
    """Fills a state dict (``state``) from a graph's Conv nodes."""

    def __init__(self, conv_params: ConvParameters) -> None:
        self.conv_params = conv_params
        self.state: dict[str, np.ndarray] = {}

    def find(self, prefix: str) -> tuple[np.ndarray, np.ndarray | None]:
        """The (weight, bias) of the one Conv node under ``prefix``."""
        hits = [k for k in self.conv_params if k.startswith(prefix + "/")]
        if len(hits) != 1:
            raise KeyError(f"expected one Conv under {prefix!r}, found {hits}")
        return self.conv_params[hits[0]]

    def put(self, ours: str, theirs: str) -> None:
        """Our convolution ``ours`` gets the weight and bias (zero when the graph has none) of ``theirs``."""
        weight, bias = self.find(theirs)
        self.state[f"{ours}.weight"] = weight
        self.state[f"{ours}.bias"] = bias if bias is not None else np.zeros(weight.shape[0], np.float32)
