"""The progress/cancel object that long work (render, train) receives.

Long work is a plain function of its inputs plus one of these: it calls ``report`` now and then and
checks ``cancelled`` at safe points. The UI passes an object wired to a worker thread; tests pass a
fake; the CLI passes a terminal progress bar.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .errors import Cancelled


@runtime_checkable
class Progress(Protocol):
    def report(self, fraction: float, message: str = "") -> None: ...

    @property
    def cancelled(self) -> bool: ...


class NullProgress:
    """Reports nowhere and is never cancelled."""

    cancelled = False

    def report(self, fraction: float, message: str = "") -> None:
        pass


class RecordingProgress:
    """Keeps every report; can be told to cancel after a number of reports (used by tests and workers)."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.reports: list[tuple[float, str]] = []
        self.cancel_after = cancel_after
        self._cancelled = False

    def report(self, fraction: float, message: str = "") -> None:
        self.reports.append((fraction, message))
        if self.cancel_after is not None and len(self.reports) >= self.cancel_after:
            self._cancelled = True

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled


class SubProgress:
    """Maps the 0..1 of one step onto [start, end] of a parent, so nested work reports one smooth bar."""

    def __init__(self, parent: Progress, start: float, end: float) -> None:
        self.parent, self.start, self.end = parent, start, end

    def report(self, fraction: float, message: str = "") -> None:
        f = min(max(fraction, 0.0), 1.0)
        self.parent.report(self.start + (self.end - self.start) * f, message)

    @property
    def cancelled(self) -> bool:
        return self.parent.cancelled


def raise_if_cancelled(progress: Progress) -> None:
    if progress.cancelled:
        raise Cancelled()
