"""The main window's tools: the Move tool (drag, arrow-key nudges), Scale, and the mask/style brush.

A mixin of ``MainWindow``; the canvas does the pointer work, this keeps the toolbar, the status text
and the window-wide nudge shortcuts in step with the active tool.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog

from ..document.layers import ImageLayer
from .canvas import BrushTarget
from .window_parts import WindowParts

HINT = ("Try this: double-click a style on the left, move its sliders on the right, then paint where it goes "
        "with the brush. Space-drag pans, the wheel zooms, [ and ] size the brush. F1 lists every shortcut.")


class ToolCommands(WindowParts):
    def toggle_move_tool(self, on: bool) -> None:
        if on:
            self.fusion_panel.stop_painting()
            self.brush_action.setChecked(False)
        self.move_action.setChecked(on)
        self.canvas.set_move_tool(on)
        for action in self.nudge_actions:  # arrow keys nudge wherever the focus is, only with the tool on
            action.setEnabled(on)
        self._brush_status()

    def nudge(self, dx: int, dy: int) -> None:
        if self.canvas.move_tool:
            self.canvas.nudge(dx, dy)

    def scale_layer_dialog(self) -> None:
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
        doc = self.doc
        if doc is None:
            return
        layer = doc.layer(layer_id)
        if not isinstance(layer, ImageLayer) or layer.raster is None:
            self.show_message("Select a photo layer to scale it", error=True)
            return
        width, height = layer.raster.size
        cx, cy = layer.x + width * layer.scale / 2, layer.y + height * layer.scale / 2
        self._guard(lambda: doc.place(layer_id, cx - width * scale / 2, cy - height * scale / 2, scale))

    def toggle_mask_brush(self, on: bool) -> None:
        self.fusion_panel.stop_painting()
        if on:
            self.toggle_move_tool(False)
        if on and self.doc is not None and self.doc.selected is not None:
            self.canvas.set_brush_target(BrushTarget(self.doc.selected_id, "mask", None, "the layer mask"))
        else:
            self.canvas.set_brush_target(None)
            self.brush_action.setChecked(False)
        self._brush_status()

    def _brush_target(self, target: BrushTarget | None) -> None:
        self.brush_action.setChecked(False)
        if target is not None:
            self.toggle_move_tool(False)
        self.canvas.set_brush_target(target)
        self._brush_status()

    def show_hint(self) -> None:
        self.status_text.setText(HINT if self.doc else "")

    def _brush_status(self) -> None:
        target = self.canvas.brush_target
        if self.canvas.move_tool:
            self.status_text.setText("Move: drag the selected photo layer; arrow keys nudge it (Shift: 10 px). "
                                     "V again to stop.")
            return
        if target is None:
            self.show_hint()
            return
        mode = "adds" if self.canvas.brush.value >= 0.5 else "removes"
        self.status_text.setText(f"Brush on {target.label}: {self.canvas.brush.size:.0f} px, {mode} (X swaps, "
                                 "[ ] size). Click the brush button again to stop.")
