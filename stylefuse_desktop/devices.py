"""The devices a user can choose (no torch here: the CLI's options and the preferences dialog list them
before the engine starts; ``engine.device.select_device`` decides what each means), the CPU cores
this process may use (for the document's PNG writer and the engine's batch pipeline alike), and the
GPU driver woken while torch imports."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
import threading
from pathlib import Path

DEVICE_LABELS = {
    "auto": "Automatic (GPU when there is one)",
    "cpu": "CPU",
    "cuda": "NVIDIA GPU (CUDA)",
    "mps": "Apple GPU (Metal)",
}
DEVICE_CHOICES = tuple(DEVICE_LABELS)


def usable_cores() -> int:
    """The CPU cores this process may run on: its affinity where the system keeps one."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def wake_cuda_driver(preference: str) -> threading.Thread | None:
    """Start the NVIDIA driver and GPU 0's primary context in a background thread, before torch is
    imported, and return the thread (None when there is nothing to wake). torch's import takes
    1.2-1.5 s on an H100 machine and runs Python all the while; the driver's start (~0.2 s, otherwise
    waited for at the first upload) needs no torch and runs in C without the GIL, so the two overlap.
    torch then finds the primary context made and uses it. Only where torch will run on CUDA: the
    choice is auto or cuda, the installed torch is a CUDA build, and a driver library is there.
    ``STYLEFUSE_CUDA_WARMUP=0`` turns this off, with the engine's own warm-up."""
    if preference not in ("auto", "cuda") or not cuda_warm_up_wanted() or not _torch_has_cuda():
        return None
    thread = threading.Thread(target=_retain_primary_context, name="cuda-driver", daemon=True)
    thread.start()
    return thread


def cuda_warm_up_wanted() -> bool:
    """``STYLEFUSE_CUDA_WARMUP``: on unless 0 (a benchmark measures with and without)."""
    return os.environ.get("STYLEFUSE_CUDA_WARMUP", "1").strip().lower() not in ("0", "off", "no", "false")


def _torch_has_cuda() -> bool:
    """Whether the torch that will be imported is a CUDA build, found without importing it."""
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    library = Path(next(iter(spec.submodule_search_locations))) / "lib"
    return any(library.glob("libtorch_cuda*")) or any(library.glob("torch_cuda*.dll"))


def _retain_primary_context() -> None:
    # the CUDA driver API, by ctypes (which lets go of the GIL during each call); a failure here costs
    # nothing: torch meets the same problem at its first use and reports it there
    try:
        driver = ctypes.CDLL("nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1")
        device, context = ctypes.c_int(), ctypes.c_void_p()
        if driver.cuInit(0) == 0 and driver.cuDeviceGet(ctypes.byref(device), 0) == 0:
            driver.cuDevicePrimaryCtxRetain(ctypes.byref(context), device)
    except (OSError, AttributeError):
        pass
