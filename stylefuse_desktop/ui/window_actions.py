"""The main window's menus, toolbar and keyboard shortcuts, and the list of shortcuts (Help menu).

Every command is a ``QAction`` with its shortcut, so the menus, the toolbar and the shortcut list show
the same keys. Window-level shortcuts work whichever panel has focus (arrow-key nudges with the Move
tool included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMenu, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from . import icons
from .dialogs import show_about

if TYPE_CHECKING:
    from .main_window import MainWindow


def _action(window: MainWindow, menu: QMenu | None, text: str, slot: Callable[..., object],
            shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None, checkable: bool = False,
            tip: str | None = None, shortcuts: list[QKeySequence] | None = None) -> QAction:
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts(shortcuts)
    elif shortcut is not None:
        action.setShortcut(shortcut)
    action.setCheckable(checkable)
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(slot)
    if menu is not None:
        menu.addAction(action)
    else:
        window.addAction(action)  # a window-wide shortcut with no menu entry
    return action


def build_actions(window: MainWindow) -> None:
    """Create the menus and toolbar of ``window`` (its commands live in the command modules)."""
    w = window
    menus = w.menuBar()
    file = menus.addMenu("&File")
    _action(w, file, "&Open…", w.open_dialog, QKeySequence.StandardKey.Open)
    w.recent_menu = file.addMenu("Open &Recent")
    _action(w, file, "Add Photo as &Layer…", w.add_photo_dialog, "Ctrl+Shift+O")
    file.addSeparator()
    w.save_action = _action(w, file, "&Save", w.save, QKeySequence.StandardKey.Save)
    _action(w, file, "Save &As…", w.save_as_dialog, QKeySequence.StandardKey.SaveAs)
    file.addSeparator()
    w.export_action = _action(w, file, "&Export…", lambda: w.export_dialog(None), "Ctrl+E")
    _action(w, file, "Export &Layer…", lambda: w.export_dialog(w.doc.selected_id if w.doc else None), "Ctrl+Shift+E")
    file.addSeparator()
    _action(w, file, "&Quit", w.close, QKeySequence.StandardKey.Quit)

    edit = menus.addMenu("&Edit")
    w.undo_action = _action(w, edit, "&Undo", w.undo, QKeySequence.StandardKey.Undo)
    # Ctrl+Y as well as the platform's redo key (Ctrl+Shift+Z), as most editors on Windows and Linux
    redo_keys = list(dict.fromkeys([*QKeySequence.keyBindings(QKeySequence.StandardKey.Redo),
                                    QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")]))
    w.redo_action = _action(w, edit, "&Redo", w.redo, shortcuts=redo_keys)
    edit.addSeparator()
    _action(w, edit, "&Preferences…", w.preferences_dialog, QKeySequence.StandardKey.Preferences)

    view = menus.addMenu("&View")
    _action(w, view, "Zoom &In", lambda: w.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
    _action(w, view, "Zoom &Out", lambda: w.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
    _action(w, view, "&Fit to Window", w.canvas.fit, "Ctrl+0")
    _action(w, view, "&Actual Pixels (100%)", w.canvas.actual_pixels, "Ctrl+1")
    w.split_action = _action(w, view, "&Before / After", lambda on: w.canvas.set_split(on), "Ctrl+B", checkable=True)
    view.addSeparator()
    for dock in w._docks.values():
        view.addAction(dock.toggleViewAction())

    layer = menus.addMenu("&Layer")
    _action(w, layer, "New &Style Layer", lambda: w.add_style_layer(None), "Ctrl+Shift+N")
    _action(w, layer, "New &Fusion Layer", w.add_fusion_layer, "Ctrl+Shift+F")
    _action(w, layer, "&Duplicate", w.duplicate, "Ctrl+J")
    _action(w, layer, "Delete", w.delete_layer, QKeySequence.StandardKey.Delete)
    layer.addSeparator()
    w.raise_action = _action(w, layer, "&Raise Layer", lambda: w.shift_layer(+1), "Ctrl+]",
                             tip="Move the selected layer one step up")
    w.lower_action = _action(w, layer, "&Lower Layer", lambda: w.shift_layer(-1), "Ctrl+[",
                             tip="Move the selected layer one step down")
    layer.addSeparator()
    _action(w, layer, "Merge &Down", w.merge_down, "Ctrl+Shift+M")
    _action(w, layer, "Flatten &Image", w.flatten, "Ctrl+Shift+Alt+F")
    layer.addSeparator()
    w.brush_action = _action(w, layer, "Paint Layer &Mask (Brush)", w.toggle_mask_brush, "B", checkable=True)
    w.move_action = _action(w, layer, "Mo&ve Photo Layer", w.toggle_move_tool, "V", checkable=True,
                            tip="Drag the selected photo on the canvas; arrow keys nudge it")
    w.move_action.setIconText("Move")
    w.move_action.setToolTip("Move the selected photo layer (V)")
    _action(w, layer, "S&cale Photo Layer…", w.scale_layer_dialog)
    # arrow keys nudge with the Move tool whichever widget has focus (enabled only while the tool is on)
    w.nudge_actions = []
    for key, (dx, dy) in (("Left", (-1, 0)), ("Right", (1, 0)), ("Up", (0, -1)), ("Down", (0, 1))):
        for modifier, step in (("", 1), ("Shift+", 10)):
            action = _action(w, None, f"Nudge {key.lower()}", lambda _=False, x=dx * step, y=dy * step: w.nudge(x, y),
                             f"{modifier}{key}")
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setEnabled(False)
            w.nudge_actions.append(action)

    styles = menus.addMenu("&Styles")
    _action(w, styles, "Add Style from &Image…", w.add_style_from_image_dialog)
    _action(w, styles, "&Import Style File…", w.import_style_dialog)
    styles.addSeparator()
    _action(w, styles, "&Train on My Images…", w.train_dialog, "Ctrl+T")

    help_menu = menus.addMenu("&Help")
    _action(w, help_menu, "&Keyboard Shortcuts", lambda: show_shortcuts(w), "F1")
    _action(w, help_menu, "&About StyleFuse", lambda: show_about(w))
    w._refresh_recent_menu()

    tools = w.addToolBar("Tools")
    tools.setObjectName("toolbar-main")
    tools.setMovable(False)
    for text, handler, tip in (("Open", w.open_dialog, "Open a photo or project (Ctrl+O)"),
                               ("Save", w.save, "Save the project (Ctrl+S)"),
                               ("Export", lambda: w.export_dialog(None), "Export at full size (Ctrl+E)")):
        tools.addAction(text, handler).setToolTip(tip)
    tools.addSeparator()
    tools.addAction(w.undo_action)
    tools.addAction(w.redo_action)
    tools.addSeparator()
    w.brush_action.setIcon(icons.brush())
    tools.addAction(w.brush_action)
    tools.addAction(w.move_action)
    tools.addAction(w.split_action)
    tools.addSeparator()
    tools.addAction("Fit", w.canvas.fit).setToolTip("Fit to window (Ctrl+0)")
    tools.addAction("100%", w.canvas.actual_pixels).setToolTip("Actual pixels (Ctrl+1)")


# keys that are not QActions: the canvas handles them itself
CANVAS_KEYS = [("Space + drag", "Pan"), ("Wheel", "Zoom about the pointer"), ("[  ]", "Brush size"),
               ("X", "Brush: swap add and remove"), ("Shift + arrows", "Nudge by 10 px (Move tool)")]


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(keys, command) for every action of the window that has a shortcut, then the canvas's keys."""
    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for action in window.findChildren(QAction):
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
        text = action.text().replace("&", "").rstrip("…")
        if keys and text and (keys, text) not in seen and not text.startswith("Nudge"):
            seen.add((keys, text))
            rows.append((keys, text))
    return sorted(rows, key=lambda r: r[1].lower()) + CANVAS_KEYS


def show_shortcuts(window: MainWindow) -> QDialog:
    dialog = QDialog(window)
    dialog.setWindowTitle("Keyboard shortcuts")
    layout = QVBoxLayout(dialog)
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(["Keys", "Command"])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, (keys, text) in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(keys))
        table.setItem(r, 1, QTableWidgetItem(text))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    layout.addWidget(table)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.resize(460, 520)
    dialog.show()
    window.shortcut_dialog = dialog
    return dialog
