"""The embedded blob store: a folder on the local filesystem.

Writes go to a temporary file in the destination folder and are renamed
into place, so a reader (the media server, a player) sees the old object or
the new one, never a partial file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from blobs.errors import BlobNotFoundError, BlobUnavailableError
from blobs.store import check_key

__all__ = ["LocalBlobStore"]


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BlobUnavailableError(f"cannot create the blob folder {self.root}: {exc}") from exc

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

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
        base = self.root / prefix if prefix else self.root
        folder = base if base.is_dir() else base.parent
        if not folder.exists():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and ".tmp-" not in k)

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

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
