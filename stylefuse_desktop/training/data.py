"""Training data: folders of pictures, before/after pairs, the default content photos, and crops.

Everything a run trains on is read and prepared once and kept on the training device; each step only
picks crops there (random boxes drawn from the run's numpy stream, so a resumed run draws the same)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..document.image_io import Photo, fit_longest_side, is_image_path, read_image, to_uint8
from ..errors import BadInputError

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


def _read_picture(path: Path) -> Photo:
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
        over_white: np.ndarray = photo.rgb * a + (1 - a)
        return over_white
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
    if not loaded.images:  # say why: "unreadable" misleads when every picture is only too small
        more = len(loaded.skipped) - 3
        why = "; ".join(loaded.skipped[:3]) + (f"; and {more} more" if more > 0 else "")
        raise BadInputError(f"{folder}: no readable pictures in the {what} folder ({why})")
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


PROJECT_PHOTOS_VERSION = 1
# (kind, count, (width, height), first seed) of the sets the app ships: the content photos of a run
# given none, and the quality gate's held-out photos (seeds training never uses)
CONTENT_PHOTOS = ("content", 6, (480, 320), 101)
GATE_PHOTOS = ("held-out", 3, (320, 224), 9001)
# photos with the fine detail of real ones (``samples.detail_photo``), on which validation measures how
# readable a style keeps a photo: the landscapes have half the edges of real photos, and overstate it
DETAIL_PHOTOS = ("detail", 8, (192, 144), 301)  # 8 small ones: a single photo's figure varies by 0.03
# and three generated scenes (``samples.scene_photo``: objects with straight and curved edges, stripes,
# mottled surfaces, thin strokes and open backdrops), at the landscapes' size, among the content photos a
# run given none trains on: trained on smooth landscapes alone, a style was fitted to skies and water,
# and on real photos (twice the edges) its feature-statistics gap grew while the landscapes' stayed flat
# (stop 27). Not dead-leaves pictures, though they were at first: trained on the kind of photo validation
# judges readability on, a style learnt to keep that kind readable, and validation then overstated how
# readable it kept real photos (docs/bench/train.md, stop 32)
CONTENT_SCENE_PHOTOS = ("scene", 3, (480, 320), 501)
# landscapes (other seeds again) on which a run's finalists are compared once, at its end: the snapshot
# each shorter preset would keep and the run's own (``style_trainer.final_check``)
FINAL_CHECK_PHOTOS = ("final-check", 6, (320, 224), 7001)
# scenes (seeds no run trains on) on which the gate also judges readability: the landscapes, with half the
# edges of real photos, let a grayscale style through that lost 0.065-0.069 of edge SSIM on real photos
# (``style_trainer.gate``; the very photos ``benchmarks/trace_selection.py`` measures every snapshot on)
GATE_SCENE_PHOTOS = ("scene", 6, (320, 224), 7101)
SHIPPED_PHOTO_SETS = (CONTENT_PHOTOS, CONTENT_SCENE_PHOTOS, GATE_PHOTOS, DETAIL_PHOTOS, FINAL_CHECK_PHOTOS,
                      GATE_SCENE_PHOTOS)


def draw_project_photo(kind: str, size: tuple[int, int], seed: int) -> np.ndarray:
    """Draw one of the project's photos: a detail photo or a scene for those kinds, a landscape for any other."""
    from ..samples import detail_photo, sample_landscapes, scene_photo

    if kind == DETAIL_PHOTOS[0]:
        return detail_photo(seed, size)
    if kind == CONTENT_SCENE_PHOTOS[0]:
        return scene_photo(seed, size)
    return sample_landscapes(1, size=size, first_seed=seed)[0]


def project_photo_name(kind: str, size: tuple[int, int], seed: int) -> str:
    """Where one project photo lives, below the shipped folder and the cache alike."""
    return f"{kind}-v{PROJECT_PHOTOS_VERSION}-{size[0]}x{size[1]}/{seed}.png"


def project_photos(kind: str, count: int, size: tuple[int, int], first_seed: int) -> list[np.ndarray]:
    """The project's own generated photos (``draw_project_photo``): those the app ships (``resources/training-photos``,
    made by ``resources/make_training_photos.py``) are read from there; any other is generated once and
    kept as a PNG in the cache folder. Reading takes milliseconds, generating ~1 s a photo of one core
    (11 s of a first fast training run on a GPU machine, longer than its training steps)."""
    from PIL import Image

    from .. import locations
    from ..document.atomic import atomic_path

    out = []
    for seed in range(first_seed, first_seed + count):
        name = project_photo_name(kind, size, seed)
        path = locations.cache_dir() / "training-photos" / name
        for candidate in (locations.resources_dir() / "training-photos" / name, path):
            try:
                with Image.open(candidate) as im:
                    if im.size == size:
                        out.append(np.asarray(im.convert("RGB"), np.float32) / 255.0)
                        break
            except (OSError, ValueError):
                pass
        else:
            pixels = to_uint8(draw_project_photo(kind, size, seed))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    Image.fromarray(pixels).save(tmp, format="PNG")
            except OSError as exc:  # a read-only cache only costs time
                log.warning("cannot cache the training photo %s: %s", path, exc)
            out.append(pixels.astype(np.float32) / 255)
    return out


def default_content() -> list[np.ndarray]:
    """Content photos when the user gives none (shipped): the project's generated landscapes, then scenes
    (``CONTENT_SCENE_PHOTOS``). Validation views the first ones: landscapes, as before."""
    return [photo for kind, count, size, first_seed in (CONTENT_PHOTOS, CONTENT_SCENE_PHOTOS)
            for photo in project_photos(kind, count, size, first_seed)]


def detail_photos(count: int = DETAIL_PHOTOS[1]) -> list[np.ndarray]:
    """The project's generated photos with fine detail (shipped), for measuring readability."""
    kind, _, size, first_seed = DETAIL_PHOTOS
    return project_photos(kind, count, size, first_seed)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)


STYLE_VIEW = 256  # style pictures are seen with their short side at this size, as the style predictor sees them


def style_view(images: list[np.ndarray], short_side: int = STYLE_VIEW) -> list[np.ndarray]:
    """Each style picture resized so its short side is ``short_side``: the scale of its brushwork that
    the zero-shot style already reflects, used alike for training crops and for measuring the result."""
    from ..document.image_io import resize_array

    out = []
    for rgb in images:
        h, w = rgb.shape[:2]
        scale = short_side / min(h, w)
        out.append(resize_array(rgb, (max(1, round(w * scale)), max(1, round(h * scale)))))
    return out


def prepare(images: list[np.ndarray], size: int, device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Tensors on ``device``, at least ``size`` on their short side (small pictures are enlarged)."""
    out = []
    for rgb in images:
        t = to_tensor(rgb)
        short = min(t.shape[-2:])
        if short < size:
            t = torch.nn.functional.interpolate(t[None], scale_factor=size / short, mode="bilinear",
                                                align_corners=False)[0].clamp(0, 1)
        out.append(t.to(device))
    return out


@dataclass(frozen=True)
class Box:
    top: int
    left: int
    height: int
    width: int
    flip: bool


def random_box(rng: np.random.Generator, height: int, width: int, size: int,
               scale: tuple[float, float] = (1.0, 1.0), ratio: tuple[float, float] = (0.75, 1.333)) -> Box:
    """A crop box covering ``scale`` of the picture's area (1.0: a ``size`` square at the picture's own
    scale, the scale a style is applied at), with an aspect in ``ratio``, and a coin for a mirror."""
    if scale == (1.0, 1.0):
        h, w = min(size, height), min(size, width)
    else:
        area = height * width * rng.uniform(*scale)
        aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1])))
        h = int(np.clip(round(np.sqrt(area / aspect)), 8, height))
        w = int(np.clip(round(np.sqrt(area * aspect)), 8, width))
    top = int(rng.integers(0, height - h + 1))
    left = int(rng.integers(0, width - w + 1))
    return Box(top, left, h, w, bool(rng.integers(0, 2)))


def crop(picture: torch.Tensor, box: Box, size: int) -> torch.Tensor:
    """[C, H, W] -> [C, size, size]: the box, resized (on the picture's device), mirrored if the box says."""
    x = picture[:, box.top : box.top + box.height, box.left : box.left + box.width]
    if x.shape[-2:] != (size, size):
        x = torch.nn.functional.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False,
                                            antialias=True)[0]
    return x.flip(-1) if box.flip else x


def frame_positions(box: Box, frame: tuple[int, int], size: int, device: torch.device) -> torch.Tensor:
    """[3, size, size]: the look generator's position channels (x, y in [-1, 1] over the whole frame,
    distance from its centre) at the crop's true place in the frame, mirrored with the crop."""
    fh, fw = frame
    ys = box.top + (torch.arange(size, device=device) + 0.5) * box.height / size - 0.5
    xs = box.left + (torch.arange(size, device=device) + 0.5) * box.width / size - 0.5
    y, x = torch.meshgrid(ys / max(fh - 1, 1) * 2 - 1, xs / max(fw - 1, 1) * 2 - 1, indexing="ij")
    positions = torch.stack([x, y, torch.sqrt(x * x + y * y) / (2**0.5)])
    if box.flip:
        # the picture is mirrored, its pixels keep their place in the frame
        positions = positions.flip(-1)
    return positions


def batch(pool: list[torch.Tensor], rng: np.random.Generator, count: int, size: int,
          scale: tuple[float, float] = (1.0, 1.0)) -> torch.Tensor:
    """``count`` random crops of random pictures of ``pool``, stacked on the pool's device."""
    out = []
    for i in rng.integers(0, len(pool), count):
        box = random_box(rng, pool[i].shape[-2], pool[i].shape[-1], size, scale)
        out.append(crop(pool[i], box, size))
    return torch.stack(out)


def paired_batch(pool: list[torch.Tensor], rng: np.random.Generator, count: int, size: int,
                 scale: tuple[float, float] = (0.2, 1.0)) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crops of pairs (``pool`` alternates before, after; one box for both) and their frame positions."""
    xs, ys, positions = [], [], []
    for i in rng.integers(0, len(pool) // 2, count):
        before, after = pool[2 * i], pool[2 * i + 1]
        box = random_box(rng, before.shape[-2], before.shape[-1], size, scale)
        xs.append(crop(before, box, size))
        ys.append(crop(after, box, size))
        positions.append(frame_positions(box, before.shape[-2:], size, before.device))
    return torch.stack(xs), torch.stack(ys), torch.stack(positions)
