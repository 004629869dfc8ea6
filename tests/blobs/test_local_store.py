from __future__ import annotations

import shutil
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl, urlsplit

import pytest

from blobs.errors import (
    BlobNotFoundError,
    BlobUnavailableError,
    InvalidKeyError,
    PartTooLargeError,
    PartTooShortError,
)
from blobs.local import PARTS_PATH, LocalBlobStore
from blobs.signed_urls import TamperedUrlError, UrlSigner


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


def test_listing_is_by_string_prefix_as_on_s3(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    for key in ("videos/v1/a.m4s", "videos/v10/b.m4s", "videos/v2/c.m4s", "uploads/v1"):
        store.put_bytes(key, b"x")
    assert store.list("videos/v1") == ["videos/v1/a.m4s", "videos/v10/b.m4s"]
    assert store.list("videos/v1/") == ["videos/v1/a.m4s"]
    assert store.list("videos/v1/a") == ["videos/v1/a.m4s"]
    assert store.list("") == ["uploads/v1", "videos/v1/a.m4s", "videos/v10/b.m4s", "videos/v2/c.m4s"]
    assert store.list("nothing/") == [] and store.list("nothing") == []
    with pytest.raises(InvalidKeyError):
        store.list("../")


def test_a_failed_write_leaves_the_old_object_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put_bytes("videos/v1/master.m3u8", b"old")
    source = tmp_path / "new"
    source.write_bytes(b"new content" * 1000)

    def half_then_fail(src: BinaryIO, dst: BinaryIO, length: int = 0) -> None:
        dst.write(src.read(100))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", half_then_fail)
    with pytest.raises(BlobUnavailableError, match="No space left"):
        store.put_file("videos/v1/master.m3u8", source)
    assert store.read_bytes("videos/v1/master.m3u8") == b"old"  # readers never saw half of the new one
    assert [p.name for p in (tmp_path / "blobs" / "videos" / "v1").iterdir()] == ["master.m3u8"]


def test_temporary_files_of_a_write_in_progress_are_not_listed(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("videos/v1/seg-1.m4s", b"x")
    (tmp_path / "videos" / "v1" / ".tmp-seg-2.m4s.abc").write_bytes(b"half")
    assert store.list("videos/") == ["videos/v1/seg-1.m4s"]


def _multipart(tmp_path: Path) -> tuple[LocalBlobStore, str]:
    store = LocalBlobStore(tmp_path / "blobs", signer=UrlSigner(b"k" * 32, "http://127.0.0.1:1"))
    return store, store.create_multipart("uploads/v/source", content_type="video/mp4")


def _left_in(store: LocalBlobStore, upload: str) -> list[str]:
    return sorted(p.name for p in (store.root / ".multipart" / upload).iterdir())


def test_a_part_url_is_signed_for_the_parts_length(tmp_path: Path) -> None:
    store, upload = _multipart(tmp_path)
    url = store.part_url("uploads/v/source", upload, 1, size=1234, expires_s=60)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["length"] == "1234"
    assert store.signer is not None
    store.signer.verify("PUT", PARTS_PATH, query)
    with pytest.raises(TamperedUrlError):
        store.signer.verify("PUT", PARTS_PATH, query | {"length": "999999999"})


def test_a_part_is_kept_only_when_it_is_exactly_its_length(tmp_path: Path) -> None:
    store, upload = _multipart(tmp_path)
    with pytest.raises(PartTooLargeError):
        store.write_part("uploads/v/source", upload, 1, [b"x" * 600, b"x" * 600], size=1000)
    assert _left_in(store, upload) == ["upload.json"]  # not the first 600 bytes either
    with pytest.raises(PartTooShortError):
        store.write_part("uploads/v/source", upload, 1, [b"x" * 999], size=1000)
    assert _left_in(store, upload) == ["upload.json"]
    assert store.list_parts("uploads/v/source", upload) == []

    stored = store.write_part("uploads/v/source", upload, 1, [b"x" * 400, b"x" * 600], size=1000)
    assert stored.size == 1000 and store.list_parts("uploads/v/source", upload) == [stored]
