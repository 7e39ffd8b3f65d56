"""How busy other programs keep the processors: the CPU time all processors spent busy (/proc/stat)
minus this process's own, over the time since the last look. No torch: the first look is taken when
the engine package is imported, so the window spans torch's own loading and costs nothing to wait for.
"""

from __future__ import annotations

import os
import time


def _sample() -> tuple[float, float, float] | None:
    """(wall clock, CPU seconds all processors spent busy, CPU seconds this process used), or None
    where /proc/stat is not available (not Linux)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    own = os.times()
    return time.monotonic(), busy, own.user + own.system


class LoadMeter:
    def __init__(self) -> None:
        self.last = _sample()

    def busy_elsewhere(self, cores: int, window: float = 0.1) -> float | None:
        """Cores (of the ``cores`` this process may use) that other programs kept busy since the last
        look; waits out the rest of ``window`` seconds when the last look is more recent than that."""
        now = _sample()
        if now is None or self.last is None:
            return None
        if now[0] - self.last[0] < window:
            time.sleep(window - (now[0] - self.last[0]))
            now = _sample() or now
        wall, busy, own = (a - b for a, b in zip(now, self.last))
        self.last = now
        # /proc/stat counts every processor of the machine (hyper-threads too): scale to our cores
        return max(0.0, busy - own) / max(wall, 1e-3) * cores / max(1, os.cpu_count() or 1)


meter = LoadMeter()
