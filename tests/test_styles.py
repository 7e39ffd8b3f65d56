"""The style catalogue and the .sfstyle file."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from stylefuse_desktop import locations
from stylefuse_desktop.document.style_file import (
    STYLE_FORMAT_VERSION,
    StyleFile,
    read_style_file,
    style_from_bytes,
    style_to_bytes,
    write_style_file,
)
from stylefuse_desktop.engine.styles import BUILTIN, USER, builtin_styles, resolve_style, split_weight, user_styles
from stylefuse_desktop.errors import BadInputError


def test_26_builtins_with_unique_names_in_stable_order():
    styles = builtin_styles()
    assert [s.index for s in styles] == list(range(26))
    assert len({s.slug for s in styles}) == 26
    assert styles[0].name == "Golden Haze"


def test_builtin_names_resolve_loosely():
    for text in ("Cobalt Strokes", "cobalt-strokes", "COBALT_STROKES"):
        source = resolve_style(text)
        assert source.kind == BUILTIN and source.builtin_index == 19


def test_weight_suffix_parsing():
    assert split_weight("Fiesta:0.3") == ("Fiesta", 0.3)
    assert split_weight("Fiesta") == ("Fiesta", 1.0)
    assert split_weight("C:\\art\\p.jpg") == ("C:\\art\\p.jpg", 1.0)
    assert split_weight("p.jpg:2") == ("p.jpg", 2.0)
    with pytest.raises(BadInputError):
        split_weight("Fiesta:-1")


def embedding_style(name="Mine", value=0.5, **extra) -> StyleFile:
    return StyleFile(name, "embedding", {"embedding": np.full(100, value, np.float32)}, **extra)


def test_sfstyle_round_trip_keeps_everything(tmp_path):
    original = embedding_style(info={"metrics": {"swd": 0.12}}, preview_png=b"\x89PNG fake")
    path = write_style_file(tmp_path / "mine.sfstyle", original)
    back = read_style_file(path)
    assert back.name == "Mine" and back.kind == "embedding"
    assert np.array_equal(back.embedding, original.embedding)
    assert back.info == {"metrics": {"swd": 0.12}} and back.preview_png == b"\x89PNG fake"
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["format_version"] == STYLE_FORMAT_VERSION
        assert not any(n.endswith((".pkl", ".pt", ".pth")) for n in zf.namelist())


def _rewrite_manifest(data: bytes, **changes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in source.namelist():
            content = source.read(name)
            if name == "manifest.json":
                manifest = json.loads(content)
                manifest.update(changes)
                content = json.dumps(manifest).encode()
            zf.writestr(name, content)
    return out.getvalue()


def test_newer_format_version_is_refused_with_a_clear_message():
    data = _rewrite_manifest(style_to_bytes(embedding_style()), format_version=STYLE_FORMAT_VERSION + 1)
    with pytest.raises(BadInputError, match="newer than this StyleFuse reads"):
        style_from_bytes(data, "x.sfstyle")


@pytest.mark.parametrize("damage", ["truncate", "not-zip", "bad-kind", "no-tensor"])
def test_damaged_style_files_are_refused(damage):
    data = style_to_bytes(embedding_style())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "not-zip":
        data = b"hello"
    elif damage == "bad-kind":
        data = _rewrite_manifest(data, kind="hologram")
    else:
        data = _rewrite_manifest(data, kind="embedding", tensors="missing")
        data = _drop_member(data, "tensors.safetensors")
    with pytest.raises(BadInputError):
        style_from_bytes(data, "x.sfstyle")


def _drop_member(data: bytes, member: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in source.namelist():
            if name != member:
                zf.writestr(name, source.read(name))
    return out.getvalue()


def test_user_styles_are_found_by_name_in_the_user_folder():
    write_style_file(locations.user_styles_dir() / "watercolour.sfstyle", embedding_style("My Watercolour"))
    (locations.user_styles_dir() / "broken.sfstyle").write_bytes(b"junk")
    assert [s.label for s in user_styles()] == ["My Watercolour"]
    source = resolve_style("my watercolour")
    assert source.kind == USER and source.style_file.embedding[0] == 0.5


def test_every_stored_style_kind_maps_to_a_source_that_can_paint(tmp_path):
    """A picture's style kept as .sfstyle data reached the engine as an image style without pictures."""
    from stylefuse_desktop.document.layers import StyleRef
    from stylefuse_desktop.document.style_catalogue import StyleKind
    from stylefuse_desktop.document.style_file import StyleFile, style_to_bytes
    from stylefuse_desktop.engine.styles import StyleSource, source_of

    embedding = np.linspace(-1, 1, 100, dtype=np.float32)
    data = style_to_bytes(StyleFile("Pic", "embedding", {"embedding": embedding}))
    for kind in (StyleKind.USER, StyleKind.IMAGE):
        source = source_of(StyleRef(kind, "Pic", data))
        assert source.kind == kind and source.style_file is not None
        assert np.array_equal(source.style_file.embedding, embedding)
    with pytest.raises(BadInputError):
        StyleSource(kind=StyleKind.IMAGE, label="nothing")


def test_the_cli_and_the_picker_list_the_same_stored_styles(capsys):
    """The picker read the image-styles folder, the CLI did not: a picture's style made in the editor
    was unknown to ``stylefuse styles`` and ``--style NAME``."""
    pytest.importorskip("pytestqt")
    from stylefuse_desktop.cli import main
    from stylefuse_desktop.document.style_catalogue import image_styles_dir
    from stylefuse_desktop.ui.style_picker import user_style_refs

    write_style_file(image_styles_dir() / "abc.sfstyle",
                     StyleFile("Harbour", "embedding", {"embedding": np.zeros(100, np.float32)}))
    write_style_file(locations.user_styles_dir() / "z.sfstyle",
                     StyleFile("Zebra Ink", "embedding", {"embedding": np.zeros(100, np.float32)}))
    assert main(["styles", "--json"]) == 0
    listed = [(r["kind"], r["name"]) for r in json.loads(capsys.readouterr().out) if r["kind"] != "builtin"]
    assert listed == [("user", "Zebra Ink"), ("image", "Harbour")]
    assert [(str(r.kind), r.name) for r in user_style_refs()] == listed
    assert resolve_style("harbour").style_file.name == "Harbour"


def test_a_catalogue_scan_reads_each_style_file_once_and_again_only_when_it_changes(monkeypatch):
    """The picker scanned every .sfstyle on each new document and then read each file a second time
    for its bytes."""
    from pathlib import Path

    from stylefuse_desktop.document.style_catalogue import stored_styles

    paths = [write_style_file(locations.user_styles_dir() / f"{name}.sfstyle",
                              StyleFile(name, "embedding", {"embedding": np.full(100, i, np.float32)}))
             for i, name in enumerate(("Amber", "Birch"))]
    contents = [p.read_bytes() for p in paths]
    reads = []
    real_read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real_read(self))
    first = stored_styles()
    assert [s.name for s in first] == ["Amber", "Birch"] and sorted(reads) == sorted(paths)  # once each
    assert [s.data for s in first] == contents  # the bytes a document keeps, from that one read
    again = stored_styles()  # the next document: nothing changed, nothing read
    assert len(reads) == 2 and [s.data for s in again] == contents

    write_style_file(paths[1], StyleFile("Birch Bark", "embedding", {"embedding": np.ones(100, np.float32)}))
    assert [s.name for s in stored_styles()] == ["Amber", "Birch Bark"]
    assert reads[2:] == [paths[1]]  # only the changed file is read again
    paths[0].unlink()
    assert [s.name for s in stored_styles()] == ["Birch Bark"]
