"""The canvas: shows the composite, zooms and pans, compares before/after, and paints masks.

Large photos are shown through a proxy (the composite at a reduced scale), so zooming, panning and
painting stay fluid; exports always composite at full size. Zoomed past the proxy's scale, once the view
has settled (``SETTLE_MS``), the canvas asks for the real pixels of what it shows (``view_settled``):
the export's pixels in view, painted in the background in tiles of one grid, nearest the centre
first, each drawn over the proxy as it lands; below 100% at the resolution displayed (``view_step``).
Tiles stay until the document changes (a pan keeps them in their place and asks only for the tiles
it lacks); the farthest go when there are too many.
The brush paints at the canvas's full resolution into a working copy of the target map and hands the
stroke to the document when the button is released, as one undoable step. The move tool drags the
selected photo layer (one step per drag) and the arrow keys nudge it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from ..document.compositor import Box, RenderStore, composite, resize_map
from ..document.document import Document
from ..document.layers import ImageLayer
from ..errors import BadInputError

STYLE_MIME = "application/x-stylefuse-style"
MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
SETTLE_MS = 200  # the view is still this long after the last pan or zoom: paint its real pixels
MIN_KEPT_TILES = 64  # real-pixel tiles kept: at least this many, or four views' worth
_NUDGES: dict[int, tuple[int, int]] = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
                                       Qt.Key.Key_Down: (0, 1)}


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """float32 RGBA straight alpha -> a QImage that owns its pixels."""
    data = np.ascontiguousarray((np.clip(rgba, 0, 1) * 255 + 0.5).astype(np.uint8))
    height, width = data.shape[:2]
    image = QImage(data.data, width, height, width * 4, QImage.Format.Format_RGBA8888)
    return image.copy()


def _qimage_pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = image.constBits()
    return np.frombuffer(ptr, np.uint8, image.height() * image.bytesPerLine()).reshape(
        image.height(), image.bytesPerLine() // 4, 4)[:, : image.width()].copy()


@dataclass
class Brush:
    size: float = 80.0  # diameter in canvas pixels
    hardness: float = 0.6
    opacity: float = 0.8
    value: float = 0.0  # 0 hides (mask) / removes (weight map), 1 reveals / adds

    def dab(self, radius_px: int) -> np.ndarray:
        """Coverage of one dab, [2r+1, 2r+1]: full inside hardness*r, smooth to zero at r."""
        r = max(1, radius_px)
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
        d = np.sqrt(xx * xx + yy * yy) / r
        inner = min(self.hardness, 0.999)
        falloff = np.clip((1 - d) / (1 - inner), 0, 1)
        return (falloff * falloff * (3 - 2 * falloff) * self.opacity).astype(np.float32)


@dataclass
class BrushTarget:
    layer_id: str
    target: str  # "mask", "weight_map" (a style's) or "source_mask" (a fused photo's)
    style_index: int | None = None
    label: str = ""


@dataclass
class _Stroke:
    """A brush stroke under way: a working copy of the target map and the box it has touched."""

    map: np.ndarray  # the whole target map, being painted
    before: np.ndarray | None  # the map as it was (None: the layer had none yet)
    last: QPointF  # where the last dab went
    empty: float  # the value of a map not painted yet
    box: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) painted so far


class QtCanvas(QWidget):
    zoom_changed = Signal(float)
    stroke_finished = Signal()
    style_dropped = Signal(str)  # style key dropped on the canvas
    brush_changed = Signal()
    refused = Signal(str)  # an edit the document refused (a locked layer...), for the status bar
    view_moved = Signal()  # a pan or zoom: any real pixels being painted for the old view are moot
    view_settled = Signal()  # the view has been still SETTLE_MS: ``view_box`` wants real pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.doc: Document | None = None
        self.renders: RenderStore | None = None
        self.proxy_side = 1600
        self.zoom = 1.0
        self.center = QPointF(0, 0)  # canvas coordinates shown at the widget's centre
        self.split: float | None = None  # before/after divider, 0..1 across the image, or None
        self.brush = Brush()
        self.brush_target: BrushTarget | None = None
        self._image: QImage | None = None
        self._before: QImage | None = None
        self._overlay: QImage | None = None
        self._checker = self._make_checker()
        self._pan_from: tuple[QPointF, QPointF] | None = None
        self._space = False
        self._dragging_split = False
        self._stroke: _Stroke | None = None
        self.move_tool = False
        self._move: tuple[str, QPointF, int, int] | None = None  # layer, start point, x, y (one gesture)
        self._cursor = QPointF(-1, -1)
        self._refresh_timer = QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self._recomposite)
        self.composites = 0  # how many times the proxy was recomposited (tests wait on it)
        self.fitted = True  # the view follows the window's size until the user zooms
        self._tiles: dict[Box, tuple[int, QImage]] = {}  # real pixels: full-size canvas box -> step, image
        self._tiles_state: tuple[object, ...] = ()  # the document state the tiles show
        self._settle_timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle_timer.timeout.connect(self.view_settled)

    # -- document ----------------------------------------------------------------------------------
    def set_document(self, doc: Document | None, renders: RenderStore | None) -> None:
        """Show ``doc`` with the paintings in ``renders``; the canvas listens to the document itself."""
        if self.doc is not None:
            self.doc.layers_changed.disconnect(self.refresh)
            self.doc.pixels_changed.disconnect(self._pixels_changed)
        self._end_move()
        self.doc, self.renders = doc, renders
        if doc is not None:
            doc.layers_changed.connect(self.refresh)
            doc.pixels_changed.connect(self._pixels_changed)
        self.brush_target = None
        self.fit()
        self.refresh()

    def _pixels_changed(self, layer_id: str) -> None:
        self.refresh()

    @property
    def proxy_scale(self) -> float:
        if self.doc is None:
            return 1.0
        return min(1.0, self.proxy_side / max(self.doc.width, self.doc.height))

    def refresh(self) -> None:
        """Recomposite soon (several changes in one event-loop turn cost one composite)."""
        self._refresh_timer.start()

    def _recomposite(self) -> None:
        if self.document_state() != self._tiles_state:  # not when only a preview landed
            self._tiles.clear()  # the document changed: the real pixels are painted again for it
            self._tiles_state = self.document_state()
            self._view_changed()
        if self.doc is None:
            self._image = self._before = None
        else:
            scale = self.proxy_scale
            self._image = rgba_to_qimage(composite(self.doc, self.renders, scale))
            if self.split is not None:
                photos = [lay for lay in self.doc.layers if isinstance(lay, ImageLayer)]
                self._before = rgba_to_qimage(composite(self.doc, None, scale, layers=photos))
            self._update_overlay()
        self.composites += 1
        self.update()

    def current_pixels(self) -> np.ndarray | None:
        """What the canvas shows (RGBA uint8 at the proxy scale), for tests and screenshots."""
        if self._image is None:
            return None
        return _qimage_pixels(self._image)

    # -- real pixels in view -----------------------------------------------------------------------
    def view_box(self) -> tuple[int, int, int, int] | None:
        """The part of the full-size canvas in view (left, top, right, bottom), when the zoom shows more
        than the proxy holds; else None (a photo within the proxy's size is shown at full size already)."""
        scale = self.proxy_scale
        if self.doc is None or self.split is not None or scale >= 1.0 or self.zoom <= scale * 1.0001:
            return None
        topleft, bottomright = self.to_canvas(QPointF(0, 0)), self.to_canvas(QPointF(self.width(), self.height()))
        left, top = max(0, math.floor(topleft.x())), max(0, math.floor(topleft.y()))
        right = min(self.doc.width, math.ceil(bottomright.x()))
        bottom = min(self.doc.height, math.ceil(bottomright.y()))
        if right <= left or bottom <= top:
            return None
        return left, top, right, bottom

    def document_state(self) -> tuple[object, ...]:
        """Changes whenever any layer's pixels or settings do (what real pixels are valid for)."""
        if self.doc is None:
            return ()
        return (self.doc.size,) + tuple((layer.id, self.doc.revision(layer.id)) for layer in self.doc.layers)

    def view_step(self) -> int:
        """1/resolution at which the view's real pixels are painted: the largest power of two that
        keeps them at least as fine as the screen (1 from 100% up)."""
        return 2 ** max(0, math.floor(math.log2(1.0 / self.zoom) + 1e-9))

    def add_region_tile(self, box: Box, rgba: np.ndarray, state: tuple[object, ...], step: int = 1) -> None:
        """Real pixels for ``box`` (full-size canvas pixels; RGBA float32 at 1/``step`` of its size),
        painted for document ``state``; dropped if the document has changed since or the zoom no
        longer wants them. A finer tile is drawn over coarser ones where they overlap."""
        if state != self.document_state() or self.view_box() is None:
            return
        self._tiles_state = state
        self._tiles.pop(box, None)  # last in, drawn last
        self._tiles[box] = (step, rgba_to_qimage(rgba))
        self._forget_far_tiles()
        left, top, right, bottom = box
        rect = self.image_rect()
        self.update(QRectF(rect.x() + left * self.zoom, rect.y() + top * self.zoom, (right - left) * self.zoom,
                           (bottom - top) * self.zoom).toAlignedRect().adjusted(-1, -1, 1, 1))

    def _forget_far_tiles(self) -> None:
        view = self.view_box()
        if view is None:
            return
        if len(self._tiles) <= MIN_KEPT_TILES:
            return
        tile_area = min((b[2] - b[0]) * (b[3] - b[1]) for b in self._tiles)
        keep = max(MIN_KEPT_TILES, math.ceil(4 * (view[2] - view[0]) * (view[3] - view[1]) / tile_area))
        if len(self._tiles) <= keep:
            return
        cx, cy = (view[0] + view[2]) / 2, (view[1] + view[3]) / 2
        by_distance = sorted(self._tiles, key=lambda b: ((b[0] + b[2]) / 2 - cx) ** 2 + ((b[1] + b[3]) / 2 - cy) ** 2)
        for box in by_distance[keep:]:
            del self._tiles[box]

    def region_tiles(self, step: int = 1) -> frozenset[Box]:
        """The boxes of the real-pixel tiles shown at 1/``step`` (a new view's job skips them)."""
        return frozenset(box for box, (s, _) in self._tiles.items() if s == step)

    def region_pixels(self) -> tuple[Box, np.ndarray] | None:
        """The view box and its real pixels (RGBA uint8) once full-resolution tiles cover all of it, else
        None (tests)."""
        box = self.view_box()
        if box is None or not self._tiles:
            return None
        left, top, right, bottom = box
        out = np.zeros((bottom - top, right - left, 4), np.uint8)
        covered = np.zeros(out.shape[:2], bool)
        for (x0, y0, x1, y1), (step, image) in self._tiles.items():
            a, b, c, d = max(x0, left), max(y0, top), min(x1, right), min(y1, bottom)
            if step == 1 and a < c and b < d:
                out[b - top : d - top, a - left : c - left] = _qimage_pixels(image)[b - y0 : d - y0, a - x0 : c - x0]
                covered[b - top : d - top, a - left : c - left] = True
        return (box, out) if covered.all() else None

    def _view_changed(self) -> None:
        self.view_moved.emit()
        if self.view_box() is None:
            self._tiles.clear()  # the proxy shows the whole picture as well as they would
            self._settle_timer.stop()
        else:
            self._settle_timer.start()

    # -- geometry ----------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        if self.doc is None:
            return QRectF()
        w, h = self.doc.width * self.zoom, self.doc.height * self.zoom
        cx = self.width() / 2 - self.center.x() * self.zoom
        cy = self.height() / 2 - self.center.y() * self.zoom
        return QRectF(cx, cy, w, h)

    def to_canvas(self, pos: QPointF) -> QPointF:
        rect = self.image_rect()
        return QPointF((pos.x() - rect.x()) / self.zoom, (pos.y() - rect.y()) / self.zoom)

    def fit(self) -> None:
        if self.doc is None:
            return
        margin = 24
        self.zoom = max(MIN_ZOOM, min((self.width() - margin) / self.doc.width,
                                      (self.height() - margin) / self.doc.height, 8.0))
        self.center = QPointF(self.doc.width / 2, self.doc.height / 2)
        self.fitted = True
        self.zoom_changed.emit(self.zoom)
        self._view_changed()
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.fitted:  # a fitted view stays fitted as the window changes size
            self.fit()
        else:
            self._view_changed()

    def actual_pixels(self) -> None:
        self.set_zoom(1.0)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self.fitted = False
        if anchor is not None and self.doc is not None:
            before = self.to_canvas(anchor)
            self.zoom = zoom
            after = self.to_canvas(anchor)
            self.center -= after - before
        else:
            self.zoom = zoom
        self.zoom_changed.emit(self.zoom)
        self._view_changed()
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def set_split(self, enabled: bool) -> None:
        self.split = 0.5 if enabled else None
        self._view_changed()  # the before/after view shows the proxy only
        self.refresh()

    # -- painting the widget -------------------------------------------------------------------------
    @staticmethod
    def _make_checker() -> QPixmap:
        tile = QPixmap(16, 16)
        tile.fill(QColor(204, 204, 204))
        p = QPainter(tile)
        p.fillRect(0, 0, 8, 8, QColor(255, 255, 255))
        p.fillRect(8, 8, 8, 8, QColor(255, 255, 255))
        p.end()
        return tile

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().color(self.backgroundRole()).darker(135))
        if self.doc is None or self._image is None:
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Open a photo (Ctrl+O) or drop one here")
            return
        rect = self.image_rect()
        p.fillRect(rect, QBrush(self._checker))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom * self.proxy_scale < 2)
        source = QRectF(0, 0, self._image.width(), self._image.height())
        p.drawImage(rect, self._image, source)
        for (left, top, right, bottom), (_, tile) in self._tiles.items():
            target = QRectF(rect.x() + left * self.zoom, rect.y() + top * self.zoom, (right - left) * self.zoom,
                            (bottom - top) * self.zoom)
            if target.intersects(QRectF(event.rect())):
                p.drawImage(target, tile, QRectF(0, 0, tile.width(), tile.height()))
        if self.split is not None and self._before is not None:
            x = rect.x() + rect.width() * self.split
            p.save()
            p.setClipRect(QRectF(rect.x(), rect.y(), x - rect.x(), rect.height()))
            p.fillRect(rect, QBrush(self._checker))
            p.drawImage(rect, self._before, source)
            p.restore()
            p.setPen(QPen(QColor(255, 255, 255), 2))
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            p.setPen(QColor(255, 255, 255))
            p.drawText(QRectF(rect.x() + 8, rect.y() + 8, 80, 20), "Before")
            p.drawText(QRectF(rect.right() - 58, rect.y() + 8, 50, 20), "After")
        if self._overlay is not None:
            p.setOpacity(0.3)
            p.drawImage(rect, self._overlay, QRectF(0, 0, self._overlay.width(), self._overlay.height()))
            p.setOpacity(1.0)
        if self.brush_target is not None and self.rect().contains(self._cursor.toPoint()):
            p.setPen(QPen(QColor(255, 255, 255, 200), 1))
            r = self.brush.size * self.zoom / 2
            p.drawEllipse(self._cursor, r, r)
            p.setPen(QPen(QColor(0, 0, 0, 160), 1))
            p.drawEllipse(self._cursor, r + 1, r + 1)

    # -- interaction -------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25 ** steps, event.position())

    def event(self, event: QEvent) -> bool:
        if (isinstance(event, QNativeGestureEvent)
                and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture):
            self.zoom_by(1.0 + event.value(), event.position())  # trackpad pinch
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif event.key() == Qt.Key.Key_BracketLeft:
            self.set_brush_size(self.brush.size / 1.2)
        elif event.key() == Qt.Key.Key_BracketRight:
            self.set_brush_size(self.brush.size * 1.2)
        elif event.key() == Qt.Key.Key_X:
            self.brush.value = 1.0 - self.brush.value
            self.brush_changed.emit()
        elif self.move_tool and event.key() in _NUDGES:
            dx, dy = _NUDGES[event.key()]
            step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
            self.nudge(dx * step, dy * step)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.unsetCursor()
        else:
            super().keyReleaseEvent(event)

    def set_brush_size(self, size: float) -> None:
        self.brush.size = max(1.0, min(2000.0, size))
        self.brush_changed.emit()
        self.update()

    def _near_split(self, pos: QPointF) -> bool:
        if self.split is None:
            return False
        rect = self.image_rect()
        return abs(pos.x() - (rect.x() + rect.width() * self.split)) < 6

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        left = event.button() == Qt.MouseButton.LeftButton
        if event.button() == Qt.MouseButton.MiddleButton or (left and self._space):
            self._pan_from = (pos, QPointF(self.center))
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif event.button() == Qt.MouseButton.LeftButton and self._near_split(pos):
            self._dragging_split = True
        elif event.button() == Qt.MouseButton.LeftButton and self.brush_target is not None and self.doc is not None:
            self._begin_stroke(self.to_canvas(pos))
        elif left and self.move_tool and self.doc is not None:
            self._begin_move(self.to_canvas(pos))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._cursor = pos
        if self._pan_from is not None:
            start, centre = self._pan_from
            self.center = centre - (pos - start) / self.zoom
            self.fitted = False
            self._view_changed()
        elif self._dragging_split:
            rect = self.image_rect()
            self.split = min(1.0, max(0.0, (pos.x() - rect.x()) / max(1.0, rect.width())))
        elif self._stroke is not None:
            self._continue_stroke(self.to_canvas(pos))
        elif self._move is not None:
            self._continue_move(self.to_canvas(pos))
        elif self._near_split(pos):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif not self._space and not self.move_tool:
            self.unsetCursor()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor)
        self._dragging_split = False
        if self._stroke is not None:
            self._end_stroke()
        self._end_move()

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._cursor = QPointF(-1, -1)
        self.update()

    # -- the move tool -----------------------------------------------------------------------------
    def set_move_tool(self, on: bool) -> None:
        self.move_tool = on
        self._end_move()
        if on:
            self.set_brush_target(None)
            self.setCursor(Qt.CursorShape.SizeAllCursor)
        else:
            self.unsetCursor()

    def _movable(self) -> ImageLayer | None:
        """The selected photo layer, or None after saying why it cannot move."""
        layer = self.doc.selected if self.doc is not None else None
        if not isinstance(layer, ImageLayer):
            self.refused.emit("Select a photo layer to move it (style and fusion layers follow their sources)")
            return None
        if layer.locked:
            self.refused.emit(f"'{layer.name}' is locked; unlock it to move it")
            return None
        return layer

    def _begin_move(self, point: QPointF) -> None:
        layer = self._movable()
        if layer is not None and self.doc is not None:
            self._move = (layer.id, point, layer.x, layer.y)
            self.doc.history.begin_gesture(f"Move {layer.name}")  # the whole drag is one undo step

    def _continue_move(self, point: QPointF) -> None:
        if self._move is None or self.doc is None:
            return
        layer_id, start, x0, y0 = self._move
        try:
            self.doc.place(layer_id, x0 + point.x() - start.x(), y0 + point.y() - start.y())
        except (KeyError, BadInputError) as exc:  # deleted or locked meanwhile
            self._end_move()
            self.refused.emit(str(exc))

    def _end_move(self) -> None:
        if self._move is not None:
            self._move = None
            if self.doc is not None:
                self.doc.history.end_gesture()

    def nudge(self, dx: int, dy: int) -> None:
        """Arrow keys: move the selected photo by whole pixels, each press one step."""
        layer = self._movable()
        if layer is not None and self.doc is not None:
            self.doc.place(layer.id, layer.x + dx, layer.y + dy)

    # -- the brush ---------------------------------------------------------------------------------
    def set_brush_target(self, target: BrushTarget | None) -> None:
        self.brush_target = target
        if target is not None and target.target != "mask":
            self.brush.value = 1.0  # painting a style's (or photo's) map: paint where it goes
        elif target is not None:
            self.brush.value = 0.0  # painting a mask: hide
        self.setCursor(Qt.CursorShape.CrossCursor if target else Qt.CursorShape.ArrowCursor)
        self._update_overlay()
        self.brush_changed.emit()
        self.update()

    def _target_map(self) -> np.ndarray | None:
        t = self.brush_target
        if t is None or self.doc is None:
            return None
        return self.doc.map_for(t.layer_id, t.target, t.style_index)

    def _begin_stroke(self, point: QPointF) -> None:
        doc, target = self.doc, self.brush_target
        if doc is None or target is None:
            return
        try:
            layer = doc.layer(target.layer_id)
        except KeyError:
            self.set_brush_target(None)
            return
        if layer.locked:
            return
        current = self._target_map()
        empty = 1.0 if target.target == "mask" else 0.0
        working = (np.full((doc.height, doc.width), empty, np.float32) if current is None
                   else current.copy())
        self._stroke = _Stroke(working, current, point, empty)
        self._stamp(point)

    def _continue_stroke(self, point: QPointF) -> None:
        if self._stroke is None:
            return
        last = self._stroke.last
        spacing = max(1.0, self.brush.size * 0.2)
        distance = math.hypot(point.x() - last.x(), point.y() - last.y())
        steps = int(distance // spacing)
        for i in range(1, steps + 1):
            t = i / (steps + 0.0) if steps else 1.0
            self._stamp(QPointF(last.x() + (point.x() - last.x()) * t, last.y() + (point.y() - last.y()) * t))
        if steps:
            self._stroke.last = point

    def _stamp(self, point: QPointF) -> None:
        stroke = self._stroke
        if stroke is None:
            return
        work = stroke.map
        h, w = work.shape
        r = max(1, int(self.brush.size / 2))
        cx, cy = int(round(point.x())), int(round(point.y()))
        x0, y0, x1, y1 = max(0, cx - r), max(0, cy - r), min(w, cx + r + 1), min(h, cy + r + 1)
        if x0 >= x1 or y0 >= y1:
            return
        dab = self.brush.dab(r)[y0 - (cy - r) : y1 - (cy - r), x0 - (cx - r) : x1 - (cx - r)]
        region = work[y0:y1, x0:x1]
        region += (self.brush.value - region) * dab
        box = stroke.box
        stroke.box = (x0, y0, x1, y1) if box is None else (
            min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1))
        self._update_overlay(work)

    def _end_stroke(self) -> None:
        stroke, self._stroke = self._stroke, None
        t = self.brush_target
        if stroke is None or stroke.box is None or t is None or self.doc is None:
            return
        x0, y0, x1, y1 = stroke.box
        before = None if stroke.before is None else stroke.before[y0:y1, x0:x1].copy()
        self.doc.paint(t.layer_id, t.target, (x0, y0, x1, y1), before, stroke.map[y0:y1, x0:x1].copy(),
                       style_index=t.style_index)
        self.stroke_finished.emit()

    def _update_overlay(self, working: np.ndarray | None = None) -> None:
        """A red tint where the map being painted hides (mask) or where the style goes (weight map)."""
        if self.brush_target is None or self.doc is None:
            self._overlay = None
            return
        try:
            values = working if working is not None else self._target_map()
        except (KeyError, IndexError):
            self._overlay = None
            return
        if values is None:
            self._overlay = None
            return
        scale = self.proxy_scale
        size = (max(1, round(self.doc.width * scale)), max(1, round(self.doc.height * scale)))
        step = max(1, round(1 / scale))
        small = resize_map(values, size) if working is None else values[::step, ::step]  # fast while painting
        shown = 1.0 - small if self.brush_target.target == "mask" else small
        rgba = np.zeros(shown.shape + (4,), np.float32)
        rgba[..., 0] = 1.0
        rgba[..., 3] = shown
        self._overlay = rgba_to_qimage(rgba)
        self.update()

    # -- dropping styles ---------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasFormat(STYLE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()  # files go to the main window

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if event.mimeData().hasFormat(STYLE_MIME):
            key = bytes(event.mimeData().data(STYLE_MIME).data()).decode()
            self.style_dropped.emit(key)
            event.acceptProposedAction()

