"""Training speed and quality per preset, both modes, at training size 256 on this machine.

Mode 1 (a style from pictures) on two style sets, scored on held-out photos against the zero-shot
style by patch sliced-Wasserstein distance to the style set (lower is closer) and edge SSIM with the
photo. Mode 2 (a look from pairs) on a synthetic look, scored by PSNR to the true 'after' on training
and held-out pairs. Presets longer than --full-up-to steps are timed on --sample steps and the rest
extrapolated (marked "est.").

    python benchmarks/bench_train.py [--presets fast balanced thorough] [--full-up-to 600] [--sample 60]
"""

from __future__ import annotations

import argparse
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
from stylefuse_desktop.training.style_trainer import train_style  # noqa: E402
from stylefuse_desktop.training.synthetic import synthetic_look, texture_style_set  # noqa: E402


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


def tissue_views() -> list[np.ndarray]:
    """Five views of scikit-image's stained-tissue micrograph: one 'artist', several pictures."""
    from skimage import data

    img = data.immunohistochemistry().astype(np.float32) / 255
    return [img[y : y + 320, x : x + 320] for y, x in ((0, 0), (0, 192), (192, 0), (192, 192), (96, 96))]


def timed(fn, steps: int, full_up_to: int, sample: int):
    """Run fn(steps) or, for long presets, fn(sample) and scale the time: (result, seconds, estimated)."""
    if steps <= full_up_to:
        started = time.perf_counter()
        result = fn(steps)
        return result, time.perf_counter() - started, False
    started = time.perf_counter()
    result = fn(sample)
    per_step = (time.perf_counter() - started) / sample
    return result, per_step * steps, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["fast", "balanced", "thorough"])
    parser.add_argument("--full-up-to", type=int, default=600)
    parser.add_argument("--sample", type=int, default=60)
    parser.add_argument("--modes", nargs="+", default=["style", "pairs"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    held_out_photos = skimage_pictures(["astronaut", "chelsea", "coffee", "rocket"], (256, 320))
    style_sets = {
        "generated strokes (6)": save_all(work / "strokes", texture_style_set(6, side=384)),
        "stained tissue, 5 views (scikit-image)": save_all(work / "tissue", tissue_views()),
    }
    rows = []
    for set_name, folder in (style_sets.items() if "style" in args.modes else []):
        for preset in args.presets:
            steps = STYLE_PRESETS[preset]

            def run(n, preset=preset, folder=folder):
                config = StyleTrainingConfig(name=f"bench {preset}", styles=folder, preset=preset, steps=n)
                return train_style(config, held_out=held_out_photos)

            result, seconds, estimated = timed(run, steps, args.full_up_to, args.sample)
            m = result.metrics
            rows.append([f"style: {set_name}", preset, str(steps), f"{seconds:.0f}" + (" est." if estimated else ""),
                         f"{m['patch_swd_zero_shot']:.4f} -> {m['patch_swd_trained']:.4f}",
                         f"{m['edge_ssim_zero_shot']:.3f} -> {m['edge_ssim_trained']:.3f}"])
            print("  ", rows[-1], flush=True)

    if "pairs" not in args.modes:
        print(table(["data", "preset", "steps", "seconds", "patch SWD", "edge SSIM"], rows))
        return
    photos = skimage_pictures(["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "cat",
                               "hubble_deep_field", "retina"], (300, 400))
    from stylefuse_desktop.samples import sample_landscapes

    photos += sample_landscapes(4, size=(400, 300), first_seed=500)
    train_photos, held = photos[:8], photos[8:]
    before = save_all(work / "before", train_photos)
    after = save_all(work / "after", [synthetic_look(p) for p in train_photos])
    held_pairs = [(p, synthetic_look(p)) for p in held]
    for preset in args.presets:
        steps = PAIRS_PRESETS[preset]

        def run(n, preset=preset):
            config = PairsTrainingConfig(name=f"bench look {preset}", before=before, after=after, preset=preset,
                                         steps=n)
            return train_pairs(config, held_out=held_pairs)

        result, seconds, estimated = timed(run, steps, args.full_up_to, args.sample)
        train_m, held_m = result.metrics["train"], result.metrics["held_out"]
        rows.append(["look: synthetic (8 pairs)", preset, str(steps), f"{seconds:.0f}" + (" est." if estimated else ""),
                     f"train {train_m['psnr_untouched']:.1f} -> {train_m['psnr_learnt']:.1f} dB",
                     f"held-out {held_m['psnr_untouched']:.1f} -> {held_m['psnr_learnt']:.1f} dB "
                     f"({held_m['gain_db']:+.1f})"])
        print("  ", rows[-1], flush=True)
    print("\nTraining benchmark, 2-core CPU, training size 256 (est.: timed on a sample of steps; quality then is "
          "that of the sample, not the full preset)\n")
    print(table(["data", "preset", "steps", "seconds", "patch SWD / PSNR", "edge SSIM / held-out PSNR"], rows))


if __name__ == "__main__":
    main()
