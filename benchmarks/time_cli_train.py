"""A timeline of one whole ``stylefuse train`` command, as a user times it: when each part of the run
begins and ends, in seconds from the interpreter's start, so that start-up which no part of the trainer
owns shows up (a fresh process's imports, the CUDA context, libraries and kernels loaded on first use).

    python benchmarks/time_cli_train.py -- train style --styles DIR --name x --out x.sfstyle --preset fast

The command runs in this process (``stylefuse_desktop.cli.main``). Each timed part ends with a CUDA
synchronisation, so a part's time is its own GPU work too. Parts called many times (validation, the
training steps) print as one row: the first start, the last end, how many calls and their total.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _process_age() -> float:
    """Seconds since this process started (Linux: /proc; elsewhere 0, from this script's start)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        return float(Path("/proc/uptime").read_text().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return 0.0


ORIGIN = time.perf_counter() - _process_age()
parts: list[tuple[str, float, float, str]] = []  # (label, start, end, thread)


def now() -> float:
    return time.perf_counter() - ORIGIN


def _synchronise() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and threading.current_thread() is threading.main_thread() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed(owner: Any, name: str, label: str | None = None, wrap_arguments: Callable[..., Any] | None = None) -> None:
    """Record each call of ``owner.name`` (a module's function or a class's method)."""
    function = getattr(owner, name)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = now()
        if wrap_arguments is not None:
            args, kwargs = wrap_arguments(*args, **kwargs)
        try:
            return function(*args, **kwargs)
        finally:
            _synchronise()
            parts.append((label or name, began, now(), threading.current_thread().name))

    setattr(owner, name, wrapper)


def _steps_timed(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """run_loop's ``train_step`` (its 4th argument), each call recorded: the first one loads the kernels."""
    args = list(args)
    train_step = args[3]
    count = [0]

    def step() -> Any:
        began = now()
        out = train_step()
        _synchronise()
        count[0] += 1
        parts.append(("training step 1" if count[0] == 1 else "training steps 2..", began, now(), "MainThread"))
        return out

    args[3] = step
    return tuple(args), kwargs


def instrument() -> None:
    """Wrap the parts, once the command has imported the trainer (patching earlier would move torch's
    import out of the command's own timeline)."""
    from stylefuse_desktop.engine import device, embeddings, weights
    from stylefuse_desktop.training import run, style_trainer

    timed(device, "select_device")
    timed(device, "_make_cuda_context", "CUDA context (warm-up thread)")
    timed(weights, "load_network")
    timed(embeddings, "predict_embedding", "instant style's embedding (per picture)")
    for name in ("load_folder", "default_content", "style_view", "prepare", "adam", "style_targets",
                 "validation_photos", "held_out_photos", "evaluate", "paint_with"):
        timed(style_trainer, name)
    timed(style_trainer, "_save", "checkpoint")
    timed(style_trainer, "run_loop", "training loop (steps, validations, previews)", _steps_timed)
    timed(style_trainer.TrainableStyle, "__init__", "trainable style set-up")
    timed(style_trainer.MultiScalePatchDiscriminator, "__init__", "discriminator set-up")
    timed(style_trainer.FinalCheck, "__init__", "final check set-up")
    timed(style_trainer._Validation, "__init__", "validation set-up")
    timed(style_trainer._Validation, "score", "validation (paint, measure)")
    timed(style_trainer.FinalCheck, "measure", "final check (per candidate measured)")
    timed(run, "write_style_file")


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    script_start = now()
    from stylefuse_desktop import cli

    loading = cli._loading_modules

    @contextlib.contextmanager
    def loading_then_instrument() -> Iterator[None]:
        began = now()
        with loading():
            yield
        parts.append(("imports (torch, the trainer)", began, now(), "MainThread"))
        instrument()

    cli._loading_modules = loading_then_instrument
    command_start = now()
    code = cli.main(argv)
    ended = now()
    print(f"\nexit code {code}; interpreter start -> this script {script_start:.2f} s, "
          f"-> the command {command_start:.2f} s, -> the command's end {ended:.2f} s")
    rows: dict[str, list[float]] = {}
    for label, began, end, _thread in parts:
        row = rows.setdefault(label, [began, end, 0, 0.0])
        row[0], row[1] = min(row[0], began), max(row[1], end)
        row[2] += 1
        row[3] += end - began
    print("| part | starts (s) | ends (s) | calls | time in it (s) |\n|---|---|---|---|---|")
    for label, (began, end, calls, spent) in sorted(rows.items(), key=lambda item: item[1][0]):
        print(f"| {label} | {began:.2f} | {end:.2f} | {calls} | {spent:.2f} |")
    print(f"| the whole command | {command_start:.2f} | {ended:.2f} | 1 | {ended - command_start:.2f} |")


if __name__ == "__main__":
    main()
