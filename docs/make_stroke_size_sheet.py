"""The comparison behind the default stroke size: photos painted by built-ins and picture styles with
the network's long side at 384, 512, 768 and 1024 px, each brought to the photo's full size.

    python docs/make_stroke_size_sheet.py [--out docs]

Writes docs/stroke_size_builtins.jpg and docs/stroke_size_pictures.jpg (one row per photo and style,
one column per network size).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from stylefuse_desktop import locations  # noqa: E402
from stylefuse_desktop.document.image_io import read_image, resize_array, to_uint8  # noqa: E402
from stylefuse_desktop.engine.render import RenderSettings, render_image  # noqa: E402
from stylefuse_desktop.engine.styles import StyleMix, image_style, resolve_style  # noqa: E402

SIDES = (384, 512, 768, 1024)
CELL = 360
LABEL = 24


def brush_strokes(size: int = 512, seed: int = 3) -> np.ndarray:
    """A picture of thick, coloured brush strokes (drawn here: no painting ships with the project)."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), (236, 226, 200))
    draw = ImageDraw.Draw(image)
    palette = [(32, 60, 140), (200, 60, 40), (240, 190, 40), (30, 120, 80), (20, 20, 30), (250, 250, 240)]
    for _ in range(260):
        x, y = rng.uniform(0, size, 2)
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(20, 90)
        colour = palette[rng.integers(len(palette))]
        for k in range(int(rng.integers(4, 9))):
            off = (k - 4) * 2.2
            dx, dy = np.cos(angle) * length, np.sin(angle) * length
            nx, ny = -np.sin(angle) * off, np.cos(angle) * off
            shade = tuple(int(np.clip(c + rng.normal(0, 18), 0, 255)) for c in colour)
            draw.line([(x + nx, y + ny), (x + dx + nx, y + dy + ny)], fill=shade, width=3)
    return np.asarray(image, np.float32) / 255.0


def photos() -> dict[str, np.ndarray]:
    from skimage import data

    def enlarge(rgb: np.ndarray, long_side: int) -> np.ndarray:
        h, w = rgb.shape[:2]
        k = long_side / max(h, w)
        return resize_array(rgb.astype(np.float32) / 255.0, (round(w * k), round(h * k)))

    return {"sample photo": read_image(locations.sample_photo_path()).rgb,
            "portrait": enlarge(data.astronaut(), 1600), "cat": enlarge(data.chelsea(), 1600)}


def styles(folder: Path) -> tuple[dict[str, StyleMix], dict[str, StyleMix]]:
    from skimage import data

    pictures = {"star field": data.hubble_deep_field(), "stained tissue": data.immunohistochemistry(),
                "brush strokes": (brush_strokes() * 255).astype(np.uint8)}
    picture_mixes = {}
    for name, rgb in pictures.items():
        path = folder / f"{name.replace(' ', '_')}.png"
        Image.fromarray(rgb).save(path)
        picture_mixes[name] = StyleMix.single(image_style([path], label=name))
    builtins = {name: StyleMix.single(resolve_style(name)) for name in ("Fiesta", "Cobalt Strokes", "Blue Swirl")}
    return builtins, picture_mixes


def sheet(rows: list[tuple[str, list[np.ndarray]]], path: Path) -> None:
    font = ImageFont.load_default(size=15)
    heights = [round(CELL * cells[0].shape[0] / cells[0].shape[1]) for _, cells in rows]
    image = Image.new("RGB", (CELL * len(SIDES), LABEL + sum(h + LABEL for h in heights)), "white")
    draw = ImageDraw.Draw(image)
    for j, side in enumerate(SIDES):
        draw.text((j * CELL + 6, 4), f"network long side {side} px", fill=(0, 0, 0), font=font)
    y = LABEL
    for (label, cells), h in zip(rows, heights):
        draw.text((6, y + 4), label, fill=(0, 0, 0), font=font)
        y += LABEL
        for j, cell in enumerate(cells):
            image.paste(Image.fromarray(to_uint8(resize_array(cell, (CELL, h)))), (j * CELL, y))
        y += h
    image.save(path, quality=82)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(DOCS))
    args = parser.parse_args()
    out = Path(args.out)
    work = Path(tempfile.mkdtemp(prefix="stylefuse-strokes-"))
    builtins, pictures = styles(work)
    for kind, mixes in (("builtins", builtins), ("pictures", pictures)):
        rows = []
        for photo_name, rgb in photos().items():
            for style_name, mix in mixes.items():
                cells = []
                for side in SIDES:
                    scale = max(rgb.shape[:2]) / side
                    painted = render_image(rgb, mix, RenderSettings(scale=scale))
                    cells.append(painted)
                    print(kind, photo_name, style_name, side, flush=True)
                rows.append((f"{photo_name} / {style_name} ({rgb.shape[1]}x{rgb.shape[0]})", cells))
        sheet(rows, out / f"stroke_size_{kind}.jpg")


if __name__ == "__main__":
    main()
