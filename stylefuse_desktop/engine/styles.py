"""Styles as the user names them, and mixes of them. No network runs here.

A style is a built-in (one of the 26 of MultiStyleNet, named in ``models/builtin_styles.json``), one
or more pictures (their embeddings are averaged), or a ``.sfstyle`` file (a user style, found by path
or by name in the user styles folder). A mix is any number of styles with weights, normalised.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..document.image_io import is_image_path
from ..document.style_catalogue import (
    BuiltinStyle,
    StoredStyle,
    StyleKind,
    builtin_styles,
    find_builtin,
    find_stored,
    stored_styles,
)
from ..document.style_file import STYLE_EXTENSION, StyleFile, read_style_file
from ..document.user_files import printable
from ..errors import BadInputError

if TYPE_CHECKING:  # the document model (psygnal) is the editor's; a command-line render does without it
    from ..document.layers import StyleRef

log = logging.getLogger(__name__)

BUILTIN = StyleKind.BUILTIN
IMAGE = StyleKind.IMAGE
USER = StyleKind.USER

__all__ = ["BUILTIN", "IMAGE", "USER", "BuiltinStyle", "StyleKind", "StyleMix", "StyleSource", "builtin_styles",
           "find_builtin", "find_user_style", "image_style", "parse_mix", "resolve_style", "source_of", "split_weight",
           "user_styles"]


@dataclass(frozen=True)
class StyleSource:
    """One style, resolved for the engine: a built-in's index, pictures to measure, or stored
    ``.sfstyle`` data. Whatever the kind, a stored style file (when present) is what paints; a source
    that has nothing to paint with cannot be made (an image style without pictures or data once
    reached the engine and averaged the embeddings of nothing)."""

    kind: StyleKind
    label: str
    builtin_index: int | None = None
    image_paths: tuple[Path, ...] = ()
    style_file: StyleFile | None = field(default=None, compare=False, hash=False)
    path: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", StyleKind(self.kind))
        if self.kind == StyleKind.BUILTIN and self.builtin_index is None:
            raise BadInputError(f"built-in style '{self.label}' has no index")
        if self.kind != StyleKind.BUILTIN and self.style_file is None and not self.image_paths:
            raise BadInputError(f"style '{self.label}' has neither pictures nor style data")

    @property
    def family(self) -> str:
        """Styles of one family mix in parameter space: the 26-style net's, or embeddings."""
        return "multistyle" if self.kind == BUILTIN else "embedding"


def source_of(ref: StyleRef) -> StyleSource:
    """The engine's view of a style a document keeps: the one mapping from ``StyleRef``."""
    if ref.kind == StyleKind.BUILTIN:
        builtin = find_builtin(ref.name)
        if builtin is None:
            raise BadInputError(f"unknown built-in style '{ref.name}'")
        return StyleSource(kind=BUILTIN, label=builtin.name, builtin_index=builtin.index)
    return StyleSource(kind=ref.kind, label=ref.name, style_file=ref.style_file())


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


def _stored_source(found: StoredStyle) -> StyleSource:
    return StyleSource(kind=found.kind, label=found.name, style_file=found.style, path=found.path)


def user_styles() -> list[StyleSource]:
    """Every readable stored style (the user's and those measured from pictures), as the picker lists them."""
    return [_stored_source(found) for found in stored_styles()]


def find_user_style(text: str) -> StyleSource | None:
    found = find_stored(text)
    return None if found is None else _stored_source(found)


def _user_source(path: Path) -> StyleSource:
    style = read_style_file(path)
    return StyleSource(kind=USER, label=style.name, style_file=style, path=path)


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


def parse_mix(styles: Sequence[str] = (), style_images: Sequence[str] = ()) -> StyleMix:
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
