"""Training data: folders of pictures, before/after pairs, the default content photos, augmentation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..document.image_io import fit_longest_side, is_image_path, read_image
from ..errors import BadInputError, StyleFuseError

try:
    from torchvision import tv_tensors
    from torchvision.transforms import v2 as T
except (ImportError, RuntimeError) as exc:  # a build of torchvision that does not match torch
    raise StyleFuseError(f"Training needs torchvision, which this installation lacks or cannot load ({exc}); "
                         "painting and everything else still work") from None

log = logging.getLogger(__name__)

MAX_SIDE = 1024  # pictures larger than this are reduced once when loaded: training sees crops anyway
MAX_STYLE_IMAGES = 200
MAX_PAIRS = 500


@dataclass
class Loaded:
    images: list[np.ndarray]  # float32 [H, W, 3]
    names: list[str]
    skipped: list[str] = field(default_factory=list)  # "file: reason", for the user


def _files(folder: Path, what: str) -> list[Path]:
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise BadInputError(f"{folder}: the {what} folder does not exist")
    if not folder.is_dir():
        raise BadInputError(f"{folder}: the {what} folder is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise BadInputError(f"{folder}: the {what} folder is empty")
    return files


MAX_ASPECT = 8  # a picture longer than this many times its width (or the reverse) is a strip, not a picture
MIN_SIDE = 32


def _read_picture(path: Path):
    """A training picture; strips (1000x1) are refused, as cropping them to the training size would
    enlarge them a thousandfold in memory."""
    photo = read_image(path)
    width, height = photo.size
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_ASPECT * min(width, height):
        raise BadInputError(f"{path}: {width}x{height} is too small or too narrow to learn from "
                            f"(at least {MIN_SIDE} pixels a side, at most {MAX_ASPECT}:1)")
    return photo


def _read(path: Path) -> np.ndarray:
    photo = fit_longest_side(_read_picture(path), MAX_SIDE)
    if photo.alpha is not None:  # transparent areas over white, as the user sees them
        a = photo.alpha[..., None]
        return photo.rgb * a + (1 - a)
    return photo.rgb


def load_folder(folder: Path, what: str = "style", limit: int = MAX_STYLE_IMAGES) -> Loaded:
    """Every readable picture in ``folder`` (unreadable ones skipped and reported)."""
    loaded = Loaded([], [])
    for path in _files(folder, what):
        if not is_image_path(path):
            loaded.skipped.append(f"{path.name}: not a picture")
            continue
        try:
            loaded.images.append(_read(path))
            loaded.names.append(path.name)
        except BadInputError as exc:
            loaded.skipped.append(f"{path.name}: {str(exc).split(': ', 1)[-1]}")
        if len(loaded.images) >= limit:
            loaded.skipped.append(f"only the first {limit} pictures are used")
            break
    if not loaded.images:
        raise BadInputError(f"{folder}: no readable pictures in the {what} folder")
    return loaded


def load_pairs(before: Path, after: Path) -> Loaded:
    """Pairs matched by file name (extension aside). ``images`` alternates before, after."""
    before_files = {p.stem: p for p in _files(before, "'before'") if is_image_path(p)}
    after_files = {p.stem: p for p in _files(after, "'after'") if is_image_path(p)}
    unmatched = sorted(set(before_files) ^ set(after_files))
    if unmatched:
        shown = ", ".join(unmatched[:5]) + (" …" if len(unmatched) > 5 else "")
        raise BadInputError(f"before/after pairs do not match: no partner for {shown}")
    loaded = Loaded([], [])
    for stem in sorted(before_files):
        try:
            x, y = _read_picture(before_files[stem]), _read_picture(after_files[stem])
        except BadInputError as exc:
            loaded.skipped.append(f"{stem}: {str(exc).split(': ', 1)[-1]}")
            continue
        if x.size != y.size:
            raise BadInputError(f"pair '{stem}': before is {x.size[0]}x{x.size[1]}, after is {y.size[0]}x{y.size[1]}; "
                                "a pair must have one size")
        x, y = fit_longest_side(x, MAX_SIDE), fit_longest_side(y, MAX_SIDE)
        loaded.images += [x.rgb, y.rgb]
        loaded.names.append(stem)
        if len(loaded.names) >= MAX_PAIRS:
            loaded.skipped.append(f"only the first {MAX_PAIRS} pairs are used")
            break
    if len(loaded.names) < 2:
        raise BadInputError("a look needs at least 2 readable before/after pairs")
    return loaded


def default_content(count: int = 6) -> list[np.ndarray]:
    """Content photos when the user gives none: generated landscapes (the project's own)."""
    from ..samples import sample_landscapes

    return sample_landscapes(count)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)


def augmenter(size: int, scale: tuple[float, float] = (0.2, 1.0)) -> T.Compose:
    """Random crops at several scales and flips; with several inputs, the same crop for each (pairs)."""
    return T.Compose([T.RandomResizedCrop(size, scale=scale, ratio=(0.75, 1.333), antialias=True),
                      T.RandomHorizontalFlip()])


def centre_crop(size: int) -> T.Compose:
    """The same crop every time (for measurements that must not depend on the random stream)."""
    return T.Compose([T.Resize(size, antialias=True), T.CenterCrop(size)])


STYLE_VIEW = 256  # style pictures are seen with their short side at this size, as the style predictor sees them


def style_view(images: list[np.ndarray]) -> list[np.ndarray]:
    """Each style picture resized so its short side is STYLE_VIEW: the scale of its brushwork that the
    zero-shot style already reflects, used alike for training crops and for measuring the result."""
    from ..document.image_io import resize_array

    out = []
    for rgb in images:
        h, w = rgb.shape[:2]
        scale = STYLE_VIEW / min(h, w)
        out.append(resize_array(rgb, (max(1, round(w * scale)), max(1, round(h * scale)))))
    return out


def prepare(images: list[np.ndarray], size: int) -> list[torch.Tensor]:
    """Tensors at least ``size`` on their short side (small pictures are enlarged for cropping)."""
    out = []
    for rgb in images:
        t = to_tensor(rgb)
        short = min(t.shape[-2:])
        if short < size:
            scale = size / short
            t = torch.nn.functional.interpolate(t[None], scale_factor=scale, mode="bilinear", align_corners=False,
                                                antialias=False)[0].clamp(0, 1)
        out.append(t)
    return out


def batch(pool: list[torch.Tensor], picks: np.ndarray, crops: T.Compose) -> torch.Tensor:
    return torch.stack([crops(pool[i]) for i in picks])


def paired_batch(pool: list[torch.Tensor], picks: np.ndarray, crops: T.Compose) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for i in picks:
        # wrapped as images: torchvision then crops both the same way (plain tensors: only the first)
        x, y = crops(tv_tensors.Image(pool[2 * i]), tv_tensors.Image(pool[2 * i + 1]))
        xs.append(x.as_subclass(torch.Tensor))
        ys.append(y.as_subclass(torch.Tensor))
    return torch.stack(xs), torch.stack(ys)
