"""The blob store contract shared by the transcoder, the upload service and the media server.

Small on purpose: whole files in and out, listing by prefix, deletion. Keys
are POSIX-style relative paths (``videos/v1/j1/master.m3u8``); a store
refuses keys that could escape it. The local filesystem implements it now;
S3 (MinIO) implements the same contract when the upload service lands.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Protocol

from blobs.errors import InvalidKeyError

__all__ = ["BlobStore", "check_key"]


class BlobStore(Protocol):
    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        """Store a file under ``key``, replacing what was there; readers never see half of it."""

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None: ...

    def get_to_file(self, key: str, path: Path) -> None:
        """Copy the object to a local file; ``BlobNotFoundError`` if there is none."""

    def read_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix``, sorted."""

    def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    """The key, if it is a clean relative path; ``InvalidKeyError`` otherwise."""
    path = PurePosixPath(key)
    hidden = any(part.startswith(".") for part in path.parts)  # ".." and the store's own ".multipart"
    if not key or path.is_absolute() or hidden or "\\" in key or str(path) != key:
        raise InvalidKeyError(f"blob key {key!r} must be a clean relative path like videos/v1/master.m3u8")
    return key
