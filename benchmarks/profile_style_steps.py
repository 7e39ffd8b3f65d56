"""Whether a style training step waits on the GPU or on Python: torch's profiler over a stretch of steps
with no validation in it (steps 41-59 by default), after the first steps have loaded every kernel.

    python benchmarks/profile_style_steps.py [--device cpu|cuda] [--first 41] [--last 59]

Trains the fast preset on bench_train's scikit-image textures and prints: the stretch's wall time per
step, the GPU's busy time per step (the sum of its kernels' times) and kernel launches per step, then
the operators that take the most time on the CPU side and the kernels that take the most on the GPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_train  # noqa: E402  (sets the private user folders, and the sets' pictures)

from stylefuse_desktop.training import style_trainer  # noqa: E402
from stylefuse_desktop.training.config import StyleTrainingConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--first", type=int, default=41, help="first profiled step (1-based)")
    parser.add_argument("--last", type=int, default=59, help="last profiled step")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    cuda = args.device == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    profiler = profile(activities=activities)
    stretch: dict[str, float] = {}
    run_loop = style_trainer.run_loop

    def profiled_loop(*loop_args: Any, **kwargs: Any) -> Any:
        loop_args = list(loop_args)
        train_step, count = loop_args[3], [0]

        def step() -> Any:
            count[0] += 1
            if count[0] == args.first:
                if cuda:
                    torch.cuda.synchronize()
                profiler.start()
                stretch["began"] = time.perf_counter()
            out = train_step()
            if count[0] == args.last:
                if cuda:
                    torch.cuda.synchronize()
                stretch["ended"] = time.perf_counter()
                profiler.stop()
            return out

        loop_args[3] = step
        return run_loop(*loop_args, **kwargs)

    style_trainer.run_loop = profiled_loop
    folder = bench_train.save_all(Path(tempfile.mkdtemp()) / "styles", bench_train.texture_views())
    held_out = bench_train.skimage_pictures(["astronaut", "chelsea"], (256, 320))
    style_trainer.train_style(StyleTrainingConfig(name="profile", styles=folder, preset="fast", device=args.device,
                                                  steps=args.last + 1), held_out=held_out)
    steps = args.last - args.first + 1
    wall = (stretch["ended"] - stretch["began"]) / steps
    events = profiler.key_averages()
    print(f"steps {args.first}-{args.last} on {args.device}: {wall * 1000:.1f} ms a step (wall, profiler on)")
    if cuda:
        kernels = [e for e in profiler.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        busy = sum(e.time_range.elapsed_us() for e in kernels) / 1000 / steps
        print(f"GPU kernels: {len(kernels) / steps:.0f} a step, busy {busy:.1f} ms a step "
              f"({busy / (wall * 1000):.0%} of the wall)")
        launch_calls = ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC")
        launches = sum(e.count for e in events if e.key in launch_calls)
        print(f"kernel launches: {launches / steps:.0f} a step")
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.top, max_name_column_width=60))
    if cuda:
        print(events.table(sort_by="self_device_time_total", row_limit=args.top, max_name_column_width=60))


if __name__ == "__main__":
    main()
