"""Rendering: a function of (pixels, style mix, settings) that returns stylized pixels of the same size."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BadInputError
from ..progress import NullProgress, Progress, raise_if_cancelled
from .color import transfer_luminance
from .device import DEVICE_CHOICES, select_device
from .embeddings import predict_embedding, source_embedding
from .networks.multistyle import NUM_STYLES
from .styles import BUILTIN, StyleMix
from .weights import load_network

# The networks need a few pixels at their 1/4-size bottleneck for reflection padding; smaller
# inputs are upsampled to this and the result brought back to the requested size.
MIN_NETWORK_SIDE = 32
MIN_SCALE, MAX_SCALE = 0.25, 16.0


@dataclass(frozen=True)
class RenderSettings:
    strength: float = 1.0  # 0 gives the photo back, 1 the full style
    preserve_color: bool = False  # keep the photo's colours, take the style's light and texture
    scale: float = 1.0  # stroke scale: the network runs at 1/scale of the output size
    device: str = "auto"

    def __post_init__(self) -> None:
        if not (isinstance(self.strength, (int, float)) and 0.0 <= self.strength <= 1.0):
            raise BadInputError(f"strength must be between 0 and 1, got {self.strength}")
        if not (isinstance(self.scale, (int, float)) and MIN_SCALE <= self.scale <= MAX_SCALE):
            raise BadInputError(f"stroke scale must be between {MIN_SCALE} and {MAX_SCALE}, got {self.scale}")
        if self.device not in DEVICE_CHOICES:
            raise BadInputError(f"unknown device '{self.device}'; choose one of {', '.join(DEVICE_CHOICES)}")


def pixel_blend_weight(strength: float, family: str) -> float:
    """How much of the network output replaces the photo at a given strength.

    Built-in styles blend linearly. Embedding styles already move from the photo's own embedding
    towards the style's as strength grows (Magenta's interpolation), so the pixel blend rises faster
    (1 - (1 - s)^2) and the two together stay smooth and monotone, exactly the photo at 0.
    """
    if family == "multistyle":
        return strength
    return 1.0 - (1.0 - strength) ** 2


def to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None].to(device)


def to_array(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).float().cpu().numpy()


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize [N, C, H, W] to (h, w): antialiased when shrinking, bicubic when growing."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrinking = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    out = F.interpolate(x, size=size, mode="bilinear" if shrinking else "bicubic", align_corners=False,
                        antialias=shrinking)
    return out.clamp_(0.0, 1.0)


def network_size(height: int, width: int, scale: float) -> tuple[int, int]:
    h, w = max(1, round(height / scale)), max(1, round(width / scale))
    short = min(h, w)
    if short < MIN_NETWORK_SIDE:
        grow = MIN_NETWORK_SIDE / short
        h, w = math.ceil(h * grow), math.ceil(w * grow)
    return h, w


def builtin_weights(mix: StyleMix, device: torch.device) -> torch.Tensor:
    weights = torch.zeros(1, NUM_STYLES, device=device)
    for source, weight in mix.components:
        if source.kind == BUILTIN:
            weights[0, source.builtin_index] += weight
    return weights / weights.sum()


def mixed_embedding(mix: StyleMix, device: torch.device) -> torch.Tensor:
    total, acc = 0.0, None
    for source, weight in mix.components:
        if source.kind == BUILTIN:
            continue
        vec = source_embedding(source, device) * weight
        acc = vec if acc is None else acc + vec
        total += weight
    return (acc / total)[None]


@torch.inference_mode()
def render_image(
    rgb: np.ndarray,
    mix: StyleMix,
    settings: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
) -> np.ndarray:
    """Stylize ``rgb`` ([H, W, 3] float32 in [0, 1]); the result has the same size."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise BadInputError(f"expected an RGB image, got an array of shape {rgb.shape}")
    device = select_device(settings.device)
    height, width = rgb.shape[:2]
    progress.report(0.0, "Preparing")
    if settings.strength == 0.0:
        progress.report(1.0, "Done")
        return np.array(rgb, dtype=np.float32, copy=True)
    photo = to_tensor(rgb, device)
    small = resize(photo, network_size(height, width, settings.scale))

    families = mix.family_weights()
    result = torch.zeros_like(photo)
    done = 0
    for family, family_weight in families.items():
        raise_if_cancelled(progress)
        progress.report(0.1 + 0.8 * done / len(families), f"Painting ({'built-in' if family == 'multistyle' else 'style'})")
        if family == "multistyle":
            net = load_network("multistyle", device)
            stylized = net(small, builtin_weights(mix, device))
        else:
            embedding = mixed_embedding(mix, device)
            if settings.strength < 1.0:
                own = predict_embedding(rgb, device)[None]
                embedding = torch.lerp(own, embedding, settings.strength)
            stylized = load_network("style_transformer", device)(small, embedding)
        stylized = resize(stylized, (height, width))
        if settings.preserve_color:
            stylized = transfer_luminance(stylized, photo)
        blend = pixel_blend_weight(settings.strength, family)
        result += family_weight * torch.lerp(photo, stylized, blend)
        done += 1
    raise_if_cancelled(progress)
    progress.report(1.0, "Done")
    return to_array(result.clamp_(0.0, 1.0))
