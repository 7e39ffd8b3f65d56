"""Photo fusion: several photos painted as one picture.

Each photo goes through the network's encoder; the feature maps are blended, globally by weight or per
pixel by masks, and the blend is decoded with the style. The decoder paints one coherent picture from
the mixed features, not a double exposure. A photo with weight 1 gives exactly that photo's render.

Built-ins (alone or mixed among themselves) fuse in the 26-style network, whose encoder normalises
each photo with its own statistics; other styles fuse in the transformer, whose encoder does not
normalise, so each photo's features are brought to the weighted average's mean and spread per channel
before blending: a high-contrast photo no longer drowns a soft one, and 50/50 means 50/50.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..document.image_io import resize_array
from ..errors import BadInputError
from ..progress import NullProgress, Progress, SubProgress, raise_if_cancelled
from .device import select_device
from .embeddings import predict_embedding
from .render import (
    Finisher,
    PaintedImage,
    Prepared,
    RenderSettings,
    host_pixels,
    normalise_masks,
    paint,
    prepare,
    tile_for,
)
from .stroke_size import MULTISTYLE_FAMILY
from .style_plan import MULTISTYLE, TRANSFORMER, PaintPlan, mix_family, plan_paint
from .styles import StyleMix
from .tiling import run_stages
from .weights import load_network


def fit_to(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale to cover (width, height) without distortion, then crop the centre."""
    h, w = rgb.shape[:2]
    target_w, target_h = size
    scale = max(target_w / w, target_h / h)
    scaled = resize_array(rgb, (max(target_w, round(w * scale)), max(target_h, round(h * scale))))
    top = (scaled.shape[0] - target_h) // 2
    left = (scaled.shape[1] - target_w) // 2
    return np.ascontiguousarray(scaled[top : top + target_h, left : left + target_w])


def fitted_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    fitted: np.ndarray = np.clip(fit_to(np.repeat(mask[..., None], 3, axis=2).astype(np.float32), size)[..., 0],
                                 0, 1)
    return fitted


def balance_features(features: list[torch.Tensor], weights: list[float]) -> list[torch.Tensor]:
    """Bring every photo's encoder features ([1, C, h, w] each) to the weighted average of their
    per-channel mean and spread, so each photo enters the blend on an equal footing. A photo with
    weight 1 keeps its own features exactly."""
    moments = [(f.mean(dim=(0, 2, 3), keepdim=True), f.std(dim=(0, 2, 3), keepdim=True)) for f in features]
    total = sum(weights) or 1.0
    mean = sum(w / total * m for w, (m, _) in zip(weights, moments))
    spread = sum(w / total * s for w, (_, s) in zip(weights, moments))
    return [((f - m) / s.clamp(min=1e-5) * spread + mean).clamp_(min=0.0) for f, (m, s) in zip(features, moments)]


@torch.inference_mode()
def fuse_photos(
    photos: Sequence[np.ndarray],
    weights: Sequence[float],
    mix: StyleMix,
    settings: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
    masks: Sequence[np.ndarray | None] | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Fuse ``photos`` ([H, W, 3] float32 each) into one painting of ``size`` (width, height; default
    the first photo's). ``weights`` mix them globally; ``masks`` (one per photo, or None) mix them per
    pixel, the masks' own weights taking over where any mask is given."""
    out = host_pixels(paint_fusion(photos, weights, mix, settings, progress, masks, size).whole(), as_uint8=False)
    progress.report(1.0, "Done")
    return out


@torch.inference_mode()
def paint_fusion(
    photos: Sequence[np.ndarray],
    weights: Sequence[float],
    mix: StyleMix,
    settings: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
    masks: Sequence[np.ndarray | None] | None = None,
    size: tuple[int, int] | None = None,
) -> PaintedImage:
    """Everything of ``fuse_photos`` but the full-size finish: the fused painting at network size,
    which gives the whole fusion or any region of it exactly (the canvas's real pixels)."""
    if len(photos) < 1 or len(photos) != len(weights):
        raise BadInputError("give one weight per photo")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise BadInputError("photo weights must be >= 0 and not all zero")
    masks = list(masks) if masks is not None else [None] * len(photos)
    if len(masks) != len(photos):
        raise BadInputError("give one mask (or None) per photo")
    total = float(sum(weights))
    weights = [w / total for w in weights]
    size = size or (photos[0].shape[1], photos[0].shape[0])
    fitted = [fit_to(p, size) for p in photos]
    device = select_device(settings.device)
    family = mix_family(mix)
    prepared = [prepare(p, settings, family) for p in fitted]

    # the photo the painting is measured against (colour, strength): the same blend, in pixels
    padded_height, padded_width = prepared[0].padded.shape[-2:]
    padded_shape = (padded_height, padded_width)
    by_masks = any(m is not None for m in masks)
    if by_masks:
        masks_full = [None if m is None else fitted_mask(m, size) for m in masks]
        partition, _ = normalise_masks(masks_full, weights, padded_shape)
        pixel_partition, _ = normalise_masks(masks_full, weights, (size[1], size[0]))
    else:
        partition = torch.tensor(weights)[:, None, None].expand(len(photos), *padded_shape)
        pixel_partition = torch.tensor(weights)[:, None, None].expand(len(photos), size[1], size[0])
    blended_rgb = sum(pixel_partition[k][..., None].numpy() * fitted[k] for k in range(len(photos)))
    blended = prepare(np.asarray(blended_rgb, np.float32), settings, family)
    own = None
    if settings.strength < 1.0 and family != MULTISTYLE_FAMILY:
        own = predict_embedding(blended_rgb.astype(np.float32), device)

    encoded = []
    tile = tile_for(settings, device)
    if family == MULTISTYLE_FAMILY:
        net = load_network(MULTISTYLE, device)
        encoder_plan = plan_paint(mix, device, settings.strength, None).norms  # each photo's own statistics
        stages = net.encoder_stages(encoder_plan)
    else:
        encoder_plan, stages = None, load_network(TRANSFORMER, device).encoder_stages()
    for k, item in enumerate(prepared):
        raise_if_cancelled(progress)
        encoded.append(run_stages(item.padded, stages, encoder_plan, tile, device,
                                  SubProgress(progress, 0.3 * k / len(photos), 0.3 * (k + 1) / len(photos))).output)
    if family != MULTISTYLE_FAMILY and not by_masks:  # by masks, each region keeps its photo's own statistics
        encoded = balance_features(encoded, weights)
    features = None
    for k, photo_features in enumerate(encoded):
        share = F.interpolate(partition[k][None, None], size=photo_features.shape[-2:], mode="area")
        features = photo_features * share if features is None else features.add_(photo_features * share)
    del encoded

    # placed by masks, each photo's region is normalised by its own statistics, so it looks as that
    # photo's painting does; blended by weights, the statistics are of the blend
    plan: PaintPlan = plan_paint(mix, device, settings.strength, own, regions=partition if by_masks else None)
    painting = paint(Prepared(blended.photo, blended.small, blended.padded), plan, settings, device,
                     SubProgress(progress, 0.3, 0.95), features=features)
    height, width = blended.photo.shape[-2:]
    return PaintedImage(blended.photo, [(Finisher(painting, blended.small, height, width, settings, plan.family),
                                         1.0)])
