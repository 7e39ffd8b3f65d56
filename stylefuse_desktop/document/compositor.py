"""The one compositor: the layer stack -> RGBA pixels (numpy). The canvas, the thumbnails and the export
all call it, so what is seen is what is saved.

Style and fusion layers show what the engine last painted for them (a ``RenderStore`` entry, at the
same scale); until a painting arrives they show nothing and the layers below show through.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from .blend import composite_over
from .document import Document, Signature
from .layers import ImageLayer, Layer
from .raster import Raster, _reduce


def canvas_size_at(doc: Document, scale: float) -> tuple[int, int]:
    return max(1, round(doc.width * scale)), max(1, round(doc.height * scale))


@dataclass
class Painted:
    """A painting of a style or fusion layer: RGBA float32 at some canvas scale, and what it was made from."""

    rgba: np.ndarray
    scale: float
    signature: Signature
    draft: bool = False  # painted fast while a slider moved; a full-quality painting follows


class RenderStore:
    """The paintings the engine made for style and fusion layers, at each scale shown or exported."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, float], Painted] = {}
        self._lock = threading.Lock()

    def put(self, layer_id: str, painted: Painted) -> None:
        with self._lock:
            self._items[(layer_id, round(painted.scale, 6))] = painted

    def get(self, layer_id: str, scale: float) -> Painted | None:
        with self._lock:
            return self._items.get((layer_id, round(scale, 6)))

    def best(self, layer_id: str, scale: float) -> Painted | None:
        """The painting at ``scale`` or else the closest one (resampled by the caller): a full-quality
        painting can stand in for the display while a new preview is being made."""
        with self._lock:
            found = [p for (lid, _), p in self._items.items() if lid == layer_id]
        if not found:
            return None
        return min(found, key=lambda p: abs(np.log(p.scale / scale)))

    def drop(self, layer_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == layer_id]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def resize_rgba(rgba: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (rgba.shape[1], rgba.shape[0]) == size:
        return rgba
    if size[0] < rgba.shape[1]:
        return _reduce(rgba, size)
    return _bilinear(rgba, size)


def _bilinear(rgba: NDArray[np.float32], size: tuple[int, int],
              box: tuple[float, float, float, float] | None = None) -> NDArray[np.float32]:
    """Bilinear resampling of float channels (of the source region ``box``, if given) to ``size``."""
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(rgba[..., c]), "F").resize(
        size, Image.Resampling.BILINEAR, box=box), np.float32) for c in range(rgba.shape[2])]
    resampled: NDArray[np.float32] = np.clip(np.stack(channels, axis=2), 0, 1)
    return resampled


def resize_map(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (mask.shape[1], mask.shape[0]) == size:
        return mask
    resized: NDArray[np.float32] = np.clip(resize_rgba(mask[..., None], size)[..., 0], 0, 1)
    return resized


Box = tuple[int, int, int, int]  # left, top, right, bottom in canvas pixels at some scale (end exclusive)


def image_layer_on_canvas(layer: ImageLayer, doc: Document, scale: float, box: Box | None = None) -> np.ndarray:
    """The layer's pixels placed on a transparent canvas at ``scale``: position and size applied.
    ``box``: only that part of the canvas (the same pixels as the whole canvas's crop)."""
    left, top, right, bottom = box or (0, 0, *canvas_size_at(doc, scale))
    width, height = right - left, bottom - top
    out = np.zeros((height, width, 4), np.float32)
    if layer.raster is None:
        return out
    lw, lh = layer.raster.size
    size = (max(1, round(lw * layer.scale * scale)), max(1, round(lh * layer.scale * scale)))
    x0, y0 = round(layer.x * scale) - left, round(layer.y * scale) - top
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    w = min(size[0] - sx0, width - dx0)
    h = min(size[1] - sy0, height - dy0)
    if w <= 0 or h <= 0:
        return out
    if size == (lw, lh):  # at full size: convert only the part in view
        pixels = layer.raster.to_float(slice(sy0, sy0 + h), slice(sx0, sx0 + w))
    elif size[0] <= lw:
        pixels = layer.raster.reduced(size)[sy0 : sy0 + h, sx0 : sx0 + w]
    else:
        # enlarged: resample only the part that lands on the canvas (the whole enlarged photo could be
        # many times the canvas)
        fx, fy = size[0] / lw, size[1] / lh
        pixels = _resample_box(layer.raster, (sx0 / fx, sy0 / fy, (sx0 + w) / fx, (sy0 + h) / fy), (w, h))
    out[dy0 : dy0 + h, dx0 : dx0 + w] = pixels
    return out


def _resample_box(raster: Raster, box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    """The source region ``box`` (pixel coordinates, fractional) resampled bilinearly to ``size``."""
    lw, lh = raster.size
    left, top = max(0, int(box[0]) - 1), max(0, int(box[1]) - 1)
    right, bottom = min(lw, int(np.ceil(box[2])) + 1), min(lh, int(np.ceil(box[3])) + 1)
    crop = raster.to_float(slice(top, bottom), slice(left, right))
    return _bilinear(crop, size, (box[0] - left, box[1] - top, box[2] - left, box[3] - top))


def layer_pixels(layer: Layer, doc: Document, renders: RenderStore | None, scale: float,
                 box: Box | None = None) -> np.ndarray | None:
    """RGBA float32 at the canvas size times ``scale`` (or its part ``box``), before opacity and mask;
    None if not painted yet."""
    if isinstance(layer, ImageLayer):
        return image_layer_on_canvas(layer, doc, scale, box)
    if renders is None:
        return None
    painted = renders.best(layer.id, scale)
    if painted is None:
        return None
    if box is None:
        return resize_rgba(painted.rgba, canvas_size_at(doc, scale))
    left, top, right, bottom = box
    factor = painted.scale / scale
    if abs(factor - 1.0) < 1e-6 and painted.rgba.shape[:2] == canvas_size_at(doc, scale)[::-1]:
        return painted.rgba[top:bottom, left:right]
    return _bilinear(painted.rgba, (right - left, bottom - top),
                     (left * factor, top * factor, right * factor, bottom * factor))


def composite(
    doc: Document,
    renders: RenderStore | None = None,
    scale: float = 1.0,
    below: int | None = None,
    only: str | None = None,
    background: np.ndarray | None = None,
    layers: Sequence[Layer] | None = None,
    box: Box | None = None,
    painted_boxes: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The visible layers composited, bottom to top -> RGBA float32 [h, w, 4] at ``scale``.

    ``below``: only the layers under this index (a style layer's "everything below"). ``only``: one
    layer alone (export of a layer). ``layers``: these layers instead of the document's stack.
    ``box``: only that part of the canvas; ``painted_boxes`` then gives style/fusion layers' pixels for
    it (RGBA, by layer id) in place of the render store's (the canvas's real pixels at 100%).
    """
    width, height = canvas_size_at(doc, scale)
    left, top, right, bottom = box or (0, 0, width, height)
    out = None if background is None else background.copy()  # None: nothing drawn yet (transparent)
    if layers is None:
        layers = list(doc.layers)[: below if below is not None else len(doc.layers)]
    for layer in layers:
        if only is not None and layer.id != only:
            continue
        if not layer.visible or layer.opacity <= 0:
            continue
        if painted_boxes is not None and layer.id in painted_boxes:
            pixels = painted_boxes[layer.id]
        else:
            found = layer_pixels(layer, doc, renders, scale, box)
            if found is None:
                continue
            pixels = found
        alpha = pixels[..., 3:4] if layer.opacity == 1.0 else pixels[..., 3:4] * np.float32(layer.opacity)
        if layer.mask is not None:
            alpha = alpha * resize_map(layer.mask, (width, height))[top:bottom, left:right, None]
        if out is None:  # over transparency every blend mode gives the layer itself: no blending to do
            out = np.empty(alpha.shape[:-1] + (4,), np.float32)
            np.clip(pixels[..., :3], 0, 1, out=out[..., :3])
            out[..., 3:] = alpha
            clear = alpha[..., 0] <= 1e-6
            if clear.any():
                out[clear, :3] = 0.0
        else:
            out = composite_over(out, pixels[..., :3], alpha, layer.blend_mode)
    return np.zeros((bottom - top, right - left, 4), np.float32) if out is None else out


def flatten_onto(rgba: np.ndarray, colour: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """RGBA over an opaque colour -> RGB."""
    a = rgba[..., 3:4]
    flat: NDArray[np.float32] = rgba[..., :3] * a + np.asarray(colour, np.float32) * (1 - a)
    return flat
