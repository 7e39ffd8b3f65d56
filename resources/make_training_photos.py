"""Generate the training photos the app ships: the content photos a style trains on when the user gives
none (landscapes drawn from noise, and scenes of objects), the quality gate's held-out photos
(landscapes, and scenes), and the detail photos on which validation measures readability, all drawn by
the project.

Run once (``python resources/make_training_photos.py``); the PNGs under ``training-photos/`` are
committed. Without them training would generate each one (about a second apiece) on its first run and
keep it in the cache folder; the drawing code is ``stylefuse_desktop/samples.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from stylefuse_desktop.document.image_io import to_uint8  # noqa: E402
from stylefuse_desktop.training.data import SHIPPED_PHOTO_SETS, draw_project_photo, project_photo_name  # noqa: E402

if __name__ == "__main__":
    root = Path(__file__).with_name("training-photos")
    for kind, count, size, first_seed in SHIPPED_PHOTO_SETS:
        for seed in range(first_seed, first_seed + count):
            target = root / project_photo_name(kind, size, seed)
            target.parent.mkdir(parents=True, exist_ok=True)
            pixels = to_uint8(draw_project_photo(kind, size, seed))
            Image.fromarray(pixels).save(target, format="PNG", optimize=True)
            print(f"wrote {target}")
