"""The Fusion panel: the selected style layer's styles, one slider each (shown normalised), with a brush
to paint where each goes; strength, colour preservation and stroke size; for a fusion layer, one slider
per source photo. Every drag is one undoable step; the canvas previews while the hand moves."""

from __future__ import annotations

import itertools
import math

from PySide6.QtCore import Qt, Signal
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

_gestures = itertools.count()


class QtWeightRow(QWidget):
    """A name, a 0-100 slider, the normalised share, a brush toggle and a remove button."""

    def __init__(self, title: str, value: float, share: float, paint_tip: str) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(title)
        self.title.setMinimumWidth(90)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.slider.setValue(round(value * 100))
        self.share = QLabel(f"{share * 100:.0f}%")
        self.share.setMinimumWidth(38)
        self.paint = QToolButton(checkable=True, autoRaise=True, toolTip=paint_tip)
        self.paint.setIcon(icons.brush())
        self.remove = QToolButton(text="✕", autoRaise=True, toolTip="Remove")
        for w, stretch in ((self.title, 0), (self.slider, 1), (self.share, 0), (self.paint, 0), (self.remove, 0)):
            row.addWidget(w, stretch)


class QtFusionPanel(QWidget):
    interaction = Signal(bool)  # True while a slider is held (draft previews), False when released
    brush_target_changed = Signal(object)  # BrushTarget or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self.layer_id = ""
        self._gesture = None
        self.rows: list[QtWeightRow] = []
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
        self.source = QComboBox(toolTip="What this layer paints")
        self.source.activated.connect(self._source_chosen)
        form.addRow("Source", self.source)
        self.strength = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100,
                                toolTip="0: the photo, 100: the full style")
        self._wire(self.strength, lambda v: ("strength", v / 100.0))
        form.addRow("Strength", self.strength)
        self.stroke = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100,
                              toolTip="Stroke size relative to the image")
        self._wire(self.stroke, lambda v: ("stroke_size", _stroke_from_slider(v)))
        form.addRow("Stroke size", self.stroke)
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
        if layer_id == self.layer_id and field != "name" and not self._dragging():
            self.refresh()

    def _dragging(self) -> bool:
        return any(r.slider.isSliderDown() for r in self.rows) or self.strength.isSliderDown() or \
            self.stroke.isSliderDown()

    @property
    def layer(self):
        if self.doc is None:
            return None
        try:
            layer = self.doc.layer(self.layer_id)
        except KeyError:
            return None
        return layer if isinstance(layer, (StyleLayer, FusionLayer)) else None

    # -- building the rows -------------------------------------------------------------------------
    def refresh(self) -> None:
        layer = self.layer
        for box in (self.weights_box, self.settings_box):
            box.setVisible(layer is not None)
        self.sources_box.setVisible(isinstance(layer, FusionLayer))
        self.hint.setVisible(layer is None)
        for row in self.rows:
            row.setParent(None)
        self.rows.clear()
        if layer is None:
            return
        total = sum(max(0.0, e.weight) for e in layer.styles) or 1.0
        for i, entry in enumerate(layer.styles):
            row = QtWeightRow(entry.style.name, entry.weight, max(0.0, entry.weight) / total,
                              "Paint where this style goes")
            row.slider.sliderPressed.connect(self._begin)
            row.slider.sliderReleased.connect(self._end)
            row.slider.valueChanged.connect(lambda v, i=i: self._style_weight(i, v))
            row.paint.setChecked(self.painting == ("weight_map", i))
            row.paint.toggled.connect(
                lambda on, i=i, name=entry.style.name: self._paint_toggled(on, "weight_map", i, name))
            row.remove.clicked.connect(lambda _=False, i=i: self._guard(lambda: self.doc.remove_style(layer.id, i)))
            self.weights_layout.addWidget(row)
            self.rows.append(row)
        if not layer.styles:
            empty = QtWeightRow("(no style yet)", 0, 0, "")
            empty.setEnabled(False)
            self.weights_layout.addWidget(empty)
            self.rows.append(empty)
        for slider, value in ((self.strength, round(layer.strength * 100)),
                              (self.stroke, _slider_from_stroke(layer.stroke_size))):
            slider.blockSignals(True)
            slider.setValue(value)
            slider.blockSignals(False)
        self.preserve.blockSignals(True)
        self.preserve.setChecked(layer.preserve_color)
        self.preserve.blockSignals(False)
        self._fill_sources(layer)

    def _fill_sources(self, layer) -> None:
        self.source.blockSignals(True)
        self.source.clear()
        self.source.setVisible(isinstance(layer, StyleLayer))
        if isinstance(layer, StyleLayer):
            self.source.addItem("Everything below", BELOW)
            for other in self.doc.layers:
                if other.id != layer.id:
                    self.source.addItem(other.name, other.id)
            self.source.setCurrentIndex(max(0, self.source.findData(layer.source)))
        self.source.blockSignals(False)
        if not isinstance(layer, FusionLayer):
            return
        total = sum(max(0.0, s.weight) for s in layer.sources) or 1.0
        for i, source in enumerate(layer.sources):
            try:
                name = self.doc.layer(source.layer_id).name
            except KeyError:
                name = "(deleted layer)"
            row = QtWeightRow(name, source.weight, max(0.0, source.weight) / total, "Paint where this photo goes")
            row.slider.sliderPressed.connect(self._begin)
            row.slider.sliderReleased.connect(self._end)
            row.slider.valueChanged.connect(lambda v, i=i: self._source_weight(i, v))
            row.paint.setChecked(self.painting == ("source_mask", i))
            row.paint.toggled.connect(lambda on, i=i, n=name: self._paint_toggled(on, "source_mask", i, n))
            row.remove.clicked.connect(lambda _=False, i=i: self._remove_source(i))
            self.sources_layout.insertWidget(self.sources_layout.count() - 1, row)
            self.rows.append(row)
        self.add_source.blockSignals(True)
        self.add_source.clear()
        self.add_source.addItem("Add a photo layer…", "")
        used = {s.layer_id for s in layer.sources}
        for other in self.doc.layers:
            if isinstance(other, ImageLayer) and other.id not in used:
                self.add_source.addItem(other.name, other.id)
        self.add_source.blockSignals(False)

    # -- gestures ----------------------------------------------------------------------------------
    def _begin(self) -> None:
        self._gesture = next(_gestures)
        self.interaction.emit(True)

    def _end(self) -> None:
        self.interaction.emit(False)
        self.refresh()

    def _key(self):
        return self._gesture if self._dragging() else next(_gestures)

    def _wire(self, slider: QSlider, to_value) -> None:
        slider.sliderPressed.connect(self._begin)
        slider.sliderReleased.connect(self._end)
        slider.valueChanged.connect(lambda v: self._set(*to_value(v), merge_key=self._key()))

    def _set(self, field: str, value, merge_key=None) -> None:
        layer = self.layer
        if layer is not None:
            self._guard(lambda: self.doc.set(layer.id, field, value, merge_key=merge_key))

    def _style_weight(self, index: int, value: int) -> None:
        layer = self.layer
        if layer is None:
            return
        self._guard(lambda: self.doc.set_style_entry(layer.id, index, merge_key=self._key(), weight=value / 100.0))
        self._update_shares([e.weight for e in layer.styles], self.rows[: len(layer.styles)])

    def _source_weight(self, index: int, value: int) -> None:
        layer = self.layer
        if not isinstance(layer, FusionLayer):
            return
        sources = list(layer.sources)
        sources[index] = FusionSource(sources[index].layer_id, value / 100.0, sources[index].mask)
        self._guard(lambda: self.doc.set(layer.id, "sources", tuple(sources), merge_key=self._key(),
                                         text=f"Photo weight in {layer.name}"))
        self._update_shares([s.weight for s in layer.sources], self.rows[len(layer.styles) or 1 :])

    @staticmethod
    def _update_shares(weights: list[float], rows: list[QtWeightRow]) -> None:
        total = sum(max(0.0, w) for w in weights) or 1.0
        for w, row in zip(weights, rows):
            row.share.setText(f"{max(0.0, w) / total * 100:.0f}%")

    def _source_chosen(self, index: int) -> None:
        self._set("source", self.source.itemData(index))

    def _add_source(self, index: int) -> None:
        layer_id = self.add_source.itemData(index)
        layer = self.layer
        if layer_id and isinstance(layer, FusionLayer):
            self._guard(lambda: self.doc.set(layer.id, "sources", tuple(layer.sources) + (FusionSource(layer_id),),
                                             text=f"Add a photo to {layer.name}"))

    def _remove_source(self, index: int) -> None:
        layer = self.layer
        sources = list(layer.sources)
        sources.pop(index)
        self._guard(lambda: self.doc.set(layer.id, "sources", tuple(sources), text=f"Remove a photo from {layer.name}"))

    def _paint_toggled(self, on: bool, target: str, index: int, name: str) -> None:
        for row in self.rows:
            if row.paint.isChecked() and on and row.paint is not self.sender():
                row.paint.blockSignals(True)
                row.paint.setChecked(False)
                row.paint.blockSignals(False)
        if not on:
            self.painting = None
            self.brush_target_changed.emit(None)
            return
        self.painting = (target, index)
        self.brush_target_changed.emit(BrushTarget(self.layer_id, target, index, f"where {name} goes"))

    def stop_painting(self) -> None:
        self.painting = None
        for row in self.rows:
            row.paint.blockSignals(True)
            row.paint.setChecked(False)
            row.paint.blockSignals(False)

    def _guard(self, action) -> None:
        attempt(self, action)


def _stroke_from_slider(value: int) -> float:
    """0..100 -> MIN_STROKE..MAX_STROKE on a log scale (50 is 1)."""
    lo, hi = math.log(MIN_STROKE), math.log(MAX_STROKE)
    return round(math.exp(lo + (hi - lo) * value / 100), 3)


def _slider_from_stroke(stroke: float) -> int:
    lo, hi = math.log(MIN_STROKE), math.log(MAX_STROKE)
    return round((math.log(max(MIN_STROKE, min(MAX_STROKE, stroke))) - lo) / (hi - lo) * 100)
