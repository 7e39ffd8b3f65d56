"""Undo and redo for every change to a document, with QUndoStack's rules.

Each change is a command that knows how to redo and undo itself. A gesture (a slider drag, a brush
stroke, a move with the mouse) is one step: the UI calls ``begin_gesture`` when the hand goes down and
``end_gesture`` when it comes up, and everything pushed in between becomes one macro; inside it, a
command with the same ``merge_key`` as the one before replaces its end point, so a drag of a thousand
steps keeps one pair of values. ``group`` is the same as a ``with`` block (merge down, flatten).

The clean point (the step last saved) follows QUndoStack: pushing after undoing past it discards the
saved state for good, so the document stays dirty until saved again; a command never merges into the
saved step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from psygnal import Signal

MAX_STEPS = 200
UNREACHABLE = -1  # clean_index when the saved state can no longer be reached by undo or redo


@dataclass
class Command:
    """A reversible change. ``do`` and ``undo`` are callables with no arguments."""

    text: str
    do: Callable[[], None]
    undo: Callable[[], None]
    merge_key: Hashable | None = None
    # for merging property changes: the newest value replaces ``do`` while ``undo`` keeps the oldest
    payload: dict[str, Any] = field(default_factory=dict)


def _macro(text: str, commands: list[Command]) -> Command:
    def do() -> None:
        for c in commands:
            c.do()

    def undo() -> None:
        for c in reversed(commands):
            c.undo()

    return Command(text, do, undo)


class History:
    changed = Signal()  # emitted after every push, undo, redo or clear (not for each step inside a gesture)
    gesture_changed = Signal(bool)  # True when a gesture begins, False when it ends (painters draft meanwhile)

    def __init__(self, limit: int = MAX_STEPS) -> None:
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._gesture: list[Command] | None = None
        self._gesture_text: str | None = None
        self._depth = 0
        self.limit = limit
        self.clean_index = 0  # len(_done) when the document was last saved; UNREACHABLE once discarded

    # -- recording ---------------------------------------------------------------------------------
    def push(self, command: Command, apply: bool = True) -> None:
        """Record ``command`` (running it first unless it already ran)."""
        if apply:
            command.do()
        if self._gesture is not None:
            last = self._gesture[-1] if self._gesture else None
            if last is not None and command.merge_key is not None and last.merge_key == command.merge_key:
                last.do = command.do  # the step now ends where this command ends; undo still goes back to the start
                last.payload.update(command.payload)
            else:
                self._gesture.append(command)
            return
        self._record(command)

    def _record(self, command: Command) -> None:
        if self.clean_index > len(self._done):
            self.clean_index = UNREACHABLE  # the saved state was undone and is now discarded
        self._done.append(command)
        if len(self._done) > self.limit:
            self._done.pop(0)
            if self.clean_index != UNREACHABLE:
                self.clean_index -= 1  # below zero: trimmed away, unreachable too
        self._undone.clear()
        self.changed.emit()

    def begin_gesture(self, text: str | None = None) -> None:
        """The hand goes down: everything pushed until ``end_gesture`` is one step (named ``text``, or
        after its first command). Nested calls join the outer gesture."""
        self._depth += 1
        if self._depth == 1:
            self._gesture, self._gesture_text = [], text
            self.gesture_changed.emit(True)

    def end_gesture(self) -> None:
        """The hand comes up: the gesture's commands become one step (none if nothing changed)."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth:
            return
        commands, self._gesture = self._gesture or [], None
        if len(commands) == 1:
            self._record(commands[0])
        elif commands:
            self._record(_macro(self._gesture_text or commands[0].text, commands))
        self.gesture_changed.emit(False)

    @property
    def in_gesture(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def group(self, text: str) -> Iterator[None]:
        """Everything pushed inside is one step; on an exception the group's commands are undone."""
        outer = self.in_gesture
        self.begin_gesture(text)
        try:
            yield
        except BaseException:
            if not outer:
                for command in reversed(self._gesture or []):
                    command.undo()
                self._gesture = []
            self.end_gesture()
            raise
        self.end_gesture()

    # -- moving through time ------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def undo(self) -> str | None:
        self._finish_gesture()
        if not self._done:
            return None
        command = self._done.pop()
        command.undo()
        self._undone.append(command)
        self.changed.emit()
        return command.text

    def redo(self) -> str | None:
        self._finish_gesture()
        if not self._undone:
            return None
        command = self._undone.pop()
        command.do()
        self._done.append(command)
        self.changed.emit()
        return command.text

    def _finish_gesture(self) -> None:
        """Undo during a drag (a shortcut pressed mid-gesture) first closes the gesture as one step."""
        if self._depth:
            self._depth = 1
            self.end_gesture()

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

    def mark_dirty(self) -> None:
        """The document differs from every saved file (recovered work): dirty until saved."""
        self.clean_index = UNREACHABLE
        self.changed.emit()

    @property
    def is_clean(self) -> bool:
        return self.clean_index == len(self._done) and not (self._gesture)

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._gesture, self._depth = None, 0
        self.clean_index = 0
        self.changed.emit()
