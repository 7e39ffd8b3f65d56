"""One place decides where torch runs (CUDA, Apple's MPS or the CPU) and how pixels cross to it and back.

Switches for CUDA, read from the environment so a benchmark can measure with and without them:
``STYLEFUSE_CUDNN_BENCHMARK`` (1 turns cuDNN's trial of every convolution algorithm on; off by default:
on an H200 the first 1024 px render took 3.2 s with the trials and 0.46 s without, and each later photo
gained under 1 ms, so they pay back only after thousands of photos of one size) and
``STYLEFUSE_COMPILE`` (``off`` by default; ``default`` or ``reduce-overhead`` (CUDA graphs) compile the
one-tile forward pass with torch.compile).
``STYLEFUSE_BATCH`` sets how many same-sized photos of a folder a GPU paints in one pass (default 4).
``STYLEFUSE_CUDA_WARMUP=0`` leaves the CUDA context to the first use instead of a background thread.
``STYLEFUSE_CUDA_GRAPHS=0`` runs the trainers' steps one kernel launch at a time instead of replaying
each step as one CUDA graph (``training.cuda_graph``).

On the CPU, torch's threads are fitted to the cores other programs leave free (``STYLEFUSE_THREADS``
fixes the number): every operation ends at a barrier where all threads wait for the slowest, and a
thread whose core another program holds stalls them all for a scheduler slice. Measured on a 2-core
machine kept busy by other processes: a 1024 px render took 0.9 s on one thread and 4-11 s on two.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import ParamSpec, TypeVar

import numpy as np
import torch

from ..devices import DEVICE_CHOICES
from ..errors import BadInputError
from . import cpu_load

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune")


def physical_cores() -> int:
    """Physical cores available to this process (hyper-threads share a core's arithmetic units)."""
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in allowed:
        siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def _keep_freed_memory_in_heap() -> None:
    """glibc hands every block over 32 MB back to the OS on free and page-faults it in again on the next
    allocation; a render allocates the same large activations over and over, and those faults cost more
    than the arithmetic (measured: 38 ms vs 5 ms for one ReLU over 1024x1024x32). Keep them in the heap."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_MAX, 0)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):
        log.debug("mallopt unavailable; large allocations stay mmapped")


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


@lru_cache(maxsize=1)
def configure_threads() -> int:
    """Threads = physical cores, and the allocator tuned for large tensors (once per process)."""
    threads = physical_cores()
    torch.set_num_threads(threads)
    _keep_freed_memory_in_heap()
    return threads


def fitted_threads(render: Callable[P, R]) -> Callable[P, R]:
    """Run ``render`` with torch's CPU threads fitted to the load, and give the count back afterwards.
    Only renders: training keeps its fixed count, so a run computes the same whatever else the machine does
    (a thread count changes the order of sums)."""

    @functools.wraps(render)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        before = torch.get_num_threads()
        fit_threads_to_load()
        try:
            return render(*args, **kwargs)
        finally:
            torch.set_num_threads(before)

    return wrapper


def fit_threads_to_load() -> int:
    """Set torch's CPU threads to the cores free at this process's first render (at least one); returns
    the count. Decided once: the thread count changes the order of sums, and two renders of one photo in
    one session must give the same pixels."""
    threads = render_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


@lru_cache(maxsize=1)
def render_threads() -> int:
    cores = configure_threads()
    fixed = os.environ.get("STYLEFUSE_THREADS", "").strip()
    if fixed.isdigit() and int(fixed) > 0:
        return int(fixed)
    others = cpu_load.meter.busy_elsewhere(physical_cores())
    threads = cores if others is None else max(1, min(cores, math.floor(cores - others + 0.5)))
    log.debug("CPU threads for renders: %d of %d cores (other programs keep %.1f busy)", threads, cores, others or 0)
    return threads


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def select_device(preference: str = "auto") -> torch.device:
    """``auto`` takes CUDA, then MPS, then the CPU; naming an absent device is a clear error."""
    configure_threads()
    preference = (preference or "auto").lower()
    if preference not in DEVICE_CHOICES:
        raise BadInputError(f"unknown device '{preference}'; choose one of {', '.join(DEVICE_CHOICES)}")
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    if preference == "cuda" and not torch.cuda.is_available():
        raise BadInputError("device 'cuda' was asked for, but no CUDA GPU is usable here; use --device cpu or auto")
    if preference == "mps" and not _mps_available():
        raise BadInputError("device 'mps' was asked for, but Apple's Metal backend is not available here")
    device = torch.device(preference)
    if device.type == "cuda":
        configure_cuda()
    return device


def _switch(name: str, default: str) -> str:
    return os.environ.get(name, default).strip().lower()


@lru_cache(maxsize=1)
def configure_cuda() -> None:
    """TF32 as torch sets it (cuDNN's convolutions use it, matrix products do not); cuDNN autotuning as
    the switch says; the CUDA context is made in the background while the caller prepares its work."""
    torch.backends.cudnn.benchmark = cudnn_autotuning()
    if _switch("STYLEFUSE_CUDA_WARMUP", "1") not in ("0", "off", "no", "false"):
        threading.Thread(target=_make_cuda_context, name="cuda-warm-up", daemon=True).start()


def _make_cuda_context() -> None:
    """The driver's context and torch's allocator (~0.25 s on an H100, the first upload's otherwise),
    then one tiny convolution, which loads cuDNN's libraries (its handles are per thread, its libraries
    per process): made while the main thread imports and loads weights; a use of CUDA meanwhile waits."""
    try:
        x = torch.empty(1, 3, 8, 8, device="cuda")
        torch.nn.functional.conv2d(x, torch.empty(4, 3, 3, 3, device="cuda"))
    except Exception:  # noqa: BLE001 - the first real use reports any problem, where it can be handled
        log.debug("warming CUDA up failed", exc_info=True)


def cudnn_autotuning() -> bool:
    """Whether cuDNN tries every algorithm for each new convolution size: only when
    ``STYLEFUSE_CUDNN_BENCHMARK`` asks (see the module's note for why not by default)."""
    return _switch("STYLEFUSE_CUDNN_BENCHMARK", "0") in ("1", "on", "yes", "true")


def cuda_graphs_enabled() -> bool:
    """Whether the trainers replay each training step as a CUDA graph (``STYLEFUSE_CUDA_GRAPHS``, on by default)."""
    return _switch("STYLEFUSE_CUDA_GRAPHS", "1") not in ("0", "off", "no", "false")


def compile_mode() -> str:
    """How the one-tile forward pass is compiled on CUDA (``STYLEFUSE_COMPILE``); ``off`` elsewhere."""
    mode = _switch("STYLEFUSE_COMPILE", "off")
    if mode in ("", "0", "no", "false"):
        return "off"
    if mode in ("1", "on", "yes", "true"):
        return "default"
    if mode not in COMPILE_MODES:
        log.warning("STYLEFUSE_COMPILE=%s is not one of %s; not compiling", mode, ", ".join(COMPILE_MODES))
        return "off"
    return mode


def folder_batch(device: torch.device) -> int:
    """Photos of one size painted together in a folder run: on a GPU several (``STYLEFUSE_BATCH``), on a
    CPU one (a batch only adds memory there: the cores are busy with one photo already)."""
    if device.type != "cuda":
        return 1
    try:
        return max(1, int(_switch("STYLEFUSE_BATCH", "4")))
    except ValueError:
        return 4


_FREE_MEMORY_SECONDS = 1.0
_free_memory: dict[torch.device, tuple[float, int]] = {}


def free_device_memory(device: torch.device) -> int:
    """Bytes the driver reports free on a CUDA device, read at most once a second: the call took 10-36 ms
    on an H100 and an H200, and tile and batch sizes asked for it several times a photo."""
    now = time.monotonic()
    read_at, free = _free_memory.get(device, (-math.inf, 0))
    if now - read_at >= _FREE_MEMORY_SECONDS:
        free = int(torch.cuda.mem_get_info(device)[0])
        _free_memory[device] = (now, free)
    return free


def host_tensor(pixels: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``pixels``' memory; a read-only array (Pillow's) is copied, as torch writes."""
    pixels = np.ascontiguousarray(pixels)
    return torch.from_numpy(pixels if pixels.flags.writeable else pixels.copy())


def upload(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """[H, W, 3] float32 or uint8 pixels -> [1, 3, H, W] float32 in [0, 1] on ``device``.

    uint8 crosses as bytes (a quarter of the traffic) and becomes float on the device. The photo is not
    pinned first: that would be one more host copy of it (576 MB at 8000x6000) to save a few ms of
    transfer; the driver streams pageable memory through its own pinned buffers.
    """
    x = host_tensor(rgb).to(device)
    x = x.float().mul_(1 / 255.0) if x.dtype == torch.uint8 else x.float()
    return x.permute(2, 0, 1)[None]


def to_uint8_image(x: torch.Tensor) -> np.ndarray:
    """[1, 3, H, W] float in [0, 1] (any device) -> [H, W, 3] uint8 on the host, rounded as
    ``document.image_io.to_uint8`` rounds. The conversion runs where the tensor is; from CUDA only the
    bytes cross, into page-locked memory."""
    q = x[0].permute(1, 2, 0).clamp(0.0, 1.0).mul_(255.0).add_(0.5).to(torch.uint8)
    if x.device.type != "cuda":
        return q.contiguous().numpy()
    host = torch.empty(q.shape, dtype=torch.uint8, pin_memory=True)
    host.copy_(q, non_blocking=True)
    torch.cuda.current_stream(x.device).synchronize()
    return host.numpy()


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({configure_threads()} threads)"
