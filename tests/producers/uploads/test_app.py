"""The upload service against real storage (the local store and a real MinIO) and the real broker.

One contract, two backends: every test runs with the filesystem store (our
HMAC-signed URLs) and with MinIO (S3's own signatures), through real HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from blobs.local import LocalBlobStore
from blobs.multipart import MultipartBlobStore
from blobs.s3 import S3BlobStore
from blobs.signed_urls import UrlSigner
from deploy.local_minio import LocalMinio
from producers.uploads.app import UploadSettings, create_upload_app
from producers.uploads.auth import UploaderAuth
from producers.uploads.client import UploadError, upload_file
from producers.uploads.tickets import TicketSigner
from schemas import codec
from schemas.upload_complete import UploadComplete
from topics.async_producer import AsyncEventProducer
from topics.catalogue import UPLOAD_COMPLETE_TOPIC
from topics.config import KafkaConfig
from topics.log import read_to_end

from harness import free_port

pytestmark = pytest.mark.kafka

AUTH = UploaderAuth(hs256_secret="uploader-secret-of-at-least-32-bytes!")
TICKETS = TicketSigner("ticket-secret-of-at-least-32-bytes!!")
MiB = 1024 * 1024


@dataclass
class Service:
    url: str
    blobs: MultipartBlobStore
    kafka: KafkaConfig

    def token(self, uploader: str = "uploader-1") -> str:
        return AUTH.issue(uploader)


@pytest.fixture(params=["local", "minio"])
async def service(
    request: pytest.FixtureRequest, kafka: KafkaConfig, tmp_path: Path
) -> AsyncIterator[Service]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    blobs: MultipartBlobStore
    if request.param == "local":
        blobs = LocalBlobStore(tmp_path / "blobs", signer=UrlSigner(b"s" * 32, url))
    else:
        server: LocalMinio = request.getfixturevalue("minio")
        s3 = S3BlobStore(
            bucket=f"t{uuid.uuid4().hex[:12]}",
            endpoint=server.endpoint,
            access_key=server.credentials.access_key,
            secret_key=server.credentials.secret_key,
        )
        s3.ensure_bucket()
        blobs = s3
    producer = AsyncEventProducer(kafka)
    app = create_upload_app(
        blobs=blobs, auth=AUTH, tickets=TICKETS, producer=producer, settings=UploadSettings(max_bytes=10**12)
    )
    async with TestServer(app, host="127.0.0.1", port=port):
        yield Service(url, blobs, kafka)
    await producer.close()


def _video(path: Path, *, padding_mib: int = 0) -> Path:
    """A real (tiny) MP4 with its index first, then ``padding_mib`` of random bytes players ignore."""
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
            "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(path),
        ],
        check=True,
    )  # fmt: skip
    with path.open("ab") as out:
        for _ in range(padding_mib):
            out.write(os.urandom(MiB))
    return path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_large_upload_interrupted_and_resumed_is_stored_whole_and_announced(
    service: Service, tmp_path: Path
) -> None:
    source = _video(tmp_path / "big.mp4", padding_mib=200)
    state = tmp_path / "state"
    seen: list[int] = []

    with pytest.raises(UploadError, match="run the same command again"):
        await upload_file(source, service_url=service.url, token=service.token(), title="Big one",
                          tags=["big"], state_dir=state, stop_after_parts=10)  # fmt: skip
    outcome = await upload_file(
        source,
        service_url=service.url,
        token=service.token(),
        title="Big one",
        tags=["big"],
        state_dir=state,
        on_progress=lambda done, total: seen.append(done),
    )

    assert outcome.resumed and outcome.parts_sent == 26 - 10  # 200 MiB + the clip, in 8 MiB parts
    assert seen[0] == 10 * 8 * MiB and seen[-1] == source.stat().st_size  # progress picked up, then all
    key = f"uploads/{outcome.video_id}/source"
    stored = tmp_path / "stored"
    service.blobs.get_to_file(key, stored)
    assert _sha256(stored.read_bytes()) == _sha256(source.read_bytes())

    announced = [
        codec.decode(r.value or b"")
        for r in read_to_end(service.kafka, [service.kafka.topic(UPLOAD_COMPLETE_TOPIC.name)])
        if r.key == outcome.video_id.encode()
    ]
    assert len(announced) == 1
    event: UploadComplete = announced[0]
    assert (event.title, event.tags, event.uploader_id) == ("Big one", ("big",), "uploader-1")
    assert event.size_bytes == source.stat().st_size and event.object_key == key
    assert event.probe is not None
    assert (event.probe.width, event.probe.height, event.probe.video_codec) == (640, 360, "h264")
    assert abs(event.probe.duration_ms - 2000) < 100


async def _post(service: Service, path: str, body: Any, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(service.url + path, json=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def _create(service: Service, size: int) -> dict[str, Any]:
    body = {"size_bytes": size, "content_type": "video/mp4", "title": "t"}
    status, created = await _post(service, "/v1/uploads", body, service.token())
    assert status == 201, created
    return created  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "bearer token is required"),
        ("garbage", "invalid token"),
        (AUTH.issue("u", ttl_s=-60), "expired"),
        (UploaderAuth(hs256_secret="another-secret-of-at-least-32-bytes").issue("u"), "signature"),
    ],
)
async def test_a_wrong_or_expired_token_is_a_401(service: Service, token: str | None, reason: str) -> None:
    status, body = await _post(service, "/v1/uploads", {"size_bytes": 1, "content_type": "video/mp4"}, token)
    assert status == 401
    assert reason in body["error"]["message"].lower()


async def _aput(url: str, data: bytes) -> int:
    """PUT from a thread, so the service under test (on this event loop) keeps answering."""
    return await asyncio.to_thread(_put, url, data)


def _put(url: str, data: bytes) -> int:
    request = urllib.request.Request(url, data=data, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


async def test_a_tampered_or_expired_part_url_is_a_403(service: Service) -> None:
    created = await _create(service, 9 * MiB)
    url = created["parts"][0]["url"]
    tampered = (
        url.replace("part=1", "part=2") if "part=1" in url else url.replace("partNumber=1", "partNumber=2")
    )
    assert tampered != url
    assert await _aput(tampered, b"x" * 100) == 403

    ticket = TICKETS.decode(created["upload_id"])
    short = service.blobs.part_url(ticket.key, ticket.storage_upload_id, 1, expires_s=1)
    deadline = time.monotonic() + 10
    while await _aput(short, b"x" * 100) != 403:  # the test's own server must keep serving: no blocking
        assert time.monotonic() < deadline, "the short-lived URL was still accepted after 10 s"
        await asyncio.sleep(0.2)


async def test_a_part_of_the_wrong_size_is_a_clear_error_at_complete(service: Service) -> None:
    created = await _create(service, 9 * MiB)  # parts of 8 MiB and 1 MiB
    assert created["part_count"] == 2
    assert await _aput(created["parts"][0]["url"], b"x" * (8 * MiB)) == 200
    assert await _aput(created["parts"][1]["url"], b"x" * (2 * MiB)) == 200

    status, body = await _post(service, f"/v1/uploads/{created['upload_id']}/complete", {}, service.token())

    assert status == 400
    assert body["error"]["message"] == f"part 2 is {2 * MiB} bytes; it must be {MiB} bytes"


async def test_a_file_that_is_not_a_video_is_refused_with_the_reason(service: Service) -> None:
    created = await _create(service, 3 * MiB)
    assert (
        await _aput(created["parts"][0]["url"], b"just some text\n" * (3 * MiB // 15) + b"x" * (3 * MiB % 15))
        == 200
    )

    status, body = await _post(service, f"/v1/uploads/{created['upload_id']}/complete", {}, service.token())

    assert status == 422
    assert body["error"]["message"].startswith("not a playable video: ffprobe cannot read the source")
    ticket = TICKETS.decode(created["upload_id"])
    assert not service.blobs.exists(ticket.key)  # refused files are not kept


async def test_missing_parts_and_foreign_uploads_are_refused(service: Service) -> None:
    created = await _create(service, 9 * MiB)
    status, body = await _post(service, f"/v1/uploads/{created['upload_id']}/complete", {}, service.token())
    assert status == 409 and "2 part(s) not stored yet: 1, 2" in body["error"]["message"]

    other = AUTH.issue("someone-else")
    status, body = await _post(service, f"/v1/uploads/{created['upload_id']}/complete", {}, other)
    assert status == 403


async def test_size_and_type_limits(service: Service) -> None:
    too_big = {"size_bytes": 10**13, "content_type": "video/mp4", "title": "t"}
    status, body = await _post(service, "/v1/uploads", too_big, service.token())
    assert status == 413
    wrong = {"size_bytes": 10, "content_type": "application/pdf", "title": "t"}
    status, body = await _post(service, "/v1/uploads", wrong, service.token())
    assert status == 415 and "video/*" in body["error"]["message"]


async def test_abandoned_uploads_are_found_and_aborted(service: Service) -> None:
    created = await _create(service, 9 * MiB)
    ticket = TICKETS.decode(created["upload_id"])
    assert await _aput(created["parts"][0]["url"], b"x" * (8 * MiB)) == 200
    before_it = datetime.now(UTC) - timedelta(hours=1)
    assert (ticket.key, ticket.storage_upload_id) not in service.blobs.open_uploads(started_before=before_it)

    later = datetime.now(UTC) + timedelta(seconds=5)
    assert (ticket.key, ticket.storage_upload_id) in service.blobs.open_uploads(started_before=later)
    service.blobs.abort_multipart(ticket.key, ticket.storage_upload_id)
    assert (ticket.key, ticket.storage_upload_id) not in service.blobs.open_uploads(started_before=later)
    status, body = await _post(service, f"/v1/uploads/{created['upload_id']}/complete", {}, service.token())
    assert status == 410 and "no longer open" in body["error"]["message"]  # the client starts over
