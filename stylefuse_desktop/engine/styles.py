"""Styles as the user names them, and mixes of them. No network runs here.

A style is a built-in (one of the 26 of MultiStyleNet, named in ``models/builtin_styles.json``), one
or more pictures (their embeddings are averaged), or a ``.sfstyle`` file (a user style, found by path
or by name in the user styles folder). A mix is any number of styles with weights, normalised.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .. import locations
from ..document.image_io import is_image_path
from ..document.style_file import STYLE_EXTENSION, StyleFile, read_style_file, read_style_name
from ..document.user_files import printable
from ..errors import BadInputError

log = logging.getLogger(__name__)

BUILTIN = "builtin"
IMAGE = "image"
USER = "user"


@dataclass(frozen=True)
class BuiltinStyle:
    index: int
    name: str
    description: str

    @property
    def slug(self) -> str:
        return _slug(self.name)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@lru_cache(maxsize=1)
def builtin_styles() -> tuple[BuiltinStyle, ...]:
    """The 26 built-in styles in manifest order (stable)."""
    manifest = json.loads((locations.models_dir() / "builtin_styles.json").read_text(encoding="utf-8"))
    styles = tuple(BuiltinStyle(s["index"], s["name"], s.get("description", "")) for s in manifest["styles"])
    if sorted(s.index for s in styles) != list(range(26)):
        raise RuntimeError("models/builtin_styles.json must name each of the 26 styles once")
    return styles


def find_builtin(name: str) -> BuiltinStyle | None:
    slug = _slug(name)
    for style in builtin_styles():
        if style.slug == slug:
            return style
    return None


@dataclass(frozen=True)
class StyleSource:
    """One style, resolved from what the user typed."""

    kind: str  # BUILTIN, IMAGE or USER
    label: str
    builtin_index: int | None = None
    image_paths: tuple[Path, ...] = ()
    style_file: StyleFile | None = field(default=None, compare=False, hash=False)
    path: Path | None = None

    @property
    def family(self) -> str:
        """Styles of one family mix in parameter space: the 26-style net's, or embeddings."""
        return "multistyle" if self.kind == BUILTIN else "embedding"


@dataclass(frozen=True)
class StyleMix:
    """Styles with weights; the weights are normalised to sum to 1."""

    components: tuple[tuple[StyleSource, float], ...]

    def __post_init__(self) -> None:
        if not self.components:
            raise BadInputError("no style given")
        for source, weight in self.components:
            if not (weight >= 0.0) or weight == float("inf"):
                raise BadInputError(f"style '{source.label}': the weight must be a number >= 0, got {weight}")
        total = sum(w for _, w in self.components)
        if total <= 0:
            raise BadInputError("the style weights add up to zero; give at least one a positive weight")
        object.__setattr__(self, "components", tuple((s, w / total) for s, w in self.components))

    @classmethod
    def single(cls, source: StyleSource) -> StyleMix:
        return cls(((source, 1.0),))

    @property
    def label(self) -> str:
        if len(self.components) == 1:
            return self.components[0][0].label
        return " + ".join(f"{s.label}:{w:.2f}" for s, w in self.components)

    def family_weights(self) -> dict[str, float]:
        weights: dict[str, float] = {}
        for source, weight in self.components:
            weights[source.family] = weights.get(source.family, 0.0) + weight
        return weights


_WEIGHT = re.compile(r"^(?P<name>.+):(?P<weight>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)$")


def split_weight(spec: str) -> tuple[str, float]:
    """``NAME:0.3`` -> (NAME, 0.3); no suffix -> weight 1. A colon not followed by a number stays in the name."""
    match = _WEIGHT.match(spec.strip())
    if not match:
        return spec.strip(), 1.0
    weight = float(match.group("weight"))
    if weight < 0:
        raise BadInputError(f"style '{match.group('name')}': the weight must be >= 0, got {weight}")
    return match.group("name"), weight


def user_style_files() -> list[Path]:
    folder = locations.user_styles_dir()
    return sorted(folder.glob(f"*{STYLE_EXTENSION}")) if folder.is_dir() else []


# path -> ((mtime, size), style name or the reason it is unusable): a style's manifest is read once
_names: dict[Path, tuple[tuple[int, int], str | BadInputError]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
        return st.st_mtime_ns, st.st_size
    except OSError:
        return 0, -1


def _user_style_name(path: Path) -> str:
    """A user style's name from its manifest alone, cached by modification time; BadInputError if unusable."""
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


def user_styles() -> list[StyleSource]:
    """Every readable style in the user styles folder, sorted by name; damaged files are skipped with a warning."""
    found = []
    for path in user_style_files():
        try:
            found.append(_user_source(path))
        except (BadInputError, ValueError, OSError, MemoryError) as exc:
            log.warning("skipping user style: %s", printable(exc, 300))
    return sorted(found, key=lambda s: s.label.lower())


def _user_source(path: Path) -> StyleSource:
    style = read_style_file(path)
    return StyleSource(kind=USER, label=style.name, style_file=style, path=path)


def find_user_style(text: str) -> StyleSource | None:
    """A user style by name: files whose name matches are tried first, then the manifests' names
    (read once per file and cached), so naming one style does not load every style's tensors."""
    wanted = _slug(text)
    files = user_style_files()
    for path in files:
        if _slug(path.stem) == wanted:
            return _user_source(path)
    for path in files:
        try:
            if _slug(_user_style_name(path)) == wanted:
                return _user_source(path)
        except BadInputError as exc:
            log.warning("skipping user style: %s", printable(exc, 300))
    return None


def user_styles_taken(stem: str, name: str) -> tuple[Path, str]:
    """A file in the user styles folder and a style name for an imported style that replace neither
    an existing file nor a style of the same name: "Name (2)", "Name (3)", ..."""
    folder = locations.user_styles_dir()
    folder.mkdir(parents=True, exist_ok=True)
    taken = set()
    for path in user_style_files():
        try:
            taken.add(_slug(_user_style_name(path)))
        except BadInputError:
            pass
    base_stem = _slug(stem) or "style"
    for n in range(1, 10_000):
        candidate_name = name if n == 1 else f"{name} ({n})"
        candidate = folder / (f"{base_stem}{STYLE_EXTENSION}" if n == 1 else f"{base_stem}-{n}{STYLE_EXTENSION}")
        if not candidate.exists() and _slug(candidate_name) not in taken:
            return candidate, candidate_name
    raise BadInputError(f"'{printable(name)}': too many styles of this name in {folder}")


def image_style(paths: list[Path] | tuple[Path, ...], label: str | None = None) -> StyleSource:
    """A style from pictures: a folder contributes every image in it."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and is_image_path(p))
        elif path.is_file():
            files.append(path)
        else:
            raise BadInputError(f"{path}: no such style image")
    if not files:
        raise BadInputError(f"{', '.join(map(str, paths))}: no style images found")
    return StyleSource(kind=IMAGE, label=label or ", ".join(p.name for p in files[:3]), image_paths=tuple(files))


def resolve_style(name_or_file: str) -> StyleSource:
    """A built-in name, a ``.sfstyle`` path, a user style's name, an image file or a folder of images."""
    text = name_or_file.strip()
    if not text:
        raise BadInputError("empty style name")
    builtin = find_builtin(text)
    if builtin is not None:
        return StyleSource(kind=BUILTIN, label=builtin.name, builtin_index=builtin.index)
    path = Path(text).expanduser()
    if path.suffix.lower() == STYLE_EXTENSION:
        return _user_source(path)
    if path.exists():
        return image_style([path])
    found = find_user_style(text)
    if found is not None:
        return found
    raise BadInputError(f"unknown style '{printable(text, 80)}'; 'stylefuse styles' lists the styles, or give an "
                        "image file")


def parse_mix(styles: list[str] = (), style_images: list[str] = ()) -> StyleMix:
    """The CLI's ``--style NAME_OR_FILE[:W]`` and ``--style-image PATH[:W]`` options, as one mix."""
    components: list[tuple[StyleSource, float]] = []
    for spec in styles:
        name, weight = split_weight(spec)
        try:
            source = resolve_style(name)
        except BadInputError:
            head, colon, tail = spec.rpartition(":")
            if colon and name == spec.strip() and head.strip():
                raise BadInputError(f"style '{head}': bad weight '{tail}' (expected a number such as 0.5)") from None
            raise
        components.append((source, weight))
    for spec in style_images:
        name, weight = split_weight(spec)
        components.append((image_style([Path(name).expanduser()]), weight))
    return StyleMix(tuple(components))
