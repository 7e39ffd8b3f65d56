"""From a style mix to the network that paints it and its per-layer parameters.

Built-ins keep their own look: a mix of built-ins only (alone, weighted, or placed by masks) is
painted by the 26-style network, whose normalisation parameters mix like the transformer's. Every
other style is a 100-d embedding of the arbitrary-style transformer, and a mix is one weighted average
of embeddings. Where a built-in meets a picture or trained style, it enters the transformer's space as a
trained style does: its own normalisation parameters and adapters, distilled from the 26-style net
(``engine/distilled.py``); without that file, by its fitted embedding alone
(``models/fit_builtin_embeddings.py``). ``render`` cross-fades from the 26-style painting so a small
weight of the other style makes a small change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

import numpy as np
import torch

from .. import locations
from ..document.style_file import StyleFile
from ..document.user_files import printable
from ..errors import BadInputError
from .adapters import check_adapter_tensors, weight_deltas
from .color import ColourMap, weighted_colour_map
from .distilled import distilled_builtin
from .embeddings import source_embedding
from .networks.multistyle import NUM_STYLES
from .networks.style_transformer import StyleTransformer
from .norm_plan import NormParams, NormPlan, added
from .stroke_size import EMBEDDING_FAMILY, MULTISTYLE_FAMILY
from .styles import BUILTIN, StyleMix, StyleSource
from .weights import load_network

TRANSFORMER: Final = "style_transformer"
MULTISTYLE: Final = "multistyle"
NetworkName = Literal["style_transformer", "multistyle"]  # the networks that paint


@lru_cache(maxsize=1)
def fitted_builtin_embeddings() -> tuple[np.ndarray, dict[int, float]]:
    """([26, 100] embeddings, {index: held-out mean |diff|}) shipped under models/."""
    from safetensors.numpy import load_file

    embeddings = load_file(str(locations.models_dir() / "builtin_embeddings.safetensors"))["embeddings"]
    report = json.loads((locations.models_dir() / "builtin_embeddings_fit.json").read_text(encoding="utf-8"))
    fit = {int(k): float(v["held_out_mean_abs_diff"]) for k, v in report["styles"].items()}
    if embeddings.shape != (NUM_STYLES, 100):
        raise RuntimeError("models/builtin_embeddings.safetensors must hold a [26, 100] tensor")
    return embeddings, fit


def component_embedding(source: StyleSource, device: torch.device) -> torch.Tensor:
    if source.kind == BUILTIN:
        embeddings, _ = fitted_builtin_embeddings()
        return torch.from_numpy(embeddings[source.builtin_index].copy()).to(device)
    return source_embedding(source, device)


def transformer_style(source: StyleSource) -> StyleFile | None:
    """The stored tensors a style paints with in the transformer (own norm parameters, adapters): a style
    file's, a built-in's distilled ones; None for a style that is its embedding alone."""
    if source.kind == BUILTIN and source.builtin_index is not None:
        return distilled_builtin(source.builtin_index)
    return source.style_file


def component_parameters(source: StyleSource, net: StyleTransformer, device: torch.device) -> NormParams:
    """A style's (gamma, beta) for every norm layer of the transformer: its own, when training or
    distillation tuned them, else those its embedding gives."""
    style = transformer_style(source)
    if style is not None and "norm.0.gamma" in style.tensors:
        own = [(style.tensors.get(f"norm.{i}.gamma"), style.tensors.get(f"norm.{i}.beta"))
               for i in range(len(net.gamma))]
        expected = [p[0].shape[-1] for p in net.norm_parameters(component_embedding(source, device)[None])]
        if any(g is None or b is None or g.shape != (n,) or b.shape != (n,) for (g, b), n in zip(own, expected)):
            raise BadInputError(f"style '{printable(style.name)}': its normalisation tensors do not fit the network; "
                                "the file is damaged")
        return [(torch.from_numpy(g).float().to(device)[None], torch.from_numpy(b).float().to(device)[None])
                for g, b in own]
    return net.norm_parameters(component_embedding(source, device)[None])


def weighted_parameters(params: list[NormParams], weights: list[float]) -> NormParams:
    total = sum(weights)
    return [(added([w / total * p[i][0] for w, p in zip(weights, params)]),
             added([w / total * p[i][1] for w, p in zip(weights, params)])) for i in range(len(params[0]))]


def _multistyle_plan(mix: StyleMix, device: torch.device, masks: torch.Tensor | None,
                     regions: torch.Tensor | None) -> PaintPlan:
    net = load_network(MULTISTYLE, device)
    one_hot = torch.zeros(len(mix.components), NUM_STYLES, device=device)
    for k, (source, _) in enumerate(mix.components):
        one_hot[k, source.builtin_index] = 1.0
    weights = torch.tensor([w for _, w in mix.components], dtype=torch.float32)
    if masks is None:
        # the 26-style net's own mixing: a weighted sum of the styles' rows
        params = [net.norm_parameters((weights.to(device) @ one_hot)[None])]
        if regions is not None:
            count = regions.shape[0]
            return PaintPlan(MULTISTYLE, NormPlan(params * count, torch.full((count,), 1 / count), regions),
                             MULTISTYLE_FAMILY)
        return PaintPlan(MULTISTYLE, NormPlan(params, torch.ones(1)), MULTISTYLE_FAMILY)
    params = [net.norm_parameters(one_hot[k : k + 1]) for k in range(len(mix.components))]
    return PaintPlan(MULTISTYLE, NormPlan(params, weights, masks), MULTISTYLE_FAMILY, alone_statistics=True)


def mix_adapters(mix: StyleMix, strength: float = 1.0) -> dict[str, np.ndarray]:
    """The mix's adapter weight changes: each trained style's adapters scaled by its weight in the mix
    (and by the strength), built-ins by their distilled adapters; styles without adapters add nothing.
    {} when no style has adapters."""
    weighted: list[tuple[Mapping[str, np.ndarray], float]] = []
    for source, weight in mix.components:
        style = transformer_style(source)
        if style is None or style.kind != "embedding":
            continue
        problem = check_adapter_tensors(style.tensors)
        if problem:
            raise BadInputError(f"style '{printable(source.label)}': {problem}; the file is damaged")
        weighted.append((style.tensors, weight * strength))
    return weight_deltas(weighted)


def mix_colour_map(mix: StyleMix, device: torch.device, strength: float = 1.0) -> ColourMap | None:
    """The mix's colour map: each trained style's map scaled by its weight in the mix (and the strength),
    as its adapters are; None when no style has one."""
    weighted = [(style.tensors, weight * strength) for source, weight in mix.components
                if (style := transformer_style(source)) is not None]
    return weighted_colour_map(weighted, device)


@dataclass
class PaintPlan:
    network: NetworkName
    norms: NormPlan
    family: str  # "multistyle" (pixel strength blend) or "embedding" (embedding interpolation)
    # trained styles' adapters, already scaled by their weights: {layer: kernel change} (engine/adapters)
    adapters: dict[str, np.ndarray] = field(default_factory=dict)
    alone_statistics: bool = False  # style masks: each style normalised as when it paints alone
    colour: ColourMap | None = None  # trained styles' colour maps, mixed by their weights (mix_colour_map)


def mix_family(mix: StyleMix) -> str:
    """"multistyle" when every style of the mix is a built-in (the 26-style net paints it), else "embedding"."""
    return MULTISTYLE_FAMILY if all(source.kind == BUILTIN for source, _ in mix.components) else EMBEDDING_FAMILY


def split_families(mix: StyleMix) -> dict[str, list[int]]:
    """Indices of the mix's components by family, in order."""
    families: dict[str, list[int]] = {}
    for i, (source, _) in enumerate(mix.components):
        families.setdefault(MULTISTYLE_FAMILY if source.kind == BUILTIN else EMBEDDING_FAMILY, []).append(i)
    return families


def plan_paint(
    mix: StyleMix,
    device: torch.device,
    strength: float,
    photo_embedding: torch.Tensor | None,
    masks: torch.Tensor | None = None,
    allow_multistyle: bool = True,
    regions: torch.Tensor | None = None,
) -> PaintPlan:
    """``photo_embedding`` ([100], needed when strength < 1) is where embeddings start at strength 0;
    ``masks`` [K, H, W] (one per component, a partition of unity) paints each style where it goes;
    ``allow_multistyle`` False paints built-ins distilled into the transformer (``transformer_style``);
    ``regions`` [R, H, W] (a partition of unity) gives each region its own normalisation statistics
    with the same style (photo fusion by masks: each photo's region looks as that photo alone)."""
    if allow_multistyle and mix_family(mix) == MULTISTYLE_FAMILY:
        return _multistyle_plan(mix, device, masks, regions)

    net = load_network(TRANSFORMER, device)
    params = [component_parameters(source, net, device) for source, _ in mix.components]
    weights = torch.tensor([w for _, w in mix.components], dtype=torch.float32)
    if masks is None:
        # parameter-space mixing: one weighted average (for embedding styles the same as averaging the
        # embeddings, the parameters being linear in them)
        params = [weighted_parameters(params, weights.tolist())]
        weights = torch.ones(1)
    if strength < 1.0 and photo_embedding is not None:
        # Magenta's strength: interpolate from the photo's own style
        own = net.norm_parameters(photo_embedding[None].to(device))
        params = [[(torch.lerp(g0, g, strength), torch.lerp(b0, b, strength)) for (g0, b0), (g, b) in zip(own, p)]
                  for p in params]
    # adapters are weight changes of the shared network, so they mix by the styles' overall weights
    # even where masks place each style (their norm parameters still follow the masks)
    # and so do their colour maps
    adapters = mix_adapters(mix, strength if photo_embedding is not None else 1.0)
    colour = mix_colour_map(mix, device, strength if photo_embedding is not None else 1.0)
    if regions is not None and masks is None:
        count = regions.shape[0]
        return PaintPlan(TRANSFORMER, NormPlan(params * count, torch.full((count,), 1 / count), regions),
                         EMBEDDING_FAMILY, adapters, colour=colour)
    return PaintPlan(TRANSFORMER, NormPlan(params, weights, masks), EMBEDDING_FAMILY, adapters,
                     alone_statistics=masks is not None, colour=colour)
