"""Atomic file writes: write a temporary file in the target's folder, then rename it over the target.

A crash or a full disk mid-write leaves the old file intact and no half-written file behind. Writers
that can produce bytes in memory use ``atomic_write_bytes``, which checks every byte reached the disk
(short writes, ENOSPC) and fsyncs before the rename. Temporary files carry a recognisable prefix, so
ones left by a killed process are removed the next time a process of ours writes in that folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".sftmp-"
STALE_AFTER_S = 3600.0  # older temporary files of ours belong to a process that died

_swept: set[str] = set()
_sweep_lock = threading.Lock()


def clean_stale_temporaries(folder: str | os.PathLike[str], older_than_s: float = STALE_AFTER_S) -> int:
    """Remove our temporary files older than ``older_than_s`` in ``folder``; how many were removed."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > older_than_s:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            pass
    return removed


def clean_own_folders(root_folders: list[Path], depth: int = 3) -> int:
    """At start-up: stale temporaries in our own folders (styles, autosaves, checkpoint slots, caches),
    ``depth`` levels of subfolders deep; how many were removed."""
    removed = 0
    for root in root_folders:
        base = len(Path(root).parts)
        for folder, subfolders, _ in os.walk(root):
            removed += clean_stale_temporaries(folder)
            if len(Path(folder).parts) - base >= depth:
                subfolders.clear()
    return removed


def _sweep_once(folder: Path) -> None:
    key = os.path.abspath(folder)
    with _sweep_lock:
        if key in _swept:
            return
        _swept.add(key)
    clean_stale_temporaries(folder)


def _temporary_beside(target: Path, suffix: str) -> tuple[int, Path]:
    folder = target.parent if str(target.parent) else Path(".")
    _sweep_once(folder)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=folder)
    return fd, Path(name)


def _finish(tmp: Path, target: Path) -> None:
    # mkstemp makes 0600 files; give the result the mode a plain open() would (or the old file's)
    os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_current_umask())
    os.replace(tmp, target)
    _fsync_folder(target.parent)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on normal exit it replaces ``target``.

    For writers that need a path (safetensors, torch). The temporary name keeps the target's extension
    (``suffix``) so writers that choose a format by extension still work. On any exception the
    temporary file is removed and the target is untouched.
    """
    target = Path(target)
    fd, tmp = _temporary_beside(target, suffix if suffix is not None else target.suffix)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _finish(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes | memoryview) -> None:
    """Write ``data`` to ``target`` atomically; raises OSError (ENOSPC included) with the target untouched."""
    target = Path(target)
    fd, tmp = _temporary_beside(target, target.suffix)
    try:
        view = memoryview(data)
        written = 0
        while written < len(view):
            n = os.write(fd, view[written:written + (64 << 20)])
            if n <= 0:  # a short write that makes no progress: the disk is full
                raise OSError(28, "No space left on device")
            written += n
        os.fsync(fd)
        os.close(fd)
        fd = -1
        if os.path.getsize(tmp) != len(view):
            raise OSError(28, "No space left on device")
        _finish(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
