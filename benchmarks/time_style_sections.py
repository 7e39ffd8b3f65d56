"""Where a fast style training's time goes: the trainer's parts (validation, its measures, the gate, loading)
timed by wrapping them, run after run in one process (the first run carries the process's warm-up).

    python benchmarks/time_style_sections.py [--device cpu|cuda] [--runs 2]

Trains the fast preset on bench_train's scikit-image textures. On CUDA each timed part ends with a
synchronisation, so a part's time is its own GPU work too (which makes the run a little slower than
bench_train's). The training steps' own time is about the loop's less the validations, paintings
(previews) and checkpoints inside it.
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_train  # noqa: E402  (sets the private user folders, and the sets' pictures)

from stylefuse_desktop.engine import embeddings, weights  # noqa: E402
from stylefuse_desktop.training import style_trainer  # noqa: E402
from stylefuse_desktop.training.config import StyleTrainingConfig  # noqa: E402

spent: collections.Counter[str] = collections.Counter()
calls: collections.Counter[str] = collections.Counter()


def timed(owner: Any, name: str, label: str | None = None) -> None:
    function = getattr(owner, name)
    label = label or name

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            if torch.cuda.is_initialized():
                torch.cuda.synchronize()
            spent[label] += time.perf_counter() - began
            calls[label] += 1

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    for name in ("score", "measure", "with_colour_map", "paint"):
        timed(style_trainer._Validation, name, f"validation.{name}")
    timed(style_trainer._Validation, "__init__", "validation set-up")
    for name in ("run_loop", "evaluate", "patch_swd_two_scales", "statistics_gap", "edge_ssim", "paint_with",
                 "load_folder", "default_content", "style_targets"):
        timed(style_trainer, name)
    timed(style_trainer, "_save", "checkpoint")
    timed(embeddings, "predict_embedding")
    timed(weights, "load_network")

    folder = bench_train.save_all(Path(tempfile.mkdtemp()) / "styles", bench_train.texture_views())
    held_out = bench_train.skimage_pictures(["astronaut", "chelsea", "coffee", "rocket"], (256, 320))
    rows = []
    for run in range(args.runs):
        spent.clear()
        calls.clear()
        began = time.perf_counter()
        style_trainer.train_style(StyleTrainingConfig(name=f"sections{run}", styles=folder, preset="fast",
                                                      device=args.device), held_out=held_out)
        total = time.perf_counter() - began
        inside = spent["validation.score"] + spent["paint_with"] + spent["checkpoint"]
        rows.append((run, total, spent["run_loop"] - inside, dict(spent), dict(calls)))
    for run, total, steps, parts, counts in rows:
        print(f"run {run} on {args.device}: {total:.1f} s in all, training steps {steps:.1f} s")
        for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
            print(f"  {name:30s} {seconds:6.2f} s  x{counts[name]}")


if __name__ == "__main__":
    main()
