"""The main window's layer and style commands: add, duplicate, delete, raise, lower, merge down,
flatten; apply a style; styles from an image, imported, exported or trained.

A mixin of ``MainWindow``. Each command is a call on the document (one undoable step); engine work
goes through the window's job runner.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from ..document.compositor import composite, flatten_onto
from ..document.layers import FusionLayer, FusionSource, ImageLayer, StyleEntry, StyleLayer, StyleRef
from ..document.operations import NeedsPainting, duplicate_layer, flatten, merge_down
from ..document.style_catalogue import StyleKind, free_user_style_slot
from ..document.style_file import STYLE_EXTENSION, read_style_file
from ..errors import StyleFuseError
from . import engine_jobs
from .feedback import user_message
from .style_picker import save_image_style
from .window_files import IMAGE_FILTER
from .window_parts import WindowParts
from .workers import Job

if TYPE_CHECKING:
    from ..document.compositor import Painted
    from .train_dialog import QtTrainDialog

DEFAULT_STYLE = StyleRef(StyleKind.BUILTIN, "Golden Haze")


def mix_name(entries: tuple[StyleEntry, ...]) -> str:
    """The name a style layer takes from its styles: "Red Lacquer", "Red Lacquer + Frosted Glass"."""
    return " + ".join(e.style.name for e in entries) or "Style"


class LayerCommands(WindowParts):
    train: QtTrainDialog  # the training dialog last opened (train_dialog)

    def _guard(self, action: Callable[[], object]) -> None:
        try:
            action()
        except NeedsPainting:
            raise
        except StyleFuseError as exc:
            self.show_message(str(exc), error=True)

    def _picked_style(self) -> StyleRef:
        current = self.style_picker.list.currentItem()
        ref = self.style_picker.refs.get(current.data(Qt.ItemDataRole.UserRole)) if current else None
        return ref or DEFAULT_STYLE

    def apply_style(self, ref: StyleRef) -> None:
        """Add a style to the selected style layer, or a new style layer painting it."""
        if self.doc is None:
            return
        layer = self.doc.selected
        if isinstance(layer, (StyleLayer, FusionLayer)):
            self._guard(lambda: self._add_to_mix(layer, ref))
        else:
            self.add_style_layer(ref)

    def _add_to_mix(self, layer: StyleLayer | FusionLayer, ref: StyleRef) -> None:
        """One step: the style joins the mix, and a layer still named after its styles is renamed for the mix."""
        doc = self.doc
        if doc is None:
            return
        named_by_styles = layer.name == mix_name(layer.styles)
        with doc.history.group(f"Add {ref.name} to {layer.name}"):
            doc.add_style(layer.id, StyleEntry(ref))
            if named_by_styles and isinstance(layer, StyleLayer):
                doc.set(layer.id, "name", mix_name(layer.styles))

    def add_style_layer(self, ref: StyleRef | None) -> None:
        if self.doc is None:
            return
        ref = ref or self._picked_style()
        selected = self.doc.selected
        index = self.doc.index_of(selected.id) + 1 if selected else len(self.doc.layers)
        self.doc.add_layer(StyleLayer(name=ref.name, styles=(StyleEntry(ref),)), index)

    def add_fusion_layer(self) -> None:
        if self.doc is None:
            return
        photos = [lay for lay in self.doc.layers if isinstance(lay, ImageLayer)]
        self.doc.add_layer(FusionLayer(name="Fusion", sources=tuple(FusionSource(p.id) for p in photos),
                                       styles=(StyleEntry(self._picked_style()),)))
        if len(photos) < 2:
            self.show_message("A fusion layer blends several photos: add more with File ▸ Add Photo as Layer.")

    def duplicate(self) -> None:
        doc = self.doc
        if doc and doc.selected:
            self._guard(lambda: duplicate_layer(doc, doc.selected_id))

    def delete_layer(self) -> None:
        doc = self.doc
        if doc and doc.selected:
            self._guard(lambda: doc.remove_layer(doc.selected_id))

    def shift_layer(self, steps: int) -> None:
        """Raise (+1) or lower (-1) the selected layer in the stack (Ctrl+] and Ctrl+[)."""
        doc = self.doc
        if doc and doc.selected:
            layer_id = doc.selected_id
            self._guard(lambda: doc.move_layer(layer_id, doc.index_of(layer_id) + steps))

    def merge_down(self) -> None:
        doc = self.doc
        if doc and doc.selected:
            layer_id = doc.selected_id
            self._bake(lambda: merge_down(doc, layer_id, self.painter.renders))

    def flatten(self) -> None:
        doc = self.doc
        if doc:
            self._bake(lambda: flatten(doc, self.painter.renders))

    def _bake(self, action: Callable[[], object]) -> None:
        """Run a pixel-baking operation, painting missing full-size layers first."""
        try:
            self._guard(action)
        except NeedsPainting as needed:
            if self.doc is None:
                return
            snapshot = self.doc.snapshot()
            renders = self.painter.renders

            def painted(results: list[tuple[str, Painted]]) -> None:
                for layer_id, item in results:
                    renders.put(layer_id, item)
                self._guard(action)

            self.run_job(Job("Painting at full size", engine_jobs.paint_layers, snapshot, needed.layer_ids,
                             renders, 1.0, False, self.engine_options()), "bake", painted)

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

    # -- styles ------------------------------------------------------------------------------------
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

        if ref.data is None:  # a built-in: the picker offers no export for it
            self.show_message(f"'{ref.name}' is a built-in style: there is no style file to export", error=True)
            return False
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

        try:
            style = read_style_file(path)
            target, style.name = free_user_style_slot(path.stem, style.name)
            write_style_file(target, style)
        except (StyleFuseError, OSError, MemoryError, ValueError) as exc:
            self.show_message(user_message(exc, f"Importing {Path(path).name}"), error=True)
            return False
        self.style_picker.reload()
        self.show_message(f"Imported the style '{style.name}' into My styles")
        return True

    def train_dialog(self) -> QtTrainDialog:
        from .train_dialog import QtTrainDialog

        preview: np.ndarray | None = None
        extra: tuple[np.ndarray, ...] = ()
        if self.doc is not None:
            photos = [lay for lay in self.doc.layers if isinstance(lay, ImageLayer)]
            scale = min(1.0, 384 / max(self.doc.width, self.doc.height))
            preview = np.ascontiguousarray(flatten_onto(composite(self.doc, None, scale, layers=photos)))
            extra = (preview,)  # the photos open in the editor join the content the style learns to paint
        dialog = QtTrainDialog(self, preview, extra, run_job=self.run_job)

        def in_my_styles(path: Path) -> None:
            self.style_picker.reload()
            self.show_message(f"'{dialog.result_name}' is in My styles")

        dialog.style_ready.connect(in_my_styles)
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
        self.apply_style(StyleRef(StyleKind.USER, style.name, path.read_bytes()))
