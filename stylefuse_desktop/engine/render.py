"""Rendering: a function of (pixels, style mix, settings) that returns stylized pixels of the same size.

The network paints at ``size / scale`` (the stroke scale), tile by tile with whole-image statistics
(``tiling``), and the painting is brought to full size keeping the photo's fine detail (``upsample``).
Colour preservation, strength and mask coverage are applied at full size, in bands of rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BadInputError
from ..progress import NullProgress, Progress, SubProgress, raise_if_cancelled
from .adapters import with_adapters
from .color import transfer_luminance
from .device import DEVICE_CHOICES, select_device
from .embeddings import predict_embedding
from .looks import apply_looks, is_look
from .precision import PRECISIONS, convolutions_in
from .precision import resolve as resolve_precision
from .style_plan import MULTISTYLE, PaintPlan, plan_paint
from .styles import StyleMix
from .tiling import auto_tile_size, run_stages
from .upsample import sample_rows, upsample_bands
from .weights import load_network

# The networks need a few pixels at their 1/4-size bottleneck for reflection padding; smaller
# inputs are upsampled to this and the result brought back to the requested size.
MIN_NETWORK_SIDE = 32
MIN_SCALE, MAX_SCALE = 1 / 16, 16.0
MAX_NETWORK_PIXELS = 200_000_000
# Above this many pixels, large intermediate boundaries are kept in float16 (statistics stay float32).
COMPACT_ABOVE_PIXELS = 8_000_000


@dataclass(frozen=True)
class RenderSettings:
    strength: float = 1.0  # 0 gives the photo back, 1 the full style
    preserve_color: bool = False  # keep the photo's colours, take the style's light and texture
    scale: float = 1.0  # stroke scale: the network paints at 1/scale of the output size
    device: str = "auto"
    tile: int | None = None  # tile side in pixels; None: chosen from free memory
    tile_memory_mb: int | None = None  # memory a tile may use (CPU default 384 MB)
    precision: str = "auto"  # transformer convolutions in bf16 where the hardware runs it natively ("fp32" to refuse)

    def __post_init__(self) -> None:
        if not (isinstance(self.strength, (int, float)) and 0.0 <= self.strength <= 1.0):
            raise BadInputError(f"strength must be between 0 and 1, got {self.strength}")
        if not (isinstance(self.scale, (int, float)) and MIN_SCALE <= self.scale <= MAX_SCALE):
            raise BadInputError(f"stroke scale must be between 1/16 and {MAX_SCALE:g}, got {self.scale}")
        if self.device not in DEVICE_CHOICES:
            raise BadInputError(f"unknown device '{self.device}'; choose one of {', '.join(DEVICE_CHOICES)}")
        if self.precision not in PRECISIONS:
            raise BadInputError(f"unknown precision '{self.precision}'; choose one of {', '.join(PRECISIONS)}")
        if self.tile is not None and self.tile < 64:
            raise BadInputError(f"tile size must be at least 64 pixels, got {self.tile}")


def pixel_blend_weight(strength: float, family: str) -> float:
    """How much of the painting replaces the photo at a given strength.

    Built-ins painted by the 26-style net blend linearly. Embedding styles already move from the
    photo's own embedding towards the style's as strength grows (Magenta's interpolation), so the
    pixel blend rises faster (1 - (1 - s)^2); together smooth, monotone, exactly the photo at 0.
    """
    if family == "multistyle":
        return strength
    return 1.0 - (1.0 - strength) ** 2


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]


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
    if h * w > MAX_NETWORK_PIXELS:
        raise BadInputError(f"painting at {w}x{h} is too large; use a larger stroke scale")
    return h, w


def pad_to_multiple(x: torch.Tensor, multiple: int = 4) -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return x
    mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def normalise_masks(
    masks: Sequence[np.ndarray | None], weights: list[float], size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-style weight maps resized to ``size`` -> (partition of unity [K, h, w], coverage [1, 1, h, w]).

    Painted maps claim their pixels first; styles without a map share what the maps leave, by their
    weights. Where every style has a map and all are zero, the coverage is zero: the photo shows through.
    """
    k = len(masks)
    maps = torch.zeros((k, *size))
    painted = [i for i, m in enumerate(masks) if m is not None]
    free = [i for i, m in enumerate(masks) if m is None]
    for i in painted:
        m = torch.from_numpy(np.ascontiguousarray(masks[i], dtype=np.float32))[None, None]
        maps[i] = F.interpolate(m, size=size, mode="bilinear", align_corners=False, antialias=True)[0, 0].clamp(0, 1)
    claimed = maps[painted].sum(0).clamp(max=1.0) if painted else torch.zeros(size)
    if painted:
        total = maps[painted].sum(0)
        maps[painted] = torch.where(total > 1e-6, maps[painted] / total.clamp(min=1e-6) * claimed, maps[painted])
    free_weight = sum(weights[i] for i in free)
    for i in free:
        maps[i] = (1.0 - claimed) * (weights[i] / free_weight if free_weight > 0 else 1.0 / len(free))
    coverage = torch.ones(size) if free else claimed
    total = maps.sum(0, keepdim=True)
    fallback = torch.tensor(weights, dtype=torch.float32)[:, None, None].expand_as(maps)
    partition = torch.where(total > 1e-6, maps / total.clamp(min=1e-6), fallback / max(sum(weights), 1e-6))
    return partition, coverage[None, None]


@dataclass
class Prepared:
    """A photo ready to paint: the network input (padded) and what finishing needs."""

    photo: torch.Tensor  # [1, 3, H, W] CPU, full size
    small: torch.Tensor  # [1, 3, h, w] CPU, what the network sees (before padding)
    padded: torch.Tensor  # small, reflect-padded to a multiple of 4


def prepare(rgb: np.ndarray, settings: RenderSettings) -> Prepared:
    photo = to_tensor(rgb)
    small = resize(photo, network_size(rgb.shape[0], rgb.shape[1], settings.scale))
    return Prepared(photo, small, pad_to_multiple(small))


def tile_for(settings: RenderSettings, device: torch.device) -> int:
    return settings.tile or auto_tile_size(device, budget_mb=settings.tile_memory_mb)


def paint(
    prepared: Prepared,
    plan: PaintPlan,
    settings: RenderSettings,
    device: torch.device,
    progress: Progress,
    features: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run the network tile by tile -> the painting at network size, [1, 3, h, w] on the CPU.
    ``features`` replaces the encoder's output (photo fusion)."""
    precision = settings.precision
    if precision == "auto" and plan.network == MULTISTYLE:
        # bf16 buys the 26-style net a few percent of speed for ~1% of pixels moved by more than 0.1
        # (benchmarks/bench_precision.py); the transformer gains 20-35% at a mean |diff| of ~0.002
        precision = "fp32"
    with convolutions_in(resolve_precision(precision, device)):
        return _paint(prepared, plan, settings, device, progress, features)


def _paint(prepared, plan, settings, device, progress, features):
    net = with_adapters(load_network(plan.network, device), plan.adapters)  # a trained style's own weights
    tile = tile_for(settings, device)
    h, w = prepared.padded.shape[-2:]
    if h * w <= tile * tile and not plan.norms.spatial and features is None:
        # fits in one tile: the plain forward pass, no boundaries kept and nothing computed twice
        raise_if_cancelled(progress)
        x = prepared.padded.to(device).contiguous(memory_format=torch.channels_last)
        if plan.network == MULTISTYLE:
            out = net.run(x, plan.norms.mixed)
        else:
            out = net.decode(net.encode(x), plan.norms.mixed)
        progress.report(1.0, "Painted")
        return out.cpu()[..., : prepared.small.shape[-2], : prepared.small.shape[-1]]
    compact = h * w > COMPACT_ABOVE_PIXELS
    if plan.network == MULTISTYLE:
        result = run_stages(prepared.padded, net.stages(plan.norms), plan.norms, tile, device, progress,
                            compact=compact)
    else:
        if features is None:
            features = run_stages(prepared.padded, net.encoder_stages(), plan.norms, tile, device,
                                  SubProgress(progress, 0.0, 0.25)).output
            progress = SubProgress(progress, 0.25, 1.0)
        holder = [features]
        del features  # the decoder's first stage consumes them; nothing else needs to keep them alive
        result = run_stages(holder.pop(), net.decoder_stages(plan.norms), plan.norms, tile, device, progress,
                            factor=0.25, compact=compact)
    h, w = prepared.small.shape[-2:]
    return result.output[..., :h, :w]


def finish(
    painting: torch.Tensor,
    prepared: Prepared,
    settings: RenderSettings,
    family: str,
    coverage: torch.Tensor | None = None,
) -> np.ndarray:
    """Full size, colour, strength and coverage, band by band -> [H, W, 3] float32."""
    height, width = prepared.photo.shape[-2:]
    if tuple(painting.shape[-2:]) == (height, width) and painting.dtype == torch.float32 and \
            painting.is_contiguous(memory_format=torch.channels_last):
        out = painting[0].permute(1, 2, 0).numpy()  # finish in place: no second full-size image
    else:
        out = np.empty((height, width, 3), np.float32)
    blend = pixel_blend_weight(settings.strength, family)
    for rows, band, photo_band in upsample_bands(painting, prepared.photo, prepared.small):
        if settings.preserve_color:
            band = transfer_luminance(band, photo_band)
        if coverage is not None:
            band = torch.lerp(photo_band, band, sample_rows(coverage, rows, height, width, "bilinear") * blend)
        elif blend < 1.0:
            band = torch.lerp(photo_band, band, blend)
        out[rows.start : rows.stop] = band[0].permute(1, 2, 0).numpy()
    return out


@torch.inference_mode()
def render_image(
    rgb: np.ndarray,
    mix: StyleMix,
    settings: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
    style_masks: Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """Stylize ``rgb`` ([H, W, 3] float32 in [0, 1]); the result has the same size. Looks learnt from
    pairs in the mix are applied to the photo first (``looks``); the other styles then paint it.

    ``style_masks`` gives each style of the mix a weight map (any size, resized to the image): each
    style is painted where its map is high, blended inside the network; where all maps are zero the
    photo shows through.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise BadInputError(f"expected an RGB image, got an array of shape {rgb.shape}")
    if style_masks is not None and len(style_masks) != len(mix.components):
        raise BadInputError("give one mask (or None) per style")
    progress.report(0.0, "Preparing")
    if settings.strength == 0.0:
        progress.report(1.0, "Done")
        return np.array(rgb, dtype=np.float32, copy=True)
    device = select_device(settings.device)
    looks = [source for source, _ in mix.components if is_look(source)]
    if looks:
        edited = apply_looks(rgb, looks, device)
        painting = [(i, c) for i, c in enumerate(mix.components) if not is_look(c[0])]
        if not painting:  # only looks: the edit, as strong as asked
            progress.report(1.0, "Done")
            return (rgb + (edited - rgb) * settings.strength).astype(np.float32)
        rgb = edited  # the painting styles paint the edited photo
        mix = StyleMix(tuple(c for _, c in painting))
        if style_masks is not None:
            style_masks = [style_masks[i] for i, _ in painting]
    prepared = prepare(rgb, settings)
    partition = coverage = None
    if style_masks is not None and any(m is not None for m in style_masks):
        partition, coverage = normalise_masks(style_masks, [w for _, w in mix.components],
                                              tuple(prepared.padded.shape[-2:]))
    own = predict_embedding(rgb, device) if settings.strength < 1.0 else None
    plan = plan_paint(mix, device, settings.strength, own, partition)
    raise_if_cancelled(progress)
    painting = paint(prepared, plan, settings, device, SubProgress(progress, 0.02, 0.95))
    if coverage is not None:
        coverage = coverage[..., : prepared.small.shape[-2], : prepared.small.shape[-1]]
    out = finish(painting, prepared, settings, plan.family, coverage)
    progress.report(1.0, "Done")
    return out
