"""Painting a document's style and fusion layers: the engine side of the editor (no Qt).

``paint_layer`` takes a snapshot of the document (layers are replaced, never mutated, so a snapshot is
a list of references), composites what the layer paints from, and runs the engine at the scale the
canvas shows (preview) or at full size (export). The look matches across scales: the network always
paints at the size the stroke setting gives for the full canvas.

``paint_view_tiles`` gives the canvas its real pixels past the proxy's scale: any box of the export,
tile by tile, from paintings of the full-size sources kept between views.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import torch

from ..document.compositor import (
    Box,
    Painted,
    RenderStore,
    canvas_size_at,
    composite,
    image_layer_on_canvas,
    layer_pixels,
    resize_map,
    resize_rgba,
)
from ..document.document import Document, Signature
from ..document.layers import BELOW, FusionLayer, ImageLayer, Layer, StyleEntry, StyleLayer
from ..errors import BadInputError
from ..progress import NullProgress, Progress, raise_if_cancelled
from .fusion import fuse_photos, paint_fusion
from .region import TILE, View, view_tiles
from .render import PaintedImage, RenderSettings, host_pixels, paint_image, render_image
from .styles import StyleMix, source_of

log = logging.getLogger(__name__)

FusionResult = TypeVar("FusionResult", np.ndarray, PaintedImage)

DRAFT_SIDE = 768  # slider drags paint at most this long a side, for speed; the full quality follows
SOURCE_BAND_ROWS = 256


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


def source_pixels(doc: Document, layer: StyleLayer, renders: RenderStore, scale: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """What a style layer paints from at ``scale``: RGB [h, w, 3] and alpha [h, w], float32, composited
    in bands of rows (a 24 MP composite in one piece would hold several full-size temporaries)."""
    width, height = canvas_size_at(doc, scale)
    source = None if layer.source == BELOW else doc.layer(layer.source)
    rgb = np.empty((height, width, 3), np.float32)
    alpha = np.empty((height, width), np.float32)
    for top in range(0, height, SOURCE_BAND_ROWS):
        box = (0, top, width, min(height, top + SOURCE_BAND_ROWS))
        found = (composite(doc, renders, scale, below=doc.index_of(layer.id), box=box) if source is None
                 else layer_pixels(source, doc, renders, scale, box))
        if found is None:
            raise BadInputError(f"'{source.name if source else layer.name}' has not been painted yet")
        band = found
        rgb[box[1] : box[3]] = band[..., :3]
        alpha[box[1] : box[3]] = band[..., 3]
    return rgb, alpha


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
    width, height = canvas_size_at(doc, scale)
    if isinstance(layer, StyleLayer):
        source, alpha = source_pixels(doc, layer, renders, scale)
        rgb = render_image(source, mix, settings, progress, style_masks(layer, width, height))
        return Painted(np.concatenate([rgb, alpha[..., None]], axis=2), scale, signature)
    if isinstance(layer, FusionLayer):
        rgb, alpha = _fusion_parts(doc, layer, scale, mix, settings, progress, fuse_photos)
        return Painted(np.concatenate([rgb, alpha[..., None]], axis=2), scale, signature)
    raise BadInputError(f"'{layer.name}' is not a style or fusion layer")


def style_masks(layer: StyleLayer, width: int, height: int) -> list[np.ndarray | None] | None:
    """The styles' weight maps at the painting's size (None when no style has one)."""
    if not any(e.weight_map is not None for e in layer.styles):
        return None
    return [None if e.weight_map is None else resize_map(e.weight_map, (width, height)) for e in layer.styles]


def _fusion_parts(doc: Document, layer: FusionLayer, scale: float, mix: StyleMix, settings: RenderSettings,
                  progress: Progress, fuse: Callable[..., FusionResult]) -> tuple[FusionResult, np.ndarray]:
    """``fuse`` (``fuse_photos`` or ``paint_fusion``) of the layer's photos on the canvas at ``scale``,
    and the alpha of the fusion (where any photo is)."""
    fused = [(s, photo) for s in layer.sources if (photo := _photo_layer(doc, s.layer_id)) is not None]
    if not fused:
        raise BadInputError("this fusion layer has no photo layers to fuse; add some in the Fusion panel")
    sources = [s for s, _ in fused]
    width, height = canvas_size_at(doc, scale)
    photos = [image_layer_on_canvas(photo, doc, scale) for _, photo in fused]
    masks = [None if s.mask is None else resize_map(s.mask, (width, height)) for s in sources]
    alpha = np.max(np.stack([p[..., 3] for p in photos]), axis=0)
    result = fuse([np.ascontiguousarray(p[..., :3]) for p in photos], [s.weight for s in sources], mix, settings,
                  progress, masks if any(m is not None for m in masks) else None)
    return result, alpha


def _photo_layer(doc: Document, layer_id: str) -> ImageLayer | None:
    """The photo layer ``layer_id``, or None when it is gone or not a photo."""
    try:
        found = doc.layer(layer_id)
    except KeyError:
        return None
    return found if isinstance(found, ImageLayer) else None


@dataclass
class HeldPainting:
    """A style or fusion layer's painting of its full-size source, kept between views: any box of the
    export comes from it without painting again."""

    signature: Signature
    painted: PaintedImage
    alpha: np.ndarray | None  # [H, W] the painting's alpha at full size; None where it is opaque
    whole: Painted | None = None  # the full-size painting, made only when a layer above paints from it

    @classmethod
    def of(cls, signature: Signature, painted: PaintedImage, alpha: np.ndarray) -> HeldPainting:
        return cls(signature, painted, None if alpha.min() >= 1.0 else alpha)  # a photo: 96 MB less at 24 MP

    def box(self, rows: range, cols: range) -> np.ndarray:
        """RGBA float32 of rows x cols, exactly as the export has them."""
        out = np.empty((len(rows), len(cols), 4), np.float32)
        out[..., :3] = self.painted.region(rows, cols)
        out[..., 3] = 1.0 if self.alpha is None else self.alpha[rows.start : rows.stop, cols.start : cols.stop]
        return out

    def full_size(self) -> Painted:
        if self.whole is None:
            rgb = host_pixels(self.painted.whole(), as_uint8=False)
            rgba = np.empty(rgb.shape[:2] + (4,), np.float32)
            rgba[..., :3] = rgb
            rgba[..., 3] = 1.0 if self.alpha is None else self.alpha
            self.whole = Painted(rgba, 1.0, self.signature)
        return self.whole


def paint_view_tiles(
    doc: Document,
    box: Box,
    renders: RenderStore,
    held: dict[str, HeldPainting],
    base: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
    skip: Collection[Box] = (),
    tile: int = TILE,
    step: int = 1,
) -> Iterator[tuple[Box, np.ndarray]]:
    """The document's composite around ``box`` (full-size canvas pixels: left, top, right, bottom)
    exactly as the export shows it: (tile box, RGBA float32) for each tile of the ``region`` grid that
    meets ``box``, nearest its centre first, except the tiles in ``skip`` (already shown). With
    ``step`` > 1 (a view zoomed out below 100%) the grid's tiles are ``step`` times larger and each
    comes area-averaged to 1/``step`` of its size: the export's pixels at the resolution displayed.

    Photos are cropped from their full-size rasters; style and fusion layers come from their paintings
    of the full-size source with whole-image statistics, made once per layer and settings and kept in
    ``held`` for the next view. Only the painting at network size is whole-image work: each tile is
    brought to full size on its own (detail, colour, strength). A layer that cannot paint (no style
    yet) shows its latest painting, resampled, as the proxy does. Cancelled at the next tile."""
    left, top, right, bottom = box
    tiles = [(rows, cols) for rows, cols in view_tiles(View(top, left, bottom, right), doc.height, doc.width,
                                                       tile * step)
             if (cols.start, rows.start, cols.stop, rows.stop) not in skip]
    if not tiles:
        return
    kept = _hold_paintings(doc, renders, held, base, progress)
    local = RenderStore()
    for layer in doc.layers:
        painted = renders.best(layer.id, 1.0)
        if isinstance(layer, (StyleLayer, FusionLayer)) and layer.id not in kept and painted is not None:
            local.put(layer.id, painted)
    for rows, cols in tiles:
        raise_if_cancelled(progress)
        where = (cols.start, rows.start, cols.stop, rows.stop)
        with one_thread():
            boxes = {layer_id: item.box(rows, cols) for layer_id, item in kept.items()}
            rgba = composite(doc, local, 1.0, box=where, painted_boxes=boxes)
        if step > 1:
            rgba = resize_rgba(rgba, (max(1, round(len(cols) / step)), max(1, round(len(rows) / step))))
        yield where, rgba


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread while a tile is finished: its operations are too small to share, and two
    threads waiting on each other on a busy CPU took 5-20x as long (benchmarks/bench_region.py). The
    count is the calling thread's own (OpenMP's), so a render on another thread keeps its own."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def paint_view(
    doc: Document,
    box: Box,
    renders: RenderStore,
    held: dict[str, HeldPainting],
    base: RenderSettings = RenderSettings(),
    progress: Progress = NullProgress(),
) -> np.ndarray:
    """``box`` of the export, RGBA float32, from ``paint_view_tiles``."""
    left, top, right, bottom = box
    out = np.zeros((bottom - top, right - left, 4), np.float32)
    for (x0, y0, x1, y1), rgba in paint_view_tiles(doc, box, renders, held, base, progress):
        a, b, c, d = max(x0, left), max(y0, top), min(x1, right), min(y1, bottom)
        out[b - top : d - top, a - left : c - left] = rgba[b - y0 : d - y0, a - x0 : c - x0]
    return out


def _hold_paintings(doc: Document, renders: RenderStore, held: dict[str, HeldPainting], base: RenderSettings,
                    progress: Progress) -> dict[str, HeldPainting]:
    """The full-size paintings of every style and fusion layer the composite shows (and of those they
    paint from), bottom to top, made where ``held`` has none for the layer's current signature; the
    others (and those of deleted or hidden layers) leave ``held``."""
    needed: set[str] = set()

    def need(layer: Layer) -> None:
        if layer.id not in needed:
            needed.add(layer.id)
            for dep in doc.dependencies(layer):
                need(dep)

    for layer in doc.layers:
        if isinstance(layer, (StyleLayer, FusionLayer)) and layer.visible and layer.opacity > 0:
            need(layer)
    for gone in [layer_id for layer_id in held if layer_id not in needed]:
        del held[gone]  # their memory goes
    kept: dict[str, HeldPainting] = {}
    for layer in doc.layers:
        if layer.id not in needed or not isinstance(layer, (StyleLayer, FusionLayer)):
            continue
        raise_if_cancelled(progress)
        signature = doc.signature(layer)
        item = held.get(layer.id)
        if item is None or item.signature != signature:
            held.pop(layer.id, None)  # the old painting's memory goes before the new one is made
            try:
                item = held[layer.id] = _hold(doc, layer, signature, kept, base, progress)
            except BadInputError as exc:  # no style yet, no photos to fuse: the proxy's painting stands in
                log.info("'%s' shows its preview in the view: %s", layer.name, exc)
                continue
        kept[layer.id] = item
    return kept


def _hold(doc: Document, layer: StyleLayer | FusionLayer, signature: Signature, below: dict[str, HeldPainting],
          base: RenderSettings, progress: Progress) -> HeldPainting:
    mix = style_mix(layer.styles)
    settings = engine_settings(layer, doc, 1.0, False, base)
    if isinstance(layer, FusionLayer):
        painted, alpha = _fusion_parts(doc, layer, 1.0, mix, settings, progress, paint_fusion)
        return HeldPainting.of(signature, painted, alpha)
    # what this layer paints from, at full size as the export has it: the layers under it that it
    # depends on come from their full-size paintings
    local = RenderStore()
    depends = {dep.id for dep in doc.dependencies(layer) if layer.source != BELOW or dep.opacity > 0}
    for layer_id, item in below.items():
        if layer_id in depends:
            local.put(layer_id, item.full_size())
    source, alpha = source_pixels(doc, layer, local, 1.0)
    painted = paint_image(source, mix, settings, progress, style_masks(layer, doc.width, doc.height))
    return HeldPainting.of(signature, painted, alpha)
