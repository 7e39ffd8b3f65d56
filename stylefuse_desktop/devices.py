"""The devices a user can choose (no torch here: the CLI's options and the preferences dialog list them
before the engine starts; ``engine.device.select_device`` decides what each means)."""

from __future__ import annotations

DEVICE_LABELS = {
    "auto": "Automatic (GPU when there is one)",
    "cpu": "CPU",
    "cuda": "NVIDIA GPU (CUDA)",
    "mps": "Apple GPU (Metal)",
}
DEVICE_CHOICES = tuple(DEVICE_LABELS)
