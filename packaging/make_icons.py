"""Draw StyleFuse's icon (a palette-shaped blob with three paint dabs over a photo frame) at every size
the platforms want. The icon is the project's own drawing; run this to regenerate packaging/icons/.

    python packaging/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def draw(size: int = 1024) -> Image.Image:
    s = size / 1024
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    # a rounded photo frame with a sunset
    d.rounded_rectangle([96 * s, 150 * s, 860 * s, 760 * s], radius=90 * s, fill=(32, 44, 82, 255))
    d.rounded_rectangle([136 * s, 190 * s, 820 * s, 720 * s], radius=60 * s, fill=(248, 176, 96, 255))
    d.ellipse([520 * s, 300 * s, 680 * s, 460 * s], fill=(255, 236, 180, 255))
    d.polygon([(136 * s, 620 * s), (330 * s, 400 * s), (520 * s, 620 * s)], fill=(70, 62, 120, 255))
    d.polygon([(400 * s, 640 * s), (610 * s, 470 * s), (820 * s, 640 * s)], fill=(40, 50, 96, 255))
    d.rectangle([136 * s, 620 * s, 820 * s, 720 * s], fill=(40, 90, 120, 255))
    # the palette, overlapping the frame's corner
    palette = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    p = ImageDraw.Draw(palette)
    p.ellipse([470 * s, 520 * s, 960 * s, 940 * s], fill=(250, 246, 236, 255), outline=(60, 60, 70, 255),
              width=max(1, int(18 * s)))
    p.ellipse([760 * s, 780 * s, 850 * s, 870 * s], fill=(0, 0, 0, 0))
    for (x, y), colour in zip([(560, 640), (680, 600), (800, 660), (600, 780)],
                              [(226, 82, 48), (46, 92, 196), (244, 196, 60), (60, 160, 90)]):
        p.ellipse([(x - 46) * s, (y - 46) * s, (x + 46) * s, (y + 46) * s], fill=colour + (255,))
    shadow = palette.split()[3].filter(ImageFilter.GaussianBlur(12 * s))
    im.paste((0, 0, 0, 90), (int(10 * s), int(14 * s)), shadow)
    im.alpha_composite(palette)
    return im


def main() -> None:
    master = draw()
    folder = HERE / "icons"
    folder.mkdir(exist_ok=True)
    for size in SIZES:
        master.resize((size, size), Image.LANCZOS).save(folder / f"stylefuse-{size}.png")
    master.resize((256, 256), Image.LANCZOS).save(folder / "stylefuse.ico", sizes=[(s, s) for s in (16, 32, 48, 256)])
    print("wrote", ", ".join(sorted(p.name for p in folder.iterdir())))


if __name__ == "__main__":
    main()
