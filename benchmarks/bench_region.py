"""Real pixels at 100% on a 24 MP photo: how long until the canvas shows them, and the memory.

Zoomed to or past the proxy's scale, the canvas asks for the export's pixels in view, tile by tile
(``layer_paint.paint_view_tiles``): once per layer and settings the network paints the full photo at
its stroke-size resolution with whole-image statistics; each tile is then brought to full size on its
own (detail, colour, strength, blending), nearest the view's centre first.

Two parts, both on the same 24 MP photo (6000x4000) with one style layer:

1. The engine path, in this process: time to the first tile and to the whole view after zooming in,
   then after a pan (only the tiles not shown yet), beside the peers measured in the same run: the
   previous steps (the whole canvas composited as one image, painted, then the view cut out in one
   piece) and the full-size export of the layer. The view is checked against the export's box.
2. The editor itself, offscreen: open the photo, apply the style, zoom to 100%; seconds from the view
   settling to its first real-pixel tile and to the whole view covered, and the process's peak memory.

    python benchmarks/bench_region.py [--style NAME] [--view 1920x1080] [--skip-app]

Timings on a shared machine are inflated by whatever else runs: the CPU seconds (this process, all
threads) beside them are near what an idle machine takes; memory is resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def reset_peak() -> None:
    """Start the peak resident size (VmHWM) afresh (Linux); without it the peak is the process's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def photo_document(style: str):
    from resources_sample import sample_photo_array

    from stylefuse_desktop.document.image_io import Photo
    from stylefuse_desktop.document.layers import StyleEntry, StyleLayer, StyleRef
    from stylefuse_desktop.document.operations import document_from_photo

    rgb = sample_photo_array((6000, 4000))
    doc = document_from_photo(Photo(rgb=rgb.astype(np.float32) / 255.0), "photo")
    layer = doc.add_layer(StyleLayer(name=style, styles=(StyleEntry(StyleRef("builtin", style)),)))
    return doc, layer


def engine_part(style: str, view_w: int, view_h: int) -> None:
    from stylefuse_desktop.document.compositor import RenderStore, composite
    from stylefuse_desktop.engine.layer_paint import engine_settings, paint_layer, paint_view_tiles, style_mix
    from stylefuse_desktop.engine.render import RenderSettings, paint_image, render_image
    from stylefuse_desktop.engine.styles import parse_mix
    from stylefuse_desktop.engine.weights import load_network

    doc, layer = photo_document(style)
    for name in ("multistyle", "style_transformer", "style_predictor"):
        load_network(name)  # loaded at start-up in the app
    render_image(np.full((64, 64, 3), 0.5, np.float32), parse_mix([style]))  # the app's first paint (threads)
    left, top = 2000, 1500
    box = (left, top, left + view_w, top + view_h)
    reset_peak()
    before = rss_mib()

    held: dict = {}
    started, cpu = time.perf_counter(), time.process_time()
    tiles = []
    for tile, rgba in paint_view_tiles(doc, box, RenderStore(), held):
        if not tiles:
            t_first = (time.perf_counter() - started, time.process_time() - cpu)
        tiles.append((tile, rgba))
    t_view = (time.perf_counter() - started, time.process_time() - cpu)
    peak_view = peak_mib()

    moved = (left + 400, top + 300, left + 400 + view_w, top + 300 + view_h)
    started, cpu = time.perf_counter(), time.process_time()
    pan = list(paint_view_tiles(doc, moved, RenderStore(), held, skip={tile for tile, _ in tiles}))
    t_pan = (time.perf_counter() - started, time.process_time() - cpu)
    held.clear()

    # peer 1: the previous steps (the whole canvas composited as one image, painted, the view cut out)
    started, cpu = time.perf_counter(), time.process_time()
    source = composite(doc, None, 1.0, below=1)
    painted = paint_image(np.ascontiguousarray(source[..., :3]), style_mix(layer.styles),
                          engine_settings(layer, doc, 1.0, False, RenderSettings()))
    painted.region(range(top, top + view_h), range(left, left + view_w))
    t_old = (time.perf_counter() - started, time.process_time() - cpu)
    del source, painted

    # peer 2: the full-size export of the layer, and the check that the tiles are its pixels
    started, cpu = time.perf_counter(), time.process_time()
    export = paint_layer(doc, layer.id, RenderStore(), 1.0)
    t_export = (time.perf_counter() - started, time.process_time() - cpu)
    diff = max(float(np.abs(rgba - export.rgba[y0:y1, x0:x1]).max()) for (x0, y0, x1, y1), rgba in tiles + pan)

    print(f"## Engine: 24 MP photo (6000x4000), style {style}, view {view_w}x{view_h} at 100%\n")
    print("| step | seconds | CPU seconds (all threads) | ratio to the previous steps |\n|---|---|---|---|")
    for name, (wall, cpu_s) in (("first tile (view centre) after zooming in", t_first),
                                (f"whole view after zooming in ({len(tiles)} tiles)", t_view),
                                (f"after a pan of 400x300 px ({len(pan)} new tiles)", t_pan),
                                ("peer: previous steps (whole-canvas composite, painting, view in one piece)", t_old),
                                ("peer: full-size export of the layer", t_export)):
        print(f"| {name} | {wall:.2f} | {cpu_s:.2f} | {wall / t_old[0]:.2f} |")
    print(f"\nmemory: {before:.0f} MiB before the view, peak {peak_view:.0f} MiB while painting it "
          f"(peers afterwards: peak {peak_mib():.0f} MiB); tiles vs export max |diff| {diff:.2g}\n")


APP = """
import json, sys, time
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication
app = QApplication([])
from stylefuse_desktop.ui.main_window import MainWindow
from stylefuse_desktop.document.layers import StyleRef
w = MainWindow(); w.resize(int(sys.argv[3]), int(sys.argv[4])); w.show()
w.start([sys.argv[1]])
def spin(cond, limit=600):
    end = time.time() + limit
    while not cond() and time.time() < end:
        app.processEvents(); time.sleep(0.005)
    return cond()
spin(lambda: w.engine_ready and not w.jobs.busy())
w.apply_style(StyleRef("builtin", sys.argv[2]))
spin(lambda: not w.jobs.busy() and not w.stale_layers(draft=False))
canvas = w.canvas
settled = []
canvas.view_settled.connect(lambda: settled.append(time.perf_counter()))
results = {}
for name, move in (("zoom to 100%", canvas.actual_pixels), ("pan by half a view", None)):
    if move is None:  # as a drag with the middle button would: half the canvas's width and height
        canvas.center += QPointF(canvas.width() / 2, canvas.height() / 2) / canvas.zoom
        canvas._view_changed()
    else:
        move()
    settled.clear()
    spin(lambda: settled, 10)
    start = settled[0]
    before = len(canvas.region_tiles())
    spin(lambda: len(canvas.region_tiles()) > before or canvas.region_pixels() is not None, 120)
    first = time.perf_counter() - start
    spin(lambda: canvas.region_pixels() is not None, 120)
    results[name] = (first, time.perf_counter() - start, canvas.view_box())
import resource
w.doc.history.mark_clean(); w.close()
print(json.dumps({"results": results, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def app_part(style: str, view_w: int, view_h: int) -> None:
    from PIL import Image
    from resources_sample import sample_photo_array

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo24mp.png"
        Image.fromarray(sample_photo_array((6000, 4000))).save(path, compress_level=1)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", APP, str(path), style, str(view_w), str(view_h)], env=env,
                             capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    report = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"## The editor, offscreen: 24 MP photo, style {style}, window {view_w}x{view_h}\n")
    print("| after the view settles | first real-pixel tile (s) | whole view (s) | view box |\n|---|---|---|---|")
    for name, (first, whole, box) in report["results"].items():
        print(f"| {name} | {first:.2f} | {whole:.2f} | {box} |")
    print(f"\npeak memory of the editor's process (whole run: open, paint, views): {report['peak']:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--style", default="Cobalt Strokes")
    parser.add_argument("--view", default="1920x1080")
    parser.add_argument("--skip-app", action="store_true", help="only the engine part")
    args = parser.parse_args()
    view_w, view_h = (int(v) for v in args.view.split("x"))
    engine_part(args.style, view_w, view_h)
    if not args.skip_app:
        app_part(args.style, view_w, view_h)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
