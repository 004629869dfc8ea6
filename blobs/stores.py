"""Open the blob store a URL names: ``file:///abs/dir`` (embedded) or ``s3://bucket`` (MinIO, AWS)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from blobs.local import LocalBlobStore
from blobs.multipart import MultipartBlobStore
from blobs.s3 import S3BlobStore
from blobs.signed_urls import UrlSigner

__all__ = ["open_blob_store"]


def open_blob_store(
    url: str,
    *,
    signer: UrlSigner | None = None,
    s3_access_key: str | None = None,
    s3_secret_key: str | None = None,
) -> MultipartBlobStore:
    """``s3://bucket?endpoint=http://127.0.0.1:9000&public_endpoint=...&region=...``."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise ValueError(f"blob URL {url!r}: expected file:///absolute/folder")
        return LocalBlobStore(Path(parts.path), signer=signer)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"blob URL {url!r}: expected s3://bucket?endpoint=...")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        store = S3BlobStore(
            bucket=parts.netloc,
            endpoint=query.get("endpoint"),
            public_endpoint=query.get("public_endpoint"),
            region=query.get("region", "us-east-1"),
            access_key=s3_access_key,
            secret_key=s3_secret_key,
        )
        store.ensure_bucket()
        return store
    raise ValueError(f"blob URL {url!r}: unsupported scheme {parts.scheme!r}; supported: file://, s3://")
