"""What bfloat16 convolutions cost in quality and gain in speed, against float32 on the same machine.

`--precision auto` (the default) runs the convolutions in bf16 where the hardware does so natively
(CUDA; CPUs with AVX-512 BF16 or AMX); activations between layers and all normalisation statistics
stay float32. This prints, per network and photo, the render time in each precision (best of two, in
one process, weights loaded) and how far the bf16 picture lies from the fp32 one: mean and max |diff|
on [0, 1] pixels and the share of pixels where some channel moves by more than 0.1.

    python benchmarks/bench_precision.py [--sizes 1024 2048]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _measure import table
from PIL import Image
from resources_sample import sample_photo_array

from stylefuse_desktop.engine.device import select_device
from stylefuse_desktop.engine.precision import bf16_is_native
from stylefuse_desktop.engine.render import RenderSettings, render_image
from stylefuse_desktop.engine.styles import parse_mix


def photos(side: int) -> dict[str, np.ndarray]:
    found = {"sample photo": sample_photo_array((side, side))}
    try:  # a second, real photograph where the test dependency is installed
        from skimage import data

        found["skimage astronaut"] = np.asarray(Image.fromarray(data.astronaut()).resize((side, side), Image.LANCZOS))
    except ImportError:
        pass
    return {name: rgb.astype(np.float32) / 255 for name, rgb in found.items()}


def timed(rgb: np.ndarray, mix, precision: str) -> tuple[float, np.ndarray]:
    settings = RenderSettings(precision=precision)
    best, out = float("inf"), None
    for _ in range(2):
        started = time.perf_counter()
        out = render_image(rgb, mix, settings)
        best = min(best, time.perf_counter() - started)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    args = parser.parse_args()
    device = select_device("auto")
    with tempfile.TemporaryDirectory() as tmp:
        style_image = Path(tmp) / "style.png"
        Image.fromarray(sample_photo_array((512, 512))[::-1]).save(style_image)
        cases = {
            "26-style net (Fiesta)": parse_mix(["Fiesta"]),
            "transformer (Indigo Cells, fitted)": parse_mix(["Indigo Cells"]),
            "transformer (style image)": parse_mix([], [str(style_image)]),
        }
        rows = []
        for side in args.sizes:
            for photo_name, rgb in photos(side).items():
                for case, mix in cases.items():
                    fp32_s, fp32 = timed(rgb, mix, "fp32")
                    bf16_s, bf16 = timed(rgb, mix, "bf16")
                    diff = np.abs(fp32 - bf16)
                    rows.append([case, photo_name, f"{side}", f"{fp32_s * 1000:.0f}", f"{bf16_s * 1000:.0f}",
                                 f"{bf16_s / fp32_s:.2f}", f"{diff.mean():.4f}", f"{diff.max():.3f}",
                                 f"{(diff.max(axis=-1) > 0.1).mean() * 100:.2f}"])
                    print("  " + " | ".join(rows[-1]), flush=True)
    print(f"\nbf16 vs fp32 on {device.type}; bf16 native here: {bf16_is_native(device)}\n")
    print(table(["network", "photo", "px", "fp32 ms", "bf16 ms", "ratio", "mean |diff|", "max |diff|",
                 "% px > 0.1"], rows))


if __name__ == "__main__":
    main()
