"""Painting a document's style and fusion layers: the engine side of the editor (no Qt).

``paint_layer`` takes a snapshot of the document (layers are replaced, never mutated, so a snapshot is
a list of references), composites what the layer paints from, and runs the engine at the scale the
canvas shows (preview) or at full size (export). The look matches across scales: the network always
paints at the size the stroke setting gives for the full canvas.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..document.compositor import (
    Box,
    Painted,
    RenderStore,
    composite,
    image_layer_on_canvas,
    layer_pixels,
    resize_map,
)
from ..document.document import Document, Signature
from ..document.layers import BELOW, FusionLayer, ImageLayer, Layer, StyleEntry, StyleLayer
from ..errors import BadInputError
from ..progress import NullProgress, Progress, raise_if_cancelled
from .fusion import fuse_photos
from .region import View, view_tiles
from .render import PaintedImage, RenderSettings, host_pixels, paint_image, render_image
from .styles import StyleMix, source_of

DRAFT_SIDE = 768  # slider drags paint at most this long a side, for speed; the full quality follows


def style_mix(entries: tuple[StyleEntry, ...]) -> StyleMix:
    if not entries:
        raise BadInputError("this layer has no style yet: pick one in the Styles panel")
    return StyleMix(tuple((source_of(e.style), max(0.0, e.weight)) for e in entries))


def engine_settings(layer: StyleLayer | FusionLayer, doc: Document, scale: float, draft: bool,
                    base: RenderSettings) -> RenderSettings:
    """The render settings for painting ``layer`` on a canvas shown at ``scale``: the layer's stroke
    size, read for the whole canvas as ``stylefuse render --stroke-size`` reads it, so the preview is a
    smaller copy of the export and the export (scale 1) is what the command line paints."""
    return replace(base, strength=layer.strength, preserve_color=layer.preserve_color,
                   stroke_size=layer.stroke_size, scale=None, picture_scale=scale,
                   max_network_side=DRAFT_SIDE if draft else None)


def source_rgba(doc: Document, layer: StyleLayer, renders: RenderStore, scale: float) -> np.ndarray:
    if layer.source == BELOW:
        return composite(doc, renders, scale, below=doc.index_of(layer.id))
    source = doc.layer(layer.source)
    pixels = layer_pixels(source, doc, renders, scale)
    if pixels is None:
        raise BadInputError(f"'{source.name}' has not been painted yet")
    return pixels


def paint_layer(
    doc: Document,
    layer_id: str,
    renders: RenderStore,
    scale: float,
    draft: bool = False,
    base: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
) -> Painted:
    layer = doc.styled_layer(layer_id)
    signature = doc.signature(layer)
    settings = engine_settings(layer, doc, scale, draft, base)
    mix = style_mix(layer.styles)
    width, height = max(1, round(doc.width * scale)), max(1, round(doc.height * scale))
    if isinstance(layer, StyleLayer):
        rgba = source_rgba(doc, layer, renders, scale)
        masks = None
        if any(e.weight_map is not None for e in layer.styles):
            masks = [None if e.weight_map is None else resize_map(e.weight_map, (width, height)) for e in layer.styles]
        rgb = render_image(np.ascontiguousarray(rgba[..., :3]), mix, settings, progress, masks)
        return Painted(np.concatenate([rgb, rgba[..., 3:4]], axis=2), scale, signature)
    if isinstance(layer, FusionLayer):
        fused = [(s, photo) for s in layer.sources if (photo := _photo_layer(doc, s.layer_id)) is not None]
        if not fused:
            raise BadInputError("this fusion layer has no photo layers to fuse; add some in the Fusion panel")
        sources = [s for s, _ in fused]
        photos = [image_layer_on_canvas(photo, doc, scale) for _, photo in fused]
        masks = [None if s.mask is None else resize_map(s.mask, (width, height)) for s in sources]
        rgb = fuse_photos([np.ascontiguousarray(p[..., :3]) for p in photos], [s.weight for s in sources], mix,
                          settings, progress, masks if any(m is not None for m in masks) else None)
        alpha = np.max(np.stack([p[..., 3] for p in photos]), axis=0)[..., None]
        return Painted(np.concatenate([rgb, alpha], axis=2), scale, signature)
    raise BadInputError(f"'{layer.name}' is not a style or fusion layer")


def _photo_layer(doc: Document, layer_id: str) -> ImageLayer | None:
    """The photo layer ``layer_id``, or None when it is gone or not a photo."""
    try:
        found = doc.layer(layer_id)
    except KeyError:
        return None
    return found if isinstance(found, ImageLayer) else None



@dataclass
class HeldPainting:
    """A style layer's painting of its full-size source, kept between views: any box of the export
    comes from it without painting again."""

    signature: Signature
    painted: PaintedImage
    alpha: np.ndarray  # [H, W] the source's alpha at full size
    whole: Painted | None = None  # the full-size painting, made only when a layer above paints from it


def paint_view(
    doc: Document,
    box: Box,
    renders: RenderStore,
    held: dict[str, HeldPainting],
    base: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
) -> np.ndarray:
    """The document's composite in ``box`` (full-size canvas pixels: left, top, right, bottom) exactly as
    the export shows it, RGBA float32: photos cropped from their full-size rasters, style layers from
    their paintings of the full-size source with whole-image statistics (made once per layer and
    settings and kept in ``held`` for the next view), painted tile by tile from the centre out. Fusion
    layers show their latest painting, resampled."""
    left, top, right, bottom = box
    needed: set[str] = set()

    def need(layer: Layer) -> None:
        if layer.id not in needed:
            needed.add(layer.id)
            for dep in doc.dependencies(layer):
                need(dep)

    for layer in doc.layers:
        if isinstance(layer, StyleLayer) and layer.visible and layer.opacity > 0:
            need(layer)
    for gone in [lid for lid in held if lid not in needed]:
        del held[gone]  # deleted or hidden layers let their memory go
    local = RenderStore()
    for layer in doc.layers:
        painted = renders.best(layer.id, 1.0)
        if isinstance(layer, FusionLayer) and painted is not None:
            local.put(layer.id, painted)
    boxes: dict[str, np.ndarray] = {}
    below: list[StyleLayer] = []
    for layer in doc.layers:
        if not isinstance(layer, StyleLayer) or layer.id not in needed:
            continue
        raise_if_cancelled(progress)
        signature = doc.signature(layer)
        item = held.get(layer.id)
        if item is None or item.signature != signature:
            for lower in below:  # this layer may paint from those under it: at full size, as the export
                kept = held[lower.id]
                if kept.whole is None:
                    rgb = host_pixels(kept.painted.whole(), as_uint8=False)
                    kept.whole = Painted(np.concatenate([rgb, kept.alpha[..., None]], axis=2), 1.0,
                                         kept.signature)
                local.put(lower.id, kept.whole)
            source = source_rgba(doc, layer, local, 1.0)
            masks = None
            if any(e.weight_map is not None for e in layer.styles):
                masks = [None if e.weight_map is None else resize_map(e.weight_map, (doc.width, doc.height))
                         for e in layer.styles]
            painted_image = paint_image(np.ascontiguousarray(source[..., :3]), style_mix(layer.styles),
                                        engine_settings(layer, doc, 1.0, False, base), progress, masks)
            item = held[layer.id] = HeldPainting(signature, painted_image, np.ascontiguousarray(source[..., 3]))
        out = np.empty((bottom - top, right - left, 4), np.float32)
        out[..., 3] = item.alpha[top:bottom, left:right]
        for rows, cols in view_tiles(View(top, left, bottom, right)):
            raise_if_cancelled(progress)
            out[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left, :3] = \
                item.painted.region(rows, cols)
        boxes[layer.id] = out
        below.append(layer)
    return composite(doc, local, 1.0, box=box, painted_boxes=boxes)
