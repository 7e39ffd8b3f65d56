"""From a style mix to the network that paints it and its per-layer parameters.

One style space: every style is a 100-d embedding of the arbitrary-style transformer. Built-ins use
embeddings fitted to the 26-style network (``models/fit_builtin_embeddings.py``); a mix of any kinds
is one weighted average of embeddings. The one exception: a built-in whose fitted embedding is a poor
likeness, used alone and without masks, is painted by the 26-style network itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from .. import locations
from ..document.user_files import printable
from ..errors import BadInputError
from .adapters import check_adapter_tensors, weight_deltas
from .embeddings import source_embedding
from .networks.multistyle import NUM_STYLES
from .norm_plan import NormPlan
from .styles import BUILTIN, StyleMix
from .weights import load_network

# Held-out pixel mean |diff| against the 26-style net above which a fitted embedding is not used alone.
POOR_FIT = 0.10
TRANSFORMER, MULTISTYLE = "style_transformer", "multistyle"


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


def builtin_fits_well(index: int) -> bool:
    _, fit = fitted_builtin_embeddings()
    return fit.get(index, 1.0) <= POOR_FIT


def component_embedding(source, device: torch.device) -> torch.Tensor:
    if source.kind == BUILTIN:
        embeddings, _ = fitted_builtin_embeddings()
        return torch.from_numpy(embeddings[source.builtin_index].copy()).to(device)
    return source_embedding(source, device)


def component_parameters(source, net, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A style's (gamma, beta) for every norm layer of the transformer: its own, when training tuned
    them, else those its embedding gives."""
    style = source.style_file
    if style is not None and "norm.0.gamma" in style.tensors:
        own = [(style.tensors.get(f"norm.{i}.gamma"), style.tensors.get(f"norm.{i}.beta")) for i in range(len(net.gamma))]
        expected = [p[0].shape[-1] for p in net.norm_parameters(component_embedding(source, device)[None])]
        if any(g is None or b is None or g.shape != (n,) or b.shape != (n,) for (g, b), n in zip(own, expected)):
            raise BadInputError(f"style '{printable(style.name)}': its normalisation tensors do not fit the network; "
                                "the file is damaged")
        return [(torch.from_numpy(g).float().to(device)[None], torch.from_numpy(b).float().to(device)[None])
                for g, b in own]
    return net.norm_parameters(component_embedding(source, device)[None])


def weighted_parameters(params: list, weights: list[float]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    total = sum(weights)
    return [(sum(w / total * p[i][0] for w, p in zip(weights, params)),
             sum(w / total * p[i][1] for w, p in zip(weights, params))) for i in range(len(params[0]))]


def mix_adapters(mix: StyleMix, strength: float = 1.0) -> dict[str, np.ndarray]:
    """The mix's adapter weight changes: each trained style's adapters scaled by its weight in the mix
    (and by the strength); styles without adapters add nothing. {} when no style has adapters."""
    weighted = []
    for source, weight in mix.components:
        style = source.style_file
        if style is None or style.kind != "embedding":
            continue
        problem = check_adapter_tensors(style.tensors)
        if problem:
            raise BadInputError(f"style '{printable(source.label)}': {problem}; the file is damaged")
        weighted.append((style.tensors, weight * strength))
    return weight_deltas(weighted)


@dataclass
class PaintPlan:
    network: str  # TRANSFORMER or MULTISTYLE
    norms: NormPlan
    family: str  # "multistyle" (pixel strength blend) or "embedding" (embedding interpolation)
    # trained styles' adapters, already scaled by their weights: {layer: kernel change} (engine/adapters)
    adapters: dict = field(default_factory=dict)


def uses_multistyle(mix: StyleMix, spatial: bool) -> bool:
    if spatial or len(mix.components) != 1:
        return False
    source = mix.components[0][0]
    return source.kind == BUILTIN and not builtin_fits_well(source.builtin_index)


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
    ``allow_multistyle`` False keeps to the transformer (photo fusion needs its encoder);
    ``regions`` [R, H, W] (a partition of unity) gives each region its own normalisation statistics
    with the same style (photo fusion by masks: each photo's region looks as that photo alone)."""
    if allow_multistyle and uses_multistyle(mix, masks is not None):
        net = load_network(MULTISTYLE, device)
        weights = torch.zeros(1, NUM_STYLES, device=device)
        weights[0, mix.components[0][0].builtin_index] = 1.0
        return PaintPlan(MULTISTYLE, NormPlan([net.norm_parameters(weights)], torch.ones(1)), "multistyle")

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
    adapters = mix_adapters(mix, strength if photo_embedding is not None else 1.0)
    if regions is not None and masks is None:
        count = regions.shape[0]
        return PaintPlan(TRANSFORMER, NormPlan(params * count, torch.full((count,), 1 / count), regions), "embedding",
                         adapters)
    return PaintPlan(TRANSFORMER, NormPlan(params, weights, masks), "embedding", adapters)
