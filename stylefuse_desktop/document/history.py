"""Undo and redo for every change to a document.

Each change is a command that knows how to redo and undo itself. A slider drag or a brush stroke is
one step: commands pushed with the same ``merge_key`` (the UI passes one per gesture) fold into the
step before. ``group`` collects several commands (merge down, flatten) into one step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

MAX_STEPS = 200


@dataclass
class Command:
    """A reversible change. ``do`` and ``undo`` are callables with no arguments."""

    text: str
    do: Callable[[], None]
    undo: Callable[[], None]
    merge_key: Hashable | None = None
    # for merging property changes: the newest value replaces ``do`` while ``undo`` keeps the oldest
    payload: dict[str, Any] = field(default_factory=dict)


class History:
    changed = Signal()  # emitted after every push, undo, redo or clear

    def __init__(self, limit: int = MAX_STEPS) -> None:
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._group: list[Command] | None = None
        self._group_text = ""
        self.limit = limit
        self.clean_index = 0  # len(_done) when the document was last saved

    # -- recording ---------------------------------------------------------------------------------
    def push(self, command: Command, apply: bool = True) -> None:
        """Record ``command`` (running it first unless it already ran)."""
        if apply:
            command.do()
        if self._group is not None:
            self._group.append(command)
            return
        top = self._done[-1] if self._done else None
        if top is not None and command.merge_key is not None and top.merge_key == command.merge_key:
            top.do = command.do  # the step now ends where this command ends; undo still goes back to the start
            top.payload.update(command.payload)
        else:
            self._done.append(command)
            if len(self._done) > self.limit:
                self._done.pop(0)
                self.clean_index -= 1
        self._undone.clear()
        self.changed.emit()

    @contextlib.contextmanager
    def group(self, text: str) -> Iterator[None]:
        """Everything pushed inside is one step."""
        if self._group is not None:  # nested: join the outer group
            yield
            return
        self._group, self._group_text = [], text
        try:
            yield
        except BaseException:
            for command in reversed(self._group):
                command.undo()
            self._group = None
            raise
        commands, self._group = self._group, None
        if commands:
            def do() -> None:
                for c in commands:
                    c.do()

            def undo() -> None:
                for c in reversed(commands):
                    c.undo()

            self.push(Command(text, do, undo), apply=False)

    # -- moving through time ------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def undo(self) -> str | None:
        if not self._done:
            return None
        command = self._done.pop()
        command.undo()
        self._undone.append(command)
        self.changed.emit()
        return command.text

    def redo(self) -> str | None:
        if not self._undone:
            return None
        command = self._undone.pop()
        command.do()
        self._done.append(command)
        self.changed.emit()
        return command.text

    def go_to(self, index: int) -> None:
        """Undo or redo until ``index`` steps are done (the history list's click)."""
        while len(self._done) > index and self._done:
            self.undo()
        while len(self._done) < index and self._undone:
            self.redo()

    @property
    def entries(self) -> list[str]:
        """Every step, oldest first: the done ones, then the undone ones (redoable)."""
        return [c.text for c in self._done] + [c.text for c in reversed(self._undone)]

    @property
    def index(self) -> int:
        return len(self._done)

    @property
    def undo_text(self) -> str | None:
        return self._done[-1].text if self._done else None

    @property
    def redo_text(self) -> str | None:
        return self._undone[-1].text if self._undone else None

    def mark_clean(self) -> None:
        self.clean_index = len(self._done)
        self.changed.emit()

    @property
    def is_clean(self) -> bool:
        return self.clean_index == len(self._done)

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self.clean_index = 0
        self.changed.emit()
