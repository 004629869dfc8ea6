"""The embedded blob store: a folder on the local filesystem.

Writes go to a temporary file in the destination folder and are renamed
into place, so a reader (the media server, a player) sees the old object or
the new one, never a partial file. Multipart uploads keep their parts under
``.multipart/<upload id>/`` until completed; their pre-signed URLs point at
the upload service's own endpoints, signed with HMAC (``signed_urls``) over
the part's length too: a part writer refuses a byte past it, and a body that
ends short of it, and keeps nothing of either.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from blobs.errors import (
    BlobNotFoundError,
    BlobUnavailableError,
    InvalidKeyError,
    PartTooLargeError,
    PartTooShortError,
)
from blobs.multipart import StoredPart
from blobs.signed_urls import UrlSigner
from blobs.store import check_key

__all__ = ["OBJECTS_PATH", "PARTS_PATH", "LocalBlobStore"]


PARTS_PATH = "/v1/blobs/parts"
OBJECTS_PATH = "/v1/blobs/objects"


class LocalBlobStore:
    def __init__(self, root: Path, *, signer: UrlSigner | None = None) -> None:
        """``signer`` (with the upload service's public URL) is needed only for pre-signed URLs."""
        self.signer = signer
        self.root = root.resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BlobUnavailableError(f"cannot create the blob folder {self.root}: {exc}") from exc

    def path_of(self, key: str) -> Path:
        """The file of ``key``; ``InvalidKeyError`` if it (or a symlink on its way) leads out of the root."""
        path = self.root / check_key(key)
        if not path.resolve().is_relative_to(self.root):
            raise InvalidKeyError(f"key {key!r} leads outside the blob store")
        return path

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        with path.open("rb") as source:
            self._write(key, lambda out: shutil.copyfileobj(source, out, 1024 * 1024))

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        self._write(key, lambda out: out.write(data))

    def get_to_file(self, key: str, path: Path) -> None:
        source = self.path_of(key)
        try:
            shutil.copyfile(source, path)
        except FileNotFoundError:
            raise BlobNotFoundError(f"no blob {key!r}") from None
        except OSError as exc:
            raise BlobUnavailableError(f"reading blob {key!r}: {exc}") from exc

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.path_of(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(f"no blob {key!r}") from None
        except OSError as exc:
            raise BlobUnavailableError(f"reading blob {key!r}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def list(self, prefix: str) -> list[str]:
        """Keys that start with ``prefix`` as a string, as S3 lists them (``v1`` finds ``v10/...`` too)."""
        if PurePosixPath(prefix).is_absolute() or ".." in prefix.split("/") or "\\" in prefix:
            raise InvalidKeyError(f"blob prefix {prefix!r} must be a clean relative path")
        folder = self.root / prefix if prefix.endswith("/") or not prefix else (self.root / prefix).parent
        if not folder.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not _hidden(k))

    def delete(self, key: str) -> None:
        try:
            self.path_of(key).unlink(missing_ok=True)
        except OSError as exc:
            raise BlobUnavailableError(f"deleting blob {key!r}: {exc}") from exc

    def _write(self, key: str, fill: Callable[[BinaryIO], object]) -> None:
        target = self.path_of(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".tmp-{target.name}.")
            try:
                with os.fdopen(fd, "wb") as out:
                    fill(out)
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise BlobUnavailableError(f"writing blob {key!r}: {exc}") from exc

    # -- multipart ---------------------------------------------------------------------------

    def _upload_dir(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise InvalidKeyError(f"not an upload id: {upload_id!r}")
        return self.root / ".multipart" / upload_id

    def create_multipart(self, key: str, *, content_type: str) -> str:
        check_key(key)
        upload_id = uuid.uuid4().hex
        folder = self._upload_dir(upload_id)
        folder.mkdir(parents=True)
        (folder / "upload.json").write_text(json.dumps({"key": key, "content_type": content_type}))
        return upload_id

    def _check_upload(self, key: str, upload_id: str) -> Path:
        folder = self._upload_dir(upload_id)
        try:
            meta = json.loads((folder / "upload.json").read_text())
        except FileNotFoundError:
            raise BlobNotFoundError(
                f"no multipart upload {upload_id!r} (completed, aborted or never made)"
            ) from None
        if meta["key"] != key:
            raise BlobNotFoundError(f"upload {upload_id!r} is not for {key!r}")
        return folder

    def part_url(self, key: str, upload_id: str, part_number: int, *, size: int, expires_s: int) -> str:
        params = {"key": key, "upload_id": upload_id, "part": str(part_number), "length": str(size)}
        return self._signer().sign("PUT", PARTS_PATH, params, expires_s=expires_s)

    def write_part(
        self, key: str, upload_id: str, part_number: int, chunks: Iterable[bytes], *, size: int
    ) -> StoredPart:
        """Called by the upload service once it has checked the URL's signature."""
        writer = self.open_part(key, upload_id, part_number, size=size)
        try:
            for chunk in chunks:
                writer.write(chunk)
        except BaseException:
            writer.discard()
            raise
        return writer.close()

    def open_part(self, key: str, upload_id: str, part_number: int, *, size: int) -> PartWriter:
        """A part of exactly ``size`` bytes written chunk by chunk (a request body from the network)."""
        return PartWriter(self._check_upload(key, upload_id), part_number, size)

    def list_parts(self, key: str, upload_id: str) -> builtins.list[StoredPart]:
        folder = self._check_upload(key, upload_id)
        parts = []
        for path in sorted(folder.glob("part-?????")):
            etag_file = path.with_name(path.name + ".etag")
            if etag_file.exists():
                parts.append(StoredPart(int(path.name[5:]), path.stat().st_size, etag_file.read_text()))
        return parts

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[StoredPart]) -> None:
        folder = self._check_upload(key, upload_id)
        stored = {p.number: p for p in self.list_parts(key, upload_id)}
        for part in parts:
            if stored.get(part.number) != part:
                raise BlobNotFoundError(f"part {part.number} of upload {upload_id} is not stored as given")

        def fill(out: BinaryIO) -> None:
            for part in sorted(parts, key=lambda p: p.number):
                with (folder / f"part-{part.number:05d}").open("rb") as source:
                    shutil.copyfileobj(source, out, 1024 * 1024)

        self._write(key, fill)
        shutil.rmtree(folder, ignore_errors=True)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        shutil.rmtree(self._check_upload(key, upload_id), ignore_errors=True)

    def get_url(self, key: str, *, expires_s: int) -> str:
        check_key(key)
        return self._signer().sign("GET", OBJECTS_PATH, {"key": key}, expires_s=expires_s)

    def size_of(self, key: str) -> int:
        try:
            return self.path_of(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(f"no blob {key!r}") from None

    def open_uploads(self, *, started_before: datetime) -> builtins.list[tuple[str, str]]:
        found = []
        for meta in sorted((self.root / ".multipart").glob("*/upload.json")):
            if datetime.fromtimestamp(meta.stat().st_mtime, tz=UTC) < started_before:
                found.append((json.loads(meta.read_text())["key"], meta.parent.name))
        return found

    def _signer(self) -> UrlSigner:
        if self.signer is None:
            raise BlobUnavailableError("this local blob store has no URL signer: pre-signed URLs are off")
        return self.signer


class PartWriter:
    """One part on its way in: a temporary file that becomes the part only if it is exactly ``size`` bytes."""

    def __init__(self, folder: Path, number: int, size: int) -> None:
        self._folder, self._number, self._expected = folder, number, size
        self._digest = hashlib.md5(usedforsecurity=False)  # S3's ETag of a part is its MD5
        self._size = 0
        fd, self._temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        self._out = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        """``PartTooLargeError`` (the temporary file gone) before a byte past the part's length is kept."""
        if self._size + len(chunk) > self._expected:
            self.discard()
            raise PartTooLargeError(f"part {self._number} is {self._expected} bytes; more were sent")
        self._digest.update(chunk)
        self._size += len(chunk)
        self._out.write(chunk)

    def close(self) -> StoredPart:
        """The part becomes visible (with its ETag) only now, whole; ``PartTooShortError`` if it is not."""
        if self._size != self._expected:
            self.discard()
            raise PartTooShortError(f"part {self._number} is {self._expected} bytes; {self._size} were sent")
        self._out.close()
        name = f"part-{self._number:05d}"
        os.replace(self._temp, self._folder / name)
        etag = f'"{self._digest.hexdigest()}"'
        (self._folder / f"{name}.etag").write_text(etag)
        return StoredPart(number=self._number, size=self._size, etag=etag)

    def discard(self) -> None:
        self._out.close()
        Path(self._temp).unlink(missing_ok=True)


def _hidden(key: str) -> bool:
    return any(part.startswith(".") for part in key.split("/"))
