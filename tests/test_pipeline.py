"""The folder pipeline: order, per-file errors, overlap of decoding with painting, bounded read-ahead,
batches of same-sized photos. Fake read/paint/write functions: no torch, milliseconds."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from stylefuse_desktop.engine.pipeline import FolderPipeline, worker_counts
from stylefuse_desktop.errors import BadInputError


@dataclass
class FakePhoto:
    name: str
    size: tuple[int, int]


def recoverable(exc: BaseException) -> bool:
    return isinstance(exc, BadInputError)


def test_results_come_in_job_order_with_one_error_per_bad_file():
    sizes = {"a": (4, 4), "b": (4, 4), "c": (4, 4), "d": (4, 4), "e": (4, 4)}
    written = {}

    def read(name):
        if name == "b":
            raise BadInputError("b: not an image")
        return FakePhoto(name, sizes[name])

    def paint(group):
        if group[0][0] == "c":
            raise BadInputError("c: too large")
        return [photo.name.upper() for _, photo in group]

    def write(name, output):
        time.sleep(0.03 if name == "a" else 0.0)  # the first write finishes last
        if name == "e":
            raise BadInputError("e: disk full")
        written[name] = output

    results = list(FolderPipeline(list("abcde"), read, recoverable, readers=2, writers=3).run(paint, write))
    assert [r.job for r in results] == list("abcde")
    assert [r.error for r in results] == [None, "b: not an image", "c: too large", None, "e: disk full"]
    assert written == {"a": "A", "d": "D"}
    assert results[0].size == (4, 4) and results[0].seconds >= 0.03


def test_the_next_photo_is_decoded_while_the_current_one_paints():
    second_read = threading.Event()

    def read(name):
        if name == 1:
            second_read.set()
        return FakePhoto(str(name), (8, 8))

    overlapped = []

    def paint(group):
        if group[0][0] == 0:
            overlapped.append(second_read.wait(timeout=5))  # waits here until photo 1 has been read
        return [None for _ in group]

    list(FolderPipeline([0, 1, 2], read, recoverable, readers=1, writers=1).run(paint, lambda *a: None))
    assert overlapped == [True]


def test_photos_decode_one_after_another_before_the_run_starts():
    """While the caller still loads the engine (torch's import), the readers go on by themselves."""
    reads = []
    all_read = threading.Event()

    def read(i):
        reads.append(i)
        if len(reads) == 4:
            all_read.set()
        return FakePhoto(str(i), (8, 8))

    pipeline = FolderPipeline(list(range(4)), read, recoverable, readers=1, writers=1)
    assert all_read.wait(timeout=5)  # run() not called yet
    results = list(pipeline.run(lambda group: [None] * len(group), lambda *a: None))
    assert [r.job for r in results] == [0, 1, 2, 3] and reads == [0, 1, 2, 3]


def test_many_quick_reads_on_several_readers_lose_nothing_and_keep_their_order():
    rng = np.random.default_rng(3)
    delays = rng.random(300) * 0.002

    def read(i):
        time.sleep(delays[i])
        if i % 37 == 5:
            raise BadInputError(f"{i}: damaged")
        return FakePhoto(str(i), (2 + i % 3, 2))

    results = list(FolderPipeline(list(range(300)), read, recoverable, readers=4, writers=2).run(
        lambda group: [photo.name for _, photo in group], lambda *a: None, batch=3))
    assert [r.job for r in results] == list(range(300))
    assert [r.job for r in results if r.error] == [i for i in range(300) if i % 37 == 5]


def test_read_ahead_stops_at_the_pixel_budget():
    reads, max_ahead = [], []

    def read(name):
        reads.append(name)
        return FakePhoto(str(name), (100, 100))  # 10,000 px each

    def paint(group):
        max_ahead.append(len(reads) - group[0][0] - 1)  # photos read beyond the one painting
        return [None]

    pipeline = FolderPipeline(list(range(10)), read, recoverable, readers=4, writers=1, read_ahead_pixels=25_000)
    list(pipeline.run(paint, lambda *a: None))
    assert len(reads) == 10
    assert max(max_ahead) <= 3  # 2 decoded waiting (20,000 px) plus at most one being decoded


def test_same_sized_photos_paint_together_up_to_the_batch():
    sizes = [(4, 4), (4, 4), (4, 4), (8, 8), (4, 4)]
    groups = []

    def read(i):
        time.sleep(0.01 * (i == 0))  # the rest are decoded by the time the first is
        return FakePhoto(str(i), sizes[i])

    def paint(group):
        groups.append([job for job, _ in group])
        return [job for job, _ in group]

    results = list(FolderPipeline(list(range(5)), read, recoverable, readers=4, writers=1).run(
        paint, lambda *a: None, batch=2))
    assert [r.job for r in results] == [0, 1, 2, 3, 4]
    assert all(len(g) <= 2 for g in groups) and sum(groups, []) == [0, 1, 2, 3, 4]
    for g in groups:  # never mixed sizes in one batch
        assert len({sizes[i] for i in g}) == 1


def test_an_unexpected_error_stops_the_run_and_finishes_started_writes():
    written = []

    def paint(group):
        if group[0][0] == 2:
            raise RuntimeError("device lost")
        return [None]

    def write(name, output):
        time.sleep(0.02)
        written.append(name)

    with pytest.raises(RuntimeError, match="device lost"):
        for _ in FolderPipeline(list(range(6)), lambda n: FakePhoto(str(n), (2, 2)), recoverable,
                                writers=2).run(paint, write):
            pass
    assert sorted(written) == [0, 1]


def test_worker_counts_fit_the_machine():
    assert worker_counts(2) == (1, 1)
    readers, writers = worker_counts(16)
    assert 1 < readers <= writers <= 8


def test_gpu_style_uint8_output_rounds_as_the_file_writer_does():
    import torch

    from stylefuse_desktop.document.image_io import to_uint8
    from stylefuse_desktop.engine.device import to_uint8_image, upload

    rng = np.random.default_rng(0)
    rgb = rng.uniform(-0.1, 1.1, (5, 7, 3)).astype(np.float32)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    assert np.array_equal(to_uint8_image(x), to_uint8(rgb))
    assert to_uint8(to_uint8(rgb)) is not None and np.array_equal(to_uint8(to_uint8(rgb)), to_uint8(rgb))
    back = upload(to_uint8(rgb), torch.device("cpu"))
    assert back.shape == (1, 3, 5, 7) and back.dtype == torch.float32
    assert np.allclose(back[0].permute(1, 2, 0).numpy(), to_uint8(rgb) / 255.0)


def test_render_as_uint8_matches_the_float_render_rounded(photo_rgb):
    from stylefuse_desktop.document.image_io import to_uint8
    from stylefuse_desktop.engine.render import RenderSettings, render_image
    from stylefuse_desktop.engine.styles import parse_mix

    mix = parse_mix(["Fiesta"], [])
    settings = RenderSettings(device="cpu", strength=0.7)
    assert np.array_equal(render_image(photo_rgb, mix, settings, as_uint8=True),
                          to_uint8(render_image(photo_rgb, mix, settings)))


@pytest.mark.parametrize("styles", [(["Fiesta"], []), ([], ["style"])])
def test_a_batch_paints_each_photo_as_it_would_be_painted_alone(photo_rgb, style_rgb, tmp_path, styles):
    from PIL import Image

    from stylefuse_desktop.engine.render import RenderSettings, render_batch, render_image
    from stylefuse_desktop.engine.styles import parse_mix

    names, images = styles
    style_path = tmp_path / "style.png"
    Image.fromarray((style_rgb * 255).astype(np.uint8)).save(style_path)
    mix = parse_mix(names, [str(style_path)] if images else [])
    settings = RenderSettings(device="cpu", precision="fp32", preserve_color=True)
    photos = [photo_rgb[:96, :128], np.ascontiguousarray(photo_rgb[-96:, -128:][::-1])]
    batch = render_batch(photos, mix, settings)
    for photo, painted in zip(photos, batch):
        alone = render_image(photo, mix, settings)
        assert painted.shape == photo.shape
        assert np.abs(painted - alone).max() < 1e-4
    assert np.abs(batch[0] - batch[1][::-1]).mean() > 0.01  # two different pictures, not one copied


def test_a_photo_is_let_go_once_painted_while_its_result_is_written():
    import gc
    import weakref

    alive = {}

    def read(name):
        photo = FakePhoto(name, (4, 4))
        alive[name] = weakref.ref(photo)
        return photo

    seen = []

    def write(name, output):
        time.sleep(0.05)  # the painting thread has moved on
        gc.collect()
        seen.append(alive[name]() is None)  # the input's pixels are no longer held

    list(FolderPipeline(["a", "b"], read, recoverable, writers=1).run(lambda group: ["out"] * len(group), write))
    assert seen == [True, True]


def test_eight_bit_reads_render_as_their_float_reads(tmp_path, photo_rgb):
    from PIL import Image

    from stylefuse_desktop.document.image_io import read_image, to_uint8
    from stylefuse_desktop.engine.render import RenderSettings, render_image
    from stylefuse_desktop.engine.styles import parse_mix

    path = tmp_path / "photo.png"
    Image.fromarray(to_uint8(photo_rgb[:80, :100])).save(path)
    as_float, as_bytes = read_image(path), read_image(path, eight_bit=True)
    assert as_bytes.rgb.dtype == np.uint8 and as_bytes.rgb.flags.writeable
    assert np.array_equal(as_bytes.rgb, to_uint8(as_float.rgb))
    mix = parse_mix(["Fiesta"], [])
    for settings in (RenderSettings(device="cpu"), RenderSettings(device="cpu", strength=0.0)):
        assert np.abs(render_image(as_bytes.rgb, mix, settings) - render_image(as_float.rgb, mix, settings)).max() < 1e-5


def test_nothing_more_is_read_until_the_first_photo_shows_its_size():
    events = []

    def read(i):
        events.append(("start", i))
        time.sleep(0.05 if i == 0 else 0.0)
        events.append(("end", i))
        return FakePhoto(str(i), (10, 10))

    list(FolderPipeline(list(range(4)), read, recoverable, readers=4, writers=1).run(
        lambda group: [None] * len(group), lambda *a: None))
    assert events.index(("end", 0)) < events.index(("start", 1))
