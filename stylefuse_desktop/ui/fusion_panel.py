"""The Fusion panel: the selected style layer's styles, one slider each (shown normalised), with a brush
to paint where each goes; strength, colour preservation and stroke size; for a fusion layer, one slider
per source photo. Every drag is one undoable step; the canvas previews while the hand moves."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..document.document import Document
from ..document.layers import BELOW, MAX_STROKE, MIN_STROKE, FusionLayer, FusionSource, ImageLayer, StyleLayer
from . import icons
from .canvas import BrushTarget
from .feedback import attempt
from .gestures import track_drags


class QtWeightRow(QWidget):
    """A name, a 0-100 slider, the normalised share, a brush toggle and a remove button."""

    def __init__(self, title: str, value: float, paint_tip: str) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(title)
        self.title.setMinimumWidth(90)
        self.slider = _percent_slider()
        self.slider.setValue(round(value * 100))
        self.share = QLabel()  # the panel writes every row's share once the rows are known
        self.share.setMinimumWidth(38)
        # two sliders at full read 50% each: say why, or the number looks like the slider's value
        self.share.setToolTip("Its share of the mix: the weights are scaled to add up to 100%")
        self.paint = QToolButton(autoRaise=True)
        self.paint.setCheckable(True)
        self.paint.setToolTip(paint_tip)
        self.paint.setIcon(icons.brush())
        self.remove = QToolButton(autoRaise=True)
        self.remove.setText("✕")
        self.remove.setToolTip("Remove")
        for w, stretch in ((self.title, 0), (self.slider, 1), (self.share, 0), (self.paint, 0), (self.remove, 0)):
            row.addWidget(w, stretch)


class QtFusionPanel(QWidget):
    brush_target_changed = Signal(object)  # BrushTarget or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self.layer_id = ""
        self.rows: list[QtWeightRow] = []
        self._structure: tuple[object, ...] | None = None  # what the rows were built for; values update in place
        self.painting: tuple[str, int] | None = None  # which map the brush paints, kept across rebuilds
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.hint = QLabel("Select a style or fusion layer, or pick a style to add one.")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)

        self.weights_box = QGroupBox("Styles")
        self.weights_layout = QVBoxLayout(self.weights_box)
        layout.addWidget(self.weights_box)

        self.settings_box = QGroupBox("Painting")
        form = QFormLayout(self.settings_box)
        self.source = QComboBox()
        self.source.setToolTip("What this layer paints")
        self.source.activated.connect(self._source_chosen)
        form.addRow("Source", self.source)
        self.strength = _percent_slider("0: the photo, 100: the full style")
        self.strength_value = _readout()
        self._wire(self.strength, lambda v: ("strength", v / 100.0), "Strength")
        form.addRow("Strength", _with_readout(self.strength, self.strength_value))
        self.stroke = _percent_slider("Stroke size relative to the image")
        self.stroke_value = _readout()
        self._wire(self.stroke, lambda v: ("stroke_size", _stroke_from_slider(v)), "Stroke size")
        form.addRow("Stroke size", _with_readout(self.stroke, self.stroke_value))
        self.preserve = QCheckBox("Keep the photo's colours")
        self.preserve.toggled.connect(lambda on: self._set("preserve_color", on))
        form.addRow("", self.preserve)
        layout.addWidget(self.settings_box)

        self.sources_box = QGroupBox("Photos fused")
        self.sources_layout = QVBoxLayout(self.sources_box)
        self.add_source = QComboBox()
        self.add_source.activated.connect(self._add_source)
        self.sources_layout.addWidget(self.add_source)
        layout.addWidget(self.sources_box)
        layout.addStretch(1)
        self.refresh()

    # -- wiring ------------------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        if self.doc is not None:
            self.doc.selection_changed.disconnect(self._selection)
            self.doc.layer_changed.disconnect(self._changed)
            self.doc.layers_changed.disconnect(self.refresh)
        self.doc = doc
        self._structure = None
        if doc is not None:
            doc.selection_changed.connect(self._selection)
            doc.layer_changed.connect(self._changed)
            doc.layers_changed.connect(self.refresh)
        self._selection(doc.selected_id if doc else "")

    def _selection(self, layer_id: str) -> None:
        self.layer_id = layer_id
        self.painting = None
        self.brush_target_changed.emit(None)
        self.refresh()

    def _changed(self, layer_id: str, field: str) -> None:
        # another layer's name shows in the source lists; this layer's values update in place
        if layer_id == self.layer_id or field == "name":
            self.refresh()

    @property
    def layer(self) -> StyleLayer | FusionLayer | None:
        if self.doc is None:
            return None
        try:
            layer = self.doc.layer(self.layer_id)
        except KeyError:
            return None
        return layer if isinstance(layer, (StyleLayer, FusionLayer)) else None

    # -- building the rows -------------------------------------------------------------------------
    def _structure_of(self, layer: StyleLayer | FusionLayer | None) -> tuple[object, ...] | None:
        """What decides which rows exist: rebuilt only when this changes (as napari's controls do)."""
        if layer is None or self.doc is None:
            return None
        others = tuple((o.id, o.name, o.kind) for o in self.doc.layers if o.id != layer.id)
        sources = tuple(s.layer_id for s in layer.sources) if isinstance(layer, FusionLayer) else ()
        styles = tuple((e.style.key, e.style.name) for e in layer.styles)
        return (layer.id, layer.name, layer.kind, styles, sources, others)

    def refresh(self) -> None:
        """Show the selected layer: rebuild the rows if its structure changed, then set every value in
        place with the controls' signals blocked (focus and a held slider stay where they are)."""
        layer = self.layer
        structure = self._structure_of(layer)
        if structure != self._structure:
            self._structure = structure
            self._rebuild(layer)
        if layer is not None:
            self._show_values(layer)

    def _rebuild(self, layer: StyleLayer | FusionLayer | None) -> None:
        for box in (self.weights_box, self.settings_box):
            box.setVisible(layer is not None)
        self.sources_box.setVisible(isinstance(layer, FusionLayer))
        self.hint.setVisible(layer is None)
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows.clear()
        if layer is None:
            return
        for i, entry in enumerate(layer.styles):
            row = QtWeightRow(entry.style.name, entry.weight, "Paint where this style goes")
            track_drags(row.slider, lambda: self.doc, f"Style weight in {layer.name}")
            row.slider.valueChanged.connect(lambda v, i=i: self._style_weight(i, v))
            row.paint.toggled.connect(
                lambda on, i=i, name=entry.style.name: self._paint_toggled(on, "weight_map", i, name))
            row.remove.clicked.connect(lambda _=False, i=i: self._remove_style(i))
            self.weights_layout.addWidget(row)
            self.rows.append(row)
        if not layer.styles:
            empty = QtWeightRow("(no style yet)", 0, "")
            empty.setEnabled(False)
            self.weights_layout.addWidget(empty)
            self.rows.append(empty)
        self._fill_sources(layer)

    def _show_values(self, layer: StyleLayer | FusionLayer) -> None:
        style_rows = self.rows[: len(layer.styles)]
        for i, (entry, row) in enumerate(zip(layer.styles, style_rows)):
            _set_quietly(row.slider, round(entry.weight * 100))
            with QSignalBlocker(row.paint):
                row.paint.setChecked(self.painting == ("weight_map", i))
        self._update_shares([e.weight for e in layer.styles], style_rows)
        _set_quietly(self.strength, round(layer.strength * 100))
        _set_quietly(self.stroke, _slider_from_stroke(layer.stroke_size))
        self.strength_value.setText(f"{round(layer.strength * 100)}%")
        self.stroke_value.setText(f"{layer.stroke_size:.2f}×")
        with QSignalBlocker(self.preserve):
            self.preserve.setChecked(layer.preserve_color)
        if isinstance(layer, StyleLayer):
            with QSignalBlocker(self.source):
                self.source.setCurrentIndex(max(0, self.source.findData(layer.source)))
        if isinstance(layer, FusionLayer):
            source_rows = self.rows[len(layer.styles) or 1 :]
            for i, (source, row) in enumerate(zip(layer.sources, source_rows)):
                _set_quietly(row.slider, round(source.weight * 100))
                with QSignalBlocker(row.paint):
                    row.paint.setChecked(self.painting == ("source_mask", i))
            self._update_shares([s.weight for s in layer.sources], source_rows)

    def _fill_sources(self, layer: StyleLayer | FusionLayer) -> None:
        doc = self.doc
        if doc is None:
            return
        with QSignalBlocker(self.source):
            self.source.clear()
            self.source.setVisible(isinstance(layer, StyleLayer))
            if isinstance(layer, StyleLayer):
                self.source.addItem("Everything below", BELOW)
                for other in doc.layers:
                    if other.id != layer.id:
                        self.source.addItem(other.name, other.id)
        if not isinstance(layer, FusionLayer):
            return
        for i, source in enumerate(layer.sources):
            try:
                name = doc.layer(source.layer_id).name
            except KeyError:
                name = "(deleted layer)"
            row = QtWeightRow(name, source.weight, "Paint where this photo goes")
            track_drags(row.slider, lambda: self.doc, f"Photo weight in {layer.name}")
            row.slider.valueChanged.connect(lambda v, i=i: self._source_weight(i, v))
            row.paint.toggled.connect(lambda on, i=i, n=name: self._paint_toggled(on, "source_mask", i, n))
            row.remove.clicked.connect(lambda _=False, i=i: self._remove_source(i))
            self.sources_layout.insertWidget(self.sources_layout.count() - 1, row)
            self.rows.append(row)
        with QSignalBlocker(self.add_source):
            self.add_source.clear()
            self.add_source.addItem("Add a photo layer…", "")
            used = {s.layer_id for s in layer.sources}
            for other in doc.layers:
                if isinstance(other, ImageLayer) and other.id not in used:
                    self.add_source.addItem(other.name, other.id)

    # -- gestures ----------------------------------------------------------------------------------
    def _wire(self, slider: QSlider, to_value: Callable[[int], tuple[str, object]], text: str) -> None:
        track_drags(slider, lambda: self.doc, text)
        slider.valueChanged.connect(lambda v: self._set(*to_value(v)))

    def _set(self, field: str, value: object) -> None:
        doc, layer = self.doc, self.layer
        if doc is not None and layer is not None:
            self._guard(lambda: doc.set(layer.id, field, value))

    def _style_weight(self, index: int, value: int) -> None:
        doc, layer = self.doc, self.layer
        if doc is not None and layer is not None:
            self._guard(lambda: doc.set_style_entry(layer.id, index, weight=value / 100.0))

    def _remove_style(self, index: int) -> None:
        doc, layer = self.doc, self.layer
        if doc is not None and layer is not None:
            self._guard(lambda: doc.remove_style(layer.id, index))

    def _source_weight(self, index: int, value: int) -> None:
        doc, layer = self.doc, self.layer
        if doc is None or not isinstance(layer, FusionLayer):
            return
        sources = list(layer.sources)
        sources[index] = FusionSource(sources[index].layer_id, value / 100.0, sources[index].mask)
        self._guard(lambda: doc.set(layer.id, "sources", tuple(sources), text=f"Photo weight in {layer.name}"))

    @staticmethod
    def _update_shares(weights: list[float], rows: list[QtWeightRow]) -> None:
        total = sum(max(0.0, w) for w in weights) or 1.0
        for w, row in zip(weights, rows):
            row.share.setText(f"{max(0.0, w) / total * 100:.0f}%")

    def _source_chosen(self, index: int) -> None:
        self._set("source", self.source.itemData(index))

    def _add_source(self, index: int) -> None:
        layer_id = self.add_source.itemData(index)
        doc, layer = self.doc, self.layer
        if layer_id and doc is not None and isinstance(layer, FusionLayer):
            self._guard(lambda: doc.set(layer.id, "sources", tuple(layer.sources) + (FusionSource(layer_id),),
                                             text=f"Add a photo to {layer.name}"))

    def _remove_source(self, index: int) -> None:
        doc, layer = self.doc, self.layer
        if doc is None or not isinstance(layer, FusionLayer):
            return
        sources = list(layer.sources)
        sources.pop(index)
        self._guard(lambda: doc.set(layer.id, "sources", tuple(sources), text=f"Remove a photo from {layer.name}"))

    def _paint_toggled(self, on: bool, target: str, index: int, name: str) -> None:
        self.painting = (target, index) if on else None
        layer = self.layer
        if layer is not None:
            self._show_values(layer)  # one brush at a time: the other toggles go off
        if not on:
            self.brush_target_changed.emit(None)
            return
        self.brush_target_changed.emit(BrushTarget(self.layer_id, target, index, f"where {name} goes"))

    def stop_painting(self) -> None:
        self.painting = None
        for row in self.rows:
            with QSignalBlocker(row.paint):
                row.paint.setChecked(False)

    def _guard(self, action: Callable[[], object]) -> None:
        if not attempt(self, action):
            self.refresh()  # the controls go back to what the layer still has


def _percent_slider(tip: str = "") -> QSlider:
    """A horizontal 0-100 slider (PySide's stubs take no inherited properties as keywords)."""
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    if tip:
        slider.setToolTip(tip)
    return slider


def _set_quietly(slider: QSlider, value: int) -> None:
    if slider.value() != value:
        with QSignalBlocker(slider):
            slider.setValue(value)


def _readout() -> QLabel:
    label = QLabel()
    label.setMinimumWidth(44)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


def _with_readout(slider: QSlider, readout: QLabel) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(slider, 1)
    row.addWidget(readout)
    return box


def _stroke_from_slider(value: int) -> float:
    """0..100 -> MIN_STROKE..MAX_STROKE on a log scale (50 is 1)."""
    lo, hi = math.log(MIN_STROKE), math.log(MAX_STROKE)
    return round(math.exp(lo + (hi - lo) * value / 100), 3)


def _slider_from_stroke(stroke: float) -> int:
    lo, hi = math.log(MIN_STROKE), math.log(MAX_STROKE)
    return round((math.log(max(MIN_STROKE, min(MAX_STROKE, stroke))) - lo) / (hi - lo) * 100)
