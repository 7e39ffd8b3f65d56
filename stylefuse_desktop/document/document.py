"""A document: a canvas size and a stack of layers (bottom first), the selection, and the history.

Every change goes through a method here that records an undoable command; panels never change a layer
directly. The document announces changes: ``layers_changed`` (the stack: insert, remove, move),
``layer_changed(layer_id, field)`` and ``selection_changed(layer_id)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TypedDict, Unpack

import numpy as np
from numpy.typing import NDArray
from psygnal import EmissionInfo, Signal
from psygnal.containers import EventedList

from ..errors import BadInputError
from .history import Command, History
from .layers import BELOW, FusionLayer, ImageLayer, Layer, StyleEntry, StyleLayer

# fields a locked layer still lets the user change
_ALLOWED_WHEN_LOCKED = frozenset({"visible", "locked", "name"})


MIN_LAYER_SCALE, MAX_LAYER_SCALE = 0.01, 16.0

# what a layer's pixels were made from (ids and revisions, nested for its sources): equal means unchanged
Signature = tuple[object, ...]


class StyleEntryChanges(TypedDict, total=False):
    weight: float
    weight_map: NDArray[np.float32] | None


class LayerLocked(BadInputError):
    pass


class Document:
    layers_changed = Signal()
    layer_changed = Signal(str, str)  # layer id, field name
    pixels_changed = Signal(str)  # layer id: a change that alters pixels (not its name or lock), after layer_changed
    selection_changed = Signal(str)  # layer id ("" for none)

    def __init__(self, width: int, height: int) -> None:
        if width < 1 or height < 1:
            raise BadInputError(f"a canvas needs a size, got {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.layers: EventedList[Layer] = EventedList()
        self.history = History()
        self.path: Path | None = None  # the project file, once saved
        self.title = "Untitled"  # shown until it is saved: the photo's name, say
        self.selected_id: str = ""
        self._revisions: dict[str, int] = {}
        self._listening: dict[int, tuple[Layer, Callable[..., None]]] = {}  # id(layer) -> its connected listener
        self.layers.events.inserted.connect(self._on_inserted)
        self.layers.events.removed.connect(self._on_removed)
        self.layers.events.moved.connect(lambda *_: self.layers_changed.emit())

    # -- looking up --------------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def layer(self, layer_id: str) -> Layer:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(f"no layer {layer_id}")

    def styled_layer(self, layer_id: str) -> StyleLayer | FusionLayer:
        """The style or fusion layer ``layer_id`` (the layers that hold styles)."""
        return _styled(self.layer(layer_id))

    def index_of(self, layer_id: str) -> int:
        for i, layer in enumerate(self.layers):
            if layer.id == layer_id:
                return i
        raise KeyError(f"no layer {layer_id}")

    @property
    def selected(self) -> Layer | None:
        try:
            return self.layer(self.selected_id)
        except KeyError:
            return None

    def snapshot(self) -> Document:
        """A copy of the stack for a worker thread: the same layer values, no history. Cheap: layers'
        pixels and maps are replaced on every edit, never changed in place, so they can be shared."""
        copy = Document(self.width, self.height)
        for layer in self.layers:
            clone = replace(layer)
            copy.layers.append(clone)
            copy._revisions[clone.id] = self.revision(layer.id)
        copy.path, copy.title = self.path, self.title
        copy.selected_id = self.selected_id
        return copy

    def revision(self, layer_id: str) -> int:
        return self._revisions.get(layer_id, 0)

    def dependencies(self, layer: Layer) -> list[Layer]:
        """The layers whose pixels a style or fusion layer paints from."""
        if isinstance(layer, StyleLayer):
            if layer.source == BELOW:
                return [lay for lay in self.layers[: self.index_of(layer.id)] if lay.visible]
            try:
                return [self.layer(layer.source)]
            except KeyError:
                return []
        if isinstance(layer, FusionLayer):
            found = []
            for source in layer.sources:
                try:
                    found.append(self.layer(source.layer_id))
                except KeyError:
                    pass
            return found
        return []

    def signature(self, layer: Layer) -> Signature:
        """Changes whenever the pixels of ``layer`` would (its own settings or anything it paints from)."""
        own = (layer.id, self.revision(layer.id))
        if isinstance(layer, ImageLayer):
            return own
        return own + tuple(self.signature(dep) + (dep.visible, dep.opacity, dep.blend_mode.value)
                           for dep in self.dependencies(layer))

    # -- events ------------------------------------------------------------------------------------
    def _on_inserted(self, index: int, layer: Layer) -> None:
        if id(layer) not in self._listening:  # once per layer object, however often it is re-inserted

            def listener(info: EmissionInfo, lid: str = layer.id) -> None:
                self._on_layer_event(lid, info.signal.name)

            layer.events.connect(listener)
            self._listening[id(layer)] = (layer, listener)
        self.layers_changed.emit()

    def _on_removed(self, index: int, layer: Layer) -> None:
        """A removed layer (deleted, merged, flattened) is no longer heard; undo re-inserts and reconnects it."""
        if not any(other is layer for other in self.layers):
            entry = self._listening.pop(id(layer), None)
            if entry is not None:
                layer.events.disconnect(entry[1])
        self.layers_changed.emit()

    def _on_layer_event(self, layer_id: str, name: str) -> None:
        alters_pixels = name not in Layer.COSMETIC
        if alters_pixels:
            self._revisions[layer_id] = self._revisions.get(layer_id, 0) + 1
        self.layer_changed.emit(layer_id, name)
        if alters_pixels:
            self.pixels_changed.emit(layer_id)

    def touch(self, layer_id: str) -> None:
        """Pixels of a layer changed in place (a raster edit): bump its revision and announce it."""
        self._on_layer_event(layer_id, "pixels")

    def select(self, layer_id: str) -> None:
        if layer_id != self.selected_id:
            self.selected_id = layer_id
            self.selection_changed.emit(layer_id)

    # -- undoable edits ----------------------------------------------------------------------------
    def _check_unlocked(self, layer: Layer, what: str) -> None:
        if layer.locked and what not in _ALLOWED_WHEN_LOCKED:
            raise LayerLocked(f"'{layer.name}' is locked; unlock it to change its {what.replace('_', ' ')}")

    def add_layer(self, layer: Layer, index: int | None = None, select: bool = True) -> Layer:
        index = len(self.layers) if index is None else index
        previous = self.selected_id

        def do() -> None:
            self.layers.insert(index, layer)
            if select:
                self.select(layer.id)

        def undo() -> None:
            self.layers.remove(layer)
            self.select(previous if previous != layer.id else "")

        self.history.push(Command(f"Add {layer.name}", do, undo))
        return layer

    def remove_layer(self, layer_id: str) -> None:
        layer = self.layer(layer_id)
        self._check_unlocked(layer, "existence")
        index = self.index_of(layer_id)

        def do() -> None:
            self.layers.remove(layer)
            if self.selected_id == layer.id:
                remaining = list(self.layers)
                self.select(remaining[min(index, len(remaining) - 1)].id if remaining else "")

        def undo() -> None:
            self.layers.insert(index, layer)
            self.select(layer.id)

        self.history.push(Command(f"Delete {layer.name}", do, undo))

    def move_layer(self, layer_id: str, new_index: int) -> None:
        old_index = self.index_of(layer_id)
        new_index = max(0, min(len(self.layers) - 1, new_index))
        if new_index == old_index:
            return
        layer = self.layer(layer_id)

        def move(to: int) -> None:
            self.layers.remove(layer)
            self.layers.insert(to, layer)

        self.history.push(Command(f"Move {layer.name}", lambda: move(new_index), lambda: move(old_index)))

    def set(self, layer_id: str, field: str, value: object, text: str | None = None) -> None:
        """Change one property of a layer. Inside a gesture (``history.begin_gesture``), every change of
        the same property folds into one step."""
        layer = self.layer(layer_id)
        self._check_unlocked(layer, field)
        old = getattr(layer, field)
        if _same(old, value):
            return
        label = text or f"{field.replace('_', ' ').capitalize()} of {layer.name}"
        self.history.push(Command(label, lambda: setattr(layer, field, value), lambda: setattr(layer, field, old),
                                  merge_key=(layer_id, field)))

    def place(self, layer_id: str, x: float, y: float, scale: float | None = None) -> None:
        """Move (and optionally rescale) a photo layer as one step (a drag inside a gesture: one step);
        the position is rounded to whole canvas pixels."""
        layer = self.layer(layer_id)
        if not isinstance(layer, ImageLayer):
            raise BadInputError(f"'{layer.name}' is not a photo layer; only photos can be moved or scaled")
        self._check_unlocked(layer, "position")
        if scale is not None and not (MIN_LAYER_SCALE <= scale <= MAX_LAYER_SCALE):
            raise BadInputError(f"scale must lie between {MIN_LAYER_SCALE:g} and {MAX_LAYER_SCALE:g}, got {scale:g}")
        old = (layer.x, layer.y, layer.scale)
        new = (int(round(x)), int(round(y)), layer.scale if scale is None else float(scale))
        if old == new:
            return

        def put(value: tuple[int, int, float]) -> None:
            layer.x, layer.y, layer.scale = value  # listeners coalesce the three events (one composite)

        what = "Move" if new[2] == old[2] else "Scale"
        self.history.push(Command(f"{what} {layer.name}", lambda: put(new), lambda: put(old),
                                  merge_key=(layer_id, "place")))

    def set_style_entry(self, layer_id: str, index: int, **changes: Unpack[StyleEntryChanges]) -> None:
        """Change one style of a style or fusion layer (its weight, or its weight map)."""
        layer = self.styled_layer(layer_id)
        entries = list(layer.styles)
        entries[index] = replace(entries[index], **changes)
        what = "Weight map" if "weight_map" in changes else "Style weight"
        self.set(layer_id, "styles", tuple(entries), text=f"{what} in {layer.name}")

    def add_style(self, layer_id: str, entry: StyleEntry) -> None:
        layer = self.styled_layer(layer_id)
        if any(e.style.key == entry.style.key for e in layer.styles):
            return
        self.set(layer_id, "styles", tuple(layer.styles) + (entry,), text=f"Add {entry.style.name} to {layer.name}")

    def remove_style(self, layer_id: str, index: int) -> None:
        layer = self.styled_layer(layer_id)
        entries = list(layer.styles)
        removed = entries.pop(index)
        self.set(layer_id, "styles", tuple(entries), text=f"Remove {removed.style.name} from {layer.name}")

    def paint(self, layer_id: str, target: str, box: tuple[int, int, int, int], before: NDArray[np.float32] | None,
              after: NDArray[np.float32], style_index: int | None = None) -> None:
        """Record a brush stroke: only the touched box (x0, y0, x1, y1) is kept, before and after, so a
        long history of strokes on a large photo stays small. ``target``: "mask", "weight_map" (a
        style's) or "source_mask" (a fused photo's). ``before`` None: the map did not exist yet (undo
        removes it again; a new mask starts all 1, a new weight map all 0)."""
        layer = self.layer(layer_id)
        self._check_unlocked(layer, "pixels")
        x0, y0, x1, y1 = box
        empty = 1.0 if target == "mask" else 0.0

        def write(patch: NDArray[np.float32]) -> None:
            current = self._map(layer, target, style_index)
            current = np.full((self.height, self.width), empty, np.float32) if current is None else current.copy()
            current[y0:y1, x0:x1] = patch
            self._set_map(layer, target, style_index, current)

        def undo() -> None:
            if before is None:
                self._set_map(layer, target, style_index, None)
            else:
                write(before)

        what = {"mask": "mask", "weight_map": "style", "source_mask": "photo"}[target]
        self.history.push(Command(f"Paint {what} on {layer.name}", lambda: write(after), undo))

    def map_for(self, layer_id: str, target: str, style_index: int | None = None) -> NDArray[np.float32] | None:
        return self._map(self.layer(layer_id), target, style_index)

    @staticmethod
    def _map(layer: Layer, target: str, index: int | None) -> NDArray[np.float32] | None:
        if target == "mask":
            return layer.mask
        if target == "weight_map":
            return _styled(layer).styles[_painted_index(index, target)].weight_map
        return _fused(layer).sources[_painted_index(index, target)].mask

    def _set_map(self, layer: Layer, target: str, index: int | None, value: NDArray[np.float32] | None) -> None:
        if target == "mask":
            layer.mask = value
        elif target == "weight_map":
            styled = _styled(layer)
            entries = list(styled.styles)
            at = _painted_index(index, target)
            entries[at] = replace(entries[at], weight_map=value)
            styled.styles = tuple(entries)
        else:
            fused = _fused(layer)
            sources = list(fused.sources)
            at = _painted_index(index, target)
            sources[at] = replace(sources[at], mask=value)
            fused.sources = tuple(sources)

    def replace_layers(self, remove: Iterable[str], insert: list[tuple[int, Layer]], text: str) -> None:
        """Remove some layers and insert others as one step (merge down, flatten)."""
        removed = [(self.index_of(i), self.layer(i)) for i in remove]
        previous = self.selected_id

        def do() -> None:
            for _, layer in sorted(removed, key=lambda p: -p[0]):
                self.layers.remove(layer)
            for index, layer in insert:
                self.layers.insert(index, layer)
            if insert:
                self.select(insert[-1][1].id)

        def undo() -> None:
            for _, layer in insert:
                self.layers.remove(layer)
            for index, layer in sorted(removed, key=lambda p: p[0]):
                self.layers.insert(index, layer)
            self.select(previous)

        self.history.push(Command(text, do, undo))


def _styled(layer: Layer) -> StyleLayer | FusionLayer:
    if not isinstance(layer, (StyleLayer, FusionLayer)):
        raise BadInputError(f"'{layer.name}' is not a style or fusion layer; it holds no styles")
    return layer


def _fused(layer: Layer) -> FusionLayer:
    if not isinstance(layer, FusionLayer):
        raise BadInputError(f"'{layer.name}' is not a fusion layer; it fuses no photos")
    return layer


def _painted_index(index: int | None, target: str) -> int:
    if index is None:
        raise ValueError(f"painting a {target.replace('_', ' ')} needs the index of its style or photo")
    return index


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is b
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return a is b
