"""Real pixels at 100% on a 24 MP photo: how long until the canvas shows them, and the memory.

The canvas, once zoomed to or past the proxy's scale, asks the engine for the painting of the full
photo (``paint_image``: the network at its stroke-size resolution, whole-image statistics; once per
layer and settings) and then for the visible region at full resolution (``PaintedImage.region``, in
tiles, newest view first). Printed beside the peer measured in the same run: the full-size export of
the whole photo, which is what showing real pixels would cost without regions.

    python benchmarks/bench_region.py [--style NAME] [--view 1920x1080]

Timings on a shared machine are inflated by whatever else runs; peak memory is this process's.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--style", default="Cobalt Strokes")
    parser.add_argument("--view", default="1920x1080")
    args = parser.parse_args()
    view_w, view_h = (int(v) for v in args.view.split("x"))

    from resources_sample import sample_photo_array

    from stylefuse_desktop.engine.render import RenderSettings, paint_image
    from stylefuse_desktop.engine.styles import parse_mix
    from stylefuse_desktop.engine.weights import load_network

    rgb = sample_photo_array((6000, 4000)).astype(np.float32) / 255.0  # 24 MP
    mix = parse_mix([args.style])
    load_network("multistyle")  # loaded once at start-up in the app
    load_network("style_transformer")
    before = peak_mib()

    started = time.perf_counter()
    painted = paint_image(rgb, mix, RenderSettings())
    t_paint = time.perf_counter() - started

    top, left = 1500, 2000
    started = time.perf_counter()
    view = painted.region(range(top, top + view_h), range(left, left + view_w))
    t_view = time.perf_counter() - started
    after_view = peak_mib()

    started = time.perf_counter()
    whole = painted.whole()
    t_whole = time.perf_counter() - started + t_paint
    same = float(np.abs(whole[top : top + view_h, left : left + view_w] - view).max())

    print(f"24 MP photo (6000x4000), style {args.style}, view {view_w}x{view_h} at 100%")
    print("| step | seconds |\n|---|---|")
    print(f"| painting of the full photo (once per layer and settings) | {t_paint:.2f} |")
    print(f"| visible region at full resolution (each view) | {t_view:.2f} |")
    print(f"| first real pixels after zooming in (both) | {t_paint + t_view:.2f} |")
    print(f"| peer: full-size export of the whole photo | {t_whole:.2f} |")
    print(f"peak memory: {before:.0f} MiB after loading, {after_view:.0f} MiB with the view painted, "
          f"{peak_mib():.0f} MiB after the whole export; view vs export max |diff| {same:.2g}")


if __name__ == "__main__":
    main()
