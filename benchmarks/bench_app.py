"""The editor's responsiveness: launch to window shown, slider to preview at 768 px, memory with a
24-megapixel photo open. Runs the real window offscreen.

    python benchmarks/bench_app.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import table

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}

LAUNCH = """
import sys, time, json
from PySide6.QtWidgets import QApplication
app = QApplication([])
from stylefuse_desktop.ui.main_window import MainWindow
w = MainWindow(); w.show(); app.processEvents()
print(json.dumps({"torch_imported": "torch" in sys.modules}), flush=True)
"""

MEMORY = """
import json, resource, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from stylefuse_desktop.ui.main_window import MainWindow
from stylefuse_desktop.document.layers import StyleRef
w = MainWindow(); w.resize(1400, 900); w.show()
w.start([sys.argv[1]])
def spin(cond, limit=600):
    end = time.time() + limit
    while not cond() and time.time() < end:
        app.processEvents(); time.sleep(0.01)
spin(lambda: w.engine_ready and not w.jobs.busy())
def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
opened = rss()
w.apply_style(StyleRef("builtin", "Terracotta"))
spin(lambda: not w.jobs.busy() and not w.stale_layers(draft=False))
styled = rss()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
w.doc.history.mark_clean(); w.close()
print(json.dumps({"opened": opened, "styled": styled, "peak": peak}))
"""


def launch_time(repeats: int) -> tuple[float, bool]:
    times, imported = [], False
    for _ in range(repeats):
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH], stdout=subprocess.PIPE, env=ENV, text=True)
        line = proc.stdout.readline()
        times.append(time.perf_counter() - started)
        imported |= json.loads(line)["torch_imported"]
        proc.wait()
    return statistics.median(times), imported


def slider_latency(repeats: int) -> list[float]:
    """Seconds from a slider move to the repainted canvas, at 768 px, in this process."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    sys.path.insert(0, str(ROOT))
    from PIL import Image
    from PySide6.QtWidgets import QApplication
    from resources_sample import sample_photo_array

    from stylefuse_desktop.document.layers import StyleRef
    from stylefuse_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    path = Path(tempfile.mkdtemp()) / "photo768.png"
    Image.fromarray(sample_photo_array((768, 512))).save(path)
    window = MainWindow()
    window.show()
    window.start([str(path)])

    def spin(cond, limit=120):
        end = time.time() + limit
        while not cond() and time.time() < end:
            app.processEvents()
            time.sleep(0.002)

    spin(lambda: window.engine_ready)
    window.apply_style(StyleRef("builtin", "Terracotta"))
    window.apply_style(StyleRef("builtin", "Ink Wave"))
    spin(lambda: not window.jobs.busy() and not window.stale_layers(draft=False))
    latencies = []
    for i in range(repeats):
        slider = window.fusion_panel.rows[1].slider
        slider.setSliderDown(True)
        window.fusion_panel._begin()
        painted: list[float] = []
        window.painted.connect(lambda arrived=painted: arrived.append(time.perf_counter()))
        started = time.perf_counter()
        slider.setValue(20 + (i * 37) % 80)
        spin(lambda arrived=painted: bool(arrived))
        latencies.append(painted[0] - started)
        window.painted.disconnect()
        slider.setSliderDown(False)
        window.fusion_panel._end()
        spin(lambda: not window.jobs.busy() and not window.stale_layers(draft=False))
    window.doc.history.mark_clean()
    window.close()
    return latencies


def memory_with_large_photo() -> dict:
    sys.path.insert(0, str(ROOT))
    from PIL import Image
    from resources_sample import sample_photo_array

    path = Path(tempfile.mkdtemp()) / "photo24mp.png"
    Image.fromarray(sample_photo_array((6000, 4000))).save(path, compress_level=1)
    out = subprocess.run([sys.executable, "-c", MEMORY, str(path)], capture_output=True, text=True, env=ENV,
                         timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    launch, imported = launch_time(max(3, args.repeats // 2))
    latencies = slider_latency(args.repeats)
    memory = memory_with_large_photo()
    rows = [
        ["launch to window shown (offscreen, median)", f"{launch:.2f} s",
         "torch not yet imported" if not imported else "torch WAS imported"],
        ["slider to repainted preview, 768x512 photo, median", f"{statistics.median(latencies) * 1000:.0f} ms",
         f"p90 {sorted(latencies)[int(len(latencies) * 0.9) - 1] * 1000:.0f} ms over {len(latencies)} moves"],
        ["memory, 6000x4000 photo open", f"{memory['opened']:.0f} MiB", "resident, engine loaded"],
        ["memory, plus a style layer previewed", f"{memory['styled']:.0f} MiB", f"peak {memory['peak']:.0f} MiB"],
    ]
    print("\nEditor benchmark (2-core CPU, offscreen Qt)\n")
    print(table(["measure", "value", "note"], rows))


if __name__ == "__main__":
    main()
