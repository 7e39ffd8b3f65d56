"""The style engine: networks, weights, styles, fusion, rendering (torch, no Qt)."""

# the CPU-load window opens here, before torch loads (see cpu_load.py)
from . import cpu_load  # noqa: F401
