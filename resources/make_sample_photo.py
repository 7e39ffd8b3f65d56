"""Generate the sample photo the app ships with: a lakeside landscape at golden hour, drawn from noise.

Run once (``python resources/make_sample_photo.py``); the output, ``sample_photo.jpg``, is committed.
The drawing code lives in ``stylefuse_desktop/samples.py`` (training uses it for default content).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stylefuse_desktop.samples import make_sample_photo  # noqa: E402

if __name__ == "__main__":
    target = Path(__file__).with_name("sample_photo.jpg")
    make_sample_photo().save(target, quality=92)
    print(f"wrote {target}")
