"""Shared measuring helpers for the benchmarks: run a command as its own process, report wall time
and the peak resident memory of that process tree."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

VENV_BIN = Path(sys.executable).parent
# Runs the command and prints the peak RSS (KiB) and the CPU time of its children: a launcher per run,
# so the figures are that run's alone.
_LAUNCHER = (
    "import resource, subprocess, sys, json\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'rc': p.returncode, 'err': p.stderr[-2000:], 'maxrss_kib': u.ru_maxrss,"
    " 'cpu_s': u.ru_utime + u.ru_stime}))\n"
)


@dataclass(frozen=True)
class Run:
    wall_s: float  # from the launcher's start to the command's end (the launcher's own start is ~20 ms)
    cpu_s: float  # user + system time of the command: other programs on the machine disturb it less
    peak_mib: float


def run_timed(command: list[str]) -> Run:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["rc"] != 0:
        raise RuntimeError(f"{command[0]} failed: {report['err']}")
    return Run(seconds, report["cpu_s"], report["maxrss_kib"] / 1024)


def run_measured(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one process."""
    run = run_timed(command)
    return run.wall_s, run.peak_mib


def photo_folder(folder: Path, side: int, count: int, width: int | None = None) -> Path:
    """``count`` copies of a generated photo-like picture, side x side (or width x side), as PNG."""
    from resources_sample import sample_photo_array

    folder.mkdir(parents=True, exist_ok=True)
    rgb = sample_photo_array((width or side, side))
    for i in range(count):
        # shift each copy a little so no tool can cache a result
        Image.fromarray(np.roll(rgb, i * 7, axis=1)).save(folder / f"photo{i:02d}.png", compress_level=1)
    return folder


def per_image_seconds(run_one, run_many, many: int) -> float:
    """Steady-state time per image: the difference between a folder of ``many`` and of one image,
    so process start, imports and model loading cancel out. Each run is taken twice and the faster
    kept: start-up varies by a few hundred ms, as much as a small image's whole render."""
    t_one = min(run_one()[0] for _ in range(2))
    t_many = min(run_many()[0] for _ in range(2))
    return max(t_many - t_one, 0.0) / (many - 1)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join([line, rule, *body])
