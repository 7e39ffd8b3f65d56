"""The devices a user can choose (no torch here: the CLI's options and the preferences dialog list them
before the engine starts; ``engine.device.select_device`` decides what each means), and the CPU cores
this process may use (for the document's PNG writer and the engine's batch pipeline alike)."""

from __future__ import annotations

import os

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
