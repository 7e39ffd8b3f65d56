"""The main window: canvas in the middle, Styles on the left, Layers, Fusion and History on the right,
menus and shortcuts, a status bar with progress, cancel and the device in use.

It owns the open document and the paintings of its style layers, turns panel gestures into document
calls, and hands all engine work to workers (``engine_jobs``). It never imports torch itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import locations
from ..document.autosave import Autosaver
from ..document.compositor import Painted, RenderStore, composite
from ..document.document import Document
from ..document.image_io import READ_EXTENSIONS, WRITE_FORMATS, read_image
from ..document.layers import FusionLayer, FusionSource, ImageLayer, StyleEntry, StyleLayer, StyleRef
from ..document.operations import (
    NeedsPainting,
    document_from_photo,
    duplicate_layer,
    flatten,
    layer_from_photo,
    merge_down,
)
from ..document.project import PROJECT_EXTENSION, load_project, save_project
from ..document.style_file import STYLE_EXTENSION, read_style_file
from ..document.user_files import one_line
from ..errors import StyleFuseError
from ..memory import release_memory
from . import engine_jobs, icons
from .canvas import QtCanvas
from .dialogs import Preferences, QtPreferencesDialog, show_about
from .feedback import user_message
from .engine_jobs import EngineOptions
from .fusion_panel import QtFusionPanel
from .layers_panel import QtLayersPanel
from .style_picker import QtStylePicker, save_image_style
from .workers import Job, LatestOnly

IMAGE_FILTER = "Photos (" + " ".join(f"*{e}" for e in sorted(READ_EXTENSIONS)) + ")"
PROJECT_FILTER = f"StyleFuse projects (*{PROJECT_EXTENSION})"
HINT = ("Try this: double-click a style on the left, move its sliders on the right, then paint where it goes "
        "with the brush. Space-drag pans, the wheel zooms, [ and ] size the brush.")
THUMB_SIDE = 96
MAX_RECENT = 8


class QtMessageBar(QFrame):
    """A line above the canvas for errors and notices: never a modal box the user must dismiss."""

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        close = QToolButton(text="✕", autoRaise=True)
        close.clicked.connect(self.hide)
        row.addWidget(self.label, 1)
        row.addWidget(close)
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(self.hide)
        self.hide()

    def show_text(self, text: str, error: bool) -> None:
        colour = "#7a1f1f" if error else "#1f4f7a"
        self.setStyleSheet(f"QFrame {{ background: {colour}; color: white; border-radius: 4px; }}")
        self.label.setText(text)
        self.show()
        self.timer.start(15000 if error else 6000)


class MainWindow(QMainWindow):
    painted = Signal()  # paintings arrived and are on the canvas
    busy_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.settings = QSettings()
        self.prefs = Preferences.load(self.settings)
        self.doc: Document | None = None
        self.renders = RenderStore()
        self.jobs = LatestOnly()
        self.jobs.started.connect(self._job_started)
        self._active_jobs: list[Job] = []
        self.engine_ready = False
        self.device_text = "starting…"
        self.interacting = False
        self.autosaver = Autosaver(locations.data_dir() / "autosave")
        self._thumb_photo_key = None

        self.setWindowTitle("StyleFuse")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.canvas = QtCanvas()
        self.canvas.proxy_side = self.prefs.preview_side
        self.message_bar = QtMessageBar()
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.message_bar)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(centre)

        self.style_picker = QtStylePicker()
        self.layers_panel = QtLayersPanel()
        self.fusion_panel = QtFusionPanel()
        self.history_list = QListWidget()
        self._docks = {}
        for title, widget, area in (("Styles", self.style_picker, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Layers", self.layers_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Fusion", self.fusion_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("History", self.history_list, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{title.lower()}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self._docks[title] = dock
        self.tabifyDockWidget(self._docks["Fusion"], self._docks["History"])
        self._docks["Fusion"].raise_()

        self._build_status_bar()
        self._build_actions()
        self._connect_panels()

        self.paint_timer = QTimer(self, singleShot=True, interval=30)
        self.paint_timer.timeout.connect(lambda: self.schedule_paint(draft=self.interacting))
        self.quality_timer = QTimer(self, singleShot=True, interval=350)
        self.quality_timer.timeout.connect(lambda: self.schedule_paint(draft=False))
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(self.prefs.autosave_minutes * 60_000)

        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        self._update_title()
        self._update_actions()

    # -- construction ------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_text = QLabel(HINT)
        self.progress = QProgressBar(maximum=1000, maximumWidth=220, textVisible=False)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_work)
        self.device_label = QLabel("Engine: starting…")
        self.zoom_label = QLabel("")
        bar.addWidget(self.status_text, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.zoom_label)
        bar.addPermanentWidget(self.device_label)

    def _action(self, menu, text, slot, shortcut=None, checkable=False, tip=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        menus = self.menuBar()
        file = menus.addMenu("&File")
        self._action(file, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self._action(file, "Add Photo as &Layer…", self.add_photo_dialog, "Ctrl+Shift+O")
        file.addSeparator()
        self.save_action = self._action(file, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file, "Save &As…", self.save_as_dialog, QKeySequence.StandardKey.SaveAs)
        file.addSeparator()
        self.export_action = self._action(file, "&Export…", lambda: self.export_dialog(None), "Ctrl+E")
        self._action(file, "Export &Layer…", lambda: self.export_dialog(self.doc.selected_id if self.doc else None),
                     "Ctrl+Shift+E")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = menus.addMenu("&Edit")
        self.undo_action = self._action(edit, "&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(edit, "&Redo", self.redo, QKeySequence.StandardKey.Redo)
        edit.addSeparator()
        self._action(edit, "&Preferences…", self.preferences_dialog, QKeySequence.StandardKey.Preferences)

        view = menus.addMenu("&View")
        self._action(view, "Zoom &In", lambda: self.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Zoom &Out", lambda: self.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
        self._action(view, "&Fit to Window", self.canvas.fit, "Ctrl+0")
        self._action(view, "&Actual Pixels (100%)", self.canvas.actual_pixels, "Ctrl+1")
        self.split_action = self._action(view, "&Before / After", lambda on: self.canvas.set_split(on), "Ctrl+B",
                                         checkable=True)
        view.addSeparator()
        for dock in self._docks.values():
            view.addAction(dock.toggleViewAction())

        layer = menus.addMenu("&Layer")
        self._action(layer, "New &Style Layer", lambda: self.add_style_layer(None), "Ctrl+Shift+N")
        self._action(layer, "New &Fusion Layer", self.add_fusion_layer, "Ctrl+Shift+F")
        self._action(layer, "&Duplicate", self.duplicate, "Ctrl+J")
        self._action(layer, "Delete", self.delete_layer, QKeySequence.StandardKey.Delete)
        layer.addSeparator()
        self._action(layer, "Merge &Down", self.merge_down, "Ctrl+Shift+M")
        self._action(layer, "Flatten &Image", self.flatten, "Ctrl+Shift+Alt+F")
        layer.addSeparator()
        self.brush_action = self._action(layer, "Paint Layer &Mask (Brush)", self.toggle_mask_brush, "B",
                                         checkable=True)
        self.move_action = self._action(layer, "Mo&ve Photo Layer", self.toggle_move_tool, "V", checkable=True,
                                        tip="Drag the selected photo on the canvas; arrow keys nudge it")
        self.move_action.setIconText("Move")
        self.move_action.setToolTip("Move the selected photo layer (V)")
        self._action(layer, "S&cale Photo Layer…", self.scale_layer_dialog)

        styles = menus.addMenu("&Styles")
        self._action(styles, "Add Style from &Image…", self.add_style_from_image_dialog)
        self._action(styles, "&Import Style File…", self.import_style_dialog)
        styles.addSeparator()
        self._action(styles, "&Train on My Images…", self.train_dialog, "Ctrl+T")

        help_menu = menus.addMenu("&Help")
        self._action(help_menu, "&About StyleFuse", lambda: show_about(self))
        self._refresh_recent_menu()

        tools = self.addToolBar("Tools")
        tools.setObjectName("toolbar-main")
        tools.setMovable(False)
        for text, handler, tip in (("Open", self.open_dialog, "Open a photo or project (Ctrl+O)"),
                                   ("Save", self.save, "Save the project (Ctrl+S)"),
                                   ("Export", lambda: self.export_dialog(None), "Export at full size (Ctrl+E)")):
            tools.addAction(text, handler).setToolTip(tip)
        tools.addSeparator()
        tools.addAction(self.undo_action)
        tools.addAction(self.redo_action)
        tools.addSeparator()
        self.brush_action.setIcon(icons.brush())
        tools.addAction(self.brush_action)
        tools.addAction(self.move_action)
        tools.addAction(self.split_action)
        tools.addSeparator()
        tools.addAction("Fit", self.canvas.fit).setToolTip("Fit to window (Ctrl+0)")
        tools.addAction("100%", self.canvas.actual_pixels).setToolTip("Actual pixels (Ctrl+1)")

    def _connect_panels(self) -> None:
        lp = self.layers_panel
        lp.add_style_requested.connect(lambda: self.add_style_layer(None))
        lp.add_fusion_requested.connect(self.add_fusion_layer)
        lp.add_photo_requested.connect(self.add_photo_dialog)
        lp.duplicate_requested.connect(self.duplicate)
        lp.delete_requested.connect(self.delete_layer)
        lp.merge_down_requested.connect(self.merge_down)
        lp.flatten_requested.connect(self.flatten)
        self.style_picker.apply_requested.connect(self.apply_style)
        self.style_picker.add_from_image_requested.connect(self.add_style_from_image_dialog)
        self.style_picker.export_requested.connect(self.export_style_dialog)
        self.style_picker.thumbnails_wanted.connect(self._paint_thumbnails)
        self.fusion_panel.interaction.connect(self._set_interacting)
        self.fusion_panel.brush_target_changed.connect(self._brush_target)
        self.canvas.style_dropped.connect(self._style_dropped)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.canvas.brush_changed.connect(self._brush_status)
        self.canvas.refused.connect(lambda text: self.show_message(text, error=True))
        self.history_list.itemClicked.connect(
            lambda item: self.doc and self.doc.history.go_to(self.history_list.row(item) + 1))

    # -- documents ---------------------------------------------------------------------------------
    def set_document(self, doc: Document | None, renders: RenderStore | None = None) -> None:
        if self.doc is not None:
            self.doc.layers_changed.disconnect(self._document_changed)
            self.doc.layer_changed.disconnect(self._layer_changed)
            self.doc.history.changed.disconnect(self._history_changed)
            self.doc.selection_changed.disconnect(self._selection_changed)
        for key in ("paint", "thumbnails", "bake"):  # work for the old document; the engine start stays
            self.jobs.cancel(key)
        self.doc = doc
        self.renders = renders or RenderStore()
        self.canvas.set_document(doc, self.renders)
        self.layers_panel.set_document(doc, self.renders)
        self.fusion_panel.set_document(doc)
        if doc is not None:
            doc.layers_changed.connect(self._document_changed)
            doc.layer_changed.connect(self._layer_changed)
            doc.history.changed.connect(self._history_changed)
            doc.selection_changed.connect(self._selection_changed)
        self._history_changed()
        self._update_title()
        self._update_actions()
        self._thumb_photo_key = None
        self.style_picker.forget_thumbnails()
        self.schedule_paint(draft=False)

    def _document_changed(self) -> None:
        self.canvas.refresh()
        self._request_paint()
        self._update_actions()

    def _layer_changed(self, layer_id: str, field: str) -> None:
        if field in ("name", "locked"):
            return
        self.canvas.refresh()
        self._request_paint()

    def _selection_changed(self, layer_id: str) -> None:
        self.canvas.set_brush_target(None)
        self.brush_action.setChecked(False)
        self._update_actions()

    def _history_changed(self) -> None:
        self.history_list.clear()
        if self.doc is not None:
            self.history_list.addItems(self.doc.history.entries)
            index = self.doc.history.index
            for row in range(self.history_list.count()):
                item = self.history_list.item(row)
                item.setForeground(self.palette().text() if row < index else self.palette().mid())
            if index:
                self.history_list.setCurrentRow(index - 1)
        self._update_title()
        self._update_actions()

    def _update_title(self) -> None:
        if self.doc is None:
            self.setWindowTitle("StyleFuse")
            return
        name = self.doc.path.name if self.doc.path else self.doc.title
        dirty = "" if self.doc.history.is_clean else " •"
        self.setWindowTitle(f"{name}{dirty} ({self.doc.width}×{self.doc.height}) – StyleFuse")

    def _update_actions(self) -> None:
        history = self.doc.history if self.doc else None
        self.undo_action.setEnabled(bool(history and history.can_undo))
        self.redo_action.setEnabled(bool(history and history.can_redo))
        self.undo_action.setText("&Undo")
        self.redo_action.setText("&Redo")
        self.undo_action.setToolTip(f"Undo {history.undo_text}" if history and history.undo_text else "Undo")
        self.redo_action.setToolTip(f"Redo {history.redo_text}" if history and history.redo_text else "Redo")
        self.undo_action.setStatusTip(self.undo_action.toolTip())

    # -- opening and saving --------------------------------------------------------------------------
    def start(self, paths: list[str]) -> None:
        """After the window shows: offer crash recovery, open the given files or the sample photo, and
        start the engine in the background."""
        self.autosaver.start()
        self.warm_up()
        # a double-clicked style file arrives here: it joins My styles, and the editor opens as usual
        styles = [p for p in paths if Path(p).suffix.lower() == STYLE_EXTENSION]
        for style in styles:
            self.import_style(Path(style))
        paths = [p for p in paths if p not in styles]
        recoverable = self.autosaver.recoverable()
        if recoverable and self._ask_recover(recoverable[0]):
            try:
                doc, renders = self.autosaver.recover(recoverable[0])
                self.set_document(doc, renders)
                self.autosaver.discard(recoverable[0])
                self.show_message(f"Recovered '{recoverable[0].title}' from the last autosave.")
                return
            except StyleFuseError as exc:
                self.show_message(f"The autosave could not be recovered: {exc}", error=True)
        elif recoverable:
            self.autosaver.discard(recoverable[0])
        if paths:
            self.open_path(paths[0])
            for extra in paths[1:]:
                self.add_photo(extra)
        else:
            self.open_path(str(locations.sample_photo_path()), remember=False)
            self.status_text.setText(HINT)

    def _ask_recover(self, item) -> bool:
        saved = time.strftime("%H:%M on %d %b", time.localtime(item.saved_at))
        answer = QMessageBox.question(self, "Recover your work?",
                                      f"StyleFuse closed unexpectedly. Recover '{item.title}', autosaved at {saved}?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._last_folder(),
                                              f"{IMAGE_FILTER};;{PROJECT_FILTER};;All files (*)")
        if path and self.confirm_discard():
            self.open_path(path)

    def open_path(self, path: str, remember: bool = True) -> bool:
        """Open a project or a photo as the document. On failure the current document stays."""
        try:
            if path.lower().endswith(PROJECT_EXTENSION):
                doc, renders = load_project(path)
            else:
                photo = read_image(path)
                doc, renders = document_from_photo(photo, Path(path).stem), None
        except (StyleFuseError, OSError, MemoryError, ValueError) as exc:
            self.show_message(user_message(exc, f"Opening {Path(path).name}"), error=True)
            return False
        self.set_document(doc, renders)
        release_memory()  # the decoded photo's float copy is gone: give the memory back
        if remember:
            self._remember(path)
        return True

    def add_photo_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add photo as layer", self._last_folder(), IMAGE_FILTER)
        if path:
            self.add_photo(path)

    def add_photo(self, path: str) -> None:
        if self.doc is None:
            self.open_path(path)
            return
        try:
            layer = layer_from_photo(read_image(path), Path(path).stem, self.doc)
        except (StyleFuseError, OSError, MemoryError, ValueError) as exc:
            self.show_message(user_message(exc, f"Adding {Path(path).name}"), error=True)
            return
        self.doc.add_layer(layer)

    def save(self) -> None:
        if self.doc is None:
            return
        if self.doc.path is None:
            self.save_as_dialog()
        else:
            self.save_to(self.doc.path)

    def save_as_dialog(self) -> None:
        if self.doc is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save project", str(Path(self._last_folder()) / "Untitled.sfproj"),
                                              PROJECT_FILTER)
        if path:
            if not path.lower().endswith(PROJECT_EXTENSION):
                path += PROJECT_EXTENSION
            self.save_to(Path(path))

    def save_to(self, path: Path) -> Job:
        """Save in a worker (a large project takes seconds to encode); the history is marked clean at
        the step that was saved."""
        doc = self.doc
        index = doc.history.index
        snapshot = doc.snapshot()

        def save(progress) -> Path:
            progress.report(0.2, f"Saving {path.name}")
            return save_project(snapshot, path, self.renders)

        def done(result: Path) -> None:
            if self.doc is doc:
                doc.path = result
                if doc.history.index == index:
                    doc.history.mark_clean()
                self._update_title()
            self._remember(str(result))
            self.show_message(f"Saved {result.name}")

        return self.run_job(Job(f"Saving {path.name}", save), "save", done)

    def export_dialog(self, layer_id: str | None) -> None:
        if self.doc is None:
            return
        filters = "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp);;TIFF (*.tif *.tiff)"
        base = self.doc.path.stem if self.doc.path else "stylefuse"
        path, _ = QFileDialog.getSaveFileName(self, "Export", str(Path(self._last_folder()) / f"{base}.png"), filters)
        if not path:
            return
        if Path(path).suffix.lower() not in WRITE_FORMATS:
            path += ".png"
        quality = 95
        if Path(path).suffix.lower() in (".jpg", ".jpeg", ".webp"):
            quality, ok = QInputDialog.getInt(self, "Quality", "Quality (1-100):", 95, 1, 100)
            if not ok:
                return
        self.export(Path(path), quality, layer_id)

    def export(self, path: Path, quality: int = 95, layer_id: str | None = None) -> Job | None:
        from ..document.output_plan import plan_outputs

        try:  # before any painting: a folder that vanished, a name that is a folder
            plan_outputs([path], WRITE_FORMATS)
        except StyleFuseError as exc:
            self.show_message(user_message(exc, f"Exporting {path.name}"), error=True)
            return None
        snapshot = self.doc.snapshot()
        return self.run_job(Job(f"Exporting {path.name}", engine_jobs.export_document, snapshot, self.renders, path,
                                quality, layer_id, self.engine_options()),
                            "export", lambda out: self.show_message(f"Exported {Path(out).name} at full size"))

    def confirm_discard(self) -> bool:
        if self.doc is None or self.doc.history.is_clean:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save your changes first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            self.save()
            return self.doc.history.is_clean
        return answer == QMessageBox.StandardButton.Discard

    def autosave(self) -> None:
        if self.doc is None or self.doc.history.is_clean:
            return
        snapshot = self.doc.snapshot()
        self.run_job(Job("Autosaving", lambda progress: self.autosaver.save(snapshot)), "autosave", lambda _: None,
                     quiet=True)

    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        self.settings.setValue("files/recent", [path, *recent][:MAX_RECENT])
        self.settings.setValue("files/last_folder", str(Path(path).parent))
        self._refresh_recent_menu()

    def _recent(self) -> list[str]:
        value = self.settings.value("files/recent", [])
        return list(value) if isinstance(value, (list, tuple)) else ([value] if value else [])

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.confirm_discard() and self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def _last_folder(self) -> str:
        return str(self.settings.value("files/last_folder", str(Path.home())))

    # -- layers and styles ---------------------------------------------------------------------------
    def _guard(self, action) -> None:
        try:
            action()
        except NeedsPainting:
            raise
        except StyleFuseError as exc:
            self.show_message(str(exc), error=True)

    def apply_style(self, ref: StyleRef) -> None:
        """Add a style to the selected style layer, or a new style layer painting it."""
        if self.doc is None:
            return
        layer = self.doc.selected
        if isinstance(layer, (StyleLayer, FusionLayer)):
            self._guard(lambda: self.doc.add_style(layer.id, StyleEntry(ref)))
        else:
            self.add_style_layer(ref)

    def add_style_layer(self, ref: StyleRef | None) -> None:
        if self.doc is None:
            return
        if ref is None:
            current = self.style_picker.list.currentItem()
            key = current.data(Qt.ItemDataRole.UserRole) if current else None
            ref = self.style_picker.refs.get(key) or StyleRef("builtin", "Golden Haze")
        selected = self.doc.selected
        index = self.doc.index_of(selected.id) + 1 if selected else len(self.doc.layers)
        self.doc.add_layer(StyleLayer(name=ref.name, styles=(StyleEntry(ref),)), index)

    def add_fusion_layer(self) -> None:
        if self.doc is None:
            return
        photos = [lay for lay in self.doc.layers if isinstance(lay, ImageLayer)]
        current = self.style_picker.list.currentItem()
        ref = self.style_picker.refs.get(current.data(Qt.ItemDataRole.UserRole) if current else None)
        ref = ref or StyleRef("builtin", "Golden Haze")
        self.doc.add_layer(FusionLayer(name="Fusion", sources=tuple(FusionSource(p.id) for p in photos),
                                       styles=(StyleEntry(ref),)))
        if len(photos) < 2:
            self.show_message("A fusion layer blends several photos: add more with File ▸ Add Photo as Layer.")

    def duplicate(self) -> None:
        if self.doc and self.doc.selected:
            self._guard(lambda: duplicate_layer(self.doc, self.doc.selected_id))

    def delete_layer(self) -> None:
        if self.doc and self.doc.selected:
            self._guard(lambda: self.doc.remove_layer(self.doc.selected_id))

    def merge_down(self) -> None:
        if self.doc and self.doc.selected:
            layer_id = self.doc.selected_id
            self._bake(lambda: merge_down(self.doc, layer_id, self.renders))

    def flatten(self) -> None:
        if self.doc:
            self._bake(lambda: flatten(self.doc, self.renders))

    def _bake(self, action) -> None:
        """Run a pixel-baking operation, painting missing full-size layers first."""
        try:
            self._guard(action)
        except NeedsPainting as needed:
            snapshot = self.doc.snapshot()

            def painted(results) -> None:
                for layer_id, item in results:
                    self.renders.put(layer_id, item)
                self._guard(action)

            self.run_job(Job("Painting at full size", engine_jobs.paint_layers, snapshot, needed.layer_ids,
                             self.renders, 1.0, False, self.engine_options()), "bake", painted)

    def undo(self) -> None:
        if self.doc:
            self.doc.history.undo()

    def redo(self) -> None:
        if self.doc:
            self.doc.history.redo()

    def _style_dropped(self, key: str) -> None:
        ref = self.style_picker.refs.get(key)
        if ref is not None and self.doc is not None:
            self.doc.add_layer(StyleLayer(name=ref.name, styles=(StyleEntry(ref),)))

    def add_style_from_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add style from image", self._last_folder(), IMAGE_FILTER)
        if path:
            self.add_style_from_image(Path(path))

    def add_style_from_image(self, path: Path) -> Job:
        def done(ref: StyleRef) -> None:
            save_image_style(ref)
            self.style_picker.reload()
            self.style_picker.select(ref.key)
            self.show_message(f"'{ref.name}' is now a style: double-click it to apply")

        return self.run_job(Job(f"Learning the style of {path.name}", engine_jobs.style_from_image, path),
                            "style-image", done)

    def export_style_dialog(self, ref: StyleRef) -> None:
        suggested = str(Path(self._last_folder()) / f"{ref.name}{STYLE_EXTENSION}")
        path, _ = QFileDialog.getSaveFileName(self, "Export style", suggested, f"StyleFuse styles (*{STYLE_EXTENSION})")
        if path:
            self.export_style(ref, Path(path))

    def export_style(self, ref: StyleRef, path: Path) -> bool:
        """Write a style to share: the same .sfstyle bytes StyleFuse keeps (never a pickle)."""
        from ..document.atomic import atomic_write_bytes

        if path.suffix.lower() != STYLE_EXTENSION:
            path = path.with_suffix(STYLE_EXTENSION)
        try:
            atomic_write_bytes(path, ref.data)
        except OSError as exc:
            self.show_message(f"{path}: cannot be written ({exc.strerror or exc})", error=True)
            return False
        self.show_message(f"Exported the style '{ref.name}' to {path.name}")
        return True

    def import_style_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import style", self._last_folder(),
                                              f"StyleFuse styles (*{STYLE_EXTENSION})")
        if path:
            self.import_style(Path(path))

    def import_style(self, path: Path) -> bool:
        """Copy a .sfstyle into My styles; a style of the same name is kept and the import renamed."""
        from ..document.style_file import write_style_file
        from ..engine.styles import user_styles_taken

        try:
            style = read_style_file(path)
            target, style.name = user_styles_taken(path.stem, style.name)
            write_style_file(target, style)
        except (StyleFuseError, OSError, MemoryError, ValueError) as exc:
            self.show_message(user_message(exc, f"Importing {Path(path).name}"), error=True)
            return False
        self.style_picker.reload()
        self.show_message(f"Imported the style '{style.name}' into My styles")
        return True

    def train_dialog(self):
        from .train_dialog import QtTrainDialog

        preview, extra = None, ()
        if self.doc is not None:
            photos = [lay for lay in self.doc.layers if isinstance(lay, ImageLayer)]
            scale = min(1.0, 384 / max(self.doc.width, self.doc.height))
            rgba = composite(self.doc, None, scale, layers=photos)
            preview = np.ascontiguousarray(rgba[..., :3] * rgba[..., 3:4] + (1 - rgba[..., 3:4]))
            extra = (preview,)  # the photos open in the editor join the content the style learns to paint
        dialog = QtTrainDialog(self, preview, extra)
        dialog.style_ready.connect(lambda path: (self.style_picker.reload(),
                                                 self.show_message(f"'{path.stem}' is in My styles")))
        dialog.apply_requested.connect(self._apply_style_file)
        dialog.show()
        self.train = dialog
        return dialog

    def _apply_style_file(self, path: Path) -> None:
        try:
            style = read_style_file(path)
        except (StyleFuseError, OSError, MemoryError, ValueError) as exc:
            self.show_message(user_message(exc, f"Applying {Path(path).name}"), error=True)
            return
        self.apply_style(StyleRef("user", style.name, path.read_bytes()))

    # -- the brush ---------------------------------------------------------------------------------
    def toggle_move_tool(self, on: bool) -> None:
        if on:
            self.fusion_panel.stop_painting()
            self.brush_action.setChecked(False)
        self.move_action.setChecked(on)
        self.canvas.set_move_tool(on)
        self._brush_status()

    def scale_layer_dialog(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        layer = self.doc.selected if self.doc else None
        if not isinstance(layer, ImageLayer):
            self.show_message("Select a photo layer to scale it", error=True)
            return
        percent, ok = QInputDialog.getDouble(self, "Scale photo layer", "Scale (% of the photo's own size):",
                                             layer.scale * 100, 1.0, 1600.0, 1)
        if ok:
            self.scale_layer(layer.id, percent / 100)

    def scale_layer(self, layer_id: str, scale: float) -> None:
        """Rescale a photo layer about its centre, as one step."""
        layer = self.doc.layer(layer_id)
        width, height = layer.raster.size
        cx, cy = layer.x + width * layer.scale / 2, layer.y + height * layer.scale / 2
        self._guard(lambda: self.doc.place(layer_id, cx - width * scale / 2, cy - height * scale / 2, scale))

    def toggle_mask_brush(self, on: bool) -> None:
        from .canvas import BrushTarget

        self.fusion_panel.stop_painting()
        if on:
            self.toggle_move_tool(False)
        if on and self.doc is not None and self.doc.selected is not None:
            self.canvas.set_brush_target(BrushTarget(self.doc.selected_id, "mask", None, "the layer mask"))
        else:
            self.canvas.set_brush_target(None)
            self.brush_action.setChecked(False)
        self._brush_status()

    def _brush_target(self, target) -> None:
        self.brush_action.setChecked(False)
        if target is not None:
            self.toggle_move_tool(False)
        self.canvas.set_brush_target(target)
        self._brush_status()

    def _brush_status(self) -> None:
        target = self.canvas.brush_target
        if self.canvas.move_tool:
            self.status_text.setText("Move: drag the selected photo layer; arrow keys nudge it (Shift: 10 px). "
                                     "V again to stop.")
            return
        if target is None:
            self.status_text.setText(HINT if self.doc else "")
            return
        mode = "adds" if self.canvas.brush.value >= 0.5 else "removes"
        self.status_text.setText(f"Brush on {target.label}: {self.canvas.brush.size:.0f} px, {mode} (X swaps, "
                                 "[ ] size). Click the brush button again to stop.")

    # -- engine work ---------------------------------------------------------------------------------
    def engine_options(self) -> EngineOptions:
        return EngineOptions(device=self.prefs.device, tile_memory_mb=self.prefs.tile_memory_mb)

    def warm_up(self) -> None:
        def ready(device: str) -> None:
            self.engine_ready = True
            self.device_text = device
            self.device_label.setText(f"Engine: {device}")
            self.schedule_paint(draft=False)
            self.style_picker.reload()

        job = Job("Starting the style engine", engine_jobs.warm_up)
        job.progressed.connect(lambda f, m: self.status_text.setText(m))
        self.run_job(job, "warm-up", ready)

    def run_job(self, job: Job, key: str, on_success, quiet: bool = False) -> Job:
        job.succeeded.connect(on_success)
        job.failed.connect(lambda exc: self._job_failed(job, exc))
        job.quiet = quiet
        self.jobs.submit(key, lambda: job)
        return job

    def _job_started(self, job: Job) -> None:
        self._active_jobs.append(job)
        job.finished.connect(lambda j=job: self._job_finished(j))
        if not getattr(job, "quiet", False):
            job.progressed.connect(self._progressed)
        self._show_busy()

    def _job_finished(self, job: Job) -> None:
        if job in self._active_jobs:
            self._active_jobs.remove(job)
        self._show_busy()

    def _show_busy(self) -> None:
        visible = [j for j in self._active_jobs if not getattr(j, "quiet", False)]
        busy = bool(visible)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.status_text.setText(visible[-1].title)
        else:
            self._brush_status()  # back to what the current tool says (or the hint)
        self.busy_changed.emit(busy)

    def _progressed(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))

    def _job_failed(self, job: Job, exc: BaseException) -> None:
        if not isinstance(exc, StyleFuseError) and (isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()):
            self.show_message(f"{job.title} ran out of memory. Lower the tile memory or stroke size in the "
                              "preferences; your document is unchanged.", error=True)
        else:
            self.show_message(user_message(exc, job.title), error=True)

    def cancel_work(self) -> None:
        """The Cancel button: stop what runs; painting resumes with the next change the user makes."""
        self.paint_timer.stop()
        self.quality_timer.stop()
        for key in ("paint", "thumbnails", "bake", "export", "style-image", "save"):
            self.jobs.cancel(key)
        self.show_message("Cancelled")

    def _set_interacting(self, on: bool) -> None:
        self.interacting = on
        if not on:
            self.quality_timer.start()

    def _request_paint(self) -> None:
        self.paint_timer.start()
        if self.interacting:
            self.quality_timer.stop()
        else:
            self.quality_timer.start()

    def stale_layers(self, draft: bool) -> list[str]:
        if self.doc is None:
            return []
        scale = self.canvas.proxy_scale
        stale = []
        for layer_id in engine_jobs.paintable(self.doc):
            layer = self.doc.layer(layer_id)
            painted = self.renders.get(layer_id, scale)
            if painted is None or painted.signature != self.doc.signature(layer) or (painted.draft and not draft):
                stale.append(layer_id)
        if stale:  # anything above a stale layer that paints from what is below must follow
            first = min(self.doc.index_of(i) for i in stale)
            stale = [i for i in engine_jobs.paintable(self.doc) if self.doc.index_of(i) >= first]
        return stale

    def schedule_paint(self, draft: bool) -> None:
        """Paint stale style/fusion layers at the canvas's scale; the newest request replaces older ones."""
        if self.doc is None or not self.engine_ready:
            return
        stale = self.stale_layers(draft)
        if not stale:
            return
        doc = self.doc
        snapshot = doc.snapshot()
        scale = self.canvas.proxy_scale

        def done(results) -> None:
            if self.doc is not doc:
                return
            for layer_id, item in results:
                self.renders.put(layer_id, Painted(item.rgba, item.scale, item.signature, draft))
            self.canvas.refresh()
            self.layers_panel.refresh_thumbnails([lid for lid, _ in results])
            self.painted.emit()

        title = "Previewing" if draft else "Painting"
        job = Job(title, engine_jobs.paint_layers, snapshot, stale, self.renders, scale, draft, self.engine_options())
        job.quiet = draft
        job.succeeded.connect(done)
        job.failed.connect(lambda exc: self._job_failed(job, exc))
        self.jobs.submit("paint", lambda: job)

    def _paint_thumbnails(self, refs: list) -> None:
        if self.doc is None or not self.engine_ready or not refs:
            return
        scale = THUMB_SIDE / max(self.doc.width, self.doc.height)
        photos = [lay for lay in self.doc.layers if isinstance(lay, ImageLayer)]
        rgba = composite(self.doc, None, scale, layers=photos)
        rgb = np.ascontiguousarray(rgba[..., :3] * rgba[..., 3:4] + (1 - rgba[..., 3:4]))
        job = Job("Style previews", engine_jobs.style_thumbnails, rgb, refs, self.engine_options())
        job.quiet = True

        def done(results) -> None:
            for key, thumb in results:
                self.style_picker.set_thumbnail(key, thumb)

        job.succeeded.connect(done)
        self.jobs.submit("thumbnails", lambda: job)

    # -- messages, preferences, drops, closing -------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.message_bar.show_text(one_line(text), error)  # names from files may carry control characters

    def preferences_dialog(self) -> None:
        dialog = QtPreferencesDialog(self.prefs, self)
        if dialog.exec():
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, prefs: Preferences) -> None:
        self.prefs = prefs
        prefs.save(self.settings)
        self.autosave_timer.start(prefs.autosave_minutes * 60_000)
        self.canvas.proxy_side = prefs.preview_side
        apply_theme(prefs.theme)
        self.canvas.refresh()
        self.schedule_paint(draft=False)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            self.open_dropped(url.toLocalFile())
        event.acceptProposedAction()

    def open_dropped(self, path: str) -> None:
        suffix = Path(path).suffix.lower()
        if suffix == STYLE_EXTENSION:
            self.import_style(Path(path))
        elif suffix == PROJECT_EXTENSION or self.doc is None:
            if self.confirm_discard():
                self.open_path(path)
        else:
            self.add_photo(path)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Stop timers, cancel work and wait for the workers, so no result arrives at a closed window."""
        from PySide6.QtCore import QThreadPool

        for timer in (self.paint_timer, self.quality_timer, self.autosave_timer):
            timer.stop()
        self.jobs.cancel_all()
        QThreadPool.globalInstance().waitForDone(wait_ms)
        QApplication.processEvents()  # deliver the workers' last signals while the window still exists

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.doc is not None and not self.doc.history.is_clean:
            try:
                self.autosaver.save(self.doc, None)  # a crash from here on still leaves the work recoverable
            except StyleFuseError:
                pass
        if not self.confirm_discard():
            event.ignore()
            return
        self.shutdown()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.autosaver.finish()
        event.accept()



def apply_theme(theme: str) -> None:
    app = QApplication.instance()
    if app is None:
        return
    hints = app.styleHints()
    scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme, Qt.ColorScheme.Unknown)
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(scheme)
