"""Where a CLI run spends its wall time, thread by thread: a sampling profiler for whole commands.

cProfile sees one thread and inflates short Python calls; a folder render is several threads (readers,
the painter, writers, the PNG strips) that wait on each other. This samples every thread's stack every
few milliseconds while ``stylefuse_desktop.cli.main(ARGS)`` runs in this process, then prints for each
thread the share of the run it spent in each function (the innermost frame of our code, and the
innermost frame of all), so a GPU that waits for the CPU, or a writer that waits for the GIL, shows.

    python benchmarks/sample_stacks.py [--interval-ms 2] [--top 12] -- render IN -o OUT --device cuda
    python benchmarks/sample_stacks.py --script benchmarks/bench_train.py -- --device cuda --quick --modes pairs
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
OURS = str(ROOT / "stylefuse_desktop")


def _where(frame: FrameType | None) -> tuple[str, str]:
    """(innermost frame, innermost frame in our package) as 'file:function'."""
    leaf = ours = ""
    while frame is not None:
        code = frame.f_code
        name = f"{Path(code.co_filename).name}:{code.co_name}"
        if not leaf:
            leaf = name
        if not ours and code.co_filename.startswith(OURS):
            ours = f"{Path(code.co_filename).relative_to(ROOT)}:{code.co_name}"
            break
        frame = frame.f_back
    return leaf, ours or "(outside our code)"


def sample(command: list[str], interval: float, script: str | None = None
           ) -> tuple[float, dict[str, Counter], dict[str, Counter], dict[str, int]]:
    """Sample while ``script`` runs with ``command`` as its arguments, or the CLI with ``command``."""
    leaves: dict[str, Counter] = defaultdict(Counter)
    ours: dict[str, Counter] = defaultdict(Counter)
    counts: dict[str, int] = Counter()
    done = threading.Event()
    rounds = 0

    def sampler() -> None:
        nonlocal rounds
        me = threading.get_ident()
        while not done.is_set():
            rounds += 1
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                name = names.get(ident, str(ident))
                name = name.rsplit("_", 1)[0] if name[-1:].isdigit() else name  # pool threads as one
                leaf, our = _where(frame)
                if leaf == "thread.py:_worker":  # an idle pool thread waiting for work
                    continue
                leaves[name][leaf] += 1
                ours[name][our] += 1
                counts[name] += 1
            time.sleep(interval)

    thread = threading.Thread(target=sampler, daemon=True)
    started = time.perf_counter()
    thread.start()
    try:
        if script:
            import runpy

            sys.argv = [script, *command]
            sys.path.insert(0, str(Path(script).resolve().parent))
            runpy.run_path(script, run_name="__main__")
            code = 0
        else:
            from stylefuse_desktop import cli

            code = cli.main(command)
    finally:
        done.set()
        thread.join()
    seconds = time.perf_counter() - started
    if code:
        print(f"(the command ended with exit code {code})")
    counts["(sampling rounds)"] = rounds
    return seconds, leaves, ours, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval-ms", type=float, default=2.0)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--script", help="a Python script to run (its arguments after --) instead of the CLI")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the stylefuse command line (after --)")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    seconds, leaves, ours, counts = sample(command, args.interval_ms / 1000, args.script)
    main_samples = max(1, counts.pop("(sampling rounds)"))
    print(f"wall {seconds:.2f} s; {main_samples} sampling rounds, one every {args.interval_ms} ms or more; shares are "
          "of the rounds (of the wall time), so a pool of 8 threads busy all run long shows 800%; idle pool threads "
          "are not counted")
    for name in sorted(counts, key=lambda n: -counts[n]):
        print(f"\n## {name}: {counts[name]} samples")
        print("  in our code:")
        for where, n in ours[name].most_common(args.top):
            print(f"    {100 * n / main_samples:6.1f}%  {where}")
        print("  innermost:")
        for where, n in leaves[name].most_common(args.top):
            print(f"    {100 * n / main_samples:6.1f}%  {where}")


if __name__ == "__main__":
    main()
