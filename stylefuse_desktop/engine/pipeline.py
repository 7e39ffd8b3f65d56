"""Many photos through one device: decoding, painting and encoding overlap.

A folder run is three stages. Worker threads decode the next photos and encode the finished ones
(Pillow's zlib and libjpeg work without the GIL) while the calling thread paints the current one, so
the device does not wait for the disk or the PNG codec. Reading starts when the pipeline is made and
goes on by itself (each read that ends starts the next), so the photos decode while the caller still
loads the engine (torch's import: about a second of one core). Memory stays bounded: photos are read
ahead only while the pixels waiting to be painted stay under a budget, and a finished photo waits for
its encoder only while few others do.

This module imports neither torch nor Qt: a caller can start reading before the engine is loaded.
The functions that read, paint and write are the caller's (``cli.py`` gives the real ones; tests give
their own); a failure that the caller's ``recoverable`` accepts costs that one file, not the run.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..devices import usable_cores

Job = TypeVar("Job")

# Decoded float32 pixels (12 bytes each) allowed to wait for the painter: ~64 MP is ~770 MB.
READ_AHEAD_PIXELS = 64_000_000
# ... and photos, however small (a folder of thumbnails need not be held whole)
READ_AHEAD_PHOTOS = 16


@dataclass
class FileResult(Generic[Job]):
    """One job's outcome, in the order the jobs were given."""

    job: Job
    size: tuple[int, int] | None = None  # (width, height) of the photo, once read
    seconds: float = 0.0  # from the start of its painting to its file on disk
    error: str | None = None  # the one-line reason it was skipped


# results in job order, each with its write (None: nothing to write) and when its painting started
_Writing = deque[tuple[FileResult[Job], "Future[None] | None", float]]


def worker_counts(cores: int | None = None) -> tuple[int, int]:
    """(readers, writers) for this machine: encoding a PNG takes ~3x longer than decoding it, and the
    painter needs its own cores on a CPU render."""
    if cores is None:
        cores = usable_cores()
    return max(1, min(4, cores // 4)), max(1, min(8, cores // 2))


def _pixels(photo: Any) -> int:
    size = getattr(photo, "size", None)
    return size[0] * size[1] if size else 0


class FolderPipeline(Generic[Job]):
    """Read ahead on construction; ``run`` paints in the calling thread and yields results in job order.

    ``read(job) -> photo`` (anything with ``size`` as (width, height)), ``paint(pairs) -> outputs``
    (a list of one (job, photo) pair, or up to ``batch`` pairs of photos of the same size, painted
    together) and ``write(job, output)``. The pipeline lets go of a photo once it is painted, so its
    pixels are freed while the result is encoded (the output carries what the writer needs). Exceptions
    for which ``recoverable(exc)`` is true become a result's ``error``; any other stops the run (reads
    not yet started are dropped; started writes finish, atomically).
    """

    def __init__(
        self,
        jobs: Iterable[Job],
        read: Callable[[Job], Any],
        recoverable: Callable[[BaseException], bool],
        *,
        readers: int | None = None,
        writers: int | None = None,
        read_ahead_pixels: int = READ_AHEAD_PIXELS,
    ) -> None:
        default_readers, default_writers = worker_counts()
        self._jobs = deque(jobs)
        self._read, self._recoverable = read, recoverable
        self._readers = ThreadPoolExecutor(readers or default_readers, thread_name_prefix="read")
        self._writer_count = writers or default_writers
        self._writers = ThreadPoolExecutor(self._writer_count, thread_name_prefix="write")
        self._budget = read_ahead_pixels
        # the reading state is shared with the readers, which start the next reads themselves
        self._lock = threading.Lock()
        self._reading: deque[tuple[Job, Future[Any]]] = deque()
        self._largest_seen = 0
        self._ahead = READ_AHEAD_PHOTOS  # photos read or being read, beyond those painting
        self._closed = False
        self._fill()

    # -- reading ahead ---------------------------------------------------------------------------
    def _waiting_pixels(self) -> int:
        total = 0
        for _, future in self._reading:
            if future.done() and future.exception() is None:
                total += _pixels(future.result())
            else:
                total += self._largest_seen  # not decoded yet: assume the largest so far
        return total

    def _fill(self) -> None:
        """Start reads while the budget allows (from the caller's thread, and from a reader as it ends)."""
        with self._lock:
            while not self._closed and self._jobs and len(self._reading) < self._ahead:
                # until a photo has been decoded its size is unknown: one read at a time (a folder of
                # 50 MP photos must not decode five at once)
                if self._reading and (not self._largest_seen or
                                      self._waiting_pixels() + self._largest_seen > self._budget):
                    return
                job = self._jobs.popleft()
                self._reading.append((job, self._readers.submit(self._read_and_go_on, job)))

    def _read_and_go_on(self, job: Job) -> Any:
        try:
            photo = self._read(job)
            with self._lock:
                self._largest_seen = max(self._largest_seen, _pixels(photo))
            return photo
        finally:
            self._fill()  # counts this photo as the largest seen until its future is done: never too few

    def _pending(self) -> bool:
        with self._lock:
            return bool(self._reading or self._jobs)

    def _next_read(self) -> tuple[Job, Any, BaseException | None]:
        with self._lock:
            job, future = self._reading.popleft()
        try:
            photo = future.result()
        except Exception as exc:  # noqa: BLE001 - sorted by the caller's recoverable()
            return job, None, exc
        return job, photo, None

    def _next_if_decoded(self, size: tuple[int, int]) -> tuple[Job, Any] | None:
        """The next photo if it is decoded already, without error, and of ``size``."""
        with self._lock:
            if not self._reading:
                return None
            job, future = self._reading[0]
            if not future.done() or future.exception() is not None or future.result().size != size:
                return None
            self._reading.popleft()
            return job, future.result()

    # -- the run -----------------------------------------------------------------------------------
    def run(
        self,
        paint: Callable[[Sequence[tuple[Job, Any]]], Sequence[Any]],
        write: Callable[[Job, Any], None],
        batch: int = 1,
    ) -> Iterator[FileResult[Job]]:
        writing: _Writing[Job] = deque()
        with self._lock:
            self._ahead = max(self._ahead, batch)  # room for a whole batch to be decoded
        try:
            while self._pending():
                group = self._take_group(batch, writing)
                if not group:
                    continue
                self._fill()  # the next photos decode while this group paints
                started = time.perf_counter()
                try:
                    outputs = paint(group)
                except Exception as exc:  # noqa: BLE001
                    if not self._recoverable(exc):
                        raise
                    writing.extend((FileResult(job, photo.size, error=str(exc)), None, started) for job, photo in group)
                    continue
                results = [FileResult(job, photo.size) for job, photo in group]
                group.clear()  # the photos' pixels are freed while their results encode
                writing.extend((result, self._writers.submit(write, result.job, output), started)
                               for result, output in zip(results, outputs))
                del outputs
                yield from self._finished(writing, keep=self._writer_count)
            yield from self._finished(writing, keep=0)
        finally:
            self.close()

    def _take_group(self, batch: int, writing: _Writing[Job]) -> list[tuple[Job, Any]]:
        """The next photo, and following ones of the same size that are already decoded (up to ``batch``)."""
        self._fill()
        job, photo, error = self._next_read()
        if error is not None:
            if not self._recoverable(error):
                raise error
            writing.append((FileResult(job, error=str(error)), None, time.perf_counter()))
            self._fill()
            return []
        group = [(job, photo)]
        while len(group) < batch and (following := self._next_if_decoded(photo.size)) is not None:
            group.append(following)
        return group

    def _finished(self, writing: _Writing[Job], keep: int) -> Iterator[FileResult[Job]]:
        """Yield finished results from the front; wait for the oldest while more than ``keep`` are pending."""
        while writing:
            result, future, started = writing[0]
            if future is not None and not future.done() and len(writing) <= keep:
                return
            writing.popleft()
            if future is not None:
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001
                    if not self._recoverable(exc):
                        raise
                    result.error = str(exc)
                result.seconds = time.perf_counter() - started
            yield result

    def close(self) -> None:
        """Drop reads not started; let started writes finish (they are atomic)."""
        with self._lock:
            self._closed = True
            self._jobs.clear()
        self._readers.shutdown(wait=True, cancel_futures=True)
        self._writers.shutdown(wait=True)
