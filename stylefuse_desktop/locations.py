"""Where things live: the user's folders (platformdirs) and the files shipped with the app."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "StyleFuse"
_dirs = PlatformDirs(APP_NAME, appauthor=False)


def _override(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else default


def cache_dir() -> Path:
    """Converted weights and thumbnails: safe to delete, rebuilt on demand."""
    return _override("STYLEFUSE_CACHE_DIR", Path(_dirs.user_cache_dir))


def data_dir() -> Path:
    """The user's own data: trained styles, autosaves."""
    return _override("STYLEFUSE_DATA_DIR", Path(_dirs.user_data_dir))


def config_dir() -> Path:
    return _override("STYLEFUSE_CONFIG_DIR", Path(_dirs.user_config_dir))


def user_styles_dir() -> Path:
    return data_dir() / "styles"


def weights_cache_dir() -> Path:
    return cache_dir() / "weights"


def app_root() -> Path:
    """The folder that holds ``models/`` and ``resources/``: the source tree, or a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    return app_root() / "models"


def resources_dir() -> Path:
    return app_root() / "resources"


def bundled_weights_dir() -> Path:
    """Weights converted at build time and shipped inside an application bundle (absent in a source tree)."""
    return _override("STYLEFUSE_BUNDLED_WEIGHTS", models_dir() / "weights")


def sample_photo_path() -> Path:
    return resources_dir() / "sample_photo.jpg"
