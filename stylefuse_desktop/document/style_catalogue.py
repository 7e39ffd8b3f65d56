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
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .. import locations
from ..errors import BadInputError
from .style_file import STYLE_EXTENSION, StyleFile, read_style, read_style_name
from .user_files import printable

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
    """A ``.sfstyle`` file found in one of the style folders: its bytes, read once, and the style in them."""

    kind: StyleKind
    path: Path
    style: StyleFile
    data: bytes = field(repr=False)

    @property
    def name(self) -> str:
        return self.style.name


def style_files(kinds: tuple[StyleKind, ...] = (StyleKind.USER, StyleKind.IMAGE)) -> list[tuple[StyleKind, Path]]:
    """The one folder scan: every ``.sfstyle`` file of the given kinds, by kind then file name."""
    found = []
    for kind, folder in style_folders():
        if kind in kinds and folder.is_dir():
            found += [(kind, path) for path in sorted(folder.glob(f"*{STYLE_EXTENSION}"))]
    return found


def _skip(exc: BaseException) -> None:
    log.warning("skipping user style: %s", printable(exc, 300))


def stored_styles(kinds: tuple[StyleKind, ...] = (StyleKind.USER, StyleKind.IMAGE),
                  skipped: list[Path] | None = None) -> list[StoredStyle]:
    """Every readable stored style of the given kinds, sorted by kind then name; a damaged file is
    logged and skipped (it must not hide the others), and added to ``skipped`` when one is given."""
    found = []
    files = style_files(kinds)
    present = set(files)
    for gone in [key for key in _stored if key[0] in kinds and key not in present]:
        del _stored[gone]
    for kind, path in files:
        try:
            found.append(read_stored(kind, path))
        except (BadInputError, ValueError, OSError, MemoryError) as exc:
            _skip(exc)
            if skipped is not None:
                skipped.append(path)
    return sorted(found, key=lambda s: (list(StyleKind).index(s.kind), s.name.lower()))


Stamp = tuple[int, int, int]  # a file's modification time, size and inode: any rewrite changes one

# path -> (stamp, style name or the reason it is unusable): a style's manifest is read once
_names: dict[Path, tuple[Stamp, str | BadInputError]] = {}
# (kind, path) -> (stamp, the style or the reason it is unusable): every scan after the first (the
# picker's, on each new document) reads and parses only the files that changed
_stored: dict[tuple[StyleKind, Path], tuple[Stamp, StoredStyle | BadInputError]] = {}


def _stamp(path: Path) -> Stamp:
    try:
        st = path.stat()
        return st.st_mtime_ns, st.st_size, st.st_ino
    except OSError:
        return 0, -1, 0


def read_stored(kind: StyleKind, path: Path) -> StoredStyle:
    """A stored style, its file read once and parsed from those bytes; cached by modification time
    (BadInputError, cached as well, if the file is unusable)."""
    stamp = _stamp(path)
    cached = _stored.get((kind, path))
    if cached is None or cached[0] != stamp:
        try:
            data, style = read_style(path)
            cached = (stamp, StoredStyle(kind, path, style, data))
        except BadInputError as exc:
            cached = (stamp, exc)
        _stored[(kind, path)] = cached
    if isinstance(cached[1], BadInputError):
        raise cached[1]
    return cached[1]


def stored_name(path: Path) -> str:
    """A stored style's name from its manifest alone, cached by modification time; BadInputError if unusable."""
    stamp = _stamp(path)
    cached = _names.get(path)
    if cached is None or cached[0] != stamp:
        try:
            cached = (stamp, read_style_name(path))
        except BadInputError as exc:
            cached = (stamp, exc)
        _names[path] = cached
    if isinstance(cached[1], BadInputError):
        raise cached[1]
    return cached[1]


def find_stored(name: str) -> StoredStyle | None:
    """A stored style by its file's name or its own name (slugs compared): files whose name matches are
    tried first, then the manifests' names (read once per file and cached), so naming one style does
    not load every style's tensors."""
    wanted = slug(name)
    files = style_files()
    for kind, path in files:
        if slug(path.stem) == wanted:
            return read_stored(kind, path)
    for kind, path in files:
        try:
            if slug(stored_name(path)) == wanted:
                return read_stored(kind, path)
        except BadInputError as exc:
            _skip(exc)
    return None


def free_user_style_slot(stem: str, name: str) -> tuple[Path, str]:
    """A file in the user styles folder and a style name for an imported style that replace neither
    an existing file nor a style of the same name: "Name (2)", "Name (3)", ..."""
    folder = locations.user_styles_dir()
    folder.mkdir(parents=True, exist_ok=True)
    taken = set()
    for _, path in style_files((StyleKind.USER,)):
        try:
            taken.add(slug(stored_name(path)))
        except BadInputError:
            pass
    base_stem = slug(stem) or "style"
    for n in range(1, 10_000):
        candidate_name = name if n == 1 else f"{name} ({n})"
        candidate = folder / (f"{base_stem}{STYLE_EXTENSION}" if n == 1 else f"{base_stem}-{n}{STYLE_EXTENSION}")
        if not candidate.exists() and slug(candidate_name) not in taken:
            return candidate, candidate_name
    raise BadInputError(f"'{printable(name)}': too many styles of this name in {folder}")
