"""Diagnosis: would a colour map fitted to each painted photo beat the one a trained style keeps (fitted
once, on the validation photos)? Trains each set with a preset, then measures the result on
bench_train.py's held-out photos (2-scale patch SWD ratio against the instant style, edge SSIM change)
with the kept map, with none, and with a map fitted to each painting at full and half strength; and the
instant style with a per-photo map, to see what a map alone buys. Measures only: nothing here steers
training.

    python benchmarks/probe_colour_map.py fast tissue retina space procedural skimage
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("STYLEFUSE_DATA_DIR", tempfile.mkdtemp())

import bench_train  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from trace_selection import SETS  # noqa: E402

from stylefuse_desktop.document.style_file import COLOUR_MATRIX, COLOUR_OFFSET  # noqa: E402
from stylefuse_desktop.engine.color import fit_colour_map  # noqa: E402
from stylefuse_desktop.engine.weights import load_network  # noqa: E402
from stylefuse_desktop.training import style_trainer  # noqa: E402
from stylefuse_desktop.training.config import StyleTrainingConfig  # noqa: E402
from stylefuse_desktop.training.metrics import edge_ssim, patch_swd_two_scales  # noqa: E402

CPU = torch.device("cpu")


def mapped_per_photo(paintings: list[np.ndarray], target: np.ndarray, strength: float) -> list[np.ndarray]:
    out = []
    for painting in paintings:
        matrix, offset = fit_colour_map(painting.reshape(-1, 3), target, strength)
        out.append(np.clip(painting @ matrix.T + offset, 0.0, 1.0).astype(np.float32))
    return out


def main() -> None:
    preset, sets = sys.argv[1], sys.argv[2:]
    held_out = bench_train.skimage_pictures(["astronaut", "chelsea", "coffee", "rocket"], (256, 320))
    transformer = load_network("style_transformer", CPU)
    work = Path(tempfile.mkdtemp())
    for name in sets:
        folder = bench_train.save_all(work / name, SETS[name]())
        config = StyleTrainingConfig(name=f"probe {name}", styles=folder, preset=preset, seed=0)
        with torch.inference_mode(False):
            result = style_trainer.train_style(config, held_out=held_out)
        style_images = style_trainer.style_view(style_trainer.load_folder(folder).images,
                                                max(style_trainer.STYLE_VIEW, config.size))
        target = np.concatenate([p.reshape(-1, 3) for p in style_images])
        kept = {k: np.asarray(v) for k, v in result.style.tensors.items()}
        unmapped = {k: v for k, v in kept.items() if k not in (COLOUR_MATRIX, COLOUR_OFFSET)}
        instant = style_trainer.paint_with(transformer, {k: np.asarray(v) for k, v in result.zero_shot.tensors.items()},
                                           held_out, CPU)
        instant_swd = patch_swd_two_scales(instant, style_images, CPU)
        instant_ssim = np.mean([edge_ssim(p, q, CPU) for p, q in zip(held_out, instant)])
        plain = style_trainer.paint_with(transformer, unmapped, held_out, CPU)
        strength = result.metrics["validation"]["colour_map"]["strength"]
        rows = {f"kept map (strength {strength})": style_trainer.paint_with(transformer, kept, held_out, CPU),
                "no map": plain,
                "map fitted per photo, full": mapped_per_photo(plain, target, 1.0),
                "map fitted per photo, half": mapped_per_photo(plain, target, 0.5),
                "instant style, map per photo, full": mapped_per_photo(instant, target, 1.0)}
        print(f"== {name}, {preset}: chosen step {result.metrics['validation']['chosen_step']}", flush=True)
        for label, paintings in rows.items():
            swd = patch_swd_two_scales(paintings, style_images, CPU)
            ratio = (swd[0] / instant_swd[0] + swd[1] / instant_swd[1]) / 2
            ssim = np.mean([edge_ssim(p, q, CPU) for p, q in zip(held_out, paintings)]) - instant_ssim
            print(f"   {label:36s} {ratio:.4f} (edge SSIM {ssim:+.3f})", flush=True)


if __name__ == "__main__":
    main()
