"""The blob store the settings name, opened the same way by every command that needs one."""

from __future__ import annotations

from blobs.multipart import MultipartBlobStore
from blobs.signed_urls import UrlSigner
from blobs.stores import open_blob_store
from deploy.secrets import local_secret
from deploy.settings import Settings

__all__ = ["blob_store_for"]


def blob_store_for(settings: Settings) -> MultipartBlobStore:
    """The local store signs its URLs for the upload service, which serves them."""
    secret = local_secret(settings.home, "blob-urls").encode()
    url = settings.blob_url or f"file://{settings.blobs_root}"
    return open_blob_store(
        url,
        signer=UrlSigner(secret, settings.upload_service_url),
        s3_access_key=settings.s3_access_key,
        s3_secret_key=settings.s3_secret_key,
    )
