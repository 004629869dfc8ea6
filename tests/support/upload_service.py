"""The upload service under test: in-process on a real store (local folder or MinIO) and the real broker.

Shared by the upload tests: the service itself, tiny real videos, and small
HTTP helpers that never block the event loop the service runs on.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from blobs.local import LocalBlobStore
from blobs.multipart import MultipartBlobStore
from blobs.signed_urls import UrlSigner
from deploy.local_minio import LocalMinio
from producers.uploads.app import UploadSettings, create_upload_app
from producers.uploads.auth import UploaderAuth
from producers.uploads.tickets import TicketSigner
from topics.async_producer import AsyncEventProducer
from topics.config import KafkaConfig

from harness import free_port, fresh_bucket

__all__ = [
    "AUTH",
    "HUNG_UP",
    "TICKETS",
    "MiB",
    "Service",
    "aput",
    "call",
    "create",
    "put",
    "running_service",
    "tiny_video",
]

AUTH = UploaderAuth(hs256_secret="uploader-secret-of-at-least-32-bytes!")
TICKETS = TicketSigner("ticket-secret-of-at-least-32-bytes!!")
MiB = 1024 * 1024


@dataclass
class Service:
    url: str
    blobs: MultipartBlobStore
    kafka: KafkaConfig
    app: web.Application

    def token(self, uploader: str = "uploader-1") -> str:
        return AUTH.issue(uploader)


@asynccontextmanager
async def running_service(
    backend: str,
    kafka: KafkaConfig,
    folder: Path,
    *,
    minio: LocalMinio | None = None,
    settings: UploadSettings | None = None,
    producer: AsyncEventProducer | None = None,
) -> AsyncIterator[Service]:
    """The service on ``backend`` (``local`` or ``minio``) at a free port, closed on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    blobs: MultipartBlobStore
    if backend == "local":
        blobs = LocalBlobStore(folder / "blobs", signer=UrlSigner(b"s" * 32, url))
    else:
        assert minio is not None, "the MinIO backend needs the minio fixture"
        blobs = fresh_bucket(minio)
    producer = producer or AsyncEventProducer(kafka)
    app = create_upload_app(
        blobs=blobs,
        auth=AUTH,
        tickets=TICKETS,
        producer=producer,
        settings=settings or UploadSettings(max_bytes=10**12),
    )
    try:
        async with TestServer(app, host="127.0.0.1", port=port):
            yield Service(url, blobs, kafka, app)
    finally:
        await producer.close()


def tiny_video(path: Path, *, size: str = "160x90", duration_s: float = 1, padding_mib: int = 0) -> Path:
    """A real MP4 with its index first, then ``padding_mib`` of random bytes players ignore."""
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={duration_s}",
            "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(path),
        ],
        check=True,
    )  # fmt: skip
    with path.open("ab") as out:
        for _ in range(padding_mib):
            out.write(os.urandom(MiB))
    return path


async def call(
    service: Service, method: str, path: str, body: Any = None, *, token: str | None = ""
) -> tuple[int, Any]:
    """A JSON call to the service; ``token=""`` means the default uploader's, ``None`` none at all."""
    token = service.token() if token == "" else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, service.url + path, json=body, headers=headers) as r,
    ):
        text = await r.text()
        try:
            return r.status, await r.json(content_type=None) if text else None
        except ValueError:
            return r.status, text


async def create(service: Service, size: int, **metadata: Any) -> dict[str, Any]:
    body = {"size_bytes": size, "content_type": "video/mp4", "title": "t", **metadata}
    status, created = await call(service, "POST", "/v1/uploads", body)
    assert status == 201, created
    return created  # type: ignore[no-any-return]


async def aput(url: str, data: bytes) -> int:
    """PUT from a thread, so the service under test (on this event loop) keeps answering."""
    return await asyncio.to_thread(put, url, data)


HUNG_UP = 0  # what ``put`` says when the service closed the connection before its answer was read


def put(url: str, data: bytes) -> int:
    """The PUT's status; ``HUNG_UP`` when the service cut the body off and closed before we read it."""
    request = urllib.request.Request(url, data=data, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionError):
            return HUNG_UP
        raise
    except ConnectionError:
        return HUNG_UP
