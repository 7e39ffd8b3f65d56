"""Training quality and time per preset, both modes, at training size 256, measured in one run.

Mode 1 (a style from pictures) on three style sets of different kinds: procedural strokes, scikit-image
textures (brick, grass, gravel) and photos of a patterned object (views of scikit-image's stained
tissue); a fourth, views of scikit-image's retina photograph, was never used while tuning (until stop
21's miss on it); a fifth, views of the Hubble deep field, was added at stop 22 as a fresh check. Each
is scored on held-out photos (scikit-image's astronaut, cat, coffee, rocket: never trained on) against the
zero-shot style: patch SWD at full and half scale (trained / zero-shot, target
<= 0.85 for the fast preset on every set), the set-wide feature-statistics gap, and edge SSIM (target:
no lower than zero-shot - 0.05). The column "chosen" gives the snapshot the run chose on its validation
photos: its closeness (trained/zero-shot) and its score (closeness less the edge SSIM gained; the
snapshot with the lowest score is chosen, unless the run's final check keeps a shorter preset's, marked
"checked"; "= fast": a shorter preset reaches the same snapshot), and the last column whether the 2-scale
SWD ratio is lower than the shorter preset's on that set ("balanced and thorough improve further"; "same
snapshot" when the longer preset keeps the shorter one's result).
With --kinds, six more kinds of style set, unlike the five and swept with the fast preset at stop 23:
line drawings, flat-colour cut-outs, black-and-white photos, printed text, blobs and pictures smaller
than the style view.
Mode 2 (a look from pairs) on three synthetic looks, 8 training pairs and 5 held-out pairs each:
held-out PSNR gain over the untouched photo (target +6 dB, goal +8).

    python benchmarks/bench_train.py [--presets fast balanced] [--modes style pairs] [--device cpu|cuda]
    python benchmarks/bench_train.py --device cuda --quick   # fast preset only: a few minutes on a GPU
    python benchmarks/bench_train.py --modes style --presets fast --kinds   # eleven style sets, fast

Targets: fast <= 180 s and balanced <= 480 s on a 2-core CPU; fast <= 20 s (goal 15 s) on a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _measure import table
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STYLEFUSE_DATA_DIR", tempfile.mkdtemp())

from stylefuse_desktop.training.config import PAIRS_PRESETS, STYLE_PRESETS, PairsTrainingConfig, StyleTrainingConfig  # noqa: E402
from stylefuse_desktop.training.pairs_trainer import train_pairs  # noqa: E402
from stylefuse_desktop.training.style_trainer import swd_ratio, train_style  # noqa: E402
from stylefuse_desktop.training.synthetic import SYNTHETIC_LOOKS, texture_style_set  # noqa: E402

TARGET_RATIO, SSIM_MARGIN = 0.85, 0.05
TIME_TARGETS = {"cpu": {"fast": 180, "balanced": 480}, "cuda": {"fast": 20}}


def save_all(folder: Path, images: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, rgb in enumerate(images):
        Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(folder / f"{i:02d}.png")
    return folder


def skimage_pictures(names: list[str], size: tuple[int, int]) -> list[np.ndarray]:
    from skimage import data, transform

    out = []
    for name in names:
        img = getattr(data, name)()
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        out.append(transform.resize(img[..., :3], size, anti_aliasing=True).astype(np.float32))
    return out


def texture_views() -> list[np.ndarray]:
    """Nine pictures of three scikit-image textures (brick, grass, gravel), three 256-pixel views each."""
    from skimage import data

    out = []
    for name in ("brick", "grass", "gravel"):
        img = getattr(data, name)().astype(np.float32) / 255
        for y, x in ((0, 0), (256, 128), (128, 256)):
            out.append(np.repeat(img[y : y + 256, x : x + 256, None], 3, axis=2))
    return out


def tissue_views() -> list[np.ndarray]:
    """Five views of scikit-image's stained-tissue micrograph: photos of one patterned object."""
    from skimage import data

    img = data.immunohistochemistry().astype(np.float32) / 255
    return [img[y : y + 320, x : x + 320] for y, x in ((0, 0), (0, 192), (192, 0), (192, 192), (96, 96))]


def retina_views() -> list[np.ndarray]:
    """Four views of scikit-image's retina photograph (vessels on an orange fundus): a set the training
    settings were never tuned on, kept as a check."""
    from skimage import data, transform

    img = transform.resize(data.retina(), (640, 640), anti_aliasing=True).astype(np.float32)
    return [img[y : y + 288, x : x + 288] for y, x in ((96, 96), (96, 256), (256, 96), (256, 256))]


def space_views() -> list[np.ndarray]:
    """Four views of scikit-image's Hubble deep field (galaxies on a near-black sky): a kind of picture
    unlike the other sets, added at stop 22 as a second check no setting was tuned on."""
    from skimage import data

    img = data.hubble_deep_field().astype(np.float32) / 255
    return [img[y : y + 320, x : x + 320] for y, x in ((0, 0), (0, 600), (500, 80), (540, 640))]


def _grey_rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img, np.float32)
    return np.repeat((img / max(float(img.max()), 1e-6))[..., None], 3, axis=2)


def _short_side(img: np.ndarray, side: int) -> np.ndarray:
    from skimage import transform

    h, w = img.shape[:2]
    return transform.resize(img, (side, round(side * w / h)) if h <= w else (round(side * h / w), side),
                            anti_aliasing=True).astype(np.float32)


def line_drawings() -> list[np.ndarray]:
    """Five line drawings: the edges of scikit-image photos (camera, coins, clock, cell, moon), black on
    white."""
    from skimage import data, feature, morphology

    out = []
    for name in ("camera", "coins", "clock", "cell", "moon"):
        edges = morphology.dilation(feature.canny(getattr(data, name)() / 255.0, sigma=2.0), morphology.disk(1))
        out.append(_short_side(_grey_rgb(1.0 - edges), 288))
    return out


def flat_colour_cutouts() -> list[np.ndarray]:
    """Five generated cut-out pictures: rectangles and discs of four flat colours on paper, hard edges."""
    rng = np.random.default_rng(5)
    palette = np.array([[0.9, 0.2, 0.15], [0.1, 0.3, 0.7], [0.95, 0.8, 0.1], [0.05, 0.05, 0.05]], np.float32)
    yy, xx = np.mgrid[:288, :288]
    out = []
    for _ in range(5):
        img = np.empty((288, 288, 3), np.float32)
        img[:] = (0.96, 0.94, 0.88)
        for _ in range(9):
            colour = palette[rng.integers(0, 4)]
            if rng.random() < 0.5:
                (y, x), (h, w) = rng.integers(0, 240, 2), rng.integers(30, 140, 2)
                img[y : y + h, x : x + w] = colour
            else:
                cy, cx, r = *rng.integers(0, 288, 2), rng.integers(15, 70)
                img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = colour
        out.append(img)
    return out


def grayscale_photos() -> list[np.ndarray]:
    """Four black-and-white photos from scikit-image (camera, moon, coins, cell)."""
    from skimage import data

    return [_short_side(_grey_rgb(getattr(data, name)()), 288) for name in ("camera", "moon", "coins", "cell")]


def text_pages() -> list[np.ndarray]:
    """Three pictures of printed text (scikit-image's page, twice, and its text image), native size."""
    from skimage import data

    return [_grey_rgb(data.page()), _grey_rgb(data.text()), _grey_rgb(data.page()[:, 100:])]


def blob_pictures() -> list[np.ndarray]:
    """Four black-and-white blob pictures (scikit-image's binary_blobs at four blob sizes)."""
    from skimage import data

    return [_grey_rgb(data.binary_blobs(288, blob_size_fraction=f, rng=i)) for i, f in enumerate((.05, .1, .2, .08))]


def small_pictures() -> list[np.ndarray]:
    """Three pictures smaller than the style view (enlarged to it): a retinal micrograph of 102 pixels,
    a colour wheel of 96 and a checkerboard of 200."""
    from skimage import data

    return [_grey_rgb(data.microaneurysms()),
            _short_side(np.asarray(data.colorwheel(), np.float32) / 255, 96), _grey_rgb(data.checkerboard())]


STYLE_SETS = {
    "procedural strokes (6)": lambda: texture_style_set(6, side=384),
    "skimage textures (9)": texture_views,
    "patterned photos: tissue (5)": tissue_views,
    "untuned check: retina (4)": retina_views,
    "untuned check 2: space (4)": space_views,
}
# kinds of style sets unlike the five, swept with the fast preset at stop 23 (--kinds)
MORE_KINDS = {
    "kind: line drawings (5)": line_drawings,
    "kind: flat-colour cut-outs (5)": flat_colour_cutouts,
    "kind: grayscale photos (4)": grayscale_photos,
    "kind: text pages (3)": text_pages,
    "kind: blobs (4)": blob_pictures,
    "kind: small pictures (3)": small_pictures,
}


def closer_than_shorter(ratio: float, step: int, shorter: tuple[str, float, int]) -> str:
    if ratio < shorter[1]:
        return "yes"
    return "same snapshot" if step == shorter[2] else "NO"


def fallback_mark(validation: dict) -> str:
    """The chosen column's mark when the gate turned the run's own result down for a shorter preset's."""
    fallback = validation.get("gate_fallback")
    return f" (gate fell back from step {fallback['turned_down']['chosen_step']})" if fallback else ""


def style_rows(args, work: Path) -> list[list[str]]:
    held_out = skimage_pictures(["astronaut", "chelsea", "coffee", "rocket"], (256, 320))
    sets = {**STYLE_SETS, **(MORE_KINDS if args.kinds else {})}
    rows = []
    for set_name, make in sets.items():
        if args.sets and not any(set_name.removeprefix("kind: ").startswith(prefix) for prefix in args.sets):
            continue
        folder = save_all(work / set_name.replace(" ", "-").replace(":", ""), make())
        shorter: tuple[str, float, int] | None = None  # the previous preset's 2-scale ratio, chosen step
        for preset in args.presets:
            config = StyleTrainingConfig(name=f"bench {preset}", styles=folder, preset=preset, device=args.device,
                                         steps=args.steps, seed=args.seed)
            started = time.perf_counter()
            result = train_style(config, held_out=held_out)
            seconds = time.perf_counter() - started
            m = result.metrics
            ratio = swd_ratio(m)
            ok = (m["patch_swd_trained"] / m["patch_swd_zero_shot"] <= TARGET_RATIO
                  and m["edge_ssim_trained"] >= m["edge_ssim_zero_shot"] - SSIM_MARGIN)
            limit = TIME_TARGETS.get(args.device_kind, {}).get(preset)
            timing = f"{seconds:.0f}" + (f" (<= {limit})" if limit else "")
            rows.append([set_name, preset, str(result.steps_done), timing,
                         f"{m['patch_swd_zero_shot']:.4f} -> {m['patch_swd_trained']:.4f} "
                         f"({m['patch_swd_trained'] / m['patch_swd_zero_shot']:.2f})",
                         f"{ratio:.2f}",
                         f"{m['statistics_gap_zero_shot']:.3f} -> {m['statistics_gap_trained']:.3f}",
                         f"{m['edge_ssim_zero_shot']:.3f} -> {m['edge_ssim_trained']:.3f}",
                         ("meets" if ok else "MISSES") + f" / gate: {result.verdict}",
                         f"step {m['validation']['chosen_step']}: {m['validation']['closeness']:.2f} / "
                         f"{m['validation']['score']:.2f}"
                         + (f" (= {m['validation']['same_as_preset']})" if "same_as_preset" in m["validation"]
                            else "")
                         + (" checked" if m["validation"].get("final_check", {}).get("kept", preset) != preset else "")
                         + fallback_mark(m["validation"]),
                         "-" if shorter is None else
                         f"{closer_than_shorter(ratio, m['validation']['chosen_step'], shorter)} "
                         f"({ratio:.2f} vs {shorter[0]} {shorter[1]:.2f})"])
            shorter = (preset, ratio, m["validation"]["chosen_step"])
            print("  ", rows[-1], flush=True)
            if args.json_out:
                with open(args.json_out, "a") as fh:
                    fh.write(json.dumps({"set": set_name, "preset": preset, "seconds": seconds, **m}) + "\n")
    return rows


def look_rows(args, work: Path) -> list[list[str]]:
    from stylefuse_desktop.samples import sample_landscapes

    photos = skimage_pictures(["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "cat"], (300, 400))
    photos += sample_landscapes(7, size=(400, 300), first_seed=500)
    train_photos, held = photos[:8], photos[8:]  # 5 held out: two skimage photos, three landscapes
    before = save_all(work / "before", train_photos)
    rows = []
    for look_name, look in SYNTHETIC_LOOKS.items():
        if args.looks and not any(look_name.startswith(prefix) for prefix in args.looks):
            continue
        after = save_all(work / f"after-{look_name.split()[0]}", [look(p) for p in train_photos])
        held_pairs = [(p, look(p)) for p in held]
        for preset in args.presets:
            config = PairsTrainingConfig(name=f"bench look {preset}", before=before, after=after, preset=preset,
                                         device=args.device, steps=args.steps, seed=args.seed)
            started = time.perf_counter()
            result = train_pairs(config, held_out=held_pairs)
            seconds = time.perf_counter() - started
            held_m = result.metrics["held_out"]
            limit = TIME_TARGETS.get(args.device_kind, {}).get(preset)
            rows.append([f"look: {look_name}", preset, str(result.steps_done),
                         f"{seconds:.0f}" + (f" (<= {limit})" if limit else ""),
                         f"{held_m['psnr_untouched']:.1f} -> {held_m['psnr_learnt']:.1f} dB",
                         f"{held_m['gain_db']:+.1f} dB ({held_m['pairs']} pairs)",
                         "meets" if held_m["gain_db"] >= 6 else "MISSES"])
            print("  ", rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["fast", "balanced"], choices=list(STYLE_PRESETS))
    parser.add_argument("--modes", nargs="+", default=["style", "pairs"], choices=["style", "pairs"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--quick", action="store_true", help="the fast preset only")
    parser.add_argument("--sets", nargs="+", help="only the style sets whose names start so (e.g. procedural, "
                        "grayscale)")
    parser.add_argument("--kinds", action="store_true", help="also the six other kinds of style set (line drawings, "
                        "flat colour, grayscale photos, text, blobs, small pictures)")
    parser.add_argument("--looks", nargs="+", help="only the synthetic looks whose names start so (e.g. faded)")
    parser.add_argument("--steps", type=int, help="override every preset's steps (experiments)")
    parser.add_argument("--seed", type=int, default=0, help="the training runs' seed (the sets stay the same)")
    parser.add_argument("--json-out", help="append each style row's full metrics to this file (JSON lines)")
    args = parser.parse_args()
    if args.quick:
        args.presets = ["fast"]
    import torch

    from stylefuse_desktop.engine.device import select_device

    device = select_device(args.device)
    args.device_kind = device.type
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {os.cpu_count()} cores"
    work = Path(tempfile.mkdtemp())
    print(f"device: {name}; presets {args.presets}: style steps {[STYLE_PRESETS[p] for p in args.presets]}, "
          f"pairs steps {[PAIRS_PRESETS[p] for p in args.presets]}", flush=True)
    style = style_rows(args, work) if "style" in args.modes else []
    looks = look_rows(args, work) if "pairs" in args.modes else []
    print(f"\nTraining benchmark on {name}, training size 256, one run. Column 'seconds' is the {device.type} "
          f"time (target in brackets).\n")
    if style:
        print(table(["style set", "preset", "steps", f"seconds ({device.type})",
                     "patch SWD zero-shot -> trained (ratio)",
                     "2-scale SWD ratio", "stats gap", "edge SSIM", f"target (<= {TARGET_RATIO}, SSIM -{SSIM_MARGIN})",
                     "chosen (validation closeness / score)",
                     "closer than the shorter preset"],
                    style))
    if looks:
        print()
        print(table(["look (8 train / 5 held-out pairs)", "preset", "steps", f"seconds ({device.type})",
                     "held-out PSNR", "gain", "target +6 dB"], looks))


if __name__ == "__main__":
    main()
