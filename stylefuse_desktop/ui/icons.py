"""Small icons drawn by StyleFuse itself (no icon font or theme needed): eye, lock, brush."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

SIZE = 32


def _canvas() -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pixmap, painter


@cache
def eye(open_: bool = True, colour: str = "#505058") -> QIcon:
    pixmap, p = _canvas()
    pen = QPen(QColor(colour), 2.4)
    p.setPen(pen)
    path = QPainterPath()
    path.moveTo(3, 16)
    path.quadTo(16, 3, 29, 16)
    path.quadTo(16, 29, 3, 16)
    if open_:
        p.drawPath(path)
        p.setBrush(QColor(colour))
        p.drawEllipse(QPointF(16, 16), 4.5, 4.5)
    else:
        pen.setColor(QColor(colour).lighter(170))
        p.setPen(pen)
        p.drawPath(path)
        p.drawLine(6, 26, 26, 6)
    p.end()
    return QIcon(pixmap)


@cache
def lock(closed: bool = True, colour: str = "#505058") -> QIcon:
    pixmap, p = _canvas()
    p.setPen(QPen(QColor(colour if closed else "#a0a0a8"), 2.4))
    shackle = QPainterPath()
    shackle.moveTo(10, 15)
    shackle.lineTo(10, 10)
    shackle.arcTo(QRectF(10, 4, 12, 12), 180, -180)
    shackle.lineTo(22, 15 if closed else 11)
    p.drawPath(shackle)
    p.setBrush(QColor(colour if closed else "#a0a0a8"))
    p.drawRoundedRect(QRectF(7, 15, 18, 13), 2, 2)
    p.end()
    return QIcon(pixmap)


@cache
def brush(colour: str = "#505058") -> QIcon:
    pixmap, p = _canvas()
    pen = QPen(QColor(colour), 3.0)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.drawLine(QPointF(27, 5), QPointF(14, 18))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#c0392b"))
    tip = QPainterPath()
    tip.moveTo(15, 15)
    tip.cubicTo(9, 13, 5, 20, 4, 28)
    tip.cubicTo(12, 27, 19, 23, 17, 17)
    tip.closeSubpath()
    p.drawPath(tip)
    p.end()
    return QIcon(pixmap)
