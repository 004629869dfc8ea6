from __future__ import annotations

from pathlib import Path

import pytest

from blobs.errors import BlobNotFoundError, InvalidKeyError
from blobs.local import LocalBlobStore


def test_put_get_list_delete(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put_bytes("videos/v1/j1/master.m3u8", b"#EXTM3U\n")
    source = tmp_path / "seg.m4s"
    source.write_bytes(b"\x00" * 1000)
    store.put_file("videos/v1/j1/seg-0-00001.m4s", source)

    assert store.read_bytes("videos/v1/j1/master.m3u8") == b"#EXTM3U\n"
    assert store.list("videos/v1/") == ["videos/v1/j1/master.m3u8", "videos/v1/j1/seg-0-00001.m4s"]
    copy = tmp_path / "copy"
    store.get_to_file("videos/v1/j1/seg-0-00001.m4s", copy)
    assert copy.read_bytes() == b"\x00" * 1000

    store.put_bytes("videos/v1/j1/master.m3u8", b"replaced")  # overwrite, no second copy
    assert store.read_bytes("videos/v1/j1/master.m3u8") == b"replaced"
    assert len(store.list("videos/v1/j1/")) == 2
    store.delete("videos/v1/j1/master.m3u8")
    assert not store.exists("videos/v1/j1/master.m3u8")


def test_a_missing_blob_is_a_typed_error(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobNotFoundError):
        store.read_bytes("nope")
    with pytest.raises(BlobNotFoundError):
        store.get_to_file("nope", tmp_path / "x")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/key", "a/../../b", "", "a//b", "a\\b"])
def test_keys_that_could_escape_the_store_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        LocalBlobStore(tmp_path).put_bytes(key, b"x")
