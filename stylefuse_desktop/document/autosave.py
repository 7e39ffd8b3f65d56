"""Autosave and crash recovery.

While the editor runs it holds a session file (its process id) in the autosave folder and saves the
open document there every few minutes and on quit. A clean quit removes both. At the next start, an
autosave whose session process is gone was left by a crash: the editor offers to recover it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_path
from .compositor import RenderStore
from .document import Document
from .project import load_project, save_project


@dataclass(frozen=True)
class Recoverable:
    project: Path
    title: str
    saved_at: float
    original: Path | None = None  # the project file the work belonged to, if it had been saved


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Autosaver:
    def __init__(self, folder: Path, pid: int | None = None) -> None:
        self.folder = Path(folder)
        self.pid = os.getpid() if pid is None else pid
        self.session = self.folder / f"session-{self.pid}.json"
        self.project = self.folder / f"autosave-{self.pid}.sfproj"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_session(title="", saved_at=0.0, original=None)

    def _write_session(self, title: str, saved_at: float, original: Path | None) -> None:
        with atomic_path(self.session) as tmp:
            tmp.write_text(json.dumps({"pid": self.pid, "title": title, "saved_at": saved_at,
                                       "path": str(original) if original else None}))

    def save(self, doc: Document, renders: RenderStore | None = None) -> Path:
        save_project(doc, self.project, renders)
        self._write_session(title=doc.title, saved_at=time.time(), original=doc.path)
        return self.project

    def finish(self) -> None:
        """A clean quit: nothing to recover."""
        self.project.unlink(missing_ok=True)
        self.session.unlink(missing_ok=True)

    def recoverable(self) -> list[Recoverable]:
        """Autosaves left by sessions that are no longer running, newest first."""
        found = []
        for session in sorted(self.folder.glob("session-*.json")) if self.folder.is_dir() else []:
            try:
                info = json.loads(session.read_text())
                pid = int(info["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if pid == self.pid or _alive(pid):
                continue
            project = self.folder / f"autosave-{pid}.sfproj"
            if project.is_file():
                original = info.get("path")
                found.append(Recoverable(project, info.get("title") or "Untitled", float(info.get("saved_at", 0)),
                                         Path(original) if isinstance(original, str) and original else None))
            else:
                session.unlink(missing_ok=True)  # crashed before its first autosave: nothing to offer
        return sorted(found, key=lambda r: -r.saved_at)

    def recover(self, item: Recoverable) -> tuple[Document, RenderStore]:
        """The autosaved work under its own name and path, dirty: it differs from any file the user saved,
        so quitting asks to save it (and keeps the autosave until it is saved or discarded)."""
        doc, renders = load_project(item.project)
        doc.path = item.original
        doc.title = item.title
        doc.history.mark_dirty()
        return doc, renders

    def discard(self, item: Recoverable) -> None:
        pid = item.project.stem.split("-")[-1]
        item.project.unlink(missing_ok=True)
        (self.folder / f"session-{pid}.json").unlink(missing_ok=True)
