"""The S3 blob store (MinIO beyond one machine, or AWS), through boto3.

Pre-signed URLs are signed for the host the *client* will use
(``public_endpoint``), which may differ from the one the services reach
(``endpoint``), since a signature covers the host. boto3 and botocore
errors are translated into ``blobs.errors`` here.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.client import Config
from botocore.exceptions import BotoCoreError, ClientError

from blobs.errors import BlobNotFoundError, BlobUnavailableError
from blobs.multipart import StoredPart
from blobs.store import check_key

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = ["S3BlobStore"]

_NOT_FOUND = {"NoSuchKey", "NoSuchUpload", "404", "NotFound"}


class S3BlobStore:
    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str | None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        public_endpoint: str | None = None,
    ) -> None:
        self.bucket = bucket
        config = Config(
            signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 5}
        )
        common: dict[str, Any] = {
            "region_name": region,
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
            "config": config,
        }
        self._s3: S3Client = boto3.client("s3", endpoint_url=endpoint, **common)
        self._signing: S3Client = boto3.client("s3", endpoint_url=public_endpoint or endpoint, **common)

    def ensure_bucket(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            with _translated(f"creating bucket {self.bucket}"):
                self._s3.create_bucket(Bucket=self.bucket)

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        with _translated(f"writing {key}"):
            self._s3.upload_file(str(path), self.bucket, check_key(key), ExtraArgs=extra or None)

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        with _translated(f"writing {key}"):
            if content_type:
                self._s3.put_object(
                    Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type
                )
            else:
                self._s3.put_object(Bucket=self.bucket, Key=check_key(key), Body=data)

    def get_to_file(self, key: str, path: Path) -> None:
        with _translated(f"reading {key}"):
            self._s3.download_file(self.bucket, check_key(key), str(path))

    def read_bytes(self, key: str) -> bytes:
        with _translated(f"reading {key}"):
            body: bytes = self._s3.get_object(Bucket=self.bucket, Key=check_key(key))["Body"].read()
            return body

    def exists(self, key: str) -> bool:
        try:
            self.size_of(key)
        except BlobNotFoundError:
            return False
        return True

    def size_of(self, key: str) -> int:
        with _translated(f"reading {key}"):
            return int(self._s3.head_object(Bucket=self.bucket, Key=check_key(key))["ContentLength"])

    def list(self, prefix: str) -> builtins.list[str]:
        keys: builtins.list[str] = []
        with _translated(f"listing {prefix}"):
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys += [o["Key"] for o in page.get("Contents", [])]
        return sorted(keys)

    def delete(self, key: str) -> None:
        with _translated(f"deleting {key}"):
            self._s3.delete_object(Bucket=self.bucket, Key=check_key(key))

    def create_multipart(self, key: str, *, content_type: str) -> str:
        with _translated(f"starting an upload of {key}"):
            made = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=check_key(key), ContentType=content_type
            )
            return made["UploadId"]

    def part_url(self, key: str, upload_id: str, part_number: int, *, size: int, expires_s: int) -> str:
        """Content-Length is one of the signed headers: S3 refuses a body of any other length (403)."""
        params = {
            "Bucket": self.bucket,
            "Key": check_key(key),
            "UploadId": upload_id,
            "PartNumber": part_number,
            "ContentLength": size,
        }
        return self._signing.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_s)

    def list_parts(self, key: str, upload_id: str) -> builtins.list[StoredPart]:
        parts: builtins.list[StoredPart] = []
        with _translated(f"listing the parts of {key}"):
            paginator = self._s3.get_paginator("list_parts")
            for page in paginator.paginate(Bucket=self.bucket, Key=check_key(key), UploadId=upload_id):
                parts += [StoredPart(p["PartNumber"], p["Size"], p["ETag"]) for p in page.get("Parts", [])]
        return parts

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[StoredPart]) -> None:
        listed: builtins.list[CompletedPartTypeDef] = [
            {"PartNumber": p.number, "ETag": p.etag} for p in sorted(parts, key=lambda p: p.number)
        ]
        with _translated(f"completing the upload of {key}"):
            self._s3.complete_multipart_upload(
                Bucket=self.bucket, Key=check_key(key), UploadId=upload_id, MultipartUpload={"Parts": listed}
            )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        with _translated(f"aborting the upload of {key}"):
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=check_key(key), UploadId=upload_id)

    def open_uploads(self, *, started_before: datetime) -> builtins.list[tuple[str, str]]:
        found: builtins.list[tuple[str, str]] = []
        with _translated("listing open uploads"):
            for page in self._s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < started_before:
                        found.append((upload["Key"], upload["UploadId"]))
        return found

    def get_url(self, key: str, *, expires_s: int) -> str:
        params = {"Bucket": self.bucket, "Key": check_key(key)}
        return self._signing.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)


class _translated:
    """``with _translated("doing x"):`` turns boto errors into ``blobs.errors``."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND:
                raise BlobNotFoundError(f"{self.what}: {code}") from exc
            raise BlobUnavailableError(f"{self.what}: {exc}") from exc
        if isinstance(exc, BotoCoreError):
            raise BlobUnavailableError(f"{self.what}: {exc}") from exc
