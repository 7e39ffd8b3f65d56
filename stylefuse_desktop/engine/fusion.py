"""Photo fusion: several photos painted as one picture.

Each photo goes through the transformer's encoder (which no style touches); the feature maps are
blended, globally by weight or per pixel by masks, and the blend is decoded with the style. The
decoder paints one coherent picture from the mixed features, not a double exposure. A photo with
weight 1 gives exactly that photo's render.
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
from .render import Prepared, RenderSettings, finish, normalise_masks, paint, prepare, tile_for
from .style_plan import TRANSFORMER, PaintPlan, plan_paint
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
    return np.clip(fit_to(np.repeat(mask[..., None], 3, axis=2).astype(np.float32), size)[..., 0], 0, 1)


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
    net = load_network(TRANSFORMER, device)
    prepared = [prepare(p, settings) for p in fitted]

    # the photo the painting is measured against (colour, strength): the same blend, in pixels
    padded_shape = tuple(prepared[0].padded.shape[-2:])
    by_masks = any(m is not None for m in masks)
    if by_masks:
        masks_full = [None if m is None else fitted_mask(m, size) for m in masks]
        partition, _ = normalise_masks(masks_full, weights, padded_shape)
        pixel_partition, _ = normalise_masks(masks_full, weights, (size[1], size[0]))
    else:
        partition = torch.tensor(weights)[:, None, None].expand(len(photos), *padded_shape)
        pixel_partition = torch.tensor(weights)[:, None, None].expand(len(photos), size[1], size[0])
    blended_rgb = sum(pixel_partition[k][..., None].numpy() * fitted[k] for k in range(len(photos)))
    blended = prepare(np.asarray(blended_rgb, np.float32), settings)

    features = None
    tile = tile_for(settings, device)
    for k, item in enumerate(prepared):
        raise_if_cancelled(progress)
        encoded = run_stages(item.padded, net.encoder_stages(), None, tile, device,
                             SubProgress(progress, 0.3 * k / len(photos), 0.3 * (k + 1) / len(photos))).output
        share = F.interpolate(partition[k][None, None], size=encoded.shape[-2:], mode="area")
        features = encoded * share if features is None else features.add_(encoded * share)

    own = predict_embedding(blended_rgb.astype(np.float32), device) if settings.strength < 1.0 else None
    # placed by masks, each photo's region is normalised by its own statistics, so it looks as that
    # photo's painting does; blended by weights, the statistics are of the blend
    plan: PaintPlan = plan_paint(mix, device, settings.strength, own, allow_multistyle=False,
                                 regions=partition if by_masks else None)
    painting = paint(Prepared(blended.photo, blended.small, blended.padded), plan, settings, device,
                     SubProgress(progress, 0.3, 0.95), features=features)
    out = finish(painting, blended, settings, plan.family)
    progress.report(1.0, "Done")
    return out
