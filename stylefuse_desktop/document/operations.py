"""Document operations built from the compositor: new document, duplicate, merge down, flatten, export.

Operations that bake style or fusion layers into pixels need their full-size paintings; when one is
missing or stale they raise ``NeedsPainting`` naming the layers, and the editor paints them first.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import StyleFuseError
from .compositor import RenderStore, composite
from .document import Document
from .image_io import Photo, write_image
from .layers import FusionLayer, ImageLayer, Layer, StyleLayer, new_id
from .raster import Raster


class NeedsPainting(StyleFuseError):
    def __init__(self, layer_ids: list[str]) -> None:
        super().__init__("some style layers must be painted at full size first")
        self.layer_ids = layer_ids


def document_from_photo(photo: Photo, name: str) -> Document:
    doc = Document(*photo.size)
    doc.title = name
    layer = ImageLayer(name=name, raster=Raster.from_photo(photo), exif=photo.exif)
    doc.layers.append(layer)
    doc.select(layer.id)
    return doc


def layer_from_photo(photo: Photo, name: str, doc: Document) -> ImageLayer:
    """A photo as a new layer, scaled to fit inside the canvas and centred."""
    w, h = photo.size
    scale = min(1.0, doc.width / w, doc.height / h)
    x = round((doc.width - w * scale) / 2)
    y = round((doc.height - h * scale) / 2)
    return ImageLayer(name=name, raster=Raster.from_photo(photo), x=x, y=y, scale=scale, exif=photo.exif)


def needs_painting(doc: Document, renders: RenderStore | None, layer: Layer, scale: float,
                   draft_ok: bool = False) -> bool:
    """The one staleness rule: a style or fusion layer needs painting at ``scale`` when it has no
    painting there, the painting's signature is not the layer's (its settings or what it paints from
    changed), or the painting is a draft and full quality is wanted."""
    painted = renders.get(layer.id, scale) if renders is not None else None
    return painted is None or painted.signature != doc.signature(layer) or (painted.draft and not draft_ok)


def paintable(doc: Document) -> list[Layer]:
    """The layers the engine paints: visible style and fusion layers that have a style."""
    return [lay for lay in doc.layers if isinstance(lay, (StyleLayer, FusionLayer)) and lay.visible and lay.styles]


def stale_layers(doc: Document, renders: RenderStore, scale: float, draft_ok: bool) -> list[str]:
    """Paintable layers to paint at ``scale``, bottom first: the stale ones and every paintable layer
    above the lowest of them (a layer above may paint from what is below)."""
    layers = paintable(doc)
    first = next((i for i, lay in enumerate(layers) if needs_painting(doc, renders, lay, scale, draft_ok)), None)
    return [] if first is None else [lay.id for lay in layers[first:]]


def stale_paintings(doc: Document, renders: RenderStore, layers: list[Layer]) -> list[str]:
    """Style/fusion layers among ``layers`` (and what they paint from) lacking a current full-size painting."""
    missing = []
    for layer in layers:
        if isinstance(layer, (StyleLayer, FusionLayer)) and layer.visible:
            missing += stale_paintings(doc, renders, doc.dependencies(layer))
            if needs_painting(doc, renders, layer, 1.0):
                missing.append(layer.id)
    return list(dict.fromkeys(missing))


def duplicate_layer(doc: Document, layer_id: str) -> Layer:
    original = doc.layer(layer_id)
    clone = replace(original, id=new_id(), name=f"{original.name} copy", locked=False,
                    mask=None if original.mask is None else original.mask.copy())
    if isinstance(clone, ImageLayer) and clone.raster is not None:
        clone.raster = clone.raster.copy()  # the clone is in no document yet: nothing hears this
    doc.add_layer(clone, doc.index_of(layer_id) + 1)
    return clone


def _baked(doc: Document, renders: RenderStore, layers: list[Layer], name: str) -> ImageLayer:
    missing = stale_paintings(doc, renders, layers)
    if missing:
        raise NeedsPainting(missing)
    rgba = composite(doc, renders, 1.0, layers=layers)
    bit_depth = max((lay.raster.bit_depth for lay in layers if isinstance(lay, ImageLayer) and lay.raster is not None),
                    default=8)
    exif = next((lay.exif for lay in layers if isinstance(lay, ImageLayer) and lay.exif), None)
    return ImageLayer(name=name, raster=Raster.from_float(rgba, bit_depth), exif=exif)


def merge_down(doc: Document, layer_id: str, renders: RenderStore) -> ImageLayer:
    index = doc.index_of(layer_id)
    if index == 0:
        raise StyleFuseError("there is no layer below to merge into")
    upper, lower = doc.layers[index], doc.layers[index - 1]
    # a style layer painting "everything below" needs the whole stack under it to be painted
    merged = _baked(doc, renders, list(doc.layers[: index + 1]) if isinstance(upper, StyleLayer) else [lower, upper],
                    lower.name)
    if isinstance(upper, StyleLayer):
        # the merged pixels stand for everything below too, so the layers under it go into it
        remove = [lay.id for lay in doc.layers[: index + 1]]
        doc.replace_layers(remove, [(0, merged)], f"Merge {upper.name} down")
    else:
        doc.replace_layers([lower.id, upper.id], [(index - 1, merged)], f"Merge {upper.name} down")
    return merged


def flatten(doc: Document, renders: RenderStore) -> ImageLayer:
    visible = [lay for lay in doc.layers if lay.visible]
    flat = _baked(doc, renders, visible, "Flattened")
    doc.replace_layers([lay.id for lay in doc.layers], [(0, flat)], "Flatten image")
    return flat


def export(doc: Document, renders: RenderStore, path: str | os.PathLike[str], quality: int = 95,
           layer_id: str | None = None) -> Path:
    """Write the whole canvas (or one layer) at full size; EXIF from the first photo layer."""
    layers = list(doc.layers) if layer_id is None else [doc.layer(layer_id)]
    missing = stale_paintings(doc, renders, layers)
    if missing:
        raise NeedsPainting(missing)
    rgba = composite(doc, renders, 1.0, only=layer_id)
    exif = next((lay.exif for lay in doc.layers if isinstance(lay, ImageLayer) and lay.exif), None)
    alpha = rgba[..., 3]
    photo = Photo(rgb=np.ascontiguousarray(rgba[..., :3]), alpha=None if alpha.min() >= 0.999 else alpha, exif=exif)
    return write_image(path, photo, quality=quality)
