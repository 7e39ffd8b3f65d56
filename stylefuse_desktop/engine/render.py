"""Rendering: a function of (pixels, style mix, settings) that returns stylized pixels of the same size.

The network paints at the size the stroke size gives (``stroke_size``: relative to the picture, so
every size of a photo looks alike), tile by tile with whole-image statistics (``tiling``), and the
painting is brought to full size keeping the photo's fine detail (``upsample``). Colour preservation,
strength and mask coverage are applied at full size, in bands of rows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from ..devices import DEVICE_CHOICES
from ..errors import BadInputError
from ..progress import NullProgress, Progress, SubProgress, raise_if_cancelled
from .adapters import with_adapters
from .color import apply_colour_map, luminance_match, transfer_luminance
from .device import (
    compile_mode,
    fitted_threads,
    free_device_memory,
    host_tensor,
    select_device,
    to_uint8_image,
    upload,
)
from .embeddings import predict_embedding
from .looks import apply_looks, is_look
from .networks.multistyle import MultiStyleNet
from .networks.style_transformer import StyleTransformer
from .norm_plan import NormParams, NormPlan
from .precision import PRECISIONS, painted_in
from .precision import resolve as resolve_precision
from .stroke_size import (
    EMBEDDING_FAMILY,
    MAX_SCALE,
    MAX_STROKE_SIZE,
    MIN_SCALE,
    MIN_STROKE_SIZE,
    MULTISTYLE_FAMILY,
    stroke_scale,
)
from .style_plan import MULTISTYLE, PaintPlan, mix_family, plan_paint, split_families
from .styles import StyleMix
from .tiling import auto_tile_size, run_stages
from .upsample import BAND_ROWS, Upsampler, sample_box
from .weights import load_network

log = logging.getLogger(__name__)

# The networks need a few pixels at their 1/4-size bottleneck for reflection padding; smaller
# inputs are upsampled to this and the result brought back to the requested size.
MIN_NETWORK_SIDE = 32
MAX_NETWORK_PIXELS = 200_000_000
# Above this many pixels, large intermediate boundaries are kept in float16 (statistics stay float32).
COMPACT_ABOVE_PIXELS = 8_000_000


@dataclass(frozen=True)
class RenderSettings:
    strength: float = 1.0  # 0 gives the photo back, 1 the full style
    preserve_color: bool = False  # keep the photo's colours, take the style's light and texture
    stroke_size: float = 1.0  # relative to the picture (``stroke_size``): 2 paints strokes twice as large
    scale: float | None = None  # absolute stroke scale instead: the network paints at 1/scale of the output size
    picture_scale: float = 1.0  # the photo given is the picture at this scale (a preview): strokes fit the picture
    max_network_side: int | None = None  # paint no larger than this (slider drafts)
    device: str = "auto"
    tile: int | None = None  # tile side in pixels; None: chosen from free memory
    tile_memory_mb: int | None = None  # memory a tile may use (CPU default: a quarter of what is free, <= 1.5 GB)
    precision: str = "auto"  # transformer convolutions in bf16 where the hardware runs it natively ("fp32" to refuse)

    def __post_init__(self) -> None:
        if not (isinstance(self.strength, (int, float)) and 0.0 <= self.strength <= 1.0):
            raise BadInputError(f"strength must be between 0 and 1, got {self.strength}")
        if not (isinstance(self.stroke_size, (int, float)) and MIN_STROKE_SIZE <= self.stroke_size <= MAX_STROKE_SIZE):
            raise BadInputError(f"stroke size must be between 1/16 and {MAX_STROKE_SIZE:g}, got {self.stroke_size}")
        absolute = self.scale
        if absolute is not None and not (isinstance(absolute, (int, float)) and MIN_SCALE <= absolute <= MAX_SCALE):
            raise BadInputError(f"stroke scale must be between 1/16 and {MAX_SCALE:g}, got {self.scale}")
        if self.device not in DEVICE_CHOICES:
            raise BadInputError(f"unknown device '{self.device}'; choose one of {', '.join(DEVICE_CHOICES)}")
        if self.precision not in PRECISIONS:
            raise BadInputError(f"unknown precision '{self.precision}'; choose one of {', '.join(PRECISIONS)}")
        if not (isinstance(self.picture_scale, (int, float)) and 0.0 < self.picture_scale <= 16.0):
            raise BadInputError(f"picture scale must be in (0, 16], got {self.picture_scale}")
        if self.tile is not None and self.tile < 64:
            raise BadInputError(f"tile size must be at least 64 pixels, got {self.tile}")

    def stroke_scale(self, height: int, width: int, family: str) -> float:
        """Output size / network size for a photo of ``height`` x ``width`` painted by ``family``."""
        if self.scale is not None:
            scale = self.scale * self.picture_scale
        else:
            k = self.picture_scale
            scale = stroke_scale(self.stroke_size, round(width / k), round(height / k), family) * k
        if self.max_network_side:
            scale = max(scale, max(height, width) / self.max_network_side)
        return min(MAX_SCALE, max(MIN_SCALE, scale))


def pixel_blend_weight(strength: float, family: str) -> float:
    """How much of the painting replaces the photo at a given strength.

    Built-ins painted by the 26-style net blend linearly. Embedding styles already move from the
    photo's own embedding towards the style's as strength grows (Magenta's interpolation), so the
    pixel blend rises faster (1 - (1 - s)^2); together smooth, monotone, exactly the photo at 0.
    """
    if family == MULTISTYLE_FAMILY:
        return strength
    return 1.0 - (1.0 - strength) ** 2


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """[H, W, 3] float32 in [0, 1] or uint8 -> [1, 3, H, W] float32."""
    if rgb.dtype == np.uint8:
        return host_tensor(rgb).permute(2, 0, 1)[None].float().mul_(1 / 255.0)  # as image_io's reading scales
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]


def float_pixels(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) * np.float32(1 / 255.0) if rgb.dtype == np.uint8 else rgb


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

    photo: torch.Tensor  # [1, 3, H, W] full size, on the CPU or (GPU renders) on the device
    small: torch.Tensor  # [1, 3, h, w] what the network sees (before padding), beside ``photo``
    padded: torch.Tensor  # small, reflect-padded to a multiple of 4


def prepare(rgb: np.ndarray, settings: RenderSettings, family: str,
            device: torch.device = torch.device("cpu"), photo: torch.Tensor | None = None) -> Prepared:
    """On a GPU the photo is uploaded once and everything after stays there until the final pixels
    (``photo``: ``rgb`` already as a tensor where it will be finished)."""
    if photo is None:
        photo = to_tensor(rgb) if device.type == "cpu" else upload(rgb, device)
    scale = settings.stroke_scale(rgb.shape[0], rgb.shape[1], family)
    small = resize(photo, network_size(rgb.shape[0], rgb.shape[1], scale))
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
    """Run the network tile by tile -> the painting at network size, [1, 3, h, w] (on the device when it
    was painted in one piece, else on the CPU). ``features`` replaces the encoder's output (photo fusion)."""
    painting = painted_in(paint_dtype(plan, settings, device),
                          lambda: _paint(prepared, plan, settings, device, progress, features))
    return with_colour_map(painting, plan)


def with_colour_map(painting: torch.Tensor, plan: PaintPlan) -> torch.Tensor:
    """The network's painting through the plan's colour map (trained styles carry one), if any."""
    if plan.colour is None:
        return painting
    matrix, offset = plan.colour
    return apply_colour_map(painting, matrix.to(painting.device), offset.to(painting.device))


def paint_dtype(plan: PaintPlan, settings: RenderSettings, device: torch.device) -> torch.dtype:
    precision = settings.precision
    if precision == "auto" and plan.network == MULTISTYLE:
        # bf16 buys the 26-style net a few percent of speed for ~1% of pixels moved by more than 0.1
        # (benchmarks/bench_precision.py)
        precision = "fp32"
    return resolve_precision(precision, device)


def keeps_boundaries(device: torch.device, pixels: int) -> bool:
    """A GPU keeps the whole-image tensors between stages when they fit in a quarter of its free memory
    (at most ~48 bytes a pixel: 8 channels at full size and 16 at half), so nothing crosses to the host."""
    if device.type != "cuda":
        return False
    return pixels * 48 < free_device_memory(device) / 4


def _paint(prepared: Prepared, plan: PaintPlan, settings: RenderSettings, device: torch.device, progress: Progress,
           features: torch.Tensor | None) -> torch.Tensor:
    net = with_adapters(load_network(plan.network, device), plan.adapters)  # a trained style's own weights
    tile = tile_for(settings, device)
    h, w = prepared.padded.shape[-2:]
    if h * w <= tile * tile and not plan.norms.spatial and features is None:
        # fits in one tile: the plain forward pass, no boundaries kept and nothing computed twice
        raise_if_cancelled(progress)
        x = prepared.padded.to(device).contiguous(memory_format=torch.channels_last)
        out = forward_whole(net, plan.network, x, plan.norms.mixed)
        progress.report(1.0, "Painted")
        return out[..., : prepared.small.shape[-2], : prepared.small.shape[-1]]
    compact = h * w > COMPACT_ABOVE_PIXELS
    keep = keeps_boundaries(device, h * w)
    if isinstance(net, MultiStyleNet) and features is None:
        multistyle = net
        if plan.alone_statistics:
            progress = _freeze_alone_statistics(plan, lambda norms, p: run_stages(
                prepared.padded, multistyle.stages(norms), norms, tile, device, p, compact=compact,
                keep_on_device=keep), progress)
        result = run_stages(prepared.padded, net.stages(plan.norms), plan.norms, tile, device, progress,
                            compact=compact, keep_on_device=keep)
    elif isinstance(net, MultiStyleNet) and features is not None:
        holder = [features]
        del features
        result = run_stages(holder.pop(), net.decoder_stages(plan.norms), plan.norms, tile, device, progress,
                            factor=0.25, compact=compact, keep_on_device=keep)
    elif isinstance(net, StyleTransformer):
        transformer = net
        if features is None:
            features = run_stages(prepared.padded, net.encoder_stages(), plan.norms, tile, device,
                                  SubProgress(progress, 0.0, 0.25), keep_on_device=keep).output
            progress = SubProgress(progress, 0.25, 1.0)
        if plan.alone_statistics:
            encoded = features
            progress = _freeze_alone_statistics(plan, lambda norms, p: run_stages(
                encoded.clone(), transformer.decoder_stages(norms), norms, tile, device, p, factor=0.25,
                compact=compact, keep_on_device=keep), progress)
            del encoded
        holder = [features]
        del features  # the decoder's first stage consumes them; nothing else needs to keep them alive
        result = run_stages(holder.pop(), net.decoder_stages(plan.norms), plan.norms, tile, device, progress,
                            factor=0.25, compact=compact, keep_on_device=keep)
    else:
        raise ValueError(f"no painting network {plan.network!r}")
    h, w = prepared.small.shape[-2:]
    return result.output[..., :h, :w]


PaintingNetwork = StyleTransformer | MultiStyleNet
ForwardPass = Callable[[PaintingNetwork, str, torch.Tensor, NormParams], torch.Tensor]


def _compiled(network: str, mode: str) -> ForwardPass:
    key = (network, mode)
    compiled = _COMPILED.get(key)
    if not compiled:  # not compiled yet (the caller never asks again after a failure, marked False)
        compiled = _COMPILED[key] = torch.compile(_forward_eager, mode=None if mode == "default" else mode,
                                                  dynamic=False)
    return compiled


# (network, compile mode) -> the compiled forward pass, or False where compiling failed once
_COMPILED: dict[tuple[str, str], ForwardPass | Literal[False]] = {}


def _forward_eager(net: PaintingNetwork, network: str, x: torch.Tensor, params: NormParams) -> torch.Tensor:
    if isinstance(net, MultiStyleNet):
        return net.run(x, params)
    return net.decode(net.encode(x), params)


def forward_whole(net: PaintingNetwork, network: str, x: torch.Tensor, params: NormParams) -> torch.Tensor:
    """The network over a whole (padded) image; compiled on CUDA when ``STYLEFUSE_COMPILE`` asks, with
    the eager pass as the fallback if compiling fails."""
    mode = compile_mode() if x.device.type == "cuda" else "off"
    if mode != "off" and _COMPILED.get((network, mode)) is not False:
        try:
            out = _compiled(network, mode)(net, network, x, params)
            # CUDA graphs reuse their output memory on the next call: keep our own copy
            return out.clone() if mode == "reduce-overhead" else out
        except Exception as exc:  # noqa: BLE001 - any compiler failure falls back to the same eager pass
            log.warning("torch.compile (%s) failed, running eagerly: %s", mode, exc)
            _COMPILED[(network, mode)] = False
    return _forward_eager(net, network, x, params)


def _freeze_alone_statistics(plan: PaintPlan, run: Callable[[NormPlan, Progress], object],
                             progress: Progress) -> Progress:
    """Style masks: paint each style alone once to measure its statistics, then freeze them in the
    plan, so that where a style's mask is 1 it looks exactly as it does alone. Returns the progress
    left for the final pass."""
    count = len(plan.norms.style_params)
    alone = []
    for k in range(count):
        norms = plan.norms.alone(k)
        run(norms, SubProgress(progress, k / (count + 1), (k + 1) / (count + 1)))
        alone.append(norms)
    plan.norms.freeze(alone)
    return SubProgress(progress, count / (count + 1), 1.0)


class Finisher:
    """Full size from one painting made at network size: detail, colour, strength and coverage, any
    box at a time. Every whole-image quantity (detail gain, light match) is measured once on the whole
    painting, so a box is exactly that box of the whole (what the canvas shows at 100% is the export)."""

    def __init__(self, painting: torch.Tensor, small_photo: torch.Tensor, height: int, width: int,
                 settings: RenderSettings, family: str, coverage: torch.Tensor | None = None) -> None:
        painting = painting.to(small_photo.device)
        self.painting, self.height, self.width = painting, height, width
        self.upsampler = Upsampler(painting, small_photo, height, width)
        self.blend = pixel_blend_weight(settings.strength, family)
        self.match = luminance_match(painting, small_photo) if settings.preserve_color else None
        self.coverage = None if coverage is None else coverage.to(small_photo.device)

    def box(self, rows: range, cols: range, photo_box: torch.Tensor) -> torch.Tensor:
        band = self.upsampler.box(rows, cols, photo_box)
        if self.match is not None:
            band = transfer_luminance(band, photo_box, self.match)
        if self.coverage is not None:
            weight = sample_box(self.coverage, rows, cols, self.height, self.width, "bilinear") * self.blend
            band = torch.lerp(photo_box, band, weight)
        elif self.blend < 1.0:
            band = torch.lerp(photo_box, band, self.blend)
        return band


def finish(
    painting: torch.Tensor,
    prepared: Prepared,
    settings: RenderSettings,
    family: str,
    coverage: torch.Tensor | None = None,
) -> np.ndarray | torch.Tensor:
    """Full size, colour, strength and coverage, band by band -> [H, W, 3] float32 on the CPU; where
    the photo is on a GPU, [1, 3, H, W] on that device (the caller takes the final pixels from it)."""
    height, width = prepared.photo.shape[-2:]
    return PaintedImage(prepared.photo, [(Finisher(painting, prepared.small, height, width, settings,
                                                   family, coverage), 1.0)]).whole()


@dataclass
class PaintedImage:
    """A render before full size: the photo and one or more paintings at network size (one per
    network) with the weights that combine their finished versions (plus ``photo_weight`` times the
    photo). ``whole`` gives the full-size render; ``region`` any box of it, exactly."""

    photo: torch.Tensor  # [1, 3, H, W] (CPU or GPU): the photo the paintings are finished against
    parts: list[tuple[Finisher, float]]
    photo_weight: float = 0.0

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.photo.shape[-2:]
        return height, width

    @torch.inference_mode()  # autograd's bookkeeping costs ~10x on a view's small boxes
    def region(self, rows: range, cols: range) -> np.ndarray:
        """Rows ``rows`` x columns ``cols`` of the full-size render, [h, w, 3] float32."""
        photo_box = self.photo[..., rows.start : rows.stop, cols.start : cols.stop]
        return self._box(rows, cols, photo_box)[0].permute(1, 2, 0).cpu().numpy()

    def _box(self, rows: range, cols: range, photo_box: torch.Tensor) -> torch.Tensor:
        if len(self.parts) == 1 and self.photo_weight == 0.0 and self.parts[0][1] == 1.0:
            return self.parts[0][0].box(rows, cols, photo_box)
        out = photo_box * self.photo_weight
        for finisher, weight in self.parts:
            out.add_(finisher.box(rows, cols, photo_box), alpha=weight)
        return out.clamp_(0.0, 1.0)

    def whole(self) -> np.ndarray | torch.Tensor:
        """[H, W, 3] float32 on the CPU; where the photo is on a GPU, [1, 3, H, W] on that device."""
        height, width = self.size
        if self.photo.device.type != "cpu":
            # channels-last: the [H, W, 3] pixels the caller takes are this tensor's own layout
            out_t = torch.empty((1, 3, height, width), device=self.photo.device,
                                memory_format=torch.channels_last)
            for start in range(0, height, BAND_ROWS):
                rows = range(start, min(height, start + BAND_ROWS))
                out_t[..., rows.start : rows.stop, :] = self._box(rows, range(width),
                                                                  self.photo[..., rows.start : rows.stop, :])
            return out_t
        out = None
        if len(self.parts) == 1:
            painting = self.parts[0][0].painting
            if tuple(painting.shape[-2:]) == (height, width) and painting.dtype == torch.float32 and \
                    painting.is_contiguous(memory_format=torch.channels_last):
                out = painting[0].permute(1, 2, 0).numpy()  # finish in place: no second full-size image
        if out is None:
            out = np.empty((height, width, 3), np.float32)
        for start in range(0, height, BAND_ROWS):
            rows = range(start, min(height, start + BAND_ROWS))
            band = self._box(rows, range(width), self.photo[..., rows.start : rows.stop, :])
            out[rows.start : rows.stop] = band[0].permute(1, 2, 0).numpy()
        return out


@fitted_threads
@torch.inference_mode()
def render_image(
    rgb: np.ndarray,
    mix: StyleMix,
    settings: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
    style_masks: Sequence[np.ndarray | None] | None = None,
    as_uint8: bool = False,
) -> np.ndarray:
    """Stylize ``rgb`` ([H, W, 3] float32 in [0, 1], or uint8); the result has the same size. Looks learnt
    from pairs in the mix are applied to the photo first (``looks``); the other styles then paint it.
    ``as_uint8`` returns 8-bit pixels (rounded as ``image_io.to_uint8``): on a GPU the conversion runs
    there and only the bytes come back.

    ``style_masks`` gives each style of the mix a weight map (any size, resized to the image): each
    style is painted where its map is high, blended inside the network; where all maps are zero the
    photo shows through.
    """
    painted = paint_image(rgb, mix, settings, progress, style_masks)
    out = painted.whole()
    del painted
    progress.report(1.0, "Done")
    return host_pixels(out, as_uint8)


def host_pixels(out: np.ndarray | torch.Tensor, as_uint8: bool) -> np.ndarray:
    """A finished render as [H, W, 3] on the host: float32, or 8-bit pixels with ``as_uint8``."""
    if isinstance(out, torch.Tensor):
        return to_uint8_image(out) if as_uint8 else out[0].permute(1, 2, 0).cpu().numpy()
    return to_uint8_image(torch.from_numpy(out).permute(2, 0, 1)[None]) if as_uint8 else out


@fitted_threads
@torch.inference_mode()
def paint_image(
    rgb: np.ndarray,
    mix: StyleMix,
    settings: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
    style_masks: Sequence[np.ndarray | None] | None = None,
) -> PaintedImage:
    """Everything of ``render_image`` but the full-size finish: the networks paint at their size with
    whole-image statistics; the result gives the whole render or any region of it."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise BadInputError(f"expected an RGB image, got an array of shape {rgb.shape}")
    if style_masks is not None and len(style_masks) != len(mix.components):
        raise BadInputError("give one mask (or None) per style")
    progress.report(0.0, "Preparing")
    if settings.strength == 0.0:
        return PaintedImage(to_tensor(rgb), [], 1.0)
    device = select_device(settings.device)
    looks = [source for source, _ in mix.components if is_look(source)]
    if looks:
        rgb = float_pixels(rgb)
        edited = apply_looks(rgb, looks, device)
        painting = [(i, c) for i, c in enumerate(mix.components) if not is_look(c[0])]
        if not painting:  # only looks: the edit, as strong as asked
            return PaintedImage(to_tensor(rgb + (edited - rgb) * settings.strength), [], 1.0)
        rgb = edited  # the painting styles paint the edited photo
        mix = StyleMix(tuple(c for _, c in painting))
        if style_masks is not None:
            style_masks = [style_masks[i] for i, _ in painting]
    photo = to_tensor(rgb) if device.type == "cpu" else upload(rgb, device)
    families = split_families(mix)
    if len(families) == 1:
        return PaintedImage(photo, [(_paint_one_family(rgb, photo, mix, settings, device, progress, style_masks),
                                     1.0)])
    return _paint_across_families(rgb, photo, mix, families, settings, device, progress, style_masks)


def _paint_one_family(rgb: np.ndarray, photo: torch.Tensor, mix: StyleMix, settings: RenderSettings,
                      device: torch.device, progress: Progress,
                      style_masks: Sequence[np.ndarray | None] | None) -> Finisher:
    """Every style of ``mix`` is painted by one network."""
    family = mix_family(mix)
    prepared = prepare(rgb, settings, family, device, photo)
    partition = coverage = None
    if style_masks is not None and any(m is not None for m in style_masks):
        padded_height, padded_width = prepared.padded.shape[-2:]
        partition, coverage = normalise_masks(style_masks, [w for _, w in mix.components],
                                              (padded_height, padded_width))
    own = None
    if settings.strength < 1.0 and family != MULTISTYLE_FAMILY:
        own = predict_embedding(float_pixels(rgb), device)
    plan = plan_paint(mix, device, settings.strength, own, partition)
    raise_if_cancelled(progress)
    painting = paint(prepared, plan, settings, device, SubProgress(progress, 0.02, 0.95))
    if coverage is not None:
        coverage = coverage[..., : prepared.small.shape[-2], : prepared.small.shape[-1]]
    return Finisher(painting, prepared.small, rgb.shape[0], rgb.shape[1], settings, plan.family, coverage)


# Below this share of picture or trained styles, a mix with built-ins cross-fades from the built-ins'
# own painting (26-style net) to the whole mix in the transformer (built-ins by their distilled
# embeddings), so a 1% slider step makes a 1%-sized change, not a jump between networks.
CROSSFADE_SHARE = 0.25
MASK_PLAN_SIDE = 2048  # the masks' partition is computed at most this long a side, then resized


def _paint_across_families(rgb: np.ndarray, photo: torch.Tensor, mix: StyleMix, families: dict[str, list[int]],
                           settings: RenderSettings, device: torch.device, progress: Progress,
                           style_masks: Sequence[np.ndarray | None] | None) -> PaintedImage:
    """Built-ins together with picture or trained styles."""
    if style_masks is not None and any(m is not None for m in style_masks):
        # each family paints its own region in its own network; the renders add up (each is the photo
        # outside its region), so away from boundaries every style looks as it does alone
        height, width = rgb.shape[:2]
        k = min(1.0, MASK_PLAN_SIDE / max(height, width))
        size = (max(1, round(height * k)), max(1, round(width * k)))
        partition, coverage = normalise_masks(style_masks, [w for _, w in mix.components], size)
        maps = (partition * coverage[0]).numpy()
        shown = [f for f in families.values() if maps[f].sum(0).max() > 1e-6]
        parts = []
        for n, indices in enumerate(shown):
            part = StyleMix(tuple(mix.components[i] for i in indices))
            parts.append((_paint_one_family(rgb, photo, part, settings, device,
                                            SubProgress(progress, n / len(shown), (n + 1) / len(shown)),
                                            [maps[i] for i in indices]), 1.0))
        return PaintedImage(photo, parts, 1.0 - len(shown))
    others = 1.0 - sum(mix.components[i][1] for i in families[MULTISTYLE_FAMILY])
    fade = min(1.0, others / CROSSFADE_SHARE)
    if fade >= 1.0:
        return PaintedImage(photo, [(_paint_transformer(rgb, photo, mix, settings, device, progress), 1.0)])
    builtins = StyleMix(tuple(mix.components[i] for i in families[MULTISTYLE_FAMILY]))
    own = _paint_one_family(rgb, photo, builtins, settings, device, SubProgress(progress, 0.0, 0.5), None)
    if fade <= 0.0:
        return PaintedImage(photo, [(own, 1.0)])
    whole = _paint_transformer(rgb, photo, mix, settings, device, SubProgress(progress, 0.5, 1.0))
    return PaintedImage(photo, [(own, 1.0 - fade), (whole, fade)])


def _paint_transformer(rgb: np.ndarray, photo: torch.Tensor, mix: StyleMix, settings: RenderSettings,
                       device: torch.device, progress: Progress) -> Finisher:
    """The whole mix in the transformer (built-ins by their distilled embeddings)."""
    prepared = prepare(rgb, settings, EMBEDDING_FAMILY, device, photo)
    own = predict_embedding(float_pixels(rgb), device) if settings.strength < 1.0 else None
    plan = plan_paint(mix, device, settings.strength, own, allow_multistyle=False)
    raise_if_cancelled(progress)
    painting = paint(prepared, plan, settings, device, SubProgress(progress, 0.02, 0.95))
    return Finisher(painting, prepared.small, rgb.shape[0], rgb.shape[1], settings, plan.family)


@torch.inference_mode()
def render_batch(
    rgbs: Sequence[np.ndarray],
    mix: StyleMix,
    settings: RenderSettings = RenderSettings(),
    as_uint8: bool = False,
) -> list[np.ndarray]:
    """Several photos of one size painted by one pass of the network (on a GPU the launches and cuDNN
    plans are shared), each finished as ``render_image`` would. Where a batch could not give the same
    pictures (looks, strength below 1: each photo's own embedding; more pixels than one tile) the photos
    are rendered one by one."""
    device = select_device(settings.device)
    shapes = {rgb.shape for rgb in rgbs}
    simple = (len(rgbs) > 1 and len(shapes) == 1 and rgbs[0].ndim == 3 and rgbs[0].shape[2] == 3
              and settings.strength == 1.0 and not any(is_look(source) for source, _ in mix.components))
    family = mix_family(mix)
    simple = simple and len(split_families(mix)) == 1
    if simple:
        scale = settings.stroke_scale(rgbs[0].shape[0], rgbs[0].shape[1], family)
        h, w = network_size(rgbs[0].shape[0], rgbs[0].shape[1], scale)
        simple = len(rgbs) * (h + 3) * (w + 3) <= tile_for(settings, device) ** 2
    if not simple:
        return [render_image(rgb, mix, settings, as_uint8=as_uint8) for rgb in rgbs]
    prepared = [prepare(rgb, settings, family, device) for rgb in rgbs]
    plan = plan_paint(mix, device, 1.0, None)
    x = torch.cat([p.padded.to(device) for p in prepared]).contiguous(memory_format=torch.channels_last)
    network = with_adapters(load_network(plan.network, device), plan.adapters)
    out = painted_in(paint_dtype(plan, settings, device), partial(forward_whole, network, plan.network, x,
                                                                  plan.norms.mixed))
    out = with_colour_map(out, plan)
    del x
    h, w = prepared[0].small.shape[-2:]
    return [host_pixels(finish(out[i : i + 1, :, :h, :w], p, settings, plan.family), as_uint8)
            for i, p in enumerate(prepared)]
