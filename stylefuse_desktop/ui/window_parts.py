"""What the main window's command mixins use of the window, declared once for the type checker.

``MainWindow`` is assembled from ``FileCommands`` (window_files), ``LayerCommands`` (layer_commands) and
``ToolCommands`` (tools); each calls on parts that ``MainWindow`` builds, on the actions that
``window_actions.build_actions`` adds, and on the other mixins' commands. ``WindowParts`` names them
so that mypy checks each mixin on its own, and checks ``MainWindow``'s definitions against these (a
signature that drifts is an error). At run time it is ``object``: it adds nothing to the window's method
resolution order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QLabel, QMainWindow, QMenu

    from ..document.autosave import Autosaver
    from ..document.compositor import RenderStore
    from ..document.document import Document
    from .canvas import QtCanvas
    from .engine_jobs import EngineOptions
    from .fusion_panel import QtFusionPanel
    from .paint_scheduler import PaintScheduler
    from .style_picker import QtStylePicker
    from .workers import Job, ResultHandler

    class WindowParts(QMainWindow):
        # built by MainWindow
        doc: Document | None
        settings: QSettings
        autosaver: Autosaver
        canvas: QtCanvas
        painter: PaintScheduler
        style_picker: QtStylePicker
        fusion_panel: QtFusionPanel
        status_text: QLabel

        # added by window_actions.build_actions
        recent_menu: QMenu
        save_action: QAction
        export_action: QAction
        undo_action: QAction
        redo_action: QAction
        split_action: QAction
        raise_action: QAction
        lower_action: QAction
        brush_action: QAction
        move_action: QAction
        nudge_actions: list[QAction]

        # MainWindow's own
        def show_message(self, text: str, error: bool = False) -> None: ...
        def run_job(self, job: Job, key: str, on_success: ResultHandler, quiet: bool = False) -> Job: ...
        def engine_options(self) -> EngineOptions: ...
        def set_document(self, doc: Document | None, renders: RenderStore | None = None) -> None: ...
        def warm_up(self) -> None: ...
        def _update_title(self) -> None: ...

        # one mixin's commands that another calls
        def _last_folder(self) -> str: ...  # FileCommands
        def import_style(self, path: Path) -> bool: ...  # LayerCommands
        def _guard(self, action: Callable[[], object]) -> None: ...  # LayerCommands
        def show_hint(self) -> None: ...  # ToolCommands

else:
    WindowParts = object
