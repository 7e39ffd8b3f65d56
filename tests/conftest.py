"""Shared fixtures. Every test runs with private user folders; weights convert once per session."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Renders fit their CPU threads to what other programs leave free (engine/device.py), and a thread count
# changes the order of sums; tests fix it, so their pixels do not depend on what else the machine runs.
os.environ.setdefault("STYLEFUSE_THREADS", str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                               else os.cpu_count() or 1))


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    os.environ["STYLEFUSE_CACHE_DIR"] = str(cache)
    yield cache


@pytest.fixture(autouse=True)
def _private_user_data(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEFUSE_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.setenv("STYLEFUSE_CONFIG_DIR", str(tmp_path / "user-config"))


@pytest.fixture(scope="session")
def photo_rgb() -> np.ndarray:
    """A real photograph from scikit-image's data (float32 [H, W, 3] in [0, 1]), 128x96."""
    from skimage import data, transform

    return transform.resize(data.astronaut(), (96, 128), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="session")
def style_rgb() -> np.ndarray:
    from skimage import data

    return (data.coffee().astype(np.float32) / 255.0)[::2, ::2]
