""".sfproj project files: a zip holding a versioned ``manifest.json``, every layer's pixels as PNG
(16-bit where the photo was), masks and weight maps as 16-bit grey PNG, the styles used as embedded
``.sfstyle`` files (so the project opens on another machine), and optionally the last paintings.

Saving is atomic. Opening builds a new document and only returns it when everything read cleanly:
a damaged file raises BadInputError and changes nothing. Older format versions are migrated.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from .. import __version__
from ..errors import BadInputError
from .atomic import atomic_write_bytes
from .blend import BlendMode
from .compositor import Painted, RenderStore
from .document import MAX_LAYER_SCALE, MIN_LAYER_SCALE, Document
from .layers import (
    BELOW,
    LAYER_TYPES,
    MAX_STROKE,
    MIN_STROKE,
    FusionLayer,
    FusionSource,
    ImageLayer,
    Layer,
    StyleEntry,
    StyleLayer,
    StyleRef,
)
from .png16 import PngError, encode_png16
from .raster import Raster
from .user_files import (
    DEFAULT_MAX_PIXELS,
    ImageLimits,
    JsonObject,
    UserZip,
    ZipLimits,
    check_inflation,
    check_name,
    check_pixels,
    is_png16,
    open_image,
    png16_pixels,
    printable,
    readable_file,
)

PROJECT_FORMAT = "stylefuse.project"
PROJECT_VERSION = 1
PROJECT_EXTENSION = ".sfproj"
_MAX_MANIFEST = 16 << 20


# -- writing ---------------------------------------------------------------------------------------

def _png_rgba(raster: Raster) -> bytes:
    if raster.bit_depth == 16:
        return encode_png16(raster.data)
    buffer = io.BytesIO()
    Image.fromarray(raster.data, "RGBA").save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def _png_map(values: NDArray[np.float32]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.clip(values, 0, 1) * 65535 + 0.5).astype(np.uint16)).save(buffer, format="PNG",
                                                                                 compress_level=3)
    return buffer.getvalue()


def _common(layer: Layer) -> JsonObject:
    return {"id": layer.id, "kind": layer.kind, "name": layer.name, "visible": layer.visible,
            "opacity": layer.opacity, "blend_mode": layer.blend_mode.value, "locked": layer.locked}


def project_bytes(doc: Document, renders: RenderStore | None = None) -> bytes:
    files: dict[str, bytes] = {}
    styles: dict[str, str] = {}

    def style_json(entry: StyleEntry, owner: str, i: int) -> JsonObject:
        ref = entry.style
        file = None
        if ref.data is not None:
            file = styles.setdefault(ref.key, f"styles/{ref.key.replace(':', '-')}.sfstyle")
            files[file] = ref.data
        weight_map = None
        if entry.weight_map is not None:
            weight_map = f"maps/{owner}-style{i}.png"
            files[weight_map] = _png_map(entry.weight_map)
        return {"style": {"kind": ref.kind, "name": ref.name, "file": file}, "weight": entry.weight,
                "weight_map": weight_map}

    layers = []
    for layer in doc.layers:
        item = _common(layer)
        if layer.mask is not None:
            item["mask"] = f"masks/{layer.id}.png"
            files[item["mask"]] = _png_map(layer.mask)
        if isinstance(layer, ImageLayer):
            if layer.raster is None:
                raise ValueError(f"the photo layer '{layer.name}' has no pixels")
            item.update(pixels=f"layers/{layer.id}.png", bit_depth=layer.raster.bit_depth, x=layer.x, y=layer.y,
                        scale=layer.scale, exif=None)
            files[item["pixels"]] = _png_rgba(layer.raster)
            if layer.exif:
                item["exif"] = f"layers/{layer.id}.exif"
                files[item["exif"]] = layer.exif
        if isinstance(layer, (StyleLayer, FusionLayer)):
            item.update(strength=layer.strength, preserve_color=layer.preserve_color, stroke_size=layer.stroke_size,
                        styles=[style_json(e, layer.id, i) for i, e in enumerate(layer.styles)])
        if isinstance(layer, StyleLayer):
            item["source"] = layer.source
        if isinstance(layer, FusionLayer):
            sources = []
            for i, source in enumerate(layer.sources):
                mask = None
                if source.mask is not None:
                    mask = f"maps/{layer.id}-source{i}.png"
                    files[mask] = _png_map(source.mask)
                sources.append({"layer": source.layer_id, "weight": source.weight, "mask": mask})
            item["sources"] = sources
        layers.append(item)

    stored_renders: dict[str, JsonObject] = {}
    if renders is not None:
        for layer in doc.layers:
            painted = renders.best(layer.id, 1.0)
            if painted is not None and painted.signature == doc.signature(layer):
                name = f"renders/{layer.id}.png"
                files[name] = _png_rgba(Raster.from_float(painted.rgba))
                stored_renders[layer.id] = {"file": name, "scale": painted.scale}

    manifest = {"format": PROJECT_FORMAT, "format_version": PROJECT_VERSION, "app_version": __version__,
                "canvas": {"width": doc.width, "height": doc.height}, "selected": doc.selected_id,
                "layers": layers, "renders": stored_renders}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        for name, data in files.items():
            zf.writestr(name, data)  # PNG and .sfstyle are already compressed
    return buffer.getvalue()


def save_project(doc: Document, path: str | os.PathLike[str], renders: RenderStore | None = None) -> Path:
    path = Path(path)
    if path.suffix.lower() != PROJECT_EXTENSION:
        raise BadInputError(f"{path}: a project file ends in {PROJECT_EXTENSION}")
    data = project_bytes(doc, renders)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise BadInputError(f"{printable(path)}: cannot be saved ({exc.strerror or exc}); the old file, if any, "
                            "is untouched") from None
    return path


# -- migrations --------------------------------------------------------------------------------------

def _from_version_0(old: JsonObject) -> JsonObject:
    """Version 0: projects of development builds, before the format had a version. Canvas as [w, h];
    layers with "type", opacity 0-100, "hidden", "blend", "file", and a single built-in "style"."""
    width, height = old["canvas"]
    layers = []
    for i, layer in enumerate(old["layers"]):
        item = {"id": layer.get("id", f"v0layer{i}"), "kind": layer["type"], "name": layer.get("name", "Layer"),
                "visible": not layer.get("hidden", False), "opacity": layer.get("opacity", 100) / 100.0,
                "blend_mode": layer.get("blend", "normal"), "locked": False}
        if layer["type"] == "image":
            item.update(pixels=layer["file"], bit_depth=8, x=0, y=0, scale=1.0, exif=None)
        elif layer["type"] == "style":
            item.update(source=BELOW, strength=layer.get("strength", 1.0), preserve_color=False, stroke_size=1.0,
                        styles=[{"style": {"kind": "builtin", "name": layer["style"], "file": None}, "weight": 1.0,
                                 "weight_map": None}])
        layers.append(item)
    return {"format": PROJECT_FORMAT, "format_version": 1, "canvas": {"width": width, "height": height},
            "selected": layers[-1]["id"] if layers else "", "layers": layers, "renders": {}}


MIGRATIONS: dict[int, Callable[[JsonObject], JsonObject]] = {0: _from_version_0}


def migrate(manifest: JsonObject, origin: str) -> JsonObject:
    version = manifest.get("format_version", 0)
    if not isinstance(version, int):
        raise BadInputError(f"{origin}: the project manifest is damaged")
    if version > PROJECT_VERSION:
        raise BadInputError(f"{origin}: project format {version} is newer than this StyleFuse reads "
                            f"({PROJECT_VERSION}); update StyleFuse to open it")
    while version < PROJECT_VERSION:
        manifest = MIGRATIONS[version](manifest)
        version = manifest["format_version"]
    return manifest


# -- reading ---------------------------------------------------------------------------------------

class _Reader:
    """Members of a project zip, through the user-file gate, with the values checked as they are read."""

    def __init__(self, zf: UserZip, origin: str, max_pixels: int) -> None:
        self.zf, self.origin = zf, origin
        self.limits = ImageLimits(max_pixels=max_pixels)
        # layers that name one member share its decoded pixels (rasters are never changed in place), so a
        # project of many layers over one large picture costs that picture once
        self._rasters: dict[tuple[str, int], Raster] = {}

    def read(self, name: object) -> bytes:
        if not isinstance(name, str):
            raise BadInputError(f"{self.origin}: a file reference is not a name; the project is damaged")
        return self.zf.read(name, 8 * self.limits.max_pixels + (64 << 20))

    def raster(self, name: str, bit_depth: int) -> Raster:
        key = (name, bit_depth)
        if key not in self._rasters:
            self._rasters[key] = self._decode(name)
        return self._rasters[key]

    def _decode(self, name: str) -> Raster:
        data = self.read(name)
        with open_image(data, self.limits, f"{self.origin}: {printable(name)}") as im:
            if im.format != "PNG":
                raise BadInputError(f"{self.origin}: {printable(name)} is not a PNG; the project is damaged")
            if is_png16(im):
                check_inflation(im.size[0] * im.size[1] * 8, len(data), self.limits,
                                f"{self.origin}: {printable(name)}")
                pixels = png16_pixels(data)
                if pixels.shape[2] == 3:
                    pixels = np.concatenate([pixels, np.full(pixels.shape[:2] + (1,), 65535, np.uint16)], axis=2)
                return Raster(np.ascontiguousarray(pixels))
            if im.mode in ("I;16", "I;16B", "I"):  # 16-bit grey
                grey = np.asarray(im, np.uint16) if im.mode != "I" else np.clip(np.asarray(im), 0, 65535).astype(
                    np.uint16)
                rgba = np.empty(grey.shape + (4,), np.uint16)
                rgba[..., :3] = grey[..., None]
                rgba[..., 3] = 65535
                return Raster(rgba)
            return Raster(np.asarray(im.convert("RGBA")).copy())

    def map(self, name: str | None, size: tuple[int, int]) -> NDArray[np.float32] | None:
        if name is None:
            return None
        with open_image(self.read(name), self.limits, f"{self.origin}: {printable(name)}") as im:
            values = np.asarray(im, np.float32)
            top = 65535.0 if im.mode.startswith("I") else 255.0
        if values.ndim == 3:
            values = values[..., 0]
        if (values.shape[1], values.shape[0]) != size:
            raise BadInputError(f"{self.origin}: {printable(name)} does not match the canvas size")
        weights: NDArray[np.float32] = np.clip(values / top, 0, 1).astype(np.float32)
        return weights

    def number(self, item: JsonObject, key: str, low: float, high: float, default: float | None = None,
               what: str = "") -> float:
        """A finite number in [low, high] from the manifest; anything else refuses the project."""
        value = item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadInputError(f"{self.origin}: {what}{key} must be a number, got {printable(repr(value), 40)}")
        value = float(value)
        if not (low <= value <= high):  # NaN fails this too
            raise BadInputError(f"{self.origin}: {what}{key} must lie between {low:g} and {high:g}, got {value:g}")
        return value

    def whole(self, item: JsonObject, key: str, low: int, high: int, default: int | None = None, what: str = "") -> int:
        value = self.number(item, key, low, high, default, what)
        if value != int(value):
            raise BadInputError(f"{self.origin}: {what}{key} must be a whole number, got {value:g}")
        return int(value)


def _styles(reader: _Reader, items: object, size: tuple[int, int], what: str) -> tuple[StyleEntry, ...]:
    if not isinstance(items, list):
        raise BadInputError(f"{reader.origin}: {what}styles is not a list; the project is damaged")
    entries = []
    for item in items:
        ref = item["style"]
        data = reader.read(ref["file"]) if ref.get("file") else None
        try:
            style = StyleRef(ref["kind"], check_name(str(ref["name"]), "style name"), data)
            if data is not None:
                style.style_file()  # validates the embedded .sfstyle
        except BadInputError as exc:
            raise BadInputError(f"{reader.origin}: {what}embedded style {exc}") from None
        except ValueError as exc:
            raise BadInputError(f"{reader.origin}: {what}{exc}") from None
        entries.append(StyleEntry(style, reader.number(item, "weight", 0.0, 1e6, what=what),
                                  reader.map(item.get("weight_map"), size)))
    return tuple(entries)


class _LayerFields(TypedDict):
    """What every kind of layer reads from a project."""

    id: str
    name: str
    visible: bool
    opacity: float
    blend_mode: BlendMode
    locked: bool
    mask: NDArray[np.float32] | None


class _StyledFields(TypedDict):
    """What style and fusion layers read besides."""

    styles: tuple[StyleEntry, ...]
    strength: float
    preserve_color: bool
    stroke_size: float


def _layer(reader: _Reader, item: JsonObject, size: tuple[int, int]) -> Layer:
    if not isinstance(item, dict):
        raise BadInputError(f"{reader.origin}: a layer is not a table; the project is damaged")
    kind = item["kind"]
    if kind not in LAYER_TYPES:
        raise BadInputError(f"{reader.origin}: unknown layer kind '{printable(kind, 40)}'")
    name = check_name(str(item["name"]), "layer name")
    what = f"layer '{name}': "
    common = _LayerFields(id=str(item["id"]), name=name, visible=bool(item["visible"]),
                          opacity=reader.number(item, "opacity", 0.0, 1.0, what=what),
                          blend_mode=BlendMode(item["blend_mode"]),
                          locked=bool(item.get("locked", False)), mask=reader.map(item.get("mask"), size))
    if kind == "image":
        exif = reader.read(item["exif"]) if item.get("exif") else None
        bit_depth = reader.whole(item, "bit_depth", 8, 16, 8, what)
        return ImageLayer(**common, raster=reader.raster(item["pixels"], bit_depth),
                          x=reader.whole(item, "x", -10_000_000, 10_000_000, what=what),
                          y=reader.whole(item, "y", -10_000_000, 10_000_000, what=what),
                          scale=reader.number(item, "scale", MIN_LAYER_SCALE, MAX_LAYER_SCALE, what=what), exif=exif)
    shared = _StyledFields(styles=_styles(reader, item.get("styles", []), size, what),
                           strength=reader.number(item, "strength", 0.0, 1.0, what=what),
                           preserve_color=bool(item["preserve_color"]),
                           stroke_size=reader.number(item, "stroke_size", MIN_STROKE, MAX_STROKE, what=what))
    if kind == "style":
        return StyleLayer(**common, **shared, source=str(item.get("source", BELOW)))
    sources = tuple(FusionSource(str(s["layer"]), reader.number(s, "weight", 0.0, 1e6, what=what),
                                 reader.map(s.get("mask"), size))
                    for s in item.get("sources", []))
    return FusionLayer(**common, **shared, sources=sources)


def load_project(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Document, RenderStore]:
    """A new document (and any stored paintings) from a project file; BadInputError if it is damaged."""
    path = readable_file(path, "project")
    origin = printable(path)
    try:
        with UserZip(path, origin, ZipLimits(max_json_bytes=_MAX_MANIFEST)) as zf:
            reader = _Reader(zf, origin, max_pixels)
            manifest = zf.read_json("manifest.json")
            if not isinstance(manifest, dict) or manifest.get("format", PROJECT_FORMAT) != PROJECT_FORMAT:
                raise BadInputError(f"{origin}: not a StyleFuse project")
            manifest = migrate(manifest, origin)
            canvas = manifest["canvas"]
            width = reader.whole(canvas, "width", 1, 1 << 20, what="the canvas ")
            height = reader.whole(canvas, "height", 1, 1 << 20, what="the canvas ")
            check_pixels(width, height, reader.limits, f"{origin}: the canvas")
            doc = Document(width, height)
            if not isinstance(manifest["layers"], list):
                raise BadInputError(f"{origin}: the layer list is damaged")
            for item in manifest["layers"]:
                doc.layers.append(_layer(reader, item, doc.size))
            ids = [layer.id for layer in doc.layers]
            if len(set(ids)) != len(ids):
                raise BadInputError(f"{origin}: two layers share an id; the project is damaged")
            renders = RenderStore()
            for layer_id, info in manifest.get("renders", {}).items():
                if layer_id in ids:
                    rgba = reader.raster(info["file"], 8).to_float()
                    scale = reader.number(info, "scale", 1e-3, 1.0, what="a stored painting's ")
                    renders.put(layer_id, Painted(rgba, scale, doc.signature(doc.layer(layer_id))))
    except BadInputError:
        raise
    except MemoryError:
        raise BadInputError(f"{origin}: the project is too large to open in the memory available") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OSError, EOFError, PngError,
            RecursionError) as exc:
        # a manifest that names things we do not know, or values of the wrong type
        detail = f"missing {printable(exc.args[0], 40)!r}" if isinstance(exc, KeyError) and exc.args else (
            type(exc).__name__)
        raise BadInputError(f"{origin}: the project file is damaged ({detail})") from None
    doc.history.clear()
    doc.path = path
    selected = manifest.get("selected")
    doc.select(selected if isinstance(selected, str) and selected in ids else (ids[-1] if ids else ""))
    return doc, renders
