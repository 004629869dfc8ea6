"""Errors of the blob stores.

    BlobError
    ├── BlobNotFoundError   no object under that key
    ├── InvalidKeyError     a key that could escape the store (``..``, absolute)
    └── BlobUnavailableError the store cannot be reached or written

Filesystem and boto3 errors are translated into these at the store's edge.
"""

from __future__ import annotations

__all__ = ["BlobError", "BlobNotFoundError", "BlobUnavailableError", "InvalidKeyError"]


class BlobError(Exception):
    """Base of every error raised by ``blobs``."""


class BlobNotFoundError(BlobError):
    pass


class InvalidKeyError(BlobError):
    pass


class BlobUnavailableError(BlobError):
    pass
