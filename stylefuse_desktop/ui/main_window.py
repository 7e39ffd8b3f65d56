"""The main window: canvas in the middle, Styles on the left, Layers, Fusion and History on the right,
a status bar with progress, cancel and the device in use.

The window assembles the parts and runs the jobs; each job of the editor has its own module:
``window_actions`` (menus, toolbar, shortcuts), ``window_files`` (open, save, export, recovery),
``layer_commands`` (layers and styles), ``tools`` (move, scale, brush), ``paint_scheduler`` (what to
paint and when). This module keeps the document wiring, the job runner and status bar, messages,
preferences, drops and closing. It never imports torch itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QSettings, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import locations
from ..document.autosave import Autosaver
from ..document.compositor import RenderStore, composite, flatten_onto
from ..document.document import Document
from ..document.layers import ImageLayer, StyleRef
from ..document.project import PROJECT_EXTENSION
from ..document.style_file import STYLE_EXTENSION
from ..document.thumbnail_cache import ThumbnailCache, thumbnail_key
from ..document.user_files import one_line
from ..errors import StyleFuseError
from . import engine_jobs
from .canvas import QtCanvas
from .dialogs import Preferences, QtPreferencesDialog
from .engine_jobs import EngineOptions
from .feedback import is_out_of_memory, user_message
from .fusion_panel import QtFusionPanel
from .layer_commands import LayerCommands
from .layers_panel import QtLayersPanel
from .paint_scheduler import PaintScheduler
from .style_picker import QtStylePicker
from .tools import HINT, ToolCommands
from .window_actions import build_actions
from .window_files import FileCommands
from .workers import Job, LatestOnly, ResultHandler

log = logging.getLogger(__name__)

THUMB_SIDE = 96
MIN_WIDTH = 760  # the docks shrink and the canvas keeps room on a small laptop screen
CLOSE_WAIT_MS = 1500  # closing waits this long for cancelled work to stop (a training step, a tile)
__all__ = ["HINT", "MainWindow", "apply_theme"]


class QtMessageBar(QFrame):
    """A line above the canvas for errors and notices: never a modal box the user must dismiss."""

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        close = QToolButton(autoRaise=True)
        close.setText("✕")
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


class MainWindow(FileCommands, LayerCommands, ToolCommands, QMainWindow):
    painted = Signal()  # paintings arrived and are on the canvas
    busy_changed = Signal(bool)
    startup_seconds: float | None = None  # from the process's start to the window shown (set by app.main)
    shortcut_dialog: QDialog | None = None  # the list of shortcuts (Help menu), once shown

    def __init__(self) -> None:
        super().__init__()
        self.settings = QSettings()
        self.prefs = Preferences.load(self.settings)
        self.doc: Document | None = None
        self.jobs = LatestOnly()
        self.jobs.started.connect(self._job_started)
        self._active_jobs: list[Job] = []
        self.device_text = "starting…"
        self.autosaver = Autosaver(locations.data_dir() / "autosave")

        self.setWindowTitle("StyleFuse")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.setMinimumWidth(MIN_WIDTH)
        self.canvas = QtCanvas()
        self.canvas.proxy_side = self.prefs.preview_side
        self.painter = PaintScheduler(self.jobs, lambda: self.canvas.proxy_scale, self.engine_options, self)
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
        self._docks: dict[str, QDockWidget] = {}
        for title, widget, area in (("Styles", self.style_picker, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Layers", self.layers_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Fusion", self.fusion_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("History", self.history_list, Qt.DockWidgetArea.RightDockWidgetArea)):
            widget.setMinimumWidth(0)
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{title.lower()}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self._docks[title] = dock
        self.tabifyDockWidget(self._docks["Fusion"], self._docks["History"])
        self._docks["Fusion"].raise_()

        self._build_status_bar()
        build_actions(self)
        self._connect_panels()

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
        self.status_text.setMinimumWidth(0)
        self.status_text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens
        self.progress = QProgressBar(maximum=1000, textVisible=False)
        self.progress.setMaximumWidth(220)
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
        self.style_picker.files_skipped.connect(lambda text: self.show_message(text, error=True))
        self.style_picker.report_skipped(again=True)  # its first scan ran before this connection
        self.fusion_panel.brush_target_changed.connect(self._brush_target)
        self.canvas.style_dropped.connect(self._style_dropped)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.canvas.brush_changed.connect(self._brush_status)
        self.canvas.refused.connect(lambda text: self.show_message(text, error=True))
        self.history_list.itemClicked.connect(self._history_clicked)
        self.painter.painted.connect(self._paintings_landed)
        self.painter.layer_failed.connect(self._layer_failed)
        self.painter.failed.connect(self._job_failed)
        self.canvas.view_moved.connect(lambda: self.painter.cancel_view(release=self.canvas.view_box() is None))
        self.canvas.view_settled.connect(self._paint_view)

    # -- documents ---------------------------------------------------------------------------------
    @property
    def renders(self) -> RenderStore:
        """The open document's paintings (owned by the paint scheduler)."""
        return self.painter.renders

    @property
    def engine_ready(self) -> bool:
        return self.painter.engine_ready

    def stale_layers(self, draft: bool) -> list[str]:
        return self.painter.stale_layers(draft)

    def set_document(self, doc: Document | None, renders: RenderStore | None = None) -> None:
        if self.doc is not None:
            self.doc.layers_changed.disconnect(self._update_actions)
            self.doc.history.changed.disconnect(self._history_changed)
            self.doc.selection_changed.disconnect(self._selection_changed)
        for key in ("thumbnails", "bake"):  # work for the old document; the engine start stays
            self.jobs.cancel(key)
        self.doc = doc
        self.painter.set_document(doc, renders)
        self.canvas.set_document(doc, self.painter.renders)
        self.layers_panel.set_document(doc, self.painter.renders, self.painter.failures)
        self.fusion_panel.set_document(doc)
        if doc is not None:
            doc.layers_changed.connect(self._update_actions)
            doc.history.changed.connect(self._history_changed)
            doc.selection_changed.connect(self._selection_changed)
        self._history_changed()
        self.style_picker.forget_thumbnails()

    def _paint_view(self) -> None:
        """The canvas's view has settled past the proxy's scale: paint its real pixels."""
        box = self.canvas.view_box()
        if box is not None:
            state = self.canvas.document_state()
            step = self.canvas.view_step()
            self.painter.paint_view(box, lambda tile, rgba: self.canvas.add_region_tile(tile, rgba, state, step),
                                    skip=self.canvas.region_tiles(step), step=step)

    def _paintings_landed(self, layer_ids: list[str]) -> None:
        self.canvas.refresh()
        self.layers_panel.refresh_thumbnails(layer_ids)
        self.painted.emit()

    def _layer_failed(self, layer_id: str, message: str) -> None:
        """A marker on the failing layer, the reason in the log and the message bar (the others painted)."""
        self.layers_panel.refresh_thumbnails([layer_id])  # its row reads the scheduler's failures
        if message and self.doc is not None:
            try:
                name = self.doc.layer(layer_id).name
            except KeyError:
                return
            log.error("layer '%s' could not be painted: %s", name, message)
            self.show_message(f"'{name}' could not be painted: {message}. The other layers are up to date.",
                              error=True)

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

    def _history_clicked(self, item: QListWidgetItem) -> None:
        """A step of the History list: undo or redo until it is the last one done."""
        if self.doc is not None:
            self.doc.history.go_to(self.history_list.row(item) + 1)

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
        self.undo_action.setToolTip(f"Undo {history.undo_text}" if history and history.undo_text else "Undo")
        self.redo_action.setToolTip(f"Redo {history.redo_text}" if history and history.redo_text else "Redo")
        self.undo_action.setStatusTip(self.undo_action.toolTip())
        doc = self.doc
        selected = doc.selected if doc else None
        index = doc.index_of(selected.id) if doc and selected else -1
        self.raise_action.setEnabled(doc is not None and selected is not None and index < len(doc.layers) - 1)
        self.lower_action.setEnabled(selected is not None and index > 0)

    # -- engine work ---------------------------------------------------------------------------------
    def engine_options(self) -> EngineOptions:
        return EngineOptions(device=self.prefs.device, tile_memory_mb=self.prefs.tile_memory_mb)

    def warm_up(self) -> None:
        def ready(device: str) -> None:
            self.device_text = device
            self.device_label.setText(f"Engine: {device}")
            self.painter.set_engine_ready()
            self.style_picker.reload()

        job = Job("Starting the style engine", engine_jobs.warm_up)
        job.progressed.connect(lambda f, m: self.status_text.setText(m))
        self.run_job(job, "warm-up", ready)

    def run_job(self, job: Job, key: str, on_success: ResultHandler, quiet: bool = False) -> Job:
        """Run ``job`` under ``key`` in the window's job list: its progress shows in the status bar,
        Cancel and closing the window cancel it, and a failure shows in the message bar."""
        job.succeeded.connect(on_success)
        job.failed.connect(lambda exc: self._job_failed(job, exc))
        job.quiet = quiet
        self.jobs.submit(key, lambda: job)
        return job

    def _job_started(self, job: Job) -> None:
        self._active_jobs.append(job)
        job.finished.connect(lambda j=job: self._job_finished(j))
        if not job.quiet:
            job.progressed.connect(self._progressed)
        self._show_busy()

    def _job_finished(self, job: Job) -> None:
        if not shiboken6.isValid(self):  # a job that outlived its window (deleted, not closed) ends unheard
            return
        if job in self._active_jobs:
            self._active_jobs.remove(job)
        self._show_busy()

    def _show_busy(self) -> None:
        visible = [j for j in self._active_jobs if not j.quiet]
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
        log.error("%s failed: %s", job.title, exc, exc_info=(type(exc), exc, exc.__traceback__))
        if not isinstance(exc, StyleFuseError) and is_out_of_memory(exc):
            self.show_message(f"{job.title} ran out of memory. Lower the tile memory or stroke size in the "
                              "preferences; your document is unchanged.", error=True)
        else:
            self.show_message(user_message(exc, job.title), error=True)

    def cancel_work(self) -> None:
        """The Cancel button: stop what runs; painting resumes with the next change the user makes."""
        self.painter.cancel()
        for key in ("thumbnails", "bake", "export", "style-image", "save"):
            self.jobs.cancel(key)
        self.show_message("Cancelled")

    def _paint_thumbnails(self, refs: list[StyleRef]) -> None:
        if self.doc is None or not refs:
            return
        scale = THUMB_SIDE / max(self.doc.width, self.doc.height)
        photos = [lay for lay in self.doc.layers if isinstance(lay, ImageLayer)]
        rgb = flatten_onto(composite(self.doc, None, scale, layers=photos))
        cache = ThumbnailCache()
        missing: list[StyleRef] = []
        for ref in refs:  # painted before (this photo, this style): shown at once
            cached = cache.get(thumbnail_key(ref.key, rgb))
            if cached is None:
                missing.append(ref)
            else:
                self.style_picker.set_thumbnail(ref.key, cached)
        if not missing or not self.engine_ready:  # the rest is asked for again once the engine is ready
            return
        refs = missing
        generation = self.style_picker.photo_generation
        job = Job("Style previews", engine_jobs.style_thumbnails, rgb, refs, self.engine_options())
        job.quiet = True
        unpainted = {"reason": "cancelled"}  # why none arrived, until the job returns

        def done(results: tuple[list[tuple[str, np.ndarray]], list[tuple[str, str]]]) -> None:
            painted, failed = results
            for key, thumb in painted:
                self.style_picker.set_thumbnail(key, thumb)
            self.style_picker.thumbnails_failed(failed, generation)
            unpainted["reason"] = ""

        def ended() -> None:
            # a failed or cancelled job: its styles show why instead of spinning, unless a newer request
            # (waiting to start now) paints them
            if unpainted["reason"] and not self.jobs.busy("thumbnails"):
                self.style_picker.thumbnails_failed([(r.key, unpainted["reason"]) for r in refs], generation)

        job.succeeded.connect(done)
        job.failed.connect(lambda exc: unpainted.update(reason=user_message(exc, job.title)))
        job.finished.connect(ended)
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
        self.painter.request()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
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

    def shutdown(self, wait_ms: int = CLOSE_WAIT_MS) -> bool:
        """Stop timers, cancel every job (training included) and give the workers ``wait_ms`` to stop, so
        closing never hangs; True when all of them stopped in time."""
        self.autosave_timer.stop()
        self.painter.cancel()
        self.jobs.cancel_all()
        stopped = QThreadPool.globalInstance().waitForDone(wait_ms)
        QCoreApplication.sendPostedEvents()  # deliver the workers' last signals while the window still exists
        if not stopped:
            log.warning("closing while a worker still runs; it stops at its next checkpoint")
            self.jobs.abandon_all()
        return stopped

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
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
    if not isinstance(app, QGuiApplication):  # none yet, or one without a GUI
        return
    hints = app.styleHints()
    scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme, Qt.ColorScheme.Unknown)
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(scheme)
