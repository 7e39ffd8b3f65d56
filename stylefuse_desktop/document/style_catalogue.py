"""Every style the user can pick, in one place (no Qt, no torch): the 26 built-ins named in
``models/builtin_styles.json`` and the ``.sfstyle`` files kept in the user's folders.

The CLI (``stylefuse styles``, ``--style NAME``) and the editor's picker both list styles through
``catalogue()``, so they read the same folders; a new kind of style is a member of ``StyleKind`` and a
folder in ``STYLE_FOLDERS``.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .. import locations
from ..errors import BadInputError
from .style_file import STYLE_EXTENSION, StyleFile, read_style_file

log = logging.getLogger(__name__)


class StyleKind(str, enum.Enum):
    """What a style is. A ``str`` enum: projects store the value, and ``kind == "builtin"`` still holds."""

    BUILTIN = "builtin"  # one of the 26 styles of the multi-style network
    USER = "user"  # a .sfstyle the user trained or imported
    IMAGE = "image"  # learnt from pictures (kept as .sfstyle data once measured)

    def __str__(self) -> str:
        return self.value


def slug(text: str) -> str:
    """The one slug: lower case, runs of anything but letters and digits become one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class BuiltinStyle:
    index: int
    name: str
    description: str

    @property
    def slug(self) -> str:
        return slug(self.name)


@lru_cache(maxsize=1)
def builtin_styles() -> tuple[BuiltinStyle, ...]:
    """The 26 built-in styles in manifest order (stable)."""
    manifest = json.loads((locations.models_dir() / "builtin_styles.json").read_text(encoding="utf-8"))
    styles = tuple(BuiltinStyle(s["index"], s["name"], s.get("description", "")) for s in manifest["styles"])
    if sorted(s.index for s in styles) != list(range(26)):
        raise RuntimeError("models/builtin_styles.json must name each of the 26 styles once")
    return styles


def find_builtin(name: str) -> BuiltinStyle | None:
    wanted = slug(name)
    return next((s for s in builtin_styles() if s.slug == wanted), None)


def image_styles_dir() -> Path:
    """Styles measured from the user's pictures in the editor."""
    return locations.data_dir() / "image-styles"


def style_folders() -> tuple[tuple[StyleKind, Path], ...]:
    """The folders of stored styles, by kind."""
    return ((StyleKind.USER, locations.user_styles_dir()), (StyleKind.IMAGE, image_styles_dir()))


@dataclass(frozen=True)
class StoredStyle:
    """A ``.sfstyle`` file found in one of the style folders."""

    kind: StyleKind
    path: Path
    style: StyleFile

    @property
    def name(self) -> str:
        return self.style.name

    def data(self) -> bytes:
        return self.path.read_bytes()


def stored_styles(kinds: tuple[StyleKind, ...] = (StyleKind.USER, StyleKind.IMAGE)) -> list[StoredStyle]:
    """Every readable stored style of the given kinds, sorted by kind then name; a damaged file is
    logged and skipped (it must not hide the others)."""
    found = []
    for kind, folder in style_folders():
        if kind not in kinds or not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{STYLE_EXTENSION}")):
            try:
                found.append(StoredStyle(kind, path, read_style_file(path)))
            except BadInputError as exc:
                log.warning("skipping a style file: %s", exc)
    return sorted(found, key=lambda s: (list(StyleKind).index(s.kind), s.name.lower()))


def find_stored(name: str) -> StoredStyle | None:
    """A stored style by its name or its file's name (slugs compared)."""
    wanted = slug(name)
    return next((s for s in stored_styles() if slug(s.name) == wanted or slug(s.path.stem) == wanted), None)
