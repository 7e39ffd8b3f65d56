"""Procedural pictures made by the project: the sample photo the app ships, the default content
photos that style training paints when the user gives none (landscapes drawn from noise, and scenes of
objects), and the detail photos on which training measures readability (dead-leaves pictures)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

WIDTH, HEIGHT = 1600, 1066


def fractal_noise(
    shape: tuple[int, int], rng: np.random.Generator, octaves: int = 6, base: int = 4, stretch: float = 1.0
) -> np.ndarray:
    """Sum of upsampled random grids: smooth, cloud-like noise in [0, 1]; ``stretch`` > 1 widens features."""
    h, w = shape
    total = np.zeros(shape, np.float64)
    amplitude, weight = 1.0, 0.0
    for octave in range(octaves):
        cells = base * 2**octave
        grid = rng.random((cells + 1, int(cells * w / h / stretch) + 2))
        small = Image.fromarray((grid * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
        total += amplitude * np.asarray(small, np.float64) / 255.0
        weight += amplitude
        amplitude *= 0.5
    total /= weight
    noise: np.ndarray = (total - total.min()) / (total.max() - total.min())
    return noise


def ridge(width: int, rng: np.random.Generator, octaves: int = 8) -> np.ndarray:
    """A 1-D fractal profile for a mountain skyline, values in [0, 1]."""
    x = np.zeros(width)
    amplitude = 1.0
    for octave in range(octaves):
        n = 2 + 2**octave
        points = rng.random(n)
        x += amplitude * np.interp(np.linspace(0, n - 1, width), np.arange(n), points)
        amplitude *= 0.5
    profile: np.ndarray = (x - x.min()) / (x.max() - x.min())
    return profile


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    mixed: np.ndarray = a + (b - a) * t
    return mixed


def make_sample_photo(seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    h, w = HEIGHT, WIDTH
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    v, u = yy / h, xx / w
    horizon = 0.58

    # sky: deep blue above, warm near the horizon, a glow around a low sun
    sky_t = np.clip(v / horizon, 0, 1)[..., None]
    sky = lerp(np.array([0.16, 0.30, 0.58]), np.array([0.98, 0.72, 0.45]), sky_t**1.6)
    sun_u, sun_v = 0.68, horizon - 0.08
    dist = np.sqrt(((u - sun_u) * w / h) ** 2 + (v - sun_v) ** 2)
    sky += np.array([1.0, 0.75, 0.4]) * (np.exp(-dist * 9) * 0.55)[..., None]
    sky = np.where((dist < 0.035)[..., None], np.array([1.0, 0.96, 0.85]), sky)
    clouds = fractal_noise((h, w), rng, octaves=6, base=4, stretch=4.0)
    cloud_mask = np.clip((clouds - 0.55) * 3.5, 0, 1) * np.clip(1 - v / horizon, 0, 1) ** 0.6
    cloud_colour = lerp(np.array([0.95, 0.88, 0.85]), np.array([1.0, 0.62, 0.42]), sky_t)
    sky = lerp(sky, cloud_colour, (cloud_mask * 0.8)[..., None])
    image = sky

    # two mountain ranges, the far one hazy
    for depth, (height, top, colour, haze) in enumerate(
        [(0.22, horizon - 0.20, [0.38, 0.36, 0.52], 0.45), (0.16, horizon - 0.09, [0.20, 0.24, 0.28], 0.15)]
    ):
        skyline = top + height * (1 - ridge(w, rng)) * 0.9
        inside = (v >= skyline[None, :]) & (v < horizon)
        shade = fractal_noise((h, w), rng, octaves=6, base=10, stretch=0.25)
        rock = np.array(colour) * (0.75 + 0.5 * shade[..., None])
        rock = lerp(rock, np.array([0.95, 0.72, 0.55]), haze)
        # snow on the far peaks
        if depth == 0:
            # snow only on the highest peaks, thinning out smoothly lower down
            cover = np.clip((top + height * 0.5 - skyline) / (height * 0.25), 0, 1)
            snow = (v < skyline[None, :] + 0.06 * shade * cover[None, :]) & inside
            rock = np.where(snow[..., None], lerp(rock, np.array([0.97, 0.9, 0.88]), 0.8), rock)
        image = np.where(inside[..., None], rock, image)

    # lake: the scene above, mirrored, darker, with ripples
    below = v >= horizon
    mirror_rows = np.clip((2 * horizon - v) * h, 0, h - 1).astype(int)
    ripple = np.sin(yy * 0.9 + 6 * fractal_noise((h, w), rng, octaves=3, base=8)) * 3
    mirror_cols = np.clip(xx + ripple, 0, w - 1).astype(int)
    reflection = image[mirror_rows, mirror_cols] * np.array([0.72, 0.78, 0.86])
    image = np.where(below[..., None], reflection, image)

    # a grassy shore in the foreground, with a few dark trees
    shore = 0.80 + 0.06 * ridge(w, rng, octaves=6)
    ground = v >= shore[None, :]
    grass_noise = fractal_noise((h, w), rng, octaves=7, base=10)
    grass = lerp(np.array([0.16, 0.26, 0.08]), np.array([0.55, 0.55, 0.18]), grass_noise[..., None] ** 1.3)
    image = np.where(ground[..., None], grass, image)
    for _ in range(7):
        cx = rng.uniform(0.02, 0.35) if rng.random() < 0.6 else rng.uniform(0.85, 0.99)
        base_v = np.interp(cx * w, np.arange(w), shore) + 0.01
        tree_h = rng.uniform(0.18, 0.32)
        half = np.clip((v - (base_v - tree_h)) / tree_h, 0, 1) * rng.uniform(0.025, 0.04)
        tree = (np.abs(u - cx) * w / h < half) & (v < base_v) & (v > base_v - tree_h)
        image = np.where(tree[..., None], np.array([0.06, 0.12, 0.07]) * (0.8 + 0.4 * grass_noise[..., None]), image)

    # a little film grain and vignette, as a real photo has
    image = image * (1 - 0.25 * (((u - 0.5) ** 2 + (v - 0.5) ** 2) * 2))[..., None]
    image = image + rng.normal(0, 0.012, image.shape)
    out = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(0.6))


def sample_landscapes(count: int, size: tuple[int, int] = (480, 320), first_seed: int = 101) -> list[np.ndarray]:
    """``count`` generated landscapes, float32 [H, W, 3] in [0, 1], different for each seed."""
    return [np.asarray(make_sample_photo(first_seed + i).resize(size, Image.Resampling.LANCZOS), np.float32) / 255.0
            for i in range(count)]


def detail_photo(seed: int, size: tuple[int, int] = (320, 256), supersample: int = 2) -> np.ndarray:
    """A generated photo with fine detail, float32 [H, W, 3] in [0, 1]: a dead-leaves picture (discs
    piled on one another, radii drawn with density r^-3, so there are edges and occlusions at every
    size, as in natural photos), each disc softly lit and the whole grained. Its edges are those of real
    photos: at 192x144, mean Sobel magnitude 0.07, share of edge pixels 0.32, fine-scale energy 1.5,
    where scikit-image's camera, coins, clock, moon and motorcycle give 0.06, 0.26 and 1.5, and the
    generated landscapes 0.03, 0.13 and 1.2. Drawn front to back: a disc fills only what earlier ones
    left bare."""
    rng = np.random.default_rng(seed)
    w, h = size[0] * supersample, size[1] * supersample
    r_min, r_max = 6.0 * supersample, 128.0 * supersample
    palette = rng.uniform(0.15, 0.85, (5, 3))  # a few dominant colours, as a scene has
    colours = np.zeros((h, w, 3), np.float32)
    bare = np.ones((h, w), bool)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    while bare.mean() >= 1e-3:
        for _ in range(256):
            r = (r_min**-2 - rng.random() * (r_min**-2 - r_max**-2)) ** -0.5  # inverse of the r^-3 law's CDF
            cy, cx = rng.uniform(-r, h + r), rng.uniform(-r, w + r)
            y0, y1, x0, x1 = max(int(cy - r), 0), min(int(cy + r) + 1, h), max(int(cx - r), 0), min(int(cx + r) + 1, w)
            if y0 >= y1 or x0 >= x1:
                continue
            dy, dx = yy[y0:y1, x0:x1] - cy, xx[y0:y1, x0:x1] - cx
            inside = (dy * dy + dx * dx <= r * r) & bare[y0:y1, x0:x1]
            rgb = np.clip(palette[rng.integers(len(palette))] + 0.45 * (rng.random(3) - 0.5), 0, 1)
            angle = rng.uniform(0, 2 * np.pi)
            light = 1 + 0.3 * (np.cos(angle) * dx + np.sin(angle) * dy) / (2 * r)  # soft shading across the disc
            colours[y0:y1, x0:x1][inside] = rgb[None] * light[inside][:, None]
            bare[y0:y1, x0:x1] &= ~inside
    colours[bare] = colours[~bare].mean(0)
    grain = fractal_noise((h, w), rng, octaves=2, base=128) - 0.5  # fine texture inside the discs
    grained = colours * (1 + 0.24 * grain[..., None])
    image = Image.fromarray((np.clip(grained, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS), np.float32) / 255.0


def _shape_outline(rng: np.random.Generator, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """A convex-ish polygon (3 to 7 corners) or a rotated ellipse, around (cx, cy) at about radius r."""
    if rng.random() < 0.5:
        corners = int(rng.integers(3, 8))
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radii = r * rng.uniform(0.6, 1.0, corners)
    else:
        angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        squash, turn = rng.uniform(0.3, 1.0), rng.uniform(0, np.pi)
        radii = r / np.sqrt(np.cos(angles - turn) ** 2 + (np.sin(angles - turn) / squash) ** 2)
    return [(cx + float(q) * np.cos(a), cy + float(q) * np.sin(a)) for a, q in zip(angles, radii)]


def scene_photo(seed: int, size: tuple[int, int] = (480, 320), supersample: int = 2) -> np.ndarray:
    """A generated photo of a made-up scene, float32 [H, W, 3] in [0, 1]: a softly shaded backdrop,
    objects of many sizes (polygons and ellipses) standing on it with soft shadows, each with its own
    surface (plain and lit from one side, striped, or mottled), thin strokes (stems, wires, outlines),
    and grain. Unlike the dead-leaves detail photos (discs covering the whole frame), it has open smooth
    areas, straight edges, oriented textures and thin lines, as real photos do. Training paints these
    (``training.data.CONTENT_SCENE_PHOTOS``) while validation judges readability on the dead-leaves
    photos: a run that trained on dead leaves learnt to keep exactly that kind readable, and the
    dead-leaves photos then overstated how readable it kept real photos (docs/bench/train.md, stop 32)."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    w, h = size[0] * supersample, size[1] * supersample
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    palette = rng.uniform(0.1, 0.9, (6, 3))
    angle = rng.uniform(0, 2 * np.pi)
    across = ((np.cos(angle) * xx + np.sin(angle) * yy) / max(w, h))[..., None]
    image = lerp(palette[0], palette[1], np.clip(across + 0.5, 0, 1)).astype(np.float32)
    image *= (0.85 + 0.3 * fractal_noise((h, w), rng, octaves=4, base=3))[..., None]

    count = int(rng.integers(70, 100))
    # log-uniform radii (as many objects of 4-8 px as of 64-128 px), the large ones first (further back)
    r_min, r_max = 4.0 * supersample, 0.3 * min(w, h)
    radii = np.sort(r_min * (r_max / r_min) ** rng.random(count))[::-1]
    for r in map(float, radii):
        cx, cy = float(rng.uniform(-0.1 * w, 1.1 * w)), float(rng.uniform(-0.1 * h, 1.1 * h))
        mask_image = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask_image).polygon(_shape_outline(rng, cx, cy, r), fill=255)
        shift = r * 0.15
        shadow = np.asarray(mask_image.transform((w, h), Image.Transform.AFFINE, (1, 0, -shift, 0, 1, -shift))
                            .filter(ImageFilter.GaussianBlur(max(2.0, r * 0.2))), np.float32)[..., None] / 255
        image *= 1 - 0.35 * shadow
        inside = np.asarray(mask_image, np.float32)[..., None] / 255
        colour = np.clip(palette[rng.integers(2, len(palette))] + 0.3 * (rng.random(3) - 0.5), 0, 1)
        turn = rng.uniform(0, 2 * np.pi)
        lit = 1 + 0.35 * ((np.cos(turn) * (xx - cx) + np.sin(turn) * (yy - cy)) / (2 * r))
        surface = rng.random()
        if surface < 0.4:  # stripes: fabric, planks, blinds
            period, across_stripes = rng.uniform(3, 14) * supersample, rng.uniform(0, np.pi)
            lit *= 1 + rng.uniform(0.08, 0.3) * np.sin(
                2 * np.pi * (np.cos(across_stripes) * xx + np.sin(across_stripes) * yy) / period)
        elif surface < 0.7:  # mottled: stone, bark, fur
            depth = rng.uniform(0.15, 0.5)
            lit *= 1 + depth * (fractal_noise((h, w), rng, octaves=3, base=int(rng.integers(16, 64))) - 0.5)
        image = image * (1 - inside) + (colour * lit[..., None]) * inside

    strokes = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(strokes)
    for _ in range(int(rng.integers(8, 20))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        heading, points = rng.uniform(0, 2 * np.pi), []
        for _ in range(int(rng.integers(4, 16))):
            points.append((x, y))
            heading += rng.normal(0, 0.4)
            x, y = x + 12 * supersample * np.cos(heading), y + 12 * supersample * np.sin(heading)
        draw.line(points, fill=int(rng.integers(90, 256)), width=int(rng.integers(1, 4)) * supersample)
    ink = np.asarray(strokes, np.float32)[..., None] / 255
    tone = palette[rng.integers(len(palette))] * (0.25 if rng.random() < 0.7 else 1.4)
    image = image * (1 - ink) + np.clip(tone, 0, 1) * ink

    image = image + rng.normal(0, 0.012, image.shape).astype(np.float32)
    out = Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(out.resize(size, Image.Resampling.LANCZOS), np.float32) / 255.0
