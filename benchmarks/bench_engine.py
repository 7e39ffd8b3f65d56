"""Engine time in one process: ``render_image`` alone (no decoding, no encoding, no start-up), after a
warm-up render of the same size, as a GPU or CPU user's second photo of a session sees it. On CUDA the
time includes the upload and the 8-bit result back on the host (``as_uint8``), with the device
synchronised. Switches come from the environment (``STYLEFUSE_COMPILE``, ``STYLEFUSE_CUDNN_BENCHMARK``)
so one command measures one configuration; ``--precision`` picks the convolutions' number format.

    python benchmarks/bench_engine.py --device cuda --sizes 1024x1024,4000x3000 [--repeat 5]
    python benchmarks/bench_engine.py --device cuda --sizes 1024x1024 --profile out.txt
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resources_sample import sample_photo_array  # noqa: E402

STYLES = {"builtin": (["Fiesta"], []), "style image": ([], ["<style>"])}


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        w, _, h = part.lower().partition("x")
        sizes.append((int(w), int(h)))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--sizes", default="1024x1024,4000x3000")
    parser.add_argument("--styles", default="builtin,style image")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--budget", type=float, default=1e9, help="stop starting new rows after this many seconds")
    parser.add_argument("--profile", default=None, help="write a torch.profiler table of one render here")
    parser.add_argument("--label", default="", help="configuration name printed in each row")
    args = parser.parse_args()
    began = time.perf_counter()

    import torch
    from PIL import Image

    from stylefuse_desktop.engine.device import compile_mode, select_device
    from stylefuse_desktop.engine.render import RenderSettings, render_image
    from stylefuse_desktop.engine.styles import parse_mix

    label = args.label or (f"compile={compile_mode()} cudnn_benchmark="
                           f"{os.environ.get('STYLEFUSE_CUDNN_BENCHMARK', '0')} precision={args.precision}")
    style_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-engine-style-{os.getpid()}.png"
    Image.fromarray(sample_photo_array((512, 512))[:, ::-1]).save(style_path)
    settings = RenderSettings(device=args.device, precision=args.precision)
    select_device(args.device)
    cuda = args.device == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    for width, height in parse_sizes(args.sizes):
        rgb = sample_photo_array((width, height)).astype(np.float32) / 255.0
        for style in args.styles.split(","):
            if time.perf_counter() - began > args.budget:
                print(json.dumps({"skipped": f"{width}x{height} {style}", "reason": "budget"}), flush=True)
                continue
            names, images = STYLES[style]
            mix = parse_mix(names, [str(style_path)] if images else [])
            try:
                started = time.perf_counter()
                render_image(rgb, mix, settings, as_uint8=True)  # warm-up: weights, cuDNN plans, compilation
                sync()
                first = time.perf_counter() - started
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    render_image(rgb, mix, settings, as_uint8=True)
                    sync()
                    times.append(time.perf_counter() - started)
                row = {"config": label, "size": f"{width}x{height}", "style": style,
                       "first_s": round(first, 3), "median_s": round(statistics.median(times), 4),
                       "min_s": round(min(times), 4),
                       "host_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                       "device_peak_mib": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None}
            except Exception as exc:  # noqa: BLE001 - one failed row must not lose the others
                row = {"config": label, "size": f"{width}x{height}", "style": style, "error": repr(exc)[:300]}
            print(json.dumps(row), flush=True)

    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        width, height = parse_sizes(args.sizes)[0]
        rgb = sample_photo_array((width, height)).astype(np.float32) / 255.0
        mix = parse_mix(*STYLES["builtin"])
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            for _ in range(3):
                render_image(rgb, mix, settings, as_uint8=True)
            sync()
        sort = "cuda_time_total" if cuda else "cpu_time_total"
        table = prof.key_averages().table(sort_by=sort, row_limit=40)
        Path(args.profile).write_text(f"{label}, {width}x{height} builtin, 3 renders\n{table}\n")
        print(f"profile written to {args.profile}", flush=True)
    style_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
