"""The main window's files: open, add a photo, save, export, recent files, autosave and recovery.

A mixin of ``MainWindow`` (it uses the window's document, settings, message bar and job runner).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from .. import locations
from ..document.autosave import Recoverable
from ..document.compositor import RenderStore
from ..document.image_io import READ_EXTENSIONS, WRITE_FORMATS, read_image
from ..document.operations import document_from_photo, layer_from_photo
from ..document.project import PROJECT_EXTENSION, load_project, save_project
from ..document.style_file import STYLE_EXTENSION
from ..errors import StyleFuseError
from ..memory import release_memory
from ..progress import Progress
from . import engine_jobs
from .feedback import user_message
from .window_parts import WindowParts
from .workers import Job

IMAGE_FILTER = "Photos (" + " ".join(f"*{e}" for e in sorted(READ_EXTENSIONS)) + ")"
PROJECT_FILTER = f"StyleFuse projects (*{PROJECT_EXTENSION})"
MAX_RECENT = 8


class FileCommands(WindowParts):
    """Opening, saving, exporting and recovering documents."""

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
                self.autosaver.discard(recoverable[0])  # this session autosaves it again until it is saved
                self.show_message(f"Recovered '{recoverable[0].title}' from the last autosave; save it to keep it.")
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
            self.show_hint()

    def _ask_recover(self, item: Recoverable) -> bool:
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
        renders: RenderStore | None
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

    def save(self) -> Job | None:
        """Start saving; the job, or None when nothing is saved (no document, Save As cancelled)."""
        if self.doc is None:
            return None
        if self.doc.path is None:
            return self.save_as_dialog()
        return self.save_to(self.doc.path)

    def suggested_save_path(self) -> Path:
        """Save As proposes the name the title shows (the photo's, or the project's), in the last folder."""
        name = self.doc.path.stem if self.doc is not None and self.doc.path else (self.doc.title if self.doc else "")
        return Path(self._last_folder()) / f"{name or 'Untitled'}{PROJECT_EXTENSION}"

    def save_as_dialog(self) -> Job | None:
        if self.doc is None:
            return None
        path, _ = QFileDialog.getSaveFileName(self, "Save project", str(self.suggested_save_path()), PROJECT_FILTER)
        if not path:
            return None
        if not path.lower().endswith(PROJECT_EXTENSION):
            path += PROJECT_EXTENSION
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> Job:
        """Save in a worker (a large project takes seconds to encode); the history is marked clean at
        the step that was saved."""
        doc = self.doc
        if doc is None:
            raise StyleFuseError("there is no document to save")
        index = doc.history.index
        snapshot = doc.snapshot()
        renders = self.painter.renders

        def save(progress: Progress) -> Path:
            progress.report(0.2, f"Saving {path.name}")
            return save_project(snapshot, path, renders)

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
        base = self.doc.path.stem if self.doc.path else (self.doc.title or "stylefuse")
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
        if self.doc is None:
            return None
        snapshot = self.doc.snapshot()
        return self.run_job(Job(f"Exporting {path.name}", engine_jobs.export_document, snapshot, self.painter.renders,
                                path, quality, layer_id, self.engine_options()),
                            "export", lambda out: self.show_message(f"Exported {Path(out).name} at full size"))

    def confirm_discard(self) -> bool:
        if self.doc is None or self.doc.history.is_clean:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "Save your changes first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            job = self.save()
            if job is not None:  # the save runs in a worker: wait for it before going on (or not, if it failed)
                waiting = QEventLoop()
                job.finished.connect(waiting.quit)
                if not job.ended:
                    waiting.exec()
            return self.doc is None or self.doc.history.is_clean
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
        # a list of one may come back as a plain string (QSettings' INI format)
        return [str(p) for p in value] if isinstance(value, (list, tuple)) else ([str(value)] if value else [])

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            self.recent_menu.addAction(Path(path).name, self._recent_entry(path))
        self.recent_menu.setEnabled(bool(self._recent()))

    def _recent_entry(self, path: str) -> Callable[[], None]:
        """What a recent file's menu entry does: ask about unsaved changes, then open it."""

        def open_recent() -> None:
            if self.confirm_discard():
                self.open_path(path)

        return open_recent

    def _last_folder(self) -> str:
        return str(self.settings.value("files/last_folder", str(Path.home())))
