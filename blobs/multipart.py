"""Multipart uploads straight to storage: the part of the blob contract the upload service needs.

The client never streams media through our services: it PUTs each part to a
pre-signed URL (S3's, or for the local store our own HMAC-signed one with
the same protocol: PUT the bytes, get an ``ETag`` back), asks which parts
are stored to resume, and the service completes the upload. A part URL is
signed for the part's exact length, so storage refuses any other body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from blobs.store import BlobStore

__all__ = ["MultipartBlobStore", "StoredPart"]


@dataclass(frozen=True)
class StoredPart:
    number: int  # 1-based, as in S3
    size: int
    etag: str


class MultipartBlobStore(BlobStore, Protocol):
    def create_multipart(self, key: str, *, content_type: str) -> str:
        """Start an upload of ``key``; returns the storage's upload id."""

    def part_url(self, key: str, upload_id: str, part_number: int, *, size: int, expires_s: int) -> str:
        """A URL to PUT part ``part_number`` to: exactly ``size`` bytes, within ``expires_s`` seconds."""

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]: ...

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[StoredPart]) -> None: ...

    def abort_multipart(self, key: str, upload_id: str) -> None: ...

    def get_url(self, key: str, *, expires_s: int) -> str:
        """A URL that reads the object (with HTTP range requests), valid for ``expires_s`` seconds."""

    def size_of(self, key: str) -> int: ...

    def open_uploads(self, *, started_before: datetime) -> list[tuple[str, str]]:
        """(key, upload id) of multipart uploads started before that time and never finished."""
