"""Running engine work off the UI thread, with progress and cancel.

Every job is a plain function of its inputs and a progress object (the engine's contract). ``Job``
runs it through a superqt worker; its ``JobProgress`` forwards reports to the UI thread by signal and
tells the engine, at its next tile, that the user cancelled. ``LatestOnly`` keeps at most one job
running and one waiting per key: a new request supersedes the waiting one (and cancels the running
one unless told to let it land), so the queue never grows however fast a slider moves.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any, Protocol

import shiboken6
from PySide6.QtCore import QObject, Signal
from superqt.utils import FunctionWorker, GeneratorWorker, create_worker


def _run_quietly(worker: FunctionWorker | GeneratorWorker, run: Callable[[], None], ended: threading.Event) -> None:
    """superqt's ``run``, ending quietly when the worker's signals object was deleted under it: a job
    abandoned at closing (it outlived the close's wait) may finish while the application tears its
    QObjects down, and superqt's own emits would then print 'Signal source has been deleted' tracebacks."""
    try:
        run()
    except RuntimeError:
        if shiboken6.isValid(worker.signals):
            raise
    finally:
        ended.set()


class _Worker(FunctionWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ended = threading.Event()  # set when run() is over, whatever its signals could still reach

    def run(self) -> None:
        _run_quietly(self, super().run, self.ended)


class _GeneratorWorker(GeneratorWorker):
    """A job whose function is a generator: each value it yields reaches the UI thread (``Job.yielded``)
    as soon as it is made, so results show piece by piece."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ended = threading.Event()

    def run(self) -> None:
        _run_quietly(self, super().run, self.ended)


class JobProgress(QObject):
    """The engine's progress/cancel object, safe to use from the worker thread."""

    reported = Signal(float, str)

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()

    def report(self, fraction: float, message: str = "") -> None:
        try:
            self.reported.emit(float(fraction), message)
        except RuntimeError:  # "Signal source has been deleted": the window closed mid-paint, so stop quietly
            self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()


class Job(QObject):
    """One run of ``function(*args, progress=...)`` in a worker thread."""

    progressed = Signal(float, str)
    yielded = Signal(object)  # each value a generator function yields (in order, before ``succeeded``)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()
    finished = Signal()

    def __init__(self, title: str, function: Callable[..., Any], *args: Any,
                 progress: JobProgress | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.title = title
        self.progress = progress or JobProgress()
        self.progress.reported.connect(self.progressed)
        # errors are ours to report (failed/cancelled), not re-raised by superqt in the main thread
        generator = inspect.isgeneratorfunction(function)
        self._worker = create_worker(function, *args, progress=self.progress, _start_thread=False,
                                     _ignore_errors=True, _worker_class=_GeneratorWorker if generator else _Worker,
                                     **kwargs)
        if generator:
            self._worker.yielded.connect(self.yielded)
        self._worker.returned.connect(self._on_returned)
        self._worker.errored.connect(self._on_errored)
        self._worker.finished.connect(self._on_finished)
        self.running = False
        self.ended = False  # it ran to its end (succeeded, failed or cancelled)
        self.quiet = False  # no progress bar in the status bar (previews, autosaves)
        self.draft = False  # a quick preview that the next full-quality paint replaces

    def start(self) -> Job:
        self.running = True
        self._worker.start()
        return self

    def _on_finished(self) -> None:
        self.running = False  # before anyone hears `finished`, so they see the job as done
        self.ended = True
        self.finished.emit()

    def cancel(self) -> None:
        self.progress.cancel()

    def _on_returned(self, value: Any) -> None:
        # the function finished (a trainer returns what it learnt even when stopped early): its result is
        # valid; a job stopped by the engine's Cancelled arrives through _on_errored instead
        self.succeeded.emit(value)

    def _on_errored(self, exc: BaseException) -> None:
        from ..errors import Cancelled

        if isinstance(exc, Cancelled) or self.progress.cancelled:
            self.cancelled.emit()
        else:
            self.failed.emit(exc)


# what hears a job's result: its function's return value (a Job is not generic, so that value is untyped)
ResultHandler = Callable[[Any], object]


class JobRunner(Protocol):
    """The window's job runner (``MainWindow.run_job``): runs ``job`` under ``key`` and calls ``on_success``
    with its result."""

    def __call__(self, job: Job, key: str, on_success: ResultHandler, quiet: bool = False) -> Job: ...


_ORPHANS: set[Job] = set()  # jobs abandoned at closing whose threads are still finishing


class LatestOnly(QObject):
    """Per key: at most one running job and one waiting request; the newest request wins."""

    started = Signal(object)  # the Job

    def __init__(self) -> None:
        super().__init__()
        self._running: dict[Any, Job] = {}
        self._waiting: dict[Any, Callable[[], Job]] = {}

    def submit(self, key: Any, make_job: Callable[[], Job], cancel_running: bool = True) -> None:
        """Start ``make_job()`` now, or when the running job of ``key`` ends (replacing any older waiting
        request). ``cancel_running=False`` lets the running job finish first: a stream of previews then
        shows every finished one instead of cancelling each before it lands."""
        running = self._running.get(key)
        if running is not None and running.running:
            self._waiting[key] = make_job  # replaces any older waiting request
            if cancel_running:
                running.cancel()
            return
        self._start(key, make_job)

    def _start(self, key: Any, make_job: Callable[[], Job]) -> None:
        job = make_job()
        self._running[key] = job
        job.finished.connect(lambda k=key, j=job: self._on_finished(k, j))
        self.started.emit(job)
        job.start()

    def _on_finished(self, key: Any, job: Job) -> None:
        if self._running.get(key) is job:
            del self._running[key]
        waiting = self._waiting.pop(key, None)
        if waiting is not None:
            self._start(key, waiting)

    def cancel(self, key: Any) -> None:
        self._waiting.pop(key, None)
        job = self._running.get(key)
        if job is not None:
            job.cancel()

    def cancel_all(self) -> None:
        self._waiting.clear()
        for job in list(self._running.values()):
            job.cancel()

    def abandon_all(self) -> None:
        """Closing: cancel everything and silence the jobs still running, so a result that lands after
        the window is gone reaches nobody (each stops at its next checkpoint)."""
        self.cancel_all()
        for job in list(self._running.values()):
            job.blockSignals(True)
            job.progress.blockSignals(True)
            _ORPHANS.add(job)  # alive until its thread ends, so the worker never emits into a deleted object
            job._worker.finished.connect(lambda j=job: _ORPHANS.discard(j))
        self._running.clear()

    def running_job(self, key: Any) -> Job | None:
        job = self._running.get(key)
        return job if job is not None and job.running else None

    def busy(self, key: Any = None) -> bool:
        if key is None:
            return any(j.running for j in self._running.values()) or bool(self._waiting)
        job = self._running.get(key)
        return (job is not None and job.running) or key in self._waiting

    @property
    def waiting_count(self) -> int:
        return len(self._waiting)
