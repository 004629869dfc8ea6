"""Errors of the blob stores.

    BlobError
    ├── BlobNotFoundError   no object under that key
    ├── InvalidKeyError     a key that could escape the store (``..``, absolute)
    ├── PartSizeError       a multipart part's body is not the length its URL was signed for
    │   ├── PartTooLargeError   more bytes than that: refused as they arrive, nothing kept
    │   └── PartTooShortError   fewer: refused at the end, nothing kept
    └── BlobUnavailableError the store cannot be reached or written

Filesystem and boto3 errors are translated into these at the store's edge.
"""

from __future__ import annotations

__all__ = [
    "BlobError",
    "BlobNotFoundError",
    "BlobUnavailableError",
    "InvalidKeyError",
    "PartSizeError",
    "PartTooLargeError",
    "PartTooShortError",
]


class BlobError(Exception):
    """Base of every error raised by ``blobs``."""


class BlobNotFoundError(BlobError):
    pass


class InvalidKeyError(BlobError):
    pass


class BlobUnavailableError(BlobError):
    pass


class PartSizeError(BlobError):
    pass


class PartTooLargeError(PartSizeError):
    pass


class PartTooShortError(PartSizeError):
    pass
