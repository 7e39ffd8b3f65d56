"""Sheets that show what the engine does, made from the real engine:

    python docs/make_engine_sheets.py

- docs/builtins_distilled.jpg: every built-in painted by the 26-style network (its own look) beside its
  distilled version in the transformer's style space (what it becomes when mixed with picture or
  trained styles) and the fitted embedding it replaces, on a photo the distillation never saw, with
  the held-out errors of ``models/builtin_distilled.safetensors``'s manifest (tools/distil_builtins.py).
- docs/preserve_color.jpg: the photo, the painting, colour preserved before (the painting's light as it
  is) and after (its light matched to the photo's mean and spread).
- docs/detail_upsampling.jpg: a crop at 100% of a painting made at 1/4 of the output size: plain
  resize, detail upsampling (the photo's fine edges brought back), and the painting at full size.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from stylefuse_desktop import locations  # noqa: E402
from stylefuse_desktop.document.image_io import read_image, resize_array, to_uint8  # noqa: E402
from stylefuse_desktop.engine import color, style_plan  # noqa: E402
from stylefuse_desktop.engine import render as engine  # noqa: E402
from stylefuse_desktop.engine.render import RenderSettings, render_image  # noqa: E402
from stylefuse_desktop.engine.style_plan import plan_paint  # noqa: E402
from stylefuse_desktop.engine.styles import BUILTIN, StyleMix, StyleSource, builtin_styles  # noqa: E402

FONT = ImageFont.load_default(size=15)
LABEL = 22


def labelled_row(images: list[np.ndarray], labels: list[str]) -> Image.Image:
    h, w = images[0].shape[:2]
    row = Image.new("RGB", (w * len(images), h + LABEL), "white")
    draw = ImageDraw.Draw(row)
    for i, (image, label) in enumerate(zip(images, labels)):
        row.paste(Image.fromarray(to_uint8(image)), (i * w, LABEL))
        draw.text((i * w + 6, 3), label, fill=(0, 0, 0), font=FONT)
    return row


def stack(rows: list[Image.Image]) -> Image.Image:
    out = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    y = 0
    for r in rows:
        out.paste(r, (0, y))
        y += r.height
    return out


def distilled_sheet() -> None:
    from skimage import data

    from stylefuse_desktop.engine import distilled

    # held out by the distillation; 768x512 so each network paints at its stroke-size 1 size
    photo = resize_array(data.coffee().astype(np.float32) / 255.0, (768, 512))
    _, manifest = distilled.read_distilled(distilled.distilled_path())
    pairs = []
    for style in builtin_styles():
        mix = StyleMix.single(StyleSource(kind=BUILTIN, label=style.name, builtin_index=style.index))
        own = render_image(photo, mix)
        versions = [_in_transformer(photo, mix)]
        shipped = style_plan.distilled_builtin
        style_plan.distilled_builtin = lambda index: None  # the fallback: the fitted embedding alone
        try:
            versions.append(_in_transformer(photo, mix))
        finally:
            style_plan.distilled_builtin = shipped
        held_out = manifest["styles"][str(style.index)]
        shown = [resize_array(im, (300, 200)) for im in [own, *versions]]
        pairs.append(labelled_row(shown, [
            f"{style.index} {style.name}: own",
            f"distilled, held-out {held_out['held_out_mean_abs_diff']:.3f}",
            f"fitted (before) {held_out['fitted_held_out_mean_abs_diff']:.3f}"]))
    rows = [stack_h(pairs[i : i + 2]) for i in range(0, len(pairs), 2)]
    stack(rows).save(DOCS / "builtins_distilled.jpg", quality=85)


def _in_transformer(photo: np.ndarray, mix: StyleMix) -> np.ndarray:
    """A built-in painted as the transformer paints it where it meets picture or trained styles."""
    prepared = engine.prepare(photo, RenderSettings(), "embedding")
    plan = plan_paint(mix, torch.device("cpu"), 1.0, None, allow_multistyle=False)
    with torch.inference_mode():
        painting = engine.paint(prepared, plan, RenderSettings(), torch.device("cpu"), engine.NullProgress())
        return engine.finish(painting, prepared, RenderSettings(), plan.family)


def stack_h(items: list[Image.Image]) -> Image.Image:
    out = Image.new("RGB", (sum(r.width + 8 for r in items), max(r.height for r in items)), "white")
    x = 0
    for r in items:
        out.paste(r, (x, 0))
        x += r.width + 8
    return out


def preserve_color_sheet() -> None:
    from skimage import data

    portrait = resize_array(data.astronaut().astype(np.float32) / 255.0, (360, 360))
    rows = []
    for name in ("Frosted Glass", "Ink Wave", "Cobalt Strokes"):
        mix = StyleMix.single(StyleSource(kind=BUILTIN, label=name, builtin_index=_index(name)))
        plain = render_image(portrait, mix)
        after = render_image(portrait, mix, RenderSettings(preserve_color=True))
        original = color.luminance_match
        engine.luminance_match = lambda a, b: (1.0, 0.0)  # the old way: the painting's light as it is
        try:
            before = render_image(portrait, mix, RenderSettings(preserve_color=True))
        finally:
            engine.luminance_match = original
        rows.append(labelled_row([portrait, plain, before, after],
                                 ["photo", name, "colour kept: before", "after (light matched)"]))
    stack(rows).save(DOCS / "preserve_color.jpg", quality=88)


def _index(name: str) -> int:
    return next(s.index for s in builtin_styles() if s.name == name)


def detail_sheet() -> None:
    photo = read_image(locations.sample_photo_path()).rgb  # 1600x1066
    mix = StyleMix.single(StyleSource(kind=BUILTIN, label="Sepia Sketch", builtin_index=_index("Sepia Sketch")))
    settings = RenderSettings(scale=4)  # the network paints at 400x266, as a 12 MP export at ~1000 px would
    detailed = render_image(photo, mix, settings)
    prepared = engine.prepare(photo, settings, "multistyle")
    small = render_image(prepared.small[0].permute(1, 2, 0).numpy(), mix, RenderSettings(scale=1))
    plain = engine.resize(torch.from_numpy(small).permute(2, 0, 1)[None], photo.shape[:2])[0].permute(1, 2, 0).numpy()
    full = render_image(photo, mix, RenderSettings(scale=1))
    y, x, h, w = 430, 560, 300, 400
    crops = [im[y : y + h, x : x + w] for im in (plain, detailed, full)]
    stack([labelled_row(crops, ["plain resize", "detail upsampling", "painted at full size"])]).save(
        DOCS / "detail_upsampling.jpg", quality=90)


if __name__ == "__main__":
    # one sheet: python docs/make_engine_sheets.py distilled
    wanted = sys.argv[1:] or ["preserve_color", "detail", "distilled"]
    for name in wanted:
        globals()[f"{name}_sheet"]()
