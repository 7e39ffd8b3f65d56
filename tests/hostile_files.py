"""Makers of hostile and careless files for tests/test_hostile.py (generated here, nothing downloaded).

Each maker writes into a folder and returns the path it made.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin
from safetensors.numpy import save as save_tensors

from stylefuse_desktop.document.style_file import STYLE_FORMAT, STYLE_FORMAT_VERSION, StyleFile, style_to_bytes


def photo(path: Path, width: int = 40, height: int = 30, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x / width, y / height, 0.5 + 0.5 * np.sin((x + y) / 5)], axis=2) * 0.8 + rng.random((height, width, 3)) * 0.2
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def postscript_as_jpg(path: Path) -> Path:
    """PostScript named .jpg: Pillow would hand it to Ghostscript, which runs it (this one loops)."""
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n{ } loop\nshowpage\n")
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_bomb(path: Path, width: int = 60_000, height: int = 60_000, depth: int = 8, colour: int = 2) -> Path:
    """A tiny PNG whose header claims an enormous image."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + _chunk(b"IEND", b""))
    return path


def png16_inflating(path: Path) -> Path:
    """A 16-bit RGBA PNG under the pixel limit that would inflate to ~1 GiB from a few bytes."""
    return png_header_bomb(path, 11_585, 11_585, depth=16, colour=6)


def png_text_bomb(path: Path) -> Path:
    """A PNG whose compressed text chunk inflates far beyond any real metadata."""
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 4_000_000, zip=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, pnginfo=info)
    return path


def truncated_jpeg(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    return path


def float_tiff_nan(path: Path) -> Path:
    values = np.full((16, 16), 0.5, np.float32)
    values[3, 3] = np.nan
    values[4, 4] = np.inf
    Image.fromarray(values, "F").save(path)
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def symlink_loop(path: Path) -> Path:
    other = path.with_name(path.name + "-other")
    path.symlink_to(other)
    other.symlink_to(path)
    return path


def big_exif_png(path: Path) -> Path:
    exif = Image.Exif()
    exif[0x010E] = "x" * 100_000  # ImageDescription: 100 KB, more than a JPEG segment holds
    Image.fromarray(np.full((24, 32, 3), 90, np.uint8)).save(path, exif=exif)
    return path


def png16(path: Path, pixels: np.ndarray, filters: tuple[int, ...] = (0, 1, 2, 3, 4)) -> Path:
    """A 16-bit grey/RGB/RGBA PNG written with every row filter in turn (as other programs write them)."""
    height, width, channels = pixels.shape
    bpp = channels * 2
    raw = np.ascontiguousarray(pixels.astype(">u2")).view(np.uint8).reshape(height, width * bpp).astype(np.int32)
    rows = []
    for y in range(height):
        f = filters[y % len(filters)]
        cur = raw[y]
        up = raw[y - 1] if y else np.zeros_like(cur)
        left = np.concatenate([np.zeros(bpp, np.int32), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), up[:-bpp]])
        if f == 0:
            out = cur
        elif f == 1:
            out = cur - left
        elif f == 2:
            out = cur - up
        elif f == 3:
            out = cur - (left + up) // 2
        else:
            p = left + up - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
            predictor = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
            out = cur - predictor
        rows.append(bytes([f]) + (out % 256).astype(np.uint8).tobytes())
    colour = {1: 0, 3: 2, 4: 6}[channels]
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
                     + _chunk(b"IEND", b""))
    return path


# -- style files -------------------------------------------------------------------------------------

def style_zip(manifest: dict | bytes, tensors: dict[str, np.ndarray] | None, method: int = zipfile.ZIP_DEFLATED,
              encrypted: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        info = zipfile.ZipInfo("manifest.json")
        info.compress_type = method
        zf.writestr(info, data)
        if tensors is not None:
            zf.writestr("tensors.safetensors", save_tensors(tensors))
    return _patch_headers(buffer.getvalue(), flags=0x1) if encrypted else buffer.getvalue()


def _patch_headers(data: bytes, method: int | None = None, flags: int | None = None) -> bytes:
    """Rewrite every member's compression method or general-purpose flags in a zip's headers
    (zipfile itself will not write encrypted or deflate64 members)."""
    out = bytearray(data)
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = 0
        while (i := out.find(signature, start)) >= 0:
            if method is not None:
                out[i + method_at : i + method_at + 2] = struct.pack("<H", method)
            if flags is not None:
                flag = struct.unpack("<H", out[i + flag_at : i + flag_at + 2])[0] | flags
                out[i + flag_at : i + flag_at + 2] = struct.pack("<H", flag)
            start = i + 4
    return bytes(out)


def manifest(name: str = "Hostile", kind: str = "embedding", **extra) -> dict:
    return {"format": STYLE_FORMAT, "format_version": STYLE_FORMAT_VERSION, "kind": kind, "name": name,
            "tensors": "tensors.safetensors", "preview": None, "info": extra.pop("info", {}), **extra}


def embedding(value: float = 0.1) -> dict[str, np.ndarray]:
    return {"embedding": np.full(100, value, np.float32)}


def good_style(path: Path, name: str = "Good Style") -> Path:
    path.write_bytes(style_to_bytes(StyleFile(name, "embedding", embedding())))
    return path


def style_bytes_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def with_method(data: bytes, method: int) -> bytes:
    """Every member's compression method rewritten (deflate64 = 9, an unknown one = 99)."""
    return _patch_headers(data, method=method)


def style_encrypted(path: Path) -> Path:
    return style_bytes_file(path, style_zip(manifest(), embedding(), encrypted=True))


def style_deflate64(path: Path) -> Path:
    return style_bytes_file(path, with_method(style_zip(manifest(), embedding(), zipfile.ZIP_STORED), 9))


def style_deep_manifest(path: Path) -> Path:
    return style_bytes_file(path, style_zip(b"[" * 200_000 + b"]" * 200_000, embedding()))


def style_manifest_bomb(path: Path) -> Path:
    """A manifest that inflates to 64 MB from 64 KB (1 GiB works the same, only slower to make)."""
    size = 64 << 20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(b" " * size) + compressor.flush()
    return style_bytes_file(path, _zip_with_raw_member("manifest.json", deflated, size, zlib.crc32(b" " * size)))


def _zip_with_raw_member(name: str, deflated: bytes, size: int, crc: int) -> bytes:
    """A one-member zip whose member is the given raw deflate stream (built by hand: zipfile would
    compress it again)."""
    encoded = name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(deflated), size, len(encoded), 0)
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(deflated), size,
                          len(encoded), 0, 0, 0, 0, 0, 0)
    body = local + encoded + deflated
    directory = central + encoded
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(body), 0)
    return body + directory + end


def style_nan_embedding(path: Path) -> Path:
    return style_bytes_file(path, style_zip(manifest(), embedding(float("nan"))))


def style_huge_embedding(path: Path) -> Path:
    return style_bytes_file(path, style_zip(manifest(), embedding(1e30)))


def style_mis_shaped_norms(path: Path) -> Path:
    tensors = {**embedding(), "norm.0.gamma": np.ones(3, np.float32), "norm.1.beta": np.ones(5, np.float32)}
    return style_bytes_file(path, style_zip(manifest(), tensors))


def style_look_absurd_width(path: Path) -> Path:
    tensors = {"look.head.3.weight": np.zeros((3, 32, 1, 1), np.float32)}
    return style_bytes_file(path, style_zip(manifest(kind="look", info={"architecture": {"width": 10**9}}), tensors))


def style_look_wrong_type(path: Path) -> Path:
    tensors = {"look.head.3.weight": np.zeros((3, 32, 1, 1), np.float32)}
    return style_bytes_file(path, style_zip(manifest(kind="look", info={"architecture": {"width": "wide"}}), tensors))


def style_escape_name(path: Path) -> Path:
    return style_bytes_file(path, style_zip(manifest(name="Evil\x1b[2J\x1b]0;pwned\x07\nName"), embedding()))


def not_a_zip(path: Path) -> Path:
    path.write_bytes(b"this is not a zip file at all")
    return path


# -- projects ----------------------------------------------------------------------------------------

def project_with(path: Path, edit=None, extra_files: dict[str, bytes] | None = None, manifest_raw: bytes | None = None
                 ) -> Path:
    """A valid small project (a photo and a style layer) whose manifest ``edit`` then damages."""
    from stylefuse_desktop.document.image_io import read_image
    from stylefuse_desktop.document.layers import StyleEntry, StyleLayer, StyleRef
    from stylefuse_desktop.document.operations import document_from_photo
    from stylefuse_desktop.document.project import project_bytes

    source = photo(path.with_suffix(".src.png"), 24, 16)
    doc = document_from_photo(read_image(source), "photo")
    source.unlink()
    doc.add_layer(StyleLayer(name="Style", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),)))
    data = project_bytes(doc)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest_json = json.loads(files["manifest.json"])
    if edit is not None:
        edit(manifest_json)
    files["manifest.json"] = manifest_raw if manifest_raw is not None else json.dumps(manifest_json).encode()
    files.update(extra_files or {})
    _write_zip(path, files)
    return path


def _write_zip(path: Path, files: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    path.write_bytes(buffer.getvalue())


def rewrite_zip(path: Path, change) -> Path:
    """Apply ``change(files)`` to the members of the zip at ``path`` (a dict of name -> bytes) and write it back."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    change(files)
    _write_zip(path, files)
    return path


def project_raw_value(path: Path, key: str, raw: str, layer: int = -1) -> Path:
    """Like ``project_with`` but the value is written as raw JSON text (NaN, Infinity, 1e400)."""
    def edit(m: dict) -> None:
        m["layers"][layer][key] = "@@VALUE@@"

    project_with(path, edit)

    def to_raw(files: dict[str, bytes]) -> None:
        files["manifest.json"] = files["manifest.json"].replace(b'"@@VALUE@@"', raw.encode())

    return rewrite_zip(path, to_raw)
