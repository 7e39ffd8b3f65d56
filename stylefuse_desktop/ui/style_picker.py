"""The style picker: every style as a thumbnail of the user's own photo, in sections (Favourites,
Built-in, My styles, From image), searchable; double-click applies, dragging onto the canvas adds a
style layer. Thumbnails are painted in the background at small size and cached per photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QMimeData, QPoint, QRectF, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QDrag, QFont, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..document.layers import StyleRef
from ..document.style_catalogue import StyleKind, builtin_styles, image_styles_dir, stored_styles
from ..document.style_file import STYLE_EXTENSION
from .canvas import STYLE_MIME, rgba_to_qimage

ICON = 72
KEY_ROLE = Qt.ItemDataRole.UserRole
SECTION_ROLE = Qt.ItemDataRole.UserRole + 1



def user_style_refs(skipped: list[Path] | None = None) -> list[StyleRef]:
    """The stored styles of the catalogue (the same folders the CLI lists), as a document keeps them;
    unreadable files are added to ``skipped``."""
    return [StyleRef(found.kind, found.name, found.data) for found in stored_styles(skipped=skipped)]


def skipped_styles_message(paths: list[Path]) -> str:
    """One line naming the style files a folder scan had to skip."""
    names = [p.name for p in paths]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    files = "file" if len(names) == 1 else "files"
    return f"Skipped {len(names)} unreadable style {files} (damaged or not a StyleFuse style): {shown}"


def save_image_style(ref: StyleRef) -> Path:
    from ..document.atomic import atomic_write_bytes

    folder = image_styles_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ref.key.split(':')[1]}{STYLE_EXTENSION}"
    if ref.data is None:
        raise ValueError(f"the built-in '{ref.name}' has no style file to keep")
    atomic_write_bytes(path, ref.data)
    return path


class QtStyleList(QListWidget):
    def startDrag(self, actions: Qt.DropAction) -> None:  # noqa: N802
        item = self.currentItem()
        if item is None or item.data(KEY_ROLE) is None:
            return
        mime = QMimeData()
        mime.setData(STYLE_MIME, QByteArray(item.data(KEY_ROLE).encode()))
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(item.icon().pixmap(48, 48))
        drag.exec(Qt.DropAction.CopyAction)


class QtStylePicker(QWidget):
    apply_requested = Signal(object)  # StyleRef
    export_requested = Signal(object)  # StyleRef with .sfstyle data
    add_from_image_requested = Signal()
    thumbnails_wanted = Signal(list)  # [StyleRef] without a thumbnail for the current photo
    files_skipped = Signal(str)  # one line naming the unreadable style files the last scan skipped

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = QSettings()
        self.refs: dict[str, StyleRef] = {}
        self.skipped: list[Path] = []  # unreadable style files of the last scan
        self._reported: list[Path] = []  # the ones last named to the user
        self.thumbnails: dict[str, QIcon] = {}
        self.failed: dict[str, str] = {}  # style key -> why its thumbnail will not arrive for this photo
        self.photo_generation = 0  # counts photos: an answer about an older photo's thumbnails is ignored
        self._spin_step = 0
        self._spinning = QTimer(self, interval=90)  # a style still being painted shows a turning spinner
        self._spinning.timeout.connect(self._spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit(placeholderText="Search styles", clearButtonEnabled=True)
        self.search.textChanged.connect(self._filter)
        layout.addWidget(self.search)
        self.list = QtStyleList()
        self.list.setIconSize(QSize(ICON, ICON))
        self.list.setDragEnabled(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemDoubleClicked.connect(self._activated)
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(lambda: self._activated(self.list.currentItem()))
        add = QPushButton("Add style from image…")
        add.clicked.connect(self.add_from_image_requested)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(add)
        layout.addLayout(buttons)
        self.reload()

    # -- contents ----------------------------------------------------------------------------------
    @property
    def favourites(self) -> list[str]:
        value = self.settings.value("styles/favourites", [])
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else ([str(value)] if value else [])

    def reload(self) -> None:
        """Rebuild the sections from the built-ins and the user's folders."""
        builtins = [StyleRef(StyleKind.BUILTIN, s.name) for s in builtin_styles()]
        self.skipped = []
        user = user_style_refs(self.skipped)
        self.refs = {r.key: r for r in builtins + user}
        favourites = [k for k in self.favourites if k in self.refs]
        sections = [("Favourites", [self.refs[k] for k in favourites]),
                    ("Built-in", builtins),
                    ("My styles", [r for r in user if r.kind == StyleKind.USER]),
                    ("From image", [r for r in user if r.kind == StyleKind.IMAGE])]
        current = self.list.currentItem().data(KEY_ROLE) if self.list.currentItem() else None
        self.list.clear()
        for title, refs in sections:
            if not refs and title == "Favourites":
                continue
            header = QListWidgetItem(title)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            font = QFont(header.font())
            font.setBold(True)
            header.setFont(font)
            header.setForeground(QBrush(QColor(140, 140, 140)))
            header.setData(SECTION_ROLE, title)
            self.list.addItem(header)
            if not refs:
                hint = QListWidgetItem("   (none yet)" if title == "My styles" else "   Add one from a picture")
                hint.setFlags(Qt.ItemFlag.NoItemFlags)
                hint.setData(SECTION_ROLE, title)
                self.list.addItem(hint)
            for ref in refs:
                star = "★ " if ref.key in favourites else ""
                item = QListWidgetItem(self._icon_for(ref.key), f"{star}{ref.name}")
                item.setSizeHint(QSize(0, ICON + 6))  # placeholder or thumbnail, the row keeps its height
                item.setData(KEY_ROLE, ref.key)
                item.setData(SECTION_ROLE, title)
                item.setToolTip(self._tooltip(ref))
                self.list.addItem(item)
                if ref.key == current:
                    self.list.setCurrentItem(item)
        self._filter(self.search.text())
        self.report_skipped()
        missing = [r for r in self.refs.values() if r.key not in self.thumbnails and r.key not in self.failed]
        if missing:
            self._spinning.start()
            self.thumbnails_wanted.emit(missing)

    def report_skipped(self, again: bool = False) -> None:
        """Name unreadable style files in one line; a rescan that finds the same ones says nothing."""
        if self.skipped and (again or self.skipped != self._reported):
            self.files_skipped.emit(skipped_styles_message(self.skipped))
        self._reported = list(self.skipped)

    def _icon_for(self, key: str) -> QIcon:
        if key in self.thumbnails:
            return self.thumbnails[key]
        return self._failed_icon() if key in self.failed else self._spinner(self._spin_step)

    def _tooltip(self, ref: StyleRef) -> str:
        reason = self.failed.get(ref.key)
        return _describe(ref) + (f"\nNo preview: {reason}" if reason else "")

    @staticmethod
    def _failed_icon() -> QIcon:
        """A thumbnail that will not arrive: a crossed grey tile, still, where the spinner turned."""
        pixmap = QPixmap(ICON, ICON)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        tile = QRectF(ICON * 0.18, ICON * 0.18, ICON * 0.64, ICON * 0.64)
        painter.setPen(QPen(QColor(150, 150, 160), 2))
        painter.setBrush(QColor(150, 150, 160, 40))
        painter.drawRoundedRect(tile, 6, 6)
        pen = QPen(QColor(190, 80, 70), 4)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        inset = tile.adjusted(ICON * 0.16, ICON * 0.16, -ICON * 0.16, -ICON * 0.16)
        painter.drawLine(inset.topLeft(), inset.bottomRight())
        painter.drawLine(inset.topRight(), inset.bottomLeft())
        painter.end()
        return QIcon(pixmap)

    @staticmethod
    def _spinner(step: int) -> QIcon:
        pixmap = QPixmap(ICON, ICON)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(150, 150, 160), 4)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawArc(QRectF(ICON * 0.32, ICON * 0.32, ICON * 0.36, ICON * 0.36), -step * 30 * 16, 270 * 16)
        painter.end()
        return QIcon(pixmap)

    def _spin(self) -> None:
        self._spin_step += 1
        waiting = [item for item in map(self.list.item, range(self.list.count()))
                   if item.data(KEY_ROLE) and item.data(KEY_ROLE) not in self.thumbnails
                   and item.data(KEY_ROLE) not in self.failed]
        if not waiting:
            self._spinning.stop()
            return
        icon = self._spinner(self._spin_step)
        for item in waiting:
            item.setIcon(icon)

    def set_thumbnail(self, key: str, rgb: np.ndarray) -> None:
        icon = QIcon(QPixmap.fromImage(rgba_to_qimage(np.dstack([rgb, np.ones(rgb.shape[:2], np.float32)]))))
        self.thumbnails[key] = icon
        self.failed.pop(key, None)
        for item in self.items():
            if item.data(KEY_ROLE) == key:
                item.setIcon(icon)
                item.setToolTip(self._tooltip(self.refs[key]))

    def thumbnails_failed(self, failures: list[tuple[str, str]], generation: int) -> None:
        """Thumbnails that will not arrive for the photo of ``generation`` (a style that cannot paint, a
        failed or cancelled job), each with the reason: they show a still, crossed tile and say why in
        their tooltip instead of spinning for ever. The next photo tries them again."""
        if generation != self.photo_generation:
            return
        self.failed.update((key, reason) for key, reason in failures if key not in self.thumbnails)
        icon = self._failed_icon()
        for item in self.items():
            key = item.data(KEY_ROLE)
            if key in self.failed and key in self.refs:
                item.setIcon(icon)
                item.setToolTip(self._tooltip(self.refs[key]))

    def forget_thumbnails(self) -> None:
        """The photo changed: every thumbnail must be painted again (those that failed too)."""
        self.photo_generation += 1
        self.thumbnails.clear()
        self.failed.clear()
        self.reload()

    def items(self) -> list[QListWidgetItem]:
        return [self.list.item(r) for r in range(self.list.count()) if self.list.item(r).data(KEY_ROLE)]

    def select(self, key: str) -> None:
        for item in self.items():
            if item.data(KEY_ROLE) == key:
                self.list.setCurrentItem(item)
                return

    # -- gestures ----------------------------------------------------------------------------------
    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        visible_sections = set()
        for item in self.items():
            hidden = bool(needle) and needle not in item.text().lower()
            item.setHidden(hidden)
            if not hidden:
                visible_sections.add(item.data(SECTION_ROLE))
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(KEY_ROLE) is None:
                item.setHidden(bool(needle) and item.data(SECTION_ROLE) not in visible_sections)

    def _activated(self, item: QListWidgetItem | None) -> None:
        if item is not None and item.data(KEY_ROLE) in self.refs:
            self.apply_requested.emit(self.refs[item.data(KEY_ROLE)])

    def toggle_favourite(self, key: str) -> None:
        favourites = self.favourites
        if key in favourites:
            favourites.remove(key)
        else:
            favourites.append(key)
        self.settings.setValue("styles/favourites", favourites)
        self.reload()

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(KEY_ROLE) is None:
            return
        key = item.data(KEY_ROLE)
        menu = QMenu(self)
        menu.addAction("Apply", lambda: self._activated(item))
        menu.addAction("Remove from favourites" if key in self.favourites else "Add to favourites",
                       lambda: self.toggle_favourite(key))
        if self.refs[key].data is not None:
            menu.addAction("Export style file…", lambda: self.export_requested.emit(self.refs[key]))
        menu.exec(self.list.mapToGlobal(pos))


def _describe(ref: StyleRef) -> str:
    if ref.kind == StyleKind.BUILTIN:
        found = next((s for s in builtin_styles() if s.name == ref.name), None)
        return f"{ref.name}: {found.description}" if found else ref.name
    return f"{ref.name} ({'your style' if ref.kind == StyleKind.USER else 'from a picture'})"

