"""Per-style adapters: a trained style's own small weights on top of the frozen shared transformer.

The 100-number embedding only moves the normalisation layers, so it cannot teach the decoder strokes
and textures it never learnt. A trained style therefore also carries, for each decoder convolution
(the ten residual convolutions and the three of the expanding path), a low-rank change to its weight:
``W + up @ down``, with ``up`` [C_out, r] and ``down`` [r, C_in * k * k]. ``up`` starts at zero, so an
untrained adapter is exactly the zero-shot style.

Mixing: a style's adapters scale with its weight in the mix (and with the strength), so a mix of a
trained style at 0.3 with any other style applies 0.3 of its weight changes; a style without adapters
contributes none. Tensors in a ``.sfstyle``: ``adapter.<layer>.up`` and ``adapter.<layer>.down``.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TypeVar, cast

import numpy as np
import torch
from torch import nn

from ..document.style_file import ADAPTER_PREFIX, MAX_ADAPTER_RANK

# the decoder convolutions that carry adapters, by their module path in StyleTransformer
ADAPTED_LAYERS: tuple[str, ...] = (*(f"residual.{i}" for i in range(10)), "expand.0", "expand.1", "expand.2")
RANK = 8
PREFIX = ADAPTER_PREFIX


def _conv(net: nn.Module, layer: str) -> nn.Conv2d:
    conv = net.get_submodule(layer).conv
    assert isinstance(conv, nn.Conv2d)
    return conv


def _delta(net: nn.Module, layer: str) -> LowRankDelta:
    """The adapter registered on a layer of a ``trainable_copy``."""
    parametrizations = _conv(net, layer).parametrizations
    assert isinstance(parametrizations, nn.ModuleDict)
    chain = parametrizations["weight"]
    assert isinstance(chain, nn.ModuleList)
    delta = chain[0]
    assert isinstance(delta, LowRankDelta)
    return delta


def adapter_shapes(net: nn.Module, rank: int = RANK) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    """{layer: ((C_out, r), (r, C_in*k*k))} for each adapted convolution of ``net``."""
    shapes = {}
    for layer in ADAPTED_LAYERS:
        weight = _conv(net, layer).weight
        cout, fan_in = weight.shape[0], weight[0].numel()
        r = min(rank, cout, fan_in)
        shapes[layer] = ((cout, r), (r, fan_in))
    return shapes


class LowRankDelta(nn.Module):
    """A parametrization: the frozen weight plus ``up @ down`` (trainable), reshaped to the kernel."""

    def __init__(self, up: torch.Tensor, down: torch.Tensor) -> None:
        super().__init__()
        self.up = nn.Parameter(up)
        self.down = nn.Parameter(down)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + (self.up @ self.down).view_as(weight).to(weight.dtype)


def initial_adapters(net: nn.Module, generator: torch.Generator | None = None,
                     rank: int = RANK) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Zero ``up`` (step 0 is exactly the frozen network) and small random ``down`` (so ``up`` gets a
    gradient at once), scaled like the layer's own weights."""
    out = {}
    for layer, ((cout, r), (_, fan_in)) in adapter_shapes(net, rank).items():
        scale = float(_conv(net, layer).weight.detach().float().std())
        down = torch.randn(r, fan_in, generator=generator) * scale
        out[layer] = (torch.zeros(cout, r), down)
    return out


NetworkT = TypeVar("NetworkT", bound=nn.Module)  # a copy of a network is of its class


def trainable_copy(net: NetworkT, adapters: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> NetworkT:
    """A copy of the (frozen) transformer whose adapted convolutions compute ``W + up @ down``, with
    ``up`` and ``down`` as its only trainable parameters; the shared network is left untouched."""
    from torch.nn.utils import parametrize

    with torch.inference_mode(False):
        clone = copy.deepcopy(net)
        clone.requires_grad_(False)
        device = next(net.parameters()).device
        for layer, (up, down) in adapters.items():
            conv = _conv(clone, layer)
            parametrize.register_parametrization(
                conv, "weight", LowRankDelta(up.detach().clone().to(device), down.detach().clone().to(device)))
    return clone


def adapter_parameters(trainable: nn.Module) -> list[nn.Parameter]:
    return [p for layer in ADAPTED_LAYERS for p in _delta(trainable, layer).parameters()]


def named_adapter_parameters(trainable: nn.Module) -> dict[str, nn.Parameter]:
    """The adapters of a ``trainable_copy`` by the names a style file gives them."""
    out = {}
    for layer in ADAPTED_LAYERS:
        delta = _delta(trainable, layer)
        out[f"{PREFIX}{layer}.up"], out[f"{PREFIX}{layer}.down"] = delta.up, delta.down
    return out


def has_adapters(tensors: Mapping[str, object]) -> bool:
    return any(k.startswith(PREFIX) for k in tensors)


def check_adapter_tensors(tensors: dict[str, np.ndarray]) -> str | None:
    """Why a style's adapter tensors cannot be used (a clear sentence), or None when they fit."""
    if not has_adapters(tensors):
        return None
    from .networks.style_transformer import StyleTransformer

    shapes = _reference_shapes(StyleTransformer)
    for layer, (up_shape, down_shape) in shapes.items():
        up, down = tensors.get(f"{PREFIX}{layer}.up"), tensors.get(f"{PREFIX}{layer}.down")
        if up is None or down is None:
            return f"the adapter of layer {layer} is missing"
        if up.ndim != 2 or down.ndim != 2 or up.shape[0] != up_shape[0] or down.shape[1] != down_shape[1] \
                or up.shape[1] != down.shape[0] or up.shape[1] > MAX_ADAPTER_RANK:
            return f"the adapter of layer {layer} has the wrong shape"
        if not (np.all(np.isfinite(up)) and np.all(np.isfinite(down))):
            return f"the adapter of layer {layer} holds invalid numbers"
    return None


@functools.lru_cache(maxsize=1)
def _reference_shapes(network_class: type[nn.Module]) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    with torch.inference_mode(False):
        return adapter_shapes(network_class().to("meta"), RANK)


def weight_deltas(weighted: Iterable[tuple[Mapping[str, np.ndarray], float]]) -> dict[str, np.ndarray]:
    """Each style's adapters scaled by its weight, summed: {layer: delta of the kernel, flattened}.
    ``weighted``: (style tensors, weight) pairs; styles without adapters add nothing."""
    deltas: dict[str, np.ndarray] = {}
    for tensors, weight in weighted:
        if weight == 0 or not has_adapters(tensors):
            continue
        for layer in ADAPTED_LAYERS:
            up = np.asarray(tensors[f"{PREFIX}{layer}.up"], np.float32)
            down = np.asarray(tensors[f"{PREFIX}{layer}.down"], np.float32)
            delta = weight * (up @ down)
            deltas[layer] = deltas[layer] + delta if layer in deltas else delta
    return deltas


# (the network's id, each layer's delta by hash) -> the network with the deltas added
_merged: OrderedDict[tuple[int, tuple[tuple[str, int], ...]], nn.Module] = OrderedDict()
_merged_lock = threading.Lock()


def with_adapters(net: NetworkT, deltas: dict[str, np.ndarray] | None) -> NetworkT:
    """``net`` itself when there are no deltas, else a copy with the deltas added to its kernels (cached
    for the last few mixes: a render calls this once per paint)."""
    if not deltas:
        return net
    key = (id(net), tuple(sorted((layer, hash(d.tobytes())) for layer, d in deltas.items())))
    with _merged_lock:
        if key in _merged:
            _merged.move_to_end(key)
            return cast(NetworkT, _merged[key])  # keyed by id(net): a copy of that very network
    with torch.inference_mode(False), torch.no_grad():
        clone = copy.deepcopy(net)
        for layer, delta in deltas.items():
            conv = _conv(clone, layer)
            conv.weight.add_(torch.from_numpy(delta).to(conv.weight.device, conv.weight.dtype)
                             .view_as(conv.weight))
    with _merged_lock:
        _merged[key] = clone
        while len(_merged) > 4:
            _merged.popitem(last=False)
    return clone
