"""Style thumbnails kept on disk: found again for the same style and photo, never for a changed one."""

from __future__ import annotations

import numpy as np

from stylefuse_desktop.document.thumbnail_cache import ThumbnailCache, thumbnail_key


def thumb(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((24, 32, 3)).astype(np.float32)


def test_a_thumbnail_comes_back_for_the_same_style_and_photo(tmp_path):
    cache = ThumbnailCache(tmp_path)
    photo = thumb(1)
    key = thumbnail_key("builtin:Fiesta", photo)
    assert cache.get(key) is None
    cache.put(key, thumb(2))
    again = ThumbnailCache(tmp_path).get(thumbnail_key("builtin:Fiesta", photo.copy()))  # the next start
    assert again is not None and np.abs(again - thumb(2)).max() <= 1 / 255


def test_a_changed_style_photo_or_setting_is_a_different_thumbnail():
    photo = thumb(1)
    key = thumbnail_key("user:0123456789abcdef", photo)
    assert thumbnail_key("user:fedcba9876543210", photo) != key  # the style's content changed
    edited = photo.copy()
    edited[0, 0] = 1 - edited[0, 0]
    assert thumbnail_key("user:0123456789abcdef", edited) != key
    assert thumbnail_key("user:0123456789abcdef", photo, "strength 0.5") != key


def test_a_damaged_thumbnail_is_missing_not_an_error(tmp_path):
    cache = ThumbnailCache(tmp_path)
    key = thumbnail_key("builtin:Fiesta", thumb(1))
    (tmp_path / f"{key}.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert cache.get(key) is None
    assert not (tmp_path / f"{key}.png").exists()


def test_the_cache_keeps_the_newest_thumbnails(tmp_path):
    import os

    cache = ThumbnailCache(tmp_path, max_files=3)
    keys = [thumbnail_key(f"builtin:{i}", thumb(0)) for i in range(5)]
    for i, key in enumerate(keys):
        cache.put(key, thumb(i))
        os.utime(tmp_path / f"{key}.png", (1000 + i, 1000 + i))
    assert [cache.get(k) is not None for k in keys] == [False, False, True, True, True]


def test_an_unwritable_cache_is_only_logged(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    ThumbnailCache(blocker / "thumbnails").put("k", thumb(0))  # its folder cannot exist


def test_writing_a_thumbnail_does_not_list_the_cache_folder_each_time(tmp_path, monkeypatch):
    """``put`` listed (and stat'ed) every file of the cache folder on every write: 4000 files per thumbnail."""
    from pathlib import Path

    listings = []
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pattern: listings.append(self) or real_glob(self, pattern))
    cache = ThumbnailCache(tmp_path, max_files=100)
    keys = [thumbnail_key(f"builtin:{i}", thumb(0)) for i in range(30)]
    for key in keys:
        ThumbnailCache(tmp_path, max_files=100).put(key, thumb(0))  # a paint job makes one cache per thumbnail
    cache.put(keys[0], thumb(1))  # the same thumbnail again: no new file
    assert len(listings) <= 1  # counted once, then kept by the writes
    assert all(cache.get(k) is not None for k in keys)
