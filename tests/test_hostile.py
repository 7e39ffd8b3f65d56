"""Hostile and careless input, generated here (tests/hostile_files.py): nothing lost, nothing run,
nothing crashes.

To add a case, add a row to a table: a maker that builds the input in a folder and returns the command
(or file), the exit code and a pattern of the one-line message. Every CLI case asserts the exit code,
exactly one ``stylefuse: error:`` line (no traceback, no control characters), and that every file in
the folder is unchanged and nothing was written. CLI cases run in-process (``cli.main``) to keep the
corpus fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import hostile_files as hf
import numpy as np
import pytest

from stylefuse_desktop.cli import main
from stylefuse_desktop.document.image_io import Photo, read_image, write_image
from stylefuse_desktop.document.project import load_project
from stylefuse_desktop.errors import BadInputError


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    make: Callable[[Path], list]  # builds the input in the folder, returns the argv
    code: int
    message: str  # a regex the error line must match


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its sha256 (links by their target): what 'unchanged' means."""
    found = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root) / name
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                found[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def run_cli(capsys, argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse refusals exit through our parser's error()
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, pattern: str) -> None:
    assert "Traceback" not in err, err
    assert "\x1b" not in err and "\x07" not in err, repr(err)
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("stylefuse: error:")]
    assert len(errors) == 1, err
    assert all(line.startswith("stylefuse: ") for line in lines), err
    assert re.search(pattern, errors[0]), errors[0]


# -- makers: each builds its input in ``d`` and returns the command line -------------------------------

def _render(d: Path, source, *extra) -> list:
    return ["render", source, "-o", d / "out.png", *extra]


def _folder(d: Path, *names: str) -> Path:
    folder = d / "photos"
    folder.mkdir(exist_ok=True)
    for name in names:
        hf.photo(folder / name)
    return folder


def _train_folder(d: Path) -> Path:
    styles = d / "styles"
    styles.mkdir()
    for i in range(2):
        hf.photo(styles / f"s{i}.png", 48, 48, seed=i)
    return styles


def _two_folders_same_stem(d: Path) -> list:
    (d / "a").mkdir()
    (d / "b").mkdir()
    return ["render", hf.photo(d / "a" / "x.png"), hf.photo(d / "b" / "x.png"), "-o", d / "out"]


def _other_spelling(d: Path) -> list:
    source = hf.photo(d / "photo.png")
    (d / "sub").mkdir()
    return ["render", source, "-o", d / "sub" / ".." / "." / "photo.png"]


def _user_style(d: Path, maker) -> Path:
    folder = d / "user-data" / "styles"
    folder.mkdir(parents=True, exist_ok=True)
    return maker(folder / "bad.sfstyle")


def _damaged_checkpoint(d: Path) -> list:
    slot = d / "user-data" / "training" / "resumed" / "a"
    slot.mkdir(parents=True)
    (slot.parent / "current").write_text("a")
    (slot / "state.json").write_text('{"format": "stylefuse.checkpoint", "version": 1, "step": "x"}')
    (slot / "tensors.safetensors").write_bytes(b"\x00\x01 not tensors")
    return ["train", "style", "--styles", _train_folder(d), "--name", "Resumed", "--resume", "--steps", "2",
            "--device", "cpu"]


CLI_CASES = [
    # files that must never be run or decoded
    Case("postscript-named-jpg", "image", lambda d: _render(d, hf.postscript_as_jpg(d / "evil.jpg")), 2,
         r"evil\.jpg: not an image file"),
    Case("postscript-as-style-mask", "image", lambda d: _render(d, hf.photo(d / "p.png"), "--style", "Fiesta",
                                                                "--style-mask", f"Fiesta={hf.postscript_as_jpg(d / 'm.jpg')}"),
         2, r"m\.jpg: not an image file"),
    Case("header-bomb", "image", lambda d: _render(d, hf.png_header_bomb(d / "bomb.png")), 2,
         r"over the limit of 150 MP; --max-pixels raises the limit"),
    Case("png16-inflating", "image", lambda d: _render(d, hf.png16_inflating(d / "deep.png")), 2,
         r"inflate to .* GiB; refused as a decompression bomb"),
    Case("text-chunk-bomb", "image", lambda d: _render(d, hf.png_text_bomb(d / "text.png")), 2,
         r"metadata block is implausibly large"),
    Case("truncated-jpeg", "image", lambda d: _render(d, hf.truncated_jpeg(d / "cut.jpg")), 2, r"truncated or damaged"),
    Case("float-tiff-nan", "image", lambda d: _render(d, hf.float_tiff_nan(d / "nan.tif")), 2,
         r"invalid numbers \(NaN or infinity\)"),
    Case("empty-file", "image", lambda d: _render(d, hf.empty(d / "empty.png")), 2, r"the file is empty"),
    Case("symlink-loop", "image", lambda d: _render(d, hf.symlink_loop(d / "loop.png")), 2, r"symbolic link loop"),
    Case("nul-in-name", "image", lambda d: _render(d, f"{d}/a\x00b.png"), 2, r"NUL character"),
    Case("over-long-name", "image", lambda d: _render(d, d / ("x" * 300 + ".png")), 2, r"longer than 255 bytes"),
    Case("escape-sequence-name", "image",
         lambda d: _render(d, hf.empty(d / "a\x1b[31mred\x1b]0;title\x07.png")), 2, r"a\[31mred\]0;title\.png"),
    # outputs planned before any work
    Case("folder-into-itself", "output", lambda d: ["render", _folder(d, "a.png", "a.bmp"), "-o", d / "photos"], 2,
         r"a folder being read"),
    Case("same-stem-bmp-gif", "output", lambda d: ["render", _folder(d, "x.bmp", "x.gif"), "-o", d / "out"], 2,
         r"x\.bmp and .*x\.gif would both be written to .*x\.png"),
    Case("same-name-two-folders", "output", _two_folders_same_stem, 2, r"would both be written to .*x\.png"),
    Case("output-is-input-other-spelling", "output", _other_spelling, 2, r"would overwrite the input"),
    Case("output-existing-folder-one-photo", "output",
         lambda d: ["render", hf.photo(d / "p.png"), "-o", (d / "results").mkdir() or d / "results"], 2,
         r"results: is a folder; give an output file name such as .*results/result"),
    Case("output-folder-missing", "output", lambda d: _render(d, hf.photo(d / "p.png"))[:3] + [d / "nope" / "o.png"],
         2, r"the folder .*nope does not exist"),
    Case("output-bad-extension", "output", lambda d: ["render", hf.photo(d / "p.png"), "-o", d / "o.xyz"], 2,
         r"cannot write '\.xyz' files"),
    Case("sheet-missing-folder", "output", lambda d: ["sheet", hf.photo(d / "p.png"), "-o", d / "nope" / "s.png"], 2,
         r"nope does not exist"),
    Case("fuse-output-is-a-photo", "output",
         lambda d: ["fuse", hf.photo(d / "a.png"), hf.photo(d / "b.png"), "-o", d / "b.png"], 2,
         r"would overwrite the input"),
    Case("train-out-existing-folder", "output",
         lambda d: ["train", "style", "--styles", _train_folder(d), "--name", "X", "--out", d], 2, r"is a folder"),
    Case("train-out-png", "output",
         lambda d: ["train", "style", "--styles", _train_folder(d), "--name", "X", "--out", d / "x.png"], 2,
         r"cannot write '\.png' files here; use \.sfstyle"),
    Case("train-out-among-pictures", "output",
         lambda d: ["train", "style", "--styles", _train_folder(d), "--name", "X", "--out", d / "styles" / "x.sfstyle"],
         2, r"a folder being read"),
    # options out of range
    Case("jpeg-quality-1000", "option", lambda d: ["render", hf.photo(d / "p.png"), "-o", d / "o.jpg", "--quality",
                                                   "1000"], 2, r"quality from 1 to 100"),
    Case("webp-quality-0", "option", lambda d: ["render", hf.photo(d / "p.png"), "-o", d / "o.webp", "--quality", "0"],
         2, r"above 0"),
    Case("seed-negative", "option",
         lambda d: ["train", "style", "--styles", _train_folder(d), "--name", "X", "--seed", "-1"], 2, r"seed from 0"),
    Case("seed-huge", "option",
         lambda d: ["train", "style", "--styles", _train_folder(d), "--name", "X", "--seed", str(2**70)], 2,
         r"seed from 0"),
    Case("strength-nan", "option", lambda d: _render(d, hf.photo(d / "p.png"), "--strength", "nan"), 2,
         r"finite number"),
    Case("fusion-weight-1e999", "option",
         lambda d: ["fuse", f"{hf.photo(d / 'a.png')}:1e999", hf.photo(d / "b.png"), "-o", d / "o.png"], 2,
         r"weight must be a number from 0 to 1e6, got inf"),
    Case("style-weight-1e999", "option", lambda d: _render(d, hf.photo(d / "p.png"), "--style", "Fiesta:1e999"), 2,
         r"weight must be a number >= 0, got inf"),
    # style files given by path
    *[Case(f"style-{name}", "style", lambda d, m=maker: _render(d, hf.photo(d / "p.png"), "--style",
                                                               m(d / "s.sfstyle")), 2, pattern)
      for name, maker, pattern in [
          ("encrypted", hf.style_encrypted, r"is encrypted"),
          ("deflate64", hf.style_deflate64, r"compression method 9"),
          ("unknown-method", lambda p: hf.style_bytes_file(p, hf.with_method(
              hf.style_zip(hf.manifest(), hf.embedding(), zipfile.ZIP_STORED), 99)), r"compression method 99"),
          ("deep-manifest", hf.style_deep_manifest, r"nested implausibly deep"),
          ("manifest-bomb", hf.style_manifest_bomb, r"manifest\.json is implausibly large"),
          ("nan-embedding", hf.style_nan_embedding, r"invalid numbers"),
          ("huge-embedding", hf.style_huge_embedding, r"far out of range"),
          ("mis-shaped-norms", hf.style_mis_shaped_norms, r"normalisation tensors are incomplete"),
          ("look-absurd-width", hf.style_look_absurd_width, r"network width must be a whole number"),
          ("look-wrong-type", hf.style_look_wrong_type, r"network width must be a whole number"),
          ("not-a-zip", hf.not_a_zip, r"not a zip file"),
      ]],
    Case("checkpoint-damaged", "training", _damaged_checkpoint, 2, r"the checkpoint is damaged"),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: f"{c.kind}-{c.name}")
def test_cli_refuses_hostile_input_in_one_line_and_writes_nothing(case, tmp_path, capsys):
    argv = case.make(tmp_path)
    before = snapshot(tmp_path)
    code, out, err = run_cli(capsys, argv)
    assert code == case.code, err
    assert_one_line_error(err, case.message)
    assert snapshot(tmp_path) == before  # inputs unchanged, nothing written, no temporary left


# -- a bad style in the user styles folder is skipped with a warning, never more -------------------------

BAD_USER_STYLES = [hf.style_encrypted, hf.style_deflate64, hf.style_deep_manifest, hf.style_manifest_bomb,
                   hf.style_nan_embedding, hf.style_look_absurd_width, hf.not_a_zip]


@pytest.mark.parametrize("maker", BAD_USER_STYLES, ids=lambda m: m.__name__)
def test_styles_listing_skips_a_bad_user_style_with_a_warning(maker, tmp_path, capsys):
    _user_style(tmp_path, maker)
    hf.good_style(tmp_path / "user-data" / "styles" / "good.sfstyle")
    code, out, err = run_cli(capsys, ["styles", "--json"])
    assert code == 0, err
    names = [row["name"] for row in json.loads(out)]
    assert "Good Style" in names
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("stylefuse: WARNING: skipping user style:"), err


def test_style_names_from_files_are_shown_without_control_characters(tmp_path, capsys):
    _user_style(tmp_path, hf.style_escape_name)
    code, out, err = run_cli(capsys, ["styles"])
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    assert "EvilName" in out.replace("[2J", "").replace("]0;pwned", "")


def test_render_by_name_works_beside_bad_user_styles_and_reads_only_manifests(tmp_path, capsys, monkeypatch):
    from stylefuse_desktop.document import style_file

    for i, maker in enumerate(BAD_USER_STYLES):
        maker(Path(_user_style(tmp_path, lambda p: p).parent) / f"bad{i}.sfstyle")
    for i in range(5):
        hf.good_style(tmp_path / "user-data" / "styles" / f"other{i}.sfstyle", f"Other {i}")
    hf.good_style(tmp_path / "user-data" / "styles" / "zz-mine.sfstyle", "My Style")
    loaded = []
    real = style_file.style_from_bytes
    monkeypatch.setattr(style_file, "style_from_bytes", lambda data, origin="style": loaded.append(origin) or real(
        data, origin))
    code, out, err = run_cli(capsys, ["render", hf.photo(tmp_path / "p.png"), "-o", tmp_path / "o.png", "--style",
                                      "My Style"])
    assert code == 0, err
    assert (tmp_path / "o.png").is_file()
    assert [Path(o).name for o in loaded] == ["zz-mine.sfstyle"]  # tensors of one style read, not of all
    assert "Traceback" not in err


# -- projects: values that would crash the editor are refused on load, naming the project --------------

def _edit(fn):
    return lambda p: hf.project_with(p, fn)


def _style_weight(raw):
    def make(p):
        hf.project_with(p, lambda m: m["layers"][-1]["styles"][0].__setitem__("weight", "@@W@@"))
        return hf.rewrite_zip(p, lambda files: files.__setitem__(
            "manifest.json", files["manifest.json"].replace(b'"@@W@@"', raw)))
    return make


def _layer_member(data_maker, bit_depth=8):
    def make(p):
        hf.project_with(p, lambda m: m["layers"][0].__setitem__("bit_depth", bit_depth))
        member = data_maker(p.parent / "member.bin")

        def replace(files):
            files[next(n for n in files if n.startswith("layers/"))] = member.read_bytes()

        hf.rewrite_zip(p, replace)
        member.unlink()
        return p
    return make


PROJECT_CASES = [
    ("opacity-nan", lambda p: hf.project_raw_value(p, "opacity", "NaN"), r"layer 'Style': opacity must lie between"),
    ("strength-nan", lambda p: hf.project_raw_value(p, "strength", "NaN"), r"strength must lie between"),
    ("stroke-size-infinity", lambda p: hf.project_raw_value(p, "stroke_size", "Infinity"), r"stroke_size must lie"),
    ("scale-infinity", lambda p: hf.project_raw_value(p, "scale", "Infinity", layer=0), r"scale must lie between"),
    ("weight-1e400", _style_weight(b"1e400"), r"weight must lie between 0 and 1e\+06, got inf"),
    ("opacity-string", _edit(lambda m: m["layers"][-1].__setitem__("opacity", "half")), r"opacity must be a number"),
    ("render-list-not-a-table", _edit(lambda m: m.__setitem__("renders", [])), r"the project file is damaged"),
    ("layers-not-a-list", _edit(lambda m: m.__setitem__("layers", {"a": 1})), r"layer list is damaged"),
    ("canvas-absurd", _edit(lambda m: m["canvas"].__setitem__("width", 10**12)), r"canvas width must lie"),
    ("deep-manifest", lambda p: hf.project_with(p, manifest_raw=b"[" * 100_000 + b"]" * 100_000),
     r"nested implausibly deep"),
    ("postscript-layer", _layer_member(hf.postscript_as_jpg), r"not an image file"),
    ("png16-layer-inflating", _layer_member(hf.png16_inflating, 16), r"refused as a decompression bomb"),
    ("unknown-layer-kind", _edit(lambda m: m["layers"][-1].__setitem__("kind", "\x1b[31mevil")),
     r"unknown layer kind '\[31mevil'"),
    ("missing-member", _edit(lambda m: m["layers"][0].__setitem__("pixels", "layers/none.png")),
     r"layers/none\.png is missing"),
]


@pytest.mark.parametrize("name,make,pattern", PROJECT_CASES, ids=[c[0] for c in PROJECT_CASES])
def test_damaged_projects_are_refused_naming_the_project(name, make, pattern, tmp_path):
    path = make(tmp_path / "shared.sfproj")
    before = snapshot(tmp_path)
    with pytest.raises(BadInputError) as caught:
        load_project(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message and "\x1b" not in message
    assert re.search(pattern, message), message
    assert snapshot(tmp_path) == before


def test_editor_open_and_import_report_problems_and_leave_the_document(qtbot, tmp_path):
    from stylefuse_desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    assert window.open_path(str(hf.photo(tmp_path / "mine.png")))
    doc = window.doc
    hostile = [str(make(tmp_path / f"p{i}.sfproj")) for i, (_, make, _) in enumerate(PROJECT_CASES)]
    hostile += [str(hf.postscript_as_jpg(tmp_path / "evil.jpg")), str(hf.symlink_loop(tmp_path / "loop.png")),
                str(hf.png_header_bomb(tmp_path / "bomb.png")), str(hf.float_tiff_nan(tmp_path / "nan.tif"))]
    for path in hostile:
        window.message_bar.show_text("", False)
        assert not window.open_path(path), path
        text = window.message_bar.label.text()
        assert text and "\n" not in text and "\x1b" not in text and "Traceback" not in text, text
        assert "--max-pixels" not in text  # the editor has no such option
        assert window.doc is doc
    layers = len(doc.layers)
    for path in hostile[-4:]:
        window.open_dropped(path)  # a drop adds photos as layers
        assert len(doc.layers) == layers
    styles = tmp_path / "user-data" / "styles"
    for maker in (hf.style_encrypted, hf.style_deep_manifest, hf.style_nan_embedding, hf.not_a_zip):
        assert not window.import_style(maker(tmp_path / f"{maker.__name__}.sfstyle"))
        assert not styles.exists() or not any(styles.iterdir())
        assert window.message_bar.label.text()


def test_editor_starts_beside_bad_user_styles_and_refuses_a_bad_export_up_front(qtbot, tmp_path):
    from stylefuse_desktop.ui.main_window import MainWindow
    from stylefuse_desktop.ui.style_picker import user_style_refs

    folder = tmp_path / "user-data" / "styles"
    folder.mkdir(parents=True)
    for maker in BAD_USER_STYLES:
        maker(folder / f"{maker.__name__}.sfstyle")
    hf.good_style(folder / "good.sfstyle")
    window = MainWindow()
    qtbot.addWidget(window)
    assert [ref.name for ref in user_style_refs()] == ["Good Style"]
    assert window.open_path(str(hf.photo(tmp_path / "p.png")))
    assert window.export(tmp_path / "missing" / "out.png") is None
    assert "missing does not exist" in window.message_bar.label.text()
    assert not (tmp_path / "missing").exists()


def test_importing_a_style_with_a_taken_name_keeps_both(qtbot, tmp_path):
    from stylefuse_desktop.document.style_file import read_style_file
    from stylefuse_desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    styles = tmp_path / "user-data" / "styles"
    styles.mkdir(parents=True)
    mine = hf.good_style(styles / "watercolour.sfstyle", "Watercolour")
    before = mine.read_bytes()
    (tmp_path / "shared").mkdir()
    theirs = hf.style_bytes_file(tmp_path / "shared" / "watercolour.sfstyle",
                                 hf.style_zip(hf.manifest(name="Watercolour"), hf.embedding(0.3)))
    assert window.import_style(theirs)
    assert mine.read_bytes() == before
    names = sorted(read_style_file(p).name for p in styles.iterdir())
    assert names == ["Watercolour", "Watercolour (2)"]


# -- memory bounded by file size ------------------------------------------------------------------------

def test_editor_messages_never_show_internals():
    from stylefuse_desktop.ui.feedback import user_message

    allocation = RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: "
                              "you tried to allocate 439804651110400 bytes.")
    for exc in (allocation, KeyError("norm.3.gamma"), RuntimeError("Error(s) in loading state_dict: look.head.3")):
        text = user_message(exc, "Painting")
        assert "alloc_cpu" not in text and "norm.3" not in text and "state_dict" not in text and "\n" not in text
        assert text.startswith("Painting")


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
    except BadInputError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def test_memory_stays_bounded_by_file_size_for_bombs(tmp_path):
    from stylefuse_desktop.document.style_file import read_style_file

    manifest_bomb = hf.style_manifest_bomb(tmp_path / "m.sfstyle")  # inflates to 64 MB
    assert _peak_mb(lambda: read_style_file(manifest_bomb)) < 24
    project = _layer_member(hf.png16_inflating, 16)(tmp_path / "p.sfproj")  # would inflate to ~1 GiB
    assert _peak_mb(lambda: load_project(project)) < 24
    header_bomb = hf.png_header_bomb(tmp_path / "b.png")
    assert _peak_mb(lambda: read_image(header_bomb)) < 8


def test_layers_sharing_one_member_cost_it_once(tmp_path):
    """A small project whose many layers all name one large picture."""
    def share(m):
        first = m["layers"][0]
        m["layers"][1:1] = [{**first, "id": f"copy{i}", "name": f"copy {i}"} for i in range(30)]

    path = hf.project_with(tmp_path / "shared.sfproj", share)
    doc, _ = load_project(path)
    photos = [layer for layer in doc.layers if layer.kind == "image"]
    assert len(photos) == 31
    assert len({id(layer.raster) for layer in photos}) == 1


def test_training_skips_strips_without_blowing_up_memory(tmp_path):
    from stylefuse_desktop.training.data import load_folder

    folder = tmp_path / "styles"
    folder.mkdir()
    hf.photo(folder / "good.png", 64, 48)
    for i in range(3):
        hf.photo(folder / f"strip{i}.png", 1000, 1)
    loaded = _peak = None

    def load():
        nonlocal loaded
        loaded = load_folder(folder)

    _peak = _peak_mb(load)
    assert loaded.names == ["good.png"]
    assert len(loaded.skipped) == 3 and all("too small or too narrow" in s for s in loaded.skipped)
    assert _peak < 16


# -- 16-bit PNGs keep their 16 bits ---------------------------------------------------------------------

@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_png_is_read_at_16_bits_with_every_row_filter(channels, tmp_path):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 65536, (13, 11, channels), dtype=np.uint16)
    pixels[..., :3] &= 0xFFFE if channels == 3 else 0xFFFF
    if channels == 4:
        pixels[0, 0, 3] = 1000  # some transparency
    photo = read_image(hf.png16(tmp_path / "deep.png", pixels))
    assert photo.bit_depth == 16
    assert np.array_equal(np.round(photo.rgb * 65535).astype(np.uint16), pixels[..., :3])
    if channels == 4:
        assert np.array_equal(np.round(photo.alpha * 65535).astype(np.uint16), pixels[..., 3])


def test_project_keeps_a_16_bit_rgb_photo_at_16_bits(tmp_path):
    from stylefuse_desktop.document.operations import document_from_photo
    from stylefuse_desktop.document.project import save_project

    pixels = np.random.default_rng(1).integers(0, 65536, (9, 14, 3), dtype=np.uint16)
    doc = document_from_photo(read_image(hf.png16(tmp_path / "deep.png", pixels)), "deep")
    save_project(doc, tmp_path / "deep.sfproj")
    loaded, _ = load_project(tmp_path / "deep.sfproj")
    raster = loaded.layers[0].raster
    assert raster.bit_depth == 16
    assert np.array_equal(raster.data[..., :3], pixels)


# -- writes: atomic in fact, leftovers cleaned -------------------------------------------------------------

def test_stale_temporaries_of_ours_are_cleaned_and_fresh_ones_kept(tmp_path):
    from stylefuse_desktop.document import atomic

    stale, fresh, foreign = tmp_path / ".sftmp-old.png", tmp_path / ".sftmp-new.png", tmp_path / ".other.png"
    for path in (stale, fresh, foreign):
        path.write_bytes(b"x" * 1000)
    old = time.time() - 2 * atomic.STALE_AFTER_S
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    atomic._swept.discard(os.path.abspath(tmp_path))
    write_image(tmp_path / "out.png", Photo(rgb=np.zeros((4, 4, 3), np.float32)))
    assert not stale.exists() and fresh.exists() and foreign.exists()


def test_start_up_cleans_stale_temporaries_in_checkpoint_slots(tmp_path):
    from stylefuse_desktop.document import atomic

    slot = tmp_path / "training" / "my-style" / "a"
    slot.mkdir(parents=True)
    stale = slot / ".sftmp-x.safetensors"
    stale.write_bytes(b"x")
    keep = slot / "tensors.safetensors"
    keep.write_bytes(b"x")
    old = time.time() - 2 * atomic.STALE_AFTER_S
    os.utime(stale, (old, old))
    os.utime(keep, (old, old))
    assert atomic.clean_own_folders([tmp_path]) == 1
    assert not stale.exists() and keep.exists()


def test_huge_exif_is_dropped_when_writing_jpeg(tmp_path):
    photo = read_image(hf.big_exif_png(tmp_path / "exif.png"))
    assert photo.exif and len(photo.exif) > 65_535
    write_image(tmp_path / "out.jpg", photo)
    assert read_image(tmp_path / "out.jpg").size == (32, 24)


def test_non_finite_results_are_never_written(tmp_path):
    rgb = np.zeros((4, 4, 3), np.float32)
    rgb[1, 1] = np.nan
    with pytest.raises(BadInputError, match="invalid numbers"):
        write_image(tmp_path / "out.png", Photo(rgb=rgb))
    assert not any(tmp_path.iterdir())


def _small_tmpfs(path: Path, size_kb: int) -> bool:
    path.mkdir()
    try:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                                capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB tmpfs, nearly filled (skipped where mounting is not allowed)."""
    disk = tmp_path / "disk"
    if not _small_tmpfs(disk, 256):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=10)


def _fill(disk: Path, leave: int) -> None:
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave))


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".webp"])
def test_full_disk_keeps_the_old_file_and_leaves_no_temporary(full_disk, ext, capsys):
    target = full_disk / f"result{ext}"
    target.write_bytes(b"the previous result")
    _fill(full_disk, 8 << 10)
    rng = np.random.default_rng(0)
    with pytest.raises(BadInputError, match="No space left"):
        write_image(target, Photo(rgb=rng.random((200, 200, 3), dtype=np.float32)), quality=100)
    assert target.read_bytes() == b"the previous result"
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", target.name]


def test_full_disk_project_and_style_saves_fail_cleanly(full_disk):
    from stylefuse_desktop.document.operations import document_from_photo
    from stylefuse_desktop.document.project import save_project
    from stylefuse_desktop.document.style_file import StyleFile, write_style_file

    (full_disk / "p.sfproj").write_bytes(b"old project")
    _fill(full_disk, 4 << 10)
    rng = np.random.default_rng(0)
    doc = document_from_photo(Photo(rgb=rng.random((120, 120, 3), dtype=np.float32)), "noise")
    with pytest.raises(BadInputError, match="No space left"):
        save_project(doc, full_disk / "p.sfproj")
    with pytest.raises(BadInputError, match="No space left"):
        write_style_file(full_disk / "s.sfstyle", StyleFile("S", "embedding", {"embedding": rng.random(100).astype(
            np.float32), "decoder.w": rng.random(20000).astype(np.float32)}))
    assert (full_disk / "p.sfproj").read_bytes() == b"old project"
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "p.sfproj"]


def test_cli_render_on_a_full_disk_exits_2_in_one_line(full_disk, tmp_path):
    """Across the process boundary: exit status, one line, the old result kept."""
    source = hf.photo(tmp_path / "p.png", 96, 64)
    target = full_disk / "out.jpg"
    target.write_bytes(b"old")
    _fill(full_disk, 2 << 10)
    result = subprocess.run([sys.executable, "-m", "stylefuse_desktop.cli", "render", str(source), "-o", str(target),
                             "--quality", "100"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result.stderr, r"No space left on device")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "out.jpg"]


def test_weights_cache_on_a_full_disk_is_one_clear_error(full_disk, monkeypatch):
    from stylefuse_desktop.engine import weights

    monkeypatch.setenv("STYLEFUSE_CACHE_DIR", str(full_disk))
    monkeypatch.setattr(weights.locations, "bundled_weights_dir", lambda: full_disk / "none")
    _fill(full_disk, 4 << 10)
    with pytest.raises(BadInputError, match=r"converted weights cannot be written .*No space left"):
        weights.ensure_converted("style_predictor")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "weights"]
    assert not any((full_disk / "weights").iterdir())


def test_postscript_never_reaches_ghostscript(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin

    def ran(*args, **kwargs):
        raise AssertionError("Ghostscript was asked to run a user's file")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ran)
    for name in ("evil.jpg", "evil.eps", "evil.png"):
        with pytest.raises(BadInputError, match="not an image file"):
            read_image(hf.postscript_as_jpg(tmp_path / name))
