"""The Layers panel: the stack top-first, with thumbnails, visibility, lock, opacity and blend mode.

A thin view: every gesture becomes a call on the document (one undoable step); the list is rebuilt
from the document's events and never holds a second copy of the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..document.blend import BlendMode
from ..document.compositor import RenderStore, image_layer_on_canvas, resize_rgba
from ..document.document import Document
from ..document.layers import ImageLayer, Layer
from . import icons
from .canvas import rgba_to_qimage
from .feedback import attempt
from .gestures import track_drags

THUMB = 44
KIND_LABEL = {"image": "Photo", "style": "Style", "fusion": "Fusion"}


def layer_thumbnail(doc: Document, renders: RenderStore | None, layer: Layer) -> QPixmap:
    scale = THUMB / max(doc.width, doc.height)
    rgba = None
    if isinstance(layer, ImageLayer):
        rgba = image_layer_on_canvas(layer, doc, scale)
    elif renders is not None:
        painted = renders.best(layer.id, scale)
        if painted is not None:
            rgba = resize_rgba(painted.rgba, (max(1, round(doc.width * scale)), max(1, round(doc.height * scale))))
    if rgba is None:
        pixmap = QPixmap(THUMB, THUMB)
        pixmap.fill(Qt.GlobalColor.transparent)
        return pixmap
    return QPixmap.fromImage(rgba_to_qimage(rgba))


def _toggle_button(tip: str) -> QToolButton:
    button = QToolButton(autoRaise=True)
    button.setCheckable(True)
    button.setToolTip(tip)
    return button


class QtLayerRow(QWidget):
    """One row: eye, thumbnail, name and kind, lock."""

    def __init__(self, panel: QtLayersPanel, layer: Layer) -> None:
        super().__init__()
        self.layer_id = layer.id
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        self.eye = _toggle_button("Show or hide this layer")
        self.eye.setChecked(layer.visible)
        self.eye.toggled.connect(lambda on: self._set(panel, "visible", on, f"{'Show' if on else 'Hide'} {layer.name}"))
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel()
        self.lock = _toggle_button("Lock this layer against changes")
        self.lock.setChecked(layer.locked)
        self.lock.toggled.connect(
            lambda on: self._set(panel, "locked", on, f"{'Lock' if on else 'Unlock'} {layer.name}"))
        row.addWidget(self.eye)
        row.addWidget(self.thumb)
        row.addWidget(self.title, 1)
        row.addWidget(self.lock)
        self.update_from(panel, layer)

    def _set(self, panel: QtLayersPanel, field: str, on: bool, text: str) -> None:
        doc = panel.doc
        if doc is not None:
            attempt(self, lambda: doc.set(self.layer_id, field, on, text=text))

    def update_from(self, panel: QtLayersPanel, layer: Layer) -> None:
        error = panel.failures.get(layer.id, "")
        self.eye.blockSignals(True)
        self.eye.setChecked(layer.visible)
        self.eye.setIcon(icons.eye(layer.visible))
        self.eye.blockSignals(False)
        self.lock.blockSignals(True)
        self.lock.setChecked(layer.locked)
        self.lock.setIcon(icons.lock(layer.locked))
        self.lock.blockSignals(False)
        detail = KIND_LABEL[layer.kind]
        if layer.blend_mode != BlendMode.NORMAL:
            detail += f" · {layer.blend_mode.label}"
        if layer.opacity < 1:
            detail += f" · {round(layer.opacity * 100)}%"
        marker = "<span style='color:#d04030'>⚠</span> " if error else ""
        self.title.setText(f"{marker}<b>{layer.name}</b><br><small>{detail}</small>")
        self.title.setToolTip(f"Could not be painted: {error}" if error else "")
        if panel.doc is not None:
            self.thumb.setPixmap(layer_thumbnail(panel.doc, panel.renders, layer))


class QtLayerList(QListWidget):
    """The list, top layer first. Dragging a row with the mouse reorders layers.

    The drag is done here with plain mouse events (press, move past the drag distance, release over the
    new place) rather than Qt's item drag and drop, whose drop moved the list's rows behind the
    document's back and did not respond to real pointer input in every platform plugin."""

    moved = Signal(str, int)  # layer id, new position from the top

    def __init__(self) -> None:
        super().__init__()
        self.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSpacing(1)
        self._press: tuple[str, QPoint] | None = None  # the row's layer id and where the button went down
        self.dragging = False

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mousePressEvent(event)
        item = self.itemAt(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and item is not None:
            self._press = (item.data(Qt.ItemDataRole.UserRole), event.position().toPoint())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._press is not None:
            distance = (event.position().toPoint() - self._press[1]).manhattanLength()
            if distance >= QApplication.startDragDistance():
                self.dragging = True
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return  # no rubber-band selection while a row is held
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        press, dragging = self._press, self.dragging
        self._press, self.dragging = None, False
        self.unsetCursor()
        if press is not None and dragging:
            self.moved.emit(press[0], self.drop_row(event.position().toPoint()))
            return
        super().mouseReleaseEvent(event)

    def drop_row(self, pos: QPoint) -> int:
        """The row (from the top) a row dropped at ``pos`` takes: the row under the pointer, or the last
        row when dropped below them all."""
        item = self.itemAt(pos)
        if item is not None:
            return self.row(item)
        return 0 if self.count() and pos.y() < self.visualItemRect(self.item(0)).top() else max(0, self.count() - 1)


class QtLayersPanel(QWidget):
    add_style_requested = Signal()
    add_fusion_requested = Signal()
    add_photo_requested = Signal()
    duplicate_requested = Signal()
    delete_requested = Signal()
    merge_down_requested = Signal()
    flatten_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self.renders: RenderStore | None = None
        self._rows: dict[str, QtLayerRow] = {}
        # layer id -> why its painting failed (a marker on its row): the paint scheduler's, read here
        self.failures: Mapping[str, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        top = QHBoxLayout()
        self.blend = QComboBox()
        self.blend.setToolTip("Blend mode")
        for mode in BlendMode:
            self.blend.addItem(mode.label, mode.value)
        self.blend.activated.connect(self._blend_chosen)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity")
        self.opacity_label = QLabel("100%")
        self.opacity_label.setMinimumWidth(36)
        track_drags(self.opacity, lambda: self.doc, "Opacity")  # a drag is one step and paints drafts
        self.opacity.valueChanged.connect(self._opacity_changed)
        top.addWidget(self.blend, 1)
        top.addWidget(self.opacity, 1)
        top.addWidget(self.opacity_label)
        layout.addLayout(top)

        self.list = QtLayerList()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemDoubleClicked.connect(self._rename)
        self.list.moved.connect(self._moved)
        layout.addWidget(self.list, 1)

        buttons = QHBoxLayout()
        for text, tip, signal in [
            ("+ Style", "Add a style layer (Ctrl+Shift+N)", self.add_style_requested),
            ("+ Fusion", "Add a fusion layer", self.add_fusion_requested),
            ("+ Photo", "Add a photo as a layer", self.add_photo_requested),
            ("Dup", "Duplicate the layer", self.duplicate_requested),
            ("Merge", "Merge down", self.merge_down_requested),
            ("Flatten", "Flatten the image", self.flatten_requested),
            ("Del", "Delete the layer", self.delete_requested),
        ]:
            button = QToolButton(autoRaise=True)
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(signal)
            buttons.addWidget(button)
        layout.addLayout(buttons)

    # -- document wiring ---------------------------------------------------------------------------
    def set_document(self, doc: Document | None, renders: RenderStore | None,
                     failures: Mapping[str, str] | None = None) -> None:
        if self.doc is not None:
            for signal, slot in ((self.doc.layers_changed, self.rebuild), (self.doc.layer_changed, self._layer_changed),
                                 (self.doc.selection_changed, self._selection_changed)):
                signal.disconnect(slot)
        self.doc, self.renders = doc, renders
        self.failures = failures if failures is not None else {}
        if doc is not None:
            doc.layers_changed.connect(self.rebuild)
            doc.layer_changed.connect(self._layer_changed)
            doc.selection_changed.connect(self._selection_changed)
        self.rebuild()

    def rebuild(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        self._rows.clear()
        if self.doc is not None:
            for layer in reversed(list(self.doc.layers)):
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, layer.id)
                row = QtLayerRow(self, layer)
                item.setSizeHint(QSize(0, THUMB + 8))
                self.list.addItem(item)
                self.list.setItemWidget(item, row)
                self._rows[layer.id] = row
        self.list.blockSignals(False)
        self._selection_changed(self.doc.selected_id if self.doc else "")

    def refresh_thumbnails(self, layer_ids: list[str] | None = None) -> None:
        if self.doc is None:
            return
        for layer_id, row in self._rows.items():
            if layer_ids is None or layer_id in layer_ids:
                try:
                    row.update_from(self, self.doc.layer(layer_id))
                except KeyError:
                    pass

    def _layer_changed(self, layer_id: str, field: str) -> None:
        row = self._rows.get(layer_id)
        if row is not None and self.doc is not None:
            row.update_from(self, self.doc.layer(layer_id))
        if self.doc is not None and layer_id == self.doc.selected_id:
            self._sync_controls()

    def _selection_changed(self, layer_id: str) -> None:
        self.list.blockSignals(True)
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == layer_id:
                self.list.setCurrentItem(item)
                break
        self.list.blockSignals(False)
        self._sync_controls()

    def _sync_controls(self) -> None:
        layer = self.doc.selected if self.doc else None
        enabled = layer is not None
        self.blend.setEnabled(enabled)
        self.opacity.setEnabled(enabled)
        if layer is None:
            return
        self.blend.setCurrentIndex(self.blend.findData(layer.blend_mode.value))
        self.opacity.blockSignals(True)
        self.opacity.setValue(round(layer.opacity * 100))
        self.opacity.blockSignals(False)
        self.opacity_label.setText(f"{round(layer.opacity * 100)}%")

    # -- gestures ----------------------------------------------------------------------------------
    def _current_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None and self.doc is not None:
            self.doc.select(item.data(Qt.ItemDataRole.UserRole))

    def _blend_chosen(self, index: int) -> None:
        doc = self.doc
        layer = doc.selected if doc else None
        if doc is not None and layer is not None:
            self._guard(lambda: doc.set(layer.id, "blend_mode", BlendMode(self.blend.itemData(index))))

    def _opacity_changed(self, value: int) -> None:
        doc = self.doc
        layer = doc.selected if doc else None
        self.opacity_label.setText(f"{value}%")
        if doc is not None and layer is not None:
            self._guard(lambda: doc.set(layer.id, "opacity", value / 100.0))

    def _moved(self, layer_id: str, row_from_top: int) -> None:
        if self.doc is None:
            return
        self.doc.move_layer(layer_id, len(self.doc.layers) - 1 - row_from_top)

    def _rename(self, item: QListWidgetItem) -> None:
        from PySide6.QtWidgets import QInputDialog

        if self.doc is None:
            return
        layer = self.doc.layer(item.data(Qt.ItemDataRole.UserRole))
        name, ok = QInputDialog.getText(self, "Rename layer", "Name:", text=layer.name)
        if ok and name.strip():
            self.doc.set(layer.id, "name", name.strip(), text=f"Rename {layer.name}")

    def _guard(self, action: Callable[[], object]) -> None:
        if not attempt(self, action):
            self._sync_controls()  # the controls go back to what the layer still has

